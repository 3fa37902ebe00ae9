"""The standard FID, for figures to set beside published ones: InceptionV3 pool features, from weights on disk.

kzoo never downloads anything: `keras.applications.InceptionV3(weights=FILE)` with a file the
user has (the usual one is Keras's `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`), never
`weights="imagenet"`. Images in [-1, 1] (which is InceptionV3's own input range, its
`preprocess_input`) are resized bilinearly to 299x299, grey ones repeated to 3 channels, and the
2048-d average-pool features of both sets give the Frechet distance `fid_inception`.

It is the standard network and feature layer, but not the exact pipeline of the FID papers
(TensorFlow's 2015 graph, its own resize): expect figures close to published ones, not equal.
`build_network` is the seam the tests replace with a tiny stand-in (a real InceptionV3 takes
seconds to build and minutes to run on a CPU).
"""

from __future__ import annotations

import os

import numpy as np

from kzoo.errors import KzooError
from kzoo.metrics import stats as _stats

INPUT_SIZE = 299
FEATURES = 2048
BATCH_SIZE = 50


def build_network(weights_file):
    """InceptionV3 without its top, average-pooled, channels_last, with the weights in `weights_file`.

    Raises:
        KzooError: one line, for a missing file or weights that do not fit the network.
    """
    import keras

    if not os.path.isfile(weights_file):
        raise KzooError(f"no InceptionV3 weights file at {weights_file}; kzoo never downloads them: give the "
                        "path of a Keras InceptionV3 (no top) weights file you have")
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_last")  # the input shape below is channels_last
    try:
        return keras.applications.InceptionV3(include_top=False, pooling="avg", weights=os.fspath(weights_file),
                                              input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
    except Exception as e:  # wrong layers, a truncated or foreign file: Keras's errors are many and long
        text = " ".join(str(e).split())[:160]
        raise KzooError(f"{weights_file} does not hold InceptionV3 (no top) weights ({type(e).__name__}: {text})") from e
    finally:
        keras.config.set_image_data_format(previous)


_NETWORKS: dict = {}


def network(weights_file):
    """`build_network(weights_file)`, built once per file and backend."""
    import keras

    key = (os.path.abspath(os.fspath(weights_file)), keras.backend.backend())
    if key not in _NETWORKS:
        _NETWORKS[key] = build_network(weights_file)
    return _NETWORKS[key]


def features(images, model, batch_size=BATCH_SIZE):
    """The (N, 2048) float64 pool features of images (N, H, W, 1 or 3) in [-1, 1]."""
    import keras
    from keras import ops

    images = np.asarray(images, dtype=np.float32)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        count = len(batch)
        if count < batch_size:  # one shape for the compiled predict function
            batch = np.concatenate([batch, np.zeros((batch_size - count,) + batch.shape[1:], np.float32)])
        resized = ops.image.resize(batch, (INPUT_SIZE, INPUT_SIZE), interpolation="bilinear",
                                   data_format="channels_last")
        pooled = model.predict_on_batch(ops.clip(resized, -1.0, 1.0))
        out.append(keras.ops.convert_to_numpy(pooled)[:count])
    return np.concatenate(out).astype(np.float64)


def fid(images, reference_images, weights_file, batch_size=BATCH_SIZE) -> float:
    """The Frechet distance between InceptionV3 pool features of `images` and of `reference_images`.

    Args:
        images, reference_images: float arrays (N, H, W, C) in [-1, 1], C = 1 or 3.
        weights_file: a Keras InceptionV3 weights file (no top) on disk.
        batch_size: images per forward pass.
    """
    model = network(weights_file)
    mu, sigma = _stats.feature_statistics(features(images, model, batch_size))
    ref_mu, ref_sigma = _stats.feature_statistics(features(reference_images, model, batch_size))
    return _stats.frechet_distance(ref_mu, ref_sigma, mu, sigma)
