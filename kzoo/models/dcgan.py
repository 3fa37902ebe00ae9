from keras import ops

from kzoo import hyperparameters as hp
from kzoo.adversarial import AdversarialModel
from kzoo.models import blocks
from kzoo.players import input_gradient


class DCGAN(AdversarialModel):
    """Deep convolutional GAN: strided (transposed) convolutions with batch normalization.

    Generator: Dense to (h/4, w/4, 4w), transposed convolutions to 2w, w and the image;
    discriminator: convolutions of w and 2w filters with LeakyReLU(0.2). 5x5 kernels,
    N(0, 0.02) weights, Adam(2e-4, beta_1=0.5) as in the paper. `r1_gamma > 0` adds the R1
    penalty (gamma / 2) E||grad D(x_real)||^2 to the discriminator's loss (Mescheder et al. 2018),
    for this model and every model built on it.
    """

    paper = "Radford et al. 2016, Unsupervised Representation Learning with DCGANs (arXiv:1511.06434)"
    # Tuned defaults, measured with the digit evaluator (benchmarks/README.md, "Tuned defaults"):
    # the generator learns 5x faster than the discriminator (1e-3 against the paper's 2e-4, as the
    # MNIST codes of InfoGAN and TF-GAN do) and samples come from its weight average.
    hyperparameters = {
        "g_learning_rate": 1e-3,
        "ema_decay": 0.999,
        # 32, not the 64 of the TensorFlow DCGAN tutorial: a little less per step (fd 2.19 against
        # 1.84 at 3,000 steps), 4-5x the steps per second, so better samples per minute
        # (benchmarks/README.md, "Tuned defaults").
        "width": hp.Int(32, min=1, help="network size: w, 2w, 4w filters (64: the TF DCGAN tutorial's)"),
        "r1_gamma": hp.Float(0.0, min=0, help="R1 penalty on real images (Mescheder et al. 2018); 0 = off"),
    }
    size_multiple = 4
    # 16 epochs of 500 steps: 8,000 generator steps, about 9 minutes on JAX here.
    default_epochs = 16
    default_steps_per_epoch = 500

    def build_generator(self):
        return blocks.conv_generator(self.image_shape, self.latent_dim, self.width)

    def build_discriminator(self):
        return blocks.conv_discriminator(self.discriminator_image_shape, self.width, minibatch_std=self.minibatch_std)

    @property
    def needs_second_order(self):
        return self.r1_gamma > 0 or super().needs_second_order

    def players(self):
        d, g = super().players()
        if self.r1_gamma > 0:
            d = d.replace(reports=(*d.reports, "r1_penalty"))
        return [d, g]

    def discriminator_objective(self, step):
        loss = super().discriminator_objective(step)
        if self.r1_gamma > 0:
            penalty = self.r1_penalty(step.real, step.labels)
            step.log("r1_penalty", penalty)
            loss = loss + 0.5 * self.r1_gamma * penalty
        return loss

    def r1_penalty(self, real_images, labels=None):
        """E ||grad_x D(x)||^2 over the real batch (a sum over pixels, a mean over images)."""
        grads = input_gradient(lambda x: ops.sum(self.discriminate(x, labels)), real_images)
        return ops.mean(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))))
