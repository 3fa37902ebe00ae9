"""TensorFlow: gradient tapes, XLA by default, and fit() input without tf.data's autotuning.

By concern, as Keras lays out `keras/src/backend/tensorflow/`: `trainer.py` (the step, gradients,
input gradients, what `jit_compile="auto"` means), `data_adapter.py` (how `fit()` feeds arrays),
`distribution.py` (devices). TensorFlow's own transposed convolution and batch normalization are
fast already, and under tf.function / XLA Keras's per-layer bookkeeping runs once, when tracing:
no layer fast paths here. This module binds the interface `kzoo.backend` re-exports (listed in
its docstring).
"""

import contextlib

from kzoo.backend import common
from kzoo.backend.tensorflow import data_adapter, distribution, trainer

# TensorFlow's XLA reads XLA_FLAGS at its first compilation, after TensorFlow's import (which
# Keras makes): see common.XLA_CPU_FLAGS.
common.default_xla_flags()

CONV_DATA_FORMAT = "channels_last"  # TensorFlow's CPU convolutions take only NHWC
resolve_jit_compile = trainer.resolve_jit_compile
supports_second_order = trainer.supports_second_order
run_train_step = trainer.run_train_step
minimize = trainer.minimize
input_gradient = trainer.input_gradient
fit_arguments = data_adapter.fit_arguments
set_seed = trainer.set_seed
conv_transpose = common.no_fast_path
batch_norm_training = common.no_fast_path
run_network = common.no_fast_path
declare_layer = common.ignore_layer_role  # no fast path knows a layer by its role here
data_parallel = distribution.data_parallel
agreed_seed = distribution.agreed_seed
saving_scope = contextlib.nullcontext  # TensorFlow is imported: Keras's serializer asks it as it likes

# Read by tests before this was a package (kzoo.backend.tensorflow was one module).
arrays_without_autotune = data_adapter.arrays_without_autotune
