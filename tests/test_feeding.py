"""Training feeds images held as stored (uint8) and converts them one batch at a time (kzoo.data.batches)."""

import numpy as np
import pytest
from conftest import TINY

from kzoo import data, sampling, training
from kzoo.data import batches


def todays_epoch_batches(x, y, batch_size, steps, epoch, seed):
    """The epoch order as kzoo made it before batches were made one at a time (written out)."""
    n, per_pass, picks = len(x), len(x) // batch_size, []
    for k in range(epoch * steps, (epoch + 1) * steps):
        pass_index, j = divmod(k, per_pass)
        order = np.random.default_rng([seed, pass_index]).permutation(n)
        picks.append(order[j * batch_size : (j + 1) * batch_size])
    idx = np.concatenate(picks)
    return x[idx], (None if y is None else y[idx])


@pytest.mark.parametrize("spec, shape", [("mnist-5k", (5000, 28, 28, 1)), ("emoji32:train", (2923, 32, 32, 3))])
def test_load_pixels_holds_uint8_and_converts_to_what_load_gives(spec, shape):
    x, y = data.load_pixels(spec)
    assert x.dtype == np.uint8 and x.shape == shape and x.nbytes == int(np.prod(shape))
    if spec == "mnist-5k":
        assert not x.flags.writeable and x.base is not None  # the embedded array itself, shared: no copy
    expected_x, expected_y = data.load(spec)
    np.testing.assert_array_equal(data.to_model_range(x), expected_x)
    np.testing.assert_array_equal(y, expected_y)


def test_load_pixels_of_floats_is_float32_in_model_range(tmp_path):
    floats = np.random.default_rng(0).uniform(0, 1, (6, 4, 4, 3))
    np.savez(tmp_path / "f.npz", x=floats)
    x, _ = data.load_pixels(tmp_path / "f.npz")
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, data.load(tmp_path / "f.npz")[0])
    ints = np.arange(6 * 16).reshape(6, 4, 4).astype(np.int64) % 256  # another integer type: narrowed to uint8
    np.savez(tmp_path / "i.npz", x=ints)
    x, _ = data.load_pixels(tmp_path / "i.npz")
    assert x.dtype == np.uint8 and x.shape == (6, 4, 4, 1)
    np.testing.assert_array_equal(data.to_model_range(x), data.load(tmp_path / "i.npz")[0])


def test_batches_keep_todays_order_across_passes_and_convert_like_load():
    x, y = data.load_pixels("mnist-5k:heldout")
    x, y = x[:50], y[:50]  # 6 batches of 8 a pass: epochs of 4 steps straddle passes
    floats = data.to_model_range(x)
    for epoch in range(4):
        expected_x, expected_y = todays_epoch_batches(floats, y, 8, 4, epoch, seed=3)
        assert batches.epoch_indices(50, 8, 4, epoch, 3).shape == (4, 8)
        fed = batches.EpochBatches(x, y, 8, 4, epoch, seed=3)
        assert len(fed) == 4
        for j in range(4):
            xb, yb = fed[j]
            assert xb.dtype == np.float32 and xb.shape == (8, 28, 28, 1)
            np.testing.assert_array_equal(xb, expected_x[8 * j : 8 * (j + 1)])
            np.testing.assert_array_equal(yb, expected_y[8 * j : 8 * (j + 1)])
        arrays_x, arrays_y = fed.arrays()
        np.testing.assert_array_equal(arrays_x, expected_x)
        np.testing.assert_array_equal(arrays_y, expected_y)
        assert fed.float32_nbytes() == arrays_x.nbytes + arrays_y.nbytes
        # training.epoch_batches gives the same rows, as stored.
        stored_x, _ = training.epoch_batches(x, y, 8, 4, epoch, 3)
        assert stored_x.dtype == np.uint8
        np.testing.assert_array_equal(data.to_model_range(stored_x), expected_x)
    with pytest.raises(IndexError):
        fed[4]


def test_model_range_view_converts_only_what_is_picked():
    x, _ = data.load_pixels("emoji32:heldout")
    view = batches.model_range(x)
    assert isinstance(view, batches.ModelRangeView)
    assert len(view) == len(x) and view.shape == x.shape and view.dtype == np.float32
    rows = np.array([3, 1, 700])
    np.testing.assert_array_equal(view[rows], data.load("emoji32:heldout")[0][rows])
    floats = np.zeros((2, 4, 4, 1), np.float32)
    assert batches.model_range(floats) is floats  # already the model's range: unchanged

    class Recorder:
        def preview_grid(self, num, seed, data, label, code, raw):
            self.data = data
            return np.zeros((1, 4, 4, 1)), 1

    model = Recorder()
    labels = np.arange(len(x))
    sampling.grid_samples(model, 4, data=(x, labels))
    assert isinstance(model.data[0], batches.ModelRangeView) and model.data[1] is labels


