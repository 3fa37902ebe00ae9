"""Networks without `Layer.__call__` (the "executor" fast path).

`Layer.__call__` adds 37-54 microseconds to every layer call on torch (input conversion, call-
signature binding, name scopes, call context, masks, autocast checks; the MLP discriminator's
forward and backward took 3.66 ms, 2.11 ms with its layers' `call` run directly,
../shared/notes/torch-overhead.md). `run_network` runs a `kzoo.layers.Network` the way Keras's
`Functional.call` does (same node order, same arguments, `training` passed to the layers that
take it) but calls each layer's `call` directly, for layer classes whose `__call__` adds nothing
else in float32 without masks, hooks or scopes: the Keras classes below and the classes that
declared a role (`kzoo.backend.declare_layer`). Anything else runs through Keras. With the
"mirror" fast path, a network's convolution stacks run mirrored (`kzoo.backend.torch.mirror`).
"""

import weakref

import keras
import torch

from kzoo.backend.torch.calls import dense_call, direct_call
from kzoo.backend.torch.core import torch_dtype
from kzoo.backend.torch.fast_paths import fast_path
from kzoo.backend.torch.layer_roles import role_of
from kzoo.backend.torch.mirror import boundary_run, mirrored_step

# Keras 3.15.1 private names read to plan a network; if one is missing, networks run through Keras.
EXECUTOR_PRIVATE_NAMES = {"nodes_by_depth": "_nodes_by_depth", "standardize_inputs": "_standardize_inputs"}
PLAN_ATTRIBUTE = "_kzoo_torch_plan"  # where a network keeps its plan (set without Keras's tracking)

# Keras's layer classes (exact) whose `call` is everything their `__call__` does in a plain
# float32 call; kzoo's own classes promise it by declaring a role.
KERAS_DIRECT_CALL_CLASSES = frozenset({
    keras.layers.Dense, keras.layers.LeakyReLU, keras.layers.ReLU, keras.layers.Activation, keras.layers.Reshape,
    keras.layers.Flatten, keras.layers.Concatenate, keras.layers.Embedding, keras.layers.Dropout,
    keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.BatchNormalization,
})


def _keras_context_check():
    """A function telling whether no stateless or autocast scope is open; None if Keras moved them."""
    try:
        from keras.src.backend import get_autocast_scope, in_stateless_scope
    except ImportError:
        return None
    return lambda: not in_stateless_scope() and get_autocast_scope() is None


_outside_keras_scopes = _keras_context_check()


def run_network(network, args, kwargs):
    """`network(*args, **kwargs)` run layer by layer without `Layer.__call__`; None where Keras must run it.

    Taken for one input structure and an explicit `training=True/False` (inference calls with
    `training=None` let Keras resolve it), eagerly, outside Keras's stateless and autocast scopes.
    """
    if not fast_path("executor") or not _plain_call(args, kwargs):
        return None
    if _outside_keras_scopes is None or not _outside_keras_scopes() or torch.compiler.is_compiling():
        return None
    plan = plan_of(network)
    if plan.steps is None or plan.hooked():
        return None
    inputs = plan.standardized_inputs(args[0])
    if inputs is None:
        return None
    return plan.run(inputs, kwargs["training"])


def _plain_call(args, kwargs):
    return (len(args) == 1 and type(kwargs.get("training")) is bool and kwargs.get("mask") is None
            and all(key in ("training", "mask") for key in kwargs))


def plan_of(network):
    """The network's plan, made on first use (and again if the mirror setting changed)."""
    mirror = fast_path("mirror")
    plan = network.__dict__.get(PLAN_ATTRIBUTE)
    if plan is None or plan.network() is not network or plan.mirror != mirror:
        plan = _Plan(network, mirror)
        object.__setattr__(network, PLAN_ATTRIBUTE, plan)  # not a weight: kept out of Keras's tracking
    return plan


