"""Load training images for kzoo models.

`load(spec)` returns `(x, y)`: `x` is float32, NHWC, scaled to [-1, 1] (the range
of a tanh generator); `y` is an int32 array of labels of shape (n,), or None when
the data has no labels. `load_pixels(spec)` returns the same images as stored, uint8
NHWC (float32 in [-1, 1] for a file of floats), a quarter of the memory: `kzoo train`
holds them so and converts one batch at a time.

`spec` is one of:

- ``"mnist-5k"`` (the default): 5,000 MNIST digits, 500 per class, shipped inside
  kzoo, so it works offline. Rows are grouped by class (all 0s first); training
  shuffles, but shuffle yourself before taking a slice. See kzoo/data/assets/README.md.
- ``"mnist-5k:train"`` and ``"mnist-5k:heldout"``: the two fixed splits of
  mnist-5k that kzoo's quality metrics rely on (kzoo/data/splits.py). ``:train``
  is the 4,000 images models may train on, ``:heldout`` the other 1,000 (100 per
  class), the reference of every metric in `kzoo.metrics`: never train a model you
  will evaluate on it. Both keep the rows of mnist-5k in their original order
  (ascending row index, so grouped by class): ``load("mnist-5k:train")`` equals
  ``load("mnist-5k")`` indexed with ``kzoo.data.splits.train_indices()``.
- ``"emoji32"``: 3,655 colour emoji (Noto Color Emoji, Unicode 15.0), 32x32 RGB on white, shipped
  inside kzoo; labels are the 9 Unicode emoji groups (0 Smileys & Emotion, 1 People & Body,
  2 Animals & Nature, 3 Food & Drink, 4 Travel & Places, 5 Activities, 6 Objects, 7 Symbols,
  8 Flags; unbalanced: People & Body is 59%). Rows are in Unicode order. ``"emoji32:train"`` and
  ``"emoji32:heldout"`` are its fixed splits (a fifth of each group held out, 732 images, by
  ``kzoo.data.splits.stratified_split`` with mnist-5k's seed), in row order like mnist-5k's.
- ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``: downloaded through
  ``keras.datasets`` on first use (cached in ~/.keras/datasets). Only the
  training split is returned (60,000, 60,000 and 50,000 images); the test split
  is left out on purpose, for evaluation. Without internet access this raises
  DatasetError. Dashes and underscores are interchangeable in names
  (``fashion-mnist``, ``cifar-10``), and a built-in name wins over a folder of
  the same name in the current directory: write ``./mnist`` to load the folder.
- a path to an ``.npz`` file holding an array ``x`` of shape (N, H, W) or
  (N, H, W, C) with C = 1 or 3, and optionally ``y`` with N integer labels
  (shape (N,) or (N, 1)). Pixel values are read by dtype and range:
  integers must lie in 0-255; floats with no negative value and a maximum of at
  most 1 are read as [0, 1], floats in [-1, 1] with a negative value as [-1, 1],
  floats in [0, 255] with a value above 1 as 0-255.
- a path to an ``.npy`` file holding such an ``x`` alone, for data sets larger than memory: it is
  memory-mapped (``np.load(mmap_mode="r")``) and never read whole. Training reads each batch's
  rows from the file (plain reads: no page of the file stays in the process); uint8 pixels need
  no check (nothing is read but the header), other integer types are checked against 0-255 by
  reading the file in 64 MB chunks, floats are read whole into memory (their range decides how
  they are read). Labels, optional, are a sibling file
  named like it with ``.labels.npy`` for ``.npy`` (``big.npy`` -> ``big.labels.npy``): N integer
  labels, shape (N,) or (N, 1). An .npz cannot be memory-mapped (it is a zip, usually
  compressed): write big data sets with ``np.save`` or ``np.lib.format.open_memmap``.
- a path to a folder of images (.png .jpg .jpeg .bmp .gif .webp, read with
  Pillow): either one subfolder per class (subfolder names sorted as strings give
  labels 0..K-1; images are found at any depth inside each class folder) or the
  images directly in the folder (then y is None). Hidden files and folders and
  files with other extensions are ignored. All images must share one size.
  Grayscale images give 1 channel; RGB, RGBA, palette (P) and other colour images
  give 3 channels (transparent pixels are composited over black; a GIF gives its
  first frame). When the folder mixes grayscale and colour images, grayscale ones
  are repeated to 3 channels.

Image pairs for image-to-image models are `kzoo.data.pairs`; the rooms of this package:
`specs` (names and what a spec refers to), `arrays` (conversion and checks), `readers` (files,
folders, keras.datasets), `splits` (the fixed splits of the embedded sets, and `stratified_split`
for any labelled set), `transforms` and `pairs`.

Every malformed input raises `kzoo.errors.DatasetError` with a one-line message.
No keras here: only the keras.datasets reader imports it, when it is asked for.
"""

