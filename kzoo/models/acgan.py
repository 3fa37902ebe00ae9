from keras import ops

from kzoo import hyperparameters as hp
from kzoo.adversarial import AdversarialModel
from kzoo.models import blocks


def _class_loss(labels, class_logits):
    return ops.mean(ops.sparse_categorical_crossentropy(labels, class_logits, from_logits=True))


class ACGAN(AdversarialModel):
    """Auxiliary classifier GAN: the discriminator also classifies real and fake digits; fit(x, y).

    DCGAN generator with a label embedding joined to the noise; DCGAN discriminator trunk with two
    heads, source (real or fake) and class. The discriminator minimizes source loss + class loss
    on real and fake images; the generator minimizes its source loss + the class loss of its
    images, which take the real batch's labels. Adam(2e-4, beta_1 0.5).
    """

    paper = "Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs (arXiv:1610.09585)"
    conditional = True
    hyperparameters = {
        "width": hp.Int(32, min=1, help="network size: w, 2w, 4w filters (as dcgan's)"),
        "num_classes": hp.Int(10, min=2, help="number of classes (taken from the data by kzoo train)"),
        "class_weight": hp.Float(1.0, min=0, help="weight of the auxiliary class loss"),
        "ema_decay": 0.999,
    }
    default_epochs = 16
    default_steps_per_epoch = 500
    size_multiple = 4
    supports_packing = False

    def build_generator(self):
        return blocks.conv_generator(self.image_shape, self.latent_dim, self.width, num_classes=self.num_classes)

    def build_discriminator(self):
        return blocks.conv_classifier_discriminator(
            self.image_shape, self.width, heads=[("logits", 1), ("class_logits", self.num_classes)],
            minibatch_std=self.minibatch_std,
        )

    def discriminator_inputs(self, images, labels):
        return images  # the discriminator predicts the class; it is not told it

    def players(self):
        d, g = super().players()
        return [d.replace(reports=("d_class_loss",)), g.replace(reports=("g_class_loss",))]

    def discriminator_objective(self, step):
        real_source, real_class = self.discriminate(step.real)
        fake_source, fake_class = self.discriminate(step.fake)
        class_loss = _class_loss(step.labels, real_class) + _class_loss(step.labels, fake_class)
        step.log("d_class_loss", class_loss)
        return self.discriminator_loss(real_source, fake_source) + self.class_weight * class_loss

    def generator_objective(self, step):
        source, classes = self.discriminate(self.generate_fakes(step.latents, step.labels))
        class_loss = _class_loss(step.labels, classes)
        step.log("g_class_loss", class_loss)
        return self.generator_loss(source) + self.class_weight * class_loss

    def classify(self, images):
        """The discriminator's class predictions for images in [-1, 1] (inference mode)."""
        _, class_logits = self.discriminator(images, training=False)
        return ops.convert_to_numpy(ops.argmax(class_logits, axis=-1))
