"""Pieces the backend modules share (no backend imports here)."""

import contextlib
import os
import random
import sys

import keras
import numpy as np


def same_jit_compile(jit_compile):
    """`jit_compile` as Keras reads it (every backend but TensorFlow keeps Keras's meaning)."""
    return jit_compile


def arguments_unchanged(arguments):
    """`fit()`'s arguments as given (every backend but TensorFlow feeds arrays Keras's way)."""
    return arguments


def no_fast_path(*args, **kwargs):
    """A layer fast path this backend does not have: the layer runs Keras's own code."""
    return None


# The roles a layer class may declare to the backend (`kzoo.backend.declare_layer`): what a
# backend's fast paths may then assume of its instances (torch's executor and mirror use them).
# Every declared class also promises that its `call` is everything its `__call__` does in a plain
# float32 call (as for the Keras classes torch's executor takes), so that it can be called directly.
LAYER_ROLES = {
    "layout": "moves NHWC data's channels: `to` is 'conv' (NHWC -> `data_format`) or 'data' (back)",
    "conv_transpose": "computes what keras.layers.Conv2DTranspose computes, from the same attributes and weights",
    "batch_norm": "computes what keras.layers.BatchNormalization computes, from the same attributes and weights",
    "spectral_norm": "a Wrapper computing its `layer` with the kernel `normalized_kernel()[0]`, storing "
                     "`normalized_kernel()[1]` in `vector_u` in training",
    "minibatch_std": "appends features computed over the batch, spatially constant under `data_format`",
}


def check_layer_role(role):
    """Raise ValueError unless `role` is one of LAYER_ROLES."""
    if role not in LAYER_ROLES:
        raise ValueError(f"unknown layer role {role!r}; the roles are {', '.join(LAYER_ROLES)}")


def ignore_layer_role(cls, role):
    """`declare_layer` on a backend whose fast paths know no layer by role: checks `role`, returns `cls`."""
    check_layer_role(role)
    return cls


def set_seed_without_tensorflow(seed, seed_backend=None):
    """Seed Python, numpy and Keras (weight initializers, dropout) for a reproducible run.

    `keras.utils.set_random_seed` also seeds TensorFlow whenever it is installed, which imports
    it (3-5 s) even on torch or JAX; this sets the same Keras globals without it.
    `seed_backend(seed)` seeds the backend's own generator, if it has one.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # private names moved: pay for the TensorFlow import instead
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if seed_backend is not None:
        seed_backend(seed)


def conv_transpose_crops(kernel_shape, strides, padding, output_padding, dilation_rate):
    """Per spatial axis, how much Keras crops off the full transposed-convolution output.

    None when the private Keras helper moved (the layer then keeps Keras's own, slower path) or
    when Keras zero-pads instead of cropping (rare, not worth a second code path).
    """
    try:
        from keras.src.backend.common.backend_utils import compute_conv_transpose_output_crops_for_torch
    except ImportError:
        return None
    crops = compute_conv_transpose_output_crops_for_torch(
        input_shape=(None, None) + (None,) * (len(kernel_shape) - 2), kernel_shape=tuple(kernel_shape),
        strides=tuple(strides), padding=padding, output_padding=output_padding,
        dilation_rate=tuple(dilation_rate),
    )
    if any(left < 0 or right < 0 for left, right in crops):
        return None
    return crops


# XLA's CPU scheduler by default orders independent operations so that they can run at the same
# time; on a 2-core CPU, where each convolution already uses both cores, they then compete for
# them. Without it, on this project's 2-core machine: JAX's convolutional training steps ran
# 10-40% faster (benchmarks/README.md, "Closing the gaps"), TensorFlow's 2-13% (wgan-gp's input-
# dilated convolutions had taken 1.7-2.5x as long as the same ones in a hand-written loop;
# "TensorFlow: XLA's CPU scheduler"); the MLP models' steps, which leave a core free, ran about
# 10% (JAX) and 2-9% (TensorFlow) slower, the other TensorFlow models at their defaults the same
# within noise. Results are the same: only the order changes.
# The flag exists in every jaxlib and TensorFlow kzoo allows (checked back to jaxlib 0.4.30;
# XLA aborts on an unknown flag). An XLA_FLAGS setting of the user's for it wins. XLA reads the
# variable once, at its first computation (JAX) or compilation (TensorFlow): importing kzoo's
# models before that (as `kzoo train` does) is what makes it count.
XLA_CPU_FLAGS = {"--xla_cpu_enable_concurrency_optimized_scheduler": "false"}


def default_xla_flags():
    """Add XLA_CPU_FLAGS to $XLA_FLAGS, each unless the user set it (the JAX and TensorFlow modules call this)."""
    flags = os.environ.get("XLA_FLAGS", "")
    given = {token.split("=", 1)[0] for token in flags.split()}
    added = [f"{name}={value}" for name, value in XLA_CPU_FLAGS.items() if name not in given]
    os.environ["XLA_FLAGS"] = " ".join([flags.strip()] + added).strip()


def one_device_only(devices, cluster, why_not):
    """`data_parallel` on a backend that trains on one device: that device ([], process 0 of 1),
    or a DistributionError saying `why_not` when more were asked for."""
    from kzoo.errors import DistributionError

    if devices in (1, None) and cluster is None:
        return [], 0, 1
    raise DistributionError(why_not)


def same_value(value):
    """`value` itself (a backend whose training runs in one process has nothing to agree on)."""
    return value


@contextlib.contextmanager
def saving_without_importing_tensorflow():
    """Keras's serializer, while it saves a model, without importing TensorFlow (jax and torch).

    Keras 3.15's `serialize_keras_object` asks `tf.available` whether to test for TensorFlow's
    types (TensorShape, DType, TypeSpec), which imports TensorFlow wherever it is installed: on
    JAX or torch the first checkpoint then cost 3-5 s more and printed TensorFlow's start-up lines
    (oneDNN) in the middle of the run. An object of a TensorFlow type cannot exist before
    TensorFlow is imported, so until it is, "not available" is the exact answer. A model that
    uses TensorFlow on another backend (a StringLookup layer) has imported it: then nothing is changed.
    """
    try:
        from keras.src.utils.module_utils import tensorflow as lazy_tensorflow
    except ImportError:  # Keras moved it: save as Keras does (and pay for the import)
        lazy_tensorflow = None
    if lazy_tensorflow is None or "tensorflow" in sys.modules or getattr(lazy_tensorflow, "_available", True) is not None:
        yield
        return
    lazy_tensorflow._available = False
    try:
        yield
    finally:
        if "tensorflow" not in sys.modules:  # asked again later, Keras imports it as it would have
            lazy_tensorflow._available = None
