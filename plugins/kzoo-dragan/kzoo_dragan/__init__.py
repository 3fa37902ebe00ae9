"""kzoo-dragan: an example kzoo plugin written with the players API.

DRAGAN (Kodali et al. 2017) penalizes the discriminator's gradient around the real data: at
x + c * std(x) * u, u ~ U(0, 1) per pixel, (||grad D|| - 1)^2, weight 10. The plugin shows the
pieces a model of its own needs: a player's `prepare` hook (random perturbations from the
model's seed generator, drawn outside the differentiated loss), its `loss` reading the step,
`kzoo.input_gradient` (a gradient with respect to an input, differentiable again, on every
backend) and `step.log` for a term the history reports.

    kzoo train dragan --backend torch
"""

import keras
from keras import ops

import kzoo
from kzoo.models import DCGAN

__version__ = "0.1.0"
__all__ = ["DRAGAN"]


class DRAGAN(DCGAN):
    """DCGAN whose discriminator is penalized for steep gradients around the real data (DRAGAN).

    Networks, optimizers and losses are DCGAN's; the discriminator's loss adds
    penalty_weight * E[(||grad D(x~)|| - 1)^2] at x~ = x + perturbation * std(x) * U(0, 1).
    """

    paper = "Kodali et al. 2017, On Convergence and Stability of GANs (arXiv:1705.07215)"
    hyperparameters = {"penalty_weight": 10.0, "perturbation": 0.5}
    needs_second_order = True  # the penalty differentiates through an input gradient

    def players(self):
        discriminator, generator = super().players()
        return [
            discriminator.replace(prepare=self.prepare_penalized_update, loss=self.penalized_loss,
                                  reports=("gradient_penalty",)),
            generator,
        ]

    def prepare_penalized_update(self, step):
        """DCGAN's fakes, plus the perturbed real images the penalty is taken at."""
        prepared = self.prepare_discriminator_update(step)
        noise = keras.random.uniform(ops.shape(step.real), seed=self.seed_generator)
        prepared["perturbed"] = step.real + self.perturbation * ops.std(step.real) * noise
        return prepared

    def penalized_loss(self, step):
        grads = kzoo.input_gradient(lambda x: ops.sum(self.discriminate(x)), step.perturbed)
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-10)
        penalty = ops.mean(ops.square(norms - 1.0))
        step.log("gradient_penalty", penalty)
        return self.discriminator_objective(step) + self.penalty_weight * penalty
