"""The data an evaluator is fitted on and scored against: a labelled data set, split by class (numpy only).

Every data set is split by `kzoo.data.splits.stratified_split` (share 0.2, kzoo's split seed by
default), the rule of the embedded splits, so that `kzoo fit-evaluator emoji32` holds out exactly
`emoji32:heldout`. An evaluator records the data set (its `kzoo.data.describe` spec), the sha256 of
its pixels and the split, so the same images can be found again (for the floor at another N, or
Inception features of the held-out images) and a changed file is noticed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from kzoo import data
from kzoo.data import splits
from kzoo.errors import DatasetError, KzooError

HELDOUT_SHARE = 0.2
# Fewer than this many images of a class leave too few to learn it and to hold out (a fifth: 2).
MIN_IMAGES_PER_CLASS = 10


def pixels_sha256(x) -> str:
    """sha256 of images as `kzoo.data.load` returns them (float32 NHWC in [-1, 1], little-endian)."""
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes()).hexdigest()


def unlabelled_message(spec) -> str:
    return (f"{spec} has no labels: an evaluator learns classes, so fit-evaluator needs a labelled data set "
            "(an .npz with y, or a folder with one subfolder per class). To score against unlabelled images, "
            "give them as the reference: kzoo evaluate RUN --evaluator EVALUATOR --reference DATA, with an "
            "evaluator fitted on other data of the same shape (fd, precision and recall in its feature space)")


def labelled(spec):
    """`(x, y, num_classes)` of a labelled data set, checked: at least 2 classes, each with enough images.

    Raises:
        KzooError: one line (DatasetError), for data without labels, with one class, or with a class
            of fewer than MIN_IMAGES_PER_CLASS images.
    """
    x, y = data.load(spec)
    name = data.describe(spec)
    if y is None:
        raise DatasetError(unlabelled_message(name))
    counts = np.bincount(y)
    if np.count_nonzero(counts) < 2:
        raise DatasetError(f"{name} holds only one class ({int(np.flatnonzero(counts)[0])}); an evaluator "
                           "needs at least 2 classes to learn")
    few = [(c, int(n)) for c, n in enumerate(counts) if n < MIN_IMAGES_PER_CLASS]
    if few:
        listed = ", ".join(f"class {c}: {n}" for c, n in few[:5]) + (", ..." if len(few) > 5 else "")
        raise DatasetError(f"{name} has too few images in some classes ({listed}); an evaluator needs at least "
                           f"{MIN_IMAGES_PER_CLASS} of every class 0..{len(counts) - 1} (labels run from 0 without gaps)")
    return x, y, int(counts.shape[0])


def split(y, heldout_share=HELDOUT_SHARE, seed=splits.SPLIT_SEED):
    """`(heldout_indices, train_indices)` of labels `y`: `kzoo.data.splits.stratified_split`."""
    return splits.stratified_split(np.asarray(y, dtype=np.int64), heldout_share, seed)


def class_names(spec, num_classes):
    """The names of a data set's classes, by label, when it has them; else None.

    A folder's class subfolders (sorted, as `kzoo.data.load` labels them); an .npz's `class_names`
    (or `groups`) array of one name per class; an embedded data set's file likewise.
    """
    kind, value = data.specs.resolve(spec)
    if kind == "folder":
        names = sorted(p.name for p in Path(value).iterdir() if p.is_dir() and not p.name.startswith("."))
        return names if len(names) == num_classes else None
    if kind == "npz":
        path = value
    elif kind in ("embedded", "split"):
        files = getattr(data.readers, "EMBEDDED_FILES", {data.DEFAULT: data.readers.EMBEDDED_FILE})
        base = value.split(":")[0]
        if base == data.DEFAULT:
            return [str(c) for c in range(num_classes)]
        if base not in files:
            return None
        path = os.path.join(os.path.dirname(os.path.abspath(data.__file__)), "assets", files[base])
    else:
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            for key in ("class_names", "groups"):
                if key in arrays.files and arrays[key].shape == (num_classes,):
                    return [str(n) for n in arrays[key]]
    except (OSError, ValueError):
        pass
    return None


def fitted_split(evaluator, part):
    """`(images, labels)` of the train or held-out split an evaluator was fitted with, found again.

    Args:
        evaluator: a `kzoo.metrics.evaluators.Evaluator`.
        part: "train" or "heldout".

    Raises:
        KzooError: one line, when the data set cannot be loaded any more or its pixels changed.
    """
    if evaluator.is_digits:
        return splits.train_images() if part == "train" else splits.heldout_images()
    recorded = evaluator.data
    spec = recorded.get("spec")
    if not spec:
        raise KzooError(f"the evaluator {evaluator.id} records no data set to find its {part} images in")
    try:
        x, y = data.load(spec)
    except DatasetError as e:
        raise KzooError(f"the data set the evaluator {evaluator.id} was fitted on is not readable here: {e}") from None
    if recorded.get("pixels_sha256") and pixels_sha256(x) != recorded["pixels_sha256"]:
        raise KzooError(f"{spec} is not the data the evaluator {evaluator.id} was fitted on (its pixels' sha256 differs)")
    heldout, train = split(y, recorded.get("heldout_share", HELDOUT_SHARE), recorded.get("split_seed", splits.SPLIT_SEED))
    rows = train if part == "train" else heldout
    return x[rows], y[rows]
