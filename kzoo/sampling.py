"""Sample grids: what `kzoo sample` and every training epoch write."""

import math

import numpy as np

from kzoo.errors import KzooError


def grid_samples(model, num=64, seed=0, label=None, code=None, raw=False, examples=None):
    """(images, images_per_row) for a grid of about `num` samples from numpy noise `seed`.

    Conditional models get one row per class (the same noise down each column, so a column
    shows one "style" across classes), or only class `label` when given. With `code`, models
    with latent codes (`code_grid`) lay that code out along each row. `raw` asks for the raw
    generator instead of its weight average. Image-to-image models (`preview_grid`) show rows of
    input, output and target instead, picked from `examples`, their (a, b) training data.
    """
    if hasattr(model, "preview_grid"):
        return model.preview_grid(num, seed=seed, examples=examples)
    if code is not None:
        if not hasattr(model, "code_grid"):
            raise KzooError(f"{model.name} has no latent codes: --code is for models such as infogan")
        return model.code_grid(code, columns=max(2, math.ceil(num / model.categories)), seed=seed, raw=raw)
    if not model.conditional:
        if label is not None:
            raise KzooError(f"{model.name} is not conditional: it takes no --label")
        return model.sample(num, seed=seed, raw=raw), max(1, round(math.sqrt(num)))
    classes = model.num_classes
    if label is not None:
        if not 0 <= int(label) < classes:
            raise KzooError(f"label {label} is out of range: {model.name} has classes 0..{classes - 1}")
        return model.sample(num, seed=seed, labels=int(label), raw=raw), max(1, round(math.sqrt(num)))
    per_class = max(1, math.ceil(num / classes))
    noise = model.sample_inputs(per_class, np.random.default_rng(seed))
    labels = np.repeat(np.arange(classes), per_class)
    return model.generate(np.tile(noise, (classes, 1)), labels, raw=raw), per_class
