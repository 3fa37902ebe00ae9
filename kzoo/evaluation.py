"""Scoring a trained model: the one place that knows which protocol fits which kind of model.

- Models that make images from noise (GANs, and any model whose `sample()` makes images): an
  evaluator's metrics of `num` samples against its held-out reference (`kzoo.metrics.evaluate_images`:
  fd, precision, recall, coverage, classifier score; conditional models with labels in turn), beside
  the evaluator's real-vs-real floor. The evaluator is the digit one unless another is given
  (`kzoo.metrics.evaluators`: a shipped one or a `kzoo fit-evaluator` directory); other real images
  may be the reference (unlabelled ones too: fd, precision and recall in the evaluator's features),
  and InceptionV3 weights on disk add the standard FID.
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

from kzoo import data
from kzoo.errors import KzooError
from kzoo.metrics import evaluator_data, evaluators, quality
from kzoo.metrics.translation import evaluate_autoencoder, evaluate_translation_model, heldout_images  # noqa: F401
from kzoo.models.autoencoders import AutoencoderModel
from kzoo.models.translation import TranslationModel

DIGITS = (28, 28, 1)
# The floor's figures `evaluate` reports beside a generator's (the evaluator's recorded real-vs-real floor).
FLOOR_KEYS = ("fd", "precision", "recall", "coverage", "classifier_score", "kid", "n")


def evaluate(model, dataset=None, num=1000, seed=0, raw=False, evaluator=None, reference=None,
             inception_weights=None):
    """Every score of `model` that its kind has, as a dict.

    Args:
        model: a trained kzoo model.
        dataset: the data the model was trained on (a `--dataset` spec): autoencoders are scored on
            its held-out images (None: mnist-5k's held-out split), image-to-image models on its
            held-out pairs (required). Models that make images from noise ignore it.
        num: how many images to generate or score (compare scores only at the same `num`).
        seed: the noise and subset seed.
        raw: score the raw generator, not its weight average (GANs with `ema_decay > 0`).
        evaluator: the evaluator whose features the metrics use (`kzoo.metrics.evaluators.open_evaluator`:
            a directory from `kzoo fit-evaluator`, "emoji32", ...); default kzoo-digits-v1. Image-to-image
            models and autoencoders use it for class preservation and prior samples.
        reference: models that make images from noise: real images (a `--dataset` spec, labelled or
            not) to compare with instead of the evaluator's held-out split, in the evaluator's
            feature space (fd, kid, precision, recall).
        inception_weights: models that make images from noise: a Keras InceptionV3 weights file
            on disk; adds `fid_inception`, the standard FID against the same reference images.

    Returns:
        The metrics by name (floats, ints, a few strings: `evaluator`, `scored_on`; and `floor`,
        the evaluator's recorded real-vs-real floor, a dict).

    Raises:
        KzooError: in one line, when no protocol fits (images the evaluator cannot read, an
            image-to-image model without held-out pairs, an option the model's kind does not take).
    """
    check_evaluable(model, dataset, evaluator, reference, inception_weights)
    if isinstance(model, TranslationModel):
        return evaluate_translation_model(model, dataset, num=num, seed=seed, evaluator=evaluator)
    if isinstance(model, AutoencoderModel):
        return evaluate_autoencoder(model, dataset, num=num, seed=seed, evaluator=evaluator)
    return evaluate_generator(model, num=num, seed=seed, raw=raw, evaluator=evaluator, reference=reference,
                              inception_weights=inception_weights)


def epoch_scores(model, dataset=None, num=1000, seed=0, evaluator=None):
    """`evaluate`'s numbers (no counts, no names, no floor): the columns `kzoo train --evaluate` adds to history.csv."""
    scores = evaluate(model, dataset, num=num, seed=seed, evaluator=evaluator)
    return {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and k != "n"}


def check_evaluable(model, dataset=None, evaluator=None, reference=None, inception_weights=None):
    """Raise the KzooError `evaluate` would raise before it computes anything (`kzoo train --evaluate`
    checks this before the run directory exists)."""
    if isinstance(model, (TranslationModel, AutoencoderModel)):
        kind = "image-to-image models" if isinstance(model, TranslationModel) else "autoencoders"
        if reference is not None or inception_weights is not None:
            option = "--reference" if reference is not None else "--inception-weights"
            raise KzooError(f"{option} is for models that make images from noise; {kind} are scored on held-out "
                            f"{'pairs' if kind.startswith('image') else 'images'} (--dataset)")
        if evaluator is not None:
            evaluators.open_evaluator(evaluator).check_shape(model.image_shape, f"this {model.name} model's images")
        if isinstance(model, TranslationModel) and dataset is None:
            raise KzooError(f"{model.name} is scored on held-out pairs: pass --dataset (a task name or pairs)")
        return
    evaluators.open_evaluator(evaluator).check_shape(model.image_shape, "this model's images")


def evaluate_generator(model, num=1000, seed=0, raw=False, evaluator=None, reference=None, inception_weights=None):
    """The evaluator's metrics of `num` samples from numpy noise `seed`, beside its floor; classes in
    turn for conditional models (their label accuracy too, when the model has the evaluator's classes)."""
    ev = evaluators.open_evaluator(evaluator)
    labels = np.arange(num) % model.num_classes if model.conditional else None
    images = model.sample(num, seed=seed, labels=labels, raw=raw)
    if reference is not None:
        reference_images, reference_name = _reference_images(reference, ev)
        scores = quality.evaluate_images(images, seed=seed, evaluator=ev, reference_images=reference_images,
                                         reference_name=reference_name)
    else:
        known = labels if labels is not None and model.num_classes == ev.num_classes else None
        scores = quality.evaluate_images(images, labels=known, seed=seed, evaluator=ev)
        floor = ev.floor
        if floor:
            scores["floor"] = {k: floor[k] for k in FLOOR_KEYS if k in floor}
    if inception_weights is not None:
        from kzoo.metrics import inception

        if reference is None:
            reference_images, reference_name = evaluator_data.fitted_split(ev, "heldout")[0], ev.heldout_name
        scores["fid_inception"] = inception.fid(images, reference_images, inception_weights)
        scores["fid_inception_reference"] = f"{len(reference_images)} images of {reference_name}"
    return scores


def _reference_images(reference, ev):
    """(images, description) of the reference data given, checked against the evaluator's shape."""
    images, _ = data.load(reference)
    name = data.describe(reference)
    ev.check_shape(images.shape[1:], f"the reference {name}'s images")
    if len(images) <= quality.PR_K:
        raise KzooError(f"the reference {name} holds {len(images)} images; precision and recall need more than "
                        f"{quality.PR_K}")
    return images, name
