"""Sample grids: what `kzoo sample` and every training epoch write."""

from kzoo.data.batches import model_range


def grid_samples(model, num=64, seed=0, label=None, code=None, raw=False, data=None):
    """(images, images_per_row) for a grid of about `num` images, from numpy noise `seed`.

    What the grid shows is the model's own (`PlayersModel.preview_grid`): samples, one row per
    class for conditional models (or only class `label`), a latent `code` laid out along each row
    (InfoGAN), or rows of input, output and target picked from `data` (image-to-image models).
    `raw` asks for the raw generator instead of its weight average.

    `data` is the training data as held, `(x, y)`: images stored as uint8 (or a memory map) reach
    the model as float32 in [-1, 1], converted only in the rows it picks (`kzoo.data.batches.ModelRangeView`).
    """
    if data is not None:
        data = tuple(model_range(part) for part in data)
    return model.preview_grid(num, seed=seed, data=data, label=label, code=code, raw=raw)
