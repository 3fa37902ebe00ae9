import keras

from kzoo import hyperparameters as hp
from kzoo.models import image_blocks
from kzoo.models.autoencoders import AutoencoderModel
from kzoo.models.objectives import cross_entropy_to, mean_absolute
from kzoo.players import Player


class AAE(AutoencoderModel):
    """Adversarial autoencoder: a discriminator on the latent codes pulls them towards N(0, I).

    Encoder and decoder as the VAE's (deterministic codes, tanh images); discriminator: an MLP
    on codes (512-256 at width 32, as Keras-GAN and PyTorch-GAN). Two players, as PyTorch-GAN:
    the autoencoder (0.999 x L1 reconstruction + 0.001 x the non-saturating adversarial loss of
    its codes), then the discriminator (prior draws against the autoencoder's codes, halved
    cross-entropy). Adam(2e-4, beta_1 0.5). The paper's third, encoder-only update is merged
    into the autoencoder's, since one weight has one optimizer here.
    """

    paper = "Makhzani et al. 2015, Adversarial Autoencoders (arXiv:1511.05644)"
    hyperparameters = {
        "width": hp.Int(32, min=1, help="network size: filters w, 2w; discriminator 16w, 8w"),
        "latent_dim": hp.Int(8, min=1, help="size of the latent code"),
        "learning_rate": 2e-4,
        "beta_1": hp.Float(0.5, min=0, max=1, max_exclusive=True, help="Adam's beta_1"),
        "reconstruction_weight": hp.Float(0.999, min=0, help="weight of the L1 reconstruction loss"),
        "adversarial_weight": hp.Float(0.001, min=0, help="weight of the codes' adversarial loss"),
    }

    def build_networks(self):
        self.encoder = image_blocks.conv_encoder(self.image_shape, self.width, self.latent_dim)
        self.decoder = image_blocks.conv_decoder(self.image_shape, self.latent_dim, self.width, activation="tanh")
        self.discriminator = image_blocks.code_discriminator(self.latent_dim, self.width)

    def players(self):
        return [
            Player("ae", networks=("encoder", "decoder"), optimizer="autoencoder", loss=self.autoencoder_objective,
                   reports=("reconstruction", "ae_adversarial")),
            Player("d", networks=("discriminator",), optimizer="discriminator", loss=self.discriminator_objective,
                   prepare=self.draw_codes),
        ]

    def default_optimizers(self):
        return {
            "autoencoder": keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1),
            "discriminator": keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1),
        }

    def autoencoder_objective(self, step):
        codes = self.encoder(step.real, training=True)
        reconstruction = mean_absolute(self.decoder(codes, training=True), step.real)
        adversarial = cross_entropy_to(self.discriminator(codes, training=True), 1.0)
        step.log("reconstruction", reconstruction)
        step.log("ae_adversarial", adversarial)
        # The discriminator then judges these codes (made before this update, gradient stopped).
        step.share("codes", codes)
        return self.reconstruction_weight * reconstruction + self.adversarial_weight * adversarial

    def draw_codes(self, step):
        return {"prior": self.draw_prior(step.batch_size)}

    def discriminator_objective(self, step):
        real = cross_entropy_to(self.discriminator(step.prior, training=True), 1.0)
        fake = cross_entropy_to(self.discriminator(step.codes, training=True), 0.0)
        return 0.5 * (real + fake)

    def encode_batch(self, images):
        return self.encoder(images, training=False)

    def decode_batch(self, codes):
        return self.decoder(codes, training=False)
