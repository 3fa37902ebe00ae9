from kzoo import hyperparameters as hp
from kzoo.models import blocks
from kzoo.models.gan import GAN


class CGAN(GAN):
    """Conditional MLP GAN: class labels are embedded and fed to both networks; fit(x, y).

    The networks are the `gan` model's, each with a label embedding concatenated to its input.
    """

    paper = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784)"
    conditional = True
    hyperparameters = {"num_classes": hp.Int(10, min=2, help="number of classes (taken from the data by kzoo train)"),
                       "dropout": 0.5}

    def build_generator(self):
        return blocks.mlp_generator(self.image_shape, self.latent_dim, self.width, self.num_classes)

    def build_discriminator(self):
        return blocks.mlp_discriminator(self.image_shape, self.width, self.dropout, self.num_classes,
                                        minibatch_std=self.minibatch_std)
