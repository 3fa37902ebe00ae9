"""torch's fast paths (the kzoo.backend.torch package) compute what Keras's own code computes.

On torch, each is compared with Keras's own path on the same weights (`KZOO_TORCH_FAST_PATHS`
"all" against "none"): networks run by the executor, mirrored convolution stacks included, give
Keras's outputs, gradients, batch-normalization statistics and spectral-norm vectors; the in-place
Adam and RMSprop give `optimizer.apply`'s weights, slots and iteration counts, bit for bit. Each
declines where it must, and when a private Keras name it reads has moved. On TensorFlow and JAX
there is no such path: `run_network` declines and a `Network` is a `keras.Model`.
"""


import keras
import numpy as np
import pytest
from conftest import backend_name
from keras import layers

from kzoo import backend
from kzoo.errors import BackendError
from kzoo.layers import ConvLayout, Network
from kzoo.models import blocks

on_torch = pytest.mark.skipif(backend_name() != "torch", reason="torch's fast paths")


@pytest.fixture
def torch_paths(monkeypatch):
    """Set the KZOO_TORCH_FAST_PATHS switch for one test: `torch_paths("none")`."""
    from kzoo.backend.torch import fast_paths

    def choose(setting):
        monkeypatch.setattr(fast_paths, "FAST_PATHS", fast_paths.fast_paths_from(setting))

    return choose


# ------------------------------------------------------------------ networks
def _forward_backward(network, inputs, training):
    """(outputs, gradients for the float inputs and each trainable weight, non-trainable weights after)."""
    import torch

    tensors = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    outputs = keras.tree.flatten(network(tensors[0] if len(tensors) == 1 else tensors, training=training))
    probes = [torch.linspace(-1.0, 1.5, y.numel()).reshape(y.shape) for y in outputs]
    loss = sum((y * p).sum() for y, p in zip(outputs, probes))
    wrt = [x for x in tensors if x.requires_grad] + [v.value for v in network.trainable_variables]
    grads = torch.autograd.grad(loss, wrt, allow_unused=True)
    return ([y.detach().numpy() for y in outputs],
            [np.zeros(tuple(w.shape), "float32") if g is None else g.numpy() for g, w in zip(grads, wrt)],
            [v.numpy().copy() for v in network.non_trainable_variables])


def fast_and_keras(network, inputs, torch_paths, training=True):
    """`_forward_backward` with every fast path and with Keras's own code, from the same state."""
    import torch

    start = [v.numpy().copy() for v in network.non_trainable_variables]
    results = []
    for setting in ("all", "none"):
        for variable, value in zip(network.non_trainable_variables, start):
            variable.assign(value)
        torch.manual_seed(0)  # Keras's unseeded dropout on torch draws from torch's own generator
        torch_paths(setting)
        results.append(_forward_backward(network, inputs, training))
    torch_paths("all")
    return results


def assert_same_computation(fast, reference):
    """Equal up to float rounding: each array against the largest magnitude of its reference, or
    5% of its group's (outputs, gradients, state): a bias just before batch normalization has a
    zero gradient, round-off of the other terms' size."""
    for group_fast, group_reference in zip(fast, reference):
        assert len(group_fast) == len(group_reference)
        group_scale = max([float(np.abs(b).max()) for b in group_reference if b.size] + [1e-3])
        for a, b in zip(group_fast, group_reference):
            assert a.shape == b.shape
            scale = max(float(np.abs(b).max()) if b.size else 0.0, 0.05 * group_scale)
            np.testing.assert_allclose(a, b, rtol=0, atol=2e-5 * scale)


def plan_of(network):
    from kzoo.backend.torch import executor

    return executor.plan_of(network)


def _inputs(network, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 3, (batch,)).astype("int32") if x.dtype.startswith("int")
            else rng.standard_normal((batch, *x.shape[1:])).astype("float32") for x in network.inputs]


