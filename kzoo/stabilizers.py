"""What a GAN's discriminator inputs go through before the discriminator sees them, in `keras.ops`.

Each is a model option of `AdversarialModel` (a hyperparameter, off by default), applied in
`AdversarialModel.discriminate`, so to real and fake images alike, in both players' losses, for
built-in and plugin GANs (../shared/notes/stabilization-and-families.md ranks them):

- `diff_augment`: differentiable augmentation (Zhao et al. 2020, DiffAugment): translation by up
  to a fraction of the side with zero fill, cutout of a square, and colour (brightness,
  saturation, contrast). The generator learns through it, so it never learns the augmentations.
- `instance_noise`: Gaussian noise on every discriminator input, annealed to zero
  (Sønderby et al. 2016).
- `pack`: PacGAN's packing (Lin et al. 2018): the discriminator judges m samples of one source at
  once, concatenated on the channels, so a generator that repeats itself is easy to tell apart.
- `top_k_gradients`: top-k training (Sinha et al. 2020): the generator follows the gradients of
  only its best-scored fakes; the worst ones, which pull it towards poor samples, count for nothing.

Randomness comes only from the seed generator passed in (the model's), so JAX threads it and
runs are reproducible. The image values are in [-1, 1] (kzoo's convention), as in DiffAugment.
"""

import keras
from keras import ops

AUGMENTATIONS = ("color", "translation", "cutout")


def diff_augment(images, policy, seed_generator, translation=0.125, cutout=0.5):
    """`images` (NHWC) with each augmentation of `policy` ("color,translation,cutout", a subset,
    or "") applied with its own random draw per image, in DiffAugment's order."""
    images = ops.convert_to_tensor(images)
    for name in AUGMENTATIONS:
        if name in policy.split(","):
            images = {"color": _color, "translation": _translation, "cutout": _cutout}[name](
                images, seed_generator, translation if name == "translation" else cutout
            )
    return images


def _uniform(shape, seed_generator, low=0.0, high=1.0):
    return keras.random.uniform(shape, low, high, seed=seed_generator)


def _color(images, seed_generator, _):
    """Brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5), per image."""
    batch = ops.shape(images)[0]
    images = images + _uniform((batch, 1, 1, 1), seed_generator, -0.5, 0.5)
    mean = ops.mean(images, axis=-1, keepdims=True)  # one channel: saturation is the identity
    images = (images - mean) * _uniform((batch, 1, 1, 1), seed_generator, 0.0, 2.0) + mean
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - mean) * _uniform((batch, 1, 1, 1), seed_generator, 0.5, 1.5) + mean


def _shift_matrices(shift, size, dtype):
    """(batch, size, size) matrices that move rows by `shift` (per image), zero-filling."""
    source = ops.arange(size)[None, :] - shift[:, None]  # output i reads input i - shift
    inside = ops.cast((source >= 0) & (source < size), dtype)
    return ops.one_hot(ops.clip(source, 0, size - 1), size, dtype=dtype) * inside[..., None]


def _translation(images, seed_generator, ratio):
    """Each image shifted by whole pixels, up to `ratio` of its height and width, zero-filled.

    As one-hot shift matrices on both sides (an einsum): differentiable, with the same
    arithmetic on every backend.
    """
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    max_y, max_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = keras.random.randint((batch,), -max_y, max_y + 1, seed=seed_generator)
    shift_x = keras.random.randint((batch,), -max_x, max_x + 1, seed=seed_generator)
    rows = _shift_matrices(shift_y, height, images.dtype)
    cols = _shift_matrices(shift_x, width, images.dtype)
    return ops.einsum("bij,bjkc,blk->bilc", rows, images, cols)


def _cutout(images, seed_generator, ratio):
    """A square of `ratio` of the side set to 0 in each image, centred anywhere (DiffAugment's cutout)."""
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = keras.random.randint((batch,), 0, height + (1 - size_y % 2), seed=seed_generator)
    centre_x = keras.random.randint((batch,), 0, width + (1 - size_x % 2), seed=seed_generator)

    def covered(centre, size, length):
        first = centre - size // 2
        positions = ops.arange(length)[None, :]
        return (positions >= first[:, None]) & (positions < first[:, None] + size)

    hole = covered(centre_y, size_y, height)[:, :, None] & covered(centre_x, size_x, width)[:, None, :]
    return images * ops.cast(ops.logical_not(hole), images.dtype)[..., None]


def instance_noise(images, sigma, seed_generator):
    images = ops.convert_to_tensor(images)
    return images + sigma * keras.random.normal(ops.shape(images), seed=seed_generator, dtype=images.dtype)


def annealed(sigma, step, steps):
    """sigma (1 - step / steps), down to 0 at `steps`: instance noise's linear schedule."""
    progress = ops.cast(step, "float32") / float(steps)
    return sigma * ops.maximum(0.0, 1.0 - progress)


def pack(images, m):
    """(batch, h, w, c) -> (batch / m, h, w, m c): consecutive samples side by side on the channels."""
    if m == 1:
        return images
    batch, height, width, channels = images.shape
    if batch is not None and batch % m:
        raise ValueError(f"packing {m} samples per discriminator input needs a batch size divisible by {m}; got {batch}")
    packed = ops.reshape(images, (-1, m, height, width, channels))
    packed = ops.transpose(packed, (0, 2, 3, 1, 4))
    return ops.reshape(packed, (-1, height, width, m * channels))


def annealed_share(final, step, steps):
    """1 at step 0, falling linearly to `final` at `steps`, then `final`."""
    progress = ops.minimum(ops.cast(step, "float32") / float(steps), 1.0)
    return 1.0 - (1.0 - final) * progress


def top_k_gradients(logits, share):
    """`logits` whose gradient flows only through the ceil(share * batch) highest ones.

    The others keep their values (the loss reads the same) but are constants of the gradient;
    selecting by a threshold keeps every shape static, so the share may change during training.
    """
    logits = ops.convert_to_tensor(logits)
    scores = ops.reshape(logits, (-1,))
    batch = ops.shape(scores)[0]
    k = ops.cast(ops.ceil(share * ops.cast(batch, "float32")), "int32")
    threshold = ops.take(ops.sort(scores), batch - ops.maximum(k, 1))  # the k-th highest
    chosen = ops.reshape(scores >= threshold, ops.shape(logits))
    return ops.where(chosen, logits, ops.stop_gradient(logits))

