"""A model saved on one backend reloads on the others: same images, same optimizer state.

Each backend runs in its own interpreter (Keras picks its backend once per process).
Needs all three backends: the tox `portability` environment.
"""

import json

import numpy as np
import pytest
from conftest import run_python

pytestmark = pytest.mark.portability

TRAIN_ON_JAX = """
import json, numpy as np, keras, kzoo
keras.utils.set_random_seed(0)
model = kzoo.create_model("dcgan", width=4, seed=11)
x, _ = kzoo.data.load("mnist-5k")
x = x[np.random.default_rng(0).permutation(len(x))[:32]]
model.fit(x, batch_size=8, epochs=1, verbose=0)
model.save({path!r})
noise = np.random.default_rng(1).standard_normal((6, model.latent_dim)).astype("float32")
np.savez({out!r}, noise=noise, images=model.generate(noise),
         optimizer=np.concatenate([np.ravel(v.numpy()) for v in model.optimizer.variables]),
         seed=np.asarray(model.seed_generator.state.numpy()))
"""

RELOAD = """
import json, numpy as np, kzoo, keras
ref = np.load({ref!r})
model = kzoo.load_model({path!r})
images = model.generate(ref["noise"])
optimizer = np.concatenate([np.ravel(v.numpy()) for v in model.optimizer.variables])
seed = np.asarray(model.seed_generator.state.numpy())
x, _ = kzoo.data.load("mnist-5k")
history = model.fit(x[:8], batch_size=8, epochs=1, verbose=0)
print(json.dumps({{
    "backend": keras.backend.backend(),
    "image_diff": float(np.abs(images - ref["images"]).max()),
    "optimizer_diff": float(np.abs(optimizer - ref["optimizer"]).max()),
    "seed_equal": bool(np.array_equal(seed, ref["seed"])),
    "d_iterations": int(model.d_optimizer.iterations.numpy()),
    "g_iterations": int(model.g_optimizer.iterations.numpy()),
    "g_loss": float(history.history["g_loss"][0]),
}}))
"""


@pytest.fixture(scope="module")
def saved_on_jax(tmp_path_factory):
    folder = tmp_path_factory.mktemp("portable")
    path, out = str(folder / "dcgan.keras"), str(folder / "reference.npz")
    run_python(TRAIN_ON_JAX.format(path=path, out=out), "jax")
    return path, out


@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_model_saved_on_jax_reloads_and_resumes(backend, saved_on_jax):
    path, ref = saved_on_jax
    result = json.loads(run_python(RELOAD.format(path=path, ref=ref), backend).strip().splitlines()[-1])
    assert result["backend"] == backend
    assert result["image_diff"] < 1e-3, result
    assert result["optimizer_diff"] < 1e-6, result
    assert result["seed_equal"], "the noise seed must resume, not restart"
    # 4 steps were taken on JAX; one more here continues the count instead of restarting it.
    assert result["d_iterations"] == 5 and result["g_iterations"] == 5, result
    assert np.isfinite(result["g_loss"])


def test_cli_run_trained_on_jax_samples_alike_on_every_backend(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    run = tmp_path / "run"

    def kzoo(*args):
        result = subprocess.run([sys.executable, "-m", "kzoo", *map(str, args)], capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]

    kzoo("train", "cgan", "--backend", "jax", "--set", "width=4", "--epochs", 1, "--steps-per-epoch", 2,
         "--batch-size", 8, "--out", run)
    grids = {}
    for backend in ("jax", "tensorflow", "torch"):
        out = tmp_path / f"{backend}.png"
        kzoo("sample", run, "--backend", backend, "--seed", 4, "--num", 20, "--out", out)
        with Image.open(out) as image:
            grids[backend] = np.asarray(image, dtype=np.int16)
    for backend in ("tensorflow", "torch"):
        # 8-bit pixels of the same generator and noise: at most one level of rounding apart.
        assert np.abs(grids[backend] - grids["jax"]).max() <= 1, backend
