"""Load training images for kzoo models.

`load(spec)` returns `(x, y)`: `x` is float32, NHWC, scaled to [-1, 1] (the range
of a tanh generator); `y` is an int32 array of labels of shape (n,), or None when
the data has no labels.

`spec` is one of:

- ``"mnist-5k"`` (the default): 5,000 MNIST digits, 500 per class, shipped inside
  kzoo, so it works offline. Rows are grouped by class (all 0s first); training
  shuffles, but shuffle yourself before taking a slice. See kzoo/datasets/README.md.
- ``"mnist-5k:train"`` and ``"mnist-5k:heldout"``: the two fixed splits of
  mnist-5k that kzoo's quality metrics rely on (kzoo/metrics/splits.py). ``:train``
  is the 4,000 images models may train on, ``:heldout`` the other 1,000 (100 per
  class), the reference of every metric in `kzoo.metrics`: never train a model you
  will evaluate on it. Both keep the rows of mnist-5k in their original order
  (ascending row index, so grouped by class): ``load("mnist-5k:train")`` equals
  ``load("mnist-5k")`` indexed with ``kzoo.metrics.splits.train_indices()``.
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
- a path to a folder of images (.png .jpg .jpeg .bmp .gif .webp, read with
  Pillow): either one subfolder per class (subfolder names sorted as strings give
  labels 0..K-1; images are found at any depth inside each class folder) or the
  images directly in the folder (then y is None). Hidden files and folders and
  files with other extensions are ignored. All images must share one size.
  Grayscale images give 1 channel; RGB, RGBA, palette (P) and other colour images
  give 3 channels (transparent pixels are composited over black; a GIF gives its
  first frame). When the folder mixes grayscale and colour images, grayscale ones
  are repeated to 3 channels.

Every malformed input raises `kzoo.errors.DatasetError` with a one-line message.
This module does not import keras at module level: only the keras.datasets
loaders import it, when they are asked for.
"""

import difflib
import os
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from kzoo.errors import DatasetError

__all__ = ["DATASETS", "DEFAULT", "IMAGE_EXTENSIONS", "SPLITS", "check_fits", "describe", "load"]

DEFAULT = "mnist-5k"
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
DATASETS = (DEFAULT,) + KERAS_DATASETS
# The fixed train / held-out splits of the embedded set (kzoo.metrics.splits).
SPLITS = (f"{DEFAULT}:train", f"{DEFAULT}:heldout")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

_EMBEDDED_FILE = "mnist_5k.npz"
# Normalised spelling (lower case, "_" -> "-") -> canonical name.
_ALIASES = {name.replace("_", "-"): name for name in DATASETS + SPLITS}
_ALIASES.update({"mnist5k": DEFAULT, "cifar-10": "cifar10", "fashionmnist": "fashion_mnist"})
_ALIASES.update({f"mnist5k:{part}": f"{DEFAULT}:{part}" for part in ("train", "heldout")})

FORMATS = (
    "an .npz file with an array x (N,H,W) or (N,H,W,C), C=1 or 3, and optional labels y, "
    "or a folder of images with one subfolder per class"
)


# --------------------------------------------------------------------------- public API


def load(spec=None):
    """Load a dataset: return ``(x, y)``, x float32 NHWC in [-1, 1], y int32 (n,) or None.

    `spec` is a built-in dataset name (see `DATASETS` and `SPLITS`; None means `DEFAULT`), or a
    path (str or os.PathLike) to an .npz file or to a folder of images; see the
    module docstring for the formats. Raises DatasetError on bad input.
    """
    kind, value = _resolve(spec)
    if kind == "task":
        raise DatasetError(
            f"{value} is an image-to-image task (pairs of images), for pix2pix, context-encoder or "
            f"cyclegan; models that make images from noise train on {DEFAULT} or {FORMATS}"
        )
    if kind == "embedded":
        x, y = _load_embedded()
        source = DEFAULT
    elif kind == "split":
        x, y = _load_split(value)
        source = value
    elif kind == "keras":
        x, y = _load_keras(value)
        source = value
    elif kind == "npz":
        x, y = _load_npz(value)
        source = str(value)
    else:
        x, y = _load_folder(value)
        return x, y  # already converted
    x = _to_images(x, source)
    y = _to_labels(y, len(x), source)
    return x, y


def describe(spec=None):
    """A short, reloadable description of `spec` for a run's config file.

    The canonical name for a built-in dataset ("mnist-5k", "mnist-5k:train", "cifar10", ...), or the
    absolute path of a file or folder. Raises DatasetError like `load` for a
    missing path or an unknown name.
    """
    kind, value = _resolve(spec)
    if kind in ("embedded", "split", "keras", "task"):
        return value
    return str(value)


