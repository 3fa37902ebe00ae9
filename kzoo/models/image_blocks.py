"""Networks of the autoencoders and image-to-image models, and the two layers they need.

- `ReflectionPadding2D`: `keras.ops.pad(mode="reflect")` (lowercase: keras-io's CycleGAN writes
  "REFLECT", which only TensorFlow accepts), in either channel layout.
- `instance_normalization(axis)`: per image and channel, over height and width, without affine
  weights, as junyanz's `InstanceNorm2d(affine=False)`: `GroupNormalization(groups=-1)` (one
  group per channel). keras-io's CycleGAN uses `groups=1`, which pools all channels: layer norm.

Every builder takes `width` (the knob tests turn down to 2-4). Convolutions run in the
backend's layout (`ConvLayout`, channels-first on torch); inputs and outputs stay NHWC, and every
Dense layer sees NHWC-flattened features, so saved weights are the same on every backend. A
convolution followed by a normalization has no bias: the normalization would cancel it, and a
weight whose gradient is zero should not exist.
"""

import math

import keras
from keras import layers, ops

from kzoo.layers import BatchNormalization, Conv2DTranspose, ConvLayout, conv_data_format


@keras.saving.register_keras_serializable(package="kzoo")
class ReflectionPadding2D(layers.Layer):
    """Pads height and width by reflection: `padding` is an int or ((top, bottom), (left, right))."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = ((padding, padding), (padding, padding))
        self.padding = tuple(tuple(int(p) for p in pair) for pair in padding)
        self.data_format = data_format or conv_data_format()

    def call(self, x):
        (top, bottom), (left, right) = self.padding
        if self.data_format == "channels_first":
            pads = [[0, 0], [0, 0], [top, bottom], [left, right]]
        else:
            pads = [[0, 0], [top, bottom], [left, right], [0, 0]]
        return ops.pad(x, pads, mode="reflect")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        shape = list(input_shape)
        h, w = (2, 3) if self.data_format == "channels_first" else (1, 2)
        shape[h] = None if shape[h] is None else shape[h] + top + bottom
        shape[w] = None if shape[w] is None else shape[w] + left + right
        return tuple(shape)

    def get_config(self):
        # The layout is chosen where the model is built, as ConvLayout's.
        return {**super().get_config(), "padding": self.padding}


def instance_normalization(axis):
    """Instance normalization over height and width, per channel, no affine weights, eps 1e-5."""
    return layers.GroupNormalization(groups=-1, axis=axis, epsilon=1e-5, center=False, scale=False)


def _layout():
    """(data format, channel axis) of this backend's convolutions."""
    fmt = conv_data_format()
    return fmt, (1 if fmt == "channels_first" else -1)


def _normalization(kind, axis):
    return instance_normalization(axis) if kind == "instance" else BatchNormalization(axis=axis)


def _to_multiple(x, image_shape, multiple, fmt):
    """Reflection-pads height and width up to multiples of `multiple`; returns (x, crop) for `_cropped`."""
    h, w = image_shape[:2]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    crop = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
    if pad_h or pad_w:
        x = ReflectionPadding2D(crop, data_format=fmt)(x)
    return x, crop


def _cropped(x, crop, fmt):
    if any(any(pair) for pair in crop):
        x = layers.Cropping2D(crop, data_format=fmt)(x)
    return x


def halvings(image_shape, most=8):
    """How many stride-2 levels a U-Net or encoder-decoder gets: down to about 1/4 of the short side.

    28x28 (padded to 32): 3 levels, a 4x4 bottleneck; 256x256: 7 (pix2pix has 8 down to 1x1).
    """
    return max(1, min(most, int(math.log2(min(image_shape[:2]))) - 1))


