"""The fixed train / held-out split of the embedded mnist-5k dataset (numpy only, no keras).

(Moved here from kzoo.metrics.splits, which re-exports it: the split is data, which the metrics
read, not a metric.)

The held-out split is the reference of kzoo's image-quality metrics: 1000 images, 100 of
each class, chosen once and for all. No GAN test or benchmark may train on them, and the
digit evaluator (kzoo-digits-v1) was trained on the other 4000 only.

How the split is made (change nothing here without retraining the evaluator and bumping its
id, or every published number becomes incomparable):

* ``SPLIT_SEED = 20240501`` seeds ``numpy.random.default_rng``;
* for each class c = 0..9, in order, the indices of the rows with label c (ascending) are
  permuted by ``rng.permutation`` and the first 100 of that permutation are held out;
* both index arrays are returned sorted ascending.

The split depends only on the labels ``y`` of ``kzoo/data/assets/mnist_5k.npz``; a test checks
it against the sha256 recorded below (``HELDOUT_SHA256``) so that a silent change of numpy's
generator or of the data file cannot move it.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from kzoo.data import readers
from kzoo.data.arrays import to_images

SPLIT_SEED = 20240501
HELDOUT_PER_CLASS = 100
NUM_CLASSES = 10

DATASET_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", readers.EMBEDDED_FILE)

# sha256 of heldout_indices().astype("<i8").tobytes(); pins the split.
HELDOUT_SHA256 = "88f9ff8a9c42fcc80b20a534c0bfc6df18dd8a4766237ff48e7f9108478e4b18"

_cache: dict = {}


def load_mnist5k(path: str | None = None):
    """Return ``(x, y)`` of the embedded dataset: uint8 (5000, 28, 28) and uint8 (5000,), read-only.

    `path` reads another file of the same layout instead (uncached).
    """
    if path is None:
        return readers.mnist5k()
    with np.load(path) as data:
        return data["x"], data["y"]


def _split(y: np.ndarray):
    rng = np.random.default_rng(SPLIT_SEED)
    held = []
    for c in range(NUM_CLASSES):
        rows = np.flatnonzero(y == c)
        if rows.size < HELDOUT_PER_CLASS:
            raise ValueError(f"class {c} has only {rows.size} images, need {HELDOUT_PER_CLASS}")
        held.append(rng.permutation(rows)[:HELDOUT_PER_CLASS])
    held = np.sort(np.concatenate(held)).astype(np.int64)
    mask = np.ones(y.shape[0], dtype=bool)
    mask[held] = False
    return held, np.flatnonzero(mask).astype(np.int64)


def heldout_indices() -> np.ndarray:
    """Row indices (int64, sorted) of the 1000 held-out images, 100 per class: the metric reference."""
    if "split" not in _cache:
        _cache["split"] = _split(load_mnist5k()[1])
    return _cache["split"][0].copy()


def train_indices() -> np.ndarray:
    """Row indices (int64, sorted) of the other 4000 images: the only ones models may train on."""
    if "split" not in _cache:
        _cache["split"] = _split(load_mnist5k()[1])
    return _cache["split"][1].copy()


def heldout_sha256() -> str:
    return hashlib.sha256(heldout_indices().astype("<i8").tobytes()).hexdigest()


def to_model_range(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) in 0..255 -> float32 (N, 28, 28, 1) in [-1, 1], the evaluator's input."""
    return to_images(np.asarray(x_uint8, dtype=np.uint8).reshape(-1, 28, 28), "mnist-5k")


def heldout_images():
    """``(images, labels)`` of the held-out split: float32 NHWC in [-1, 1] and uint8."""
    x, y = load_mnist5k()
    idx = heldout_indices()
    return to_model_range(x[idx]), y[idx].copy()


def train_images():
    """``(images, labels)`` of the train split: float32 NHWC in [-1, 1] and uint8."""
    x, y = load_mnist5k()
    idx = train_indices()
    return to_model_range(x[idx]), y[idx].copy()


def split_arrays(name: str):
    """``(images, labels)`` of split `name` ("mnist-5k:train" or "mnist-5k:heldout") as stored: uint8, row order."""
    x, y = load_mnist5k()
    idx = train_indices() if name.endswith(":train") else heldout_indices()
    return x[idx], y[idx]