NETWORKS = {  # name: (builder, mirrored convolution stacks)
    "mlp_generator": (lambda: blocks.mlp_generator((6, 4, 1), 5, 4, num_classes=3), False),
    "mlp_discriminator": (lambda: blocks.mlp_discriminator((6, 4, 1), 4, 0.3, num_classes=3, minibatch_std=2),
                          False),
    "conv_generator": (lambda: blocks.conv_generator((12, 8, 3), 5, 2, num_classes=3), True),
    "conv_discriminator": (lambda: blocks.conv_discriminator((12, 8, 3), 2, minibatch_std=2), True),
    "sn_discriminator": (lambda: blocks.conv_discriminator((8, 8, 1), 2, batch_norm=False, spectral_norm=True),
                         True),
    "classifier_discriminator": (lambda: blocks.conv_classifier_discriminator((8, 8, 1), 2, [("a", 1), ("b", 3)]),
                                 True),
    "infogan_generator": (lambda: blocks.infogan_generator((8, 8, 1), 5, 2), True),
    "infogan_discriminator": (lambda: blocks.infogan_discriminator((8, 8, 1), 2, 3), True),
}


@on_torch
@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("training", [True, False])
def test_builtin_networks_run_as_keras_runs_them(name, training, torch_paths):
    """Outputs, input and weight gradients, and the statistics, vectors and seeds a call stores."""
    build, mirrored = NETWORKS[name]
    keras.utils.set_random_seed(0)
    network = build()
    assert isinstance(network, Network)
    plan = plan_of(network)
    assert plan.steps is not None and plan.mirrored == mirrored  # the path under test is taken
    fast, reference = fast_and_keras(network, _inputs(network), torch_paths, training)
    assert_same_computation(fast, reference)
    if training and any(isinstance(layer, layers.BatchNormalization) for layer in network.layers):
        start = [v.numpy() for v in network.non_trainable_variables]
        assert any(not np.array_equal(a, b) for a, b in zip(fast[2], start)), "statistics did not move"


def _conv_stack(conv, shape):
    """NHWC -> ConvLayout -> `conv` -> ConvLayout -> NHWC, as kzoo's builders stack them."""
    images = keras.Input(shape=shape)
    return Network(images, ConvLayout("data")(conv(ConvLayout("conv")(images))))


# (kernel, strides, padding, dilation, input height and width, mirrored)
CONV_CASES = [
    (5, 2, "same", 1, (14, 15), True),  # the DCGAN discriminator's: Keras pads 1 before, 2 after
    (3, 2, "same", 1, (7, 8), True),
    (4, 2, "same", 1, (8, 9), True),
    (2, 3, "same", 1, (4, 5), True),
    (3, (2, 1), "same", 1, (6, 7), True),
    (3, 1, "same", 2, (6, 7), True),
    (3, 2, "valid", 1, (7, 9), True),
    (4, 1, "same", 1, (6, 7), False),  # even kernel, stride 1: the mirrored padding adds an output
    (3, 2, "valid", 1, (7, 8), False),  # the last input column is unused: mirrored, the first
]


@on_torch
@pytest.mark.parametrize("kernel,strides,padding,dilation,size,mirrored", CONV_CASES)
def test_mirrored_convolution_is_keras_convolution(kernel, strides, padding, dilation, size, mirrored, torch_paths):
    keras.utils.set_random_seed(1)
    conv = layers.Conv2D(3, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                         data_format="channels_first", activation="tanh")
    network = _conv_stack(conv, (*size, 2))
    conv.bias.assign(np.linspace(-0.5, 0.5, 3).astype("float32"))
    assert plan_of(network).mirrored == mirrored
    assert_same_computation(*fast_and_keras(network, _inputs(network), torch_paths))


# (kernel, strides, padding, output_padding, input size, mirrored)
CONV_TRANSPOSE_CASES = [
    (5, 2, "same", None, 7, True),  # the DCGAN generator's
    (5, 1, "same", None, 7, True),
    (4, 2, "same", None, 4, True),
    (3, 3, "same", None, 3, True),
    (3, 2, "same", 1, 5, True),
    (3, 2, "valid", None, 5, True),
    (2, 3, "same", None, 4, False),  # Keras zero-pads here: no crops to mirror
]


@on_torch
@pytest.mark.parametrize("kernel,strides,padding,output_padding,size,mirrored", CONV_TRANSPOSE_CASES)
def test_mirrored_transposed_convolution_is_keras_transposed_convolution(kernel, strides, padding, output_padding,
                                                                          size, mirrored, torch_paths):
    keras.utils.set_random_seed(2)
    conv = blocks.Conv2DTranspose(3, kernel, strides=strides, padding=padding, output_padding=output_padding,
                                  data_format="channels_first")
    network = _conv_stack(conv, (size, size + 1, 2))
    conv.bias.assign(np.linspace(-0.5, 0.5, 3).astype("float32"))
    assert plan_of(network).mirrored == mirrored
    assert_same_computation(*fast_and_keras(network, _inputs(network), torch_paths))


