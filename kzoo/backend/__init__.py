"""Everything kzoo does differently per backend, behind one small interface.

Laid out like Keras's own `keras/src/backend/`: one package per backend (`tensorflow/`,
`torch/`, `jax/`), each split by concern (`trainer.py`: gradients and the step; `nn.py`: layer
kernels; `distribution.py`: devices; TensorFlow's `data_adapter.py`; torch's `optimizers.py`,
`executor.py`, `mirror.py`, ...) and binding the names below in its `__init__.py`; `common.py`
holds what they share. This package picks the backend Keras runs on and re-exports its names.
Nothing else in kzoo imports TensorFlow, torch or JAX: models, losses, the players' step and the
command line are written in `keras.ops` and call these functions.

Training
- `run_train_step(model, step, *args)`: Keras's per-backend `train_step` calling convention
  adapted to one stateful-looking `step(data) -> logs` (on JAX: the model's state mapped into
  a `keras.StatelessScope` inside Keras's jitted, state-threading step).
- `minimize(objective, variables, optimizer, state_variables) -> (loss, aux)`: one gradient
  step of `optimizer` on `variables` for the loss that `objective()` returns with `aux`.
- `input_gradient(fn, x)`: the gradient of the scalar `fn(x)` with respect to the tensor `x`,
  itself differentiable (gradient penalties: WGAN-GP, R1).
- `supports_second_order(jit_compile)`: whether a loss may take `input_gradient` when compiled
  so (torch.compile cannot differentiate twice).

Settings
- `CONV_DATA_FORMAT`: the layout convolutions run in.
- `resolve_jit_compile(jit_compile)`: what `compile(jit_compile="auto")` means.
- `fit_arguments(arguments)`: how `fit()` feeds arrays (TensorFlow: without tf.data's autotuning).
- `set_seed(seed)`: seeding Python, numpy and Keras without importing TensorFlow needlessly.
- `saving_scope()`: a context in which Keras saves a model without importing TensorFlow needlessly
  (on JAX and torch, where it may be installed beside them: `common.saving_without_importing_tensorflow`).

Several devices (issue 13; see `kzoo.distribution`)
- `data_parallel(devices, cluster) -> (device names, process id, process count)`: train every
  model created from now on over `devices` ("all" or a count), after joining `cluster`'s
  processes; raises `DistributionError` where the backend cannot.
- `agreed_seed(seed)`: process 0's seed on every process of a cluster.

Layer fast paths (None where there is none: the layer then runs Keras's own code)
- `conv_transpose(...)`, `batch_norm_training(...)`: see `kzoo.layers`.
- `run_network(network, args, kwargs)`: a `kzoo.layers.Network` called without Keras's per-layer
  bookkeeping (torch; see `kzoo.backend.torch`); None elsewhere.
- `declare_layer(cls, role)`: `kzoo.layers` tells the backend which of its classes plays which
  role (`common.LAYER_ROLES`: "layout", "conv_transpose", ...), so that a fast path can take
  them without the backend importing the layers built on it (torch's executor and mirror);
  a no-op elsewhere, but for checking the role.
"""

import importlib

import keras

BACKEND = keras.backend.backend()
SUPPORTED = ("tensorflow", "torch", "jax")

if BACKEND not in SUPPORTED:
    raise ImportError(f"kzoo trains on the tensorflow, torch and jax backends; keras is set to {BACKEND!r}")

_module = importlib.import_module(f"kzoo.backend.{BACKEND}")

CONV_DATA_FORMAT = _module.CONV_DATA_FORMAT
resolve_jit_compile = _module.resolve_jit_compile
supports_second_order = _module.supports_second_order
run_train_step = _module.run_train_step
minimize = _module.minimize
input_gradient = _module.input_gradient
fit_arguments = _module.fit_arguments
set_seed = _module.set_seed
conv_transpose = _module.conv_transpose
batch_norm_training = _module.batch_norm_training
run_network = _module.run_network
declare_layer = _module.declare_layer
data_parallel = _module.data_parallel  # several devices (issue 13)
agreed_seed = _module.agreed_seed  # several devices (issue 13)
saving_scope = _module.saving_scope

__all__ = [
    "BACKEND",
    "CONV_DATA_FORMAT",
    "agreed_seed",
    "batch_norm_training",
    "conv_transpose",
    "data_parallel",
    "declare_layer",
    "fit_arguments",
    "input_gradient",
    "minimize",
    "resolve_jit_compile",
    "run_network",
    "run_train_step",
    "saving_scope",
    "set_seed",
    "supports_second_order",
]