# ------------------------------------------------------------------------------ pix2pix
def unet_generator(image_shape, width, dropout=0.5, name="generator"):
    """pix2pix's U-Net: stride-2 4x4 convolutions down, transposed ones up, skips across.

    Filters w, 2w, 4w, 8w, 8w, ... (the paper's 64-128-256-512-512... at width 64); batch
    normalization except on the first layer; LeakyReLU(0.2) down, ReLU up; dropout on the
    innermost decoder blocks (the paper: 3 of 7; here a third or so); tanh output. Images are
    reflection-padded to a multiple of 2^levels first and cropped back at the end, so any size works.
    """
    fmt, axis = _layout()
    levels = halvings(image_shape)
    inputs = keras.Input(shape=image_shape, name="source")
    x = ConvLayout("conv")(inputs)
    x, crop = _to_multiple(x, image_shape, 2**levels, fmt)

    def filters(level):
        return width * min(2**level, 8)

    skips = []
    for level in range(levels):
        x = layers.Conv2D(filters(level), 4, strides=2, padding="same", use_bias=level == 0, data_format=fmt)(x)
        if level > 0:
            x = BatchNormalization(axis=axis)(x)
        x = layers.LeakyReLU(0.2)(x)
        skips.append(x)
    with_dropout = min(3, levels // 2)
    for k, level in enumerate(reversed(range(levels - 1))):
        x = Conv2DTranspose(filters(level), 4, strides=2, padding="same", use_bias=False, data_format=fmt)(x)
        x = BatchNormalization(axis=axis)(x)
        if dropout and k < with_dropout:
            x = layers.Dropout(dropout)(x)
        x = layers.ReLU()(x)
        x = layers.Concatenate(axis=axis)([x, skips[level]])
    x = Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", activation="tanh", data_format=fmt)(x)
    outputs = ConvLayout("data")(_cropped(x, crop, fmt))
    return keras.Model(inputs, outputs, name=name)


def patch_discriminator(image_shape, width, layers_count=3, normalization="batch", conditioned=False,
                        name="discriminator"):
    """PatchGAN: one logit per overlapping patch, a map of them (Isola et al. 2017).

    C(w) stride 2 without normalization, then C(2w), C(4w)... (up to 8w) stride 2, one more at
    stride 1, then a 1-channel convolution: 4x4 kernels, LeakyReLU(0.2); the paper's 70x70
    PatchGAN at `layers_count=3`. `conditioned`: it judges (source, image) pairs, joined along
    the channels (pix2pix); otherwise images alone (CycleGAN).
    """
    fmt, axis = _layout()
    image = keras.Input(shape=image_shape, name="image")
    if conditioned:
        source = keras.Input(shape=image_shape, name="source")
        inputs, x = [source, image], layers.Concatenate(axis=-1)([source, image])
    else:
        inputs, x = image, image
    x = ConvLayout("conv")(x)
    x = layers.Conv2D(width, 4, strides=2, padding="same", data_format=fmt)(x)
    x = layers.LeakyReLU(0.2)(x)
    for n in range(1, layers_count + 1):
        strides = 2 if n < layers_count else 1
        x = layers.Conv2D(width * min(2**n, 8), 4, strides=strides, padding="same", use_bias=False, data_format=fmt)(x)
        x = _normalization(normalization, axis)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(1, 4, padding="same", data_format=fmt, name="patch_logits")(x)
    return keras.Model(inputs, ConvLayout("data")(x), name=name)


# ------------------------------------------------------------------------------ CycleGAN
def _residual_block(x, filters, axis, fmt):
    y = ReflectionPadding2D(1, data_format=fmt)(x)
    y = layers.Conv2D(filters, 3, use_bias=False, data_format=fmt)(y)
    y = instance_normalization(axis)(y)
    y = layers.ReLU()(y)
    y = ReflectionPadding2D(1, data_format=fmt)(y)
    y = layers.Conv2D(filters, 3, use_bias=False, data_format=fmt)(y)
    y = instance_normalization(axis)(y)
    return layers.Add()([x, y])


def resnet_generator(image_shape, width, residual_blocks=6, name="generator"):
    """CycleGAN's generator: c7s1-w, d2w, d4w, `residual_blocks` x R4w, u2w, uw, c7s1-C (tanh).

    Instance normalization and reflection padding as in the paper (width 64, 6 blocks: its
    128x128 network). Height and width must be multiples of 4.
    """
    fmt, axis = _layout()
    inputs = keras.Input(shape=image_shape, name="source")
    x = ConvLayout("conv")(inputs)
    x = ReflectionPadding2D(3, data_format=fmt)(x)
    x = layers.Conv2D(width, 7, use_bias=False, data_format=fmt)(x)
    x = layers.ReLU()(instance_normalization(axis)(x))
    for multiple in (2, 4):
        x = layers.Conv2D(width * multiple, 3, strides=2, padding="same", use_bias=False, data_format=fmt)(x)
        x = layers.ReLU()(instance_normalization(axis)(x))
    for _ in range(residual_blocks):
        x = _residual_block(x, 4 * width, axis, fmt)
    for multiple in (2, 1):
        x = Conv2DTranspose(width * multiple, 3, strides=2, padding="same", use_bias=False, data_format=fmt)(x)
        x = layers.ReLU()(instance_normalization(axis)(x))
    x = ReflectionPadding2D(3, data_format=fmt)(x)
    x = layers.Conv2D(image_shape[-1], 7, activation="tanh", data_format=fmt)(x)
    return keras.Model(inputs, ConvLayout("data")(x), name=name)


# ------------------------------------------------------------------------------ context encoder
def context_encoder_generator(image_shape, width, name="generator"):
    """Pathak et al.'s encoder-decoder: the whole image through a bottleneck, out comes an image.

    Down: 4x4 stride-2 convolutions of w, 2w, 4w... (batch normalization but on the first,
    LeakyReLU(0.2)) to about 4x4; a convolution over the whole 4x4 map to a 1x1 bottleneck of 16w
    units (the paper's 4000 at 128x128 px); up: transposed convolutions back (batch
    normalization, ReLU), tanh. The model keeps only the hole of the output.
    """
    fmt, axis = _layout()
    levels = halvings(image_shape)
    inputs = keras.Input(shape=image_shape, name="source")
    x = ConvLayout("conv")(inputs)
    x, crop = _to_multiple(x, image_shape, 2**levels, fmt)
    padded = [(s + sum(pair)) // 2**levels for s, pair in zip(image_shape[:2], crop)]
    for level in range(levels):
        x = layers.Conv2D(width * 2**level, 4, strides=2, padding="same", use_bias=level == 0, data_format=fmt)(x)
        if level > 0:
            x = BatchNormalization(axis=axis)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(16 * width, padded, use_bias=False, data_format=fmt, name="bottleneck")(x)
    x = BatchNormalization(axis=axis)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = Conv2DTranspose(width * 2 ** (levels - 1), padded, use_bias=False, data_format=fmt)(x)
    x = layers.ReLU()(BatchNormalization(axis=axis)(x))
    for level in reversed(range(levels - 1)):
        x = Conv2DTranspose(width * 2**level, 4, strides=2, padding="same", use_bias=False, data_format=fmt)(x)
        x = layers.ReLU()(BatchNormalization(axis=axis)(x))
    x = Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", activation="tanh", data_format=fmt)(x)
    return keras.Model(inputs, ConvLayout("data")(_cropped(x, crop, fmt)), name=name)


def conv_classifier(image_shape, width, name="discriminator"):
    """Two 4x4 stride-2 convolutions (w, 2w; batch normalization on the second), LeakyReLU(0.2),
    then one logit: the context encoder's discriminator of the filled hole."""
    fmt, axis = _layout()
    inputs = keras.Input(shape=image_shape, name="image")
    x = ConvLayout("conv")(inputs)
    x = layers.Conv2D(width, 4, strides=2, padding="same", data_format=fmt)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * width, 4, strides=2, padding="same", use_bias=False, data_format=fmt)(x)
    x = layers.LeakyReLU(0.2)(BatchNormalization(axis=axis)(x))
    x = layers.Flatten()(ConvLayout("data")(x))
    return keras.Model(inputs, layers.Dense(1, name="logits")(x), name=name)


# ------------------------------------------------------------------------------ autoencoders
def conv_encoder(image_shape, width, outputs, name="encoder"):
    """The convolutional VAE encoder of TensorFlow's CVAE tutorial: 3x3 stride-2 convolutions of w
    and 2w (ReLU), then `outputs` linear units. Width 32 is that network.

    keras-io's VAE puts a Dense(16) ReLU layer before the outputs; here all 16 of its units died
    within the first two epochs (batch 64, Adam 1e-3, mnist-5k), the codes became constant and
    the VAE collapsed onto its prior (KL 0.01 nats after 15 epochs), so it is left out.
    """
    fmt, _ = _layout()
    inputs = keras.Input(shape=image_shape, name="images")
    x = ConvLayout("conv")(inputs)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", data_format=fmt)(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", data_format=fmt)(x)
    x = layers.Flatten()(ConvLayout("data")(x))
    return keras.Model(inputs, layers.Dense(outputs, name="codes")(x), name=name)


