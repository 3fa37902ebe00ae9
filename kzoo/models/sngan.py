from keras import ops

from kzoo.models import blocks
from kzoo.models.dcgan import DCGAN


class SNGAN(DCGAN):
    """Spectrally normalized GAN: spectral norm on every discriminator layer, hinge loss.

    DCGAN generator; DCGAN discriminator with each kernel divided by its largest singular value
    (one power iteration per call, `kzoo.layers.SpectralNormalization`) and no batch
    normalization. Hinge loss; Adam(2e-4, beta_1 0.5, beta_2 0.999), one discriminator update
    per generator update (the paper's setting C).
    """

    paper = "Miyato et al. 2018, Spectral Normalization for Generative Adversarial Networks (arXiv:1802.05957)"

    def build_discriminator(self):
        return blocks.conv_discriminator(self.discriminator_image_shape, self.width, batch_norm=False,
                                         spectral_norm=True, minibatch_std=self.minibatch_std)

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)