from kzoo.data import readers, specs, splits
from kzoo.data.arrays import check_fits, stored_images, to_images, to_labels, to_model_range  # noqa: F401
from kzoo.data.specs import (  # noqa: F401
    DATASETS, DEFAULT, EMBEDDED, EMBEDDED_SPLITS, EMOJI32, FORMATS, IMAGE_EXTENSIONS, KERAS_DATASETS, SPLITS, describe,
)
from kzoo.errors import DatasetError

__all__ = ["DATASETS", "DEFAULT", "IMAGE_EXTENSIONS", "SPLITS", "check_fits", "describe", "load", "load_pixels"]


def load(spec=None):
    """Load a dataset of single images.

    Args:
        spec: a built-in dataset name (see `DATASETS` and `EMBEDDED_SPLITS`; None means `DEFAULT`), or a
            path (str or os.PathLike) to an .npz file or a folder of images; see the module
            docstring for the formats.

    Returns:
        `(x, y)`: x float32 NHWC in [-1, 1], y int32 of shape (n,) or None.

    Raises:
        DatasetError: one line, for anything that cannot be read as images (an image-to-image
            task's name included: those are pairs, `kzoo.data.pairs.load_pairs`).
    """
    x, y = load_pixels(spec)
    # Floats come from load_pixels as a new float32 array in [-1, 1] already: no second copy.
    return (to_model_range(x) if x.dtype.kind in "iu" else x), y


def load_pixels(spec=None):
    """Load a dataset of single images as stored, for training at a quarter of float32's memory.

    The same data sets, checks and errors as `load`, but the pixels are not converted: training
    converts them one batch at a time (`kzoo.data.arrays.to_model_range`, which gives exactly
    `load`'s values).

    Args:
        spec: as for `load`.

    Returns:
        `(x, y)`: x NHWC (a channel axis added to (N, H, W) data), either uint8 0-255 (images,
        integer arrays, the embedded and keras.datasets sets; the embedded ones read-only and
        shared), a read-only `np.memmap` of an .npy's integers (uint8, or another integer type
        checked to lie in 0-255), or, for a file of float pixels, float32 already in [-1, 1];
        y int32 (n,) or None.
    """
    kind, value = specs.resolve(spec)
    if kind == "task":
        raise DatasetError(
            f"{value} is an image-to-image task (pairs of images), for pix2pix, context-encoder or "
            f"cyclegan; models that make images from noise train on {DEFAULT} or {FORMATS}"
        )
    if kind == "folder":
        x, y = readers.image_folder_pixels(value)
    elif kind == "embedded":
        x, y = readers.embedded(value)
    elif kind == "split":
        x, y = splits.split_arrays(value)
    elif kind == "keras":
        x, y = readers.keras_dataset(value)
    elif kind == "npy":
        x, y, value_range = readers.npy_file(value)
        x = stored_images(x, str(value), value_range)
        return x, to_labels(y, len(x), str(value.with_name(value.name[: -len(".npy")] + readers.LABELS_SUFFIX)))
    else:
        x, y = readers.npz_file(value)
    source = str(value)
    x = stored_images(x, source)
    return x, to_labels(y, len(x), source)
