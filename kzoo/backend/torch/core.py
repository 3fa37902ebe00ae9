"""torch tensors of Keras values, without Keras's per-call dispatch (the fast paths' helpers)."""

import keras
import torch


def torch_dtype(name):
    """The torch dtype of a Keras dtype name ("float32" -> torch.float32); None if torch has none."""
    return getattr(torch, keras.backend.standardize_dtype(name), None)


def tensor_of(value):
    """The torch tensor of a Keras variable (or the tensor itself)."""
    return value.value if isinstance(value, keras.Variable) else value


def float32(value):
    """`keras.ops.cast(value, "float32")` on torch, without the dispatch (a Python number, a
    tensor or a Keras variable)."""
    value = tensor_of(value)
    return value.to(torch.float32) if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float32)
