"""torch: autograd, eager by default, and fast paths of two layers the DCGAN family leans on."""

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


# ------------------------------------------------------------------ fast paths for two layers
# - Keras's torch `conv_transpose` computes the full, uncropped output, (in - 1) * stride + kernel
#   per side, then slices the "same" window out of it: for DCGAN's 7x7 stride-1 layer (78% of
#   the generator's FLOPs) that is 11x11 outputs for 7x7 kept, and the backward pass pays too;
# - Keras's torch `BatchNormalization` normalizes with separate mean, square, subtract and
#   multiply kernels.
# Both helpers return None when they have no exact fast path: the layer runs Keras's own code.


def conv_transpose(inputs, kernel, strides, padding, output_padding, dilation_rate, data_format):
    """`keras.ops.conv_transpose`, computing only the output window Keras keeps; or None.

    Torch's `conv_transpose2d(padding=p, output_padding=q)` keeps the full output minus p on the
    left and p - q on the right, so Keras's crop (left, right) is exact when 0 <= left - right
    < max(stride, dilation); otherwise the smaller crop is computed and the rest sliced off.
    """
    if len(kernel.shape) != 4:
        return None
    crops = common.conv_transpose_crops(kernel.shape, strides, padding, output_padding, dilation_rate)
    if crops is None:
        return None
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
    channels_last = data_format == "channels_last"
    x = keras.ops.convert_to_tensor(inputs)
    if channels_last:
        x = x.permute(0, 3, 1, 2)
    outputs = torch.nn.functional.conv_transpose2d(
        x, keras.ops.convert_to_tensor(kernel).permute(3, 2, 0, 1), stride=tuple(strides),
        padding=tuple(torch_padding), output_padding=tuple(torch_output_padding),
        dilation=tuple(dilation_rate),
    )[tuple(slices)]
    return outputs.permute(0, 2, 3, 1) if channels_last else outputs


def batch_norm_training(inputs, gamma, beta, epsilon, channel_axis):
    """(normalized inputs, batch mean, batch variance) in one fused kernel; or None.

    The statistics are those Keras uses (biased variance), for the layer's moving averages.
    Torch's `batch_norm` returns them only through its running buffers, as the UNBIASED
    variance; with momentum 1 the buffers hold exactly the batch statistics, rescaled here.
    """
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
