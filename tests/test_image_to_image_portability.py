"""Image-to-image runs trained on JAX, used on torch and TensorFlow: the same translations.

Each backend runs in its own interpreter. Needs all three backends: the tox `portability` environment.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_python
from PIL import Image

pytestmark = pytest.mark.portability

TRAIN_CYCLEGAN_ON_JAX = """
import numpy as np, keras, kzoo
from kzoo import tasks
keras.utils.set_random_seed(0)
model = kzoo.create_model("cyclegan", width=4, residual_blocks=1, pool_size=6, seed=5)
a, b = type(model).load_training_data("mnist-5k:thick")
model.fit(a[:16], b[:16], batch_size=8, epochs=1, verbose=0)
model.save({path!r})
pairs = tasks.load_pairs("mnist-5k:thick", split="heldout")
np.savez({out!r}, a=pairs.a[:6], b=pairs.b[:6], a2b=model.translate(pairs.a[:6], "a2b"),
         b2a=model.translate(pairs.b[:6], "b2a"))
"""

TRANSLATE = """
import json, numpy as np, keras, kzoo
ref = np.load({ref!r})
model = kzoo.load_model({path!r})
print(json.dumps({{
    "backend": keras.backend.backend(),
    "a2b": float(np.abs(model.translate(ref["a"], "a2b") - ref["a2b"]).max()),
    "b2a": float(np.abs(model.translate(ref["b"], "b2a") - ref["b2a"]).max()),
    "pool": int(model.pool_a.count.numpy()),
}}))
"""


@pytest.fixture(scope="module")
def cyclegan_on_jax(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cyclegan")
    path, out = str(folder / "cyclegan.keras"), str(folder / "reference.npz")
    run_python(TRAIN_CYCLEGAN_ON_JAX.format(path=path, out=out), "jax")
    return path, out


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_cyclegan_trained_on_jax_translates_alike_elsewhere(backend, cyclegan_on_jax):
    path, ref = cyclegan_on_jax
    result = json.loads(run_python(TRANSLATE.format(path=path, ref=ref), backend).strip().splitlines()[-1])
    assert result["backend"] == backend
    assert result["a2b"] < 1e-3 and result["b2a"] < 1e-3, result
    assert result["pool"] == 6  # the image pool came along


def test_kzoo_translate_a_folder_of_pngs_on_other_backends(tmp_path):
    def kzoo(*args):
        result = subprocess.run([sys.executable, "-m", "kzoo", *map(str, args)], capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    run = tmp_path / "run"
    kzoo("train", "pix2pix", "--backend", "jax", "--dataset", "mnist-5k:edges", "--set", "width=2", "--epochs", 1,
         "--steps-per-epoch", 2, "--batch-size", 8, "--samples", 6, "--out", run)
    digits = tmp_path / "digits"
    digits.mkdir()
    from kzoo import tasks

    pairs = tasks.load_pairs(tasks.EDGES, split="heldout")
    for i in range(4):
        Image.fromarray(((pairs.a[i * 250, :, :, 0] + 1) * 127.5).round().astype("uint8")).save(digits / f"{i}.png")
    outputs = {}
    for backend in ("jax", "torch", "tensorflow"):
        out = tmp_path / backend
        kzoo("translate", run, digits, "--backend", backend, "--out", out)
        outputs[backend] = np.load(out / "translations.npz")["outputs"]
        assert sorted(p.name for p in out.glob("*.png")) == ["0.png", "1.png", "2.png", "3.png", "grid.png"]
    for backend in ("torch", "tensorflow"):
        assert np.abs(outputs[backend] - outputs["jax"]).max() < 1e-3, backend