def check_fits(x, image_shape, y=None, num_classes=None):
    """Raise DatasetError unless images `x` (N, H, W, C) match a model's `image_shape` (H, W, C).

    For a conditional model, also pass the labels `y` and the model's
    `num_classes`: the labels must exist and lie in 0..num_classes-1.
    """
    want = tuple(int(d) for d in image_shape)
    shape = tuple(np.shape(x))
    if len(shape) != 4:
        raise DatasetError(
            f"images have shape {shape}; expected a batch of images (N, height, width, channels)"
        )
    have = shape[1:]
    if have != want:
        raise DatasetError(
            f"images are {_dims(have)} but the model takes {_dims(want)} (image_shape); "
            f"pass --set image_shape={','.join(map(str, have))} or use a dataset of {_dims(want)} images"
        )
    if num_classes is not None:
        if y is None:
            raise DatasetError(
                "this model is conditional and needs labels, but the dataset has none; "
                "use an .npz file with a y array or a folder with one subfolder per class"
            )
        y = np.asarray(y)
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise DatasetError(
                f"labels run from {int(y.min())} to {int(y.max())} but the model has num_classes={num_classes}; "
                f"pass --set num_classes={int(y.max()) + 1}"
            )


# --------------------------------------------------------------------------- resolving a spec


def _resolve(spec):
    """Return (kind, value): ("embedded"|"split"|"keras"|"task", canonical name) or ("npz"|"folder", absolute Path)."""
    if spec is None:
        return "embedded", DEFAULT
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise DatasetError(f"empty dataset name; use one of {', '.join(DATASETS + SPLITS)}, or {FORMATS}")
        # Image-to-image tasks (kzoo/tasks.py) are pairs of images: known by name here, so that
        # `describe` records them and `load` says which models take them.
        from kzoo import tasks

        if tasks.is_task(text):
            return "task", tasks.describe(text)
        name = _ALIASES.get(text.lower().replace("_", "-"))
        if name is not None:
            kind = "embedded" if name == DEFAULT else "split" if name in SPLITS else "keras"
            return kind, name
        path = Path(os.path.expanduser(text))
    elif isinstance(spec, os.PathLike):
        path = Path(os.fspath(spec)).expanduser()
    else:
        raise DatasetError(
            f"a dataset is a name or a path, not {type(spec).__name__}; use one of {', '.join(DATASETS + SPLITS)}, or {FORMATS}"
        )

    if path.is_dir():
        return "folder", path.resolve()
    if path.is_file():
        return "npz", path.resolve()
    if path.exists():
        raise DatasetError(f"{path} is neither a file nor a folder; expected {FORMATS}")
    text = str(spec)
    if isinstance(spec, os.PathLike) or _looks_like_path(text):
        raise DatasetError(f"no such file or folder: {text} (looked for {path.absolute()}); expected {FORMATS}")
    close = difflib.get_close_matches(text.lower().replace("_", "-"), list(_ALIASES), n=3, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES[c] for c in close))  # canonical, deduplicated, best first
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise DatasetError(
        f"unknown dataset {text!r} (and no file or folder of that name); {hint}"
        f"built-in datasets: {', '.join(DATASETS + SPLITS)}; or pass a path to {FORMATS}"
    )


def _looks_like_path(text):
    suffix = os.path.splitext(text)[1].lower()
    return (
        "/" in text
        or os.sep in text
        or (os.altsep is not None and os.altsep in text)
        or text.startswith((".", "~"))
        or suffix in (".npz", ".npy", ".zip") + IMAGE_EXTENSIONS
    )


# --------------------------------------------------------------------------- loaders


def _load_embedded():
    ref = resources.files("kzoo").joinpath("datasets").joinpath(_EMBEDDED_FILE)
    try:
        with ref.open("rb") as f, np.load(f, allow_pickle=False) as data:
            return data["x"], data["y"]
    except (OSError, KeyError, ValueError) as e:  # a broken installation
        raise DatasetError(
            f"the embedded dataset kzoo/datasets/{_EMBEDDED_FILE} is missing or damaged "
            f"({_one_line(e)}); reinstall kzoo"
        ) from e


def _load_split(name):
    """The rows of the embedded set in split `name` ("mnist-5k:train" or ":heldout"), in row order."""
    from kzoo.metrics import splits  # numpy only; lazy so that this module stays light

    x, y = _load_embedded()
    idx = splits.train_indices() if name.endswith(":train") else splits.heldout_indices()
    return x[idx], y[idx]