@on_torch
def test_a_layer_that_does_not_commute_with_mirroring_keeps_the_stack_unmirrored(torch_paths):
    images = keras.Input(shape=(6, 6, 2))
    x = layers.Conv2D(2, 3, strides=2, padding="same", data_format="channels_first")(ConvLayout("conv")(images))
    x = layers.Activation("softmax")(x)  # over the last (spatial) axis here
    network = Network(images, ConvLayout("data")(x))
    plan = plan_of(network)
    assert plan.steps is not None and not plan.mirrored
    assert_same_computation(*fast_and_keras(network, _inputs(network), torch_paths))


@on_torch
def test_the_executor_declines_what_keras_must_handle(torch_paths):
    import torch

    from kzoo.backend import torch as fast

    keras.utils.set_random_seed(3)
    network = blocks.conv_discriminator((8, 8, 1), 2)
    x = torch.randn(2, 8, 8, 1)
    assert fast.run_network(network, (x,), {"training": True}) is not None
    assert fast.run_network(network, (x,), {}) is None  # training=None: Keras resolves it
    assert fast.run_network(network, (x,), {"training": True, "mask": torch.ones(2)}) is None
    assert fast.run_network(network, (torch.randn(2, 8, 9, 1),), {"training": True}) is None  # Keras reports it
    with keras.StatelessScope():
        assert fast.run_network(network, (x,), {"training": True}) is None
    handle = network.layers[2].register_forward_hook(lambda *args: None)
    assert fast.run_network(network, (x,), {"training": True}) is None  # Keras's __call__ runs hooks
    handle.remove()
    symbolic = network(keras.Input(shape=(8, 8, 1)), training=True)  # builds a graph, as Keras does
    assert isinstance(symbolic, keras.KerasTensor)
    other = Network(network.inputs, layers.LayerNormalization()(network.outputs[0]))
    assert plan_of(other).steps is None  # a layer the executor does not know: Keras runs it all


@on_torch
def test_networks_run_through_keras_when_a_private_name_moved(monkeypatch, torch_paths):
    from kzoo.backend import torch as fast
    from kzoo.backend.torch import executor

    keras.utils.set_random_seed(4)
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 1)).astype("float32")
    for key in fast.EXECUTOR_PRIVATE_NAMES:
        with monkeypatch.context() as patch:
            patch.setitem(fast.EXECUTOR_PRIVATE_NAMES, key, "_moved_in_a_later_keras")
            network = blocks.conv_discriminator((8, 8, 1), 2)
            assert plan_of(network).steps is None
            assert_same_computation(*fast_and_keras(network, [x], torch_paths))
    monkeypatch.setattr(executor, "_outside_keras_scopes", None)
    assert fast.run_network(blocks.conv_discriminator((8, 8, 1), 2), (x,), {"training": True}) is None


@on_torch
def test_transposed_convolutions_stay_unmirrored_when_keras_moved_its_crop_helper(monkeypatch, torch_paths):
    from kzoo.backend import common

    monkeypatch.setattr(common, "conv_transpose_crops", lambda *args: None)
    keras.utils.set_random_seed(5)
    network = blocks.conv_generator((8, 8, 1), 5, 2)
    plan = plan_of(network)
    assert plan.steps is not None and not plan.mirrored
    assert_same_computation(*fast_and_keras(network, _inputs(network), torch_paths))


def test_no_executor_off_torch():
    """TensorFlow and JAX trace a step once: there a `Network` is exactly `keras.Model`."""
    keras.utils.set_random_seed(6)
    network = blocks.conv_generator((8, 8, 1), 5, 2)
    noise = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    taken = backend.run_network(network, (noise,), {"training": True})
    assert (taken is not None) == (backend_name() == "torch")
    plain = keras.Model(network.input, network.output)  # the same layers, called by Keras
    np.testing.assert_allclose(keras.ops.convert_to_numpy(network(noise, training=False)),
                               keras.ops.convert_to_numpy(plain(noise, training=False)), rtol=1e-5, atol=1e-6)


