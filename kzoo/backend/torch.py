"""torch: autograd, eager by default, and fast paths that compute what Keras's own code computes.

Keras 3.15.1 on torch trails the same networks written in plain `torch.nn` (benchmarks/README.md).
The fast paths below compute the same without changing a weight, a name or a result beyond
float rounding; each is checked against Keras's own path in tests/test_torch_fast_paths.py and
tests/test_layers.py:

- `layers`: kzoo's `Conv2DTranspose` computes only the output window Keras keeps, and its
  `BatchNormalization` normalizes a training batch in one fused kernel;
- `optimizer`: Keras's own Adam and RMSprop formulas, on the optimizer's own slot variables,
  computed in place instead of through five full-size temporaries per update.

`KZOO_TORCH_FAST_PATHS` chooses them: unset or "all" (every one), "none" (Keras's own code
everywhere: to compare training with and without), or a comma-separated list of the names above.
Where a fast path leans on a private Keras name that has moved, it is not taken.
"""

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
FAST_PATH_NAMES = ("layers", "optimizer")


def fast_paths_from(setting):
    """The fast paths a `KZOO_TORCH_FAST_PATHS` value turns on (a frozenset of FAST_PATH_NAMES)."""
    text = (setting or "all").strip().lower()
    if text in ("all", "1", "on"):
        return frozenset(FAST_PATH_NAMES)
    if text in ("none", "0", "off", ""):
        return frozenset()
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = names - set(FAST_PATH_NAMES)
    if unknown:
        raise ValueError(f"KZOO_TORCH_FAST_PATHS: unknown fast path(s) {sorted(unknown)}; "
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


def _adam_in_place(optimizer, values, grads, momentums, velocities, scratch):
    """Keras's torch Adam step (`torch_adam.Adam._parallel_update_step`), operation for operation."""
    ops = keras.ops
    lr = ops.cast(optimizer.learning_rate, "float32")
    local_step = ops.cast(optimizer.iterations + 1, "float32")
    beta_1_power = ops.power(ops.cast(optimizer.beta_1, "float32"), local_step)
    beta_2_power = ops.power(ops.cast(optimizer.beta_2, "float32"), local_step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
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
    lr = keras.ops.cast(optimizer.learning_rate, "float32")
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


# ------------------------------------------------------------------ several devices (issue 13)


def data_parallel(devices, cluster):
    """One device only: Keras 3.15.1 has no data parallelism on torch.

    It landed on Keras's main branch after 3.15.1 (keras-team/keras#23052); its trainer wraps
    the model in DistributedDataParallel and only Keras's default step calls through that
    wrapper, so kzoo's step will have to all-reduce its gradients itself.
    """
    from kzoo.errors import DistributionError

    if devices in (1, None) and cluster is None:
        return [], 0, 1
    raise DistributionError(
        "training on several devices is not supported on torch: Keras 3.15.1 has no torch data parallelism "
        "(a Keras release after 3.15.1 adds it; kzoo does not use it yet); use --backend jax"
    )


agreed_seed = common.same_value  # one process: its own seed


def _tensor(value):
    """The torch tensor of a Keras variable (or the tensor itself)."""
    return value.value if isinstance(value, keras.Variable) else value
