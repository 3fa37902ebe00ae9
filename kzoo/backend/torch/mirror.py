"""Convolution stacks in mirrored coordinates, without explicit pads (the "mirror" fast path).

Keras's "same" padding puts the odd pixel after (k=5, stride 2, 14x14: 1 before, 2 after); torch's
convolutions pad both sides alike, so Keras pads every strided convolution's input explicitly (a
copy forward, a slice backward, and a slower convolution: 38-41 ms against 26-28 ms for the
discriminator's second layer forward and backward here). Mirrored (both spatial axes reversed),
the same convolution pads 2 before and 1 after, which torch's symmetric padding 2 computes
exactly, no extra output for strides >= 2: keras_conv(x, w) = flip(conv(flip(x), flip(w))).
Biases, batch normalization, minibatch statistics and elementwise activations commute with
flips, so a whole stack between two "layout" layers, into the convolutions' layout and back
(kzoo's `ConvLayout("conv")` and `ConvLayout("data")`), runs mirrored, with one flip at each end,
and transposed convolutions crop mirrored windows exactly too. Only these layers are taken in a
mirrored stack; any other makes the executor plan the network unmirrored. The executor runs
this, so only with it. kzoo's layers are known here by the roles they declare
(`kzoo.backend.torch.layer_roles`), Keras's by their classes.
"""

import keras
import torch

from kzoo.backend import common
from kzoo.backend.torch.calls import Run, direct_call
from kzoo.backend.torch.core import tensor_of
from kzoo.backend.torch.layer_roles import role_of
from kzoo.backend.torch.nn import conv_transpose_window

# Activations that act on each value alone, so they commute with mirroring.
ELEMENTWISE_ACTIVATIONS = ("linear", "relu", "leaky_relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu",
                           "softplus")


def boundary_run(layer, mirrored_input, mirror):
    """Into mirrored coordinates where a stack starts (with `mirror`), out of them where it ends.

    Returns:
        The Run of a channels-first "layout" layer that starts or ends a mirrored stack; None for
        any other layer (and for a layout layer that does neither).
    """
    if role_of(layer) != "layout" or layer.data_format != "channels_first":
        return None
    if layer.to == "conv" and mirror and not mirrored_input:
        return Run(_into_mirrored_layout, mirrored=True)
    if layer.to == "data" and mirrored_input:
        return Run(_out_of_mirrored_layout)
    return None


def _into_mirrored_layout(args, kwargs, training):
    return args[0].permute(0, 3, 1, 2).flip((2, 3))  # NHWC -> NCHW, then mirrored


def _out_of_mirrored_layout(args, kwargs, training):
    return args[0].flip((2, 3)).permute(0, 2, 3, 1)  # back from mirrored, then NCHW -> NHWC


def mirrored_step(node):
    """The Run of `node`'s layer on mirrored inputs giving mirrored outputs; None if it cannot."""
    kwargs = getattr(node.arguments, "kwargs", None)
    if len(node.input_tensors) != 1 or kwargs is None or any(
            value is not None and key != "training" for key, value in kwargs.items()):
        return None  # the mirrored layers take one tensor; `training` is the call's, `mask` None
    run = _mirrored_run(node.operation, node)
    return None if run is None else Run(run, mirrored=True)


def _mirrored_run(layer, node):
    """`run` of `layer` on mirrored inputs giving mirrored outputs; None if this layer cannot."""
    k = keras.layers
    kind, role = type(layer), role_of(layer)
    rank = len(node.input_tensors[0].shape)
    if kind in (k.LeakyReLU, k.ReLU) or (kind is k.Activation and _elementwise(layer.activation)):
        return direct_call(layer).function
    if (kind is k.BatchNormalization or role == "batch_norm") and rank == 4 and layer.axis % 4 == 1:
        return direct_call(layer).function  # per channel: statistics over mirrored positions alike
    if role == "minibatch_std" and layer.data_format == "channels_first":
        return direct_call(layer).function  # spatial means, a spatially constant channel
    if kind is k.Conv2D:
        return _mirrored_conv(layer, lambda training: layer.kernel, node)
    if role == "spectral_norm" and type(layer.layer) is k.Conv2D:
        return _mirrored_conv(layer.layer, _spectral_kernel(layer), node)
    if role == "conv_transpose":
        return _mirrored_conv_transpose(layer, node)
    return None


def _elementwise(activation):
    name = getattr(activation, "__name__", None)
    return name in ELEMENTWISE_ACTIVATIONS and keras.activations.get(name) is activation


def _spectral_kernel(layer):
    """The kernel a "spectral_norm" layer's `call` convolves with, storing u in training as it does."""

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
        kernel = torch.flip(tensor_of(kernel_of(training)), (0, 1)).permute(3, 2, 0, 1)
        bias = tensor_of(conv.bias) if conv.use_bias else None
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
    """A "conv_transpose" layer (kzoo's `Conv2DTranspose`) in mirrored coordinates: flipped kernel,
    crops swapped."""
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
        kernel = torch.flip(tensor_of(layer.kernel), (0, 1))
        bias = tensor_of(layer.bias) if layer.use_bias else None
        outputs = conv_transpose_window(args[0], kernel, bias, strides, dilation, mirrored_crops)
        return outputs if activation is None else activation(outputs)

    return run

