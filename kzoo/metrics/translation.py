"""Metrics of image-to-image models and autoencoders against ground truth, on held-out images.

Image metrics (numpy, pixels read in [0, 1], averaged over images):

* ``l1``: mean absolute difference;
* ``psnr``: peak signal-to-noise ratio in dB, 10 log10(1 / MSE) per image, capped at
  `PSNR_MAX` (100 dB) where an image is reproduced exactly (its PSNR is infinite);
* ``ssim``: structural similarity (Wang et al. 2004) with an 11x11 Gaussian window of sigma 1.5,
  K1 0.01, K2 0.03, over "valid" windows (as `tf.image.ssim`), averaged over channels.

Class preservation, for 28x28x1 digits with known classes, on the kzoo-digits-v1 evaluator:
``class_accuracy`` is how often the evaluator reads the true class in the outputs; it is
bracketed by ``class_accuracy_inputs`` (the inputs as they are: what doing nothing scores) and
``class_accuracy_targets`` (the true targets: about the evaluator's own accuracy, 0.988 on the
plain held-out digits). Every image metric is also given for the inputs as they are
(``input_*``): for the masked task that is a mean-colour fill of the hole, the baseline a context
encoder must beat (``hole_*`` restrict L1 and PSNR to the hole).

`evaluate_translation_model` and `evaluate_autoencoder` are what `kzoo evaluate` reports. The
held-out data: a built-in task's 1,000 held-out digits (never trained on), the held-out split
of mnist-5k for autoencoders, or the file or folder given.
"""

from __future__ import annotations

import numpy as np

from kzoo import data as datasets
from kzoo import tasks
from kzoo.errors import DatasetError
from kzoo.metrics import evaluator as _evaluator

PSNR_MAX = 100.0
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
DIGITS = (28, 28, 1)


# --------------------------------------------------------------------------- image metrics


def _unit(images):
    return (np.asarray(images, np.float64) + 1.0) / 2.0


def _per_image_mean(values):
    return values.reshape(len(values), -1).mean(axis=1)


def l1(outputs, targets):
    """Mean absolute difference, pixels in [0, 1]."""
    return float(np.mean(np.abs(_unit(outputs) - _unit(targets))))


def psnr(outputs, targets):
    """Mean over images of 10 log10(1 / MSE), pixels in [0, 1]; an exact copy scores PSNR_MAX."""
    mse = _per_image_mean(np.square(_unit(outputs) - _unit(targets)))
    with np.errstate(divide="ignore"):
        per_image = np.where(mse > 0, -10.0 * np.log10(np.maximum(mse, 1e-300)), PSNR_MAX)
    return float(np.mean(np.minimum(per_image, PSNR_MAX)))


def _gaussian_taps(size, sigma):
    taps = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return taps / taps.sum()


def _valid_filter(x, taps):
    """Separable 'valid' filtering of (N, H, W, C) along height and width."""
    k = len(taps)
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    rows = sum(t * x[:, i : i + h] for i, t in enumerate(taps))
    return sum(t * rows[:, :, j : j + w] for j, t in enumerate(taps))


def ssim(outputs, targets):
    """Mean structural similarity over images (and channels); 1.0 for identical images."""
    x, y = _unit(outputs), _unit(targets)
    size = min(SSIM_WINDOW, x.shape[1], x.shape[2])
    size -= 1 - size % 2  # an odd window
    taps = _gaussian_taps(size, SSIM_SIGMA)
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    mu_x, mu_y = _valid_filter(x, taps), _valid_filter(y, taps)
    var_x = _valid_filter(x * x, taps) - mu_x * mu_x
    var_y = _valid_filter(y * y, taps) - mu_y * mu_y
    covariance = _valid_filter(x * y, taps) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * covariance + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(np.mean(_per_image_mean(index)))


def image_scores(outputs, targets, prefix=""):
    """{l1, psnr, ssim} of outputs against targets, keys prefixed."""
    return {f"{prefix}l1": l1(outputs, targets), f"{prefix}psnr": psnr(outputs, targets),
            f"{prefix}ssim": ssim(outputs, targets)}


# --------------------------------------------------------------------------- class preservation


