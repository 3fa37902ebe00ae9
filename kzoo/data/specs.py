"""What a `--dataset` spec names: the built-in sets and tasks, their spellings, or a file or folder.

Every name kzoo knows lives here, single images and image pairs alike, so that both loaders
(`kzoo.data.load` for images, `kzoo.data.pairs.load_pairs` for pairs) recognise each other's names
and say which models take them. No numpy, no keras.
"""

import difflib
import os
from pathlib import Path

from kzoo.errors import DatasetError

DEFAULT = "mnist-5k"
EMOJI32 = "emoji32"
# The data sets shipped inside kzoo (kzoo/data/assets/), each with a fixed train / held-out split.
EMBEDDED = (DEFAULT, EMOJI32)
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
DATASETS = EMBEDDED + KERAS_DATASETS
# The fixed train / held-out splits of mnist-5k, the reference of the digit metrics (kzoo.data.splits).
SPLITS = (f"{DEFAULT}:train", f"{DEFAULT}:heldout")
# The same two splits of emoji32 (made by kzoo.data.splits.stratified_split).
EMOJI32_SPLITS = (f"{EMOJI32}:train", f"{EMOJI32}:heldout")
# Every split of every embedded data set: what resolve() calls kind "split".
EMBEDDED_SPLITS = SPLITS + EMOJI32_SPLITS

# Image-to-image tasks derived from the embedded digits (kzoo.data.pairs).
EDGES, MASKED, NOISY, THICK = "mnist-5k:edges", "mnist-5k:masked", "mnist-5k:noisy", "mnist-5k:thick"
PAIRED_TASKS = (EDGES, MASKED, NOISY)
UNPAIRED_TASKS = (THICK,)
TASKS = PAIRED_TASKS + UNPAIRED_TASKS

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

FORMATS = (
    "an .npz file with an array x (N,H,W) or (N,H,W,C), C=1 or 3, and optional labels y, "
    "an .npy of such an x (memory-mapped; labels in a sibling NAME.labels.npy), "
    "or a folder of images with one subfolder per class"
)
PAIRED_FORMATS = "mnist-5k:edges, mnist-5k:masked, mnist-5k:noisy, or an .npz with arrays a and b (one b per a)"
UNPAIRED_FORMATS = "mnist-5k:thick, or a folder with subfolders A/ and B/"

# Normalised spelling (lower case, "_" -> "-") -> canonical name.
_ALIASES = {name.replace("_", "-"): name for name in DATASETS + EMBEDDED_SPLITS}
_ALIASES.update({"mnist5k": DEFAULT, "cifar-10": "cifar10", "fashionmnist": "fashion_mnist", "emoji-32": EMOJI32})
_ALIASES.update({f"mnist5k:{part}": f"{DEFAULT}:{part}" for part in ("train", "heldout")})
_ALIASES.update({f"emoji-32:{part}": f"{EMOJI32}:{part}" for part in ("train", "heldout")})
# What error messages list as the built-in names.
_BUILTIN_NAMES = ", ".join(DATASETS + EMBEDDED_SPLITS)


def task_name(spec):
    """The canonical name of the built-in task `spec` spells ("MNIST_5K:edges" too), or None."""
    if not isinstance(spec, str):
        return None
    text = spec.strip().lower().replace("_", "-").replace("mnist5k", "mnist-5k")
    return text if text in TASKS else None


def resolve(spec):
    """What `spec` names: (kind, value).

    Returns ("embedded" | "split" | "keras" | "task", canonical name) or ("npz" | "npy" | "folder", absolute
    Path). Raises DatasetError in one line for an unknown name (with the nearest ones) or a
    missing path.
    """
    if spec is None:
        return "embedded", DEFAULT
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise DatasetError(f"empty dataset name; use one of {_BUILTIN_NAMES}, or {FORMATS}")
        if task_name(text) is not None:
            return "task", task_name(text)
        name = _ALIASES.get(text.lower().replace("_", "-"))
        if name is not None:
            kind = "embedded" if name in EMBEDDED else "split" if name in EMBEDDED_SPLITS else "keras"
            return kind, name
        path = Path(os.path.expanduser(text))
    elif isinstance(spec, os.PathLike):
        path = Path(os.fspath(spec)).expanduser()
    else:
        raise DatasetError(
            f"a dataset is a name or a path, not {type(spec).__name__}; use one of {_BUILTIN_NAMES}, "
            f"or {FORMATS}"
        )

    if path.is_dir():
        return "folder", path.resolve()
    if path.is_file():
        return ("npy" if path.suffix.lower() == ".npy" else "npz"), path.resolve()
    if path.exists():
        raise DatasetError(f"{path} is neither a file nor a folder; expected {FORMATS}")
    text = str(spec)
    if isinstance(spec, os.PathLike) or looks_like_path(text):
        raise DatasetError(f"no such file or folder: {text} (looked for {path.absolute()}); expected {FORMATS}")
    close = difflib.get_close_matches(text.lower().replace("_", "-"), list(_ALIASES), n=3, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES[c] for c in close))  # canonical, deduplicated, best first
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise DatasetError(
        f"unknown dataset {text!r} (and no file or folder of that name); {hint}"
        f"built-in datasets: {_BUILTIN_NAMES}; or pass a path to {FORMATS}"
    )


def describe(spec=None):
    """A short, reloadable description of `spec` for a run's config file.

    The canonical name of a built-in dataset or task ("mnist-5k", "mnist-5k:train", "emoji32", "cifar10",
    "mnist-5k:edges", ...), or the absolute path of a file or folder. Raises DatasetError like
    `resolve` for a missing path or an unknown name.
    """
    kind, value = resolve(spec)
    return value if kind in ("embedded", "split", "keras", "task") else str(value)


def names_single_images(spec):
    """Whether `spec` names one of the built-in sets of single images (mnist-5k, emoji32, their splits, keras.datasets)."""
    if spec is None:
        return True
    if not isinstance(spec, str):
        return False
    try:
        return describe(spec) in DATASETS + EMBEDDED_SPLITS
    except DatasetError:
        return False


def looks_like_path(text):
    """Whether a name that matched nothing was meant as a path (so 'no such file', not 'unknown dataset')."""
    suffix = os.path.splitext(text)[1].lower()
    return (
        "/" in text
        or os.sep in text
        or (os.altsep is not None and os.altsep in text)
        or text.startswith((".", "~"))
        or suffix in (".npz", ".npy", ".zip") + IMAGE_EXTENSIONS
    )
