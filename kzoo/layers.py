"""Layers of kzoo's networks, each the same on every backend (weights, names, outputs).

- `ConvLayout`: moves the channels once at each end of a convolution stack when the backend
  convolves channels-first (torch); the identity elsewhere.
- `Conv2DTranspose`, `BatchNormalization`: Keras's layers, same weights and names, that take a
  faster exact path where the backend has one (`kzoo.backend.conv_transpose` /
  `batch_norm_training`).
- `SpectralNormalization`: W / sigma(W) computed in the forward pass (Miyato et al. 2018).
- `Network`: a functional `keras.Model` (same constructor, layers and weights) that the backend
  may run without Keras's per-layer bookkeeping (`kzoo.backend.run_network`: torch).

All are registered for `.keras` files under the package name "kzoo", and each layer declares its
role to the backend (`kzoo.backend.declare_layer`, at the end of this module): the backend's fast
paths take kzoo's layers by role, without importing this module (torch's executor and mirror).
"""

import keras
from keras import layers, ops

from kzoo import backend


def conv_data_format():
    """The layout convolutions run in on this backend (`kzoo.backend.CONV_DATA_FORMAT`).

    kzoo's data stay NHWC everywhere; `ConvLayout` layers move the channels once at each end of a
    convolution stack when the backend prefers channels-first.
    """
    return backend.CONV_DATA_FORMAT


