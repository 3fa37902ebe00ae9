"""Training throughput of a kzoo model against hand-written loops of the same networks.

    python benchmarks/throughput.py --backend jax --model dcgan
    python benchmarks/throughput.py --backend torch --model wgan --batch-size 64 --steps 5 --repeats 5 --json \\
        --out benchmarks/results/throughput-torch-wgan.json

In one process, on the backend chosen with --backend (set before keras is imported; no
environment variable needed), three ways of training the same GAN are timed, interleaved
(kzoo, native, plain, kzoo, native, plain, ...) so that a change in the machine's load hits
them alike:

  kzoo    `model.fit()` of `kzoo.create_model(name)`: the shared `train_step` (kzoo.adversarial).
  native  the backend's own training idiom around the same Keras networks (the generator and
          discriminator of a fresh kzoo model), the model's own loss hooks, fresh optimizers of
          the same class and configuration, d_steps discriminator updates per generator update:
            tensorflow  tf.GradientTape in one tf.function(jit_compile=True) per step;
            torch       zero_grad, loss.backward(), optimizer.apply under torch.no_grad();
            jax         one jax.jit of a pure step: stateless_call, jax.value_and_grad and the
                        optimizers' stateless_apply.
  plain   the same architecture and losses written without Keras (built-in models only):
            torch       torch.nn (channels-first) with torch.optim.Adam / RMSprop;
            jax         jax.numpy + jax.lax (NHWC) with Adam / RMSprop written out, one jax.jit;
            tensorflow  not measured.

Generator weight averaging (`ema_decay`, on by default in the DCGAN family) is off unless --set
asks for it: the loops time the two-player step, which they re-implement. Each variant is first
warmed up (compiled) for --warmup steps; then --repeats rounds run
--steps steps of each variant (by default as many as make the fastest variant run about a
second). Throughput is batch_size * steps / seconds, counting one generator step (with its
d_steps discriminator steps) as one batch. The kzoo time is the whole fit() call; its
window from the first batch to the end of the epoch is reported as kzoo_window_img_s and the
rest of the call as kzoo_fit_overhead_s. The loops feed numpy batches of the same images,
converted at each step, and are timed from their first step to the end of their last. Each result gives the median, min and max over the
repetitions, ratio = kzoo / native and plain_ratio = kzoo / plain (ratios of the medians;
*_paired: the median of the per-round ratios, steadier under a changing load), the FLOPs of a
step (benchmarks/flops.py) and the fraction of numpy's SGEMM rate they achieve.

On a shared machine timings swing by 2x or more: compare only the variants of one run, and
note the load (the JSON records the load average before and after).
"""

import argparse
import datetime
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common

SEED = 1234


