import keras
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.models.dcgan import DCGAN


class WGAN(DCGAN):
    """Wasserstein GAN: a weight-clipped critic, several critic steps per generator step.

    DCGAN networks; the critic's output is a score, not a logit. Five critic updates per
    generator update (each on the same real batch with fresh noise), weights clipped to
    [-0.01, 0.01], RMSprop, as in the paper; but at 2e-4, not the paper's 5e-5, which at this
    default length (2,000 generator steps) left fd 10.5-11.8 and 8-9 of 10 digit classes
    (benchmarks/README.md, "Tuned defaults").
    """

    paper = "Arjovsky et al. 2017, Wasserstein GAN (arXiv:1701.07875)"
    hyperparameters = {
        "d_steps": 5,
        "clip_value": hp.Float(0.01, min=0, min_exclusive=True, help="critic weights are clipped to [-c, c]"),
        "learning_rate": 2e-4,  # measured: 5e-5 fd 10.5, 1e-4 fd 11.4 (8/10), 2e-4 fd 7.7 (10/10); TF, 2,000 steps
        "g_learning_rate": None,  # the paper's one rate for both players, not dcgan's tuned generator rate
    }
    default_epochs = 4  # 2,000 generator steps (10,000 critic steps)

    def default_optimizers(self):
        d_rate, g_rate = self.player_learning_rates()
        return {"discriminator": keras.optimizers.RMSprop(d_rate), "generator": keras.optimizers.RMSprop(g_rate)}

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(fake_logits) - ops.mean(real_logits)

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)

    def after_discriminator_step(self):
        for variable in self.discriminator.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))
