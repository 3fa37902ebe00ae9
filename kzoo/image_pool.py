"""`ImagePool`: CycleGAN's history of generated images, as model state every backend can trace.

Shrivastava et al. 2017 and Zhu et al. 2017 update the discriminators on a mix of the newest
fakes and older ones, so that they do not chase the generator's latest output. The reference
pools (junyanz's `util/image_pool.py`, mmgeneration's) are Python lists driven by `random`,
which a compiled step cannot hold: under JAX's jit they would be frozen at trace time. Here the
pool is two non-trainable weights of a layer, the stored images and how many slots are filled,
changed only by `.assign` and drawn with `keras.random` from the model's seed generator, so
JAX threads them through its jitted step, `.keras` files save them, and all three backends
run the same code.

What `query(images)` returns, image by image (junyanz's semantics, vectorized):
- while the pool is filling, each image is stored and returned as is;
- once the pool was full at the start of the batch, each image is, with probability
  `swap_probability` (0.5), swapped: a stored image, picked uniformly at random, is returned
  and the new one takes its slot; otherwise the new image is returned and not stored.

Two departures, both forced by vectorizing and both rare: swapped images in one batch take
distinct slots (a random permutation), so a batch larger than the pool swaps only its first
`size` images; and in the one batch that fills the pool, the images that do not fit are
returned without swapping (the slots being filled hold nothing older yet).
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class ImagePool(keras.layers.Layer):
    """A pool of `size` images of one shape; `size=0` turns it off (query returns its input)."""

    def __init__(self, size=50, swap_probability=0.5, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 0 or not 0.0 <= float(swap_probability) <= 1.0:
            raise ValueError(f"size must be >= 0 and swap_probability in [0, 1]; got {size}, {swap_probability}")
        self.size = int(size)
        self.swap_probability = float(swap_probability)

    def build(self, image_shape):
        """`image_shape` is one image's (height, width, channels)."""
        self.images = self.add_weight(
            shape=(self.size, *image_shape), initializer="zeros", trainable=False, name="images"
        )
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        self.built = True

    def query(self, images, seed):
        """The images for the discriminator: `images` with some swapped for stored ones (see module).

        `seed` is a `keras.random.SeedGenerator` (the model's), so the draw is traced, not fixed.
        """
        images = ops.convert_to_tensor(images, dtype=self.images.dtype)
        if self.size == 0:
            return images
        size = self.size
        # 0, 1, ..., n - 1 without reading the batch size as a Python int (it may be symbolic).
        index = ops.cast(ops.cumsum(ops.ones_like(images[:, 0, 0, 0])), "int32") - 1
        count = ops.convert_to_tensor(self.count)
        filling = ops.less(count + index, size)
        coin = ops.less(keras.random.uniform(ops.shape(index), seed=seed), self.swap_probability)
        swapping = ops.logical_and(ops.logical_and(ops.equal(count, size), coin), ops.less(index, size))
        # Distinct random slots for the swaps of this batch.
        slots = keras.random.shuffle(ops.arange(size, dtype="int32"), seed=seed)
        swap_slot = ops.take(slots, ops.minimum(index, size - 1))
        stored = ops.take(self.images, swap_slot, axis=0)
        returned = ops.where(ops.reshape(swapping, (-1, 1, 1, 1)), stored, images)

        # Writes: filling images go to the next free slots, swapped ones to their slots; a
        # (batch, size) one-hot matrix of them never has two ones in a column.
        writing = ops.logical_or(filling, swapping)
        slot = ops.where(filling, ops.minimum(count + index, size - 1), swap_slot)
        writes = ops.one_hot(slot, size) * ops.cast(ops.expand_dims(writing, 1), images.dtype)
        kept = 1.0 - ops.reshape(ops.sum(writes, axis=0), (size, 1, 1, 1))
        new_images = ops.convert_to_tensor(self.images) * kept + ops.tensordot(writes, images, axes=([0], [0]))
        self.images.assign(new_images)
        self.count.assign(ops.minimum(count + ops.cast(ops.shape(images)[0], "int32"), size))
        return returned

    def get_config(self):
        return {**super().get_config(), "size": self.size, "swap_probability": self.swap_probability}