class _Plan:
    """How to run one network: `steps` in graph order, each `(arguments, output ids, run)` with
    `run(args, kwargs, training) -> outputs`; `steps` is None where Keras must run it."""

    def __init__(self, network, mirror):
        self.network = weakref.ref(network)  # a copied network (deepcopy) makes its own plan
        self.mirror = mirror
        self.steps = None
        self.mirrored = False  # whether a convolution stack runs in mirrored coordinates
        try:
            nodes = _graph_nodes(network)
            self._standardize = getattr(network, EXECUTOR_PRIVATE_NAMES["standardize_inputs"])
        except AttributeError:  # Keras moved a private name: run through Keras
            return
        if nodes is None or not all(_direct_callable(node.operation) for node in nodes):
            return
        self.layers = [network] + _unique_layers(nodes)
        self.input_ids = [id(x) for x in network.inputs]
        self.input_shapes = [tuple(x.shape) for x in network.inputs]
        device = network.weights[0].value.device if network.weights else None
        self.input_dtypes_and_device = [(torch_dtype(x.dtype), device) for x in network.inputs]
        self.output_ids = [id(x) for x in network.outputs]
        self.single_output = isinstance(network.output, keras.KerasTensor)
        self.output_structure = network.output
        planned = _steps(network, nodes, mirror=True) if mirror else None
        self.steps, self.mirrored = planned or _steps(network, nodes, mirror=False)

    def hooked(self):
        """Whether torch module hooks are registered (Keras's `__call__` would run them)."""
        return _hooks_registered(self.layers)

    def standardized_inputs(self, structured):
        """The network's inputs as Keras's `Functional.call` converts them; None to let Keras
        handle (and report) anything unusual: symbolic or masked inputs, other shapes."""
        flat = [structured] if isinstance(structured, torch.Tensor) else keras.tree.flatten(structured)
        if any(isinstance(x, keras.KerasTensor) or getattr(x, "_keras_mask", None) is not None for x in flat):
            return None
        # Tensors of the inputs' dtypes, in the inputs' order, are what Keras's conversion returns
        # unchanged: skip it for them (cgan at width 1, generator and discriminator forward and
        # backward: 1.11 -> 0.79 ms of CPU time, 1 thread).
        ready = (isinstance(structured, (torch.Tensor, list, tuple)) and all(isinstance(x, torch.Tensor) for x in flat)
                 and [(x.dtype, x.device) for x in flat] == self.input_dtypes_and_device)
        inputs = flat if ready else self._standardize(structured)
        if len(inputs) != len(self.input_shapes):
            return None
        for x, shape in zip(inputs, self.input_shapes):
            if x.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, x.shape)):
                return None
        return inputs

    def run(self, inputs, training):
        values = dict(zip(self.input_ids, inputs))
        for arguments, output_ids, run in self.steps:
            args, kwargs = arguments.fill_in(values)
            outputs = run(args, kwargs, training)
            if len(output_ids) == 1 and isinstance(outputs, torch.Tensor):
                values[output_ids[0]] = outputs
            else:
                values.update(zip(output_ids, keras.tree.flatten(outputs)))
        outputs = [values[i] for i in self.output_ids]
        if self.single_output:
            return outputs[0]
        packed = keras.tree.pack_sequence_as(self.output_structure, outputs)
        return packed[0] if isinstance(packed, (list, tuple)) and len(packed) == 1 else packed


def _graph_nodes(network):
    """The network's nodes in the order `Function._run_through_graph` runs them; None if an output
    cannot be computed from the inputs."""
    by_depth = getattr(network, EXECUTOR_PRIVATE_NAMES["nodes_by_depth"])
    available = {id(x) for x in network.inputs}
    ordered = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            if any(id(x) not in available for x in node.input_tensors):
                continue  # as Keras: not computable from these inputs
            ordered.append(node)
            available.update(id(x) for x in node.outputs)
    return ordered if all(id(x) in available for x in network.outputs) else None


# torch.nn.Module's hook registries (torch 2.13), global and per module; a missing one counts as
# registered, so that a later torch that moves them gets Keras's own call, hooks included.
TORCH_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                      "_global_backward_pre_hooks")
TORCH_MODULE_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _hooks_registered(modules):
    registries = torch.nn.modules.module
    if any(getattr(registries, name, True) for name in TORCH_GLOBAL_HOOKS):
        return True
    return any(getattr(module, name, True) for module in modules for name in TORCH_MODULE_HOOKS)


def _unique_layers(nodes):
    layers = []
    for node in nodes:
        if all(node.operation is not layer for layer in layers):
            layers.append(node.operation)
    return layers


def _direct_callable(layer):
    if (type(layer) not in KERAS_DIRECT_CALL_CLASSES and role_of(layer) is None) or not layer.built:
        return False
    if layer.dtype_policy.name != "float32" or getattr(layer, "quantization_mode", None) is not None:
        return False
    if layer.activity_regularizer is not None or getattr(layer, "_remat_mode", None) is not None:
        return False
    return not getattr(layer, "mask_zero", False)  # Embedding(mask_zero=True) makes masks


def _steps(network, nodes, mirror):
    """(the plan's steps, whether a stack runs mirrored); with `mirror`, convolution stacks in
    mirrored coordinates, or None where one cannot be (the caller then plans without mirroring)."""
    mirrored, steps = set(), []
    for node in nodes:
        flags = {id(x) in mirrored for x in node.input_tensors}
        if len(flags) > 1:
            return None  # mirrored and plain inputs meet
        run = _step_run(node, flags == {True}, mirror)
        if run is None:
            return None
        if run.mirrored:
            mirrored.update(id(x) for x in node.outputs)
        steps.append((node.arguments, tuple(id(x) for x in node.outputs), run.function))
    if any(id(x) in mirrored for x in network.outputs):
        return None
    return steps, bool(mirrored)


def _step_run(node, mirrored_input, mirror):
    """How a plan runs `node` (a `Run`); None where its stack cannot run mirrored."""
    layer = node.operation
    boundary = boundary_run(layer, mirrored_input, mirror)
    if boundary is not None:
        return boundary
    if not mirrored_input:
        return dense_call(layer) if type(layer) is keras.layers.Dense else direct_call(layer)
    return mirrored_step(node)