# ============================================================================ shared
# A repetition of a few milliseconds (an MLP GAN takes ~15 ms a step) measures the timer and the
# scheduler more than the step: by default a repetition runs steps for about this long.
REPETITION_SECONDS = 1.0
MIN_STEPS, MAX_STEPS = 10, 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Images/second of kzoo's fit() against hand-written training loops of the same networks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--backend", default=None, choices=_common.BACKENDS,
                        help="keras backend (default: $KERAS_BACKEND, else jax)")
    parser.add_argument("--model", default="dcgan", help="a kzoo model name (default dcgan)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=None, help="network width (default: the model's own)")
    parser.add_argument("--set", dest="hyperparameters", action="append", default=[], metavar="NAME=VALUE",
                        help="another hyperparameter of the model (repeatable), e.g. --set d_steps=2")
    parser.add_argument("--steps", type=int, default=0,
                        help="training steps per repetition (default 0: enough for the fastest variant to take "
                             f"about {REPETITION_SECONDS:g} s, {MIN_STEPS} to {MAX_STEPS})")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up (compile) steps per variant (default 2)")
    parser.add_argument("--variants", default="kzoo,native,plain",
                        help="comma-separated subset of kzoo,native,plain (default: all)")
    parser.add_argument("--kzoo-jit-compile", default="auto", choices=("auto", "true", "false"),
                        help="jit_compile passed to the kzoo model's compile() (default auto: what users get; "
                             "kzoo resolves it to XLA on TensorFlow, where Keras alone would turn XLA off on a CPU)")
    parser.add_argument("--threads", type=int, default=None,
                        help="compute threads per library (default: the libraries' own, one per core); "
                             "1 gives steadier figures on a busy machine")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    args.backend = args.backend or _common.default_backend()
    args.hyperparameters = dict(_parse_setting(parser, text) for text in args.hyperparameters)
    if args.width is not None:
        args.hyperparameters["width"] = args.width
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(args.variants) - {"kzoo", "native", "plain"}
    if unknown or not args.variants:
        parser.error(f"--variants takes kzoo, native and plain; got {args.variants}")
    for name in ("batch_size", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.steps < 0:
        parser.error("--steps must be at least 1 (or 0: calibrated)")
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the first steps compile)")
    return args


def _parse_setting(parser, text):
    import ast

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        parser.error(f"--set takes NAME=VALUE, got {text!r}")
    try:
        return name.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name.strip(), value.strip()


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


# ============================================================================ kzoo
class KzooVariant(Variant):
    """`model.fit()`, timed as a whole call: what a user waits for.

    The window from its first batch to its end of epoch is recorded too (`kzoo_window_img_s`),
    and the rest of the call apart (`kzoo_fit_overhead_s`). They differed: on TensorFlow, 1 in 2
    or 3 `fit()` calls took up to twice as long as their window, waiting for tf.data's
    autotuning thread after `on_train_end` (fixed in kzoo.backend.fit_arguments;
    benchmarks/README.md). An earlier version timed only the window and reported TensorFlow at
    1.00x native where whole calls ran at 0.5-1.0x.
    """

    name = "kzoo"

    def __init__(self, spec, model):
        super().__init__(spec)
        import keras

        self.model = model
        self.overhead_s = []  # whole fit() call minus the window
        self.window_s = []

        class Window(keras.callbacks.Callback):
            async_safe = True  # keeps Keras's asynchronous batch-end dispatch, as without it

            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.end = time.perf_counter()

        self.window = Window()

    def train(self, x, y):
        import keras

        called = time.perf_counter()
        self.model.fit(x, y if self.spec.conditional else None, batch_size=self.spec.batch_size,
                       epochs=1, verbose=0, shuffle=False, callbacks=[self.window])
        keras.ops.convert_to_numpy(self.model.optimizer.iterations)  # (already done: cheap)
        returned = time.perf_counter()
        window = self.window.end - self.window.start
        self.window_s.append(window)
        self.overhead_s.append((returned - called) - window)

    def parameters(self):
        return keras_parameter_count(self.model)


# ============================================================================ hand-written loops
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


# ============================================================================ native (Keras networks)
class NativeVariant(LoopVariant):
    """The backend's own training loop around the Keras networks of a fresh kzoo model."""

    name = "native"

    def __init__(self, spec, model):
        super().__init__(spec)
        if spec.custom_losses:
            raise Skip("the model's step is not the two-player step (with WGAN-GP's penalty) the loops re-implement")
        self.model = model
        self.G, self.D = model.generator, model.discriminator
        self.d_opt = fresh_optimizer(model.d_optimizer)
        self.g_opt = fresh_optimizer(model.g_optimizer)
        self.d_opt.build(self.D.trainable_variables)
        self.g_opt.build(self.G.trainable_variables)

    def g_inputs(self, noise, labels):
        return [noise, labels] if self.spec.conditional else noise

    def d_inputs(self, images, labels):
        return [images, labels] if self.spec.conditional else images

    def parameters(self):
        return keras_parameter_count(self.model)


class NativeTensorFlow(NativeVariant):
    def __init__(self, spec, model):
        super().__init__(spec, model)
        import tensorflow as tf

        self.tf = tf
        self.rng = tf.random.Generator.from_seed(SEED)
        self.step = tf.function(self._step, jit_compile=True)

    def _step(self, real, labels):
        tf, spec, G, D, m = self.tf, self.spec, self.G, self.D, self.model
        batch = tf.shape(real)[0]
        for _ in range(spec.d_steps):
            noise = self.rng.normal((batch, spec.latent_dim))
            fake = G(self.g_inputs(noise, labels), training=True)
            if spec.gp_weight is not None:
                alpha = self.rng.uniform((batch, 1, 1, 1))
            with tf.GradientTape() as tape:
                real_logits = D(self.d_inputs(real, labels), training=True)
                fake_logits = D(self.d_inputs(fake, labels), training=True)
                d_loss = m.discriminator_loss(real_logits, fake_logits)
                if spec.gp_weight is not None:
                    between = real + alpha * (fake - real)
                    with tf.GradientTape() as inner:
                        inner.watch(between)
                        scores = tf.reduce_sum(D(self.d_inputs(between, labels), training=True))
                    slopes = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(scores, between)), axis=[1, 2, 3]) + 1e-10)
                    d_loss += spec.gp_weight * tf.reduce_mean(tf.square(slopes - 1.0))
            grads = tape.gradient(d_loss, D.trainable_variables)
            self.d_opt.apply(grads, D.trainable_variables)
            if spec.clip_value is not None:
                for v in D.trainable_variables:
                    v.assign(tf.clip_by_value(v, -spec.clip_value, spec.clip_value))
        noise = self.rng.normal((batch, spec.latent_dim))
        with tf.GradientTape() as tape:
            fake = G(self.g_inputs(noise, labels), training=True)
            g_loss = m.generator_loss(D(self.d_inputs(fake, labels), training=True))
        grads = tape.gradient(g_loss, G.trainable_variables)
        self.g_opt.apply(grads, G.trainable_variables)
        return d_loss, g_loss

    def as_tensor(self, array):
        return self.tf.convert_to_tensor(array)


class NativeTorch(NativeVariant):
    def __init__(self, spec, model):
        super().__init__(spec, model)
        import torch

        self.torch = torch
        self.device = self.G.trainable_variables[0].value.device
        self.rng = torch.Generator(device=self.device).manual_seed(SEED)

    def _update(self, network, loss, optimizer):
        network.zero_grad()
        loss.backward()
        variables = network.trainable_variables
        grads = [v.value.grad for v in variables]
        with self.torch.no_grad():
            optimizer.apply(grads, variables)

    def step(self, real, labels):
        torch, spec, G, D, m = self.torch, self.spec, self.G, self.D, self.model
        batch = real.shape[0]
        for _ in range(spec.d_steps):
            noise = torch.randn(batch, spec.latent_dim, generator=self.rng, device=self.device)
            fake = G(self.g_inputs(noise, labels), training=True).detach()
            real_logits = D(self.d_inputs(real, labels), training=True)
            fake_logits = D(self.d_inputs(fake, labels), training=True)
            d_loss = m.discriminator_loss(real_logits, fake_logits)
            if spec.gp_weight is not None:
                alpha = torch.rand(batch, 1, 1, 1, generator=self.rng, device=self.device)
                between = (real + alpha * (fake - real)).requires_grad_(True)
                scores = D(self.d_inputs(between, labels), training=True).sum()
                (grads,) = torch.autograd.grad(scores, between, create_graph=True)
                slopes = torch.sqrt(grads.square().sum(dim=(1, 2, 3)) + 1e-10)
                d_loss = d_loss + spec.gp_weight * (slopes - 1.0).square().mean()
            self._update(D, d_loss, self.d_opt)
            if spec.clip_value is not None:
                with torch.no_grad():
                    for v in D.trainable_variables:
                        v.value.clamp_(-spec.clip_value, spec.clip_value)
        noise = torch.randn(batch, spec.latent_dim, generator=self.rng, device=self.device)
        fake = G(self.g_inputs(noise, labels), training=True)
        g_loss = m.generator_loss(D(self.d_inputs(fake, labels), training=True))
        self._update(G, g_loss, self.g_opt)  # fills D's .grad too; D.zero_grad() clears it
        return d_loss.detach(), g_loss.detach()

    def as_tensor(self, array):
        return self.torch.from_numpy(array).to(self.device)


