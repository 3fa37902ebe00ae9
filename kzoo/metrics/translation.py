"""Metrics of translated images against ground truth: pixel metrics and class preservation (numpy in, numbers out).

Pixel metrics (``l1``, ``psnr``, ``ssim``) are `kzoo.metrics.pixels`. Class preservation, for
images with known classes, on an evaluator of their shape (the one given, else kzoo-digits-v1 for
28x28x1 digits): ``class_accuracy`` is how
often the evaluator reads the true class in the outputs; it is bracketed by
``class_accuracy_inputs`` (the inputs as they are: what doing nothing scores) and
``class_accuracy_targets`` (the true targets: about the evaluator's own accuracy, 0.988 on the
plain held-out digits). Every image metric is also given for the inputs as they are
(``input_*``): for the masked task that is a mean-colour fill of the hole, the baseline a context
encoder must beat (``hole_*`` restrict L1 and PSNR to the hole).

`evaluate_translation_model` and `evaluate_autoencoder` score a whole model on held-out data: a
built-in task's 1,000 held-out digits (never trained on), the held-out split of mnist-5k for
autoencoders, or the file or folder given. They read only what such models offer (`translate`,
`directions`, `hole`; `reconstruct`, `sample`); which one fits a model is `kzoo.evaluation`'s choice.
"""

from __future__ import annotations

import numpy as np

from kzoo import data
from kzoo.data import splits
from kzoo.data.pairs import heldout_pairs
from kzoo.errors import DatasetError
from kzoo.metrics import evaluator as _evaluator
from kzoo.metrics import evaluators as _evaluators
from kzoo.metrics.quality import evaluate_images
from kzoo.metrics.pixels import PSNR_MAX, SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW, image_scores, l1, psnr, ssim  # noqa: F401

DIGITS = (28, 28, 1)


# --------------------------------------------------------------------------- class preservation


def class_accuracy(images, labels, evaluator=None):
    """How often an evaluator (default kzoo-digits-v1, for 28x28x1 images) reads `labels` in images in [-1, 1]."""
    images = np.clip(np.asarray(images, np.float32), -1.0, 1.0)
    if evaluator is None:
        _, probabilities = _evaluator.embed(images)
    else:
        _, probabilities = _evaluators.open_evaluator(evaluator).embed(images)
    return float(np.mean(probabilities.argmax(axis=1) == np.asarray(labels)))


def evaluate_translation(outputs, inputs, targets, labels=None, hole=None, evaluator=None):
    """Image metrics of `outputs` (and of `inputs` as they are) against `targets`; class preservation.

    `labels`: the true classes, for class preservation: on `evaluator` when given and of the images'
    shape, else on the digit evaluator for 28x28x1 images; `hole`: (top, left, size) of an
    inpainted region, for L1 and PSNR inside it.
    """
    outputs, inputs, targets = (np.asarray(v, np.float32) for v in (outputs, inputs, targets))
    if not outputs.shape == inputs.shape == targets.shape:
        raise DatasetError(f"outputs {outputs.shape}, inputs {inputs.shape} and targets {targets.shape} differ in shape")
    result = {"n": int(len(outputs)), **image_scores(outputs, targets), **image_scores(inputs, targets, "input_")}
    if hole is not None:
        top, left, size = hole
        region = (slice(None), slice(top, top + size), slice(left, left + size))
        for prefix, images in (("", outputs), ("input_", inputs)):
            result[f"{prefix}hole_l1"] = l1(images[region], targets[region])
            result[f"{prefix}hole_psnr"] = psnr(images[region], targets[region])
    judge = _class_judge(evaluator, outputs.shape[1:])
    if labels is not None and judge is not None:
        result["class_accuracy"] = class_accuracy(outputs, labels, judge)
        result["class_accuracy_inputs"] = class_accuracy(inputs, labels, judge)
        result["class_accuracy_targets"] = class_accuracy(targets, labels, judge)
        result["evaluator"] = judge.id
    return result


def _class_judge(evaluator, shape):
    """The evaluator that reads classes in images of `shape`: the one given when it fits, else the
    digit evaluator for 28x28x1 images, else None."""
    if evaluator is not None:
        chosen = _evaluators.open_evaluator(evaluator)
        if chosen.input_shape == tuple(shape):
            return chosen
    return _evaluators.open_evaluator() if tuple(shape) == DIGITS else None


# --------------------------------------------------------------------------- whole models


def evaluate_translation_model(model, dataset, num=1000, seed=0, evaluator=None):
    """Every metric of `model` (a `TranslationModel`) on held-out pairs of `dataset`, per direction;
    class preservation on `evaluator` where it reads the images (see `evaluate_translation`).

    Keys are those of `kzoo.metrics.translation.evaluate_translation`, prefixed with the direction
    ("b2a_") for the second direction of two-way models; plus `scored_on`.
    """
    held_out = heldout_pairs(dataset)
    pick = _subset(len(held_out.a), num, seed)
    result = {"scored_on": held_out.source}
    for direction in model.directions:
        if direction == "a2b":
            inputs, targets, labels = held_out.a[pick], held_out.b[pick], held_out.labels_b
        else:
            inputs, targets, labels = held_out.b[pick], held_out.a[pick], held_out.labels_a
        labels = None if labels is None else labels[pick]
        outputs = model.translate(inputs, direction)
        scores = evaluate_translation(outputs, inputs, targets, labels, hole=model.hole, evaluator=evaluator)
        prefix = "" if direction == "a2b" else "b2a_"
        result.update({prefix + key: value for key, value in scores.items() if not (prefix and key in ("n", "evaluator"))})
    return result


def heldout_images(dataset):
    """(images, description) an autoencoder is scored on: the held-out split of an embedded data set
    (mnist-5k for None), else the images of the file or folder given."""
    name = data.DEFAULT if dataset is None else data.describe(dataset)
    embedded = name.split(":")[0]
    if embedded in data.specs.EMBEDDED and name in (embedded, *data.specs.EMBEDDED_SPLITS):
        return splits.heldout_images(embedded)[0], f"{embedded}:heldout"
    return data.load(dataset)[0], name


def evaluate_autoencoder(model, dataset=None, num=1000, seed=0, evaluator=None):
    """Reconstruction error of held-out images, and an evaluator's metrics of prior samples.

    `reconstruction_l1`, `_psnr`, `_ssim` on held-out images (see `heldout_images`); then
    `kzoo.metrics.evaluate_images` of `num` images decoded from prior draws (seed `seed`) on
    `evaluator` (of the model's image shape), or on the digit evaluator for 28x28x1 models.
    """
    images, source = heldout_images(dataset)
    data.check_fits(images, model.image_shape)
    images = images[_subset(len(images), num, seed)]
    result = {"scored_on": source,
              **image_scores(model.reconstruct(images), images, "reconstruction_")}
    judge = _class_judge(evaluator, model.image_shape)
    if judge is not None:
        result.update(evaluate_images(model.sample(num, seed=seed), seed=seed, evaluator=judge))
    return result



def _subset(n, num, seed):
    """Indices of `num` of `n` items (all, in order, when num >= n)."""
    if num >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, num, replace=False))
