"""torch: autograd, eager by default, and fast paths that compute what Keras's own code computes.

Keras 3.15.1 on torch trails the same networks written in plain `torch.nn` (benchmarks/README.md,
"Keras on torch at plain-torch speed"). The fast paths below close most of that gap without
changing a weight, a name or a result beyond float rounding; each is checked against Keras's own
path in tests/test_torch_fast_paths.py and tests/test_layers.py:

- `layers`: kzoo's `Conv2DTranspose` computes only the output window Keras keeps, and its
  `BatchNormalization` normalizes a training batch in one fused kernel;
- `optimizer`: Keras's own Adam and RMSprop formulas, on the optimizer's own slot variables,
  computed in place instead of through five full-size temporaries per update;
- `executor`: a `kzoo.layers.Network` runs its layers' `call` in graph order, without
  `Layer.__call__`'s per-call bookkeeping (about 40 microseconds per layer call);
- `mirror`: inside the executor (so only with it), a convolution stack (from `ConvLayout("conv")`
  to `ConvLayout("data")`) runs in mirrored coordinates, where Keras's asymmetric "same" padding
  is a symmetric one torch's convolutions take directly, instead of an explicit pad.

`KZOO_TORCH_FAST_PATHS` chooses them: unset or "all" (every one), "none" (Keras's own code
everywhere: to compare training with and without), or a comma-separated list of the names above.
Where a fast path leans on a private Keras name that has moved, it is not taken.
"""

import functools
import inspect
import os
import weakref

import keras
import torch

from kzoo.backend import common

# Keras on torch transposes around every channels-last convolution (torch convolves NCHW; the
# DCGAN discriminator's forward pass took about half the time channels-first, ../shared/notes).
CONV_DATA_FORMAT = "channels_first"

# torch.compile is slow to compile on a CPU (about two minutes for a few DCGAN steps here), so
# kzoo keeps Keras's meaning of "auto" on torch: eager.
resolve_jit_compile = common.same_jit_compile
fit_arguments = common.arguments_unchanged


# ------------------------------------------------------------------ which fast paths run
FAST_PATH_NAMES = ("layers", "optimizer", "executor", "mirror")


def fast_paths_from(setting):
    """The fast paths a `KZOO_TORCH_FAST_PATHS` value turns on (a frozenset of FAST_PATH_NAMES)."""
    text = (setting or "all").strip().lower()
    if text in ("all", "1", "on"):
        return frozenset(FAST_PATH_NAMES)
    if text in ("none", "0", "off"):
        return frozenset()
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = names - set(FAST_PATH_NAMES)
    if unknown:  # a BackendError: the command line reports it in one line
        from kzoo.errors import BackendError

        raise BackendError(f"KZOO_TORCH_FAST_PATHS: unknown fast path(s) {', '.join(sorted(unknown))}; "
                           f"choose among {', '.join(FAST_PATH_NAMES)}, 'all' or 'none'")
    return names


# Read once; tests change it with monkeypatch.
FAST_PATHS = fast_paths_from(os.environ.get("KZOO_TORCH_FAST_PATHS"))


def fast_path(name):
    return name in FAST_PATHS


# ------------------------------------------------------------------ training
def supports_second_order(jit_compile):
    """torch.compile's aot_autograd cannot differentiate twice (pytorch#92348); eager torch can."""
    return jit_compile is not True


def run_train_step(model, step, data):
    # Variables are stateful here: the step reads and assigns them directly.
    return step(data)


def minimize(objective, variables, optimizer, state_variables):
    """One step of `optimizer` on `variables` for `objective() -> (loss, aux)`; returns (loss, aux).

    `autograd.grad` returns gradients for these variables only and leaves every `.grad`
    untouched, so one player's loss never accumulates into another's gradients and no
    zero_grad() bookkeeping is needed. A variable the loss does not reach gets a zero gradient,
    as on JAX, so the optimizer's state moves alike on every backend.
    """
    loss, aux = objective()
    values = [v.value for v in variables]
    grads = torch.autograd.grad(loss, values, allow_unused=True)
    grads = [torch.zeros_like(value) if g is None else g for g, value in zip(grads, values)]
    with torch.no_grad():
        if not (fast_path("optimizer") and apply_in_place(optimizer, grads, variables)):
            optimizer.apply(grads, variables)
    return loss.detach(), keras.tree.map_structure(_detached, aux)


