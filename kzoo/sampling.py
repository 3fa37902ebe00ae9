"""Sample grids: what `kzoo sample` and every training epoch write."""

import math

import numpy as np


def grid_samples(model, num=64, seed=0, label=None):
    """(images, images_per_row) for a grid of about `num` samples from numpy noise `seed`.

    Conditional models get one row per class (the same noise down each column, so a column
    shows one "style" across classes), or only class `label` when given.
    """
    if not model.conditional:
        if label is not None:
            raise ValueError(f"{model.name} is not conditional: it takes no --label")
        return model.sample(num, seed=seed), max(1, round(math.sqrt(num)))
    classes = model.num_classes
    if label is not None:
        if not 0 <= int(label) < classes:
            raise ValueError(f"label {label} is out of range: {model.name} has classes 0..{classes - 1}")
        return model.sample(num, seed=seed, labels=int(label)), max(1, round(math.sqrt(num)))
    per_class = max(1, math.ceil(num / classes))
    noise = np.random.default_rng(seed).standard_normal((per_class, model.latent_dim)).astype("float32")
    labels = np.repeat(np.arange(classes), per_class)
    return model.generate(np.tile(noise, (classes, 1)), labels), per_class
