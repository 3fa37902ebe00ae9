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

  Training uses the 4,000 images of the train split (kzoo.data.splits); the unpaired task
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

`heldout_pairs(spec)` is the ground truth a translation model is scored on.

No keras here: numpy and Pillow only.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path

import numpy as np

from kzoo.data import readers, specs, splits
from kzoo.data.arrays import dims, to_images, to_labels
from kzoo.data.specs import PAIRED_FORMATS, TASKS, UNPAIRED_FORMATS
from kzoo.data.transforms import degrade, edges, hole_box, mask_centre, mean_colour, thicken
from kzoo.errors import DatasetError

# Seeds of the tasks' fixed randomness (noise, the split of the train digits into two domains).
NOISE_SEED, HALVES_SEED = 20261201, 20261202


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


# --------------------------------------------------------------------------- loading


def is_task(spec):
    """Whether `spec` names a built-in task (spelling as `kzoo.data` allows)."""
    return specs.task_name(spec) is not None


def describe(spec):
    """The canonical name of a built-in task, or None."""
    return specs.task_name(spec)


def load_pairs(spec, split="train"):
    """`ImagePairs` from a built-in task name, an .npz with `a` and `b`, or a folder with A/ and B/.

    `split` ("train" or "heldout") applies to built-in tasks only. Raises DatasetError with one
    line for anything else.
    """
    name = specs.task_name(spec)
    if name is not None:
        return _task_pairs(name, split)
    if specs.names_single_images(spec):
        raise DatasetError(
            f"{specs.describe(spec)} holds single images, not pairs; image-to-image models train on "
            f"{PAIRED_FORMATS}, or (cyclegan) {UNPAIRED_FORMATS}"
        )
    if not isinstance(spec, (str, os.PathLike)):
        raise DatasetError(f"a dataset is a name or a path, not {type(spec).__name__}")
    path = Path(os.path.expanduser(os.fspath(spec)))
    if path.is_dir():
        return _folder_domains(path.resolve())
    if path.is_file():
        return _npz_pairs(path.resolve())
    if isinstance(spec, os.PathLike) or specs.looks_like_path(str(spec)):
        raise DatasetError(f"no such file or folder: {spec}; expected {PAIRED_FORMATS}, or (cyclegan) {UNPAIRED_FORMATS}")
    close = difflib.get_close_matches(str(spec).strip().lower(), TASKS, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    raise DatasetError(
        f"unknown dataset {str(spec)!r}; {hint}image-to-image models take {PAIRED_FORMATS}, "
        f"or (cyclegan) {UNPAIRED_FORMATS}"
    )


def _task_pairs(name, split):
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    x, y = splits.train_images() if split == "train" else splits.heldout_images()
    y = y.astype(np.int32)
    source = name if split == "train" else f"{name} (held-out)"
    if name == specs.EDGES:
        return ImagePairs(edges(x), x, True, source, y, y)
    if name == specs.MASKED:
        return ImagePairs(mask_centre(x, mean_colour()), x, True, source, y, y, hole=hole_box(x.shape[1:]))
    if name == specs.NOISY:
        return ImagePairs(degrade(x, [NOISE_SEED, 0 if split == "train" else 1]), x, True, source, y, y)
    # THICK. Held out: both domains of the same digits, paired, as ground truth for both directions.
    if split == "heldout":
        return ImagePairs(x, thicken(x), True, source, y, y)
    order = np.random.default_rng(HALVES_SEED).permutation(len(x))
    half_a, half_b = np.sort(order[: len(x) // 2]), np.sort(order[len(x) // 2 :])
    return ImagePairs(x[half_a], thicken(x[half_b]), False, source, y[half_a], y[half_b])


def heldout_pairs(dataset):
    """The ground-truth pairs to score a translation model on, for a dataset spec.

    A built-in task: its 1,000 held-out digits (paired, with classes). A path: the pairs in it,
    as given (pass held-out data; a folder of unpaired domains has no ground truth).
    """
    pairs = load_pairs(dataset, split="heldout")
    if not pairs.paired:
        raise DatasetError(
            f"{pairs.source} holds unpaired images: scoring needs pairs with ground truth, "
            "an .npz with arrays a and b (and optional labels)"
        )
    return pairs


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
    a = to_images(a, f"{path} (array a)")
    b = to_images(b, f"{path} (array b)")
    _check_same_size(a, b, f"{path}: images in a", "in b")
    paired = len(a) == len(b)
    if labels is not None:
        labels = to_labels(labels, len(a), f"{path} (labels of a)")
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
    return readers.image_folder(folder)[0]


def _check_same_size(a, b, first, second):
    if a.shape[1:] != b.shape[1:]:
        raise DatasetError(
            f"{first} are {dims(a.shape[1:])} but those {second} are {dims(b.shape[1:])}; "
            "both domains need one image size and channel count"
        )


# --------------------------------------------------------------------------- what fit takes


def fit_arrays(pairs, paired, model_name, seed=0):
    """(x, y) for `fit`: A and B, one B per A.

    A paired model (`paired=True`) needs paired data: anything else raises DatasetError. An
    unpaired model takes either; unpaired domains of different sizes are matched by drawing
    extra images of the smaller one (seeded), and B is shuffled so that rows are not pairs
    (CycleGAN's losses never compare a[i] with b[i]; only the batches' contents matter).
    """
    if paired and not pairs.paired:
        if len(pairs.a) != len(pairs.b) and not specs.task_name(pairs.source):
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