def _detached(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


def input_gradient(fn, x):
    """d fn(x) / dx for a scalar fn, with its graph kept (`create_graph`): differentiable again."""
    x = keras.ops.convert_to_tensor(x)
    with torch.enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        value = fn(x)
        (grad,) = torch.autograd.grad(value, x, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad


def set_seed(seed):
    common.set_seed_without_tensorflow(seed, torch.manual_seed)


# ------------------------------------------------------------------ tensors
def _torch_dtype(name):
    return getattr(torch, keras.backend.standardize_dtype(name), None)


def _tensor(value):
    """The torch tensor of a Keras variable (or the tensor itself)."""
    return value.value if isinstance(value, keras.Variable) else value


# ------------------------------------------------------------------ optimizer: updates in place
# Keras's torch Adam (keras/src/backend/torch/optimizers/torch_adam.py, `_parallel_update_step`)
# allocates five full-size temporaries per update, RMSprop four: the MLP generator's update took
# 10.1 ms against 2.6 ms in place (../shared/notes/torch-overhead.md). Below, the same operations
# in the same order (so the same float results), written into two scratch buffers per variable
# that live as long as the optimizer.
#
# Keras 3.15.1 private names read here; if one is missing, `apply_in_place` declines and
# Keras's own `apply` runs (tests rename each to check).
OPTIMIZER_PRIVATE_NAMES = {"momentums": "_momentums", "velocities": "_velocities",
                           "variable_index": "_get_variable_index"}


def _keras_torch_optimizer_classes():
    """{Keras's torch Adam class: "adam", its RMSprop class: "rmsprop"}; empty if Keras moved them."""
    try:
        from keras.src.backend.torch.optimizers import torch_adam, torch_rmsprop
    except ImportError:
        return {}
    return {torch_adam.Adam: "adam", torch_rmsprop.RMSprop: "rmsprop"}


KERAS_OPTIMIZER_KINDS = _keras_torch_optimizer_classes()
_scratch_buffers = weakref.WeakKeyDictionary()  # optimizer -> {variable ids: [(buffer, buffer)]}


def apply_in_place(optimizer, grads, variables):
    """`optimizer.apply(grads, variables)` computed in place, for Keras's plain Adam and RMSprop.

    Returns False, having changed nothing, where Keras's own `apply` must run: another optimizer
    (or a subclass), options this does not copy (weight decay, clipping, EMA, gradient
    accumulation, AMSGrad, centered or momentum RMSprop), variables with constraints or of another
    dtype than float32, an unbuilt optimizer, or Keras private names that moved.
    """
    kind = KERAS_OPTIMIZER_KINDS.get(type(optimizer))
    if kind is None or not grads or not _plain_update(optimizer, kind, variables):
        return False
    slots = _slot_values(optimizer, ("momentums", "velocities") if kind == "adam" else ("velocities",), variables)
    if slots is None:
        return False
    with torch.no_grad():  # as Keras's torch optimizers update
        grads = _unscaled(optimizer, grads)
        values = [v.value for v in variables]
        scratch = _scratch(optimizer, values)
        if kind == "adam":
            _adam_in_place(optimizer, values, grads, *slots, scratch)
        else:
            _rmsprop_in_place(optimizer, values, grads, *slots, scratch)
        optimizer.iterations.assign_add(1)  # as `apply` does after every update
    return True


def _plain_update(optimizer, kind, variables):
    """Whether `apply` would do nothing but the update step and the iteration count."""
    if not optimizer.built or optimizer.use_ema or optimizer.gradient_accumulation_steps:
        return False
    if optimizer.clipnorm or optimizer.clipvalue or optimizer.global_clipnorm or optimizer.weight_decay:
        return False
    if kind == "adam" and optimizer.amsgrad:
        return False
    if kind == "rmsprop" and (optimizer.centered or optimizer.momentum):
        return False
    for variable in variables:
        if variable.constraint is not None or getattr(variable, "overwrite_with_gradient", False):
            return False
        if variable.dtype != "float32" or variable.value.dtype != torch.float32:
            return False
    return True


def _slot_values(optimizer, slot_names, variables):
    """For each slot ("momentums", ...), the torch values of `variables`' slots; None if not found."""
    try:
        index = getattr(optimizer, OPTIMIZER_PRIVATE_NAMES["variable_index"])
        slots = [getattr(optimizer, OPTIMIZER_PRIVATE_NAMES[name]) for name in slot_names]
        positions = [index(v) for v in variables]
    except (AttributeError, KeyError):  # moved, or variables the optimizer was not built on
        return None
    return [[slot[i].value for i in positions] for slot in slots]


def _unscaled(optimizer, grads):
    scale = optimizer.loss_scale_factor
    return grads if scale is None else [g / scale for g in grads]  # as `apply` unscales them


def _scratch(optimizer, values):
    """Two buffers shaped like each variable, kept with the optimizer (no allocation per update)."""
    per_optimizer = _scratch_buffers.setdefault(optimizer, {})
    key = tuple(id(v) for v in values)
    buffers = per_optimizer.get(key)
    if buffers is None or any(a.shape != v.shape for (a, _), v in zip(buffers, values)):
        buffers = [(torch.empty_like(v), torch.empty_like(v)) for v in values]
        per_optimizer[key] = buffers
    return buffers


def _float32(value):
    """`keras.ops.cast(value, "float32")` on torch, without the dispatch (a Python number, a
    tensor or a Keras variable)."""
    value = _tensor(value)
    return value.to(torch.float32) if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float32)


def _adam_in_place(optimizer, values, grads, momentums, velocities, scratch):
    """Keras's torch Adam step (`torch_adam.Adam._parallel_update_step`), operation for operation.

    The step size too: the same torch operations Keras's `ops.cast`, `ops.power` and `ops.sqrt`
    run, called directly.
    """
    lr = _float32(optimizer.learning_rate)
    local_step = _float32(optimizer.iterations.value + 1)
    beta_1_power = torch.pow(_float32(optimizer.beta_1), local_step)
    beta_2_power = torch.pow(_float32(optimizer.beta_2), local_step)
    alpha = lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    beta_1, beta_2, epsilon = optimizer.beta_1, optimizer.beta_2, optimizer.epsilon
    for value, grad, m, v, (square, step) in zip(values, grads, momentums, velocities, scratch):
        m.mul_(beta_1).add_(grad, alpha=1 - beta_1)
        torch.mul(grad, grad, out=square)
        v.mul_(beta_2).add_(square, alpha=1 - beta_2)
        torch.mul(m, alpha, out=step)
        torch.sqrt(v, out=square).add_(epsilon)  # Keras: sqrt(v) + epsilon
        step.div_(square)
        value.add_(step, alpha=-1)


def _rmsprop_in_place(optimizer, values, grads, velocities, scratch):
    """Keras's torch RMSprop step without momentum or centering, operation for operation."""
    lr = _float32(optimizer.learning_rate)
    rho, epsilon = optimizer.rho, optimizer.epsilon
    for value, grad, v, (square, step) in zip(values, grads, velocities, scratch):
        torch.mul(grad, grad, out=square)
        v.mul_(rho).add_(square, alpha=1 - rho)
        torch.add(v, epsilon, out=square).sqrt_()  # Keras: sqrt(v + epsilon)
        torch.mul(grad, lr, out=step).div_(square)
        value.add_(step, alpha=-1)


# ------------------------------------------------------------------ fast paths for two layers
# - Keras's torch `conv_transpose` computes the full, uncropped output, (in - 1) * stride + kernel
#   per side, then slices the "same" window out of it: for DCGAN's 7x7 stride-1 layer (78% of
#   the generator's FLOPs) that is 11x11 outputs for 7x7 kept, and the backward pass pays too;
# - Keras's torch `BatchNormalization` normalizes with separate mean, square, subtract and
#   multiply kernels.
# Both helpers return None when they have no exact fast path: the layer runs Keras's own code.


def conv_transpose(inputs, kernel, strides, padding, output_padding, dilation_rate, data_format):
    """`keras.ops.conv_transpose`, computing only the output window Keras keeps; or None."""
    if not fast_path("layers") or len(kernel.shape) != 4:
        return None
    crops = common.conv_transpose_crops(kernel.shape, strides, padding, output_padding, dilation_rate)
    if crops is None:
        return None
    channels_last = data_format == "channels_last"
    x = keras.ops.convert_to_tensor(inputs)
    if channels_last:
        x = x.permute(0, 3, 1, 2)
    outputs = _conv_transpose_window(x, keras.ops.convert_to_tensor(kernel), None, strides, dilation_rate, crops)
    return outputs.permute(0, 2, 3, 1) if channels_last else outputs


def _conv_transpose_window(x, kernel, bias, strides, dilation_rate, crops):
    """NCHW transposed convolution of a Keras (h, w, out, in) kernel, cropped by `crops` per axis.

    Torch's `conv_transpose2d(padding=p, output_padding=q)` keeps the full output minus p on the
    left and p - q on the right, so Keras's crop (left, right) is exact when 0 <= left - right
    < max(stride, dilation); otherwise the smaller crop is computed and the rest sliced off.
    """
    torch_padding, torch_output_padding, slices = [], [], [slice(None), slice(None)]
    for (left, right), stride, dilation in zip(crops, strides, dilation_rate):
        if 0 <= left - right < max(stride, dilation):
            torch_padding.append(left)
            torch_output_padding.append(left - right)
            slices.append(slice(None))
        else:
            keep = min(left, right)
            torch_padding.append(keep)
            torch_output_padding.append(0)
            slices.append(slice(left - keep, -(right - keep) or None))
    outputs = torch.nn.functional.conv_transpose2d(
        x, kernel.permute(3, 2, 0, 1), bias, stride=tuple(strides), padding=tuple(torch_padding),
        output_padding=tuple(torch_output_padding), dilation=tuple(dilation_rate),
    )
    return outputs[tuple(slices)]


def batch_norm_training(inputs, gamma, beta, epsilon, channel_axis):
    """(normalized inputs, batch mean, batch variance) in one fused kernel; or None.

    The statistics are those Keras uses (biased variance), for the layer's moving averages.
    Torch's `batch_norm` returns them only through its running buffers, as the UNBIASED
    variance; with momentum 1 the buffers hold exactly the batch statistics, rescaled here.
    """
    if not fast_path("layers"):
        return None
    if channel_axis not in (1, 1 - len(inputs.shape)) or len(inputs.shape) < 2:
        return None
    x = keras.ops.convert_to_tensor(inputs)
    if x.dtype != torch.float32:
        return None
    count = x.numel() // x.shape[1]
    if count < 2:
        return None  # torch rejects a batch of one value per channel in training mode
    mean = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    variance = torch.zeros_like(mean)
    outputs = torch.nn.functional.batch_norm(
        x, mean, variance, weight=gamma, bias=beta, training=True, momentum=1.0, eps=epsilon,
    )
    return outputs, mean, variance * ((count - 1) / count)


# ------------------------------------------------------------------ executor: networks without Layer.__call__
# `Layer.__call__` adds 37-54 microseconds to every layer call on torch (input conversion, call-
# signature binding, name scopes, call context, masks, autocast checks; the MLP discriminator's
# forward and backward took 3.66 ms, 2.11 ms with its layers' `call` run directly,
# ../shared/notes/torch-overhead.md). `run_network` runs a `kzoo.layers.Network` the way Keras's
# `Functional.call` does (same node order, same arguments, `training` passed to the layers that
# take it) but calls each layer's `call` directly, for layer classes whose `__call__` adds nothing
# else in float32 without masks, hooks or scopes. Anything else runs through Keras.
#
# Keras 3.15.1 private names read to plan a network; if one is missing, networks run through Keras.
EXECUTOR_PRIVATE_NAMES = {"nodes_by_depth": "_nodes_by_depth", "standardize_inputs": "_standardize_inputs"}
PLAN_ATTRIBUTE = "_kzoo_torch_plan"  # where a network keeps its plan (set without Keras's tracking)

# Activations that act on each value alone, so they commute with mirroring.
ELEMENTWISE_ACTIVATIONS = ("linear", "relu", "leaky_relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu",
                           "softplus")


def _keras_context_check():
    """A function telling whether no stateless or autocast scope is open; None if Keras moved them."""
    try:
        from keras.src.backend import get_autocast_scope, in_stateless_scope
    except ImportError:
        return None
    return lambda: not in_stateless_scope() and get_autocast_scope() is None


_outside_keras_scopes = _keras_context_check()


def run_network(network, args, kwargs):
    """`network(*args, **kwargs)` run layer by layer without `Layer.__call__`; None where Keras must run it.

    Taken for one input structure and an explicit `training=True/False` (inference calls with
    `training=None` let Keras resolve it), eagerly, outside Keras's stateless and autocast scopes.
    """
    if not fast_path("executor") or not _plain_call(args, kwargs):
        return None
    if _outside_keras_scopes is None or not _outside_keras_scopes() or torch.compiler.is_compiling():
        return None
    plan = _plan_of(network)
    if plan.steps is None or plan.hooked():
        return None
    inputs = plan.standardized_inputs(args[0])
    if inputs is None:
        return None
    return plan.run(inputs, kwargs["training"])


def _plain_call(args, kwargs):
    return (len(args) == 1 and type(kwargs.get("training")) is bool and kwargs.get("mask") is None
            and all(key in ("training", "mask") for key in kwargs))


def _plan_of(network):
    """The network's plan, made on first use (and again if the mirror setting changed)."""
    mirror = fast_path("mirror")
    plan = network.__dict__.get(PLAN_ATTRIBUTE)
    if plan is None or plan.network() is not network or plan.mirror != mirror:
        plan = _Plan(network, mirror)
        object.__setattr__(network, PLAN_ATTRIBUTE, plan)  # not a weight: kept out of Keras's tracking
    return plan


class _Plan:
    """How to run one network: `steps` in graph order, each `(arguments, output ids, run)` with
    `run(args, kwargs, training) -> outputs`; `steps` is None where Keras must run it."""

    def __init__(self, network, mirror):
        self.network = weakref.ref(network)  # a copied network (deepcopy) makes its own plan
        self.mirror = mirror
        self.steps = None
        self.mirrored = False  # whether a convolution stack runs in mirrored coordinates
        try:
            nodes = _graph_nodes(network)
            self._standardize = getattr(network, EXECUTOR_PRIVATE_NAMES["standardize_inputs"])
        except AttributeError:  # Keras moved a private name: run through Keras
            return
        if nodes is None or not all(_direct_callable(node.operation) for node in nodes):
            return
        self.layers = [network] + _unique_layers(nodes)
        self.input_ids = [id(x) for x in network.inputs]
        self.input_shapes = [tuple(x.shape) for x in network.inputs]
        device = network.weights[0].value.device if network.weights else None
        self.input_dtypes_and_device = [(_torch_dtype(x.dtype), device) for x in network.inputs]
        self.output_ids = [id(x) for x in network.outputs]
        self.single_output = isinstance(network.output, keras.KerasTensor)
        self.output_structure = network.output
        planned = _steps(network, nodes, mirror=True) if mirror else None
        self.steps, self.mirrored = planned or _steps(network, nodes, mirror=False)

    def hooked(self):
        """Whether torch module hooks are registered (Keras's `__call__` would run them)."""
        return _hooks_registered(self.layers)

    def standardized_inputs(self, structured):
        """The network's inputs as Keras's `Functional.call` converts them; None to let Keras
        handle (and report) anything unusual: symbolic or masked inputs, other shapes."""
        flat = [structured] if isinstance(structured, torch.Tensor) else keras.tree.flatten(structured)
        if any(isinstance(x, keras.KerasTensor) or getattr(x, "_keras_mask", None) is not None for x in flat):
            return None
        # Tensors of the inputs' dtypes, in the inputs' order, are what Keras's conversion returns
        # unchanged: skip it for them (cgan at width 1, generator and discriminator forward and
        # backward: 1.11 -> 0.79 ms of CPU time, 1 thread).
        ready = (isinstance(structured, (torch.Tensor, list, tuple)) and all(isinstance(x, torch.Tensor) for x in flat)
                 and [(x.dtype, x.device) for x in flat] == self.input_dtypes_and_device)
        inputs = flat if ready else self._standardize(structured)
        if len(inputs) != len(self.input_shapes):
            return None
        for x, shape in zip(inputs, self.input_shapes):
            if x.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, x.shape)):
                return None
        return inputs

    def run(self, inputs, training):
        values = dict(zip(self.input_ids, inputs))
        for arguments, output_ids, run in self.steps:
            args, kwargs = arguments.fill_in(values)
            outputs = run(args, kwargs, training)
            if len(output_ids) == 1 and isinstance(outputs, torch.Tensor):
                values[output_ids[0]] = outputs
            else:
                values.update(zip(output_ids, keras.tree.flatten(outputs)))
        outputs = [values[i] for i in self.output_ids]
        if self.single_output:
            return outputs[0]
        packed = keras.tree.pack_sequence_as(self.output_structure, outputs)
        return packed[0] if isinstance(packed, (list, tuple)) and len(packed) == 1 else packed


