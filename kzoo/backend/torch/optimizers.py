"""Keras's Adam and RMSprop updates on torch, computed in place (the "optimizer" fast path).

Keras's torch Adam (keras/src/backend/torch/optimizers/torch_adam.py, `_parallel_update_step`)
allocates five full-size temporaries per update, RMSprop four: the MLP generator's update took
10.1 ms against 2.6 ms in place (../shared/notes/torch-overhead.md). Below, the same operations
in the same order (so the same float results), written into two scratch buffers per variable
that live as long as the optimizer.
"""

import weakref

import torch

from kzoo.backend.torch.core import float32

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
    """Keras's torch Adam step (`torch_adam.Adam._parallel_update_step`), operation for operation.

    The step size too: the same torch operations Keras's `ops.cast`, `ops.power` and `ops.sqrt`
    run, called directly.
    """
    lr = float32(optimizer.learning_rate)
    local_step = float32(optimizer.iterations.value + 1)
    beta_1_power = torch.pow(float32(optimizer.beta_1), local_step)
    beta_2_power = torch.pow(float32(optimizer.beta_2), local_step)
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
    lr = float32(optimizer.learning_rate)
    rho, epsilon = optimizer.rho, optimizer.epsilon
    for value, grad, v, (square, step) in zip(values, grads, velocities, scratch):
        torch.mul(grad, grad, out=square)
        v.mul_(rho).add_(square, alpha=1 - rho)
        torch.add(v, epsilon, out=square).sqrt_()  # Keras: sqrt(v + epsilon)
        torch.mul(grad, lr, out=step).div_(square)
        value.add_(step, alpha=-1)

