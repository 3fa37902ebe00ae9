"""A model saved on one backend reloads on the others: same images, same optimizer state.

Each backend runs in its own interpreter (Keras picks its backend once per process).
Needs all three backends: the tox `portability` environment.
"""

import numpy as np
import pytest
from conftest import run_kzoo, tiny_settings, train_save_reload

pytestmark = pytest.mark.portability

TRAIN_DCGAN = """
import keras, kzoo
keras.utils.set_random_seed(0)
model = kzoo.create_model("dcgan", width=4, seed=11)
x, _ = kzoo.data.load("mnist-5k")
x = x[np.random.default_rng(0).permutation(len(x))[:32]]
model.fit(x, batch_size=8, epochs=1, verbose=0)
models = {"dcgan": model}
"""

# Images for a fixed numpy noise, the optimizers' state and the noise seed as saved; then one more
# training step, which must continue the saved counts.
DCGAN_OUTPUTS = """
import keras, kzoo

def outputs(model):
    noise = np.random.default_rng(1).standard_normal((6, model.latent_dim)).astype("float32")
    saved = {
        "backend": np.array(keras.backend.backend()),
        "images": model.generate(noise),
        "optimizer": np.concatenate([np.ravel(v.numpy()) for v in model.optimizer.variables]),
        "seed": np.asarray(model.seed_generator.state.numpy()),
    }
    history = model.fit(kzoo.data.load("mnist-5k")[0][:8], batch_size=8, epochs=1, verbose=0)
    return {**saved, "g_loss": history.history["g_loss"][0],
            "iterations": [int(model.d_optimizer.iterations.numpy()), int(model.g_optimizer.iterations.numpy())]}
"""


@pytest.fixture(scope="module")
def saved_on_jax(tmp_path_factory):
    return train_save_reload(tmp_path_factory.mktemp("portable"), TRAIN_DCGAN, DCGAN_OUTPUTS,
                             reload_on=("tensorflow", "torch", "jax"))


@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_model_saved_on_jax_reloads_and_resumes(backend, saved_on_jax):
    reloaded = saved_on_jax.reloaded[backend]["dcgan"]
    assert str(reloaded["backend"]) == backend
    assert saved_on_jax.difference(backend, "dcgan", "images") < 1e-3
    assert saved_on_jax.difference(backend, "dcgan", "optimizer") < 1e-6
    assert saved_on_jax.difference(backend, "dcgan", "seed") == 0, "the noise seed must resume, not restart"
    # 4 steps were taken on JAX; one more here continues the count instead of restarting it.
    assert reloaded["iterations"].tolist() == [5, 5]
    assert np.isfinite(reloaded["g_loss"])


def test_cli_run_trained_on_jax_samples_alike_on_every_backend(tmp_path):
    from PIL import Image

    run = tmp_path / "run"
    run_kzoo("train", "cgan", "--backend", "jax", *tiny_settings("cgan"), "--epochs", 1, "--steps-per-epoch", 2,
             "--batch-size", 8, "--out", run)
    grids = {}
    for backend in ("jax", "tensorflow", "torch"):
        out = tmp_path / f"{backend}.png"
        run_kzoo("sample", run, "--backend", backend, "--seed", 4, "--num", 20, "--out", out)
        with Image.open(out) as image:
            grids[backend] = np.asarray(image, dtype=np.int16)
    for backend in ("tensorflow", "torch"):
        # 8-bit pixels of the same generator and noise: at most one level of rounding apart.
        assert np.abs(grids[backend] - grids["jax"]).max() <= 1, backend


# Each family of the players issue, averaged generator weights included: trained and saved on
# JAX in one process, reloaded on each backend in one process.
FAMILIES = {
    "wgan-gp": {"width": 2, "ema_decay": 0.9},
    "infogan": {"width": 2, "ema_decay": 0.9},
    "acgan": {"width": 2, "ema_decay": 0.0},
    "sngan": {"width": 2, "ema_decay": 0.0},
    "ragan": {"width": 2, "r1_gamma": 1.0, "ema_decay": 0.0},
}

TRAIN_FAMILIES = """
import kzoo
x, y = kzoo.data.load("mnist-5k")
x, y = x[:16], y[:16]
models = {}
for name, kwargs in %r.items():
    models[name] = kzoo.create_model(name, seed=2, **kwargs)
    models[name].fit(x, y if models[name].conditional else None, batch_size=8, epochs=1, verbose=0)
""" % (FAMILIES,)

# The averaged generator's images and the raw generator's, for the same seed (and labels).
FAMILY_OUTPUTS = """
def outputs(model):
    labels = np.arange(6) % 10 if model.conditional else None
    return {"images": model.sample(6, seed=3, labels=labels), "raw": model.sample(6, seed=3, labels=labels, raw=True),
            "averaged": model.averaged_generator is not None}
"""


@pytest.fixture(scope="module")
def families_saved_on_jax(tmp_path_factory):
    return train_save_reload(tmp_path_factory.mktemp("families"), TRAIN_FAMILIES, FAMILY_OUTPUTS)


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_every_new_family_reloads_with_the_same_images(backend, families_saved_on_jax):
    for name, kwargs in FAMILIES.items():
        assert bool(families_saved_on_jax.reloaded[backend][name]["averaged"]) == (kwargs["ema_decay"] > 0), name
        assert families_saved_on_jax.difference(backend, name, "images") < 1e-3, name
        assert families_saved_on_jax.difference(backend, name, "raw") < 1e-3, name
