"""kzoo-multiscale-gan: an example kzoo plugin that adds a player to a built-in GAN.

`multiscale-dcgan` is kzoo's DCGAN with a second discriminator that judges the images at half
resolution (2x2 average pooling), as pix2pixHD's multi-scale discriminators do (Wang et al.
2018): the coarse one sees the layout, the full-size one the strokes. The generator answers to
both. Written with the README's documented hooks only: `build_networks()`, `players()` and
`kzoo.Player`, `default_optimizers()` (a dict by optimizer key), `prepare_discriminator_update`,
`player_learning_rates`, `discriminator_loss`, `generator_objective`, `generate_fakes` and `compute_generator_loss`.

    kzoo train multiscale-dcgan --backend torch    # history: d_loss, coarse_d_loss, g_loss
"""

import keras
from keras import ops

from kzoo import Player
from kzoo.hyperparameters import Float
from kzoo.models import DCGAN, blocks

__version__ = "0.1.0"
__all__ = ["MultiScaleDCGAN"]


class MultiScaleDCGAN(DCGAN):
    """DCGAN with a second discriminator on the images at half resolution (multi-scale discriminators).

    Three players, each with its own Adam: DCGAN's discriminator, the coarse discriminator (the
    same network on 2x2-average-pooled images), then the generator, whose loss adds
    coarse_weight x its loss against the coarse discriminator. The stabilizer options act on the
    full-size discriminator, as in DCGAN.
    """

    paper = ("Wang et al. 2018, High-Resolution Image Synthesis and Semantic Manipulation with "
             "Conditional GANs (arXiv:1711.11585)")
    hyperparameters = {"coarse_weight": Float(1.0, min=0, help="weight of the coarse discriminator in the generator's loss")}

    def build_networks(self):
        super().build_networks()  # the generator and the discriminator (and the averaged generator)
        height, width, channels = self.image_shape
        self.coarse_discriminator = blocks.conv_discriminator(
            (height // 2, width // 2, channels), self.width, name="coarse_discriminator")

    def players(self):
        discriminator, generator = super().players()
        coarse = Player("coarse_d", networks=("coarse_discriminator",), optimizer="coarse_discriminator",
                        loss=self.coarse_discriminator_objective, prepare=self.prepare_discriminator_update)
        return [discriminator, coarse, generator]

    def default_optimizers(self):
        d_rate, _ = self.player_learning_rates()  # the discriminator's rate, as DCGAN's own
        return {**super().default_optimizers(), "coarse_discriminator": keras.optimizers.Adam(d_rate, beta_1=self.beta_1)}

    def coarse(self, images):
        """Images at half resolution: the mean of each 2x2 block."""
        return ops.average_pool(images, pool_size=2, strides=2, data_format="channels_last")

    def judge_coarse(self, images):
        return self.coarse_discriminator(self.coarse(images), training=True)

    def coarse_discriminator_objective(self, step):
        """DCGAN's discriminator loss, at half resolution: `step.real` against this update's `step.fake`."""
        return self.discriminator_loss(self.judge_coarse(step.real), self.judge_coarse(step.fake))

    def generator_objective(self, step):
        fake = self.generate_fakes(step.latents, step.labels)
        coarse = self.generator_loss(self.judge_coarse(fake))
        return self.compute_generator_loss(fake, step.labels) + self.coarse_weight * coarse
