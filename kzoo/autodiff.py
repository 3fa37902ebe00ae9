"""How a gradient is taken and applied on each backend: the only backend-specific code in kzoo.

(It also holds the other per-backend choices: XLA's CPU scheduler on JAX, the convolutions'
data layout, what `jit_compile="auto"` means, seeding without importing TensorFlow, how `fit()`
feeds arrays on TensorFlow, and fast paths of two layers on torch and JAX, at the end.)

Everything else in kzoo (the adversarial step, the models, the losses) is written in `keras.ops`
and calls the two functions below:

- `run_train_step(model, step, *args)` adapts Keras's per-backend `train_step` calling
  convention to one stateful-looking `step(data) -> logs`;
- `minimize(loss_fn, variables, optimizer, state_variables)` computes `loss_fn()`, takes the
  gradient of its loss with respect to `variables` only, and lets `optimizer` apply it.

On TensorFlow and torch variables are stateful, so both are thin. JAX is pure: Keras's trainer
threads the model's state through a jitted `train_step(state, data)`, so `run_train_step` maps
that state into a `keras.StatelessScope` (reads and writes of variables then go to the scope),
and `minimize` differentiates a pure function that opens a nested scope. A nested scope does
not consult the outer one, so every variable `loss_fn` may read is mapped into it explicitly,
and side updates (batch-normalization statistics, dropout seeds) come back out as auxiliary
outputs (see ../shared/notes: pitfall 6).
"""

import functools
import os

import keras

BACKEND = keras.backend.backend()

# XLA's CPU scheduler by default orders independent operations so that they can run at the same
# time; on a 2-core CPU, where each convolution already uses both cores, that made the
# convolutional models' training steps 10-40% slower (the MLP models' about 10% faster;
# benchmarks/README.md, "Closing the gaps"). The flag exists in every jaxlib kzoo allows
# (checked back to 0.4.30; XLA aborts on an unknown flag). An XLA_FLAGS setting of the user's
# for it wins. XLA reads the variable once, when JAX first computes: importing kzoo's models
# before any JAX computation (as `kzoo train` does) is what makes it count.
XLA_CPU_FLAGS = {"--xla_cpu_enable_concurrency_optimized_scheduler": "false"}


def _default_xla_flags():
    flags = os.environ.get("XLA_FLAGS", "")
    given = {token.split("=", 1)[0] for token in flags.split()}
    added = [f"{name}={value}" for name, value in XLA_CPU_FLAGS.items() if name not in given]
    os.environ["XLA_FLAGS"] = " ".join([flags.strip()] + added).strip()


if BACKEND == "jax":
    _default_xla_flags()

# The layout convolutions run in. Keras on torch transposes around every channels-last
# convolution (torch convolves NCHW; the DCGAN discriminator's forward pass took about half the
# time channels-first there, ../shared/notes); TensorFlow's CPU convolutions take only NHWC.
CONV_DATA_FORMAT = "channels_first" if BACKEND == "torch" else "channels_last"


def resolve_jit_compile(jit_compile):
    """kzoo's reading of `compile(jit_compile="auto")`.

    Keras's "auto" turns XLA off on CPU-only TensorFlow. For the adversarial step XLA is what a
    hand-written loop uses: measured on this project's 2-core CPU, kzoo's DCGAN step ran at
    0.66x a `tf.function(jit_compile=True)` loop in graph mode and at 1.02x with XLA
    (benchmarks/README.md). JAX always compiles with XLA; torch stays eager (torch.compile is
    slow to compile on a CPU).
    """
    if jit_compile == "auto" and BACKEND == "tensorflow":
        return True
    return jit_compile


def run_train_step(model, step, *args):
    """Call `step(data)` under Keras's `train_step` convention for the current backend."""
    if BACKEND != "jax":
        (data,) = args
        return step(data)
    state, data = args
    groups = _state_groups(model)
    mapping = [pair for variables, values in zip(groups, state) for pair in zip(variables, values)]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step(data)
    new_state = tuple([scope.get_current_value(v) for v in variables] for variables in groups)
    return logs, new_state


def _state_groups(model):
    # The same four lists, in the same order, that keras/src/backend/jax/trainer.py threads.
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def minimize(loss_fn, variables, optimizer, state_variables):
    """One gradient step of `optimizer` on `variables` for the loss returned by `loss_fn`.

    Args:
        loss_fn: a function of no arguments returning a scalar loss. It may read any variable
            in `state_variables` and update non-trained ones (batch-normalization statistics).
        variables: the variables to differentiate and update (one player's weights).
        optimizer: a built Keras optimizer that owns `variables`.
        state_variables: every variable `loss_fn` may read or update (the whole model's).

    Returns:
        the loss, as computed before the update.
    """
    return _MINIMIZE[BACKEND](loss_fn, list(variables), optimizer, list(state_variables))


