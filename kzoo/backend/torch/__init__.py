"""torch: autograd, eager by default, and fast paths that compute what Keras's own code computes.

Keras 3.15.1 on torch trails the same networks written in plain `torch.nn` (benchmarks/README.md,
"Keras on torch at plain-torch speed"). The fast paths close most of that gap without changing a
weight, a name or a result beyond float rounding; each is checked against Keras's own path in
tests/test_torch_fast_paths.py and tests/test_layers.py:

- `layers` (`nn.py`): kzoo's `Conv2DTranspose` computes only the output window Keras keeps, and
  its `BatchNormalization` normalizes a training batch in one fused kernel;
- `optimizer` (`optimizers.py`): Keras's own Adam and RMSprop formulas, on the optimizer's own
  slot variables, computed in place instead of through five full-size temporaries per update;
- `executor` (`executor.py`, `calls.py`): a `kzoo.layers.Network` runs its layers' `call` in
  graph order, without `Layer.__call__`'s per-call bookkeeping (about 40 microseconds per call);
- `mirror` (`mirror.py`): inside the executor (so only with it), a convolution stack (from
  `ConvLayout("conv")` to `ConvLayout("data")`) runs in mirrored coordinates, where Keras's
  asymmetric "same" padding is a symmetric one torch's convolutions take directly.

`KZOO_TORCH_FAST_PATHS` chooses them (`fast_paths.py`): unset or "all" (every one), "none"
(Keras's own code everywhere: to compare training with and without), or a comma-separated list
of the names above. Where a fast path leans on a private Keras name that has moved, it is not
taken.

The package, by concern as Keras lays out `keras/src/backend/torch/`: `trainer.py` (gradients
and the step), `optimizers.py`, `nn.py`, `executor.py` with `calls.py` and `mirror.py`,
`distribution.py` (devices), `fast_paths.py`, `core.py` (tensor helpers) and `layer_roles.py`:
the executor and the mirror know Keras's layer classes and, of kzoo's, only the roles that
`kzoo.layers` declares (`declare_layer`), so nothing here imports the layers above it.
This module binds the interface `kzoo.backend` re-exports (listed in its docstring).
"""

from kzoo.backend import common
from kzoo.backend.torch import distribution, executor, fast_paths, layer_roles, mirror, nn, optimizers, trainer

# ------------------------------------------------------------------ the interface
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
run_network = executor.run_network
declare_layer = layer_roles.declare_layer
data_parallel = distribution.data_parallel
agreed_seed = distribution.agreed_seed
saving_scope = common.saving_without_importing_tensorflow  # TensorFlow may be installed beside

# ------------------------------------------------------------------ names tests and benchmarks read here
# (kzoo.backend.torch was one module before it was this package). Mutable tables are the same
# objects as where they live; a test that replaces a value patches the module that reads it.
FAST_PATH_NAMES = fast_paths.FAST_PATH_NAMES
fast_paths_from = fast_paths.fast_paths_from
fast_path = fast_paths.fast_path
OPTIMIZER_PRIVATE_NAMES = optimizers.OPTIMIZER_PRIVATE_NAMES
KERAS_OPTIMIZER_KINDS = optimizers.KERAS_OPTIMIZER_KINDS
apply_in_place = optimizers.apply_in_place
EXECUTOR_PRIVATE_NAMES = executor.EXECUTOR_PRIVATE_NAMES
PLAN_ATTRIBUTE = executor.PLAN_ATTRIBUTE
TORCH_GLOBAL_HOOKS = executor.TORCH_GLOBAL_HOOKS
TORCH_MODULE_HOOKS = executor.TORCH_MODULE_HOOKS
ELEMENTWISE_ACTIVATIONS = mirror.ELEMENTWISE_ACTIVATIONS


def __getattr__(name):
    # FAST_PATHS is read where `fast_path` reads it, so that it always says which fast paths run
    # (benchmarks/throughput.py records it), also while a test has patched the switch.
    if name == "FAST_PATHS":
        return fast_paths.FAST_PATHS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
