from kzoo import hyperparameters as hp
from kzoo.adversarial import AdversarialModel
from kzoo.models import blocks


class GAN(AdversarialModel):
    """The original multilayer-perceptron GAN with the non-saturating generator loss.

    Generator: Dense(2w, 4w, 8w) with LeakyReLU, tanh output; discriminator: Dense(4w, 2w)
    with LeakyReLU and dropout (the paper's maxout units are replaced by LeakyReLU, as most
    reimplementations do). Adam(2e-4, beta_1=0.5).
    """

    paper = "Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)"
    hyperparameters = {
        "width": hp.Int(128, min=1, help="network size: hidden layers of 2w, 4w, 8w (G) and 4w, 2w (D) units"),
        "dropout": hp.Float(0.3, min=0, max=1, max_exclusive=True, help="dropout rate in the discriminator"),
        "ema_decay": 0.999,
    }
    # 40 epochs of 500 steps: 20,000 generator steps (an MLP step is cheap: about 5 minutes on JAX here).
    default_epochs = 40
    default_steps_per_epoch = 500

    def build_generator(self):
        return blocks.mlp_generator(self.image_shape, self.latent_dim, self.width)

    def build_discriminator(self):
        return blocks.mlp_discriminator(self.discriminator_image_shape, self.width, self.dropout,
                                        minibatch_std=self.minibatch_std)