def test_a_network_saves_and_clones_as_a_functional_model(tmp_path):
    keras.utils.set_random_seed(8)
    network = blocks.conv_generator((8, 8, 1), 5, 2)
    noise = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    expected = keras.ops.convert_to_numpy(network(noise, training=False))
    network.save(tmp_path / "generator.keras")
    for copy in (keras.saving.load_model(tmp_path / "generator.keras"), keras.models.clone_model(network)):
        assert type(copy) is Network and [w.shape for w in copy.weights] == [w.shape for w in network.weights]
    reloaded = keras.saving.load_model(tmp_path / "generator.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(noise, training=False)), expected, atol=1e-6)


# ------------------------------------------------------------------ layer roles
@on_torch
def test_the_executor_knows_kzoos_layers_by_the_roles_they_declare(torch_paths):
    """Each class of kzoo.layers has its role; a subclass has none, so Keras runs its network."""
    from kzoo import layers as kzoo_layers
    from kzoo.backend.torch.layer_roles import role_of

    roles = {kzoo_layers.ConvLayout("conv"): "layout", kzoo_layers.Conv2DTranspose(2, 3): "conv_transpose",
             kzoo_layers.BatchNormalization(): "batch_norm", kzoo_layers.MinibatchStdDev(): "minibatch_std",
             kzoo_layers.SpectralNormalization(layers.Dense(2)): "spectral_norm", layers.Dense(2): None}
    assert {type(layer): role_of(layer) for layer in roles} == {type(layer): role for layer, role in roles.items()}

    class OwnNormalization(kzoo_layers.BatchNormalization):  # its `call` may do more than the role says
        pass

    images = keras.Input(shape=(4, 4, 2))
    network = Network(images, ConvLayout("data")(OwnNormalization(axis=1)(ConvLayout("conv")(images))))
    assert role_of(network.layers[2]) is None and plan_of(network).steps is None
    assert_same_computation(*fast_and_keras(network, _inputs(network), torch_paths))


def test_declare_layer_takes_known_roles_only():
    class Layer(layers.Layer):
        pass

    assert backend.declare_layer(Layer, "batch_norm") is Layer
    with pytest.raises(ValueError, match="unknown layer role 'batchnorm'"):
        backend.declare_layer(Layer, "batchnorm")


def test_the_backend_imports_nothing_built_on_it():
    """kzoo.backend is below kzoo.layers, the players and the models: it imports only itself and
    kzoo.errors (kzoo.layers declares its roles instead of the backend importing it)."""
    import ast
    import pathlib

    import kzoo.backend

    root = pathlib.Path(kzoo.backend.__file__).parent
    imported = set()  # (file, module)
    for path in root.rglob("*.py"):
        file = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update((file, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module == "kzoo":
                imported.update((file, f"kzoo.{alias.name}") for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add((file, node.module))
    kzoo_modules = {(file, name) for file, name in imported if name.split(".")[0] == "kzoo"}
    assert any(name.startswith("kzoo.backend.torch") for _, name in kzoo_modules)  # the walk saw the packages
    assert {(file, name) for file, name in kzoo_modules
            if not name.startswith("kzoo.backend") and name != "kzoo.errors"} == set()


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
    from kzoo.backend.torch import optimizers

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
    monkeypatch.setattr(optimizers, "KERAS_OPTIMIZER_KINDS", {})
    assert not fast.apply_in_place(optimizer, _gradients(variables, 0), variables)
    assert int(optimizer.iterations.numpy()) == 0


@on_torch
def test_the_switch_reads_names(monkeypatch):
    from kzoo.backend import torch as fast

    assert fast.fast_paths_from(None) == fast.fast_paths_from("all") == set(fast.FAST_PATH_NAMES)
    assert fast.fast_paths_from("none") == fast.fast_paths_from("0") == set()
    assert fast.fast_paths_from(" optimizer, executor ") == {"optimizer", "executor"}
    with pytest.raises(BackendError, match="unknown fast path"):
        fast.fast_paths_from("optimiser")


@on_torch
def test_a_misspelt_switch_is_a_one_line_error(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import assert_one_line_error

    env = dict(os.environ, KZOO_TORCH_FAST_PATHS="optimiser", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-m", "kzoo", "train", "dcgan", "--backend", "torch", "--epochs", "1",
                             "--set", "width=2", "--out", str(tmp_path / "run")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert_one_line_error(result.returncode, result.stdout + result.stderr, "KZOO_TORCH_FAST_PATHS", "optimiser")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ training
@on_torch
@pytest.mark.parametrize("name,kwargs", [("dcgan", {"width": 2}), ("cgan", {"width": 4}),
                                         ("wgan", {"width": 2, "learning_rate": 1e-3, "d_steps": 2})])
def test_training_with_and_without_fast_paths_agrees(name, kwargs, torch_paths, tiny_mnist):
    """Two steps from the same weights and seed: the same losses, weights, statistics, optimizer
    slots, step counts and seeds, up to float rounding.

    Except where Adam amplifies rounding: a bias just before batch normalization has a zero
    gradient (the normalization subtracts it again), round-off that Adam scales to a step of
    either sign. Those biases (and the statistics they shift) agree within a learning-rate step
    per update.
    """
    import kzoo

    x, y = tiny_mnist
    results = []
    for setting in ("all", "none"):
        torch_paths(setting)
        keras.utils.set_random_seed(7)
        model = kzoo.create_model(name, seed=3, **kwargs)
        model.compile()
        history = model.fit(x[:16], y[:16] if model.conditional else None, batch_size=8, epochs=1, verbose=0,
                            shuffle=False)
        state = model.weights + model.optimizer.variables + [model.seed_generator.state]
        results.append(([v.numpy() for v in state], history.history))
    (fast, fast_history), (reference, reference_history) = results
    for key, values in reference_history.items():
        np.testing.assert_allclose(fast_history[key], values, rtol=1e-4)
    loose = _ahead_of_batch_normalization(model)
    step_bound = 2 * 2 * float(keras.ops.convert_to_numpy(model.d_optimizer.learning_rate))
    for variable, a, b in zip(state, fast, reference):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=step_bound if variable.path in loose else 1e-5,
                                   err_msg=variable.path)


def _ahead_of_batch_normalization(model):
    """Paths of the biases that feed a batch normalization directly, and of its moving means."""
    paths = set()
    for network in (model.generator, model.discriminator):
        for layer, following in zip(network.layers, network.layers[1:]):
            if isinstance(following, layers.BatchNormalization) and getattr(layer, "bias", None) is not None:
                paths.update({layer.bias.path, following.moving_mean.path})
    return paths


# A model trained on torch with every fast path reloads on TensorFlow and JAX with the same images.
TRAIN_ON_TORCH = """
import keras, kzoo
from kzoo.backend import torch as fast
from kzoo.backend.torch import executor, optimizers
assert fast.FAST_PATHS == set(fast.FAST_PATH_NAMES)
in_place = []
apply_in_place = optimizers.apply_in_place
optimizers.apply_in_place = lambda *args: in_place.append(apply_in_place(*args)) or in_place[-1]
keras.utils.set_random_seed(0)
model = kzoo.create_model("dcgan", width=4, seed=11)
x, _ = kzoo.data.load("mnist-5k")
model.fit(x[:32], batch_size=8, epochs=1, verbose=0)
assert in_place and all(in_place), in_place
assert executor.plan_of(model.generator).mirrored and executor.plan_of(model.discriminator).mirrored
models = {"dcgan": model}
"""

IMAGES = """
def outputs(model):
    noise = np.random.default_rng(1).standard_normal((6, model.latent_dim)).astype("float32")
    return {"images": model.generate(noise)}
"""


@pytest.mark.portability
def test_a_model_trained_with_the_fast_paths_reloads_with_the_same_images(tmp_path):
    from conftest import train_save_reload

    # The switch unset (every fast path) in every interpreter; it only matters on torch.
    result = train_save_reload(tmp_path, TRAIN_ON_TORCH, IMAGES, train_on="torch", reload_on=("tensorflow", "jax"),
                               env={"KZOO_TORCH_FAST_PATHS": None})
    for reloaded_on in ("tensorflow", "jax"):
        assert result.difference(reloaded_on, "dcgan", "images") < 1e-3, reloaded_on
