from kzoo import hyperparameters as hp
from kzoo.models import image_blocks
from kzoo.models.objectives import cross_entropy_to, mean_absolute
from kzoo.models.translation import TranslationModel
from kzoo.players import Player


class Pix2Pix(TranslationModel):
    """pix2pix: a U-Net translates A to B, a PatchGAN judges (input, output) pairs, plus L1 to the target.

    Generator: U-Net, 4x4 stride-2 convolutions with skips, batch normalization, dropout 0.5 in
    the innermost decoder blocks (kzoo/models/image_blocks.py); discriminator: a 70x70-style
    PatchGAN on the input joined to the real or translated image. Losses as in the paper: the
    discriminator's binary cross-entropy, halved; the generator's non-saturating adversarial
    loss plus 100 x the mean absolute difference to the target. Adam(2e-4, beta_1 0.5); the
    discriminator updates first, then the generator, on every batch (junyanz's order).
    """

    paper = "Isola et al. 2017, Image-to-Image Translation with Conditional Adversarial Networks (arXiv:1611.07004)"
    hyperparameters = {
        "width": hp.Int(64, min=1, help="network size: U-Net filters w, 2w, 4w, 8w; PatchGAN w..8w"),
        "l1_weight": hp.Float(100.0, min=0, help="weight lambda of the L1 loss to the target"),
        "dropout": hp.Float(0.5, min=0, max=1, max_exclusive=True, help="dropout in the U-Net's innermost decoder blocks"),
        "patch_layers": hp.Int(3, min=1, help="stride-2 layers of the PatchGAN (3: the paper's 70x70)"),
    }

    def build_networks(self):
        self.generator = image_blocks.unet_generator(self.image_shape, self.width, self.dropout)
        self.discriminator = image_blocks.patch_discriminator(
            self.image_shape, self.width, self.patch_layers, normalization="batch", conditioned=True
        )

    def translator(self, direction):
        return self.generator

    def players(self):
        return [
            Player("d", networks=("discriminator",), optimizer="discriminator", loss=self.discriminator_objective,
                   prepare=self.translate_batch),
            Player("g", networks=("generator",), optimizer="generator", loss=self.generator_objective,
                   reports=("g_adversarial", "g_l1")),
        ]

    def translate_batch(self, step):
        """The generator's output for the batch, for the discriminator's update (no gradient)."""
        return {"fake_b": self.generator(step.real_a, training=True)}

    def judge(self, sources, images):
        return self.discriminator([sources, images], training=True)

    def discriminator_objective(self, step):
        real = cross_entropy_to(self.judge(step.real_a, step.real_b), 1.0)
        fake = cross_entropy_to(self.judge(step.real_a, step.fake_b), 0.0)
        # Halved, as in the paper, to slow the discriminator relative to the generator.
        return 0.5 * (real + fake)

    def generator_objective(self, step):
        fake_b = self.generator(step.real_a, training=True)
        adversarial = cross_entropy_to(self.judge(step.real_a, fake_b), 1.0)
        l1 = mean_absolute(fake_b, step.real_b)
        step.log("g_adversarial", adversarial)
        step.log("g_l1", l1)
        return adversarial + self.l1_weight * l1
