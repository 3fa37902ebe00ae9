"""The kzoo-digits-v1 evaluator, and loading any evaluator directory: verified weights and reference.

kzoo-digits-v1 is defined in code here; trained by benchmarks/train_evaluator.py on the train
split of mnist-5k only (kzoo.metrics.splits), which writes the assets next to this file:

* assets/digit_evaluator.weights.h5 - the weights (backend-independent Keras 3 format);
* assets/heldout_reference.npz      - embeddings and class probabilities of the 1000
                                      held-out images (the metric reference);
* assets/evaluator.json             - id, sha256 of both files, held-out accuracy, versions.

Every other evaluator is a directory of the same three kinds of file, made by `kzoo fit-evaluator`
(kzoo.metrics.fitting), whose evaluator.json also records its network (kzoo.metrics.network); the
functions below load either kind, by directory. The loader checks both sha256 sums and raises
EvaluatorChecksumError on a mismatch, so a metric is never silently computed with other weights
than the ones its id names. keras is imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from kzoo.errors import KzooError

EVALUATOR_ID = "kzoo-digits-v1"
EMBEDDING_DIM = 64
NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)

ASSETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
WEIGHTS_FILE = "digit_evaluator.weights.h5"
REFERENCE_FILE = "heldout_reference.npz"
INFO_FILE = "evaluator.json"


class EvaluatorChecksumError(KzooError):
    """An evaluator asset whose sha256 differs from the one recorded in evaluator.json."""


def build_evaluator(embedding_dim: int = EMBEDDING_DIM):
    """The digit classifier: image (28, 28, 1) in [-1, 1] -> 10 logits.

    Its layer named "embedding" (Dense, tanh, `embedding_dim` units) is the feature space
    of the metrics: tanh keeps every unit alive (a ReLU layer here lost half its units) and
    the features in [-1, 1], the scale the KID kernel (x.y/d + 1)^3 is meant for. About 167k parameters (0.7 MB of weights). channels_last explicitly,
    whatever keras.config.image_data_format() says.
    """
    import keras
    from keras import layers

    def conv(filters, name):
        return layers.Conv2D(filters, 3, padding="same", activation="relu",
                             data_format="channels_last", name=name)

    def pool(name):
        return layers.MaxPooling2D(2, data_format="channels_last", name=name)

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = pool("pool1")(conv(32, "conv1")(inputs))      # 14x14x32
    x = pool("pool2")(conv(64, "conv2")(x))           # 7x7x64
    x = pool("pool3")(conv(128, "conv3")(x))          # 3x3x128
    x = layers.Flatten(data_format="channels_last", name="flatten")(x)
    x = layers.Dense(embedding_dim, activation="tanh", name="embedding")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="kzoo_digits_v1")


def feature_model(classifier):
    """A model with the classifier's weights returning [embedding, logits]."""
    import keras

    return keras.Model(classifier.input,
                       [classifier.get_layer("embedding").output, classifier.outputs[0]],
                       name=f"{classifier.name}_features")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_digits(info: dict) -> bool:
    """kzoo-digits-v1's evaluator.json records no network: its network is `build_evaluator`."""
    return "architecture" not in info


def _remedy(info: dict) -> str:
    if _is_digits(info):
        return ("Reinstall kzoo, or rerun benchmarks/train_evaluator.py and bump the evaluator id.")
    return "Fit it again with kzoo fit-evaluator (or reinstall kzoo, for a shipped one)."


def _verified(assets_dir: str, filename: str, expected: str | None, info: dict | None = None) -> str:
    info = {} if info is None else info
    evaluator_id = info.get("id", EVALUATOR_ID)
    path = os.path.join(assets_dir, filename)
    if not os.path.exists(path):
        where = ("run benchmarks/train_evaluator.py to create it" if _is_digits(info)
                 else "fit the evaluator again with kzoo fit-evaluator")
        raise EvaluatorChecksumError(f"evaluator asset {path} is missing; {where}")
    if not expected:
        raise EvaluatorChecksumError(f"{INFO_FILE} records no sha256 for {filename}")
    actual = sha256_file(path)
    if actual != expected:
        raise EvaluatorChecksumError(
            f"{path} has sha256 {actual}, but {INFO_FILE} records {expected}: the file is "
            f"corrupt or not the {evaluator_id} evaluator. {_remedy(info)}")
    return path