class NativeJax(NativeVariant, JaxLoop):
    def __init__(self, spec, model):
        super().__init__(spec, model)
        import jax

        self.jax = jax
        values = lambda vs: [v.value for v in vs]
        self.state = (
            values(self.G.trainable_variables), values(self.G.non_trainable_variables),
            values(self.D.trainable_variables), values(self.D.non_trainable_variables),
            values(self.g_opt.variables), values(self.d_opt.variables),
            jax.random.key(SEED),
        )
        self.jitted_step = jax.jit(self._step, donate_argnums=0)

    def _d_loss(self, d_tv, d_ntv, real, fake, labels, alpha):
        real_logits, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(real, labels), training=True)
        fake_logits, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(fake, labels), training=True)
        loss = self.model.discriminator_loss(real_logits, fake_logits)
        if self.spec.gp_weight is not None:
            jnp = self.jax.numpy

            def score(between, d_ntv):
                scores, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(between, labels), training=True)
                return jnp.sum(scores), d_ntv

            grads, d_ntv = self.jax.grad(score, has_aux=True)(real + alpha * (fake - real), d_ntv)
            slopes = jnp.sqrt(jnp.sum(jnp.square(grads), axis=(1, 2, 3)) + 1e-10)
            loss = loss + self.spec.gp_weight * jnp.mean(jnp.square(slopes - 1.0))
        return loss, d_ntv

    def _g_loss(self, g_tv, g_ntv, d_tv, d_ntv, noise, labels):
        fake, g_ntv = self.G.stateless_call(g_tv, g_ntv, self.g_inputs(noise, labels), training=True)
        fake_logits, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(fake, labels), training=True)
        return self.model.generator_loss(fake_logits), (g_ntv, d_ntv)

    def _step(self, state, real, labels):
        jax, spec = self.jax, self.spec
        jnp = jax.numpy
        g_tv, g_ntv, d_tv, d_ntv, g_opt, d_opt, key = state
        batch = real.shape[0]
        for _ in range(spec.d_steps):
            key, sub, sub_alpha = jax.random.split(key, 3)
            noise = jax.random.normal(sub, (batch, spec.latent_dim))
            alpha = jax.random.uniform(sub_alpha, (batch, 1, 1, 1))
            fake, g_ntv = self.G.stateless_call(g_tv, g_ntv, self.g_inputs(noise, labels), training=True)
            (d_loss, d_ntv), grads = jax.value_and_grad(self._d_loss, has_aux=True)(
                d_tv, d_ntv, real, jax.lax.stop_gradient(fake), labels, alpha)
            d_tv, d_opt = self.d_opt.stateless_apply(d_opt, grads, d_tv)
            if spec.clip_value is not None:
                d_tv = [jnp.clip(v, -spec.clip_value, spec.clip_value) for v in d_tv]
        key, sub = jax.random.split(key)
        noise = jax.random.normal(sub, (batch, spec.latent_dim))
        (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(self._g_loss, has_aux=True)(
            g_tv, g_ntv, d_tv, d_ntv, noise, labels)
        g_tv, g_opt = self.g_opt.stateless_apply(g_opt, grads, g_tv)
        return (g_tv, g_ntv, d_tv, d_ntv, g_opt, d_opt, key), (d_loss, g_loss)


# ============================================================================ plain (no Keras)
def _optimizer_settings(optimizer):
    """(kind, settings) of a Keras Adam or RMSprop, for re-creating it in plain torch / JAX."""
    import keras

    config = optimizer.get_config()
    ignored = [k for k in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue") if config.get(k)]
    if config.get("use_ema") or ignored:
        raise Skip(f"the plain loops do not re-implement optimizer options {ignored or ['use_ema']}")
    lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    if isinstance(optimizer, keras.optimizers.Adam) and not config.get("amsgrad"):
        return "adam", {"lr": lr, "beta_1": config["beta_1"], "beta_2": config["beta_2"], "epsilon": config["epsilon"]}
    if isinstance(optimizer, keras.optimizers.RMSprop) and not config.get("momentum") and not config.get("centered"):
        return "rmsprop", {"lr": lr, "rho": config["rho"], "epsilon": config["epsilon"]}
    raise Skip(f"the plain loops re-implement Adam and RMSprop only, not {optimizer.__class__.__name__} {config}")


class PlainVariant(LoopVariant):
    name = "plain"

    def __init__(self, spec, model):
        super().__init__(spec)
        if spec.architecture is None or spec.loss_kind is None:
            raise Skip("plain loops exist for the built-in networks and losses only")
        if spec.custom_losses:
            raise Skip("the model overrides compute_*_loss")
        hp = spec.hyperparameters
        self.h, self.w, self.c = spec.image_shape
        self.width = int(hp["width"])
        self.dropout = float(hp.get("dropout", 0.0) or 0.0)
        self.num_classes = int(hp["num_classes"]) if spec.architecture == "mlp_conditional" else 0
        self.kernel = 5  # kzoo.models.blocks' default, used by every built-in conv model
        self.d_settings = _optimizer_settings(model.d_optimizer)
        self.g_settings = _optimizer_settings(model.g_optimizer)


class PlainTorch(PlainVariant):
    """torch.nn, channels-first, torch.optim: how a PyTorch user writes the same GAN."""

    def __init__(self, spec, model):
        super().__init__(spec, model)
        import torch

        self.torch = torch
        torch.manual_seed(SEED)
        self.G, self.D = self._build()
        self.G.train(), self.D.train()  # training mode (batch statistics, dropout) throughout
        self.d_opt = self._optimizer(self.D.parameters(), *self.d_settings)
        self.g_opt = self._optimizer(self.G.parameters(), *self.g_settings)
        self.rng = torch.Generator().manual_seed(SEED)

    def _optimizer(self, params, kind, s):
        torch = self.torch
        if kind == "adam":
            return torch.optim.Adam(params, lr=s["lr"], betas=(s["beta_1"], s["beta_2"]), eps=s["epsilon"])
        return torch.optim.RMSprop(params, lr=s["lr"], alpha=s["rho"], eps=s["epsilon"])

    def _build(self):
        nn = self.torch.nn
        h, w, c, n, k = self.h, self.w, self.c, self.width, self.kernel
        nc = self.num_classes

        def bn1d(f):  # Keras BatchNormalization defaults: momentum 0.99, epsilon 1e-3
            return nn.BatchNorm1d(f, eps=1e-3, momentum=0.01)

        def bn2d(f):
            return nn.BatchNorm2d(f, eps=1e-3, momentum=0.01)

        if self.spec.architecture == "conv":
            generator = nn.Sequential(
                nn.Linear(self.spec.latent_dim, (h // 4) * (w // 4) * 4 * n, bias=False), bn1d((h // 4) * (w // 4) * 4 * n),
                nn.ReLU(), nn.Unflatten(1, (4 * n, h // 4, w // 4)),
                nn.ConvTranspose2d(4 * n, 2 * n, k, stride=1, padding=k // 2, bias=False), bn2d(2 * n), nn.ReLU(),
                nn.ConvTranspose2d(2 * n, n, k, stride=2, padding=k // 2, output_padding=1, bias=False), bn2d(n), nn.ReLU(),
                nn.ConvTranspose2d(n, c, k, stride=2, padding=k // 2, output_padding=1), nn.Tanh(),
            )
            discriminator = nn.Sequential(
                nn.Conv2d(c, n, k, stride=2, padding=k // 2), nn.LeakyReLU(0.2),
                nn.Conv2d(n, 2 * n, k, stride=2, padding=k // 2), bn2d(2 * n), nn.LeakyReLU(0.2),
                nn.Flatten(), nn.Linear(2 * n * (h // 4) * (w // 4), 1),
            )
            for module in list(generator) + list(discriminator):  # N(0, 0.02) as kzoo's DCGAN
                if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.normal_(module.weight, 0.0, 0.02)
            return _TorchNet(generator, None), _TorchNet(discriminator, None)

        pixels = h * w * c
        g_layers = []
        size = self.spec.latent_dim + nc
        for units in (2 * n, 4 * n, 8 * n):
            g_layers += [nn.Linear(size, units), nn.LeakyReLU(0.2)]
            size = units
        g_layers += [nn.Linear(size, pixels), nn.Tanh(), nn.Unflatten(1, (c, h, w))]
        d_layers, size = [], pixels + nc
        for units in (4 * n, 2 * n):
            d_layers += [nn.Linear(size, units), nn.LeakyReLU(0.2)]
            if self.dropout:
                d_layers.append(nn.Dropout(self.dropout))
            size = units
        d_layers.append(nn.Linear(size, 1))
        embed = (lambda: nn.Embedding(nc, nc)) if nc else (lambda: None)
        return _TorchNet(nn.Sequential(*g_layers), embed()), _TorchNet(nn.Sequential(*d_layers), embed(), flatten=True)

    def _losses(self):
        F = self.torch.nn.functional
        torch = self.torch
        kind = self.spec.loss_kind
        if kind == "bce":
            d = lambda r, f: (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                              + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
            g = lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
        elif kind == "least_squares":
            d = lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
            g = lambda f: 0.5 * ((f - 1) ** 2).mean()
        else:
            d = lambda r, f: f.mean() - r.mean()
            g = lambda f: -f.mean()
        return d, g

    def prepare(self, x, y):
        import numpy as np

        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), (None if y is None else y.astype("int64"))

    def step(self, real, labels):
        torch, spec = self.torch, self.spec
        G, D = self.G, self.D
        d_loss_fn, g_loss_fn = self._losses()
        batch = real.shape[0]
        for _ in range(spec.d_steps):
            noise = torch.randn(batch, spec.latent_dim, generator=self.rng)
            fake = G(noise, labels).detach()
            self.d_opt.zero_grad()
            d_loss = d_loss_fn(D(real, labels), D(fake, labels))
            d_loss.backward()
            self.d_opt.step()
            if spec.clip_value is not None:
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-spec.clip_value, spec.clip_value)
        noise = torch.randn(batch, spec.latent_dim, generator=self.rng)
        self.g_opt.zero_grad()
        g_loss = g_loss_fn(D(G(noise, labels), labels))
        g_loss.backward()
        self.g_opt.step()
        return d_loss.detach(), g_loss.detach()

    def as_tensor(self, array):
        return self.torch.from_numpy(array)

    def parameters(self):
        return int(sum(p.numel() for p in self.G.parameters()) + sum(p.numel() for p in self.D.parameters()))


_TORCH_NET = None


def _TorchNet(*args, **kwargs):
    """torch is imported only on the torch backend: the module class is defined on first use."""
    global _TORCH_NET
    if _TORCH_NET is None:
        _TORCH_NET = _torch_net_class()
    return _TORCH_NET(*args, **kwargs)


def _torch_net_class():
    import torch

    class TorchNet(torch.nn.Module):
        """A network, with an optional label embedding concatenated to its (flattened) input."""

        def __init__(self, body, embedding, flatten=False):
            super().__init__()
            self.body, self.embedding, self.flatten = body, embedding, flatten

        def forward(self, x, labels=None):
            if self.flatten:
                x = x.flatten(1)
            if self.embedding is not None:
                x = torch.cat([x, self.embedding(labels)], dim=1)
            return self.body(x)

    return TorchNet


class PlainJax(PlainVariant, JaxLoop):
    """jax.numpy + jax.lax, NHWC, one jitted step; Adam / RMSprop written out as Keras computes them."""

    def __init__(self, spec, model):
        super().__init__(spec, model)
        import jax

        self.jax = jax
        key = jax.random.key(SEED)
        kg, kd, self.key = jax.random.split(key, 3)
        g_params, g_stats = self._init_generator(kg)
        d_params, d_stats = self._init_discriminator(kd)
        self.state = (g_params, g_stats, d_params, d_stats,
                      self._opt_init(g_params, self.g_settings[0]), self._opt_init(d_params, self.d_settings[0]),
                      self.key)
        self.jitted_step = jax.jit(self._step, donate_argnums=0)

    # ---------------------------------------------------------------- layers
    def _normal(self, key, shape, std=0.02):
        return std * self.jax.random.normal(key, shape)

    def _glorot(self, key, shape):
        fan_in, fan_out = math.prod(shape[:-1]), shape[-1]
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return self.jax.random.uniform(key, shape, minval=-limit, maxval=limit)

    def _dense(self, p, x):
        y = x @ p["w"]
        return y + p["b"] if "b" in p else y

    def _conv(self, p, x, stride, transpose=False):
        lax = self.jax.lax
        dims = ("NHWC", "HWIO", "NHWC")
        if transpose:
            y = lax.conv_transpose(x, p["w"], (stride, stride), "SAME", dimension_numbers=dims)
        else:
            y = lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME", dimension_numbers=dims)
        return y + p["b"] if "b" in p else y

    def _batch_norm(self, p, stats, x):
        jnp = self.jax.numpy
        axes = tuple(range(x.ndim - 1))
        mean, var = jnp.mean(x, axes), jnp.var(x, axes)
        y = (x - mean) * (p["gamma"] / jnp.sqrt(var + 1e-3)) + p["beta"]
        new = {"mean": 0.99 * stats["mean"] + 0.01 * mean, "var": 0.99 * stats["var"] + 0.01 * var}
        return y, new

    def _bn_init(self, f):
        jnp = self.jax.numpy
        return ({"gamma": jnp.ones(f), "beta": jnp.zeros(f)}, {"mean": jnp.zeros(f), "var": jnp.ones(f)})

    def _dropout(self, key, x):
        keep = 1.0 - self.dropout
        mask = self.jax.random.bernoulli(key, keep, x.shape)
        return self.jax.numpy.where(mask, x / keep, 0.0)

    # ---------------------------------------------------------------- networks
    def _init_generator(self, key):
        jnp, n, k, c = self.jax.numpy, self.width, self.kernel, self.c
        keys = list(self.jax.random.split(key, 8))
        if self.spec.architecture == "conv":
            h4, w4 = self.h // 4, self.w // 4
            params, stats = {}, {}
            params["dense"] = {"w": self._normal(keys[0], (self.spec.latent_dim, h4 * w4 * 4 * n))}
            params["bn0"], stats["bn0"] = self._bn_init(h4 * w4 * 4 * n)
            params["ct1"] = {"w": self._normal(keys[1], (k, k, 4 * n, 2 * n))}
            params["bn1"], stats["bn1"] = self._bn_init(2 * n)
            params["ct2"] = {"w": self._normal(keys[2], (k, k, 2 * n, n))}
            params["bn2"], stats["bn2"] = self._bn_init(n)
            params["out"] = {"w": self._normal(keys[3], (k, k, n, c)), "b": jnp.zeros(c)}
            return params, stats
        params, size = {}, self.spec.latent_dim + self.num_classes
        if self.num_classes:
            params["embed"] = self.jax.random.uniform(keys[7], (self.num_classes, self.num_classes), minval=-0.05, maxval=0.05)
        for i, units in enumerate((2 * n, 4 * n, 8 * n, self.h * self.w * c)):
            params[f"d{i}"] = {"w": self._glorot(keys[i], (size, units)), "b": jnp.zeros(units)}
            size = units
        return params, {}

    def _generator(self, params, stats, noise, labels):
        jax = self.jax
        jnp = jax.numpy
        if self.spec.architecture == "conv":
            n, new = self.width, {}
            x, new["bn0"] = self._batch_norm(params["bn0"], stats["bn0"], self._dense(params["dense"], noise))
            x = jax.nn.relu(x).reshape(-1, self.h // 4, self.w // 4, 4 * n)
            x, new["bn1"] = self._batch_norm(params["bn1"], stats["bn1"], self._conv(params["ct1"], x, 1, True))
            x = jax.nn.relu(x)
            x, new["bn2"] = self._batch_norm(params["bn2"], stats["bn2"], self._conv(params["ct2"], x, 2, True))
            x = jax.nn.relu(x)
            return jnp.tanh(self._conv(params["out"], x, 2, True)), new
        x = noise
        if self.num_classes:
            x = jnp.concatenate([x, params["embed"][labels]], axis=1)
        for i in range(3):
            x = jax.nn.leaky_relu(self._dense(params[f"d{i}"], x), 0.2)
        x = jnp.tanh(self._dense(params["d3"], x))
        return x.reshape(-1, self.h, self.w, self.c), stats

    def _init_discriminator(self, key):
        jnp, n, k, c = self.jax.numpy, self.width, self.kernel, self.c
        keys = list(self.jax.random.split(key, 8))
        if self.spec.architecture == "conv":
            params, stats = {}, {}
            params["c1"] = {"w": self._normal(keys[0], (k, k, c, n)), "b": jnp.zeros(n)}
            params["c2"] = {"w": self._normal(keys[1], (k, k, n, 2 * n)), "b": jnp.zeros(2 * n)}
            params["bn"], stats["bn"] = self._bn_init(2 * n)
            params["out"] = {"w": self._normal(keys[2], (2 * n * (self.h // 4) * (self.w // 4), 1)), "b": jnp.zeros(1)}
            return params, stats
        params, size = {}, self.h * self.w * c + self.num_classes
        if self.num_classes:
            params["embed"] = self.jax.random.uniform(keys[7], (self.num_classes, self.num_classes), minval=-0.05, maxval=0.05)
        for i, units in enumerate((4 * n, 2 * n, 1)):
            params[f"d{i}"] = {"w": self._glorot(keys[i], (size, units)), "b": jnp.zeros(units)}
            size = units
        return params, {}

    def _discriminator(self, params, stats, images, labels, key):
        jax = self.jax
        jnp = jax.numpy
        if self.spec.architecture == "conv":
            x = jax.nn.leaky_relu(self._conv(params["c1"], images, 2), 0.2)
            x, new_bn = self._batch_norm(params["bn"], stats["bn"], self._conv(params["c2"], x, 2))
            x = jax.nn.leaky_relu(x, 0.2).reshape(images.shape[0], -1)
            return self._dense(params["out"], x), {"bn": new_bn}
        x = images.reshape(images.shape[0], -1)
        if self.num_classes:
            x = jnp.concatenate([x, params["embed"][labels]], axis=1)
        keys = jax.random.split(key, 2)
        for i in range(2):
            x = jax.nn.leaky_relu(self._dense(params[f"d{i}"], x), 0.2)
            if self.dropout:
                x = self._dropout(keys[i], x)
        return self._dense(params["d2"], x), stats

    # ---------------------------------------------------------------- losses and optimizers
    def _losses(self):
        jax = self.jax
        jnp = jax.numpy
        kind = self.spec.loss_kind
        if kind == "bce":  # -log sigmoid(r) - log(1 - sigmoid(f))
            return (lambda r, f: jnp.mean(jax.nn.softplus(-r)) + jnp.mean(jax.nn.softplus(f)),
                    lambda f: jnp.mean(jax.nn.softplus(-f)))
        if kind == "least_squares":
            return (lambda r, f: 0.5 * jnp.mean((r - 1) ** 2) + 0.5 * jnp.mean(f**2),
                    lambda f: 0.5 * jnp.mean((f - 1) ** 2))
        return (lambda r, f: jnp.mean(f) - jnp.mean(r), lambda f: -jnp.mean(f))

    def _opt_init(self, params, kind):
        jax = self.jax
        zeros = jax.tree.map(jax.numpy.zeros_like, params)
        if kind == "adam":
            return {"t": jax.numpy.zeros((), "float32"), "m": zeros, "v": jax.tree.map(jax.numpy.zeros_like, params)}
        return {"v": zeros}

    def _opt_update(self, params, grads, state, settings):
        jax = self.jax
        jnp = jax.numpy
        kind, s = settings
        if kind == "adam":
            b1, b2, eps, lr = s["beta_1"], s["beta_2"], s["epsilon"], s["lr"]
            t = state["t"] + 1
            m = jax.tree.map(lambda m, g: m + (g - m) * (1 - b1), state["m"], grads)
            v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - b2), state["v"], grads)
            alpha = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
            params = jax.tree.map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + eps), params, m, v)
            return params, {"t": t, "m": m, "v": v}
        rho, eps, lr = s["rho"], s["epsilon"], s["lr"]
        v = jax.tree.map(lambda v, g: rho * v + (1 - rho) * g * g, state["v"], grads)
        params = jax.tree.map(lambda p, g, v: p - lr * g / (jnp.sqrt(v) + eps), params, grads, v)
        return params, {"v": v}

    # ---------------------------------------------------------------- step
    def _step(self, state, real, labels):
        jax, spec = self.jax, self.spec
        jnp = jax.numpy
        g_params, g_stats, d_params, d_stats, g_opt, d_opt, key = state
        d_loss_fn, g_loss_fn = self._losses()
        batch = real.shape[0]

        def d_objective(d_params, d_stats, fake, key):
            k1, k2 = jax.random.split(key)
            real_logits, d_stats = self._discriminator(d_params, d_stats, real, labels, k1)
            fake_logits, d_stats = self._discriminator(d_params, d_stats, fake, labels, k2)
            return d_loss_fn(real_logits, fake_logits), d_stats

        def g_objective(g_params, g_stats, d_stats, noise, key):
            fake, g_stats = self._generator(g_params, g_stats, noise, labels)
            logits, d_stats = self._discriminator(d_params, d_stats, fake, labels, key)
            return g_loss_fn(logits), (g_stats, d_stats)

        for _ in range(spec.d_steps):
            key, k_noise, k_drop = jax.random.split(key, 3)
            noise = jax.random.normal(k_noise, (batch, spec.latent_dim))
            fake, g_stats = self._generator(g_params, g_stats, noise, labels)
            (d_loss, d_stats), grads = jax.value_and_grad(d_objective, has_aux=True)(d_params, d_stats, fake, k_drop)
            d_params, d_opt = self._opt_update(d_params, grads, d_opt, self.d_settings)
            if spec.clip_value is not None:
                d_params = jax.tree.map(lambda p: jnp.clip(p, -spec.clip_value, spec.clip_value), d_params)
        key, k_noise, k_drop = jax.random.split(key, 3)
        noise = jax.random.normal(k_noise, (batch, spec.latent_dim))
        (g_loss, (g_stats, d_stats)), grads = jax.value_and_grad(g_objective, has_aux=True)(
            g_params, g_stats, d_stats, noise, k_drop)
        g_params, g_opt = self._opt_update(g_params, grads, g_opt, self.g_settings)
        return (g_params, g_stats, d_params, d_stats, g_opt, d_opt, key), (d_loss, g_loss)

    def parameters(self):
        jax = self.jax
        g_params, _, d_params, _, _, _, _ = self.state
        return int(sum(p.size for p in jax.tree.leaves(g_params)) + sum(p.size for p in jax.tree.leaves(d_params)))


NATIVE = {"tensorflow": NativeTensorFlow, "torch": NativeTorch, "jax": NativeJax}
PLAIN = {"torch": PlainTorch, "jax": PlainJax}


# ============================================================================ measuring
def batches_for(x, y, start, count):
    """`count` images (and labels) from the pool, from `start`, wrapping around."""
    import numpy as np

    idx = np.arange(start, start + count) % len(x)
    return np.ascontiguousarray(x[idx]), (None if y is None else np.ascontiguousarray(y[idx]))


def timed(variant, x, y):
    """(wall seconds, process CPU seconds) of one `train` call on prepared data."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    variant.train(x, y)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def calibrated_steps(variants, x, y, batch_size, probe_steps=2):
    """Steps per repetition so that the fastest (compiled) variant runs about REPETITION_SECONDS."""
    fastest = min(timed(v, *v.prepare(*batches_for(x, y, 0, probe_steps * batch_size)))[0] / probe_steps
                  for v in variants)
    return max(MIN_STEPS, min(MAX_STEPS, math.ceil(REPETITION_SECONDS / max(fastest, 1e-6))))


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


def measure(args, log=print):
    import keras
    import numpy as np

    import kzoo

    keras.utils.set_random_seed(SEED)
    fresh_model = model_factory(args.model, args.hyperparameters)
    models = {"kzoo": fresh_model()}
    if args.kzoo_jit_compile != "auto":
        models["kzoo"].compile(jit_compile=args.kzoo_jit_compile == "true")
    spec = Spec(models["kzoo"], args.batch_size)

    # Data: mnist-5k when the model takes 28x28x1 images, else random images of its shape.
    x, y = kzoo.data.load("mnist-5k")
    if tuple(x.shape[1:]) != spec.image_shape:
        rng = np.random.default_rng(SEED)
        x = rng.uniform(-1, 1, (5000, *spec.image_shape)).astype("float32")
        y = rng.integers(0, int(spec.hyperparameters.get("num_classes", 10)), 5000).astype("int32")
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order].astype("int32")

    variants, skipped = [], {}
    for name in args.variants:
        try:
            if name == "kzoo":
                variants.append(KzooVariant(spec, models["kzoo"]))
            elif name == "native":
                variants.append(NATIVE[args.backend](spec, fresh_model()))
            elif name == "plain":
                if args.backend not in PLAIN:
                    raise Skip(f"no plain variant on {args.backend} (the brief skips it)")
                variants.append(PLAIN[args.backend](spec, models["kzoo"]))
        except Skip as reason:
            skipped[name] = str(reason)
            log(f"# {name}: skipped: {reason}")

    warmup_s, wall, cpu = {}, {v.name: [] for v in variants}, {v.name: [] for v in variants}
    for v in variants:
        wx, wy = v.prepare(*batches_for(x, y, 0, args.warmup * args.batch_size))
        seconds, _ = timed(v, wx, wy)
        warmup_s[v.name] = round(seconds, 2)
        log(f"# {v.name}: warm-up ({args.warmup} steps, compiling) {seconds:.1f} s")
    if not args.steps:
        args.steps = calibrated_steps(variants, x, y, args.batch_size)
        log(f"# {args.steps} steps per repetition (about {REPETITION_SECONDS:g} s for the fastest variant)")
    per_rep = args.steps * args.batch_size

    for r in range(args.repeats):
        rx, ry = batches_for(x, y, (args.warmup + r * args.steps) * args.batch_size, per_rep)
        for v in variants:
            vx, vy = v.prepare(rx, ry)
            seconds, cpu_seconds = timed(v, vx, vy)
            wall[v.name].append(seconds)
            cpu[v.name].append(cpu_seconds)
            log(f"# round {r + 1}/{args.repeats} {v.name:6}: {per_rep / seconds:8.1f} img/s "
                f"({seconds:.2f} s, CPU {cpu_seconds / seconds:.2f} cores)")
    return spec, models["kzoo"], variants, skipped, warmup_s, wall, cpu


def build_result(args, spec, model, variants, skipped, warmup_s, wall, cpu, sgemm, load_before):
    import flops as flops_module

    count = flops_module.train_step_flops(model, args.batch_size)
    per_rep = args.steps * args.batch_size
    result = {
        "backend": args.backend,
        "model": args.model,
        "batch_size": args.batch_size,
        "width": spec.hyperparameters.get("width"),
        "d_steps": spec.d_steps,
        "steps": args.steps,
        "repeats": args.repeats,
        "warmup_steps": args.warmup,
        "hyperparameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in args.hyperparameters.items()},
        "kzoo_jit_compile": bool(model.jit_compile),
    }
    img_s = {name: [per_rep / s for s in seconds] for name, seconds in wall.items()}
    for name in ("kzoo", "native", "plain"):
        if name in img_s:
            stats = _common.summary(img_s[name])
            result[f"{name}_img_s"] = stats["median"]
            result[f"{name}_img_s_min"] = stats["min"]
            result[f"{name}_img_s_max"] = stats["max"]
    if "kzoo" in img_s and "native" in img_s:
        result["ratio"] = round(result["kzoo_img_s"] / result["native_img_s"], 3)
    if "kzoo" in img_s and "plain" in img_s:
        result["plain_ratio"] = round(result["kzoo_img_s"] / result["plain_img_s"], 3)
    # Ratios within each round (same moment, same load): steadier than ratios of medians.
    for other, key in (("native", "ratio_paired"), ("plain", "plain_ratio_paired")):
        if "kzoo" in img_s and other in img_s:
            result[key] = round(statistics.median(k / o for k, o in zip(img_s["kzoo"], img_s[other])), 3)
    result["img_s_per_repeat"] = {k: [round(v, 2) for v in vals] for k, vals in img_s.items()}
    result["cpu_cores_used"] = {  # process CPU time / wall time: < number of cores when others run
        k: round(statistics.median(c / w for c, w in zip(cpu[k], wall[k])), 2) for k in wall}
    result["warmup_s"] = warmup_s
    kzoo_variant = next((v for v in variants if v.name == "kzoo"), None)
    if kzoo_variant is not None:
        # The measured repetitions only (not the warm-up and calibration calls). kzoo_img_s
        # includes fit()'s per-call set-up and tear-down; the window leaves them out.
        result["kzoo_fit_overhead_s"] = _common.summary(kzoo_variant.overhead_s[-args.repeats:], 3)
        result["kzoo_window_img_s"] = _common.summary([per_rep / w for w in kzoo_variant.window_s[-args.repeats:]])
    result["skipped"] = skipped
    result["parameters"] = {v.name: v.parameters() for v in variants}
    result["flops_per_step"] = count["step"]
    result["flops_per_image"] = count["per_image"]
    result["sgemm_gflops"] = sgemm
    peak = sgemm["best"] * 1e9
    result["fraction_of_sgemm"] = {
        k: float(f"{result[f'{k}_img_s'] * count['per_image'] / peak:.4g}") for k in img_s}
    result["machine"] = _common.cpu_model()
    result["load_average_1min"] = {"before": load_before, "after": _common.load_average()}
    result["threads"] = {"requested": args.threads, **_framework_threads(args.backend)}
    result["versions"] = _common.versions(args.backend)
    if args.backend == "torch":  # KZOO_TORCH_FAST_PATHS: which of kzoo's torch fast paths ran
        from kzoo.backend import torch as torch_backend

        result["torch_fast_paths"] = sorted(torch_backend.FAST_PATHS)
    result["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    result["command"] = " ".join(["python", "benchmarks/throughput.py", *sys.argv[1:]])
    return result


def _framework_threads(backend):
    if backend == "torch":
        import torch

        return {"torch_intra_op": torch.get_num_threads()}
    if backend == "tensorflow":
        import tensorflow as tf

        return {"tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    return {}


def print_table(result):
    print(f"{result['model']} on {result['backend']}, batch {result['batch_size']}, width {result['width']}, "
          f"d_steps {result['d_steps']}: {result['repeats']} x {result['steps']} steps per variant")
    print(f"{'variant':8} {'img/s median':>12} {'min':>8} {'max':>8} {'% SGEMM':>8} {'params':>10}")
    for name in ("kzoo", "native", "plain"):
        if f"{name}_img_s" in result:
            print(f"{name:8} {result[f'{name}_img_s']:12.1f} {result[f'{name}_img_s_min']:8.1f} "
                  f"{result[f'{name}_img_s_max']:8.1f} {100 * result['fraction_of_sgemm'][name]:7.1f}% "
                  f"{result['parameters'][name]:>10}")
    for name, reason in result["skipped"].items():
        print(f"{name:8} skipped: {reason}")
    for key in ("ratio", "ratio_paired", "plain_ratio", "plain_ratio_paired"):
        if key in result:
            print(f"{key} = {result[key]}")
    print(f"{result['flops_per_step'] / 1e9:.2f} GFLOP per step; numpy SGEMM best {result['sgemm_gflops']['best']} "
          f"GFLOP/s; load average {result['load_average_1min']}; CPU {result['machine']}")


def main(argv=None):
    args = parse_args(argv)
    load_before = _common.load_average()
    _common.limit_threads(args.threads)
    sgemm = _common.sgemm_gflops()  # before any framework starts its thread pools
    _common.select_backend(args.backend)
    import keras  # noqa: F401  (now, with the backend selected)

    _common.apply_framework_threads(args.backend, args.threads)
    import logging

    logging.getLogger("kzoo.registry").setLevel(logging.ERROR)  # broken third-party plugins
    log = (lambda message: print(message, file=sys.stderr, flush=True))
    measured = measure(args, log=log)
    result = build_result(args, *measured, sgemm=sgemm, load_before=load_before)
    params = set(result["parameters"].values())
    if len(params) > 1:
        log(f"# warning: the variants' trainable parameter counts differ: {result['parameters']}")
    if args.out:
        _common.save_json(result, args.out)
    if args.json:
        _common.print_json(result)
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
