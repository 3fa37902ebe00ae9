"""Image-to-image runs trained on JAX, used on torch and TensorFlow: the same translations.

Each backend runs in its own interpreter. Needs all three backends: the tox `portability` environment.
"""

import numpy as np
import pytest
from conftest import run_kzoo, tiny_settings, train_save_reload
from PIL import Image

pytestmark = pytest.mark.portability

TRAIN_CYCLEGAN = """
import keras, kzoo, kzoo.training
keras.utils.set_random_seed(0)
model = kzoo.create_model("cyclegan", width=4, residual_blocks=1, pool_size=6, seed=5)
a, b = kzoo.training.training_data(type(model), "mnist-5k:thick")
model.fit(a[:16], b[:16], batch_size=8, epochs=1, verbose=0)
models = {"cyclegan": model}
"""

# Both directions of six held-out pairs, and how full the image pool is.
CYCLEGAN_OUTPUTS = """
import keras
from kzoo import tasks

def outputs(model):
    pairs = tasks.load_pairs("mnist-5k:thick", split="heldout")
    return {"backend": np.array(keras.backend.backend()), "a2b": model.translate(pairs.a[:6], "a2b"),
            "b2a": model.translate(pairs.b[:6], "b2a"), "pool": int(model.pool_a.count.numpy())}
"""


@pytest.fixture(scope="module")
def cyclegan_on_jax(tmp_path_factory):
    return train_save_reload(tmp_path_factory.mktemp("cyclegan"), TRAIN_CYCLEGAN, CYCLEGAN_OUTPUTS,
                             reload_on=("torch", "tensorflow"))


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_cyclegan_trained_on_jax_translates_alike_elsewhere(backend, cyclegan_on_jax):
    assert str(cyclegan_on_jax.reloaded[backend]["cyclegan"]["backend"]) == backend
    assert cyclegan_on_jax.difference(backend, "cyclegan", "a2b") < 1e-3
    assert cyclegan_on_jax.difference(backend, "cyclegan", "b2a") < 1e-3
    assert int(cyclegan_on_jax.reloaded[backend]["cyclegan"]["pool"]) == 6  # the image pool came along


def test_kzoo_translate_a_folder_of_pngs_on_other_backends(tmp_path):
    run = tmp_path / "run"
    run_kzoo("train", "pix2pix", "--backend", "jax", "--dataset", "mnist-5k:edges", *tiny_settings("pix2pix"),
             "--epochs", 1, "--steps-per-epoch", 2, "--batch-size", 8, "--samples", 6, "--out", run)
    digits = tmp_path / "digits"
    digits.mkdir()
    from kzoo import tasks

    pairs = tasks.load_pairs(tasks.EDGES, split="heldout")
    for i in range(4):
        Image.fromarray(((pairs.a[i * 250, :, :, 0] + 1) * 127.5).round().astype("uint8")).save(digits / f"{i}.png")
    outputs = {}
    for backend in ("jax", "torch", "tensorflow"):
        out = tmp_path / backend
        run_kzoo("translate", run, digits, "--backend", backend, "--out", out)
        outputs[backend] = np.load(out / "translations.npz")["outputs"]
        assert sorted(p.name for p in out.glob("*.png")) == ["0.png", "1.png", "2.png", "3.png", "grid.png"]
    for backend in ("torch", "tensorflow"):
        assert np.abs(outputs[backend] - outputs["jax"]).max() < 1e-3, backend
