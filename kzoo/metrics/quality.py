"""evaluate_images and real_floor: image-quality metrics on an evaluator's features (default kzoo-digits-v1)."""

from __future__ import annotations

import warnings

import numpy as np

from kzoo.errors import DatasetError
from kzoo.data import splits as _splits
from kzoo.metrics import evaluator_data as _evaluator_data
from kzoo.metrics import evaluators as _evaluators
from kzoo.metrics import stats as _stats

COVERAGE_MIN_SHARE = 0.02
"""A class counts towards `coverage` when it gets at least this share of the evaluator's
predictions (a fifth of its 10% share in real data) and at least one image. One stray,
misclassified image does not make a collapsed generator "cover" a class."""
COVERAGE_SHARE_OF_REAL = 0.2
"""Other evaluators than the digits': a class counts when it gets at least this part of its share
in the held-out data (the same fifth), and at least one image."""
DIGITS_SHAPE = (28, 28, 1)

KID_SUBSETS = 100
KID_SUBSET_SIZE = 500   # half the reference, so the subsets differ and kid_std means something
PR_K = 3
CLASS_KL_ALPHA = 1.0
RANGE_TOLERANCE = 1e-3


def _check_images(images, shape=DIGITS_SHAPE):
    if hasattr(images, "detach"):                      # torch tensor
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != tuple(shape):
        raise DatasetError(
            f"images must be NHWC of shape (N, {', '.join(map(str, shape))}), got {images.shape}"
            + ("; add the channel axis with x[..., None] and use channels_last" if shape == DIGITS_SHAPE
               else "; use channels_last, at the evaluator's size"))
    if not np.issubdtype(images.dtype, np.floating):
        raise DatasetError(
            f"images must be floats in [-1, 1], got dtype {images.dtype}; convert uint8 "
            f"pixels with x / 127.5 - 1")
    if images.shape[0] < PR_K + 1:
        raise DatasetError(f"need at least {PR_K + 1} images, got {images.shape[0]}")
    if not np.all(np.isfinite(images)):
        raise DatasetError("images contain NaN or inf")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1 - RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise DatasetError(
            f"images must be in [-1, 1], got values in [{lo:.3g}, {hi:.3g}]; a generator "
            f"with a tanh output is in range, uint8 pixels need x / 127.5 - 1")
    if lo >= 0 and hi > 0:
        warnings.warn("all pixel values are >= 0: images look like [0, 1] data; the evaluator "
                      "expects [-1, 1] (x * 2 - 1)", stacklevel=3)
    return np.clip(images.astype(np.float32), -1.0, 1.0)


def _check_labels(labels, n, num_classes=10):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape == (n, num_classes):
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if labels.shape[0] != n:
        raise DatasetError(f"got {labels.shape[0]} labels for {n} images")
    last = num_classes - 1
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(labels == np.round(labels)):
            raise DatasetError(f"labels must be class integers 0..{last} or one-hot (N, {num_classes})")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() > last:
        raise DatasetError(f"labels must be in 0..{last}")
    return labels


def _reference(ev):
    ref = ev.reference()
    if "_mu" not in ref:
        ref["_mu"], ref["_sigma"] = _stats.feature_statistics(ref["embeddings"])
        ref["_counts"] = _stats.class_histogram(ref["probs"].argmax(1), ev.num_classes)
    return ref


def coverage_min_shares(ev):
    """The share of the predictions a class needs to count as covered, per class (or one for all).

    kzoo-digits-v1: COVERAGE_MIN_SHARE for each of its 10 equally frequent classes. Other
    evaluators: COVERAGE_SHARE_OF_REAL of each class's share of the held-out reference, so that a
    rare class (emoji32's Activities, 2.3%) is covered by its share, a common one (People & Body,
    59%) only by a good part of its own.
    """
    if ev.is_digits:
        return COVERAGE_MIN_SHARE
    return COVERAGE_SHARE_OF_REAL * _evaluators.label_shares(ev)


