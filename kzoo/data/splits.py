"""The fixed train / held-out splits of the embedded data sets, and the rule that makes them (numpy only).

(Moved here from kzoo.metrics.splits, which re-exports it: the split is data, which the metrics
read, not a metric.)

`stratified_split(labels, heldout_share, seed)` is the rule, for any labelled data set (kzoo's
evaluators split a user's data set with it too):

* ``numpy.random.default_rng(seed)`` is made once;
* for each class c, in ascending order of label, the indices of the rows with label c
  (ascending) are permuted by ``rng.permutation``, and the first ``round(heldout_share * n_c)``
  of that permutation are held out (Python's ``round``, half to even), at least 1 and at most
  n_c - 1 when the class has n_c >= 2 rows (a class of one row stays in training);
* both index arrays are returned sorted ascending, int64.

The embedded splits, each pinned by a test against the sha256 recorded below so that a silent
change of numpy's generator or of a data file cannot move it:

* **mnist-5k** (``SPLIT_SEED = 20240501``, share 0.2): 1000 held-out images, 100 of each class's
  500. The reference of kzoo's image-quality metrics: no GAN test or benchmark may train on them,
  and the digit evaluator (kzoo-digits-v1) was trained on the other 4000 only. Change nothing
  here without retraining the evaluator and bumping its id, or every published number becomes
  incomparable.
* **emoji32** (the same seed and share): 732 of the 3,655 emoji held out, a fifth of each of the
  9 groups.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from kzoo.data import readers, specs
from kzoo.data.arrays import to_images

SPLIT_SEED = 20240501
HELDOUT_SHARE = 0.2
HELDOUT_PER_CLASS = 100  # mnist-5k: a fifth of 500
NUM_CLASSES = 10  # mnist-5k

DATASET_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", readers.EMBEDDED_FILE)

# sha256 of heldout_indices(name).astype("<i8").tobytes(); pins each split.
HELDOUT_SHA256 = "88f9ff8a9c42fcc80b20a534c0bfc6df18dd8a4766237ff48e7f9108478e4b18"
EMOJI32_HELDOUT_SHA256 = "f29e2934124a32ed97e70532898bf1c4117d6b513e4077c1031ff163529802a8"
HELDOUT_SHA256S = {specs.DEFAULT: HELDOUT_SHA256, specs.EMOJI32: EMOJI32_HELDOUT_SHA256}

_cache: dict = {}


def stratified_split(labels, heldout_share=HELDOUT_SHARE, seed=SPLIT_SEED):
    """Split rows into held-out and training rows, the same share of every class, reproducibly.

    Args:
        labels: one integer label per row, shape (n,).
        heldout_share: the share of each class to hold out, strictly between 0 and 1.
        seed: seeds ``numpy.random.default_rng``; the same labels, share and seed always give the
            same split (the module docstring gives the rule exactly).

    Returns:
        ``(heldout_indices, train_indices)``: int64 row indices, each sorted ascending, disjoint,
        together every row. Per class, ``round(heldout_share * n_c)`` rows are held out, at least
        1 and at most n_c - 1 for a class of n_c >= 2 rows; a class of one row is kept for training.

    Raises:
        ValueError: `labels` are not a 1-D array of integers, or `heldout_share` is not in (0, 1).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise ValueError(f"labels must be one integer per row, shape (n,); got {labels.dtype} of shape {labels.shape}")
    share = float(heldout_share)
    if not 0.0 < share < 1.0:
        raise ValueError(f"heldout_share must lie strictly between 0 and 1; got {heldout_share!r}")
    rng = np.random.default_rng(seed)
    held = [np.empty(0, np.int64)]
    for c in np.unique(labels):  # ascending
        rows = np.flatnonzero(labels == c)
        n_c = rows.size
        count = min(max(round(share * n_c), 1), n_c - 1) if n_c >= 2 else 0
        held.append(rng.permutation(rows)[:count])
    held = np.sort(np.concatenate(held)).astype(np.int64)
    mask = np.ones(labels.shape[0], dtype=bool)
    mask[held] = False
    return held, np.flatnonzero(mask).astype(np.int64)


def load_mnist5k(path: str | None = None):
    """Return ``(x, y)`` of the embedded dataset: uint8 (5000, 28, 28) and uint8 (5000,), read-only.

    `path` reads another file of the same layout instead (uncached).
    """
    if path is None:
        return readers.mnist5k()
    with np.load(path) as data:
        return data["x"], data["y"]


def _split(dataset):
    if dataset not in _cache:
        _cache[dataset] = stratified_split(readers.embedded(dataset)[1], HELDOUT_SHARE, SPLIT_SEED)
    return _cache[dataset]


def heldout_indices(dataset: str = specs.DEFAULT) -> np.ndarray:
    """Row indices (int64, sorted) of an embedded data set's held-out images (mnist-5k: 1000, 100
    per class, the metric reference; emoji32: 732)."""
    return _split(dataset)[0].copy()


def train_indices(dataset: str = specs.DEFAULT) -> np.ndarray:
    """Row indices (int64, sorted) of the other images: the only ones models may train on."""
    return _split(dataset)[1].copy()


def heldout_sha256(dataset: str = specs.DEFAULT) -> str:
    """The sha256 of the held-out indices as little-endian int64: compare with `HELDOUT_SHA256S`."""
    return hashlib.sha256(heldout_indices(dataset).astype("<i8").tobytes()).hexdigest()


def to_model_range(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) in 0..255 -> float32 (N, 28, 28, 1) in [-1, 1], the evaluator's input."""
    return to_images(np.asarray(x_uint8, dtype=np.uint8).reshape(-1, 28, 28), "mnist-5k")


def heldout_images(dataset: str = specs.DEFAULT):
    """``(images, labels)`` of the held-out split: float32 NHWC in [-1, 1] and the stored labels."""
    x, y = readers.embedded(dataset)
    idx = heldout_indices(dataset)
    return to_images(x[idx], dataset), y[idx].copy()


def train_images(dataset: str = specs.DEFAULT):
    """``(images, labels)`` of the train split: float32 NHWC in [-1, 1] and the stored labels."""
    x, y = readers.embedded(dataset)
    idx = train_indices(dataset)
    return to_images(x[idx], dataset), y[idx].copy()


def split_arrays(name: str):
    """``(images, labels)`` of split `name` ("mnist-5k:train", "emoji32:heldout", ...) as stored:
    uint8, row order."""
    dataset, part = name.split(":")
    x, y = readers.embedded(dataset)
    idx = train_indices(dataset) if part == "train" else heldout_indices(dataset)
    return x[idx], y[idx]
