"""kzoo's Conv2DTranspose and BatchNormalization compute what Keras's own layers compute.

On torch and JAX they take faster paths (kzoo.backend.conv_transpose / batch_norm_training); on
every backend they must give Keras's outputs, gradients and moving statistics for the same weights.
"""

import keras
import numpy as np
import pytest
from keras import layers

from kzoo import backend
from kzoo.models import blocks

RTOL, ATOL = 1e-4, 1e-4


def gradients(layer, x, training=None):
    """d(sum(output * fixed random weights)) / d(inputs and each trainable weight), as numpy."""
    kwargs = {} if training is None else {"training": training}
    y = np.asarray(keras.ops.convert_to_numpy(layer(x, **kwargs)))
    probe = np.random.default_rng(1).standard_normal(y.shape).astype("float32")
    variables = layer.trainable_variables

    def loss_of(inputs):
        return keras.ops.sum(keras.ops.multiply(layer(inputs, **kwargs), keras.ops.convert_to_tensor(probe)))

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = loss_of(xt)
        grads = tape.gradient(loss, [xt] + [v.value for v in variables])
    elif backend == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        grads = torch.autograd.grad(loss_of(xt), [xt] + [v.value for v in variables])
    else:
        import jax

        values = [v.value for v in variables]

        def pure(inputs, weights):
            with keras.StatelessScope(state_mapping=list(zip(variables, weights))):
                return loss_of(inputs)

        gx, gw = jax.grad(pure, argnums=(0, 1))(x, values)
        grads = [gx] + list(gw)
    return y, [np.asarray(keras.ops.convert_to_numpy(g)) for g in grads]


def copy_weights(source, target):
    for s, t in zip(source.weights, target.weights):
        t.assign(s.value)


# (kernel, strides, padding, output_padding, data_format, use_bias, input size, fast path on JAX)
CONV_TRANSPOSE_CASES = [
    (5, 1, "same", None, "channels_first", False, 7, True),  # DCGAN's first transposed convolution
    (5, 2, "same", None, "channels_first", False, 7, True),  # and its upsampling ones
    (5, 2, "same", None, "channels_last", True, 7, True),
    (4, 2, "same", None, "channels_last", True, 8, True),  # the Keras-guide GAN's even kernels
    (3, 3, "same", None, "channels_first", True, 5, True),
    (4, 1, "same", None, "channels_first", True, 6, True),
    (3, 2, "valid", None, "channels_last", True, 5, False),  # odd output: phases of unequal length
    (2, 3, "valid", None, "channels_first", True, 4, False),
    (4, 2, "valid", None, "channels_last", True, 5, True),
    (2, 3, "same", None, "channels_last", True, 4, False),  # Keras would zero-pad here
    (3, 2, "same", 1, "channels_last", True, 5, True),  # output padding
    (5, 3, "same", 2, "channels_first", True, 5, True),
    (3, (2, 3), "same", None, "channels_last", True, 5, True),  # a stride per axis
]


