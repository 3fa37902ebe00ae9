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


# Each family of the players issue, averaged generator weights included: trained and saved on
# JAX in one process, reloaded on each backend in one process.
FAMILIES = {
    "wgan-gp": {"width": 2, "ema_decay": 0.9},
    "infogan": {"width": 2, "ema_decay": 0.9},
    "acgan": {"width": 2, "ema_decay": 0.0},
    "sngan": {"width": 2, "ema_decay": 0.0},
    "ragan": {"width": 2, "r1_gamma": 1.0, "ema_decay": 0.0},
}

TRAIN_FAMILIES_ON_JAX = """
import numpy as np, kzoo
x, y = kzoo.data.load("mnist-5k")
x, y = x[:16], y[:16]
for name, kwargs in {families!r}.items():
    model = kzoo.create_model(name, seed=2, **kwargs)
    model.fit(x, y if model.conditional else None, batch_size=8, epochs=1, verbose=0)
    model.save(f"{folder}/{{name}}.keras")
    labels = np.arange(6) % 10 if model.conditional else None
    np.savez(f"{folder}/{{name}}.npz", images=model.sample(6, seed=3, labels=labels),
             raw=model.sample(6, seed=3, labels=labels, raw=True))
"""

RELOAD_FAMILIES = """
import json, numpy as np, kzoo
result = {{}}
for name in {names!r}:
    model = kzoo.load_model(f"{folder}/{{name}}.keras")
    ref = np.load(f"{folder}/{{name}}.npz")
    labels = np.arange(6) % 10 if model.conditional else None
    result[name] = {{
        "images": float(np.abs(model.sample(6, seed=3, labels=labels) - ref["images"]).max()),
        "raw": float(np.abs(model.sample(6, seed=3, labels=labels, raw=True) - ref["raw"]).max()),
        "averaged": model.averaged_generator is not None,
    }}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def families_saved_on_jax(tmp_path_factory):
    folder = tmp_path_factory.mktemp("families")
    run_python(TRAIN_FAMILIES_ON_JAX.format(families=FAMILIES, folder=folder), "jax")
    return folder


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_every_new_family_reloads_with_the_same_images(backend, families_saved_on_jax):
    out = run_python(RELOAD_FAMILIES.format(names=list(FAMILIES), folder=families_saved_on_jax), backend)
    result = json.loads(out.strip().splitlines()[-1])
    for name, kwargs in FAMILIES.items():
        assert result[name]["averaged"] == (kwargs["ema_decay"] > 0), name
        assert result[name]["images"] < 1e-3 and result[name]["raw"] < 1e-3, (name, result[name])