def load_info(assets_dir: str | None = None) -> dict:
    """The contents of evaluator.json (of kzoo-digits-v1, or of the evaluator directory given)."""
    path = os.path.join(assets_dir or ASSETS_DIR, INFO_FILE)
    if not os.path.exists(path):
        if assets_dir is None or os.path.abspath(assets_dir) == ASSETS_DIR:
            raise EvaluatorChecksumError(
                f"{path} is missing; run benchmarks/train_evaluator.py to create the evaluator assets")
        raise EvaluatorChecksumError(
            f"{assets_dir} is not an evaluator (no {INFO_FILE} in it); make one with "
            f"kzoo fit-evaluator DATA --out DIR")
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        raise EvaluatorChecksumError(f"{path} is not readable JSON ({type(e).__name__}); {_remedy({'architecture': 1})}")
    if not isinstance(info, dict):
        raise EvaluatorChecksumError(f"{path} holds no evaluator description (a JSON object)")
    return info


_MODELS: dict = {}
_REFERENCES: dict = {}


def _build(info: dict):
    if _is_digits(info):
        return build_evaluator(int(info.get("embedding_dim", EMBEDDING_DIM)))
    from kzoo.metrics import network

    try:
        return network.build_classifier(info["architecture"])
    except (KeyError, TypeError, ValueError) as e:
        raise EvaluatorChecksumError(
            f"{INFO_FILE} of {info.get('id')!r} describes a network this kzoo cannot build ({type(e).__name__}: {e})")


def load_evaluator(assets_dir: str | None = None):
    """The feature model ([embedding, logits]) with verified weights; cached per directory and backend.

    Args:
        assets_dir: an evaluator directory (default: kzoo-digits-v1's assets).
    """
    import keras

    assets_dir = os.path.abspath(assets_dir or ASSETS_DIR)
    info = load_info(assets_dir)
    key = (assets_dir, keras.backend.backend())
    if key not in _MODELS:
        path = _verified(assets_dir, info.get("weights_file", WEIGHTS_FILE), info.get("weights_sha256"), info)
        classifier = _build(info)
        try:
            classifier.load_weights(path)
        except Exception as e:  # the right checksum but weights of another network: a hand-edited directory
            raise EvaluatorChecksumError(
                f"{path} does not fit the network {INFO_FILE} describes ({type(e).__name__}); {_remedy(info)}") from e
        _MODELS[key] = feature_model(classifier)
    return _MODELS[key]


def load_reference(assets_dir: str | None = None) -> dict:
    """The held-out reference: embeddings (n, d) float32, probs (n, classes), labels, indices."""
    assets_dir = os.path.abspath(assets_dir or ASSETS_DIR)
    if assets_dir not in _REFERENCES:
        info = load_info(assets_dir)
        path = _verified(assets_dir, info.get("reference_file", REFERENCE_FILE), info.get("reference_sha256"), info)
        try:
            with np.load(path, allow_pickle=False) as data:
                _REFERENCES[assets_dir] = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError) as e:
            raise EvaluatorChecksumError(f"{path} is not a readable .npz ({type(e).__name__}); {_remedy(info)}") from e
        if "embeddings" not in _REFERENCES[assets_dir]:
            del _REFERENCES[assets_dir]
            raise EvaluatorChecksumError(f"{path} holds no reference embeddings; {_remedy(info)}")
    return _REFERENCES[assets_dir]


def clear_cache():
    _MODELS.clear()
    _REFERENCES.clear()


def _softmax(logits):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def embed(images, *, batch_size: int = 500, model=None, assets_dir: str | None = None):
    """(embeddings float32 (N, d), class probabilities float64 (N, classes)) of images in [-1, 1].

    Every batch is padded to `batch_size`, so the compiled predict function sees one shape.
    """
    import keras

    model = model or load_evaluator(assets_dir)
    images = np.asarray(images, dtype=np.float32)
    n = images.shape[0]
    embs, logits = [], []
    for s in range(0, n, batch_size):
        batch = images[s:s + batch_size]
        m = batch.shape[0]
        if m < batch_size:
            batch = np.concatenate([batch, np.zeros((batch_size - m,) + batch.shape[1:], np.float32)])
        e, l = model.predict_on_batch(batch)
        embs.append(keras.ops.convert_to_numpy(e)[:m])
        logits.append(keras.ops.convert_to_numpy(l)[:m])
    emb = np.concatenate(embs).astype(np.float32)
    return emb, _softmax(np.concatenate(logits))
