import keras
from keras import ops

from kzoo import hyperparameters as hp
from kzoo.models import image_blocks
from kzoo.models.autoencoders import AutoencoderModel
from kzoo.players import Player


class VAE(AutoencoderModel):
    """Variational autoencoder: convolutional encoder and decoder trained on the evidence lower bound.

    Encoder: the mean and log-variance of a Gaussian posterior over `latent_dim` codes; decoder:
    Bernoulli logits of every pixel (TensorFlow's CVAE encoder and keras-io's decoder at width 32;
    kzoo/models/image_blocks.py says why not keras-io's encoder). Loss: the negative ELBO,
    the binary cross-entropy summed over each image's pixels (targets rescaled to [0, 1]) plus
    KL(q(z|x) || N(0, I)), averaged over the batch, with the reparameterization trick.
    Adam(1e-3), as keras-io (the paper used Adagrad).
    """

    paper = "Kingma & Welling 2014, Auto-Encoding Variational Bayes (arXiv:1312.6114)"
    hyperparameters = {
        "width": hp.Int(32, min=1, help="network size: filters w, 2w (32: keras-io's VAE)"),
        "latent_dim": hp.Int(16, min=1, help="size of the latent code"),
    }

    def build_networks(self):
        self.encoder = image_blocks.conv_encoder(self.image_shape, self.width, 2 * self.latent_dim)
        self.decoder = image_blocks.conv_decoder(self.image_shape, self.latent_dim, self.width)

    def players(self):
        return [Player("vae", networks=("encoder", "decoder"), loss=self.negative_elbo,
                       prepare=self.draw_noise, reports=("reconstruction", "kl"))]

    def default_optimizers(self):
        return {"vae": keras.optimizers.Adam(self.learning_rate)}

    def draw_noise(self, step):
        """The reparameterization's epsilon, drawn outside the differentiated function."""
        return {"epsilon": self.draw_prior(step.batch_size)}

    def posterior(self, images, training=False):
        stats = self.encoder(images, training=training)
        return stats[:, : self.latent_dim], stats[:, self.latent_dim :]

    def negative_elbo(self, step):
        mean, log_variance = self.posterior(step.real, training=True)
        codes = mean + ops.exp(0.5 * log_variance) * step.epsilon
        logits = self.decoder(codes, training=True)
        targets = (step.real + 1.0) / 2.0
        per_pixel = ops.binary_crossentropy(targets, logits, from_logits=True)
        reconstruction = ops.mean(ops.sum(ops.reshape(per_pixel, (step.batch_size, -1)), axis=-1))
        kl = ops.mean(-0.5 * ops.sum(1.0 + log_variance - ops.square(mean) - ops.exp(log_variance), axis=-1))
        step.log("reconstruction", reconstruction)
        step.log("kl", kl)
        return reconstruction + kl

    def encode_batch(self, images):
        return self.posterior(images)[0]

    def decode_batch(self, codes):
        return ops.sigmoid(self.decoder(codes, training=False)) * 2.0 - 1.0
