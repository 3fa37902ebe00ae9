"""JAX: pure gradients over a `keras.StatelessScope` inside Keras's jitted, state-threading step.

By concern, as Keras lays out `keras/src/backend/jax/`: `trainer.py` (the step, gradients, input
gradients: how kzoo's stateful-looking step runs inside Keras's stateless one), `nn.py` (the
transposed convolution as a sub-pixel convolution), `distribution.py` (data parallelism over
devices and processes). This module binds the interface `kzoo.backend` re-exports (listed in
its docstring).
"""

from kzoo.backend import common
from kzoo.backend.jax import distribution, nn, trainer

common.default_xla_flags()  # before JAX first computes: see common.XLA_CPU_FLAGS

CONV_DATA_FORMAT = nn.CONV_DATA_FORMAT
resolve_jit_compile = trainer.resolve_jit_compile
supports_second_order = trainer.supports_second_order
run_train_step = trainer.run_train_step
minimize = trainer.minimize
input_gradient = trainer.input_gradient
fit_arguments = common.arguments_unchanged  # Keras's own array pipeline
set_seed = trainer.set_seed
conv_transpose = nn.conv_transpose
batch_norm_training = nn.batch_norm_training
run_network = common.no_fast_path  # inside jit, Keras's per-layer bookkeeping runs once, when tracing
declare_layer = common.ignore_layer_role  # no fast path knows a layer by its role here
data_parallel = distribution.data_parallel
agreed_seed = distribution.agreed_seed
saving_scope = common.saving_without_importing_tensorflow  # TensorFlow may be installed beside