def test_a_feed_of_pairs_gives_targets_in_model_range():
    from kzoo import distribution, registry

    a, b = training.training_data(registry.load_model_class("pix2pix"), "mnist-5k:edges")
    epoch = batches.EpochBatches(a, b, 8, 2, 0, seed=5)
    feed = training._BatchFeed(epoch, distribution.Placement(), 8)
    assert len(feed) == 2
    xb, yb = feed[1]
    rows = batches.epoch_indices(len(a), 8, 2, 0, 5)[1]
    np.testing.assert_array_equal(xb, a[rows])
    np.testing.assert_array_equal(yb, b[rows])
    assert xb.dtype == yb.dtype == np.float32


def test_training_one_batch_at_a_time_equals_training_on_arrays(tmp_path, monkeypatch):
    import kzoo

    fed = []
    monkeypatch.setattr(training._BatchFeed, "__getitem__",
                        lambda self, j, get=training._BatchFeed.__getitem__: fed.append(j) or get(self, j))
    # A conditional model: the labels go with their images.
    settings = {"model_name": "cgan", "dataset": "mnist-5k:heldout", "hyperparameters": TINY["cgan"], "epochs": 1,
                "steps_per_epoch": 2, "batch_size": 8, "sample_count": 4, "seed": 5, "verbose": 0,
                "log": lambda message: None}
    as_arrays = training.train(**settings, out=tmp_path / "arrays")
    assert fed == []  # two batches of 8: a small epoch goes as arrays
    monkeypatch.setattr(batches, "EPOCH_ARRAYS_LIMIT", 0)
    one_at_a_time = training.train(**settings, out=tmp_path / "batches")
    assert sorted(set(fed)) == [0, 1]
    a, b = kzoo.load_model(as_arrays), kzoo.load_model(one_at_a_time)
    for u, v in zip(a.weights + a.optimizer.variables, b.weights + b.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(u.numpy()), np.asarray(v.numpy()), atol=1e-6, err_msg=u.path)
    assert (one_at_a_time / "samples" / "epoch_001.png").is_file()


def test_training_on_a_memory_mapped_npy(tmp_path, monkeypatch):
    from kzoo import runs

    pixels = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "big.npy", pixels)
    x, _ = data.load_pixels(tmp_path / "big.npy")
    assert isinstance(x, np.memmap)
    gathered = []
    monkeypatch.setattr(batches, "EPOCH_ARRAYS_LIMIT", 0)  # one batch at a time, as a large file goes
    monkeypatch.setattr(batches, "gather", lambda array, rows, get=batches.gather: gathered.append(array) or get(array, rows))
    run = training.train("dcgan", dataset=str(tmp_path / "big.npy"), hyperparameters=TINY["dcgan"], epochs=1,
                         steps_per_epoch=2, batch_size=8, sample_count=4, seed=5, verbose=0, out=tmp_path / "run",
                         log=lambda message: None)
    assert gathered and all(isinstance(array, np.memmap) for array in gathered)  # read from the map itself
    (row,) = runs.read_history(run)
    assert np.isfinite(row["d_loss"]) and np.isfinite(row["g_loss"])
    assert runs.read_config(run)["hyperparameters"]["image_shape"] == [8, 8, 3]


@pytest.mark.benchmarks
def test_memory_benchmark_reports_peaks_beside_uint8_sizes(tmp_path):
    """benchmarks/memory.py at a tiny size: three trainings (mnist-5k, a folder, an .npy) in child processes."""
    import json
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "memory.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)  # the script's --backend must suffice
    result = subprocess.run(
        [sys.executable, script, "--backend", "jax", "--images", "40", "--size", "8", "--steps", "2",
         "--batch-size", "8", "--width", "2", "--npy-images", "48", "--json", "--out", str(tmp_path), "--work", str(tmp_path)],
        check=False, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("{")]
    report = json.loads(line)
    assert json.loads((tmp_path / "memory-jax.json").read_text())["cases"] == report["cases"]
    cases = {row["case"]: row for row in report["cases"]}
    assert list(cases) == ["mnist-5k", "folder", "npy-baseline", "npy-48"]
    assert cases["mnist-5k"]["uint8_bytes"] == 5000 * 28 * 28 and cases["folder"]["uint8_bytes"] == 40 * 8 * 8 * 3
    assert cases["npy-48"]["uint8_bytes"] == 48 * 8 * 8 * 3 and cases["npy-baseline"]["images"] == 2 * 8
    for row in cases.values():
        assert row["peak_rss_bytes"] > 50 * 2**20  # a Python process with keras and JAX in it
        if row["case"] != "mnist-5k":
            difference = row["peak_rss_bytes"] - cases["mnist-5k"]["peak_rss_bytes"]
            assert row["minus_mnist_5k_mb"] == round(difference / 2**20, 1)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("kzoo-memory-")] == []  # generated data removed