def evaluate_images(images, labels=None, *, seed: int = 0, batch_size: int = 500,
                    assets_dir: str | None = None, evaluator=None, reference_images=None,
                    reference_name: str | None = None) -> dict:
    """Image-quality metrics of images against an evaluator's held-out reference, all computed on
    the evaluator's features (default: kzoo-digits-v1 and the 1000 held-out mnist-5k digits).

    Args:
        images: float array (N, H, W, C) in [-1, 1], the evaluator's input shape (a ValueError -
            kzoo DatasetError - otherwise).
        labels: optional conditioning labels (N,) or one-hot (N, classes).
        seed: the KID subsets' seed.
        batch_size: images per forward pass.
        assets_dir: an evaluator directory (the old name of `evaluator`).
        evaluator: an evaluator: a `kzoo.metrics.evaluators.Evaluator`, a shipped one's name
            ("digits", "emoji32") or a directory; default kzoo-digits-v1.
        reference_images: other real images (N', H, W, C) in [-1, 1], labelled or not, to compare
            with instead of the evaluator's held-out reference: embedded by the evaluator, which was
            fitted on other data. Then only fd, kid, precision and recall are computed (the class
            metrics would count the evaluator's classes, not the reference's), and `feature_space`
            says whose features they are.
        reference_name: what `reference_images` are, for the result's `reference`.

    Returns:
        A dict of floats (and a few ints and strings):

        * fd - Frechet distance on the evaluator's features (64-d embedding), float64, unbiased
          covariances. Not FID: no Inception network is involved. Biased upward roughly like
          1/N: compare only at the same N, next to real_floor(N).
        * kid, kid_std - kernel distance on the same features: unbiased squared MMD with the
          kernel (x.y/d + 1)^3, mean and spread over 100 pairs of subsets of 500 (or N if
          smaller) drawn with `seed`; about -0.007 for two copies of the held-out set.
        * classifier_score - exp(E KL(p(y|x) || p(y))) of the evaluator's classifier; at most
          its number of classes (10 for digits).
        * coverage - classes getting at least their share of the predictions
          (`coverage_min_shares`: 2% for digits); coverage_any - classes predicted for at least
          one image; class_counts - the histogram.
        * class_kl - KL(generated || held-out) of the predicted class histograms, +1 smoothing.
        * precision, recall - Kynkaanniemi et al. 2019, k=3 nearest neighbours in the embedding
          space, against the held-out embeddings.
        * label_accuracy - only with labels: how often the classifier's prediction is the label.
        * n, n_reference, evaluator (id), embedding_dim; with `reference_images`, reference and
          feature_space instead of the class metrics.
    """
    ev = _evaluators.open_evaluator(evaluator if evaluator is not None else assets_dir)
    images = _check_images(images, ev.input_shape)
    n = images.shape[0]
    if labels is not None:
        labels = _check_labels(labels, n, ev.num_classes)
    if reference_images is not None:
        return _against_images(ev, images, _check_images(reference_images, ev.input_shape), seed, batch_size,
                               reference_name)
    ref = _reference(ev)
    emb, probs = ev.embed(images, batch_size=batch_size)
    mu, sigma = _stats.feature_statistics(emb)
    kid_mean, kid_std = _stats.kid(ref["embeddings"], emb, num_subsets=KID_SUBSETS,
                                   subset_size=KID_SUBSET_SIZE, seed=seed)
    precision, recall = _stats.precision_recall(ref["embeddings"], emb, k=PR_K)
    predicted = probs.argmax(1)
    counts = _stats.class_histogram(predicted, ev.num_classes)
    result = {
        "fd": _stats.frechet_distance(ref["_mu"], ref["_sigma"], mu, sigma),
        "kid": kid_mean,
        "kid_std": kid_std,
        "classifier_score": _stats.classifier_score(probs),
        "coverage": _stats.coverage(counts, min_share=coverage_min_shares(ev)),
        "coverage_any": int(np.count_nonzero(counts)),
        "class_counts": [int(c) for c in counts],
        "class_kl": _stats.class_kl(counts, ref["_counts"], alpha=CLASS_KL_ALPHA),
        "precision": precision,
        "recall": recall,
        "n": int(n),
        "n_reference": int(ref["embeddings"].shape[0]),
        "evaluator": ev.id,
        "embedding_dim": int(emb.shape[1]),
    }
    if labels is not None:
        result["label_accuracy"] = float(np.mean(predicted == labels))
    return result


def _against_images(ev, images, reference, seed, batch_size, reference_name):
    """fd, kid, precision and recall of `images` against other real images, in `ev`'s feature space."""
    emb, _ = ev.embed(images, batch_size=batch_size)
    ref, _ = ev.embed(reference, batch_size=batch_size)
    mu, sigma = _stats.feature_statistics(emb)
    ref_mu, ref_sigma = _stats.feature_statistics(ref)
    kid_mean, kid_std = _stats.kid(ref, emb, num_subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=seed)
    precision, recall = _stats.precision_recall(ref, emb, k=PR_K)
    return {
        "fd": _stats.frechet_distance(ref_mu, ref_sigma, mu, sigma),
        "kid": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "n": int(images.shape[0]),
        "n_reference": int(reference.shape[0]),
        "reference": reference_name or "the reference images given",
        "evaluator": ev.id,
        "embedding_dim": int(emb.shape[1]),
        "feature_space": (f"{ev.id}'s, fitted on {ev.fitted_on}, other data than the reference: "
                          "compare these figures with each other, not with scores against its own reference"),
    }


def real_floor(n: int = 1000, seed: int = 0, *, batch_size: int = 500,
               assets_dir: str | None = None, evaluator=None, train=None) -> dict:
    """The metrics of n real TRAIN-split images (drawn with `seed`, without replacement)
    against the held-out reference: what a perfect generator of the training data would
    score at that N. Passes their true labels, so label_accuracy is included.

    The evaluator was trained on these images; the floor therefore also holds the small
    train/held-out gap of the evaluator, as does a generator that reproduces its training set.

    Args:
        n: how many train-split images.
        seed: which ones, and the KID subsets.
        batch_size: images per forward pass.
        assets_dir, evaluator: as `evaluate_images` (default kzoo-digits-v1).
        train: `(images, labels)` of the evaluator's train split when the caller holds them (the
            fitting does); by default they are found again (`kzoo.metrics.evaluator_data.fitted_split`).
    """
    ev = _evaluators.open_evaluator(evaluator if evaluator is not None else assets_dir)
    if ev.is_digits and train is None:
        pool = _splits.train_indices()
        if not 4 <= n <= pool.shape[0]:
            raise ValueError(f"n must be between 4 and {pool.shape[0]} (the train split), got {n}")
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(pool, size=n, replace=False))
        x, y = _splits.load_mnist5k()
        return evaluate_images(_splits.to_model_range(x[idx]), y[idx], seed=seed,
                               batch_size=batch_size, evaluator=ev)
    x, y = train if train is not None else _evaluator_data.fitted_split(ev, "train")
    if not 4 <= n <= x.shape[0]:
        raise ValueError(f"n must be between 4 and {x.shape[0]} (the train split), got {n}")
    idx = np.sort(np.random.default_rng(seed).choice(x.shape[0], size=n, replace=False))
    return evaluate_images(x[idx], y[idx], seed=seed, batch_size=batch_size, evaluator=ev)