def _graph_nodes(network):
    """The network's nodes in the order `Function._run_through_graph` runs them; None if an output
    cannot be computed from the inputs."""
    by_depth = getattr(network, EXECUTOR_PRIVATE_NAMES["nodes_by_depth"])
    available = {id(x) for x in network.inputs}
    ordered = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            if any(id(x) not in available for x in node.input_tensors):
                continue  # as Keras: not computable from these inputs
            ordered.append(node)
            available.update(id(x) for x in node.outputs)
    return ordered if all(id(x) in available for x in network.outputs) else None


# torch.nn.Module's hook registries (torch 2.13), global and per module; a missing one counts as
# registered, so that a later torch that moves them gets Keras's own call, hooks included.
TORCH_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                      "_global_backward_pre_hooks")
TORCH_MODULE_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _hooks_registered(modules):
    registries = torch.nn.modules.module
    if any(getattr(registries, name, True) for name in TORCH_GLOBAL_HOOKS):
        return True
    return any(getattr(module, name, True) for module in modules for name in TORCH_MODULE_HOOKS)


def _unique_layers(nodes):
    layers = []
    for node in nodes:
        if all(node.operation is not layer for layer in layers):
            layers.append(node.operation)
    return layers


@functools.cache
def _direct_call_classes():
    """Layer classes (exact) whose `call` is everything their `__call__` does in a plain float32 call."""
    from kzoo import layers as kzoo_layers

    k = keras.layers
    return {
        k.Dense, k.LeakyReLU, k.ReLU, k.Activation, k.Reshape, k.Flatten, k.Concatenate, k.Embedding,
        k.Dropout, k.Conv2D, k.Conv2DTranspose, k.BatchNormalization,
        kzoo_layers.ConvLayout, kzoo_layers.Conv2DTranspose, kzoo_layers.BatchNormalization,
        kzoo_layers.SpectralNormalization, kzoo_layers.MinibatchStdDev,
    }


