"""Fitting an evaluator to a labelled data set: `kzoo fit-evaluator DATA --out DIR`.

The data set is split by class (`kzoo.metrics.evaluator_data.split`: a fifth of every class held
out, kzoo's split seed), the classifier of `kzoo.metrics.network` learns the training split (Adam
with a cosine-decayed rate, random shifts of up to 2 pixels, edges repeated), and the directory
gets the weights, the held-out split's embeddings, class probabilities and labels (the reference
every later score is computed against), and evaluator.json: what it reads, its classes, its
held-out accuracy (and balanced accuracy, and chance: the majority class's share), the data set
and the sha256 of its pixels, the split, the real-vs-real floor, versions.

Deterministic for a seed on one backend and machine (`kzoo.backend.set_seed`, numpy's
generator); another backend gives other weights, hence other figures: the id should then change.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import tempfile
import time

import numpy as np

from kzoo import data
from kzoo.data import splits
from kzoo.errors import KzooError
from kzoo.metrics import evaluator as _ev
from kzoo.metrics import evaluator_data, network, quality

EPOCHS = 30
SEED = 0
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
MAX_SHIFT = 2
FLOOR_N = 1000  # the floor's N, kzoo evaluate's default --num (or the whole train split, if smaller)
WEIGHTS_FILE = "evaluator.weights.h5"
REFERENCE_FILE = "reference.npz"
FLOOR_KEYS = ("fd", "kid", "kid_std", "classifier_score", "coverage", "coverage_any", "class_counts", "class_kl",
              "precision", "recall", "n", "n_reference", "label_accuracy")


def check_out(out, overwrite=False):
    """Raise a one-line KzooError unless `out` may receive an evaluator (missing or empty, or `overwrite`)."""
    out = os.path.abspath(os.fspath(out))
    if os.path.exists(out) and not os.path.isdir(out):
        raise KzooError(f"{out} is a file; --out names the evaluator directory to write")
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise KzooError(f"{out} exists and is not empty; choose another --out, or pass --overwrite to replace it")
    return out


def shift_augment(x, rng, max_shift=MAX_SHIFT, flip=False):
    """Translate each image by a random integer offset of up to `max_shift` pixels, edges repeated;
    with `flip`, mirror half of them left to right (for classes that a mirror image keeps: emoji
    groups, not digits)."""
    n, h, w, _ = x.shape
    if flip:
        x = np.where(rng.random(n)[:, None, None, None] < 0.5, x[:, :, ::-1], x)
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)), mode="edge")
    dy = rng.integers(0, 2 * max_shift + 1, n)
    dx = rng.integers(0, 2 * max_shift + 1, n)
    out = np.empty_like(x)
    for i in range(n):
        out[i] = padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
    return out


def accuracy_figures(predicted, labels, num_classes):
    """accuracy, balanced accuracy (the mean of the per-class recalls) and chance (the majority share)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    present = [c for c in range(num_classes) if np.any(labels == c)]
    recalls = [float(np.mean(predicted[labels == c] == c)) for c in present]
    return {"heldout_accuracy": round(float(np.mean(predicted == labels)), 4),
            "heldout_balanced_accuracy": round(float(np.mean(recalls)), 4),
            "chance_accuracy": round(float(np.bincount(labels, minlength=num_classes).max() / len(labels)), 4)}


