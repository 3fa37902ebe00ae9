"""torch's fast paths (kzoo.backend.torch) compute what Keras's own code computes.

On torch, the in-place Adam and RMSprop give `optimizer.apply`'s weights, slots and iteration
counts, bit for bit, and decline where they must, also when a private Keras name they read has
moved.
"""

import keras
import numpy as np
import pytest
from conftest import backend_name

on_torch = pytest.mark.skipif(backend_name() != "torch", reason="torch's fast paths")


# ------------------------------------------------------------------ optimizers
def _variables(seed, shapes=((3, 4), (4,), (2, 3, 3, 2))):
    rng = np.random.default_rng(seed)
    return [keras.Variable(rng.standard_normal(shape).astype("float32"), name=f"w{i}")
            for i, shape in enumerate(shapes)]


def _gradients(variables, step):
    import torch

    rng = np.random.default_rng(100 + step)
    return [torch.tensor(rng.standard_normal(tuple(v.shape)).astype("float32")) for v in variables]


OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-2, beta_1=0.5),
    "adam_schedule": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)),
    "adam_loss_scale": lambda: keras.optimizers.Adam(1e-2, loss_scale_factor=4.0),
    "rmsprop": lambda: keras.optimizers.RMSprop(1e-2),
    "rmsprop_rho": lambda: keras.optimizers.RMSprop(1e-2, rho=0.8, epsilon=1e-6),
}


@on_torch
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_in_place_updates_are_keras_updates_bit_for_bit(name):
    import torch

    from kzoo.backend import torch as fast

    theirs, ours = _variables(0), _variables(0)
    keras_optimizer, fast_optimizer = OPTIMIZERS[name](), OPTIMIZERS[name]()
    keras_optimizer.build(theirs), fast_optimizer.build(ours)
    for step in range(3):
        with torch.no_grad():
            keras_optimizer.apply(_gradients(theirs, step), theirs)
            assert fast.apply_in_place(fast_optimizer, _gradients(ours, step), ours)
    for a, b in zip(ours + fast_optimizer.variables, theirs + keras_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=b.path)
    assert int(fast_optimizer.iterations.numpy()) == 3


DECLINED = {
    "weight_decay": lambda: keras.optimizers.Adam(weight_decay=0.1),
    "clipnorm": lambda: keras.optimizers.Adam(clipnorm=1.0),
    "global_clipnorm": lambda: keras.optimizers.RMSprop(global_clipnorm=1.0),
    "clipvalue": lambda: keras.optimizers.Adam(clipvalue=0.1),
    "ema": lambda: keras.optimizers.Adam(use_ema=True),
    "accumulation": lambda: keras.optimizers.Adam(gradient_accumulation_steps=2),
    "amsgrad": lambda: keras.optimizers.Adam(amsgrad=True),
    "momentum": lambda: keras.optimizers.RMSprop(momentum=0.9),
    "centered": lambda: keras.optimizers.RMSprop(centered=True),
    "sgd": lambda: keras.optimizers.SGD(),
    "adamw": lambda: keras.optimizers.AdamW(),
}


@on_torch
@pytest.mark.parametrize("name", DECLINED)
def test_in_place_updates_decline_what_they_do_not_copy(name):
    from kzoo.backend import torch as fast

    variables = _variables(1)
    optimizer = DECLINED[name]()
    optimizer.build(variables)
    before = [v.numpy().copy() for v in variables + optimizer.variables]
    assert not fast.apply_in_place(optimizer, _gradients(variables, 0), variables)
    for a, b in zip(before, variables + optimizer.variables):
        np.testing.assert_array_equal(a, b.numpy())


@on_torch
def test_in_place_updates_decline_constraints_unbuilt_optimizers_and_moved_names(monkeypatch):
    from kzoo.backend import torch as fast

    variables = _variables(2)
    assert not fast.apply_in_place(keras.optimizers.Adam(), _gradients(variables, 0), variables)  # not built
    constrained = [keras.Variable(np.ones((2, 2), "float32"))]
    constrained[0].constraint = keras.constraints.NonNeg()
    optimizer = keras.optimizers.Adam()
    optimizer.build(constrained)
    assert not fast.apply_in_place(optimizer, _gradients(constrained, 0), constrained)
    optimizer = keras.optimizers.Adam()
    optimizer.build(variables)
    for key in fast.OPTIMIZER_PRIVATE_NAMES:
        with monkeypatch.context() as patch:
            patch.setitem(fast.OPTIMIZER_PRIVATE_NAMES, key, "_moved_in_a_later_keras")
            assert not fast.apply_in_place(optimizer, _gradients(variables, 0), variables)
    monkeypatch.setattr(fast, "KERAS_OPTIMIZER_KINDS", {})
    assert not fast.apply_in_place(optimizer, _gradients(variables, 0), variables)
    assert int(optimizer.iterations.numpy()) == 0


@on_torch
def test_the_switch_reads_names(monkeypatch):
    from kzoo.backend import torch as fast

    assert fast.fast_paths_from(None) == fast.fast_paths_from("all") == set(fast.FAST_PATH_NAMES)
    assert fast.fast_paths_from("none") == fast.fast_paths_from("0") == set()
    assert fast.fast_paths_from(" optimizer, layers ") == {"optimizer", "layers"}
    with pytest.raises(ValueError, match="unknown fast path"):
        fast.fast_paths_from("optimiser")
