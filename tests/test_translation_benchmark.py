"""benchmarks/translation_quality.py at a tiny size: it trains, scores, draws and tabulates.

One model (context-encoder, the cheapest image-to-image one) for two steps at an eighth of its
width, scored on 10 held-out digits, on each of the three backends (one worker each, as in the
full run). Marked `benchmarks`: the tox `benchmarks` environment has all three. Nothing is timed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.benchmarks

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "translation_quality.py"
BACKENDS = ("jax", "torch", "tensorflow")


def test_translation_benchmark_smoke(tmp_path):
    out = tmp_path / "translation"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERAS_BACKEND", None)  # --backends must suffice
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--backends", ",".join(BACKENDS), "--models", "context-encoder", "--epochs", "1",
         "--steps-per-epoch", "2", "--width-scale", "0.125", "--num", "10", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=3 * 600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = (out / "table.md").read_text()
    for backend in BACKENDS:
        record = json.loads((out / f"context-encoder_{backend}.json").read_text())
        assert (record["backend"], record["task"], record["epochs"], record["steps_per_epoch"]) == (
            backend, "mnist-5k:masked", 1, 2)
        assert record["hyperparameters"]["width"] == 4 and record["metrics"]["n"] == 10
        assert {"hole_psnr", "input_hole_psnr", "class_accuracy"} <= set(record["metrics"])
        with Image.open(out / f"context-encoder_{backend}.png") as picture:
            assert picture.size == (10 * 30 + 2, 3 * 30 + 2)  # ten digits: input, output, target
        assert f"| context-encoder | mnist-5k:masked, a2b | {backend} | 1 ep x 2 x 32, width 4 |" in table
