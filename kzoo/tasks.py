"""Image-to-image data: tasks derived from the embedded digits, and users' pairs or domains.

What `pix2pix`, `context-encoder` and `cyclegan` train on is two sets of images, A and B:

- *paired*: `b[i]` is the target of `a[i]` (pix2pix, context-encoder; cyclegan takes them too);
- *unpaired*: two domains with no correspondence (cyclegan only).

Sources (`load_pairs(spec)`):

- built-in tasks, derived offline from the embedded mnist-5k digits by fixed numpy transforms:

  | spec | A | B | kind |
  | --- | --- | --- | --- |
  | `mnist-5k:edges` | the digit's outline (3x3 dilation minus erosion) | the digit | paired |
  | `mnist-5k:masked` | the digit with a centred 12x12 hole of the mean colour | the digit | paired |
  | `mnist-5k:noisy` | the digit blurred (Gaussian, sigma 1) plus noise (sigma 0.4) | the digit | paired |
  | `mnist-5k:thick` | digits as they are | digits thickened (3x3 dilation) | unpaired |

  Training uses the 4,000 images of the train split (kzoo.metrics.splits); the unpaired task
  takes A from one half of them and B from the other (disjoint digits, as Keras-GAN's CoGAN
  does). `split="heldout"` gives the 1,000 held-out digits in both domains, paired, with their
  labels: the ground truth the metrics use for every task, unpaired ones included.
- an `.npz` file with arrays `a` and `b` (N,H,W) or (N,H,W,C): paired when the counts match,
  optional `labels` (or `y`) for class preservation;
- a folder with subfolders `A/` and `B/` (or `trainA/` and `trainB/`, as CycleGAN's datasets
  come): unpaired domains.

`fit_arrays(pairs, paired=...)` turns them into the (x, y) that `fit` takes: for a paired
model, (a, b) as given, and a one-line `DatasetError` for anything else (unpaired domains,
mismatched counts or sizes, a dataset of plain images).

No keras here: numpy and Pillow only.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path

import numpy as np

from kzoo import data as datasets
from kzoo.errors import DatasetError

EDGES, MASKED, NOISY, THICK = "mnist-5k:edges", "mnist-5k:masked", "mnist-5k:noisy", "mnist-5k:thick"
PAIRED_TASKS = (EDGES, MASKED, NOISY)
UNPAIRED_TASKS = (THICK,)
TASKS = PAIRED_TASKS + UNPAIRED_TASKS

# The masked task's hole: a centred square, the size context-encoder fills by default.
HOLE_SIZE = 12
# The noisy task's degradation, in the [-1, 1] pixel scale.
BLUR_SIGMA, NOISE_SIGMA = 1.0, 0.4
# Seeds of the task's fixed randomness (noise, the split of the train digits into two domains).
NOISE_SEED, HALVES_SEED = 20261201, 20261202

PAIRED_FORMATS = "mnist-5k:edges, mnist-5k:masked, mnist-5k:noisy, or an .npz with arrays a and b (one b per a)"
UNPAIRED_FORMATS = "mnist-5k:thick, or a folder with subfolders A/ and B/"


@dataclasses.dataclass
class ImagePairs:
    """Two sets of images, float32 NHWC in [-1, 1]; `b[i]` is `a[i]`'s target when `paired`.

    `labels_a` / `labels_b` are the digit classes where known (class preservation).
    `hole` is the (top, left, size) of the region the masked task blanked out, else None.
    """

    a: np.ndarray
    b: np.ndarray
    paired: bool
    source: str
    labels_a: np.ndarray | None = None
    labels_b: np.ndarray | None = None
    hole: tuple | None = None

    @property
    def image_shape(self):
        return tuple(self.a.shape[1:])


# --------------------------------------------------------------------------- transforms (numpy)


def _neighbourhood(x01, radius=1):
    """The (2r+1)^2 shifted copies of images (N, H, W, C), zero outside: (k, N, H, W, C)."""
    pad = ((0, 0), (radius, radius), (radius, radius), (0, 0))
    padded = np.pad(x01, pad)
    h, w = x01.shape[1:3]
    span = 2 * radius + 1
    return np.stack([padded[:, i : i + h, j : j + w] for i in range(span) for j in range(span)])


def _to01(x):
    return (np.asarray(x, np.float32) + 1.0) / 2.0


def _from01(x01):
    return np.clip(x01 * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)


def edges(x):
    """The outline of each digit: 3x3 grey dilation minus 3x3 grey erosion (a morphological gradient)."""
    shifted = _neighbourhood(_to01(x))
    return _from01(shifted.max(axis=0) - shifted.min(axis=0))


def thicken(x):
    """Strokes thickened by a 3x3 grey dilation (about 2 px wider)."""
    return _from01(_neighbourhood(_to01(x)).max(axis=0))


def hole_box(image_shape, size=HOLE_SIZE):
    """(top, left, size) of the centred square hole in images of `image_shape`."""
    h, w = image_shape[:2]
    if size > min(h, w):
        raise DatasetError(f"a {size}x{size} hole does not fit in {h}x{w} images")
    return (h - size) // 2, (w - size) // 2, size


def mask_centre(x, fill, size=HOLE_SIZE):
    """Images with their centred `size` x `size` square set to `fill` (Pathak et al.'s mean fill)."""
    top, left, size = hole_box(x.shape[1:], size)
    masked = np.array(x, dtype=np.float32, copy=True)
    masked[:, top : top + size, left : left + size, :] = fill
    return masked


def _gaussian_blur(x, sigma):
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = np.asarray(x, np.float64)
    for axis in (1, 2):  # separable: rows, then columns; edges repeat the border pixel
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        size = out.shape[axis]
        out = sum(t * np.take(padded, np.arange(k, k + size), axis=axis) for k, t in enumerate(taps))
    return out.astype(np.float32)


def degrade(x, seed):
    """Blurred (Gaussian, BLUR_SIGMA px) and noisy (NOISE_SIGMA, in [-1, 1] units) images, clipped."""
    rng = np.random.default_rng(seed)
    noisy = _gaussian_blur(x, BLUR_SIGMA) + rng.normal(0.0, NOISE_SIGMA, np.shape(x)).astype(np.float32)
    return np.clip(noisy, -1.0, 1.0).astype(np.float32)


def mean_colour():
    """The mean pixel value of the train split in [-1, 1]: the masked task's fill."""
    from kzoo.metrics import splits

    x, _ = splits.train_images()
    return float(np.mean(x))


# --------------------------------------------------------------------------- loading


def is_task(spec):
    """Whether `spec` names a built-in task (spelling as `kzoo.data` allows)."""
    return _task_name(spec) is not None


def _task_name(spec):
    if not isinstance(spec, str):
        return None
    text = spec.strip().lower().replace("_", "-").replace("mnist5k", "mnist-5k")
    return text if text in TASKS else None


def describe(spec):
    """The canonical name of a built-in task, or None."""
    return _task_name(spec)


def load_pairs(spec, split="train"):
    """`ImagePairs` from a built-in task name, an .npz with `a` and `b`, or a folder with A/ and B/.

    `split` ("train" or "heldout") applies to built-in tasks only. Raises DatasetError with one
    line for anything else.
    """
    name = _task_name(spec)
    if name is not None:
        return _task_pairs(name, split)
    if _names_single_images(spec):
        raise DatasetError(
            f"{datasets.describe(spec)} holds single images, not pairs; image-to-image models train on "
            f"{PAIRED_FORMATS}, or (cyclegan) {UNPAIRED_FORMATS}"
        )
    if not isinstance(spec, (str, os.PathLike)):
        raise DatasetError(f"a dataset is a name or a path, not {type(spec).__name__}")
    path = Path(os.path.expanduser(os.fspath(spec)))
    if path.is_dir():
        return _folder_domains(path.resolve())
    if path.is_file():
        return _npz_pairs(path.resolve())
    if isinstance(spec, os.PathLike) or datasets._looks_like_path(str(spec)):
        raise DatasetError(f"no such file or folder: {spec}; expected {PAIRED_FORMATS}, or (cyclegan) {UNPAIRED_FORMATS}")
    close = difflib.get_close_matches(str(spec).strip().lower(), TASKS, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    raise DatasetError(
        f"unknown dataset {str(spec)!r}; {hint}image-to-image models take {PAIRED_FORMATS}, "
        f"or (cyclegan) {UNPAIRED_FORMATS}"
    )


def _names_single_images(spec):
    """Whether `spec` is one of kzoo.data's built-in image sets (mnist-5k, its splits, keras.datasets)."""
    if spec is None:
        return True
    if not isinstance(spec, str):
        return False
    try:
        return datasets.describe(spec) in datasets.DATASETS + datasets.SPLITS
    except DatasetError:
        return False


def _task_pairs(name, split):
    from kzoo.metrics import splits

    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    x, y = splits.train_images() if split == "train" else splits.heldout_images()
    y = y.astype(np.int32)
    source = name if split == "train" else f"{name} (held-out)"
    if name == EDGES:
        return ImagePairs(edges(x), x, True, source, y, y)
    if name == MASKED:
        return ImagePairs(mask_centre(x, mean_colour()), x, True, source, y, y, hole=hole_box(x.shape[1:]))
    if name == NOISY:
        return ImagePairs(degrade(x, [NOISE_SEED, 0 if split == "train" else 1]), x, True, source, y, y)
    # THICK. Held out: both domains of the same digits, paired, as ground truth for both directions.
    if split == "heldout":
        return ImagePairs(x, thicken(x), True, source, y, y)
    order = np.random.default_rng(HALVES_SEED).permutation(len(x))
    half_a, half_b = np.sort(order[: len(x) // 2]), np.sort(order[len(x) // 2 :])
    return ImagePairs(x[half_a], thicken(x[half_b]), False, source, y[half_a], y[half_b])


def _npz_pairs(path):
    from zipfile import BadZipFile, is_zipfile

    expected = "an .npz with arrays a and b (N,H,W) or (N,H,W,C)"
    if not is_zipfile(path):
        raise DatasetError(f"{path} is not an .npz file; expected {expected}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if not {"a", "b"} <= names:
                found = ", ".join(sorted(names)) or "no arrays"
                raise DatasetError(f"{path} has no arrays a and b (found: {found}); image-to-image models take {expected}")
            a, b = archive["a"], archive["b"]
            labels = archive["labels"] if "labels" in names else archive["y"] if "y" in names else None
    except DatasetError:
        raise
    except (OSError, ValueError, BadZipFile, EOFError) as error:
        raise DatasetError(f"could not read {path} ({type(error).__name__}: {error})") from error
    a = datasets._to_images(a, f"{path} (array a)")
    b = datasets._to_images(b, f"{path} (array b)")
    _check_same_size(a, b, f"{path}: images in a", "in b")
    paired = len(a) == len(b)
    if labels is not None:
        labels = datasets._to_labels(labels, len(a), f"{path} (labels of a)")
    return ImagePairs(a, b, paired, str(path), labels, labels if paired else None)


def _domain_folders(folder):
    """The (A, B) subfolders of an unpaired dataset folder, or None."""
    names = {p.name: p for p in folder.iterdir() if p.is_dir()}
    for first, second in (("A", "B"), ("trainA", "trainB")):
        if first in names and second in names:
            return names[first], names[second]
    return None


def _folder_domains(folder):
    domains = _domain_folders(folder)
    if domains is None:
        raise DatasetError(
            f"{folder} has no subfolders A/ and B/; image-to-image models take {PAIRED_FORMATS}, "
            f"or (cyclegan) {UNPAIRED_FORMATS}"
        )
    a_dir, b_dir = domains
    a = _folder_images(a_dir)
    b = _folder_images(b_dir)
    _check_same_size(a, b, f"{a_dir}: images", f"in {b_dir}")
    return ImagePairs(a, b, False, str(folder))


def _folder_images(folder):
    """The images of one domain folder (as kzoo.data reads a folder); class labels are dropped."""
    return datasets.load(folder)[0]


def _check_same_size(a, b, first, second):
    if a.shape[1:] != b.shape[1:]:
        raise DatasetError(
            f"{first} are {_dims(a.shape[1:])} but those {second} are {_dims(b.shape[1:])}; "
            "both domains need one image size and channel count"
        )


def _dims(shape):
    h, w, c = shape
    return f"{h}x{w}x{c}"


# --------------------------------------------------------------------------- what fit takes


def fit_arrays(pairs, paired, model_name, seed=0):
    """(x, y) for `fit`: A and B, one B per A.

    A paired model (`paired=True`) needs paired data: anything else raises DatasetError. An
    unpaired model takes either; unpaired domains of different sizes are matched by drawing
    extra images of the smaller one (seeded), and B is shuffled so that rows are not pairs
    (CycleGAN's losses never compare a[i] with b[i]; only the batches' contents matter).
    """
    if paired and not pairs.paired:
        if len(pairs.a) != len(pairs.b) and not _task_name(pairs.source):
            raise DatasetError(
                f"{pairs.source}: a has {len(pairs.a)} images but b has {len(pairs.b)}; {model_name} trains on "
                "pairs and needs one b per a"
            )
        raise DatasetError(
            f"{pairs.source} holds unpaired domains; {model_name} trains on pairs: {PAIRED_FORMATS}"
        )
    if paired:
        return pairs.a, pairs.b
    rng = np.random.default_rng(seed)
    a, b = pairs.a, pairs.b
    n = max(len(a), len(b))
    a = _extended(a, n, rng)
    b = _extended(b, n, rng)
    return a, b[rng.permutation(n)]


def _extended(images, n, rng):
    if len(images) == n:
        return images
    extra = rng.choice(len(images), n - len(images), replace=n - len(images) > len(images))
    return np.concatenate([images, images[extra]])
