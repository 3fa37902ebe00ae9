"""benchmarks/quality.py at a tiny size, and the Keras-guide anchor model's layer shapes.

The smoke test runs the real script (one subprocess per model, like the full run) on each
backend with tiny networks, a few steps and 200 scored images; it checks the files and that
every metric is finite. Nothing here is timed. Marked `benchmarks`: the tox `benchmarks`
environment has all three backends; the in-process tests run on $KERAS_BACKEND (jax there).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmarks

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
SCRIPT = BENCHMARKS / "quality.py"


# One run per backend, --backends set to it alone (with TensorFlow among several, backends_of
# trains the Keras-guide anchor on TensorFlow only): cgan and the anchor train on every backend.
@pytest.mark.parametrize("backend", ["jax", "torch", "tensorflow"])
def test_quality_benchmark_smoke(tmp_path, backend):
    out = tmp_path / "quality"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, str(SCRIPT), "--backends", backend, "--models", "cgan,keras-guide",
           "--steps", "2", "--num", "200", "--width-scale", "0.05",
           "--seed", "3", "--out", str(out)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    floor = json.loads((out / "floor.json").read_text())
    assert floor["num"] == 200 and floor["evaluator"] == "kzoo-digits-v1"
    for model in ("cgan", "keras-guide"):
        record = json.loads((out / f"{model}_{backend}.json").read_text())
        assert record["backend"] == backend and record["model"] == model
        assert record["dataset"] == "mnist-5k:train" and record["train_images"] == 4000
        assert record["steps_done"] == 2 and record["steps"] == 2 and record["batch_size"] == 64
        assert record["error"] is None
        assert record["jit_compile"] in (True, False) and len(record["code"]["sources_sha256"]) == 16
        assert record["hyperparameters"]["width"] <= 6  # scaled down
        assert record["train_seconds"] > 0
        metrics = record["metrics"]
        assert metrics["n"] == 200
        for key in ("fd", "kid", "classifier_score", "class_kl", "precision", "recall"):
            assert math.isfinite(metrics[key]), (model, key, metrics[key])
        assert 0 <= metrics["coverage"] <= 10
        assert ("label_accuracy" in metrics) == (model == "cgan")
        png = out / f"{model}_{backend}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    table = (out / "table.md").read_text()
    assert "real train images (floor)" in table
    assert f"| cgan | {backend} | 2 |" in table and f"| keras-guide | {backend} | 2 |" in table
    assert "FID" not in table.replace("not FID", "")
    assert "real train images (floor)" in result.stdout  # the table is printed too

    # --table-only rebuilds the same table from the JSON files.
    again = subprocess.run([sys.executable, str(SCRIPT), "--table-only", "--out", str(out)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"| keras-guide | {backend} | 2 |" in (out / "table.md").read_text()


def test_table_flags_rows_trained_by_different_code(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import quality

    metrics = {"fd": 12.345, "kid": 0.01234, "classifier_score": 8.0, "coverage": 9, "class_kl": 0.1,
               "precision": 0.7, "recall": 0.6, "class_counts": [100] * 9 + [0]}
    base = {"benchmark": "quality", "backend": "jax", "steps": 2000, "steps_done": 2000,
            "batch_size": 64, "seed": 0, "width_scale": 1.0, "train_seconds": 130.0, "error": None,
            "load_average": {"before": 1.0, "after_training": 2.0, "after": 2.0},
            "machine": {"cpu": "test cpu", "cpus": 2}}
    records = [
        {**base, "model": "dcgan", "metrics": metrics, "code": {"sources_sha256": "a" * 16}},
        {**base, "model": "cgan", "metrics": {**metrics, "label_accuracy": 0.5}, "code": {"sources_sha256": "b" * 16}},
    ]
    floor = {"num": 1000, "evaluator": "kzoo-digits-v1", "metrics": {**metrics, "fd": 0.2, "coverage": 10}}
    args = quality.parse_args(["--out", str(tmp_path)])
    text = quality.write_table(args, records, floor, total_seconds=600)
    assert "| dcgan | jax | 2000 | 2.2 min | 12.35 | 0.0123 | 8.00 | 9/10 |" in text
    assert "| 0.50 |" in text  # cgan's label accuracy
    assert "whole command 10.0 min" in text
    assert "dcgan on jax (9/10" in text
    assert "WARNING" in text and "different versions" in text
    records[1]["code"] = records[0]["code"]
    assert "WARNING" not in quality.write_table(args, records, floor)


def test_quality_benchmark_rejects_unknown_model():
    result = subprocess.run([sys.executable, str(SCRIPT), "--models", "gan,nope"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "unknown model 'nope'" in result.stderr


@pytest.fixture
def keras_guide_gan(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import keras_guide_gan

    return keras_guide_gan


def _layer_summary(model):
    import keras

    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.output.shape)
        kernel = getattr(layer, "kernel_size", None)
        strides = getattr(layer, "strides", None)
        rows.append((type(layer).__name__, shape[1:], kernel, strides))
    return rows


def test_keras_guide_gan_has_the_guides_layers(keras_guide_gan):
    model = keras_guide_gan.KerasGuideGAN(seed=0)
    model.compile()
    assert model.latent_dim == 128 and model.width == 64 and model.image_shape == (28, 28, 1)

    assert _layer_summary(model.discriminator) == [
        ("Conv2D", (14, 14, 64), (3, 3), (2, 2)),
        ("LeakyReLU", (14, 14, 64), None, None),
        ("Conv2D", (7, 7, 128), (3, 3), (2, 2)),
        ("LeakyReLU", (7, 7, 128), None, None),
        ("GlobalMaxPooling2D", (128,), None, None),
        ("Dense", (1,), None, None),
    ]
    assert _layer_summary(model.generator) == [
        ("Dense", (7 * 7 * 128,), None, None),
        ("LeakyReLU", (7 * 7 * 128,), None, None),
        ("Reshape", (7, 7, 128), None, None),
        ("Conv2DTranspose", (14, 14, 128), (4, 4), (2, 2)),
        ("LeakyReLU", (14, 14, 128), None, None),
        ("Conv2DTranspose", (28, 28, 128), (4, 4), (2, 2)),
        ("LeakyReLU", (28, 28, 128), None, None),
        ("Conv2D", (28, 28, 1), (7, 7), (1, 1)),
    ]
    for network in (model.discriminator, model.generator):
        for layer in network.layers:
            if hasattr(layer, "negative_slope"):
                assert layer.negative_slope == pytest.approx(0.2)
    assert model.generator.layers[-1].activation.__name__ == "tanh"  # the guide: sigmoid on [0, 1]
    assert model.discriminator.layers[-1].activation.__name__ == "linear"  # logits

    # Parameter counts of those layers (weights + biases).
    assert model.discriminator.count_params() == (9 * 64 + 64) + (9 * 64 * 128 + 128) + (128 + 1)
    assert model.generator.count_params() == (
        (128 * 6272 + 6272) + 2 * (16 * 128 * 128 + 128) + (49 * 128 + 1)
    )

    # Adam(3e-4) for both players, Keras's default beta_1; kzoo's non-saturating BCE hooks.
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert type(optimizer).__name__ == "Adam"
        assert float(optimizer.learning_rate) == pytest.approx(3e-4)
        assert float(optimizer.beta_1) == pytest.approx(0.9)
    assert type(model).discriminator_loss is keras_guide_gan.AdversarialModel.discriminator_loss


def test_keras_guide_gan_width_and_tiny_training(keras_guide_gan):
    import numpy as np

    from kzoo import data

    model = keras_guide_gan.KerasGuideGAN(width=2, seed=0)
    model.compile()
    assert model.discriminator.layers[1].filters == 2 and model.generator.layers[4].filters == 4
    x = data.load("mnist-5k:train")[0][::125]  # 32 train-split digits, never held-out ones
    history = model.fit(x, batch_size=16, epochs=1, verbose=0).history
    assert all(np.isfinite(history[k][-1]) for k in ("d_loss", "g_loss"))
    images = model.sample(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
