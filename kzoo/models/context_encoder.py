import numpy as np
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.data.transforms import HOLE_SIZE, hole_box
from kzoo.errors import HyperparameterError
from kzoo.models import image_blocks
from kzoo.models.objectives import cross_entropy_to
from kzoo.models.translation import TranslationModel
from kzoo.players import Player


class ContextEncoder(TranslationModel):
    """Context encoder: fills a centred square hole from its surroundings (inpainting).

    Trains on pairs (a: the image with its hole, b: the whole image), such as mnist-5k:masked
    (a 12x12 hole filled with the mean colour). Generator: an encoder-decoder through a 1x1
    bottleneck; only the hole of its output is kept, pasted into the input. Discriminator: a
    small convolutional classifier of the hole's content. Losses as in the paper: 0.999 x the
    mean squared error inside the hole plus 0.001 x the non-saturating adversarial loss;
    Adam(2e-4, beta_1 0.5); the discriminator updates first.
    """

    paper = "Pathak et al. 2016, Context Encoders: Feature Learning by Inpainting (arXiv:1604.07379)"
    hyperparameters = {
        "width": hp.Int(64, min=1, help="network size: filters w, 2w, 4w; bottleneck 16w"),
        "hole_size": hp.Int(HOLE_SIZE, min=1, help="side of the centred square hole, in pixels"),
        "reconstruction_weight": hp.Float(0.999, min=0, help="weight of the masked squared error"),
        "adversarial_weight": hp.Float(0.001, min=0, help="weight of the adversarial loss"),
    }

    @classmethod
    def check_hyperparameter_values(cls, values):
        values = super().check_hyperparameter_values(values)
        height, width, _ = values["image_shape"]
        if values["hole_size"] > min(height, width):
            raise HyperparameterError(
                f"ContextEncoder: a {values['hole_size']}x{values['hole_size']} hole does not fit in "
                f"{height}x{width} images"
            )
        return values

    def build_networks(self):
        self.generator = image_blocks.context_encoder_generator(self.image_shape, self.width)
        size = self.hole_size
        self.discriminator = image_blocks.conv_classifier((size, size, self.image_shape[-1]), self.width)

    @property
    def hole(self):
        """(top, left, size) of the hole."""
        return hole_box(self.image_shape, self.hole_size)

    def hole_of(self, images):
        top, left, size = self.hole
        return images[:, top : top + size, left : left + size, :]

    def hole_mask(self):
        """1 inside the hole, 0 outside: (1, H, W, 1)."""
        top, left, size = self.hole
        mask = np.zeros((1, *self.image_shape[:2], 1), "float32")
        mask[:, top : top + size, left : left + size] = 1.0
        return ops.convert_to_tensor(mask)

    def fill(self, images, training=False):
        """The images with their hole replaced by the generator's prediction."""
        images = ops.convert_to_tensor(images)
        predicted = self.generator(images, training=training)
        mask = self.hole_mask()
        return images * (1.0 - mask) + predicted * mask

    def translator(self, direction):
        return self.fill

    def players(self):
        return [
            Player("d", networks=("discriminator",), optimizer="discriminator", loss=self.discriminator_objective,
                   prepare=self.predict_holes),
            Player("g", networks=("generator",), optimizer="generator", loss=self.generator_objective,
                   reports=("g_adversarial", "g_reconstruction")),
        ]

    def predict_holes(self, step):
        return {"fake_hole": self.hole_of(self.generator(step.real_a, training=True))}

    def judge(self, holes):
        return self.discriminator(holes, training=True)

    def discriminator_objective(self, step):
        real = cross_entropy_to(self.judge(self.hole_of(step.real_b)), 1.0)
        fake = cross_entropy_to(self.judge(step.fake_hole), 0.0)
        return real + fake

    def generator_objective(self, step):
        predicted = self.hole_of(self.generator(step.real_a, training=True))
        reconstruction = ops.mean(ops.square(predicted - self.hole_of(step.real_b)))
        adversarial = cross_entropy_to(self.judge(predicted), 1.0)
        step.log("g_reconstruction", reconstruction)
        step.log("g_adversarial", adversarial)
        return self.reconstruction_weight * reconstruction + self.adversarial_weight * adversarial
