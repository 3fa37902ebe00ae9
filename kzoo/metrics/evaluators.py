"""Any evaluator, by name or directory: what it reads (shape, classes), its reference and its floor.

An evaluator is a directory of three files: the classifier's weights, the held-out reference (the
embeddings, class probabilities and labels of a data set's held-out split) and evaluator.json
(id, input shape, classes, sha256 of both files, held-out accuracy, the data set and its split,
the real-vs-real floor, versions). kzoo ships two:

* ``kzoo-digits-v1`` (also ``digits``): 28x28x1 digits, kzoo/metrics/assets/ (benchmarks/train_evaluator.py);
* ``kzoo-emoji32-v1`` (also ``emoji32``): 32x32x3 emoji, kzoo/metrics/assets/emoji32/
  (benchmarks/fit_evaluators.py);

and `kzoo fit-evaluator DATA --out DIR` (kzoo.metrics.fitting) makes one for any labelled data set.
`open_evaluator` reads only evaluator.json; the weights and the reference are verified against
their sha256 when first used (kzoo.metrics.evaluator). No keras until then.
"""

from __future__ import annotations

import os

import numpy as np

from kzoo.errors import KzooError
from kzoo.metrics import evaluator as _ev

DIGITS_ID = _ev.EVALUATOR_ID
EMOJI32_ID = "kzoo-emoji32-v1"
EMOJI32_DIR = os.path.join(_ev.ASSETS_DIR, "emoji32")
# The evaluators shipped inside kzoo: id -> directory, and the short names that mean them.
SHIPPED = {DIGITS_ID: _ev.ASSETS_DIR, EMOJI32_ID: EMOJI32_DIR}
ALIASES = {"digits": DIGITS_ID, "mnist-5k": DIGITS_ID, "emoji32": EMOJI32_ID}
DIGITS_SHAPE = tuple(_ev.INPUT_SHAPE)


def dims(shape) -> str:
    return "x".join(str(int(d)) for d in shape)


class Evaluator:
    """One evaluator directory, described by its evaluator.json; its network and reference load on first use.

    Args:
        directory: the evaluator directory.

    Raises:
        EvaluatorChecksumError: one line, when the directory holds no readable evaluator.json or
            it does not say what images the evaluator reads.
    """

    def __init__(self, directory):
        self.directory = os.path.abspath(os.fspath(directory))
        self.info = _ev.load_info(self.directory)
        self.is_digits = "architecture" not in self.info
        try:
            shape = DIGITS_SHAPE if self.is_digits else tuple(int(d) for d in self.info["architecture"]["input_shape"])
            classes = _ev.NUM_CLASSES if self.is_digits else int(self.info["architecture"]["num_classes"])
        except (KeyError, TypeError, ValueError):
            raise _ev.EvaluatorChecksumError(
                f"{os.path.join(self.directory, _ev.INFO_FILE)} does not say what images the evaluator reads "
                "(architecture: input_shape, num_classes)") from None
        if len(shape) != 3 or min(shape) < 1 or classes < 2:
            raise _ev.EvaluatorChecksumError(
                f"{os.path.join(self.directory, _ev.INFO_FILE)} records an impossible input shape {shape} "
                f"or {classes} classes")
        self.input_shape = shape
        self.num_classes = classes

    # ------------------------------------------------------------------ what evaluator.json says
    @property
    def id(self) -> str:
        return str(self.info.get("id", DIGITS_ID if self.is_digits else os.path.basename(self.directory)))

    @property
    def class_names(self):
        """The names of the classes, by label (None when the data had none)."""
        if self.is_digits:
            return [str(c) for c in range(_ev.NUM_CLASSES)]
        return self.info.get("class_names")

    @property
    def data(self) -> dict:
        """The data set it was fitted on: spec, pixels_sha256, heldout_share, split_seed (and more)."""
        if self.is_digits:
            from kzoo.data import splits

            return {"spec": "mnist-5k", "heldout_share": 0.2, "split_seed": splits.SPLIT_SEED}
        return dict(self.info.get("data") or {})

    @property
    def fitted_on(self) -> str:
        """The data set it was fitted on, in words."""
        return f"{self.data.get('spec', 'unknown data')}:train"

    @property
    def heldout_name(self) -> str:
        """Its reference, in words: the held-out split of the data set it was fitted on."""
        return f"{self.data.get('spec', 'unknown data')}:heldout"

    @property
    def floor(self) -> dict | None:
        """The recorded real-vs-real floor (train-split images against the held-out reference), or None."""
        floor = self.info.get("real_floor_n1000") if self.is_digits else self.info.get("real_floor")
        return dict(floor) if floor else None

    def check_shape(self, shape, what: str = "the images") -> None:
        """Raise a one-line KzooError unless images of `shape` (H, W, C) are what this evaluator reads."""
        shape = tuple(int(d) for d in shape)
        if shape != self.input_shape:
            if self.is_digits:
                raise KzooError(f"the digit evaluator takes {dims(self.input_shape)} images; {what} are {dims(shape)} "
                                "(fit one for your data: kzoo fit-evaluator DATA --out DIR, then --evaluator DIR)")
            raise KzooError(f"the evaluator {self.id} takes {dims(self.input_shape)} images; {what} are {dims(shape)}")

    # ------------------------------------------------------------------ network and reference (verified)
    def network(self):
        """The feature model ([embedding, logits]) with verified weights (keras)."""
        return _ev.load_evaluator(self.directory)

    def reference(self) -> dict:
        """The verified held-out reference: embeddings, probs, labels (and indices)."""
        return _ev.load_reference(self.directory)

    def embed(self, images, batch_size: int = 500):
        """(embeddings float32 (N, d), class probabilities float64 (N, classes)) of images in [-1, 1]."""
        return _ev.embed(images, batch_size=batch_size, model=self.network())

    def __repr__(self):
        return f"Evaluator({self.id!r}, {dims(self.input_shape)}, {self.num_classes} classes, {self.directory!r})"


