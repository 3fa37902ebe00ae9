import keras
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.models import blocks
from kzoo.models.dcgan import DCGAN
from kzoo.players import input_gradient


class WGANGP(DCGAN):
    """Wasserstein GAN with a gradient penalty on the critic instead of weight clipping.

    DCGAN generator; DCGAN critic without batch normalization (the penalty is per image).
    Five critic updates per generator update, each penalized by gp_weight * E[(||grad D(x^)|| - 1)^2]
    on x^ = x + alpha (G(z) - x), alpha ~ U(0, 1) per image; Adam(1e-4, beta_1 0.5, beta_2 0.9),
    as in the paper.
    """

    paper = "Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)"
    hyperparameters = {
        "d_steps": 5,
        "learning_rate": 1e-4,
        "beta_2": hp.Float(0.9, min=0, max=1, max_exclusive=True, help="Adam's beta_2"),
        "gp_weight": hp.Float(10.0, min=0, help="weight of the gradient penalty (lambda)"),
        "g_learning_rate": None,  # the paper's one rate for both players, not dcgan's tuned generator rate
    }
    default_epochs = 4  # 2,000 generator steps (10,000 critic steps)
    needs_second_order = True  # the gradient penalty differentiates through an input gradient

    def build_discriminator(self):
        return blocks.conv_discriminator(self.discriminator_image_shape, self.width, batch_norm=False,
                                         minibatch_std=self.minibatch_std)

    def default_optimizers(self):
        d_rate, g_rate = self.player_learning_rates()
        return {
            "discriminator": keras.optimizers.Adam(d_rate, beta_1=self.beta_1, beta_2=self.beta_2),
            "generator": keras.optimizers.Adam(g_rate, beta_1=self.beta_1, beta_2=self.beta_2),
        }

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(fake_logits) - ops.mean(real_logits)

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)

    def players(self):
        d, g = super().players()
        return [d.replace(reports=("gradient_penalty", *d.reports)), g]

    def prepare_discriminator_update(self, step):
        prepared = super().prepare_discriminator_update(step)
        # One interpolation weight per image (not per pixel, not normal: keras-io#143, PyTorch-GAN#5).
        alpha = keras.random.uniform((step.batch_size, 1, 1, 1), seed=self.seed_generator)
        return {**prepared, "alpha": alpha}

    def discriminator_objective(self, step):
        penalty = self.gradient_penalty(step.real, step.fake, step.alpha, step.labels)
        step.log("gradient_penalty", penalty)
        return super().discriminator_objective(step) + self.gp_weight * penalty

    def gradient_penalty(self, real_images, fake_images, alpha, labels=None):
        """E[(||grad_x D(x^)|| - 1)^2] at x^ = real + alpha (fake - real).

        The norm has 1e-10 under its square root: its gradient is finite at a zero input gradient.
        """
        interpolates = real_images + alpha * (fake_images - real_images)
        grads = input_gradient(lambda x: ops.sum(self.discriminate(x, labels)), interpolates)
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))) + 1e-10)
        return ops.mean(ops.square(norms - 1.0))
