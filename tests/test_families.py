"""What each GAN family of the players issue does, on whichever backend KERAS_BACKEND selects.

Training itself (finite losses, every weight and optimizer moving) is in test_training.py; here:
WGAN-GP's penalty against finite differences, InfoGAN's Q recovering its codes, the relativistic
generator seeing the real batch, ACGAN's classes, R1, and the averaged generator.
"""

import keras
import numpy as np
import pytest
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
    model = RaGAN(width=2, seed=0)
    latents = {"noise": np.random.default_rng(0).standard_normal((4, model.latent_dim)).astype("float32")}
    x = kzoo.data.load("mnist-5k")[0]
    losses = [float(numpy(model.generator_objective(Step(real=x[i : i + 4], labels=None, latents=latents))))
              for i in (0, 4000)]
    assert losses[0] != losses[1]
    # The standard generator loss would not change with the real batch.
    fake_logits = model.discriminator(model.generate(latents["noise"]), training=False)
    assert np.isfinite(float(numpy(model.generator_loss(fake_logits))))


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


def test_r1_penalty_is_reported_and_trains(tiny_mnist):
    x, _ = tiny_mnist
    model = DCGAN(width=2, seed=0, r1_gamma=10.0)
    model.compile()
    history = model.fit(x[:16], batch_size=8, verbose=0)
    assert np.isfinite(history.history["r1_penalty"][0]) and history.history["r1_penalty"][0] > 0
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
