"""`AdversarialModel`: one adversarial training step, in `keras.ops`, for every backend.

A GAN variant subclasses `AdversarialModel` (or one of the built-in models) and writes its two
networks and its two losses; `fit()` then trains it on TensorFlow, torch or JAX. How a gradient
is taken and applied on each backend lives in `kzoo.autodiff`, nowhere else.

    class HingeDCGAN(kzoo.models.DCGAN):
        '''DCGAN trained with the hinge loss.'''

        def discriminator_loss(self, real_logits, fake_logits):
            return ops.mean(ops.relu(1 - real_logits)) + ops.mean(ops.relu(1 + fake_logits))

        def generator_loss(self, fake_logits):
            return -ops.mean(fake_logits)
"""

import inspect
import re

import keras
import numpy as np
from keras import ops

from kzoo import autodiff
from kzoo.errors import HyperparameterError


class PlayerOptimizers(keras.optimizers.Optimizer):
    """The discriminator's and the generator's optimizers, behind the one `model.optimizer`.

    Keras's JAX trainer threads only `model.optimizer.variables` through the jitted step:
    optimizers kept as plain model attributes would silently never advance there. This
    container exposes both players' variables under `variables`; it applies nothing itself.
    Its own `iterations` counts adversarial steps (one per batch), which is what callbacks
    reading `model.optimizer.iterations` expect.
    """

    def __init__(self, discriminator, generator, name="player_optimizers", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.discriminator = discriminator
        self.generator = generator

    def build(self, var_list=()):
        # Each player's optimizer is built on that player's weights by AdversarialModel.compile.
        super().build([])

    @property
    def variables(self):
        return self._variables[:] + self.discriminator.variables + self.generator.variables

    # The players' optimizers save their own state as children of this one in `.keras`
    # files; this container saves only its own counters.
    def save_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("PlayerOptimizers applies no gradients; its players do")

    def get_config(self):
        return {
            "name": self.name,
            "discriminator": keras.optimizers.serialize(self.discriminator),
            "generator": keras.optimizers.serialize(self.generator),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(
            discriminator=keras.optimizers.deserialize(config["discriminator"], custom_objects),
            generator=keras.optimizers.deserialize(config["generator"], custom_objects),
            name=config.get("name", "player_optimizers"),
        )


class AdversarialModel(keras.Model):
    """Base class of every kzoo GAN: two networks, two losses, one shared `train_step`.

    Subclasses provide:
      - `build_generator()` and `build_discriminator()`: Keras models for `self.image_shape`,
        `self.latent_dim` and, for conditional models, `self.num_classes`. The generator maps
        noise (and labels) to images in [-1, 1]; the discriminator maps images (and labels) to
        one logit (or critic value) per image.
      - `discriminator_loss(real_logits, fake_logits)` and `generator_loss(fake_logits)`, in
        `keras.ops`. These two hooks are the public contract plugins rely on.
      - optionally `hyperparameters` (a dict of name: default, merged with the base classes'),
        `d_steps` (discriminator updates per generator update, a hyperparameter),
        `after_discriminator_step()` (weight clipping, for example) and the lower-level
        `compute_discriminator_loss(real_images, fake_images, labels)` /
        `compute_generator_loss(fake_images, labels)` for losses that need more than logits.

    The first line of the class docstring is the model's description in `kzoo list`; `paper`
    names the paper; `conditional = True` makes `fit(x, y)` feed class labels to both networks.
    """

    hyperparameters = {
        "image_shape": (28, 28, 1),
        "latent_dim": 100,
        "d_steps": 1,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "seed": None,
    }
    paper = None
    conditional = False
    # Image height and width must be multiples of this (two stride-2 layers need 4).
    size_multiple = 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        clashes = [k for k in cls.__dict__.get("hyperparameters", {}) if hasattr(keras.Model, k)]
        if clashes:
            raise TypeError(f"{cls.__name__}: hyperparameter names clash with keras.Model: {clashes}")
        # Every subclass, plugins' included, deserializes from `.keras` files without
        # custom_objects, under a name that cannot collide with another package's class.
        keras.saving.register_keras_serializable(package=cls.__module__, name=cls.__qualname__)(cls)

    @classmethod
    def default_hyperparameters(cls):
        """All hyperparameters of this class with their defaults, base classes' included."""
        merged = {}
        for klass in reversed(cls.__mro__):
            merged.update(klass.__dict__.get("hyperparameters", {}))
        return merged

    def __init__(self, name=None, **hyperparameters):
        defaults = self.default_hyperparameters()
        unknown = sorted(set(hyperparameters) - set(defaults))
        if unknown:
            raise HyperparameterError(
                f"{type(self).__name__} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(sorted(defaults))}"
            )
        values = {**defaults, **hyperparameters}
        values["image_shape"] = self._checked_image_shape(values["image_shape"])
        if int(values["latent_dim"]) < 1 or int(values["d_steps"]) < 1:
            raise HyperparameterError("latent_dim and d_steps must be positive integers")
        super().__init__(name=name or _snake_case(type(self).__name__))
        self._hyperparameter_values = values
        for key, value in values.items():
            setattr(self, key, value)
        self.seed_generator = keras.random.SeedGenerator(values["seed"], name="noise_seed")
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # No symbolic build is possible without `call` inputs; the networks are built already.
        self.built = True

    @classmethod
    def _checked_image_shape(cls, image_shape):
        try:
            shape = tuple(int(d) for d in image_shape)
        except (TypeError, ValueError):
            shape = ()
        if len(shape) != 3 or min(shape) < 1 or shape[2] not in (1, 3):
            raise HyperparameterError(
                f"image_shape must be (height, width, channels) with 1 or 3 channels; got {image_shape!r}"
            )
        m = cls.size_multiple
        if shape[0] % m or shape[1] % m:
            raise HyperparameterError(
                f"{cls.__name__} takes images whose height and width are multiples of {m}; "
                f"got {shape[0]}x{shape[1]}"
            )
        return shape

    # ---------------------------------------------------------------- subclass hooks
    def build_generator(self):
        raise NotImplementedError(f"{type(self).__name__} must implement build_generator()")

    def build_discriminator(self):
        raise NotImplementedError(f"{type(self).__name__} must implement build_discriminator()")

    def discriminator_loss(self, real_logits, fake_logits):
        """Non-saturating GAN loss (Goodfellow et al. 2014) on logits."""
        real = ops.binary_crossentropy(ops.ones_like(real_logits), real_logits, from_logits=True)
        fake = ops.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits, from_logits=True)
        return ops.mean(real) + ops.mean(fake)

    def generator_loss(self, fake_logits):
        """Non-saturating generator loss: -log D(G(z))."""
        return ops.mean(
            ops.binary_crossentropy(ops.ones_like(fake_logits), fake_logits, from_logits=True)
        )

    def default_optimizers(self):
        """(discriminator optimizer, generator optimizer) used by `compile()` by default."""
        return (
            keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1),
            keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1),
        )

    def after_discriminator_step(self):
        """Called after every discriminator update (WGAN clips the critic's weights here)."""

    def generator_inputs(self, noise, labels):
        return [noise, labels] if self.conditional else noise

    def discriminator_inputs(self, images, labels):
        return [images, labels] if self.conditional else images

    def compute_discriminator_loss(self, real_images, fake_images, labels):
        """The discriminator's loss for one batch; override for losses that need more than logits."""
        real_logits = self.discriminator(self.discriminator_inputs(real_images, labels), training=True)
        fake_logits = self.discriminator(self.discriminator_inputs(fake_images, labels), training=True)
        return self.discriminator_loss(real_logits, fake_logits)

    def compute_generator_loss(self, fake_images, labels):
        """The generator's loss for one batch of its own images (differentiated through them)."""
        fake_logits = self.discriminator(self.discriminator_inputs(fake_images, labels), training=True)
        return self.generator_loss(fake_logits)

    # ---------------------------------------------------------------- training
    def compile(self, d_optimizer=None, g_optimizer=None, jit_compile="auto", **kwargs):
        """Compile with one optimizer per player (defaults: `default_optimizers()`).

        `jit_compile="auto"` means XLA on TensorFlow (also on a CPU, unlike Keras's "auto") and
        JAX, eager on torch. Other keyword arguments (`run_eagerly`, `steps_per_execution`) go to
        `keras.Model.compile`. There is no `loss`: the model's loss hooks define it.
        """
        kwargs["jit_compile"] = autodiff.resolve_jit_compile(jit_compile)
        d_default, g_default = self.default_optimizers()
        d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None else d_default
        g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None else g_default
        if d_optimizer is g_optimizer:
            raise ValueError("the two players need two optimizer instances, not one shared")
        # An explicit optimizer also keeps Keras from building a default RMSprop on every weight.
        super().compile(optimizer=PlayerOptimizers(d_optimizer, g_optimizer), **kwargs)
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.optimizer.build()

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`, same arguments; on TensorFlow, arrays are fed without tf.data's autotuning.

        See `autodiff.fit_arguments`: with it on, every epoch's end waits for a sleeping tf.data
        thread, up to half the epoch.
        """
        bound = inspect.signature(super().fit).bind(*args, **kwargs)
        bound.apply_defaults()
        return super().fit(**autodiff.fit_arguments(dict(bound.arguments)))

    @property
    def d_optimizer(self):
        return self.optimizer.discriminator

    @property
    def g_optimizer(self):
        return self.optimizer.generator

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch and threads them on JAX.
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, *args):
        return autodiff.run_train_step(self, self._adversarial_step, *args)

    def _adversarial_step(self, data):
        images, labels = self._unpack_batch(data)
        batch_size = ops.shape(images)[0]
        # Everything a loss may read: weights, statistics, seeds, and the optimizers' state
        # (a loss may depend on the step count).
        state_variables = self.trainable_variables + self.non_trainable_variables + self.optimizer.variables

        for _ in range(int(self.d_steps)):
            noise = self.sample_noise(batch_size)
            # The discriminator's step does not differentiate through the generator.
            fake_images = ops.stop_gradient(
                self.generator(self.generator_inputs(noise, labels), training=True)
            )
            d_loss = autodiff.minimize(
                lambda fake_images=fake_images: self.compute_discriminator_loss(images, fake_images, labels),
                self.discriminator.trainable_variables,
                self.d_optimizer,
                state_variables,
            )
            self.after_discriminator_step()
            self.d_loss_tracker.update_state(d_loss)

        noise = self.sample_noise(batch_size)

        def generator_objective():
            fake = self.generator(self.generator_inputs(noise, labels), training=True)
            return self.compute_generator_loss(fake, labels)

        g_loss = autodiff.minimize(
            generator_objective,
            self.generator.trainable_variables,
            self.g_optimizer,
            state_variables,
        )
        self.g_loss_tracker.update_state(g_loss)
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    def _unpack_batch(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not self.conditional:
            return images, None
        if labels is None:
            raise ValueError(f"{self.name} is conditional: train it with fit(images, labels)")
        return images, ops.reshape(ops.cast(labels, "int32"), (-1,))

    def sample_noise(self, batch_size):
        """Latent noise from the model's seed generator (which advances at every call)."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    # ---------------------------------------------------------------- inference
    def call(self, inputs, training=False):
        """The generator: `model(noise)`, or `model([noise, labels])` for conditional models."""
        return self.generator(inputs, training=training)

    def generate(self, noise, labels=None):
        """Images in [-1, 1] (NHWC numpy) for given noise (and labels), in inference mode."""
        noise = np.asarray(noise, dtype="float32")
        if self.conditional:
            if labels is None:
                raise ValueError(f"{self.name} is conditional: pass labels")
            labels = np.asarray(labels, dtype="int32").reshape(-1)
        inputs = self.generator_inputs(noise, labels)
        return np.asarray(keras.ops.convert_to_numpy(self.generator(inputs, training=False)))

    def sample(self, num, seed=0, labels=None, batch_size=250):
        """`num` images from numpy noise, so the same seed gives the same images on any backend.

        For conditional models `labels` defaults to the classes in turn (0, 1, ..., 0, 1, ...).
        """
        noise = np.random.default_rng(seed).standard_normal((num, self.latent_dim)).astype("float32")
        if self.conditional:
            labels = np.arange(num) % self.num_classes if labels is None else np.broadcast_to(labels, (num,))
        chunks = [
            self.generate(noise[i : i + batch_size], None if labels is None else labels[i : i + batch_size])
            for i in range(0, num, batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.image_shape), "float32")

    # ---------------------------------------------------------------- saving
    def get_config(self):
        config = {"name": self.name}
        for key, value in self._hyperparameter_values.items():
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # Keras saves no seed-generator state; without this a resumed run would replay the noise
    # sequence of its first epochs. (The model has no weights of its own: the networks do.)
    def save_own_variables(self, store):
        store["noise_seed"] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        if "noise_seed" in store:
            self.seed_generator.state.assign(store["noise_seed"])

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
        }

    def compile_from_config(self, config):
        if not config:
            return
        self.compile(
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
        )

    @property
    def hyperparameter_values(self):
        """The hyperparameters this model was built with."""
        return dict(self._hyperparameter_values)


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
