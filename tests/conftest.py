import os
import sys

import numpy as np
import pytest

# Tiny networks and few steps keep the suite fast: the size of every model, built-in and from the
# example plugins (tests/test_training.py checks that no installed model is missing).
# A small RMSprop rate on a clipped tiny critic moves some weights by less than float32 resolves
# (the paper's 5e-5: 1.0 + 5e-8 == 1.0), so tiny WGANs train at 1e-3 (kzoo's default is 2e-4).
# CycleGAN's image pool is smaller than two batches of 8, so a two-step run fills it and swaps.
TINY = {
    "gan": {"width": 4},
    "cgan": {"width": 4},
    "dcgan": {"width": 2},
    "wgan": {"width": 2, "learning_rate": 1e-3},
    "lsgan": {"width": 2},
    "wgan-gp": {"width": 2},
    "infogan": {"width": 2},
    "acgan": {"width": 2},
    "sngan": {"width": 2},
    "ragan": {"width": 2},
    "vae": {"width": 4, "latent_dim": 4},
    "aae": {"width": 4, "latent_dim": 4},
    "context-encoder": {"width": 2},
    "pix2pix": {"width": 2},
    "cyclegan": {"width": 2, "residual_blocks": 1, "pool_size": 6},
    "hinge-dcgan": {"width": 2},  # plugins/kzoo-hinge-gan
    "dragan": {"width": 2},  # plugins/kzoo-dragan
    "multiscale-dcgan": {"width": 2},  # plugins/kzoo-multiscale-gan
}
# The GANs shipped with kzoo: AdversarialModel subclasses, one generator and one discriminator.
BUILTIN_GANS = ("gan", "cgan", "dcgan", "wgan", "lsgan", "wgan-gp", "infogan", "acgan", "sngan", "ragan")


# `kzoo train`'s options for a run of two steps of batch 8 (and a small grid).
TINY_TRAIN = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--samples", "4"]


def tiny_settings(name):
    """`kzoo train`'s `--set` arguments for TINY[name]: ["--set", "width=2", ...]."""
    return [arg for key, value in TINY[name].items() for arg in ("--set", f"{key}={value!r}")]


def backend_name():
    import keras

    return keras.backend.backend()


def kzoo_cli(*args):
    """Run the kzoo command line in-process; return (exit code, output)."""
    from click.testing import CliRunner

    from kzoo.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def assert_one_line_error(code, output, *fragments):
    """A non-zero exit whose last line is one "Error: ..." line holding every fragment, no traceback."""
    assert code != 0, output
    assert "Traceback" not in output, output
    last = [line for line in output.strip().splitlines() if line.strip()][-1]
    assert last.startswith("Error: "), output
    for fragment in fragments:
        assert fragment in last, output


def softplus(x):
    """log(1 + e^x), computed stably: the binary cross-entropy of a logit x against a target of 0."""
    return np.logaddexp(0.0, x)


class FirstStep:
    """The logits of a GAN's first training step, computed outside the step.

    A step of `AdversarialModel` with `d_steps=1` draws the discriminator's noise, then the
    generator's, from the model's seed generator. Both are drawn here from the same state, which
    is then put back, so that `fit` draws them again. The networks are called directly, in
    training mode as in the step (each batch normalized by its own statistics). Create it just
    before the step; read `generator_logits()` just after it: the generator's loss is taken after
    the discriminator's update, on the fakes of the generator as it was before its own.

    Args:
        model: an `AdversarialModel` whose latents are noise only and whose discriminator sees
            the images as they are (no augmentation, instance noise or packing).
        real: the batch the step trains on.
        labels: its integer labels, for a conditional model.
    """

    def __init__(self, model, real, labels=None):
        self.model, self.labels = model, None if labels is None else np.asarray(labels, "int32")
        state = np.array(model.seed_generator.state.numpy(), copy=True)
        d_noise, g_noise = model.sample_noise(len(real)), model.sample_noise(len(real))
        model.seed_generator.state.assign(state)
        self.real_logits = self.logits(real)
        self.fake_logits = self.logits(self._generate(d_noise))
        self._generator_fakes = self._generate(g_noise)

    def _with_labels(self, inputs):
        from keras import ops

        return inputs if self.labels is None else [ops.convert_to_tensor(inputs), ops.convert_to_tensor(self.labels)]

    def _generate(self, noise):
        return self.model.generator(self._with_labels(noise), training=True)

    def logits(self, images):
        """The discriminator's logits for `images` (and the labels), as numpy."""
        from keras import ops

        return np.asarray(ops.convert_to_numpy(self.model.discriminator(self._with_labels(images), training=True)))

    def generator_logits(self):
        """The discriminator's logits now for the fakes the generator's update was scored on."""
        return self.logits(self._generator_fakes)


