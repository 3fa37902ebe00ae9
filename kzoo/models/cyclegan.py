from keras import ops

from kzoo import hyperparameters as hp
from kzoo.image_pool import ImagePool
from kzoo.models import image_blocks
from kzoo.models.objectives import mean_absolute, squares_to
from kzoo.models.translation import TranslationModel
from kzoo.players import Player


class CycleGAN(TranslationModel):
    """CycleGAN: two generators translate between unpaired domains, each translation undone by the other.

    G: A -> B and F: B -> A (ResNet generators: reflection padding, instance normalization,
    6 residual blocks), D_A and D_B (PatchGANs with instance normalization). Two players, as in
    the authors' code: one Adam over both generators, then one over both discriminators, so that
    each generator gets the whole cycle loss. Generators: least-squares adversarial losses,
    10 x the cycle losses |F(G(a)) - a| + |G(F(b)) - b|, 5 x the identity losses |G(b) - b| +
    |F(a) - a|. Discriminators: least-squares losses, halved, on real images and on fakes from
    a pool of 50 earlier ones (kzoo/image_pool.py), fakes made before the generators' update.
    Adam(2e-4, beta_1 0.5), constant (the paper decays it linearly over its second 100 epochs).
    """

    paper = "Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks (arXiv:1703.10593)"
    hyperparameters = {
        "width": hp.Int(64, min=1, help="network size: generator filters w, 2w, 4w; PatchGAN w..8w"),
        "residual_blocks": hp.Int(6, min=0, help="residual blocks per generator (6: the paper's 128x128 network)"),
        "cycle_weight": hp.Float(10.0, min=0, help="weight lambda of each cycle loss"),
        "identity_weight": hp.Float(5.0, min=0, help="weight of each identity loss (0.5 lambda in the paper)"),
        "pool_size": hp.Int(50, min=0, help="fakes kept for the discriminators; 0: none"),
        "patch_layers": hp.Int(3, min=1, help="stride-2 layers of the PatchGANs (3: the paper's 70x70)"),
    }
    paired = False
    directions = ("a2b", "b2a")

    size_multiple = 4  # two stride-2 layers

    def build_networks(self):
        shape, width = self.image_shape, self.width
        self.generator_ab = image_blocks.resnet_generator(shape, width, self.residual_blocks, name="generator_ab")
        self.generator_ba = image_blocks.resnet_generator(shape, width, self.residual_blocks, name="generator_ba")
        self.discriminator_a = image_blocks.patch_discriminator(shape, width, self.patch_layers, "instance",
                                                                name="discriminator_a")
        self.discriminator_b = image_blocks.patch_discriminator(shape, width, self.patch_layers, "instance",
                                                                name="discriminator_b")
        # Fakes of each domain, for that domain's discriminator.
        self.pool_a = ImagePool(self.pool_size, name="pool_a")
        self.pool_b = ImagePool(self.pool_size, name="pool_b")
        self.pool_a.build(shape)
        self.pool_b.build(shape)

    def translator(self, direction):
        return self.generator_ab if direction == "a2b" else self.generator_ba

    def players(self):
        return [
            Player("g", networks=("generator_ab", "generator_ba"), optimizer="generators",
                   loss=self.generators_objective, reports=("g_adversarial", "cycle", "identity")),
            Player("d", networks=("discriminator_a", "discriminator_b"), optimizer="discriminators",
                   loss=self.discriminators_objective, prepare=self.pooled_fakes),
        ]

    def generators_objective(self, step):
        a, b = step.real_a, step.real_b
        fake_b = self.generator_ab(a, training=True)
        fake_a = self.generator_ba(b, training=True)
        adversarial = (squares_to(self.discriminator_b(fake_b, training=True), 1.0)
                       + squares_to(self.discriminator_a(fake_a, training=True), 1.0))
        cycle = (mean_absolute(self.generator_ba(fake_b, training=True), a)
                 + mean_absolute(self.generator_ab(fake_a, training=True), b))
        loss = adversarial + self.cycle_weight * cycle
        identity = ops.zeros(())
        if self.identity_weight:  # two more generator passes: skipped when off
            identity = (mean_absolute(self.generator_ab(b, training=True), b)
                        + mean_absolute(self.generator_ba(a, training=True), a))
            loss = loss + self.identity_weight * identity
        step.log("g_adversarial", adversarial)
        step.log("cycle", cycle)
        step.log("identity", identity)
        # The discriminators learn from these fakes, made before this update (the authors' order).
        step.share("fake_a", fake_a)
        step.share("fake_b", fake_b)
        return loss

    def pooled_fakes(self, step):
        return {
            "pooled_a": self.pool_a.query(step.fake_a, self.seed_generator),
            "pooled_b": self.pool_b.query(step.fake_b, self.seed_generator),
        }

    def discriminators_objective(self, step):
        def halved_least_squares(discriminator, real, fake):
            return 0.5 * (squares_to(discriminator(real, training=True), 1.0)
                          + squares_to(discriminator(fake, training=True), 0.0))

        return (halved_least_squares(self.discriminator_a, step.real_a, step.pooled_a)
                + halved_least_squares(self.discriminator_b, step.real_b, step.pooled_b))
