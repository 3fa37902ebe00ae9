"""The kzoo-digits-v1 metrics do not depend on the Keras backend that runs the evaluator.

Needs all three backends: the tox `portability` environment. Each backend runs in its own
interpreter (KERAS_BACKEND is read once, at keras import) and prints its metrics as JSON.
"""

import json

import pytest
from conftest import run_python

pytestmark = pytest.mark.portability

BACKENDS = ("tensorflow", "torch", "jax")

SCRIPT = r"""
import json
import numpy as np
import keras
from kzoo.metrics import evaluate_images, real_floor, splits

x, y = splits.train_images()
idx = np.random.default_rng(0).choice(len(x), 500, replace=False)
clean = x[idx]
noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.5, clean.shape), -1, 1).astype("float32")
out = {
    "backend": keras.backend.backend(),
    "clean": evaluate_images(clean, y[idx]),
    "noisy": evaluate_images(noisy, batch_size=128),
    "single_class": evaluate_images(x[y == 7]),
    "floor": real_floor(1000),
}
print("RESULT" + json.dumps(out))
"""


def _run(backend):
    out = run_python(SCRIPT, backend, timeout=600)
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT")][-1]
    result = json.loads(line[len("RESULT"):])
    assert result["backend"] == backend
    return result


@pytest.fixture(scope="module")
def results():
    return {backend: _run(backend) for backend in BACKENDS}


@pytest.mark.parametrize("other", ["tensorflow", "torch"])
def test_same_metrics_on_every_backend(results, other):
    base, res = results["jax"], results[other]
    for case in ("clean", "noisy", "single_class", "floor"):
        a, b = base[case], res[case]
        assert set(a) == set(b), case
        for key, va in a.items():
            vb = b[key]
            if key == "class_counts":   # an argmax on a borderline image may flip
                assert sum(abs(i - j) for i, j in zip(va, vb)) <= 2, (case, va, vb)
            elif isinstance(va, float):
                assert vb == pytest.approx(va, rel=1e-2, abs=1e-4), (case, key, va, vb)
            else:
                assert va == vb, (case, key)