def conv_decoder(image_shape, latent_dim, width, activation=None, name="decoder"):
    """keras-io's VAE decoder: Dense to (h/4, w/4, 2w) (ReLU), 3x3 stride-2 transposed
    convolutions of 2w and w (ReLU), a 3x3 one to the channels with `activation`."""
    fmt, _ = _layout()
    h, w, c = image_shape
    codes = keras.Input(shape=(latent_dim,), name="codes")
    x = layers.Dense((h // 4) * (w // 4) * 2 * width, activation="relu")(codes)
    x = ConvLayout("conv")(layers.Reshape((h // 4, w // 4, 2 * width))(x))
    x = Conv2DTranspose(2 * width, 3, strides=2, padding="same", activation="relu", data_format=fmt)(x)
    x = Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu", data_format=fmt)(x)
    x = Conv2DTranspose(c, 3, padding="same", activation=activation, data_format=fmt, name="images")(x)
    return keras.Model(codes, ConvLayout("data")(x), name=name)


def code_discriminator(latent_dim, width, name="discriminator"):
    """The AAE's discriminator on latent codes: Dense(16w), Dense(8w) with LeakyReLU(0.2), one logit
    (width 32: Keras-GAN's and PyTorch-GAN's 512-256)."""
    codes = keras.Input(shape=(latent_dim,), name="codes")
    x = layers.LeakyReLU(0.2)(layers.Dense(16 * width)(codes))
    x = layers.LeakyReLU(0.2)(layers.Dense(8 * width)(x))
    return keras.Model(codes, layers.Dense(1, name="logits")(x), name=name)
