"""`AdversarialModel`: a generator and a discriminator, the two-player case of `PlayersModel`.

A GAN variant subclasses `AdversarialModel` (or one of the built-in models) and writes its two
networks and its two losses in `keras.ops`; `fit()` then trains it on TensorFlow, torch or JAX.

    class HingeDCGAN(kzoo.models.DCGAN):
        '''DCGAN trained with the hinge loss.'''

        def discriminator_loss(self, real_logits, fake_logits):
            return ops.mean(ops.relu(1 - real_logits)) + ops.mean(ops.relu(1 + fake_logits))

        def generator_loss(self, fake_logits):
            return -ops.mean(fake_logits)

The hooks, from the narrowest to the widest: `discriminator_loss(real_logits, fake_logits)` and
`generator_loss(fake_logits)`; `compute_discriminator_loss(real_images, fake_images, labels)` and
`compute_generator_loss(fake_images, labels)`; `discriminator_objective(step)` and
`generator_objective(step)`, which see everything the step knows (the real batch, the latent
codes drawn for the update, `step.log` for extra terms); and `players()` itself.
"""

import math

import keras
import numpy as np
from keras import ops

from kzoo import averaging, stabilizers
from kzoo import hyperparameters as hp
from kzoo.errors import HyperparameterError, KzooError
from kzoo.players import Player, PlayersModel, Step


