"""Honest image-quality metrics that work offline, on kzoo's own evaluators.

No Inception weights can be downloaded here, so kzoo ships small classifiers whose features the
metrics use: kzoo-digits-v1 (kzoo/metrics/evaluator.py, trained by benchmarks/train_evaluator.py
on the train split of the embedded mnist-5k) and kzoo-emoji32-v1 (32x32x3 emoji,
benchmarks/fit_evaluators.py); `kzoo fit-evaluator` (kzoo.metrics.fitting) makes one for any
labelled data set (kzoo.metrics.evaluators). Every metric is named after its evaluator:
"Frechet distance on kzoo-digits-v1 features" (``fd``), never "FID", and numbers are comparable
only with numbers from the same evaluator id, at the same N. InceptionV3 weights on disk give the
standard FID too (kzoo.metrics.inception).

    >>> from kzoo.metrics import evaluate_images, real_floor
    >>> evaluate_images(fake_images)          # (N, 28, 28, 1) floats in [-1, 1]
    >>> real_floor(len(fake_images))          # the real-vs-real floor at that N
    >>> evaluate_images(colour, evaluator="emoji32")   # (N, 32, 32, 3), or a fit-evaluator directory

keras is imported only when images are embedded; the math in kzoo.metrics.stats is numpy only.
"""

from kzoo.metrics.evaluator import (
    EVALUATOR_ID,
    EvaluatorChecksumError,
    build_evaluator,
    embed,
    load_evaluator,
    load_info,
    load_reference,
)
from kzoo.metrics.evaluators import Evaluator, open_evaluator
from kzoo.metrics.quality import COVERAGE_MIN_SHARE, evaluate_images, real_floor
from kzoo.data.splits import heldout_indices, train_indices
from kzoo.metrics.stats import (
    class_kl,
    classifier_score,
    coverage,
    feature_statistics,
    frechet_distance,
    kid,
    precision_recall,
)

__all__ = [
    "COVERAGE_MIN_SHARE",
    "EVALUATOR_ID",
    "Evaluator",
    "EvaluatorChecksumError",
    "build_evaluator",
    "class_kl",
    "classifier_score",
    "coverage",
    "embed",
    "evaluate_images",
    "feature_statistics",
    "frechet_distance",
    "heldout_indices",
    "kid",
    "load_evaluator",
    "load_info",
    "load_reference",
    "open_evaluator",
    "precision_recall",
    "real_floor",
    "train_indices",
]
