"""Network builders shared by the built-in models: MLP and DCGAN-style convolutional players.

Every builder takes `width` (the knob that makes tests run tiny networks) and an optional
`num_classes`: when given, the network also takes integer class labels, embedded and joined to
its input (conditioning in both networks, as in Mirza & Osindero 2014).
"""

import math

import keras
from keras import layers

from kzoo.layers import (BatchNormalization, Conv2DTranspose, ConvLayout, MinibatchStdDev, Network,
                         SpectralNormalization, conv_data_format)

__all__ = [
    "BatchNormalization", "Conv2DTranspose", "ConvLayout", "Network", "SpectralNormalization", "conv_data_format",
    "conv_discriminator", "conv_generator", "dcgan_init", "mlp_discriminator", "mlp_generator",
]


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
    return Network(inputs if num_classes else noise, images, name=name)


def mlp_discriminator(image_shape, width, dropout, num_classes=None, minibatch_std=0, name="discriminator"):
    """Image (and labels) -> Dense(4w, 2w) with LeakyReLU and dropout -> one logit.

    With `minibatch_std` (a group size), the minibatch standard deviation joins the last features.
    """
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
    if minibatch_std:
        x = MinibatchStdDev(minibatch_std)(x)
    logits = layers.Dense(1, name="logits")(x)
    return Network(inputs if num_classes else images, logits, name=name)


def conv_generator(image_shape, latent_dim, width, kernel_size=5, num_classes=None, name="generator"):
    """DCGAN generator: project to (h/4, w/4, 4w), then two stride-2 transposed convolutions.

    Batch normalization and ReLU everywhere but the tanh output (Radford et al. 2016); the
    layout follows the TensorFlow DCGAN tutorial for MNIST. With `num_classes`, an embedding of
    the labels is joined to the noise.
    """
    h, w, c = image_shape
    fmt = conv_data_format()
    channel_axis = 1 if fmt == "channels_first" else -1
    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = noise, noise
    if num_classes:
        labels, embedded = _label_input(num_classes, num_classes)
        inputs, x = [noise, labels], layers.Concatenate()([noise, embedded])
    x = layers.Dense((h // 4) * (w // 4) * 4 * width, use_bias=False, kernel_initializer=dcgan_init())(x)
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
    return Network(inputs, images, name=name)


def _maybe_normalized(layer, spectral_norm):
    return SpectralNormalization(layer) if spectral_norm else layer


def conv_features(images, width, kernel_size=5, batch_norm=True, spectral_norm=False, minibatch_std=0):
    """The DCGAN discriminator's trunk on `images` (a Keras input): two stride-2 convolutions with
    LeakyReLU(0.2), flattened in NHWC order (so the next Dense's weights mean the same on every
    backend). No batch normalization on the input layer (Radford et al. 2016). With
    `minibatch_std` (a group size), the minibatch standard deviation joins the last feature maps
    as one more channel (Karras et al. 2018)."""
    fmt = conv_data_format()
    x = ConvLayout("conv")(images)
    x = _maybe_normalized(layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                        kernel_initializer=dcgan_init(), data_format=fmt), spectral_norm)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = _maybe_normalized(layers.Conv2D(2 * width, kernel_size, strides=2, padding="same",
                                        kernel_initializer=dcgan_init(), data_format=fmt), spectral_norm)(x)
    if batch_norm:
        x = BatchNormalization(axis=1 if fmt == "channels_first" else -1)(x)
    x = layers.LeakyReLU(0.2)(x)
    if minibatch_std:
        x = MinibatchStdDev(minibatch_std, data_format=fmt)(x)
    return layers.Flatten()(ConvLayout("data")(x))


def conv_discriminator(image_shape, width, kernel_size=5, batch_norm=True, spectral_norm=False, minibatch_std=0,
                       name="discriminator"):
    """DCGAN discriminator: `conv_features`, then one logit (spectral norm on every layer if asked)."""
    images = keras.Input(shape=image_shape, name="images")
    x = conv_features(images, width, kernel_size, batch_norm, spectral_norm, minibatch_std)
    logits = _maybe_normalized(layers.Dense(1, kernel_initializer=dcgan_init(), name="logits"), spectral_norm)(x)
    return Network(images, logits, name=name)


def conv_classifier_discriminator(image_shape, width, heads, kernel_size=5, minibatch_std=0, name="discriminator"):
    """A DCGAN discriminator with several heads on one trunk: images -> [one output per head].

    `heads` is a list of (name, units): ACGAN's source and class logits.
    """
    images = keras.Input(shape=image_shape, name="images")
    x = conv_features(images, width, kernel_size, minibatch_std=minibatch_std)
    outputs = [layers.Dense(units, kernel_initializer=dcgan_init(), name=head)(x) for head, units in heads]
    return Network(images, outputs, name=name)


def _dense_block(x, units, activation):
    """Dense (no bias) + batch normalization + activation: InfoGAN's fully connected layers."""
    x = layers.Dense(units, use_bias=False, kernel_initializer=dcgan_init())(x)
    x = BatchNormalization()(x)
    return activation(x)


def infogan_generator(image_shape, input_dim, width, name="generator"):
    """InfoGAN's MNIST generator: FC 16w, FC (h/4)(w/4)2w, two 4x4 stride-2 transposed convolutions.

    Batch normalization and ReLU but at the tanh output; width 64 is the paper's FC1024,
    FC 7x7x128, deconv 64.
    """
    h, w, c = image_shape
    fmt = conv_data_format()
    codes = keras.Input(shape=(input_dim,), name="latent_codes")
    x = _dense_block(codes, 16 * width, layers.ReLU())
    x = _dense_block(x, (h // 4) * (w // 4) * 2 * width, layers.ReLU())
    x = layers.Reshape((h // 4, w // 4, 2 * width))(x)
    x = ConvLayout("conv")(x)
    x = Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=dcgan_init(),
                        data_format=fmt)(x)
    x = BatchNormalization(axis=1 if fmt == "channels_first" else -1)(x)
    x = layers.ReLU()(x)
    x = Conv2DTranspose(c, 4, strides=2, padding="same", activation="tanh", kernel_initializer=dcgan_init(),
                        data_format=fmt, name="images")(x)
    return Network(codes, ConvLayout("data")(x), name=name)


def infogan_discriminator(image_shape, width, code_units, minibatch_std=0, name="discriminator"):
    """InfoGAN's MNIST discriminator and Q network: images -> [logit, Q's code predictions].

    Shared trunk: 4x4 stride-2 convolutions of w and 2w filters (the second batch-normalized),
    FC 16w with batch normalization, LeakyReLU(0.2); the logit on top, and the Q head: FC 2w
    with batch normalization, then `code_units` outputs. Width 64 is the paper's network.
    """
    images = keras.Input(shape=image_shape, name="images")
    x = conv_features(images, width, kernel_size=4, minibatch_std=minibatch_std)
    x = _dense_block(x, 16 * width, layers.LeakyReLU(0.2))
    logits = layers.Dense(1, kernel_initializer=dcgan_init(), name="logits")(x)
    q = _dense_block(x, 2 * width, layers.LeakyReLU(0.2))
    q = layers.Dense(code_units, kernel_initializer=dcgan_init(), name="q_codes")(q)
    return Network(images, [logits, q], name=name)
