"""`TranslationModel`: the base of kzoo's image-to-image models (pix2pix, context-encoder, cyclegan).

A translation model maps images of a domain A to a domain B (and back, for cyclegan). It
trains on the players' step like every kzoo model, from `fit(a, b)`: a batch is a pair of image
batches, `step.real_a` and `step.real_b`. What it adds to `PlayersModel`:

- `trains_on = "pairs"`: `kzoo train` feeds `fit` the (a, b) arrays of a task name
  (`mnist-5k:edges`), an .npz of pairs or a folder of domains (`kzoo.data.pairs`), with a
  one-line error when the data does not suit the model (`paired`: unpaired domains for a paired
  model);
- `translate(images, direction)`: numpy in, numpy out, in inference mode, the same on every
  backend;
- `preview_grid(num, seed, data)`: the epoch's sample grid, input, output and target side by side.

`kzoo evaluate` scores it on held-out pairs (`kzoo.evaluation`).
"""

import math

import keras
import numpy as np
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.data import check_fits
from kzoo.errors import KzooError
from kzoo.players import PlayersModel, Step

DIRECTIONS = ("a2b", "b2a")


class TranslationModel(PlayersModel):
    """Base class of image-to-image models: images of domain A in, images of domain B out.

    Subclasses build their networks, players and optimizers (see `PlayersModel`) and say:
      - `paired`: whether they need pairs (b[i] the target of a[i]) or take unpaired domains;
      - `directions`: the translations they learn, ("a2b",) or ("a2b", "b2a");
      - `hole`: (top, left, size) of the region an inpainting model fills, else None (its
        scores are then also measured inside it);
      - `translator(direction)`: the network (or function of a batch) that translates, in
        inference mode.
    """

    hyperparameters = {
        "image_shape": hp.ImageShape((28, 28, 1), help="the images' size (both domains)"),
        "learning_rate": hp.Float(2e-4, min=0, min_exclusive=True, help="every player's learning rate"),
        "beta_1": hp.Float(0.5, min=0, max=1, max_exclusive=True, help="Adam's beta_1"),
    }
    trains_on = "pairs"
    paired = True
    directions = ("a2b",)
    hole = None

    def begin_step(self, data):
        a, b, _ = keras.utils.unpack_x_y_sample_weight(data)
        if b is None:
            raise ValueError(f"{self.name} trains on two sets of images: fit(a, b)")
        return Step(real_a=a, real_b=b, batch_size=ops.shape(a)[0])

    def default_optimizers(self):
        """One Adam(learning_rate, beta_1) per optimizer key of the players."""
        keys = dict.fromkeys(p.optimizer_key for p in self.players())
        return {key: keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1) for key in keys}

    # ---------------------------------------------------------------- translation
    def translator(self, direction):
        raise NotImplementedError(f"{type(self).__name__} must implement translator(direction)")

    def check_direction(self, direction):
        if direction not in self.directions:
            learned = " and ".join(self.directions)
            raise KzooError(f"{self.name} translates {learned} only, not {direction}")
        return direction

    def call(self, inputs, training=False):
        """A to B: `model(images)`."""
        return self.translator("a2b")(inputs, training=training)

    def translate(self, images, direction="a2b", batch_size=64):
        """Images (N, H, W, C) in [-1, 1] translated `direction`, in inference mode, as numpy."""
        translate = self.translator(self.check_direction(direction))
        images = np.asarray(images, dtype="float32")
        check_fits(images, self.image_shape)
        chunks = [
            np.asarray(ops.convert_to_numpy(translate(images[i : i + batch_size], training=False)))
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.image_shape), "float32")

    # ---------------------------------------------------------------- pictures
    def preview_grid(self, num=64, seed=0, data=None, label=None, code=None, raw=False):
        """(images, per_row): rows of input, output, target, for about `num` images in all.

        `data` is the (a, b) training data; rows are picked from it with `seed`. For unpaired
        data there is no target: a row shows a, G(a), then b and its translation back.
        """
        if data is None:
            raise KzooError(f"{self.name} translates images: use kzoo translate RUN INPUT")
        if label is not None or code is not None:
            raise KzooError(f"{self.name} translates images: it takes no --label or --code")
        a, b = data
        rows = max(1, min(len(a), math.ceil(num / 3)))
        pick = np.sort(np.random.default_rng(seed).choice(len(a), rows, replace=False))
        a, b = np.asarray(a[pick]), np.asarray(b[pick])
        columns = [a, self.translate(a, "a2b")]
        if self.paired:
            columns.append(b)
        else:
            columns += [b, self.translate(b, "b2a")] if "b2a" in self.directions else [b]
        return np.stack(columns, axis=1).reshape(-1, *a.shape[1:]), len(columns)
