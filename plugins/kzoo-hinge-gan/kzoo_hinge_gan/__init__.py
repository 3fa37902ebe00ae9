"""kzoo-hinge-gan: an example kzoo plugin, DCGAN with the hinge loss.

Registered as `hinge-dcgan` through the `kzoo.models` entry-point group (see pyproject.toml):

    kzoo train hinge-dcgan
"""

from keras import ops

from kzoo.models import DCGAN

__version__ = "0.1.0"
__all__ = ["HingeDCGAN"]


class HingeDCGAN(DCGAN):
    """DCGAN trained with the hinge loss of Geometric GAN / SAGAN / BigGAN.

    Networks, optimizers and hyperparameters are DCGAN's; only the two losses change:
    the discriminator minimizes mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))),
    the generator minimizes -mean(D(G(z))).
    """

    paper = "Lim & Ye 2017, Geometric GAN (arXiv:1705.02894)"

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)
