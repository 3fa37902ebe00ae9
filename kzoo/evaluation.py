"""Scoring a trained model: the one place that knows which protocol fits which kind of model.

- Models that make images from noise (GANs, and any model whose `sample()` makes images): the
  digit evaluator's metrics of `num` samples against the held-out digits (`kzoo.metrics.evaluate_images`:
  fd, precision, recall, coverage, classifier score; conditional models with labels in turn).
- Autoencoders (`AutoencoderModel`): their reconstruction error on held-out images, plus the
  evaluator's metrics of images decoded from prior draws.
- Image-to-image models (`TranslationModel`): pixel metrics and class preservation on held-out
  pairs, for every direction the model learns (`kzoo.metrics.translation`).

`kzoo evaluate` and `kzoo train --evaluate` (after every epoch) both call `evaluate`. The metrics
and the held-out data of each protocol are `kzoo.metrics`' (`evaluate_images`; for image-to-image
models and autoencoders `kzoo.metrics.translation`, which reads only what those models offer:
`translate`, `directions`, `hole`, `reconstruct`, `sample`); this module picks the protocol.
"""

from __future__ import annotations

import numpy as np

from kzoo.errors import KzooError
from kzoo.metrics import quality
from kzoo.metrics.translation import evaluate_autoencoder, evaluate_translation_model, heldout_images  # noqa: F401
from kzoo.models.autoencoders import AutoencoderModel
from kzoo.models.translation import TranslationModel

DIGITS = (28, 28, 1)


def evaluate(model, dataset=None, num=1000, seed=0, raw=False):
    """Every score of `model` that its kind has, as a dict.

    Args:
        model: a trained kzoo model.
        dataset: the data the model was trained on (a `--dataset` spec): autoencoders are scored on
            its held-out images (None: mnist-5k's held-out split), image-to-image models on its
            held-out pairs (required). Models that make images from noise ignore it.
        num: how many images to generate or score (compare scores only at the same `num`).
        seed: the noise and subset seed.
        raw: score the raw generator, not its weight average (GANs with `ema_decay > 0`).

    Returns:
        The metrics by name (floats, ints and a few strings: `evaluator`, `scored_on`).

    Raises:
        KzooError: in one line, when no protocol fits (images the digit evaluator cannot read,
            an image-to-image model without held-out pairs).
    """
    check_evaluable(model, dataset)
    if isinstance(model, TranslationModel):
        return evaluate_translation_model(model, dataset, num=num, seed=seed)
    if isinstance(model, AutoencoderModel):
        return evaluate_autoencoder(model, dataset, num=num, seed=seed)
    return evaluate_generator(model, num=num, seed=seed, raw=raw)


def epoch_scores(model, dataset=None, num=1000, seed=0):
    """`evaluate`'s numbers (no counts, no names): the columns `kzoo train --evaluate` adds to history.csv."""
    scores = evaluate(model, dataset, num=num, seed=seed)
    return {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and k != "n"}


def check_evaluable(model, dataset=None):
    """Raise the KzooError `evaluate` would raise before it computes anything (`kzoo train --evaluate`
    checks this before the run directory exists)."""
    if isinstance(model, TranslationModel):
        if dataset is None:
            raise KzooError(f"{model.name} is scored on held-out pairs: pass --dataset (a task name or pairs)")
        return
    if isinstance(model, AutoencoderModel):
        return
    if tuple(model.image_shape) != DIGITS:
        raise KzooError(
            f"the digit evaluator takes 28x28x1 images; this model makes {'x'.join(map(str, model.image_shape))}"
        )


def evaluate_generator(model, num=1000, seed=0, raw=False):
    """The digit evaluator's metrics of `num` samples from numpy noise `seed`; classes in turn for
    conditional models (their label accuracy too)."""
    labels = np.arange(num) % model.num_classes if model.conditional else None
    return quality.evaluate_images(model.sample(num, seed=seed, labels=labels, raw=raw), labels=labels, seed=seed)