def _minimize_tensorflow(loss_fn, variables, optimizer, state_variables):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    optimizer.apply(grads, variables)
    return loss


def _minimize_torch(loss_fn, variables, optimizer, state_variables):
    import torch

    loss = loss_fn()
    # autograd.grad returns gradients for these variables only and leaves every `.grad`
    # untouched, so the generator's loss does not accumulate into the discriminator's
    # gradients and no zero_grad() bookkeeping is needed.
    grads = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True)
    with torch.no_grad():
        optimizer.apply(list(grads), variables)
    return loss.detach()


def _minimize_jax(loss_fn, variables, optimizer, state_variables):
    import jax

    trained = {id(v) for v in variables}
    others = [v for v in state_variables if id(v) not in trained]

    def pure_loss(values, other_values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            loss = loss_fn()
        return loss, [scope.get_current_value(v) for v in others]

    # Inside run_train_step's scope, `v.value` reads the value the step has so far.
    values = [v.value for v in variables]
    other_values = [v.value for v in others]
    (loss, updated), grads = jax.value_and_grad(pure_loss, has_aux=True)(values, other_values)
    for variable, value in zip(others, updated):
        if variable.trainable:
            continue  # the other player's weights are constants here
        variable.assign(value)
    optimizer.apply(grads, variables)
    return loss


_MINIMIZE = {
    "tensorflow": _minimize_tensorflow,
    "torch": _minimize_torch,
    "jax": _minimize_jax,
}

if BACKEND not in _MINIMIZE:
    raise ImportError(
        f"kzoo trains on the tensorflow, torch and jax backends; keras is set to {BACKEND!r}"
    )


def set_seed(seed):
    """Seed Python, numpy and Keras (weight initializers) for a reproducible run.

    `keras.utils.set_random_seed` also seeds TensorFlow whenever it is installed, which imports
    it (3-5 s) even on torch or JAX; here TensorFlow is seeded only when it is the backend.
    """
    if BACKEND == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    import random

    import numpy as np

    try:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # private names moved: pay for the TensorFlow import instead
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if BACKEND == "torch":
        import torch

        torch.manual_seed(seed)


def fit_arguments(arguments):
    """`fit()`'s arguments (a dict by name, defaults filled in), arrays fed on TensorFlow by tf.data
    with autotuning off.

    Keras turns arrays into a tf.data pipeline with autotuning on. Destroying its iterator (at
    the end of every epoch) then waits until tf.data's autotuning thread ends its current sleep,
    whose period doubles from 10 ms, so epochs end on a 5.11 s, 10.23 s, 20.47 s... grid
    (10 ms x (2^k - 1)) instead of after their last step: up to half an epoch lost
    (keras 3.15.1, tensorflow 2.21; benchmarks/repro_tf_fit_teardown.py). Autotuning has nothing
    to tune in an in-memory batch pipeline. Arrays (with their sample or class weights) go to
    Keras's own array adapter, so batching, shuffling and `steps_per_epoch` mean what they mean
    in Keras, and only its dataset gets the option; a tf.data.Dataset gets it unless it sets
    autotuning itself. Left to Keras: `validation_split` (Keras splits arrays only), anything
    else (generators, PyDataset), and the other backends.
    """
    if BACKEND != "tensorflow":
        return arguments
    import tensorflow as tf

    x = arguments["x"]
    if isinstance(x, tf.data.Dataset):
        if x.options().autotune.enabled is None:
            arguments["x"] = x.with_options(_without_autotune())
        return arguments
    adapter = _arrays_without_autotune()
    if adapter is None or x is None or arguments["validation_split"]:
        return arguments
    y, sample_weight, batch_size = arguments["y"], arguments["sample_weight"], arguments["batch_size"]
    if not adapter.accepts((x, y, sample_weight)):
        return arguments
    arguments.update(
        x=adapter(x, y, sample_weight=sample_weight, class_weight=arguments["class_weight"],
                  batch_size=batch_size, steps=arguments["steps_per_epoch"], shuffle=arguments["shuffle"]),
        y=None, sample_weight=None, class_weight=None, batch_size=None,
        # Keras batches validation data by validation_batch_size, else batch_size.
        validation_batch_size=arguments["validation_batch_size"] or batch_size,
    )
    return arguments


def _without_autotune():
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


@functools.cache
def _arrays_without_autotune():
    """Keras's array adapter, its tf.data pipeline without autotuning; None if Keras moved it."""
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter, can_convert_arrays
    except ImportError:  # a private Keras module moved: keep Keras's own pipeline (and the wait)
        return None

    class ArraysWithoutAutotune(ArrayDataAdapter):
        accepts = staticmethod(can_convert_arrays)  # (x, y, sample_weight) it can take

        def get_tf_dataset(self):
            return super().get_tf_dataset().with_options(_without_autotune())

    return ArraysWithoutAutotune


# ------------------------------------------------------------------ fast paths for two layers
# Two layers the DCGAN family leans on are slow in Keras's code on some backends; the helpers
# below compute the same function another way (benchmarks/README.md, "Closing the gaps"):
# - torch `conv_transpose` computes the full, uncropped output, (in - 1) * stride + kernel per
#   side, then slices the "same" window out of it: for DCGAN's 7x7 stride-1 layer (78% of the
#   generator's FLOPs) that is 11x11 outputs for 7x7 kept, and the backward pass pays for it too;
# - JAX `conv_transpose` is an input-dilated convolution, whose kernel gradient XLA computes
#   slowly on a CPU: 290 ms against 13 ms for the forward pass in DCGAN's 7x7 -> 14x14 layer;
# - torch `BatchNormalization` normalizes with separate mean, square, subtract, multiply kernels.
# Each helper returns None when it has no exact fast path for its arguments (another backend, or
# a case the rewrite does not cover): the layer then runs Keras's own code.


def _conv_transpose_crops(kernel_shape, strides, padding, output_padding, dilation_rate):
    """Per spatial axis, how much Keras crops off the full transposed-convolution output."""
    try:
        from keras.src.backend.common.backend_utils import compute_conv_transpose_output_crops_for_torch
    except ImportError:  # a private Keras helper moved: keep Keras's own (slower) path
        return None
    crops = compute_conv_transpose_output_crops_for_torch(
        input_shape=(None, None) + (None,) * (len(kernel_shape) - 2), kernel_shape=tuple(kernel_shape),
        strides=tuple(strides), padding=padding, output_padding=output_padding,
        dilation_rate=tuple(dilation_rate),
    )
    if any(left < 0 or right < 0 for left, right in crops):
        return None  # Keras zero-pads here; rare, and not worth a second code path
    return crops


def conv_transpose(inputs, kernel, strides, padding, output_padding, dilation_rate, data_format):
    """`keras.ops.conv_transpose` by a faster exact route on torch and JAX; or None."""
    if BACKEND not in ("torch", "jax") or len(kernel.shape) != 4:
        return None
    crops = _conv_transpose_crops(kernel.shape, strides, padding, output_padding, dilation_rate)
    if crops is None:
        return None
    if BACKEND == "torch":
        return _conv_transpose_torch(inputs, kernel, strides, dilation_rate, data_format, crops)
    return _conv_transpose_subpixel_jax(inputs, kernel, strides, dilation_rate, data_format, crops)


def _conv_transpose_torch(inputs, kernel, strides, dilation_rate, data_format, crops):
    """Computing only the output window Keras keeps.

    Torch's `conv_transpose2d(padding=p, output_padding=q)` keeps the full output minus p on the
    left and p - q on the right, so Keras's crop (left, right) is exact when 0 <= left - right
    < max(stride, dilation); otherwise the smaller crop is computed and the rest sliced off.
    """
    import torch

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


def _conv_transpose_subpixel_jax(inputs, kernel, strides, dilation_rate, data_format, crops):
    """A strided transposed convolution as ONE stride-1 convolution plus a pixel shuffle.

    The stride**2 output phases are stride-1 correlations with sub-kernels of `kernel` (every
    stride-th tap, reversed); they are packed side by side as output channels of one
    convolution and interleaved back (depth-to-space). Same function, same weights: only
    the order of the sums differs. Its kernel gradient is an ordinary convolution's, 9x faster
    than the input-dilated one's here (290 -> 31 ms in DCGAN's 7x7 -> 14x14 layer).
    """
    import jax
    import jax.numpy as jnp

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


def batch_norm_training(inputs, gamma, beta, epsilon, channel_axis):
    """(normalized inputs, batch mean, batch variance) in one fused kernel; or None.

    The statistics are those Keras uses (biased variance), for the layer's moving averages.
    Torch's `batch_norm` returns them only through its running buffers, as the UNBIASED
    variance; with momentum 1 the buffers hold exactly the batch statistics, rescaled here.
    """
    if BACKEND != "torch" or channel_axis not in (1, 1 - len(inputs.shape)) or len(inputs.shape) < 2:
        return None
    import torch

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
