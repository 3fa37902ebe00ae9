from kzoo.adversarial import AdversarialModel
from kzoo.models import blocks


class GAN(AdversarialModel):
    """The original multilayer-perceptron GAN with the non-saturating generator loss.

    Generator: Dense(2w, 4w, 8w) with LeakyReLU, tanh output; discriminator: Dense(4w, 2w)
    with LeakyReLU and dropout (the paper's maxout units are replaced by LeakyReLU, as most
    reimplementations do). Adam(2e-4, beta_1=0.5).
    """

    paper = "Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)"
    hyperparameters = {"width": 128, "dropout": 0.3}

    def build_generator(self):
        return blocks.mlp_generator(self.image_shape, self.latent_dim, self.width)

    def build_discriminator(self):
        return blocks.mlp_discriminator(self.image_shape, self.width, self.dropout)
