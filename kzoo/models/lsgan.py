from keras import ops

from kzoo.models.dcgan import DCGAN


class LSGAN(DCGAN):
    """Least-squares GAN: DCGAN networks with least-squares losses (a=0, b=c=1).

    Adam(2e-4, beta_1=0.5) as in the paper.
    """

    paper = "Mao et al. 2017, Least Squares Generative Adversarial Networks (arXiv:1611.04076)"

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * ops.mean(ops.square(real_logits - 1.0)) + 0.5 * ops.mean(ops.square(fake_logits))

    def generator_loss(self, fake_logits):
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))
