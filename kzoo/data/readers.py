"""Reading images from where they are stored: the embedded digits, keras.datasets, .npz files, folders.

Each reader returns what the file holds (`image_folder_pixels` the decoded uint8 pixels,
`image_folder` them converted); `kzoo.data.load_pixels` checks them, `kzoo.data.load` converts. Pillow decodes folders; keras is imported only for keras.datasets.
"""

import os
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from kzoo.data import specs
from kzoo.data.arrays import one_line, to_images
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


def image_folder(folder):
    """The images of a folder (see `kzoo.data.load`): (x float32 NHWC in [-1, 1], y int32 or None)."""
    x, y = image_folder_pixels(folder)
    return to_images(x, str(folder)), y


def image_folder_pixels(folder):
    """The images of a folder as decoded: (x uint8 (N, H, W, C), y int32 labels or None)."""
    from PIL import Image, UnidentifiedImageError

    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    class_dirs = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if p.is_file() and p.suffix.lower() in specs.IMAGE_EXTENSIONS]
    exts = " ".join(specs.IMAGE_EXTENSIONS)

    if class_dirs and loose:
        raise DatasetError(
            f"{folder} mixes images ({loose[0].name}) and subfolders ({class_dirs[0].name}); "
            "put every image in a class subfolder, or all images directly in the folder"
        )
    if class_dirs:
        files, labels = [], []
        for label, class_dir in enumerate(class_dirs):
            found = images_under(class_dir)
            if not found:
                raise DatasetError(
                    f"class folder {class_dir} holds no images ({exts}); remove it or add images to it"
                )
            files += found
            labels += [label] * len(found)
        y = np.asarray(labels, dtype=np.int32)
    elif loose:
        files, y = loose, None
    else:
        raise DatasetError(
            f"{folder} holds no images ({exts}); expected images directly in it or one subfolder per class"
        )

    # First pass: headers only (cheap), so a size mismatch is reported before decoding everything.
    first, size, all_gray = None, None, True
    for path in files:
        try:
            with Image.open(path) as im:
                im_size, mode = im.size, im.mode
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise DatasetError(f"could not read image {path} ({one_line(e)})") from e
        if size is None:
            first, size = path, im_size
        elif im_size != size:
            raise DatasetError(
                f"images differ in size: {path} is {im_size[0]}x{im_size[1]} pixels but {first} is "
                f"{size[0]}x{size[1]} (width x height); resize them all to one size"
            )
        all_gray = all_gray and _is_gray(mode)

    width, height = size
    channels = 1 if all_gray else 3
    x = np.empty((len(files), height, width, channels), dtype=np.uint8)
    for i, path in enumerate(files):
        try:
            with Image.open(path) as im:
                x[i] = _pixels(im, channels)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise DatasetError(f"could not read image {path} ({one_line(e)})") from e
    return x, y


def images_under(folder):
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in specs.IMAGE_EXTENSIONS:
                found.append(Path(root) / name)
    return found


_GRAY_MODES = ("1", "L", "LA", "La", "I", "F")


def _is_gray(mode):
    return mode in _GRAY_MODES or mode.startswith("I;")


def _pixels(im, channels):
    """Decode an open PIL image to a uint8 (H, W, channels) array."""
    im.seek(0)  # first frame of an animation
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im, dtype=np.float64)
        # 16-bit samples: I;16 always, I when a value needs more than 8 bits.
        scale = 257.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 1.0
        gray = np.clip(np.round(arr / scale), 0, 255).astype(np.uint8)
    elif _is_gray(mode):
        if mode in ("LA", "La"):
            im = _over_black(im.convert("RGBA")).convert("L")
        gray = np.asarray(im.convert("L"), dtype=np.uint8)
    else:
        has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
        rgb = _over_black(im.convert("RGBA")) if has_alpha else im.convert("RGB")
        return np.asarray(rgb, dtype=np.uint8)
    if channels == 1:
        return gray[:, :, None]
    return np.repeat(gray[:, :, None], 3, axis=2)


def _over_black(rgba):
    from PIL import Image

    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
