"""What each GAN family of the players issue does, on whichever backend KERAS_BACKEND selects.

Training itself (finite losses, every weight and optimizer moving) is in test_training.py; here:
WGAN-GP's penalty against finite differences, InfoGAN's Q recovering its codes, the relativistic
generator seeing the real batch, ACGAN's classes, R1, and the averaged generator.
"""

import keras
import numpy as np
import pytest
from conftest import FirstStep, softplus
from keras import ops

import kzoo
from kzoo.models import ACGAN, DCGAN, WGANGP, InfoGAN, RaGAN
from kzoo.players import Step


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(1)


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_wgan_gp_penalty_matches_finite_differences():
    """The penalty at fixed interpolation weights, against central differences of the critic.

    The critic's weights are scaled up so that its input gradients have norms of a few units:
    at the initial N(0, 0.02) weights the norms are near 0, the penalty near 1 whatever they are.
    The critic has no batch normalization, so each image's score depends on that image alone.
    """
    model = WGANGP(image_shape=(4, 4, 1), width=2, seed=0)
    rng = np.random.default_rng(0)
    for v in model.discriminator.trainable_variables:
        v.assign(rng.normal(0.0, 0.6, v.shape).astype("float32"))
    real = rng.uniform(-1, 1, (2, 4, 4, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (2, 4, 4, 1)).astype("float32")
    alpha = np.array([0.3, 0.8], "float32").reshape(2, 1, 1, 1)

    penalty = float(numpy(model.gradient_penalty(real, fake, alpha)))

    points = real + alpha * (fake - real)
    eps = 1e-3
    steps = np.eye(16, dtype="float32").reshape(16, 4, 4, 1) * eps
    probes = np.concatenate([points[i] + sign * steps for i in range(2) for sign in (1, -1)])
    scores = numpy(model.discriminator(probes, training=True)).reshape(2, 2, 16)
    grads = (scores[:, 0] - scores[:, 1]) / (2 * eps)
    norms = np.sqrt(np.sum(grads**2, axis=1))
    assert norms.min() > 0.5, norms  # the check is sensitive only where the norms are not ~0
    np.testing.assert_allclose(penalty, np.mean((norms - 1.0) ** 2), rtol=2e-3)


def test_infogan_q_recovers_the_category_of_its_own_samples():
    """After 128 seeded updates, Q names the category of the generator's images well above chance.

    Chance is 0.1: a Q that learned nothing scores 0.1 +- 0.017 on 300 samples, so 0.2 is six
    standard deviations above it, while this seeded run scores 0.32-0.33 (measured on all three
    backends; 0.26-0.32 after 96 updates). Q is read as it is trained, in training mode on a batch of
    fakes: batch normalization's moving statistics mix real and fake batches and lag behind for
    the first few hundred updates. Learning rates 2e-3 and information weight 5 make a short run
    enough (the paper's 2e-4 / 1e-3 and 1 need about a thousand updates).
    """
    x = kzoo.data.load("mnist-5k")[0][:256]
    model = InfoGAN(width=4, seed=1, learning_rate=2e-3, g_learning_rate=2e-3, info_weight=5.0)
    model.compile()
    model.fit(x, batch_size=16, epochs=8, verbose=0, shuffle=False)
    rng = np.random.default_rng(5)
    categories = rng.integers(0, 10, 300)
    codes = model.latent_vector(rng.standard_normal((300, model.latent_dim)), categories,
                                rng.uniform(-1, 1, (300, model.continuous_codes)))
    images = model.generator(codes, training=True)
    _, q_outputs = model.discriminator(images, training=True)
    accuracy = float(np.mean(np.argmax(numpy(q_outputs)[:, :10], axis=-1) == categories))
    assert accuracy > 0.2, accuracy


def test_infogan_draws_codes_and_lays_them_out():
    model = InfoGAN(width=2, seed=0)
    latents = model.draw_latents(64)
    categories = numpy(latents["category"])
    assert set(categories.tolist()) <= set(range(10)) and len(set(categories.tolist())) > 5
    continuous = numpy(latents["continuous"])
    assert continuous.shape == (64, 2) and -1 <= continuous.min() and continuous.max() <= 1
    inputs = numpy(model.generator_inputs(latents, None))
    assert inputs.shape == (64, 62 + 12)
    np.testing.assert_array_equal(np.argmax(inputs[:, 62:72], axis=1), categories)
    images, per_row = model.code_grid("continuous:0", columns=5, seed=0)
    assert images.shape == (50, 28, 28, 1) and per_row == 5
    # Along a row only continuous code 0 moves: the first and last images of a row differ.
    assert not np.allclose(images[0], images[4])


def test_relativistic_generator_loss_sees_the_real_batch():
    """With the same fakes, weights and seed state, RaGAN's generator loss changes with the real
    batch alone, to the relativistic formula of the logits; the standard loss does not change."""
    model = RaGAN(width=2, seed=0)
    latents = {"noise": np.random.default_rng(0).standard_normal((4, model.latent_dim)).astype("float32")}
    x = kzoo.data.load("mnist-5k")[0]
    fake_logits = numpy(model.discriminator(model.generate_fakes(latents, None), training=True))

    def sigmoid_cross_entropy(targets, logits):
        return np.mean(softplus(logits) - targets * logits)

    relativistic, standard = [], []
    for real in (x[0:4], x[4000:4004]):
        step = Step(real=real, labels=None, latents=latents)
        relativistic.append(float(numpy(model.generator_objective(step))))
        standard.append(float(numpy(kzoo.AdversarialModel.generator_objective(model, step))))
        real_logits = numpy(model.discriminator(real, training=True))
        expected = (sigmoid_cross_entropy(0.0, real_logits - fake_logits.mean())
                    + sigmoid_cross_entropy(1.0, fake_logits - real_logits.mean()))
        np.testing.assert_allclose(relativistic[-1], expected, rtol=1e-5)
    assert abs(relativistic[0] - relativistic[1]) > 1e-4, relativistic
    assert standard[0] == standard[1], standard


def test_acgan_classifies_and_conditions_on_labels(tiny_mnist):
    x, y = tiny_mnist
    model = ACGAN(width=2, seed=0)
    model.compile()
    with pytest.raises(ValueError, match="conditional"):
        model.fit(x[:8], batch_size=8, verbose=0)
    model.fit(x[:16], y[:16], batch_size=8, verbose=0)
    assert model.classify(x[:5]).shape == (5,)
    noise = np.zeros((2, model.latent_dim), "float32")
    assert not np.allclose(model.generate(noise, [1, 1]), model.generate(noise, [7, 7]))


class TanhDiscriminatorDCGAN(DCGAN):
    """DCGAN with a discriminator whose input gradient has a closed form: v . tanh(K x + c) + b."""

    def build_discriminator(self):
        images = keras.Input(self.image_shape)
        hidden = keras.layers.Dense(3, activation="tanh", name="hidden")(keras.layers.Flatten()(images))
        return keras.Model(images, keras.layers.Dense(1, name="logits")(hidden), name="discriminator")


def test_r1_penalty_matches_the_closed_form_and_is_reported():
    """R1 = E ||grad_x D(x)||^2 over the real batch, against the gradient of a one-layer tanh
    discriminator worked by hand: K (v * (1 - tanh(K x + c)^2)) for each image. Then one step:
    the logged penalty is that value, and the logged loss is non-saturating + (gamma / 2) R1.

    The weights are drawn from N(0, 0.6), so that tanh works off its linear part (where the
    gradient would be the same for every image).
    """
    model = TanhDiscriminatorDCGAN(image_shape=(4, 4, 1), width=2, seed=0, r1_gamma=10.0)
    rng = np.random.default_rng(0)
    for v in model.discriminator.trainable_variables:
        v.assign(rng.normal(0.0, 0.6, v.shape).astype("float32"))
    real = rng.uniform(-1, 1, (4, 4, 4, 1)).astype("float32")
    hidden, logits = model.discriminator.get_layer("hidden"), model.discriminator.get_layer("logits")
    kernel, bias, v = numpy(hidden.kernel), numpy(hidden.bias), numpy(logits.kernel)[:, 0]
    activations = np.tanh(real.reshape(len(real), -1) @ kernel + bias)
    grads = (v * (1.0 - activations**2)) @ kernel.T  # one row per image
    r1 = np.mean(np.sum(grads**2, axis=1))
    assert np.abs(activations).max() > 0.9, activations  # off tanh's linear part
    np.testing.assert_allclose(float(numpy(model.r1_penalty(real))), r1, rtol=1e-5)

    step = FirstStep(model, real)
    model.compile(run_eagerly=True)
    history = model.fit(real, batch_size=len(real), verbose=0).history
    np.testing.assert_allclose(history["r1_penalty"][0], r1, rtol=1e-5)
    non_saturating = np.mean(softplus(-step.real_logits)) + np.mean(softplus(step.fake_logits))
    np.testing.assert_allclose(history["d_loss"][0], non_saturating + 0.5 * 10.0 * r1, rtol=1e-5)
    assert "r1_penalty" not in {m.name for m in DCGAN(width=2).metrics}  # off by default


# ------------------------------------------------------------------ generator weight averaging
def test_averaged_generator_follows_the_formula_and_copies_statistics(tiny_mnist):
    x, _ = tiny_mnist
    decay = 0.9
    model = DCGAN(width=2, seed=0, ema_decay=decay)
    model.compile()
    # At creation the average is the generator itself.
    for a, w in zip(model.averaged_generator.weights, model.generator.weights):
        np.testing.assert_array_equal(a.numpy(), w.numpy())
    assert model.averaged_generator.trainable_variables == []
    initial = [np.array(w.numpy()) for w in model.generator.weights]

    model.fit(x[:8], batch_size=8, verbose=0)
    # After one generator update (t = 1) the warmed-up decay is min(0.9, 2/11).
    d = min(decay, 2 / 11)
    averaged, raw = model.averaged_generator, model.generator
    for a, w, w0 in zip(averaged.weights, raw.weights, initial):
        if w.trainable:
            np.testing.assert_allclose(a.numpy(), d * w0 + (1 - d) * w.numpy(), rtol=1e-5, atol=1e-7)
        else:  # batch-normalization statistics are copied, not averaged
            np.testing.assert_array_equal(a.numpy(), w.numpy())


def test_sampling_uses_the_average_unless_asked_for_the_raw_generator(tiny_mnist, tmp_path):
    x, _ = tiny_mnist
    model = DCGAN(width=2, seed=0, ema_decay=0.5)
    model.compile()
    model.fit(x[:16], batch_size=8, epochs=2, verbose=0)
    noise = np.random.default_rng(0).standard_normal((3, model.latent_dim)).astype("float32")
    averaged = model.averaged_generator(noise, training=False)
    np.testing.assert_allclose(model.generate(noise), numpy(averaged), atol=1e-6)
    np.testing.assert_allclose(model.generate(noise, raw=True), numpy(model.generator(noise, training=False)),
                               atol=1e-6)
    assert not np.allclose(model.sample(3, seed=2), model.sample(3, seed=2, raw=True))
    model.save(tmp_path / "ema.keras")
    restored = kzoo.load_model(tmp_path / "ema.keras")
    np.testing.assert_allclose(restored.sample(3, seed=2), model.sample(3, seed=2), atol=1e-6)
    np.testing.assert_allclose(restored.sample(3, seed=2, raw=True), model.sample(3, seed=2, raw=True), atol=1e-6)
