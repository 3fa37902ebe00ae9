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