def _direct_callable(layer):
    if type(layer) not in _direct_call_classes() or not layer.built:
        return False
    if layer.dtype_policy.name != "float32" or getattr(layer, "quantization_mode", None) is not None:
        return False
    if layer.activity_regularizer is not None or getattr(layer, "_remat_mode", None) is not None:
        return False
    return not getattr(layer, "mask_zero", False)  # Embedding(mask_zero=True) makes masks


class _Run:
    """A step's computation, `function(args, kwargs, training)`; `mirrored`: whether its outputs
    are in mirrored coordinates."""

    def __init__(self, function, mirrored=False):
        self.function = function
        self.mirrored = mirrored


def _direct_call(layer):
    """`layer.call`, with `training` if it takes it (as `Layer.__call__` passes the outer value)."""
    call = layer.call
    if "training" in inspect.signature(call).parameters:
        return _Run(lambda args, kwargs, training: call(*args, **{**kwargs, "training": training}))
    return _Run(lambda args, kwargs, training: call(*args, **kwargs))


def _dense(layer):
    """Keras's `Dense.call` (x @ kernel + bias, activation) in one `addmm` for 2-D inputs: Keras's
    `ops.matmul` and `ops.add` dispatch cost 30 microseconds per call against 5 for torch's op
    (../shared/notes/torch-overhead.md), and the addition a pass over the outputs (cgan at width
    1, generator and discriminator forward and backward: 1.12 -> 0.79 ms of CPU time)."""
    activation = None if layer.activation is keras.activations.linear else layer.activation

    def run(args, kwargs, training):
        x, kernel = args[0], _tensor(layer.kernel)  # `kernel`: Keras's property (LoRA included)
        if layer.bias is None:
            outputs = torch.matmul(x, kernel)
        elif x.ndim == 2:
            outputs = torch.addmm(_tensor(layer.bias), x, kernel)
        else:
            outputs = torch.matmul(x, kernel) + _tensor(layer.bias)
        return outputs if activation is None else activation(outputs)

    return run