def class_accuracy(images, labels):
    """How often kzoo-digits-v1 reads `labels` in 28x28x1 images in [-1, 1]."""
    _, probabilities = _evaluator.embed(np.clip(np.asarray(images, np.float32), -1.0, 1.0))
    return float(np.mean(probabilities.argmax(axis=1) == np.asarray(labels)))


def evaluate_translation(outputs, inputs, targets, labels=None, hole=None):
    """Image metrics of `outputs` (and of `inputs` as they are) against `targets`; class preservation.

    `labels`: the true classes, for 28x28x1 digits (class preservation); `hole`: (top, left,
    size) of an inpainted region, for L1 and PSNR inside it.
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
    if labels is not None and outputs.shape[1:] == DIGITS:
        result["class_accuracy"] = class_accuracy(outputs, labels)
        result["class_accuracy_inputs"] = class_accuracy(inputs, labels)
        result["class_accuracy_targets"] = class_accuracy(targets, labels)
        result["evaluator"] = _evaluator.EVALUATOR_ID
    return result


# --------------------------------------------------------------------------- whole models


def _subset(n, num, seed):
    """Indices of `num` of `n` items (all, in order, when num >= n)."""
    if num >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, num, replace=False))


def heldout_pairs(dataset):
    """The ground-truth pairs to score a translation model on, for a dataset spec.

    A built-in task: its 1,000 held-out digits (paired, with classes). A path: the pairs in it,
    as given (pass held-out data; a folder of unpaired domains has no ground truth).
    """
    pairs = tasks.load_pairs(dataset, split="heldout")
    if not pairs.paired:
        raise DatasetError(
            f"{pairs.source} holds unpaired images: scoring needs pairs with ground truth, "
            "an .npz with arrays a and b (and optional labels)"
        )
    return pairs


def evaluate_translation_model(model, dataset, num=1000, seed=0):
    """Every metric of `model` (a `TranslationModel`) on held-out pairs of `dataset`, per direction.

    Keys are those of `evaluate_translation`, prefixed with the direction ("b2a_") for the
    second direction of two-way models; plus `scored_on`.
    """
    pairs = heldout_pairs(dataset)
    pick = _subset(len(pairs.a), num, seed)
    result = {"scored_on": pairs.source}
    for direction in model.directions:
        if direction == "a2b":
            inputs, targets, labels = pairs.a[pick], pairs.b[pick], pairs.labels_b
        else:
            inputs, targets, labels = pairs.b[pick], pairs.a[pick], pairs.labels_a
        labels = None if labels is None else labels[pick]
        outputs = model.translate(inputs, direction)
        hole = getattr(model, "hole", None)
        scores = evaluate_translation(outputs, inputs, targets, labels, hole=hole)
        prefix = "" if direction == "a2b" else "b2a_"
        result.update({prefix + key: value for key, value in scores.items() if not (prefix and key in ("n", "evaluator"))})
    return result


def heldout_images(dataset):
    """(images, description) an autoencoder is scored on: mnist-5k's held-out split for the
    embedded digits (and None), else the images of the file or folder given."""
    from kzoo.metrics import splits

    if dataset is None or datasets.describe(dataset) in (datasets.DEFAULT, *datasets.SPLITS):
        return splits.heldout_images()[0], f"{datasets.DEFAULT}:heldout"
    return datasets.load(dataset)[0], datasets.describe(dataset)


def evaluate_autoencoder(model, dataset, num=1000, seed=0):
    """Reconstruction error of held-out images, and the digit-evaluator metrics of prior samples.

    `reconstruction_l1`, `_psnr`, `_ssim` on held-out images (see `heldout_images`); for 28x28x1
    models, `kzoo.metrics.evaluate_images` of `num` images decoded from prior draws (seed `seed`).
    """
    from kzoo.metrics.quality import evaluate_images

    images, source = heldout_images(dataset)
    datasets.check_fits(images, model.image_shape)
    images = images[_subset(len(images), num, seed)]
    result = {"scored_on": source, **image_scores(model.reconstruct(images), images, "reconstruction_")}
    if tuple(model.image_shape) == DIGITS:
        result.update(evaluate_images(model.sample(num, seed=seed), seed=seed))
    return result
