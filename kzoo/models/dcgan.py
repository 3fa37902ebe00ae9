from kzoo.adversarial import AdversarialModel
from kzoo.models import blocks


class DCGAN(AdversarialModel):
    """Deep convolutional GAN: strided (transposed) convolutions with batch normalization.

    Generator: Dense to (h/4, w/4, 4w), transposed convolutions to 2w, w and the image;
    discriminator: convolutions of w and 2w filters with LeakyReLU(0.2). 5x5 kernels,
    N(0, 0.02) weights, Adam(2e-4, beta_1=0.5) as in the paper.
    """

    paper = "Radford et al. 2016, Unsupervised Representation Learning with DCGANs (arXiv:1511.06434)"
    hyperparameters = {"width": 64}
    size_multiple = 4

    def build_generator(self):
        return blocks.conv_generator(self.image_shape, self.latent_dim, self.width)

    def build_discriminator(self):
        return blocks.conv_discriminator(self.image_shape, self.width)