@keras.saving.register_keras_serializable(package="kzoo")
class ConvLayout(layers.Layer):
    """NHWC -> the convolutions' layout (`to="conv"`), or back (`to="data"`).

    The identity on channels-last backends, but present on every backend, so that a network's
    layers (and so its saved weights) are the same wherever the model is built.
    """

    def __init__(self, to, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if to not in ("conv", "data"):
            raise ValueError(f"to must be 'conv' or 'data', not {to!r}")
        self.to = to
        self.data_format = data_format or conv_data_format()

    def call(self, x):
        if self.data_format == "channels_last":
            return x
        return ops.transpose(x, (0, 3, 1, 2) if self.to == "conv" else (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return input_shape
        n, a, b, c = input_shape
        return (n, c, a, b) if self.to == "conv" else (n, b, c, a)

    def get_config(self):
        # The layout is chosen where the model is built, not where it was saved.
        return {**super().get_config(), "to": self.to}


def _add_bias_and_activate(layer, outputs):
    """A convolution layer's bias and activation, as Keras's own `call` applies them."""
    if layer.use_bias:
        channel_axis = -1 if layer.data_format == "channels_last" else 1
        bias_shape = [1] * len(outputs.shape)
        bias_shape[channel_axis] = layer.filters
        outputs = ops.add(outputs, ops.reshape(layer.bias, bias_shape))
    return layer.activation(outputs) if layer.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kzoo")
class Conv2DTranspose(layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` that computes only the outputs it keeps, where it can.

    Same weights, configuration and default name as Keras's layer, so checkpoints are
    interchangeable; the arithmetic is `kzoo.backend.conv_transpose` (faster on torch and JAX).
    """

    def call(self, inputs):
        outputs = backend.conv_transpose(inputs, self.kernel, self.strides, self.padding,
                                         self.output_padding, self.dilation_rate, self.data_format)
        if outputs is None:
            return super().call(inputs)
        return _add_bias_and_activate(self, outputs)


@keras.saving.register_keras_serializable(package="kzoo")
class BatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that normalizes a training batch in one fused kernel
    where it can (`kzoo.backend.batch_norm_training`, torch); same weights and name as Keras's."""

    def call(self, inputs, training=None, mask=None):
        plain = mask is None and not self.renorm and not self.synchronized
        if training and self.trainable and plain:
            gamma = ops.cast(self.gamma, "float32") if self.scale else None
            beta = ops.cast(self.beta, "float32") if self.center else None
            fused = backend.batch_norm_training(inputs, gamma, beta, self.epsilon, self.axis)
            if fused is not None:
                outputs, mean, variance = fused
                self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
                self.moving_variance.assign(
                    self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
                )
                return ops.cast(outputs, self.compute_dtype)
        return super().call(inputs, training=training, mask=mask)


@keras.saving.register_keras_serializable(package="kzoo")
class SpectralNormalization(layers.Wrapper):
    """A `Dense` or convolution layer whose kernel is divided by its largest singular value.

    sigma(W) is estimated by power iteration (Miyato et al. 2018, arXiv:1802.05957): u is a
    non-trainable weight, refined `power_iterations` times per call and stored in training; v and
    u are constants of the gradient, which flows through sigma = v W u^T as in the paper. The
    normalized kernel W / sigma is computed in the forward pass, in training and at inference
    alike; the stored kernel stays W.

    Keras's own `keras.layers.SpectralNormalization` instead assigns W / sigma to the kernel
    weight: on TensorFlow and torch the gradient then bypasses sigma and checkpoints hold the
    normalized kernel, while JAX's stateless step discards that assignment (the gradient flows
    through sigma). The same model trained differently per backend; this layer trains alike on
    all three.
    """

    def __init__(self, layer, power_iterations=1, epsilon=1e-12, **kwargs):
        super().__init__(layer, **kwargs)
        if int(power_iterations) < 1:
            raise ValueError(f"power_iterations must be at least 1; got {power_iterations}")
        if not isinstance(layer, (layers.Dense, layers.Conv1D, layers.Conv2D, layers.Conv3D)) or isinstance(
            layer, layers.Conv2DTranspose
        ):
            raise ValueError(f"SpectralNormalization wraps Dense or Conv layers; got {type(layer).__name__}")
        if getattr(layer, "groups", 1) != 1:
            raise ValueError("SpectralNormalization does not wrap grouped convolutions")
        self.power_iterations = int(power_iterations)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        units = self.layer.kernel.shape[-1]
        self.vector_u = self.add_weight(
            shape=(1, units), initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            trainable=False, name="vector_u", dtype=self.variable_dtype,
        )
        self.built = True

    def normalized_kernel(self):
        """(W / sigma(W), the refined u); `call` stores u in training only."""
        kernel = self.layer.kernel
        matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))
        u = ops.convert_to_tensor(self.vector_u)
        for _ in range(self.power_iterations):
            v = self._unit(ops.matmul(u, ops.transpose(matrix)))
            u = self._unit(ops.matmul(v, matrix))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        return kernel / sigma, u

    def _unit(self, x):
        return x / ops.sqrt(ops.sum(ops.square(x)) + self.epsilon)

    def call(self, inputs, training=False):
        kernel, u = self.normalized_kernel()
        if training:
            self.vector_u.assign(ops.cast(u, self.vector_u.dtype))
        layer = self.layer
        if isinstance(layer, layers.Dense):
            outputs = ops.matmul(inputs, kernel)
            if layer.use_bias:
                outputs = ops.add(outputs, layer.bias)
            return layer.activation(outputs) if layer.activation is not None else outputs
        outputs = ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding,
                           data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        return _add_bias_and_activate(layer, outputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="kzoo")
class MinibatchStdDev(layers.Layer):
    """Appends one feature: how much the batch varies (Karras et al. 2018, minibatch standard deviation).

    The batch is split into groups of `group_size` samples (samples i, i + B/G, i + 2B/G, ...
    form a group, as ProGAN's reshape makes them); for each group, the standard deviation of every
    feature over the group, averaged over the features, becomes a constant extra channel (images)
    or feature (vectors) of the group's samples. A generator that makes near-copies shows a low
    value the discriminator can use. The batch must divide by the group size (or be smaller than
    it: one group).
    """

    def __init__(self, group_size=4, data_format=None, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 2:
            raise ValueError(f"group_size must be at least 2; got {group_size}")
        self.group_size = int(group_size)
        self.data_format = data_format or conv_data_format()
        self.epsilon = float(epsilon)

    def call(self, x):
        x = ops.convert_to_tensor(x)
        batch = ops.shape(x)[0]
        group = min(self.group_size, batch) if isinstance(batch, int) else self.group_size
        if isinstance(batch, int) and batch % group:
            raise ValueError(f"minibatch standard deviation over groups of {group} needs a batch divisible by it; "
                             f"got {batch}")
        feature_shape = tuple(x.shape[1:])
        grouped = ops.reshape(x, (group, -1) + feature_shape)  # [j, i] = sample j * (batch/group) + i
        std = ops.sqrt(ops.var(grouped, axis=0) + self.epsilon)  # (batch / group, *features)
        per_group = ops.mean(ops.reshape(std, (ops.shape(std)[0], -1)), axis=-1)  # (batch / group,)
        per_sample = ops.tile(per_group, (group,))  # sample j * (batch/group) + i gets group i's value
        if len(feature_shape) == 1:
            return ops.concatenate([x, per_sample[:, None]], axis=-1)
        channels_last = self.data_format == "channels_last"
        spatial = list(feature_shape)
        spatial[-1 if channels_last else 0] = 1
        extra = ops.broadcast_to(ops.reshape(per_sample, (-1, 1, 1, 1)), (ops.shape(x)[0], *spatial))
        return ops.concatenate([x, ops.cast(extra, x.dtype)], axis=-1 if channels_last else 1)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        axis = -1 if len(shape) == 2 or self.data_format == "channels_last" else 1
        shape[axis] = None if shape[axis] is None else shape[axis] + 1
        return tuple(shape)

    def get_config(self):
        # The layout is chosen where the model is built, not where it was saved (as ConvLayout's).
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="kzoo")
class Network(keras.Model):
    """A functional `keras.Model`, `Network(inputs, outputs, name=...)`: kzoo's built-in networks.

    Same layers, weights and weight names as `keras.Model(inputs, outputs)`. Called eagerly in
    training or inference mode, it lets the backend run it first (`kzoo.backend.run_network`: on
    torch, its layers' `call` without `Layer.__call__`, outputs equal to Keras's); wherever the
    backend declines (symbolic inputs, `training=None`, other backends), it is `keras.Model.__call__`.
    """

    def __init__(self, inputs, outputs, name=None, **kwargs):
        # The functional signature, so that Keras serializes and clones it as a functional model.
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

    def __call__(self, *args, **kwargs):
        outputs = backend.run_network(self, args, kwargs)
        return super().__call__(*args, **kwargs) if outputs is None else outputs


# What each layer is to the backend's fast paths (kzoo.backend.common.LAYER_ROLES); exactly these
# classes, not subclasses, whose `call` may do more.
backend.declare_layer(ConvLayout, "layout")
backend.declare_layer(Conv2DTranspose, "conv_transpose")
backend.declare_layer(BatchNormalization, "batch_norm")
backend.declare_layer(SpectralNormalization, "spectral_norm")
backend.declare_layer(MinibatchStdDev, "minibatch_std")
