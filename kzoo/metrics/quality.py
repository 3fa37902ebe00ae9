"""evaluate_images and real_floor: image-quality metrics on kzoo-digits-v1 features."""

from __future__ import annotations

import warnings

import numpy as np

from kzoo.errors import DatasetError
from kzoo.metrics import evaluator as _ev
from kzoo.data import splits as _splits
from kzoo.metrics import stats as _stats

COVERAGE_MIN_SHARE = 0.02
"""A class counts towards `coverage` when it gets at least this share of the evaluator's
predictions (a fifth of its 10% share in real data) and at least one image. One stray,
misclassified image does not make a collapsed generator "cover" a class."""

KID_SUBSETS = 100
KID_SUBSET_SIZE = 500   # half the reference, so the subsets differ and kid_std means something
PR_K = 3
CLASS_KL_ALPHA = 1.0
RANGE_TOLERANCE = 1e-3


def _check_images(images):
    if hasattr(images, "detach"):                      # torch tensor
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise DatasetError(
            f"images must be NHWC of shape (N, 28, 28, 1), got {images.shape}; add the channel "
            f"axis with x[..., None] and use channels_last")
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


def _check_labels(labels, n):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape == (n, 10):
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if labels.shape[0] != n:
        raise DatasetError(f"got {labels.shape[0]} labels for {n} images")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(labels == np.round(labels)):
            raise DatasetError("labels must be class integers 0..9 or one-hot (N, 10)")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() > 9:
        raise DatasetError("labels must be in 0..9")
    return labels


def _reference(assets_dir=None):
    ref = _ev.load_reference(assets_dir)
    if "_mu" not in ref:
        ref["_mu"], ref["_sigma"] = _stats.feature_statistics(ref["embeddings"])
        ref["_counts"] = _stats.class_histogram(ref["probs"].argmax(1))
    return ref


def evaluate_images(images, labels=None, *, seed: int = 0, batch_size: int = 500,
                    assets_dir: str | None = None) -> dict:
    """Image-quality metrics of digit images against the 1000 held-out mnist-5k images,
    all computed on the features of the kzoo-digits-v1 evaluator.

    images: float array (N, 28, 28, 1) in [-1, 1] (a ValueError - kzoo DatasetError -
    otherwise). labels: optional conditioning labels (N,) or one-hot (N, 10).

    Returns a dict of floats:

    * fd - Frechet distance on kzoo-digits-v1 features (64-d embedding), float64, unbiased
      covariances. Not FID: no Inception network is involved. Biased upward roughly like
      1/N: compare only at the same N, next to real_floor(N).
    * kid, kid_std - kernel distance on kzoo-digits-v1 features: unbiased squared MMD with
      the kernel (x.y/d + 1)^3, mean and spread over 100 pairs of subsets of 500 (or N if
      smaller) drawn with `seed`; about -0.007 for two copies of the held-out set.
    * classifier_score - exp(E KL(p(y|x) || p(y))) of the kzoo-digits-v1 classifier; <= 10.
    * coverage - classes getting at least COVERAGE_MIN_SHARE (2%) of the predictions;
      coverage_any - classes predicted for at least one image; class_counts - the histogram.
    * class_kl - KL(generated || held-out) of the predicted class histograms, +1 smoothing.
    * precision, recall - Kynkaanniemi et al. 2019, k=3 nearest neighbours in kzoo-digits-v1
      embedding space, against the 1000 held-out embeddings.
    * label_accuracy - only with labels: how often the classifier's prediction is the label.
    * n, n_reference, evaluator (id), embedding_dim.
    """
    images = _check_images(images)
    n = images.shape[0]
    if labels is not None:
        labels = _check_labels(labels, n)
    ref = _reference(assets_dir)
    emb, probs = _ev.embed(images, batch_size=batch_size, assets_dir=assets_dir)
    mu, sigma = _stats.feature_statistics(emb)
    kid_mean, kid_std = _stats.kid(ref["embeddings"], emb, num_subsets=KID_SUBSETS,
                                   subset_size=KID_SUBSET_SIZE, seed=seed)
    precision, recall = _stats.precision_recall(ref["embeddings"], emb, k=PR_K)
    predicted = probs.argmax(1)
    counts = _stats.class_histogram(predicted)
    result = {
        "fd": _stats.frechet_distance(ref["_mu"], ref["_sigma"], mu, sigma),
        "kid": kid_mean,
        "kid_std": kid_std,
        "classifier_score": _stats.classifier_score(probs),
        "coverage": _stats.coverage(counts, min_share=COVERAGE_MIN_SHARE),
        "coverage_any": int(np.count_nonzero(counts)),
        "class_counts": [int(c) for c in counts],
        "class_kl": _stats.class_kl(counts, ref["_counts"], alpha=CLASS_KL_ALPHA),
        "precision": precision,
        "recall": recall,
        "n": int(n),
        "n_reference": int(ref["embeddings"].shape[0]),
        "evaluator": _ev.EVALUATOR_ID,
        "embedding_dim": int(emb.shape[1]),
    }
    if labels is not None:
        result["label_accuracy"] = float(np.mean(predicted == labels))
    return result


def real_floor(n: int = 1000, seed: int = 0, *, batch_size: int = 500,
               assets_dir: str | None = None) -> dict:
    """The metrics of n real TRAIN-split images (drawn with `seed`, without replacement)
    against the held-out reference: what a perfect generator of the training data would
    score at that N. Passes their true labels, so label_accuracy is included.

    The evaluator was trained on these images; the floor therefore also holds the small
    train/held-out gap of the evaluator, as does a generator that reproduces its training set.
    """
    pool = _splits.train_indices()
    if not 4 <= n <= pool.shape[0]:
        raise ValueError(f"n must be between 4 and {pool.shape[0]} (the train split), got {n}")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(pool, size=n, replace=False))
    x, y = _splits.load_mnist5k()
    return evaluate_images(_splits.to_model_range(x[idx]), y[idx], seed=seed,
                           batch_size=batch_size, assets_dir=assets_dir)