@pytest.mark.parametrize(
    "kernel,strides,padding,output_padding,data_format,use_bias,size,fast_on_jax", CONV_TRANSPOSE_CASES
)
def test_conv2d_transpose_matches_keras(kernel, strides, padding, output_padding, data_format, use_bias, size,
                                        fast_on_jax):
    if data_format == "channels_first" and keras.backend.backend() == "tensorflow":
        data_format = "channels_last"  # TensorFlow's CPU kernels convolve NHWC only
    keras.utils.set_random_seed(0)
    shape = (3, 4, size, size) if data_format == "channels_first" else (3, size, size, 4)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    kwargs = dict(filters=5, kernel_size=kernel, strides=strides, padding=padding, output_padding=output_padding,
                  data_format=data_format, use_bias=use_bias, activation="tanh")
    ours, theirs = blocks.Conv2DTranspose(**kwargs), layers.Conv2DTranspose(**kwargs)
    ours.build(shape), theirs.build(shape)
    copy_weights(theirs, ours)
    if use_bias:  # a non-zero bias, so its addition is checked too
        ours.bias.assign(np.linspace(-1, 1, 5).astype("float32"))
        theirs.bias.assign(ours.bias.value)
    assert ours.name.startswith("conv2d_transpose")  # the checkpoint key Keras's layer would use
    fast = backend.conv_transpose(x, ours.kernel, ours.strides, padding, ours.output_padding,
                                   ours.dilation_rate, data_format)
    if keras.backend.backend() == "jax":  # the case tests what it says it tests
        assert (fast is not None) == fast_on_jax
    if keras.backend.backend() == "tensorflow":
        assert fast is None  # TensorFlow's own transposed convolution is fast: no path of kzoo's
    if fast is None:  # the layer runs Keras's own code: comparing it with Keras's could not fail
        return
    y_ours, g_ours = gradients(ours, x)
    y_theirs, g_theirs = gradients(theirs, x)
    assert y_ours.shape == y_theirs.shape == tuple(ours.compute_output_shape(shape))
    np.testing.assert_allclose(y_ours, y_theirs, rtol=RTOL, atol=ATOL)
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_conv_transpose_with_empty_phases():
    """Kernel 2, stride 3, "same", output padding 0: one output phase in three gets no kernel tap.

    Keras's own TensorFlow kernel rejects this shape, so only the fast paths (torch, JAX) are
    compared with Keras here; TensorFlow has none.
    """
    x = np.random.default_rng(3).standard_normal((2, 4, 4, 3)).astype("float32")
    kernel = np.random.default_rng(4).standard_normal((2, 2, 5, 3)).astype("float32")
    fast = backend.conv_transpose(x, kernel, (3, 3), "same", (0, 0), (1, 1), "channels_last")
    if keras.backend.backend() == "tensorflow":
        assert fast is None
        return
    expected = keras.ops.conv_transpose(x, kernel, 3, padding="same", output_padding=0)
    assert tuple(fast.shape) == tuple(expected.shape) == (2, 9, 9, 5)  # (4 - 1) x 3 + 2 - crops (1, 1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fast), keras.ops.convert_to_numpy(expected),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape,axis", [((16, 12), -1), ((8, 6, 5, 5), 1), ((8, 5, 5, 6), -1)])
def test_batch_normalization_matches_keras(shape, axis):
    x = (np.random.default_rng(2).standard_normal(shape) * 3 + 1).astype("float32")
    ours, theirs = blocks.BatchNormalization(axis=axis), layers.BatchNormalization(axis=axis)
    ours.build(shape), theirs.build(shape)
    channels = shape[axis]
    for layer in (ours, theirs):  # non-trivial scale and offset
        layer.gamma.assign(np.linspace(0.5, 2, channels).astype("float32"))
        layer.beta.assign(np.linspace(-1, 1, channels).astype("float32"))
    assert ours.name.startswith("batch_normalization")
    y_ours, g_ours = gradients(ours, x, training=True)
    y_theirs, g_theirs = gradients(theirs, x, training=True)
    np.testing.assert_allclose(y_ours, y_theirs, rtol=RTOL, atol=ATOL)
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    # gradients() called each layer twice in training mode: the moving statistics moved twice.
    for name in ("moving_mean", "moving_variance"):
        moved = np.asarray(keras.ops.convert_to_numpy(getattr(ours, name).value))
        expected = np.asarray(keras.ops.convert_to_numpy(getattr(theirs, name).value))
        initial = 0.0 if name == "moving_mean" else 1.0
        assert not np.allclose(moved, initial)
        np.testing.assert_allclose(moved, expected, rtol=1e-5, atol=1e-6)
    # Inference uses the moving statistics, as Keras does.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=False)),
                               keras.ops.convert_to_numpy(theirs(x, training=False)), rtol=RTOL, atol=ATOL)


def test_fast_paths_are_taken_where_they_exist():
    """Transposed convolution: torch and JAX; batch normalization: torch. Elsewhere, Keras's code."""
    x = np.ones((2, 3, 4, 4), "float32")
    kernel = np.ones((3, 3, 5, 3), "float32")
    conv = backend.conv_transpose(x, kernel, (2, 2), "same", None, (1, 1), "channels_first")
    norm = backend.batch_norm_training(x, None, None, 1e-3, 1)
    name = keras.backend.backend()
    if name in ("torch", "jax"):
        assert tuple(conv.shape) == (2, 5, 8, 8)
    else:
        assert conv is None
    if name == "torch":
        assert tuple(norm[0].shape) == x.shape
    else:
        assert norm is None


# ------------------------------------------------------------------ spectral normalization
def _unit(a):
    return a / np.sqrt(np.sum(a**2) + 1e-12)


