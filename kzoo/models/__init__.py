"""The built-in models. Each registers under its lower-case name in the `kzoo.models` entry-point group."""

from kzoo.models.aae import AAE
from kzoo.models.acgan import ACGAN
from kzoo.models.cgan import CGAN
from kzoo.models.context_encoder import ContextEncoder
from kzoo.models.cyclegan import CycleGAN
from kzoo.models.dcgan import DCGAN
from kzoo.models.gan import GAN
from kzoo.models.infogan import InfoGAN
from kzoo.models.lsgan import LSGAN
from kzoo.models.pix2pix import Pix2Pix
from kzoo.models.ragan import RaGAN
from kzoo.models.sngan import SNGAN
from kzoo.models.vae import VAE
from kzoo.models.wgan import WGAN
from kzoo.models.wgan_gp import WGANGP

__all__ = [
    "AAE", "ACGAN", "CGAN", "ContextEncoder", "CycleGAN", "DCGAN", "GAN", "InfoGAN", "LSGAN", "Pix2Pix", "RaGAN",
    "SNGAN", "VAE", "WGAN", "WGANGP",
]