def fit_evaluator(dataset, out, *, epochs=EPOCHS, seed=SEED, evaluator_id=None, overwrite=False,
                  heldout_share=evaluator_data.HELDOUT_SHARE, split_seed=splits.SPLIT_SEED,
                  batch_size=BATCH_SIZE, flip=False, on_epoch=None, description=None):
    """Fit an evaluator to the labelled data set `dataset` and write it to the directory `out`.

    Args:
        dataset: a `--dataset` spec of labelled single images (an .npz with y, a folder of class
            subfolders, a built-in name such as "emoji32").
        out: the evaluator directory (missing or empty, unless `overwrite`); written whole or not at all.
        epochs: passes over the training split.
        seed: weights, shuffling and augmentation.
        evaluator_id: the id its metrics are named after (default: the data set's name and the
            first 8 hex digits of the weights' sha256).
        overwrite: replace a non-empty `out`.
        heldout_share, split_seed: the split (`kzoo.data.splits.stratified_split`).
        batch_size: images per step.
        flip: also mirror training images left to right (when a mirror image keeps its class).
        on_epoch: called as on_epoch(epoch, logs) after every epoch (a progress bar).
        description: what evaluator.json says the evaluator is.

    Returns:
        The evaluator's description (the evaluator.json written).

    Raises:
        KzooError: one line: `out` not empty, data without labels, with one class, or a class of
            too few images (before keras is imported).
    """
    out = check_out(out, overwrite)
    x, y, num_classes = evaluator_data.labelled(dataset)
    spec = data.describe(dataset)
    heldout, train = evaluator_data.split(y, heldout_share, split_seed)
    if len(heldout) <= quality.PR_K:  # precision and recall need more reference images than k
        raise KzooError(f"{spec} holds out only {len(heldout)} images at share {heldout_share}; "
                        f"the reference needs more than {quality.PR_K}")

    import keras

    from kzoo import backend  # seeds Keras and the backend without importing TensorFlow, as kzoo train does

    backend.set_seed(seed)
    rng = np.random.default_rng(seed)
    spec_net = network.architecture(x.shape[1:], num_classes)
    model = network.build_classifier(spec_net)
    x_fit, y_fit = x[train], y[train].astype("int32")
    steps = epochs * int(np.ceil(len(x_fit) / batch_size))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    started = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(x_fit))
        history = model.fit(shift_augment(x_fit[order], rng, flip=flip), y_fit[order], batch_size=batch_size, epochs=1,
                            shuffle=False, verbose=0)
        if on_epoch is not None:
            on_epoch(epoch + 1, {k: float(v[-1]) for k, v in history.history.items()})
    seconds = time.perf_counter() - started

    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".fit-evaluator-", dir=parent)
    try:
        info = _write(staging, model, spec_net, x, y, heldout, train, num_classes, spec, evaluator_id, description,
                      heldout_share, split_seed,
                      {"seed": seed, "epochs": epochs, "batch_size": batch_size,
                       "optimizer": f"Adam, cosine decay from {LEARNING_RATE}",
                       "augmentation": f"random integer shifts up to {MAX_SHIFT} px, edges repeated"
                                       + (", left-right mirror of half the images" if flip else ""),
                       "images": int(len(train)), "seconds": round(seconds, 1)})
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _ev.clear_cache()
    return info


def _write(folder, model, spec_net, x, y, heldout, train, num_classes, spec, evaluator_id, description,
           heldout_share, split_seed, training):
    import keras

    # Save from an uncompiled copy: a compiled model's weights file also holds the optimizer.
    inference = network.build_classifier(spec_net)
    inference.set_weights(model.get_weights())
    weights_path = os.path.join(folder, WEIGHTS_FILE)
    inference.save_weights(weights_path)
    embeddings, probs = _ev.embed(x[heldout], model=_ev.feature_model(inference))
    reference_path = os.path.join(folder, REFERENCE_FILE)
    np.savez_compressed(reference_path, embeddings=embeddings.astype(np.float32), probs=probs.astype(np.float32),
                        labels=y[heldout].astype(np.int64), indices=heldout.astype(np.int64))
    weights_sha = _ev.sha256_file(weights_path)
    name = spec if not os.path.isabs(spec) else os.path.splitext(os.path.basename(spec))[0]
    backend = keras.backend.backend()
    info = {
        "id": evaluator_id or f"kzoo-fit-{name}-{weights_sha[:8]}",
        "description": description or (f"a {network.ARCHITECTURE} classifier fitted by kzoo fit-evaluator on {spec}; "
                                       "metrics on its 'embedding' layer are named after this id, never FID"),
        "architecture": spec_net,
        "input_shape": spec_net["input_shape"],
        "num_classes": int(num_classes),
        "class_names": evaluator_data.class_names(spec, num_classes),
        "embedding_dim": int(embeddings.shape[1]),
        "embedding_layer": "embedding",
        "num_parameters": int(inference.count_params()),
        "input": f"float32 NHWC (N, {', '.join(map(str, spec_net['input_shape']))}) in [-1, 1], channels_last",
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": weights_sha,
        "reference_file": REFERENCE_FILE,
        "reference_sha256": _ev.sha256_file(reference_path),
        "reference": f"the {len(heldout)} held-out images of {spec}",
        **accuracy_figures(probs.argmax(1), y[heldout], num_classes),
        "data": {"spec": spec, "pixels_sha256": evaluator_data.pixels_sha256(x), "images": int(len(x)),
                 "train": int(len(train)), "heldout": int(len(heldout)), "heldout_share": float(heldout_share),
                 "split_seed": int(split_seed), "split": "kzoo.data.splits.stratified_split",
                 "class_counts": np.bincount(y, minlength=num_classes).astype(int).tolist()},
        "training": {"script": "kzoo fit-evaluator (kzoo.metrics.fitting)", **training},
        "keras_version": keras.__version__,
        "backend": backend,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }
    _write_info(folder, info)
    # The real-vs-real floor through the public path (which verifies both checksums).
    _ev.clear_cache()
    floor = quality.real_floor(min(FLOOR_N, len(train)), seed=0, evaluator=folder, train=(x[train], y[train]))
    info["real_floor"] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in floor.items() if k in FLOOR_KEYS}
    _write_info(folder, info)
    return info


def _write_info(folder, info):
    with open(os.path.join(folder, _ev.INFO_FILE), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