def _steps(network, nodes, mirror):
    """(the plan's steps, whether a stack runs mirrored); with `mirror`, convolution stacks in
    mirrored coordinates, or None where one cannot be (the caller then plans without mirroring)."""
    mirrored, steps = set(), []
    for node in nodes:
        flags = {id(x) in mirrored for x in node.input_tensors}
        if len(flags) > 1:
            return None  # mirrored and plain inputs meet
        run = _step_run(node, flags == {True}, mirror)
        if run is None:
            return None
        if run.mirrored:
            mirrored.update(id(x) for x in node.outputs)
        steps.append((node.arguments, tuple(id(x) for x in node.outputs), run.function))
    if any(id(x) in mirrored for x in network.outputs):
        return None
    return steps, bool(mirrored)


# ------------------------------------------------------------------ mirror: convolution stacks without explicit pads
# Keras's "same" padding puts the odd pixel after (k=5, stride 2, 14x14: 1 before, 2 after); torch's
# convolutions pad both sides alike, so Keras pads every strided convolution's input explicitly (a
# copy forward, a slice backward, and a slower convolution: 38-41 ms against 26-28 ms for the
# discriminator's second layer forward and backward here). Mirrored (both spatial axes reversed),
# the same convolution pads 2 before and 1 after, which torch's symmetric padding 2 computes
# exactly, no extra output for strides >= 2: keras_conv(x, w) = flip(conv(flip(x), flip(w))).
# Biases, batch normalization, minibatch statistics and elementwise activations commute with
# flips, so a whole stack between `ConvLayout("conv")` and `ConvLayout("data")` runs mirrored,
# with one flip at each end, and transposed convolutions crop mirrored windows exactly too.
# Only these layers are taken in a mirrored stack; any other makes the network plan unmirrored.


