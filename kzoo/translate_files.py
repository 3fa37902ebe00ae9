"""What `kzoo translate` does: a trained image-to-image model applied to a folder of images or an .npz.

Everything is read and checked (the model translates that way, the images fit it) before
anything is written. The output folder gets one PNG per image (named after the input file, or
numbered for an .npz), `grid.png` (input and output side by side, a pair per column pair) and
`translations.npz` (`inputs`, `outputs` in [-1, 1], `names`). (Its old name: kzoo.translate.)
"""

from pathlib import Path

import numpy as np

from kzoo import data, pictures
from kzoo.data import readers
from kzoo.data.arrays import to_images
from kzoo.errors import DatasetError, KzooError
from kzoo.models.translation import TranslationModel

GRID_PAIRS_PER_ROW = 8
GRID_MOST = 64


def read_inputs(path, direction="a2b"):
    """(images float32 NHWC in [-1, 1], names) from a folder of images or an .npz file.

    An .npz holds an array `x`, or `a` (translated a2b) and `b` (translated b2a), as a file of
    pairs does.
    """
    path = Path(path)
    if path.is_dir():
        images, _ = data.load(path)
        files = readers.images_under(path)  # the order kzoo.data reads a folder in
        if len(files) != len(images):  # cannot happen unless kzoo.data's order changes
            raise KzooError(f"read {len(images)} images from {path} but found {len(files)} files")
        names = ["__".join(f.relative_to(path).with_suffix("").parts) for f in files]
        return images, names
    if path.suffix.lower() != ".npz":
        raise DatasetError(f"{path}: kzoo translate takes a folder of images or an .npz file")
    key = "a" if direction == "a2b" else "b"
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            chosen = key if key in names else "x" if "x" in names else None
            if chosen is None:
                found = ", ".join(names) or "no arrays"
                raise DatasetError(f"{path} has no array x or {key} to translate {direction} (found: {found})")
            array = archive[chosen]
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise DatasetError(f"could not read {path} as .npz ({type(error).__name__}: {error})") from error
    images = to_images(array, f"{path} (array {chosen})")
    return images, [f"{i:05d}" for i in range(len(images))]


def default_out(run_or_file, input_path, direction):
    """<run>/translations/<input name>-<direction>, beside a .keras file when given one."""
    source = Path(run_or_file)
    root = source if source.is_dir() else source.parent
    return root / "translations" / f"{Path(input_path).resolve().stem}-{direction}"


def translate_files(model, run_or_file, input_path, out=None, direction="a2b"):
    """Translate every image of `input_path` with `model`; write PNGs, grid.png and translations.npz.

    Returns the output folder. Raises KzooError (one line) before writing anything when the
    model does not translate, not in this direction, or the images do not fit it.
    """
    if not isinstance(model, TranslationModel):
        raise KzooError(
            f"{model.name} does not translate images; kzoo translate takes pix2pix, cyclegan or context-encoder runs"
        )
    model.check_direction(direction)
    inputs, names = read_inputs(input_path, direction)
    data.check_fits(inputs, model.image_shape)
    outputs = model.translate(inputs, direction)

    out = Path(out) if out is not None else default_out(run_or_file, input_path, direction)
    out.mkdir(parents=True, exist_ok=True)
    for name, image in zip(names, outputs):
        pictures.save_grid(image[None], out / f"{name}.png", nrow=1, padding=0)
    shown = min(len(inputs), GRID_MOST)
    pairs = np.stack([inputs[:shown], outputs[:shown]], axis=1).reshape(-1, *inputs.shape[1:])
    pictures.save_grid(pairs, out / "grid.png", nrow=2 * min(shown, GRID_PAIRS_PER_ROW))
    np.savez(out / "translations.npz", inputs=inputs, outputs=outputs, names=np.asarray(names))
    return out
