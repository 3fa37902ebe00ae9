"""`AutoencoderModel`: the base of kzoo's autoencoders (vae, aae): an encoder, a decoder, a prior.

Trained on the players' step from `fit(images)` like the GANs, and used like them: `sample()`
decodes numpy draws from the prior N(0, I) (the same images on every backend for one seed), so
`kzoo sample` and the digit-evaluator metrics work unchanged; `reconstruct()` and `encode()`
are what an autoencoder adds. `kzoo evaluate` adds the reconstruction error on held-out images
(`kzoo.evaluation`).
"""

import keras
import numpy as np
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.players import PlayersModel, Step


class AutoencoderModel(PlayersModel):
    """Base class of autoencoders with a N(0, I) prior on `latent_dim` codes.

    Subclasses build `self.encoder` and `self.decoder`, and implement `encode_batch(images)`
    (codes) and `decode_batch(codes)` (images in [-1, 1]) in `keras.ops`, in inference mode.
    """

    hyperparameters = {
        "image_shape": hp.ImageShape((28, 28, 1), help="the images' size"),
        "learning_rate": hp.Float(1e-3, min=0, min_exclusive=True, help="Adam's learning rate"),
    }

    size_multiple = 4  # two stride-2 layers

    def begin_step(self, data):
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return Step(real=images, batch_size=ops.shape(images)[0])

    def draw_prior(self, batch_size):
        """Codes from the prior N(0, I), from the model's seed generator."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    # ---------------------------------------------------------------- inference (numpy)
    def call(self, inputs, training=False):
        """Reconstructions of `inputs`."""
        return self.decode_batch(self.encode_batch(inputs))

    def _batched(self, fn, array, batch_size, shape):
        array = np.asarray(array, "float32")
        chunks = [np.asarray(ops.convert_to_numpy(fn(array[i : i + batch_size])))
                  for i in range(0, len(array), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *shape), "float32")

    def encode(self, images, batch_size=250):
        """Codes of images in [-1, 1] (the posterior mean, for the VAE), as numpy."""
        return self._batched(self.encode_batch, images, batch_size, (self.latent_dim,))

    def decode(self, codes, batch_size=250):
        """Images in [-1, 1] for codes, as numpy."""
        return self._batched(self.decode_batch, codes, batch_size, self.image_shape)

    def reconstruct(self, images, batch_size=250):
        return self.decode(self.encode(images, batch_size), batch_size)

    def sample_inputs(self, num, rng):
        """Prior codes drawn with numpy: the same on every backend for the same `rng`."""
        return rng.standard_normal((num, self.latent_dim)).astype("float32")

    def sample(self, num, seed=0, labels=None, batch_size=250, raw=False):
        """`num` images decoded from prior codes drawn with numpy `seed` (same on every backend).

        `labels` and `raw` exist for the samplers' common signature; autoencoders take neither.
        """
        return self.decode(self.sample_inputs(num, np.random.default_rng(seed)), batch_size)
