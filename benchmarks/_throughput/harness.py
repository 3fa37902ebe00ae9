"""What every variant of the throughput benchmark shares: the model under test and the variant API.

`Spec` reads what the hand-written loops need from a kzoo model, and whether they can train it
at all (the loops re-implement the two-player step, WGAN's clipping and WGAN-GP's penalty only);
`Variant` is a way of training, `LoopVariant` a hand-written loop over batches of backend
tensors. `model_factory` makes the model that every variant starts from, with the same weights.
Nothing here imports keras or a backend at import time: the command selects the backend first.
"""

import math

SEED = 1234


class Skip(Exception):
    """A variant that cannot be measured for this model or backend (the reason is reported)."""


class Variant:
    """A way of training: `train(x, y)` trains on consecutive batches and waits for them."""

    name = None

    def __init__(self, spec):
        self.spec = spec

    def prepare(self, x, y):
        """Data layout the variant wants (done before the clock starts)."""
        return x, y

    def train(self, x, y):
        raise NotImplementedError

    def parameters(self):
        raise NotImplementedError


class LoopVariant(Variant):
    """A hand-written loop: `step(real, labels)` per batch of backend tensors (`as_tensor`)."""

    def as_tensor(self, array):
        raise NotImplementedError

    def step(self, real, labels):
        raise NotImplementedError

    def train(self, x, y):
        b = self.spec.batch_size
        for i in range(len(x) // b):
            real = self.as_tensor(x[i * b : (i + 1) * b])
            labels = self.as_tensor(y[i * b : (i + 1) * b]) if self.spec.conditional else None
            losses = self.step(real, labels)
        float(losses[1])  # waits for the last step (JAX dispatches asynchronously)


class JaxLoop(LoopVariant):
    """A JAX loop threads its state through `jitted_step(state, real, labels)`."""

    def as_tensor(self, array):
        return self.jax.numpy.asarray(array)

    def step(self, real, labels):
        self.state, losses = self.jitted_step(self.state, real, labels)
        return losses


class Spec:
    """What every variant needs to know about the model under test."""

    def __init__(self, model, batch_size):
        from kzoo.adversarial import AdversarialModel

        self.name = model.name
        self.batch_size = batch_size
        self.latent_dim = int(model.latent_dim)
        self.d_steps = int(model.d_steps)
        self.conditional = bool(model.conditional)
        self.image_shape = tuple(model.image_shape)
        self.hyperparameters = model.hyperparameter_values
        cls = type(model)
        # Clipping is the one after_discriminator_step the loops re-implement (WGAN's).
        self.clip_value = None
        if cls.after_discriminator_step is not AdversarialModel.after_discriminator_step:
            if not hasattr(model, "clip_value"):
                raise Skip(f"{cls.__name__} overrides after_discriminator_step; the loops only re-implement clipping")
            self.clip_value = float(model.clip_value)
        # WGAN-GP's penalty is the one step-level addition the loops re-implement, each in its
        # backend's idiom (a nested tape, autograd.grad(create_graph=True), jax.grad).
        self.gp_weight = _gradient_penalty_weight(model)
        self.custom_losses = (
            cls.compute_discriminator_loss is not AdversarialModel.compute_discriminator_loss
            or cls.compute_generator_loss is not AdversarialModel.compute_generator_loss
            or not _plain_step(model)
        )
        self.loss_kind = _loss_kind(cls)
        self.architecture = _architecture(cls)


def _gradient_penalty_weight(model):
    from kzoo.models import WGANGP

    return float(model.gp_weight) if isinstance(model, WGANGP) else None


def _plain_step(model):
    """Whether the model's step is the two-player step the loops re-implement (with WGAN-GP's
    penalty, without R1 or generator averaging): no other objective, prepare hook or players."""
    from kzoo.adversarial import AdversarialModel
    from kzoo.models import DCGAN, WGANGP

    cls = type(model)
    known = {
        "players": (AdversarialModel.players, DCGAN.players, WGANGP.players),
        "discriminator_objective": (AdversarialModel.discriminator_objective, DCGAN.discriminator_objective,
                                    WGANGP.discriminator_objective),
        "generator_objective": (AdversarialModel.generator_objective,),
        "prepare_discriminator_update": (AdversarialModel.prepare_discriminator_update,
                                         WGANGP.prepare_discriminator_update),
        "prepare_generator_update": (AdversarialModel.prepare_generator_update,),
        "after_generator_step": (AdversarialModel.after_generator_step,),
        "draw_latents": (AdversarialModel.draw_latents,),
    }
    overrides = [name for name, owners in known.items() if getattr(cls, name) not in owners]
    extras = float(getattr(model, "r1_gamma", 0.0) or 0.0) > 0 or float(model.ema_decay) > 0
    return not overrides and not extras


def _loss_kind(cls):
    """'bce', 'least_squares' or 'wasserstein' when the model uses a built-in pair of losses."""
    from kzoo.adversarial import AdversarialModel
    from kzoo.models import LSGAN, WGAN

    for kind, owner in (("bce", AdversarialModel), ("least_squares", LSGAN), ("wasserstein", WGAN)):
        if cls.discriminator_loss is owner.discriminator_loss and cls.generator_loss is owner.generator_loss:
            return kind
    return None


def _architecture(cls):
    """'conv' (kzoo.models.blocks conv_*), 'mlp' or 'mlp_conditional' for built-in networks, else None."""
    from kzoo.models import CGAN, DCGAN, GAN

    for kind, owner in (("conv", DCGAN), ("mlp_conditional", CGAN), ("mlp", GAN)):
        if cls.build_generator is owner.build_generator and cls.build_discriminator is owner.build_discriminator:
            return kind
    return None


def fresh_optimizer(optimizer):
    """A new, unbuilt Keras optimizer of the same class and configuration."""
    return optimizer.__class__.from_config(optimizer.get_config())


def keras_parameter_count(model):
    return int(sum(math.prod(v.shape) for v in model.generator.trainable_variables)
               + sum(math.prod(v.shape) for v in model.discriminator.trainable_variables))


def model_factory(name, hyperparameters):
    """`fresh_model()` -> a new `kzoo.create_model(name, ...)`, with the same initial weights each time.

    The two-player step is what is timed: generator averaging (on by default in some models) is
    off unless `hyperparameters` ask for it, as the loops do not re-implement it.
    """
    import keras

    import kzoo
    from kzoo import registry

    defaults = registry.load_model_class(name).default_hyperparameters()
    hyper = {**({"ema_decay": 0.0} if "ema_decay" in defaults else {}), **hyperparameters}

    def fresh_model():
        keras.utils.set_random_seed(SEED)  # the same initial weights for kzoo and native
        return kzoo.create_model(name, **hyper)

    return fresh_model
