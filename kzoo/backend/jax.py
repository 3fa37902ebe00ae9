"""JAX: pure gradients over a `keras.StatelessScope` inside Keras's jitted, state-threading step.

Keras's JAX trainer threads the model's state (the four variable lists of `_state_groups`) through
a jitted `train_step(state, data)`. `run_train_step` maps that state into a StatelessScope, so
that kzoo's step can read and assign variables as on the other backends; `minimize`
differentiates a pure function that opens a nested scope. A nested scope does not consult the
outer one, so every variable a loss may read is mapped into it explicitly, and side updates
(batch-normalization statistics, seeds, spectral-norm vectors) come back out as auxiliary
outputs (../shared/notes: pitfall 6). The scopes kzoo opens are kept on a stack, so that
`input_gradient`, called inside a loss, can map the same state into the scope it differentiates.
"""

import contextlib

import jax
import jax.numpy as jnp
import keras

from kzoo.backend import common

common.default_xla_flags()  # before JAX first computes: see common.XLA_CPU_FLAGS

CONV_DATA_FORMAT = "channels_last"
resolve_jit_compile = common.same_jit_compile  # JAX always compiles with XLA
fit_arguments = common.arguments_unchanged
batch_norm_training = common.no_fast_path  # XLA fuses Keras's batch normalization itself
run_network = common.no_fast_path  # inside jit, Keras's per-layer bookkeeping runs once, when tracing


def supports_second_order(jit_compile):
    return True


def set_seed(seed):
    common.set_seed_without_tensorflow(seed)


# The StatelessScopes kzoo's step has open, innermost last (see the module's docstring).
_scopes = []


@contextlib.contextmanager
def _stateless_scope(mapping):
    with keras.StatelessScope(state_mapping=mapping) as scope:
        _scopes.append(scope)
        try:
            yield scope
        finally:
            _scopes.pop()


def _state_groups(model):
    # The same four lists, in the same order, that keras/src/backend/jax/trainer.py threads.
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def run_train_step(model, step, state, data):
    """Call `step(data)` with the threaded `state` mapped into a scope; return (logs, new state)."""
    groups = _state_groups(model)
    mapping = [pair for variables, values in zip(groups, state) for pair in zip(variables, values)]
    with _stateless_scope(mapping) as scope:
        logs = step(data)
    new_state = tuple([scope.get_current_value(v) for v in variables] for variables in groups)
    return logs, new_state


