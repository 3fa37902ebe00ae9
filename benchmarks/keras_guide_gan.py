"""The anchor of the quality table: the MNIST GAN of Keras's own guide, as a kzoo model.

The Keras developer guides "Customizing what happens in `fit()`" for TensorFlow
(`custom_train_step_in_tensorflow`) and torch end with a small MNIST GAN. This module
re-implements that GAN from the guide's description (not from its code) as a subclass of
`kzoo.AdversarialModel`, so that it trains on every backend through kzoo's one `train_step`
and sits in benchmarks/quality.py's table beside kzoo's own models as a known reference point.

    latent 128
    discriminator  Conv2D(64, 3, stride 2, same) - LeakyReLU(0.2)
                   Conv2D(128, 3, stride 2, same) - LeakyReLU(0.2)
                   GlobalMaxPooling2D - Dense(1)                      (a logit)
    generator      Dense(7*7*128) - LeakyReLU(0.2) - Reshape(7, 7, 128)
                   Conv2DTranspose(128, 4, stride 2, same) - LeakyReLU(0.2)
                   Conv2DTranspose(128, 4, stride 2, same) - LeakyReLU(0.2)
                   Conv2D(1, 7, same)                                 (tanh here; see below)
    Adam(3e-4) for both players (Keras's default beta_1 = 0.9); batch 64.

Where this model differs from the guide, on purpose:

* Output activation: tanh, because kzoo's data (and its metrics) are in [-1, 1]; the guide
  scales MNIST to [0, 1] and ends the generator with a sigmoid.
* Losses: kzoo's default non-saturating binary cross-entropy hooks on logits, with real = 1
  and fake = 0, the discriminator seeing the real and the fake batch in two calls (its loss
  is mean(real) + mean(fake)). The guide labels the other way round (fake = 1, real = 0),
  concatenates real and fake into one discriminator batch, and adds 0.05 * U(0, 1) noise to
  the discriminator's labels. With no batch normalization in the discriminator, the split
  batch gives the same gradients up to a factor of 2, which Adam ignores; the flipped labels
  are the same game; the label noise is left out.
* Initializers: Keras's defaults, as in the guide (kzoo's DCGAN uses N(0, 0.02)).

`width` scales every filter count: D has `width` and `2 * width` filters, G `2 * width`
(the Dense projection and both transposed convolutions); the default 64 is the guide's
network. Tests use width 2-4. Images of other sizes work when their height and width are
multiples of 4 (the Dense projects to height/4 x width/4).
"""

import keras
from keras import layers

from kzoo.adversarial import AdversarialModel


class KerasGuideGAN(AdversarialModel):
    """The MNIST GAN of the Keras guide `custom_train_step_in_tensorflow`, with a tanh output.

    Strided Conv2D discriminator with global max pooling, Conv2DTranspose generator,
    Adam(3e-4) for both players, latent 128; see benchmarks/keras_guide_gan.py.
    """

    paper = "Keras developer guide: Customizing what happens in fit() (custom_train_step_in_tensorflow)"
    hyperparameters = {"width": 64, "latent_dim": 128, "learning_rate": 3e-4, "beta_1": 0.9}
    size_multiple = 4

    def build_discriminator(self):
        w = int(self.width)
        images = keras.Input(shape=self.image_shape, name="images")
        x = layers.Conv2D(w, 3, strides=2, padding="same")(images)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Conv2D(2 * w, 3, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.GlobalMaxPooling2D()(x)
        logits = layers.Dense(1, name="logits")(x)
        return keras.Model(images, logits, name="discriminator")

    def build_generator(self):
        w = int(self.width)
        h, wd, c = self.image_shape
        noise = keras.Input(shape=(self.latent_dim,), name="noise")
        x = layers.Dense((h // 4) * (wd // 4) * 2 * w)(noise)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Reshape((h // 4, wd // 4, 2 * w))(x)
        for _ in range(2):
            x = layers.Conv2DTranspose(2 * w, 4, strides=2, padding="same")(x)
            x = layers.LeakyReLU(0.2)(x)
        images = layers.Conv2D(c, 7, padding="same", activation="tanh", name="images")(x)
        return keras.Model(noise, images, name="generator")