def open_evaluator(spec=None) -> Evaluator:
    """The evaluator `spec` names.

    Args:
        spec: None (kzoo-digits-v1), an `Evaluator`, a shipped evaluator's id or short name
            (`SHIPPED`, `ALIASES`), or an evaluator directory (str or os.PathLike).

    Returns:
        An `Evaluator`.

    Raises:
        KzooError: one line, for a name that is no evaluator, a missing directory, or a directory
            whose evaluator.json is missing or unreadable (EvaluatorChecksumError).
    """
    if isinstance(spec, Evaluator):
        return spec
    if spec is None:
        return Evaluator(_ev.ASSETS_DIR)
    text = os.fspath(spec)
    name = ALIASES.get(text.strip().lower(), text.strip())
    if name in SHIPPED:
        if not os.path.isfile(os.path.join(SHIPPED[name], _ev.INFO_FILE)):
            raise _ev.EvaluatorChecksumError(f"the shipped evaluator {name} is missing from this installation "
                                             f"({SHIPPED[name]}); reinstall kzoo")
        return Evaluator(SHIPPED[name])
    path = os.path.expanduser(text)
    if os.path.isdir(path):
        return Evaluator(path)
    if os.path.exists(path):
        raise KzooError(f"{text} is a file; an evaluator is a directory (made by kzoo fit-evaluator DATA --out DIR)")
    shipped = ", ".join(f"{i} ({a})" for a, i in ALIASES.items() if a != "mnist-5k")
    raise KzooError(f"no evaluator {text!r}: give an evaluator directory (kzoo fit-evaluator DATA --out DIR) "
                    f"or a shipped one: {shipped}")


def label_shares(evaluator: Evaluator) -> np.ndarray:
    """Each class's share of the evaluator's held-out reference (its true labels)."""
    labels = np.asarray(evaluator.reference()["labels"], dtype=np.int64).reshape(-1)
    return np.bincount(labels, minlength=evaluator.num_classes) / max(labels.shape[0], 1)