def minimize(objective, variables, optimizer, state_variables):
    """One step of `optimizer` on `variables` for `objective() -> (loss, aux)`; returns (loss, aux).

    `state_variables` are every variable the objective may read or update (the whole model's);
    those not trained here are constants of the differentiated function, and the non-trainable
    ones it assigns (statistics, seeds) are written back to the step's scope.
    """
    trained = {id(v) for v in variables}
    others = [v for v in state_variables if id(v) not in trained]

    def pure(values, other_values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with _stateless_scope(mapping) as scope:
            loss, aux = objective()
        return loss, (aux, [scope.get_current_value(v) for v in others])

    # Inside run_train_step's scope, `v.value` reads the value the step has so far.
    values = [v.value for v in variables]
    other_values = [v.value for v in others]
    (loss, (aux, updated)), grads = jax.value_and_grad(pure, has_aux=True)(values, other_values)
    for variable, value in zip(others, updated):
        if not variable.trainable:  # the other players' weights are constants here
            variable.assign(value)
    optimizer.apply(grads, variables)
    return loss, aux


def input_gradient(fn, x):
    """d fn(x) / dx for a scalar fn, by `jax.grad` inside the enclosing trace: differentiable again.

    `fn` runs in a scope holding the enclosing scope's state (a nested scope does not consult
    the outer one); what it assigns (batch-normalization statistics, seeds) comes out of
    `jax.grad` as auxiliary output and goes back into the enclosing scope, as the same
    assignments would on TensorFlow and torch.
    """
    outer = _scopes[-1] if _scopes else None
    known = dict(outer.state_mapping) if outer is not None else {}

    def value_and_updates(inputs):
        with keras.StatelessScope() as scope:
            scope.state_mapping.update(known)
            value = fn(inputs)
        updates = {key: v for key, v in scope.state_mapping.items() if known.get(key) is not v}
        return value, updates

    grad, updates = jax.grad(value_and_updates, has_aux=True)(keras.ops.convert_to_tensor(x))
    if outer is not None:
        outer.state_mapping.update(updates)
    return grad


# ------------------------------------------------------------------ fast path for one layer
# Keras's JAX `conv_transpose` is an input-dilated convolution, whose kernel gradient XLA
# computes slowly on a CPU: 290 ms against 13 ms for the forward pass in DCGAN's 7x7 -> 14x14
# layer. `conv_transpose` below computes the same function another way; it returns None when it
# has no exact rewrite for its arguments, and the layer then runs Keras's own code.


def conv_transpose(inputs, kernel, strides, padding, output_padding, dilation_rate, data_format):
    """`keras.ops.conv_transpose` as a sub-pixel convolution (exact, faster to differentiate); or None."""
    if len(kernel.shape) != 4:
        return None
    crops = common.conv_transpose_crops(kernel.shape, strides, padding, output_padding, dilation_rate)
    if crops is None:
        return None
    return _conv_transpose_subpixel(inputs, kernel, strides, dilation_rate, data_format, crops)


def _subpixel_axis(size, stride, kernel_size, crop_left, out_size):
    """One spatial axis of the sub-pixel rewrite: (phases, left pad, right pad, kernel span).

    Output o = stride * q + r (phase r) receives x[i] * w[k] for i * stride + k - crop_left = o,
    that is for taps k = c_r + stride * j (c_r = (r + crop_left) % stride) and
    i = q + t_r - j (t_r = (r + crop_left) // stride): a stride-1 correlation of x with the
    reversed taps, padded by J_r - 1 - t_r on the left. Every phase is placed in one kernel of
    `span` taps that shares the largest left pad; phases are (c_r, J_r, offset in the span). A
    phase with no taps (kernel smaller than the stride) is all zeros.
    """
    phases = []
    for r in range(stride):
        c, t = (r + crop_left) % stride, (r + crop_left) // stride
        taps = -(-(kernel_size - c) // stride) if c < kernel_size else 0
        phases.append((c, taps, taps - 1 - t))
    left = max(pad for _, taps, pad in phases if taps)
    span = max(left - pad + taps for _, taps, pad in phases if taps)
    right = out_size // stride - size + span - 1 - left
    return [(c, taps, left - pad if taps else 0) for c, taps, pad in phases], left, right, span


def _conv_transpose_subpixel(inputs, kernel, strides, dilation_rate, data_format, crops):
    """A strided transposed convolution as ONE stride-1 convolution plus a pixel shuffle.

    The stride**2 output phases are stride-1 correlations with sub-kernels of `kernel` (every
    stride-th tap, reversed); they are packed side by side as output channels of one
    convolution and interleaved back (depth-to-space). Same function, same weights: only
    the order of the sums differs. Its kernel gradient is an ordinary convolution's, 9x faster
    than the input-dilated one's here (290 -> 31 ms in DCGAN's 7x7 -> 14x14 layer).
    """
    if any(d != 1 for d in dilation_rate):
        return None
    x = keras.ops.convert_to_tensor(inputs)
    if data_format == "channels_first":
        x = jnp.transpose(x, (0, 2, 3, 1))
    w = keras.ops.convert_to_tensor(kernel)  # (kh, kw, out_channels, in_channels)
    _, size_h, size_w, _ = x.shape
    out_channels = w.shape[2]
    out_sizes = [(size - 1) * s + k - left - right
                 for size, s, k, (left, right) in zip((size_h, size_w), strides, w.shape[:2], crops)]
    if any(out % s for out, s in zip(out_sizes, strides)):
        return None  # phases of unequal length (e.g. an odd "valid" output): not one pixel shuffle
    (phases_h, left_h, right_h, span_h), (phases_w, left_w, right_w, span_w) = [
        _subpixel_axis(size, s, k, left, out)
        for size, s, k, (left, _), out in zip((size_h, size_w), strides, w.shape[:2], crops, out_sizes)
    ]
    sub_kernels = []
    for c_h, taps_h, offset_h in phases_h:
        for c_w, taps_w, offset_w in phases_w:
            sub = jnp.transpose(w[c_h :: strides[0]][::-1][:, c_w :: strides[1]][:, ::-1], (0, 1, 3, 2))
            sub_kernels.append(jnp.pad(sub, [(offset_h, span_h - offset_h - taps_h),
                                             (offset_w, span_w - offset_w - taps_w), (0, 0), (0, 0)]))
    y = jax.lax.conv_general_dilated(
        x, jnp.concatenate(sub_kernels, axis=-1), (1, 1), [(left_h, right_h), (left_w, right_w)],
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    q_h, q_w = out_sizes[0] // strides[0], out_sizes[1] // strides[1]
    y = y.reshape(-1, q_h, q_w, strides[0], strides[1], out_channels).transpose(0, 1, 3, 2, 4, 5)
    y = y.reshape(-1, out_sizes[0], out_sizes[1], out_channels)
    return jnp.transpose(y, (0, 3, 1, 2)) if data_format == "channels_first" else y


# ------------------------------------------------------------------ several devices (issue 13)
# Keras's DataParallel: variables replicated on every device of a 1-D mesh, the batch axis split
# over it. Keras's JAX trainer jits kzoo's step with the state's shardings, and XLA (GSPMD) makes
# every batch reduction, batch-normalization statistics included, one over the global batch.

_cluster = None  # the Cluster this process joined (jax.distributed can be initialized once)


def data_parallel(devices, cluster):
    """Train over `devices` ("all" or a count); first join `cluster`. (names, process id, processes)."""
    from kzoo.errors import DistributionError

    if cluster is not None:
        _join(cluster)
    available = keras.distribution.list_devices()
    count = len(available) if devices == "all" else devices
    if count > len(available):
        hint = (f"; on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count={count} makes {count} virtual devices"
                if available[0].startswith("cpu") else "")
        raise DistributionError(f"--devices {count}: JAX sees {len(available)} ({', '.join(available)}){hint}")
    if jax.process_count() > 1 and count != len(available):
        raise DistributionError(
            f"--devices {count}: with {jax.process_count()} processes every device of every process trains "
            f"({len(available)} in all): use --devices all"
        )
    chosen = available[:count]
    if count == 1:
        keras.distribution.set_distribution(None)
    else:
        # Each process feeds its own share of every batch (kzoo.distribution.Placement.local_batches):
        # Keras's auto-sharding takes tf.data datasets only.
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=chosen, auto_shard_dataset=False))
    return chosen, jax.process_index(), jax.process_count()


def _join(cluster):
    global _cluster
    from kzoo.errors import DistributionError

    if _cluster is not None:
        if _cluster != cluster:
            raise DistributionError(f"this process already belongs to {_cluster}; it cannot join another")
        return
    # Cross-process collectives on CPU devices go through gloo (the default since some jaxlib
    # 0.4.x release, "none" before; checked: the default on 0.10.2). GPUs and TPUs ignore it.
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, KeyError, ValueError):
        pass
    try:
        keras.distribution.initialize(cluster.coordinator, cluster.num_processes, cluster.process_id)
    except RuntimeError as error:  # e.g. JAX computed something already
        raise DistributionError(f"could not join {cluster.num_processes} processes: {error}") from None
    _cluster = cluster


def agreed_seed(seed):
    """Process 0's `seed`, on every process: they must build the same weights and draw the same noise."""
    if jax.process_count() == 1:
        return seed
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(jnp.asarray(seed, dtype=jnp.int32)))