@pytest.fixture
def tiny_mnist():
    """32 real digits (from the embedded dataset), shuffled, with labels."""
    from kzoo import data

    x, y = data.load("mnist-5k")
    idx = np.random.default_rng(0).permutation(len(x))[:32]
    return x[idx], y[idx]


def run_python(code, backend, timeout=300, cwd=None, env=None):
    """Run `code` in a fresh interpreter on `backend`; return its stdout (raise on failure).

    `env` overrides environment variables; a value of None removes one.
    """
    import subprocess

    overrides = dict(env or {})
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env.update({k: v for k, v in overrides.items() if v is not None})
    for key in [k for k, v in overrides.items() if v is None]:
        env.pop(key, None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    if result.returncode != 0:
        raise AssertionError(f"{backend} subprocess failed:\n{result.stderr[-3000:]}")
    return result.stdout


def kzoo_process(*args, env=None, timeout=600):
    """Run the kzoo command in a fresh interpreter; return the finished process (exit code, output)."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "kzoo", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def run_kzoo(*args, env=None, timeout=600):
    """Run the kzoo command in a fresh interpreter; return its stdout (raise on a non-zero exit)."""
    result = kzoo_process(*args, env=env, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"kzoo {' '.join(map(str, args))} failed:\n{result.stderr[-3000:]}")
    return result.stdout


# ------------------------------------------------------------- one backend trains, the others reload
_SAVE_TRAINED = """
import json as _json, os as _os
import keras as _keras
assert _keras.backend.backend() == {backend!r}
for _name, _model in models.items():
    _model.save(_os.path.join({folder!r}, f"{{_name}}.keras"))
    np.savez(_os.path.join({folder!r}, f"{{_name}}-trained.npz"), **outputs(_model))
print(_json.dumps(list(models)))
"""

_RELOAD_SAVED = """
import os as _os
import keras as _keras
import kzoo as _kzoo
assert _keras.backend.backend() == {backend!r}
for _name in {names!r}:
    _model = _kzoo.load_model(_os.path.join({folder!r}, f"{{_name}}.keras"))
    np.savez(_os.path.join({folder!r}, f"{{_name}}-{backend}.npz"), **outputs(_model))
"""


class Reloaded:
    """What `outputs(model)` gave for each model: after training, and after reloading on each backend."""

    def __init__(self, trained, reloaded):
        self.trained = trained  # {model name: {output name: array}}
        self.reloaded = reloaded  # {backend: {model name: {output name: array}}}

    def difference(self, backend, name, output):
        """The largest absolute difference of one output between the trained model and its reload."""
        reference = np.asarray(self.trained[name][output], dtype="float64")
        return float(np.abs(np.asarray(self.reloaded[backend][name][output], dtype="float64") - reference).max())


def train_save_reload(folder, train, outputs, train_on="jax", reload_on=("tensorflow", "torch"), env=None,
                      timeout=600):
    """Train and save models on one backend, reload them on others, and run the same code on each.

    Every backend runs in a fresh interpreter (Keras picks its backend once per process): one
    trains and saves, then one per backend in `reload_on` loads every saved model. `train_on` may
    be among them: its reload runs in an interpreter of its own too.

    Args:
        folder: an empty directory for the saved models and their outputs (a test's tmp_path).
        train: Python source, run on `train_on` after `import numpy as np`; it leaves `models`,
            a dict of name -> trained model.
        outputs: Python source defining `outputs(model)`, which returns a dict of name -> array
            (the images for a fixed numpy noise, say). It runs on `train_on` after each model is
            saved, and on each backend of `reload_on` after that model is reloaded.
        train_on: the backend that trains.
        reload_on: the backends that reload.
        env: environment overrides for every interpreter (None removes a variable), as `run_python`.
        timeout: seconds each interpreter may run.

    Returns:
        A `Reloaded`: `trained[name][output]`, `reloaded[backend][name][output]` and
        `difference(backend, name, output)`.
    """
    import json
    import textwrap

    folder = str(folder)
    train, outputs = textwrap.dedent(train), textwrap.dedent(outputs)

    def run(code, backend):
        return run_python(f"import numpy as np\n{outputs}\n{code}", backend, timeout=timeout, env=env)

    out = run(train + _SAVE_TRAINED.format(backend=train_on, folder=folder), train_on)
    names = json.loads(out.strip().splitlines()[-1])
    for backend in reload_on:
        run(_RELOAD_SAVED.format(backend=backend, folder=folder, names=names), backend)

    def load(suffix):
        return {name: dict(np.load(os.path.join(folder, f"{name}-{suffix}.npz"))) for name in names}

    return Reloaded(load("trained"), {backend: load(backend) for backend in reload_on})