def _step_run(node, mirrored_input, mirror):
    layer = node.operation
    from kzoo import layers as kzoo_layers

    if type(layer) is kzoo_layers.ConvLayout and layer.data_format == "channels_first":
        if layer.to == "conv" and mirror and not mirrored_input:
            return _Run(_into_mirrored_layout, mirrored=True)
        if layer.to == "data" and mirrored_input:
            return _Run(_out_of_mirrored_layout)
    if not mirrored_input:
        return _Run(_dense(layer)) if type(layer) is keras.layers.Dense else _direct_call(layer)
    kwargs = getattr(node.arguments, "kwargs", None)
    if len(node.input_tensors) != 1 or kwargs is None or any(
            value is not None and key != "training" for key, value in kwargs.items()):
        return None  # the mirrored layers take one tensor; `training` is the call's, `mask` None
    run = _mirrored_run(layer, node)
    return None if run is None else _Run(run, mirrored=True)


def _into_mirrored_layout(args, kwargs, training):
    return args[0].permute(0, 3, 1, 2).flip((2, 3))  # ConvLayout("conv"), then mirrored


def _out_of_mirrored_layout(args, kwargs, training):
    return args[0].flip((2, 3)).permute(0, 2, 3, 1)  # back from mirrored, then ConvLayout("data")


