"""torch kernels for two of kzoo's layers (the "layers" fast path) and the convolutions' layout.

- Keras's torch `conv_transpose` computes the full, uncropped output, (in - 1) * stride + kernel
  per side, then slices the "same" window out of it: for DCGAN's 7x7 stride-1 layer (78% of
  the generator's FLOPs) that is 11x11 outputs for 7x7 kept, and the backward pass pays too;
- Keras's torch `BatchNormalization` normalizes with separate mean, square, subtract and
  multiply kernels.

Both return None when they have no exact fast path: the layer runs Keras's own code.
"""

import keras
import torch

from kzoo.backend import common
from kzoo.backend.torch.fast_paths import fast_path

# Keras on torch transposes around every channels-last convolution (torch convolves NCHW; the
# DCGAN discriminator's forward pass took about half the time channels-first, ../shared/notes).
CONV_DATA_FORMAT = "channels_first"


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
    outputs = conv_transpose_window(x, keras.ops.convert_to_tensor(kernel), None, strides, dilation_rate, crops)
    return outputs.permute(0, 2, 3, 1) if channels_last else outputs


def conv_transpose_window(x, kernel, bias, strides, dilation_rate, crops):
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