def _load_keras(name):
    import keras  # lazy: importing keras takes seconds

    loader = getattr(keras.datasets, name).load_data
    try:
        (x, y), _ = loader()  # training split only; see the module docstring
    except Exception as e:  # no internet: URLError, "URL fetch failure", a half-written cache file...
        raise DatasetError(
            f"could not get {name!r} through keras.datasets ({_one_line(e)}); offline, use the embedded "
            f"'{DEFAULT}' dataset or a local file: {FORMATS}"
        ) from e
    return x, np.reshape(y, (-1,))


def _load_npz(path):
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path} is not an .npz file (a zip of NumPy arrays); expected {FORMATS}")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if "x" not in names:
                found = ", ".join(names) if names else "no arrays"
                raise DatasetError(f"{path} has no array named x (found: {found}); expected {FORMATS}")
            x = data["x"]
            y = data["y"] if "y" in names else None
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"could not read {path} as .npz ({_one_line(e)}); expected {FORMATS}") from e
    return x, y


def _load_folder(folder):
    from PIL import Image, UnidentifiedImageError

    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    class_dirs = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    exts = " ".join(IMAGE_EXTENSIONS)

    if class_dirs and loose:
        raise DatasetError(
            f"{folder} mixes images ({loose[0].name}) and subfolders ({class_dirs[0].name}); "
            "put every image in a class subfolder, or all images directly in the folder"
        )
    if class_dirs:
        files, labels = [], []
        for label, class_dir in enumerate(class_dirs):
            found = _images_under(class_dir)
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
            raise DatasetError(f"could not read image {path} ({_one_line(e)})") from e
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
            raise DatasetError(f"could not read image {path} ({_one_line(e)})") from e
    return _to_images(x, str(folder)), y


def _images_under(folder):
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
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


# --------------------------------------------------------------------------- conversion and checks


def _to_images(x, source):
    """Check shape and value range of `x`; return float32 NHWC in [-1, 1]."""
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DatasetError(f"{source}: x has dtype {x.dtype}; expected uint8 pixels or floats")
    if x.ndim == 3:
        x = x[..., None]
    elif x.ndim != 4:
        raise DatasetError(
            f"{source}: x has shape {x.shape} ({x.ndim} dimensions); expected (N, H, W) or (N, H, W, C)"
        )
    n, h, w, c = x.shape
    if c not in (1, 3):
        hint = " (it looks channels-first: transpose it to (N, H, W, C))" if x.shape[1] in (1, 3) else ""
        raise DatasetError(
            f"{source}: x has shape {x.shape} with {c} channels; expected 1 (grayscale) or 3 (RGB) channels last{hint}"
        )
    if n == 0 or h == 0 or w == 0:
        raise DatasetError(f"{source}: x has shape {x.shape} and holds no images; expected at least one image")

    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise DatasetError(f"{source}: integer pixels run from {lo} to {hi}; expected 0-255")
        out = x.astype(np.float32)
        out /= 127.5
        out -= 1.0
        return out

    if np.issubdtype(x.dtype, np.complexfloating):
        raise DatasetError(f"{source}: x is complex; expected uint8 pixels or real floats")
    out = x.astype(np.float32)  # always a copy: the caller may own x
    lo, hi = float(out.min()), float(out.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DatasetError(f"{source}: x contains NaN or infinite values; expected finite pixel values")
    if lo >= 0.0 and hi <= 1.0:  # [0, 1]
        out *= 2.0
        out -= 1.0
    elif lo >= -1.0 and hi <= 1.0:  # already [-1, 1]
        pass
    elif lo >= 0.0 and hi <= 255.0:  # 0-255 stored as floats
        out /= 127.5
        out -= 1.0
    else:
        raise DatasetError(
            f"{source}: float pixels run from {lo:g} to {hi:g}; expected [0, 1], [-1, 1] or 0-255"
        )
    np.clip(out, -1.0, 1.0, out=out)  # rounding at the edges
    return out


def _to_labels(y, n, source):
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(
            f"{source}: y has shape {y.shape}; expected one integer label per image, shape ({n},)"
        )
    if len(y) != n:
        raise DatasetError(f"{source}: y has {len(y)} labels but x has {n} images; expected one label per image")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating) or y.dtype == np.bool_):
        raise DatasetError(f"{source}: y has dtype {y.dtype}; expected integer labels 0..K-1")
    if np.issubdtype(y.dtype, np.floating) and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
        raise DatasetError(f"{source}: y holds non-integer values; expected integer labels 0..K-1")
    if n and y.min() < 0:
        raise DatasetError(f"{source}: y holds negative labels ({y.min()}); expected integer labels 0..K-1")
    if n and y.max() > np.iinfo(np.int32).max:
        raise DatasetError(f"{source}: y holds labels too large for int32; expected integer labels 0..K-1")
    return y.astype(np.int32)


def _dims(shape):
    return "x".join(str(d) for d in shape)


def _one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > 200:
        text = text[:197] + "..."
    return text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}"