def _mirrored_run(layer, node):
    """`run` of `layer` on mirrored inputs giving mirrored outputs; None if this layer cannot."""
    from kzoo import layers as kzoo_layers

    k = keras.layers
    kind = type(layer)
    rank = len(node.input_tensors[0].shape)
    if kind in (k.LeakyReLU, k.ReLU) or (kind is k.Activation and _elementwise(layer.activation)):
        return _direct_call(layer).function
    if kind in (k.BatchNormalization, kzoo_layers.BatchNormalization) and rank == 4 and layer.axis % 4 == 1:
        return _direct_call(layer).function  # per channel: statistics over mirrored positions alike
    if kind is kzoo_layers.MinibatchStdDev and layer.data_format == "channels_first":
        return _direct_call(layer).function  # spatial means, a spatially constant channel
    if kind is k.Conv2D:
        return _mirrored_conv(layer, lambda training: layer.kernel, node)
    if kind is kzoo_layers.SpectralNormalization and type(layer.layer) is k.Conv2D:
        return _mirrored_conv(layer.layer, _spectral_kernel(layer), node)
    if kind is kzoo_layers.Conv2DTranspose:
        return _mirrored_conv_transpose(layer, node)
    return None


def _elementwise(activation):
    name = getattr(activation, "__name__", None)
    return name in ELEMENTWISE_ACTIVATIONS and keras.activations.get(name) is activation


