"""torch's training functions: autograd, eager by default."""

import keras
import torch

from kzoo.backend import common
from kzoo.backend.torch import optimizers
from kzoo.backend.torch.fast_paths import fast_path

# torch.compile is slow to compile on a CPU (about two minutes for a few DCGAN steps here), so
# kzoo keeps Keras's meaning of "auto" on torch: eager.
resolve_jit_compile = common.same_jit_compile


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
        if not (fast_path("optimizer") and optimizers.apply_in_place(optimizer, grads, variables)):
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
