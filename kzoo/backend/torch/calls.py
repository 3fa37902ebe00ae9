"""One layer's computation as the executor runs it: the layer's `call`, without `Layer.__call__`."""

import inspect

import keras
import torch

from kzoo.backend.torch.core import tensor_of


class Run:
    """A step's computation, `function(args, kwargs, training)`; `mirrored`: whether its outputs
    are in mirrored coordinates (see `kzoo.backend.torch.mirror`)."""

    def __init__(self, function, mirrored=False):
        self.function = function
        self.mirrored = mirrored


def direct_call(layer):
    """`layer.call`, with `training` if it takes it (as `Layer.__call__` passes the outer value)."""
    call = layer.call
    if "training" in inspect.signature(call).parameters:
        return Run(lambda args, kwargs, training: call(*args, **{**kwargs, "training": training}))
    return Run(lambda args, kwargs, training: call(*args, **kwargs))


def dense_call(layer):
    """Keras's `Dense.call` (x @ kernel + bias, activation) in one `addmm` for 2-D inputs: Keras's
    `ops.matmul` and `ops.add` dispatch cost 30 microseconds per call against 5 for torch's op
    (../shared/notes/torch-overhead.md), and the addition a pass over the outputs (cgan at width
    1, generator and discriminator forward and backward: 1.12 -> 0.79 ms of CPU time)."""
    activation = None if layer.activation is keras.activations.linear else layer.activation

    def run(args, kwargs, training):
        x, kernel = args[0], tensor_of(layer.kernel)  # `kernel`: Keras's property (LoRA included)
        if layer.bias is None:
            outputs = torch.matmul(x, kernel)
        elif x.ndim == 2:
            outputs = torch.addmm(tensor_of(layer.bias), x, kernel)
        else:
            outputs = torch.matmul(x, kernel) + tensor_of(layer.bias)
        return outputs if activation is None else activation(outputs)

    return Run(run)