def _spectral_reference(kernel, u):
    """(W / sigma, the refined u, v, sigma): one power iteration from `u` (Miyato et al. 2018), float64."""
    matrix = kernel.reshape(-1, kernel.shape[-1]).astype("float64")
    v = _unit(u @ matrix.T)
    u = _unit(v @ matrix)
    sigma = float(((v @ matrix) @ u.T).item())
    return kernel / sigma, u, v, sigma


def _conv_same(x, kernel, stride):
    """Keras's 'same' convolution (NHWC) and d(sum(out * probe))/d(kernel), in numpy."""
    n, h, w, _ = x.shape
    kh, kw, _, out_channels = kernel.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph, pw = max((oh - 1) * stride + kh - h, 0), max((ow - 1) * stride + kw - w, 0)
    padded = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    patches = np.stack([np.stack([padded[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
                                  for j in range(ow)], axis=1) for i in range(oh)], axis=1)
    return np.einsum("nijabc,abcd->nijd", patches, kernel), patches


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_spectral_normalization_divides_by_sigma_with_the_gradient_through_it(kind):
    """Outputs and gradients against a numpy reference, the same on every backend.

    In training only u is stored; the kernel weight keeps W. At inference the layer normalizes
    alike, from the stored u. The gradient flows through sigma = v W u^T with u and v constant:
    dL/dW = G / sigma - (sum(P * x W) / sigma^2) v^T u, G being the gradient for a fixed kernel.
    """
    from kzoo.layers import SpectralNormalization

    rng = np.random.default_rng(0)
    if kind == "dense":
        inner, shape = layers.Dense(4), (5, 3)
    else:
        inner, shape = layers.Conv2D(3, 3, strides=2, padding="same"), (2, 5, 5, 2)
    layer = SpectralNormalization(inner)
    layer.build(shape)
    x = rng.standard_normal(shape).astype("float32")
    kernel = rng.standard_normal(inner.kernel.shape).astype("float32")
    bias = rng.standard_normal(inner.bias.shape).astype("float32")
    u0 = rng.standard_normal((1, inner.kernel.shape[-1])).astype("float32")
    inner.kernel.assign(kernel), inner.bias.assign(bias), layer.vector_u.assign(u0)

    def reference(u):
        normalized, u_next, v, sigma = _spectral_reference(kernel.astype("float64"), u.astype("float64"))
        if kind == "dense":
            return x @ normalized + bias, u_next, v, sigma, x @ kernel, None
        out, patches = _conv_same(x.astype("float64"), normalized, 2)
        return out + bias, u_next, v, sigma, _conv_same(x.astype("float64"), kernel, 2)[0], patches

    expected, u1, _, _, _, _ = reference(u0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.vector_u.numpy(), u0)  # inference stores nothing
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=True)), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.vector_u.numpy(), u1, rtol=1e-5, atol=1e-6)  # training stores u
    np.testing.assert_array_equal(inner.kernel.numpy(), kernel)  # ... and only u

    # Gradients at the stored u (inference mode: no further update of u).
    y, (grad_x, grad_kernel, grad_bias) = gradients(layer, x, training=False)
    probe = np.random.default_rng(1).standard_normal(y.shape)
    _, u2, v, sigma, raw, patches = reference(layer.vector_u.numpy())
    normalized = kernel / sigma
    if kind == "dense":
        fixed_kernel_grad = x.T.astype("float64") @ probe
        np.testing.assert_allclose(grad_x, probe @ normalized.T, rtol=1e-4, atol=1e-5)
    else:
        fixed_kernel_grad = np.einsum("nijabc,nijd->abcd", patches, probe)
    expected_kernel_grad = fixed_kernel_grad / sigma - (np.sum(probe * raw) / sigma**2) * np.outer(v, u2).reshape(
        kernel.shape)
    np.testing.assert_allclose(grad_kernel, expected_kernel_grad, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(grad_bias, probe.sum(axis=tuple(range(probe.ndim - 1))), rtol=1e-4, atol=1e-4)


def test_spectral_normalization_wraps_only_what_it_can_normalize():
    from kzoo.layers import SpectralNormalization

    with pytest.raises(ValueError, match="wraps Dense or Conv"):
        SpectralNormalization(layers.Conv2DTranspose(2, 3))
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(layers.Dense(2), power_iterations=0)
