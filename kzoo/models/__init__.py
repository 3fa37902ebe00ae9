"""The built-in models. Each registers under its lower-case name in the `kzoo.models` entry-point group."""

from kzoo.models.cgan import CGAN
from kzoo.models.dcgan import DCGAN
from kzoo.models.gan import GAN
from kzoo.models.lsgan import LSGAN
from kzoo.models.wgan import WGAN

__all__ = ["CGAN", "DCGAN", "GAN", "LSGAN", "WGAN"]