def _spectral_kernel(layer):
    """The kernel `SpectralNormalization.call` convolves with, storing u in training as it does."""

    def kernel(training):
        normalized, u = layer.normalized_kernel()
        if training:
            layer.vector_u.assign(keras.ops.cast(u, layer.vector_u.dtype))
        return normalized

    return kernel


def _plain_conv_layer(conv, node):
    """Whether `conv` is a 2-D, channels-first, ungrouped convolution of static spatial size."""
    shapes = (node.input_tensors[0].shape, node.outputs[0].shape)
    return (conv.rank == 2 and conv.data_format == "channels_first" and getattr(conv, "groups", 1) == 1
            and _elementwise(conv.activation) and all(None not in shape[2:] for shape in shapes))


def _mirrored_conv(conv, kernel_of, node):
    """Keras's `Conv2D` in mirrored coordinates: symmetric padding, flipped kernel; None if not exact."""
    if not _plain_conv_layer(conv, node):
        return None
    padding = []
    for n, m, k, s, d in zip(node.input_tensors[0].shape[2:], node.outputs[0].shape[2:], conv.kernel_size,
                             conv.strides, conv.dilation_rate):
        pad = _mirrored_padding(n, m, k, s, d, conv.padding)
        if pad is None:
            return None
        padding.append(pad)
    stride, dilation, padding = tuple(conv.strides), tuple(conv.dilation_rate), tuple(padding)
    activation = None if conv.activation is keras.activations.linear else conv.activation

    def run(args, kwargs, training):
        kernel = torch.flip(_tensor(kernel_of(training)), (0, 1)).permute(3, 2, 0, 1)
        bias = _tensor(conv.bias) if conv.use_bias else None
        outputs = torch.nn.functional.conv2d(args[0], kernel, bias, stride, padding, dilation)
        return outputs if activation is None else activation(outputs)

    return run


def _mirrored_padding(n, m, kernel, stride, dilation, padding):
    """The symmetric padding that gives, on a mirrored input of size n, exactly the m mirrored
    outputs of Keras's convolution; None if there is none.

    Keras (like TensorFlow) pads "same" by total = (m - 1) * stride + span - n, the smaller half
    before; "valid" pads nothing. Mirrored, what Keras's windows leave or take beyond the input's
    end comes first: (m - 1) * stride + span - n - before, which torch pads on both sides; the
    padding after must not add an output.
    """
    if padding not in ("same", "valid"):
        return None
    span = (kernel - 1) * dilation + 1
    before = max((m - 1) * stride + span - n, 0) // 2 if padding == "same" else 0
    mirrored_before = (m - 1) * stride + span - n - before
    if mirrored_before < 0 or (n + 2 * mirrored_before - span) // stride + 1 != m:
        return None
    return mirrored_before


def _mirrored_conv_transpose(layer, node):
    """kzoo's `Conv2DTranspose` in mirrored coordinates: flipped kernel, crops swapped."""
    if not _plain_conv_layer(layer, node):
        return None
    crops = common.conv_transpose_crops(layer.kernel.shape, layer.strides, layer.padding, layer.output_padding,
                                        layer.dilation_rate)
    if crops is None:
        return None
    mirrored_crops = [(right, left) for left, right in crops]
    strides, dilation = tuple(layer.strides), tuple(layer.dilation_rate)
    activation = None if layer.activation is keras.activations.linear else layer.activation

    def run(args, kwargs, training):
        kernel = torch.flip(_tensor(layer.kernel), (0, 1))
        bias = _tensor(layer.bias) if layer.use_bias else None
        outputs = _conv_transpose_window(args[0], kernel, bias, strides, dilation, mirrored_crops)
        return outputs if activation is None else activation(outputs)

    return run


# ------------------------------------------------------------------ several devices (issue 13)


def data_parallel(devices, cluster):
    """One device only: Keras 3.15.1 has no data parallelism on torch.

    It landed on Keras's main branch after 3.15.1 (keras-team/keras#23052); its trainer wraps
    the model in DistributedDataParallel and only Keras's default step calls through that
    wrapper, so kzoo's step will have to all-reduce its gradients itself.
    """
    return common.one_device_only(
        devices, cluster,
        "training on several devices is not supported on torch: Keras 3.15.1 has no torch data parallelism "
        "(a Keras release after 3.15.1 adds it; kzoo does not use it yet); use --backend jax",
    )


agreed_seed = common.same_value  # one process: its own seed
