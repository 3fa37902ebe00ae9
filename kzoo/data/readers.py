"""Reading images from where they are stored: the embedded sets, keras.datasets, .npz and .npy files, folders.

Each reader returns what the file holds (`npy_file` a memory map; `image_folder_pixels`, from
kzoo.data.folders, the decoded uint8 pixels, `image_folder` them converted);
`kzoo.data.load_pixels` checks them, `kzoo.data.load` converts. Pillow decodes folders; keras
is imported only for keras.datasets.
"""

import zipfile
from importlib import resources

import numpy as np

from kzoo.data import specs
from kzoo.data.arrays import one_line, to_images
from kzoo.data.folders import image_folder_pixels, images_under  # noqa: F401 (read here since the start)
from kzoo.errors import DatasetError

EMBEDDED_FILE = "mnist_5k.npz"
# The file of each embedded data set, in kzoo/data/assets/ (see its README.md).
EMBEDDED_FILES = {specs.DEFAULT: EMBEDDED_FILE, specs.EMOJI32: "emoji32.npz"}
_embedded = {}


def embedded(name):
    """An embedded data set as stored: x uint8 (N, H, W[, C]), y integer (N,), read once, read-only.

    Args:
        name: one of `kzoo.data.specs.EMBEDDED` ("mnist-5k", "emoji32").

    Returns:
        `(x, y)`, shared by every caller (hence read-only): mnist-5k is uint8 (5000, 28, 28) and
        uint8 labels, emoji32 uint8 (3655, 32, 32, 3) RGB and int64 labels (9 emoji groups).
    """
    if name not in _embedded:
        file = EMBEDDED_FILES[name]
        ref = resources.files("kzoo.data").joinpath("assets").joinpath(file)
        try:
            with ref.open("rb") as f, np.load(f, allow_pickle=False) as data:
                x, y = data["x"], data["y"]
        except (OSError, KeyError, ValueError) as e:  # a broken installation
            raise DatasetError(
                f"the embedded dataset kzoo/data/assets/{file} is missing or damaged ({one_line(e)}); "
                "reinstall kzoo"
            ) from e
        x.flags.writeable = y.flags.writeable = False  # shared by every caller
        _embedded[name] = (x, y)
    return _embedded[name]


def mnist5k():
    """The embedded digits as stored: x uint8 (5000, 28, 28), y uint8 (5000,), read once, read-only."""
    return embedded(specs.DEFAULT)


def keras_dataset(name):
    import keras  # lazy: importing keras takes seconds

    loader = getattr(keras.datasets, name).load_data
    try:
        (x, y), _ = loader()  # training split only; see the module docstring
    except Exception as e:  # no internet: URLError, "URL fetch failure", a half-written cache file...
        raise DatasetError(
            f"could not get {name!r} through keras.datasets ({one_line(e)}); offline, use the embedded "
            f"'{specs.DEFAULT}' dataset or a local file: {specs.FORMATS}"
        ) from e
    return x, np.reshape(y, (-1,))


def npz_file(path):
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path} is not an .npz file (a zip of NumPy arrays); expected {specs.FORMATS}")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if "x" not in names:
                found = ", ".join(names) if names else "no arrays"
                raise DatasetError(f"{path} has no array named x (found: {found}); expected {specs.FORMATS}")
            x = data["x"]
            y = data["y"] if "y" in names else None
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"could not read {path} as .npz ({one_line(e)}); expected {specs.FORMATS}") from e
    return x, y


LABELS_SUFFIX = ".labels.npy"
_CHECK_CHUNK_BYTES = 64 * 2**20  # what a range check reads at a time


def npy_file(path):
    """An .npy of images, memory-mapped: (x, y, value_range).

    x is a read-only `np.memmap` for integer pixels (nothing read but the header; a uint8 file
    needs no check at all, every byte being a valid pixel, and another integer type is checked
    against 0-255 by reading the file in chunks of 64 MB through a file handle, so that neither
    memory nor the process's resident pages ever hold the file), and an in-memory array for
    floats (their range decides how they are read, so they are converted whole: `kzoo.data.load`).
    y comes from the sibling file NAME.labels.npy (N integer labels) when there is one, else
    None. value_range is (min, max) of integer pixels other than uint8, else None.
    """
    x = _npy_array(path, mmap=True)
    if x.dtype.kind == "f" or x.dtype == np.bool_:
        x = np.asarray(x)  # converted whole, as an .npz's floats are
    value_range = None
    if x.dtype.kind in "iu" and x.dtype != np.uint8:
        value_range = _range_by_chunks(path, x)
    labels_path = path.with_name(path.name[: -len(".npy")] + LABELS_SUFFIX)
    y = np.asarray(_npy_array(labels_path, mmap=False)) if labels_path.is_file() else None
    return x, y, value_range


def _npy_array(path, mmap):
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:  # not an .npy, truncated, pickled objects...
        raise DatasetError(f"could not read {path} as .npy ({one_line(e)}); expected {specs.FORMATS}") from e
    if not isinstance(array, np.ndarray):  # an .npz under another name
        array.close()
        raise DatasetError(f"{path} is an .npz archive, not an .npy array; name it .npz to read its x and y")
    return array


def _range_by_chunks(path, x):
    """(min, max) of the integers memory-mapped as `x`, read from `path` a chunk at a time."""
    count = int(x.size)
    if count == 0:
        return 0, 0  # no pixels: the shape check says so
    step = max(1, _CHECK_CHUNK_BYTES // x.dtype.itemsize)
    lo, hi = None, None
    with open(path, "rb") as f:
        f.seek(x.offset)
        for start in range(0, count, step):
            chunk = np.fromfile(f, dtype=x.dtype, count=min(step, count - start))
            lo = chunk.min() if lo is None else min(lo, chunk.min())
            hi = chunk.max() if hi is None else max(hi, chunk.max())
    return int(lo), int(hi)


def image_folder(folder):
    """The images of a folder (see `kzoo.data.load`): (x float32 NHWC in [-1, 1], y int32 or None)."""
    x, y = image_folder_pixels(folder)
    return to_images(x, str(folder)), y
