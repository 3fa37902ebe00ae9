import math

import keras
import numpy as np
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.adversarial import AdversarialModel
from kzoo.errors import KzooError
from kzoo.models import blocks


class InfoGAN(AdversarialModel):
    """InfoGAN: latent codes (a category, continuous values) that a Q head must recover from the images.

    The generator takes noise (62 values), a one-hot categorical code (10 values) and 2 continuous
    codes in [-1, 1]; a Q head on the discriminator's trunk predicts the codes of the fakes, and
    both players add info_weight x the information loss (cross-entropy of the category, Gaussian
    negative log-likelihood with unit variance of the continuous codes). Networks as the paper's
    MNIST ones at width 64; Adam(2e-4) for the discriminator and Q, Adam(1e-3) for the
    generator, beta_1 0.5. The noise is N(0, 1), as in kzoo's other models (the paper's is uniform).
    """

    paper = "Chen et al. 2016, InfoGAN: Interpretable Representation Learning (arXiv:1606.03657)"
    hyperparameters = {
        "width": hp.Int(32, min=1, help="network size (64: the paper's networks, 5x slower here)"),
        "latent_dim": 62,
        "categories": hp.Int(10, min=2, help="values of the categorical code"),
        "continuous_codes": hp.Int(2, min=0, help="number of continuous codes, each U(-1, 1)"),
        "info_weight": hp.Float(1.0, min=0, help="weight lambda of the information loss"),
        "g_learning_rate": 1e-3,
        "ema_decay": 0.999,
    }
    default_epochs = 16
    default_steps_per_epoch = 500
    size_multiple = 4
    supports_packing = False

    @property
    def code_dim(self):
        return self.categories + self.continuous_codes

    def build_generator(self):
        return blocks.infogan_generator(self.image_shape, self.latent_dim + self.code_dim, self.width)

    def build_discriminator(self):
        return blocks.infogan_discriminator(self.image_shape, self.width, self.code_dim,
                                            minibatch_std=self.minibatch_std)

    def draw_latents(self, batch_size):
        latents = {
            "noise": self.sample_noise(batch_size),
            "category": keras.random.randint((batch_size,), 0, self.categories, seed=self.seed_generator),
        }
        if self.continuous_codes:
            latents["continuous"] = keras.random.uniform(
                (batch_size, self.continuous_codes), -1.0, 1.0, seed=self.seed_generator
            )
        return latents

    def generator_inputs(self, latents, labels):
        """The generator's input vector: noise, one-hot category, continuous codes (a tensor passes as is)."""
        if not isinstance(latents, dict):
            return latents
        parts = [latents["noise"], ops.one_hot(latents["category"], self.categories)]
        if self.continuous_codes:
            parts.append(latents["continuous"])
        return ops.concatenate(parts, axis=-1)

    def players(self):
        d, g = super().players()
        return [d.replace(reports=("info_loss",)), g]

    def information_loss(self, q_outputs, latents):
        """-E log Q(c | x) up to a constant: the codes of `latents` against Q's predictions."""
        category_logits = q_outputs[:, : self.categories]
        loss = ops.mean(ops.sparse_categorical_crossentropy(latents["category"], category_logits, from_logits=True))
        if self.continuous_codes:
            means = q_outputs[:, self.categories :]
            loss = loss + ops.mean(ops.sum(0.5 * ops.square(latents["continuous"] - means), axis=-1))
        return loss

    def discriminator_objective(self, step):
        real_logits, _ = self.discriminate(step.real)
        fake_logits, q_outputs = self.discriminate(step.fake)
        info = self.information_loss(q_outputs, step.latents)
        step.log("info_loss", info)
        return self.discriminator_loss(real_logits, fake_logits) + self.info_weight * info

    def generator_objective(self, step):
        fake_logits, q_outputs = self.discriminate(self.generate_fakes(step.latents, step.labels))
        return self.generator_loss(fake_logits) + self.info_weight * self.information_loss(q_outputs, step.latents)

    # ---------------------------------------------------------------- codes at inference
    def latent_vector(self, noise, categories, continuous=None):
        """Numpy generator inputs from noise, category indices and continuous codes (default 0)."""
        noise = np.asarray(noise, "float32")
        one_hot = np.eye(self.categories, dtype="float32")[np.asarray(categories)]
        if continuous is None:
            continuous = np.zeros((len(noise), self.continuous_codes), "float32")
        return np.concatenate([noise, one_hot, np.asarray(continuous, "float32")], axis=-1)

    def sample_inputs(self, num, rng):
        noise = rng.standard_normal((num, self.latent_dim))
        categories = rng.integers(0, self.categories, num)
        continuous = rng.uniform(-1.0, 1.0, (num, self.continuous_codes))
        return self.latent_vector(noise, categories, continuous)

    @property
    def code_names(self):
        return ["category"] + [f"continuous:{k}" for k in range(self.continuous_codes)]

    def preview_grid(self, num=64, seed=0, data=None, label=None, code=None, raw=False):
        """See `PlayersModel.preview_grid`; with `code`, `code_grid` with about `num` images."""
        if code is None:
            return super().preview_grid(num, seed=seed, data=data, label=label, raw=raw)
        return self.code_grid(code, columns=max(2, math.ceil(num / self.categories)), seed=seed, raw=raw)

    def code_grid(self, code, columns=8, seed=0, raw=False):
        """(images, per_row): one row per category; along the row, `code` varies.

        code "category": each column is other noise (the same down a column), so a row shows
        one category's variety and a column one style across categories. code "continuous:K":
        along the row, continuous code K runs from -2 to 2 (beyond its training range, as in
        the paper) with the noise fixed per row and the other codes at 0.
        """
        if code not in self.code_names:
            raise KzooError(f"{self.name} has no latent code {code!r}; it has: {', '.join(self.code_names)}")
        rng = np.random.default_rng(seed)
        rows = np.repeat(np.arange(self.categories), columns)
        continuous = np.zeros((len(rows), self.continuous_codes), "float32")
        if code == "category":
            noise = np.tile(rng.standard_normal((columns, self.latent_dim)), (self.categories, 1))
        else:
            noise = np.repeat(rng.standard_normal((self.categories, self.latent_dim)), columns, axis=0)
            continuous[:, int(code.split(":")[1])] = np.tile(np.linspace(-2.0, 2.0, columns), self.categories)
        return self.generate(self.latent_vector(noise, rows, continuous), raw=raw), columns

    def infer_category(self, images):
        """Q's category for images in [-1, 1] (inference mode), as numpy integers."""
        _, q_outputs = self.discriminator(images, training=False)
        return ops.convert_to_numpy(ops.argmax(q_outputs[:, : self.categories], axis=-1))