class AdversarialModel(PlayersModel):
    """Base class of kzoo's GANs: two networks, two losses, the shared players' step.

    Subclasses provide:
      - `build_generator()` and `build_discriminator()`: Keras models for `self.image_shape`,
        `self.latent_dim` and, for conditional models, `self.num_classes`. The generator maps
        noise (and labels) to images in [-1, 1]; the discriminator maps images (and labels) to
        one logit (or critic value) per image.
      - `discriminator_loss(real_logits, fake_logits)` and `generator_loss(fake_logits)`, in
        `keras.ops`. These two hooks are the public contract plugins rely on.
      - optionally `hyperparameters`, `d_steps` (discriminator updates per generator update, a
        hyperparameter), `default_optimizers()` (discriminator's, generator's),
        `after_discriminator_step()` (weight clipping, for example), the lower-level
        `compute_discriminator_loss(real_images, fake_images, labels)` /
        `compute_generator_loss(fake_images, labels)`, and the step-level
        `discriminator_objective(step)` / `generator_objective(step)`.

    With `ema_decay > 0` the model keeps an exponential moving average of the generator's
    weights (`averaged_generator`), updated after every generator update; `generate()`,
    `sample()`, `kzoo sample` and `kzoo evaluate` use it unless asked for the raw generator.
    """

    hyperparameters = {
        "image_shape": hp.ImageShape((28, 28, 1), help="the images' size"),
        "latent_dim": hp.Int(100, min=1, help="size of the generator's noise"),
        "d_steps": hp.Int(1, min=1, help="discriminator updates per generator update"),
        "learning_rate": hp.Float(2e-4, min=0, min_exclusive=True, help="both players' learning rate"),
        "d_learning_rate": hp.Float(None, min=0, min_exclusive=True, optional=True,
                                    help="the discriminator's own learning rate; None: learning_rate"),
        "g_learning_rate": hp.Float(None, min=0, min_exclusive=True, optional=True,
                                    help="the generator's own learning rate; None: learning_rate"),
        "beta_1": hp.Float(0.5, min=0, max=1, max_exclusive=True, help="Adam's beta_1"),
        "ema_decay": hp.Float(0.0, min=0, max=1, max_exclusive=True,
                              help="generator weight averaging (e.g. 0.999); 0 turns it off"),
        # Stabilizers (kzoo.stabilizers), all off by default.
        "augment": hp.Flags("", stabilizers.AUGMENTATIONS,
                            help="differentiable augmentation of every discriminator input (DiffAugment)"),
        "augment_translation": hp.Float(0.125, min=0, max=0.5, help="largest translation, a fraction of the side"),
        "augment_cutout": hp.Float(0.5, min=0, max=1, help="side of the cutout square, a fraction of the side"),
        "minibatch_std": hp.Int(0, min=0, help="group size of the discriminator's minibatch standard "
                                               "deviation feature; 0 = off"),
        "pack": hp.Int(1, min=1, help="samples per discriminator input (PacGAN); 1 = off"),
        "label_smoothing": hp.Float(0.0, min=0, max=1, max_exclusive=True,
                                    help="one-sided: real targets 1 - this in the non-saturating loss"),
        "instance_noise": hp.Float(0.0, min=0, help="std of Gaussian noise on discriminator inputs, "
                                                    "annealed to 0; 0 = off"),
        "instance_noise_steps": hp.Int(2000, min=1, help="generator updates over which instance noise anneals"),
        "g_top_k": hp.Float(1.0, min=0, max=1, min_exclusive=True,
                            help="top-k training: the share of fakes, best scored by the discriminator, whose "
                                 "gradients the generator follows; 1 = all"),
        "g_top_k_steps": hp.Int(2000, min=1, help="generator updates over which that share falls from 1 to g_top_k"),
    }
    # Whether the discriminator can judge packed samples (PacGAN): not when it predicts something
    # per sample (classes, codes) or takes labels.
    supports_packing = True

    @classmethod
    def check_hyperparameter_values(cls, values):
        values = super().check_hyperparameter_values(values)
        if values["minibatch_std"] == 1:
            raise HyperparameterError(f"{cls.__name__}: minibatch_std must be 0 (off) or a group size >= 2; got 1")
        if values["pack"] > 1 and (cls.conditional or not cls.supports_packing):
            raise HyperparameterError(
                f"{cls.__name__}: pack must be 1: its discriminator judges each sample on its own (labels, classes or codes)"
            )
        if values["g_top_k"] < 1 and cls.generator_objective is not AdversarialModel.generator_objective:
            raise HyperparameterError(
                f"{cls.__name__}: g_top_k acts in compute_generator_loss, which this model's own generator "
                "objective does not use"
            )
        if values["label_smoothing"] > 0 and cls.discriminator_loss is not AdversarialModel.discriminator_loss:
            raise HyperparameterError(
                f"{cls.__name__}: label_smoothing applies to the non-saturating loss; this model has its own"
            )
        return values

    def build_networks(self):
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        self._check_discriminator_options()
        self.averaged_generator = (
            averaging.averaged_copy(self.generator, self.build_generator) if self.ema_decay > 0 else None
        )

    @property
    def discriminator_image_shape(self):
        """The images the discriminator takes: `image_shape` with `pack` times the channels."""
        height, width, channels = self.image_shape
        return (height, width, channels * self.pack)

    def _check_discriminator_options(self):
        """Options that need the discriminator's builder to take part: say so if it did not."""
        from kzoo.layers import MinibatchStdDev

        inputs = self.discriminator.inputs[0]
        if self.pack > 1 and inputs.shape[-1] != self.discriminator_image_shape[-1]:
            raise HyperparameterError(
                f"{type(self).__name__}: pack={self.pack} needs a discriminator of "
                f"{self.discriminator_image_shape[-1]} input channels (self.discriminator_image_shape); "
                f"build_discriminator() made one of {inputs.shape[-1]}"
            )
        has_std = any(isinstance(layer, MinibatchStdDev) for layer in _all_layers(self.discriminator))
        if self.minibatch_std and not has_std:
            raise HyperparameterError(
                f"{type(self).__name__}: build_discriminator() has no kzoo.layers.MinibatchStdDev layer "
                f"for minibatch_std={self.minibatch_std}"
            )

    # ---------------------------------------------------------------- subclass hooks
    def build_generator(self):
        """The generator, called once by `build_networks()`.

        Returns:
            A Keras model (`kzoo.layers.Network` for the torch fast paths) from noise of
            `self.latent_dim` values (and, with `conditional = True`, int labels) to images of
            `self.image_shape` in [-1, 1]. Built again for the weight average when `ema_decay > 0`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement build_generator()")

    def build_discriminator(self):
        """The discriminator, called once by `build_networks()`.

        Returns:
            A Keras model from images of `self.discriminator_image_shape` (`image_shape` with
            `pack` times the channels; and labels, if conditional) to one logit (or critic value)
            per image.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement build_discriminator()")

    def discriminator_loss(self, real_logits, fake_logits):
        """The discriminator's loss from its logits, in `keras.ops`.

        Args:
            real_logits: the discriminator's outputs for the real batch.
            fake_logits: its outputs for the generator's images.

        Returns:
            A scalar tensor. Here: the non-saturating GAN loss (Goodfellow et al. 2014), real
            targets 1 - `label_smoothing`.
        """
        real_targets = ops.full_like(real_logits, 1.0 - self.label_smoothing)
        real = ops.binary_crossentropy(real_targets, real_logits, from_logits=True)
        fake = ops.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits, from_logits=True)
        return ops.mean(real) + ops.mean(fake)

    def generator_loss(self, fake_logits):
        """The generator's loss from the discriminator's logits for its images, in `keras.ops`.

        Args:
            fake_logits: the discriminator's outputs for the generator's images.

        Returns:
            A scalar tensor. Here: the non-saturating loss, -log D(G(z)).
        """
        return ops.mean(
            ops.binary_crossentropy(ops.ones_like(fake_logits), fake_logits, from_logits=True)
        )

    def default_optimizers(self):
        """The optimizers `compile()` uses by default: Adam(learning rate, beta_1) for each player.

        Returns:
            `{"discriminator": ..., "generator": ...}`, a dict by optimizer key as every
            `PlayersModel` returns; a subclass that adds a player adds its optimizer:
            `{**super().default_optimizers(), "discriminator_2": keras.optimizers.Adam(2e-4)}`.
            An override may also return the two-player pair `(discriminator's, generator's)`.
        """
        d_rate, g_rate = self.player_learning_rates()
        return {
            "discriminator": keras.optimizers.Adam(d_rate, beta_1=self.beta_1),
            "generator": keras.optimizers.Adam(g_rate, beta_1=self.beta_1),
        }

    def player_learning_rates(self):
        """(discriminator's, generator's) learning rate: their own if set, else `learning_rate`."""
        d_rate, g_rate = self.d_learning_rate, self.g_learning_rate
        return (self.learning_rate if d_rate is None else d_rate, self.learning_rate if g_rate is None else g_rate)

    def after_discriminator_step(self):
        """Called after every discriminator update (WGAN clips the critic's weights here)."""

    def after_generator_step(self):
        """Called after every generator update: updates the averaged generator, if any."""
        if self.averaged_generator is not None:
            decay = averaging.warmed_up_decay(self.ema_decay, self.g_optimizer.iterations)
            averaging.update_average(self.averaged_generator, self.generator, decay)

    def draw_latents(self, batch_size):
        """The latent codes of one update, from the model's seed generator: {"noise": ...}."""
        return {"noise": self.sample_noise(batch_size)}

    def generator_inputs(self, latents, labels):
        """What the generator takes: the noise (a tensor, or `draw_latents`'s dict), and labels."""
        noise = latents["noise"] if isinstance(latents, dict) else latents
        return [noise, labels] if self.conditional else noise

    def discriminator_inputs(self, images, labels):
        return [images, labels] if self.conditional else images

    def discriminate(self, images, labels=None):
        """The discriminator's logits for `images` in training mode: every loss calls it here.

        The images first go through `discriminator_view`: the stabilizers that are on.
        """
        return self.discriminator(self.discriminator_inputs(self.discriminator_view(images), labels), training=True)

    def discriminator_view(self, images):
        """What the discriminator sees of `images`: augmented, noised and packed, each if on."""
        if self.augment:
            images = stabilizers.diff_augment(images, self.augment, self.seed_generator,
                                              self.augment_translation, self.augment_cutout)
        if self.instance_noise > 0:
            images = stabilizers.instance_noise(images, self.instance_noise_scale(), self.seed_generator)
        return stabilizers.pack(images, self.pack)

    def instance_noise_scale(self):
        """The instance noise's std now: `instance_noise` annealed over `instance_noise_steps` updates."""
        return stabilizers.annealed(self.instance_noise, self.g_optimizer.iterations, self.instance_noise_steps)

    def compute_discriminator_loss(self, real_images, fake_images, labels):
        """The discriminator's loss for one batch: override for losses that need more than logits.

        Args:
            real_images: the real batch, NHWC in [-1, 1].
            fake_images: the generator's images for this update (no gradient to the generator).
            labels: the batch's int labels (conditional models), else None.

        Returns:
            A scalar tensor; here `discriminator_loss` of `discriminate` on both.
        """
        return self.discriminator_loss(self.discriminate(real_images, labels), self.discriminate(fake_images, labels))

    def compute_generator_loss(self, fake_images, labels):
        """The generator's loss for one batch of its own images (differentiated through them).

        Args:
            fake_images: the generator's images for this update, in training mode.
            labels: the labels they were made for (conditional models), else None.

        Returns:
            A scalar tensor; here `generator_loss` of `discriminate(fake_images)`, through top-k
            training when `g_top_k < 1`.
        """
        logits = self.discriminate(fake_images, labels)
        if self.g_top_k < 1.0:
            logits = stabilizers.top_k_gradients(logits, self.top_k_share())
        return self.generator_loss(logits)

    def top_k_share(self):
        """Top-k training's share of fakes now: 1, falling linearly to `g_top_k` over `g_top_k_steps`."""
        return stabilizers.annealed_share(self.g_top_k, self.g_optimizer.iterations, self.g_top_k_steps)

    # ---------------------------------------------------------------- the two players
    def players(self):
        return [
            Player("d", networks=("discriminator",), optimizer="discriminator", loss=self.discriminator_objective,
                   steps=int(self.d_steps), prepare=self.prepare_discriminator_update,
                   after_update=self.after_discriminator_step),
            Player("g", networks=("generator",), optimizer="generator", loss=self.generator_objective,
                   prepare=self.prepare_generator_update, after_update=self.after_generator_step),
        ]

    def begin_step(self, data):
        images, labels = self._unpack_batch(data)
        return Step(real=images, labels=labels, batch_size=ops.shape(images)[0])

    def prepare_discriminator_update(self, step):
        """Fresh latent codes and the fakes they make (no gradient flows into the generator)."""
        latents = self.draw_latents(step.batch_size)
        return {"latents": latents, "fake": self.generate_fakes(latents, step.labels)}

    def prepare_generator_update(self, step):
        return {"latents": self.draw_latents(step.batch_size)}

    def generate_fakes(self, latents, labels):
        """The generator's images for `latents` (and labels), in training mode."""
        return self.generator(self.generator_inputs(latents, labels), training=True)

    def discriminator_objective(self, step):
        """The discriminator player's loss for one update.

        Args:
            step: the `kzoo.Step`: `step.real`, `step.labels`, and what `prepare_discriminator_update`
                drew (`step.latents`, `step.fake`); `step.log(name, value)` reports a term.

        Returns:
            A scalar tensor; here `compute_discriminator_loss(step.real, step.fake, step.labels)`.
        """
        return self.compute_discriminator_loss(step.real, step.fake, step.labels)

    def generator_objective(self, step):
        """The generator player's loss for one update, differentiated through `generate_fakes`.

        Args:
            step: the `kzoo.Step`: `step.real`, `step.labels`, `step.latents` (the codes drawn for
                this update by `prepare_generator_update`).

        Returns:
            A scalar tensor; here `compute_generator_loss` of `generate_fakes(step.latents, step.labels)`.
        """
        return self.compute_generator_loss(self.generate_fakes(step.latents, step.labels), step.labels)

    # ---------------------------------------------------------------- optimizers
    def compile(self, d_optimizer=None, g_optimizer=None, optimizers=None, jit_compile="auto", **kwargs):
        """Compile with one optimizer per player (defaults: `default_optimizers()`).

        `d_optimizer` / `g_optimizer` override the discriminator's / generator's; `optimizers`
        (a dict by key) any of a model's optimizers. See `PlayersModel.compile`.
        """
        chosen = dict(optimizers or {})
        if d_optimizer is not None:
            chosen["discriminator"] = d_optimizer
        if g_optimizer is not None:
            chosen["generator"] = g_optimizer
        super().compile(optimizers=chosen, jit_compile=jit_compile, **kwargs)

    def default_optimizers_by_key(self):
        """`default_optimizers()` checked, its two-player pair form (d, g) taken by key."""
        defaults = self.default_optimizers()
        if isinstance(defaults, (tuple, list)) and len(defaults) == 2:
            defaults = {"discriminator": defaults[0], "generator": defaults[1]}
        return self.checked_optimizers(defaults)

    @property
    def d_optimizer(self):
        return self.optimizers["discriminator"]

    @property
    def g_optimizer(self):
        return self.optimizers["generator"]

    def compile_from_config(self, config):
        if config and "optimizers" not in config:  # a file of kzoo 0.1
            config = {"optimizers": {"discriminator": config["d_optimizer"], "generator": config["g_optimizer"]}}
        super().compile_from_config(config)

    def check_fit_data(self, x, y):
        if self.conditional and y is None and hasattr(x, "shape"):
            raise ValueError(f"{self.name} is conditional: train it with fit(images, labels)")

    def _unpack_batch(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        # Run eagerly on JAX, a batch arrives as numpy arrays; a network called with [images, labels]
        # refuses a list that mixes them with the labels' tensor.
        images = ops.convert_to_tensor(images)
        if not self.conditional:
            return images, None
        if labels is None:
            raise ValueError(f"{self.name} is conditional: train it with fit(images, labels)")
        return images, ops.reshape(ops.cast(labels, "int32"), (-1,))

    def sample_noise(self, batch_size):
        """Latent noise from the model's seed generator (which advances at every call)."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    # ---------------------------------------------------------------- inference
    def inference_generator(self, raw=False):
        """The generator that makes images: the averaged one if there is one, unless `raw`."""
        if raw or self.averaged_generator is None:
            return self.generator
        return self.averaged_generator

    def call(self, inputs, training=False):
        """The generator: `model(noise)`, or `model([noise, labels])` for conditional models."""
        return self.inference_generator(raw=training)(inputs, training=training)

    def generate(self, noise, labels=None, raw=False):
        """Images in [-1, 1] (NHWC numpy) for given noise (and labels), in inference mode.

        The averaged generator makes them when the model keeps one, unless `raw=True`.
        """
        noise = np.asarray(noise, dtype="float32")
        if self.conditional:
            if labels is None:
                raise ValueError(f"{self.name} is conditional: pass labels")
            labels = np.asarray(labels, dtype="int32").reshape(-1)
        inputs = self.generator_inputs(noise, labels)
        return np.asarray(keras.ops.convert_to_numpy(self.inference_generator(raw)(inputs, training=False)))

    def sample_inputs(self, num, rng):
        """Numpy generator inputs for `sample()`: the same on every backend for the same `rng`."""
        return rng.standard_normal((num, self.latent_dim)).astype("float32")

    def sample(self, num, seed=0, labels=None, batch_size=250, raw=False):
        """`num` images from numpy noise, so the same seed gives the same images on any backend.

        For conditional models `labels` defaults to the classes in turn (0, 1, ..., 0, 1, ...).
        """
        noise = self.sample_inputs(num, np.random.default_rng(seed))
        if self.conditional:
            labels = np.arange(num) % self.num_classes if labels is None else np.broadcast_to(labels, (num,))
        chunks = [
            self.generate(noise[i : i + batch_size], None if labels is None else labels[i : i + batch_size], raw=raw)
            for i in range(0, num, batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.image_shape), "float32")

    def preview_grid(self, num=64, seed=0, data=None, label=None, code=None, raw=False):
        """See `PlayersModel.preview_grid`. Conditional models show one row per class (the same
        noise down each column, so a column shows one "style" across classes), or only class
        `label` when given."""
        if not self.conditional or code is not None:
            return super().preview_grid(num, seed=seed, data=data, label=label, code=code, raw=raw)
        if label is not None:
            if not 0 <= int(label) < self.num_classes:
                raise KzooError(f"label {label} is out of range: {self.name} has classes 0..{self.num_classes - 1}")
            return self.sample(num, seed=seed, labels=int(label), raw=raw), max(1, round(math.sqrt(num)))
        per_class = max(1, math.ceil(num / self.num_classes))
        noise = self.sample_inputs(per_class, np.random.default_rng(seed))
        labels = np.repeat(np.arange(self.num_classes), per_class)
        return self.generate(np.tile(noise, (self.num_classes, 1)), labels, raw=raw), per_class


def _all_layers(layer):
    """`layer` and every layer inside it, nested models included."""
    yield layer
    for inner in getattr(layer, "layers", []):
        yield from _all_layers(inner)
