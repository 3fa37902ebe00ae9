"""Network builders shared by the built-in models: MLP and DCGAN-style convolutional players.

Every builder takes `width` (the knob that makes tests run tiny networks) and an optional
`num_classes`: when given, the network also takes integer class labels, embedded and joined to
its input (conditioning in both networks, as in Mirza & Osindero 2014).
"""

import math

import keras
from keras import layers, ops

from kzoo import autodiff

def conv_data_format():
    """The layout convolutions run in on this backend (`kzoo.autodiff.CONV_DATA_FORMAT`).

    kzoo's data stay NHWC everywhere; `ConvLayout` layers move the channels once at each end of a
    convolution stack when the backend prefers channels-first.
    """
    return autodiff.CONV_DATA_FORMAT


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


@keras.saving.register_keras_serializable(package="kzoo")
class Conv2DTranspose(layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` that computes only the outputs it keeps, where it can.

    Same weights, configuration and default name as Keras's layer, so checkpoints are
    interchangeable; the arithmetic is `kzoo.autodiff.conv_transpose` (faster on torch).
    """

    def call(self, inputs):
        outputs = autodiff.conv_transpose(inputs, self.kernel, self.strides, self.padding,
                                          self.output_padding, self.dilation_rate, self.data_format)
        if outputs is None:
            return super().call(inputs)
        if self.use_bias:
            channel_axis = -1 if self.data_format == "channels_last" else 1
            bias_shape = [1] * len(outputs.shape)
            bias_shape[channel_axis] = self.filters
            outputs = ops.add(outputs, ops.reshape(self.bias, bias_shape))
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kzoo")
class BatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that normalizes a training batch in one fused kernel
    where it can (`kzoo.autodiff.batch_norm_training`, torch); same weights and name as Keras's."""

    def call(self, inputs, training=None, mask=None):
        plain = mask is None and not self.renorm and not self.synchronized
        if training and self.trainable and plain:
            gamma = ops.cast(self.gamma, "float32") if self.scale else None
            beta = ops.cast(self.beta, "float32") if self.center else None
            fused = autodiff.batch_norm_training(inputs, gamma, beta, self.epsilon, self.axis)
            if fused is not None:
                outputs, mean, variance = fused
                self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
                self.moving_variance.assign(
                    self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
                )
                return ops.cast(outputs, self.compute_dtype)
        return super().call(inputs, training=training, mask=mask)


# Radford et al. 2016: weights from N(0, 0.02).
def dcgan_init():
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _label_input(num_classes, embed_dim):
    labels = keras.Input(shape=(), dtype="int32", name="labels")
    embedded = layers.Embedding(num_classes, embed_dim, name="label_embedding")(labels)
    return labels, embedded


def mlp_generator(image_shape, latent_dim, width, num_classes=None, name="generator"):
    """Noise (and labels) -> Dense(2w, 4w, 8w) with LeakyReLU -> tanh image."""
    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = [noise], noise
    if num_classes:
        labels, embedded = _label_input(num_classes, num_classes)
        inputs.append(labels)
        x = layers.Concatenate()([x, embedded])
    for units in (2 * width, 4 * width, 8 * width):
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Dense(math.prod(image_shape), activation="tanh")(x)
    images = layers.Reshape(image_shape, name="images")(x)
    return keras.Model(inputs if num_classes else noise, images, name=name)


def mlp_discriminator(image_shape, width, dropout, num_classes=None, name="discriminator"):
    """Image (and labels) -> Dense(4w, 2w) with LeakyReLU and dropout -> one logit."""
    images = keras.Input(shape=image_shape, name="images")
    inputs, x = [images], layers.Flatten()(images)
    if num_classes:
        labels, embedded = _label_input(num_classes, num_classes)
        inputs.append(labels)
        x = layers.Concatenate()([x, embedded])
    for units in (4 * width, 2 * width):
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    logits = layers.Dense(1, name="logits")(x)
    return keras.Model(inputs if num_classes else images, logits, name=name)


def conv_generator(image_shape, latent_dim, width, kernel_size=5, name="generator"):
    """DCGAN generator: project to (h/4, w/4, 4w), then two stride-2 transposed convolutions.

    Batch normalization and ReLU everywhere but the tanh output (Radford et al. 2016); the
    layout follows the TensorFlow DCGAN tutorial for MNIST.
    """
    h, w, c = image_shape
    fmt = conv_data_format()
    channel_axis = 1 if fmt == "channels_first" else -1
    noise = keras.Input(shape=(latent_dim,), name="noise")
    x = layers.Dense((h // 4) * (w // 4) * 4 * width, use_bias=False, kernel_initializer=dcgan_init())(noise)
    x = BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((h // 4, w // 4, 4 * width))(x)
    x = ConvLayout("conv")(x)
    for filters, strides in ((2 * width, 1), (width, 2)):
        x = Conv2DTranspose(
            filters, kernel_size, strides=strides, padding="same", use_bias=False,
            kernel_initializer=dcgan_init(), data_format=fmt,
        )(x)
        x = BatchNormalization(axis=channel_axis)(x)
        x = layers.ReLU()(x)
    x = Conv2DTranspose(
        c, kernel_size, strides=2, padding="same", activation="tanh",
        kernel_initializer=dcgan_init(), data_format=fmt, name="images",
    )(x)
    images = ConvLayout("data")(x)
    return keras.Model(noise, images, name=name)


def conv_discriminator(image_shape, width, kernel_size=5, batch_norm=True, name="discriminator"):
    """DCGAN discriminator: two stride-2 convolutions with LeakyReLU(0.2), then one logit.

    No batch normalization on the input layer (Radford et al. 2016).
    """
    fmt = conv_data_format()
    images = keras.Input(shape=image_shape, name="images")
    x = ConvLayout("conv")(images)
    x = layers.Conv2D(width, kernel_size, strides=2, padding="same", kernel_initializer=dcgan_init(),
                      data_format=fmt)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * width, kernel_size, strides=2, padding="same", kernel_initializer=dcgan_init(),
                      data_format=fmt)(x)
    if batch_norm:
        x = BatchNormalization(axis=1 if fmt == "channels_first" else -1)(x)
    x = layers.LeakyReLU(0.2)(x)
    # Flatten in NHWC order on every backend, so the logit layer's weights mean the same everywhere.
    x = layers.Flatten()(ConvLayout("data")(x))
    logits = layers.Dense(1, kernel_initializer=dcgan_init(), name="logits")(x)
    return keras.Model(images, logits, name=name)
