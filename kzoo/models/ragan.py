from keras import ops

from kzoo.models.dcgan import DCGAN


def _bce(target, logits):
    return ops.mean(ops.binary_crossentropy(target, logits, from_logits=True))


class RaGAN(DCGAN):
    """Relativistic average GAN: each logit is judged against the other side's mean logit.

    DCGAN networks and optimizers. The discriminator estimates how much more realistic a real
    image is than the average fake (and a fake than the average real); the generator's loss
    swaps the targets, so it sees the real batch too (RaSGAN).
    """

    paper = "Jolicoeur-Martineau 2018, The relativistic discriminator (arXiv:1807.00734)"

    def discriminator_loss(self, real_logits, fake_logits):
        return (_bce(ops.ones_like(real_logits), real_logits - ops.mean(fake_logits))
                + _bce(ops.zeros_like(fake_logits), fake_logits - ops.mean(real_logits)))

    def relativistic_generator_loss(self, real_logits, fake_logits):
        return (_bce(ops.zeros_like(real_logits), real_logits - ops.mean(fake_logits))
                + _bce(ops.ones_like(fake_logits), fake_logits - ops.mean(real_logits)))

    def generator_objective(self, step):
        fake = self.generate_fakes(step.latents, step.labels)
        real_logits = self.discriminate(step.real, step.labels)
        return self.relativistic_generator_loss(real_logits, self.discriminate(fake, step.labels))
