"""The shared adversarial train_step, on whichever backend KERAS_BACKEND selects (one tox env each)."""

import keras
import numpy as np
import pytest
from conftest import BUILTIN_GANS, TINY, FirstStep, softplus
from keras import ops

import kzoo
from kzoo.errors import HyperparameterError
from kzoo.models import DCGAN, SNGAN, WGAN, WGANGP, InfoGAN, RaGAN

BATCH = 8


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(1)


def snapshot(variables):
    return [np.array(v.numpy(), copy=True) for v in variables]


def changed(before, variables):
    """Names of the variables whose value differs from the snapshot."""
    return [v.path for b, v in zip(before, variables) if not np.array_equal(b, v.numpy())]


def seed_draws_per_step(model):
    """Random draws from the model's seed generator per training step.

    One noise tensor per update; WGAN-GP also draws its interpolation weights for each critic
    update; InfoGAN draws noise, a category and continuous codes for each update.
    """
    updates = model.d_steps + 1
    if isinstance(model, WGANGP):
        return updates + model.d_steps
    if isinstance(model, InfoGAN):
        return 3 * updates
    return updates


def train_and_check(model, x, y, steps=2, epochs=1, **compile_kwargs):
    """Train `steps` x `epochs` batches and check that everything that must move, moved."""
    model.compile(**compile_kwargs)
    g_vars = model.generator.trainable_variables
    d_vars = model.discriminator.trainable_variables
    g0, d0 = snapshot(g_vars), snapshot(d_vars)
    opt0 = snapshot(model.d_optimizer.variables + model.g_optimizer.variables)
    seed0 = np.array(model.seed_generator.state.numpy(), copy=True)

    history = model.fit(x[: steps * BATCH], y[: steps * BATCH] if model.conditional else None,
                        batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False)

    total = steps * epochs
    assert set(history.history) == {m.name for m in model.metrics} >= {"d_loss", "g_loss"}
    for key, values in history.history.items():
        assert len(values) == epochs
        assert np.all(np.isfinite(values)), history.history
    # Every weight of both players moved.
    assert changed(g0, g_vars) == [v.path for v in g_vars]
    # Losses linear in the logits (Wasserstein; hinge while every logit is inside the margin,
    # as at initialization) give the output bias a gradient of exactly zero: E[1] - E[1].
    linear = isinstance(model, (WGAN, WGANGP, HingeDCGAN, SNGAN))
    # RaGAN judges each logit against the other side's mean: the bias cancels exactly, and whether
    # it moves is float round-off (it moves on some backends and paths, not on others).
    cancels = isinstance(model, RaGAN)
    moved = [path for path in changed(d0, d_vars) if not (cancels and path.endswith("logits/bias"))]
    assert moved == [v.path for v in d_vars if not ((linear or cancels) and v.path.endswith("logits/bias"))]
    # Both optimizers stepped: d_steps discriminator updates per generator update.
    assert int(model.d_optimizer.iterations.numpy()) == total * model.d_steps
    assert int(model.g_optimizer.iterations.numpy()) == total
    assert int(model.optimizer.iterations.numpy()) == total
    slots_changed = changed(opt0, model.d_optimizer.variables + model.g_optimizer.variables)
    assert len(slots_changed) > 2, "optimizer slots (moments) did not move"
    # The noise seed advanced once per draw, so noise (and codes) differ between updates.
    advance = np.asarray(model.seed_generator.state.numpy()) - seed0
    assert advance.tolist() == [0, total * seed_draws_per_step(model)]
    return history


@pytest.mark.parametrize("name", BUILTIN_GANS)
def test_each_builtin_trains(name, tiny_mnist):
    x, y = tiny_mnist
    model = kzoo.create_model(name, seed=3, **TINY[name])
    batch_norm = [v for v in model.non_trainable_variables if "moving_" in v.path]
    bn0 = snapshot(batch_norm)
    train_and_check(model, x, y)
    if name in ("dcgan", "wgan", "lsgan", "infogan", "acgan", "ragan"):
        assert batch_norm, "DCGAN-style models use batch normalization"
        assert changed(bn0, batch_norm) == [v.path for v in batch_norm]


# Images alone, and images with labels (run eagerly on JAX, a batch of numpy images beside labels
# once failed). cgan's compiled step is the default one on JAX and TensorFlow, tested everywhere;
# torch.compile takes about a minute per model here, so it compiles dcgan only.
@pytest.mark.parametrize("name, mode", [("dcgan", "eager"), ("dcgan", "graph"), ("dcgan", "compiled"),
                                        ("cgan", "eager"), ("cgan", "graph")])
def test_eager_and_compiled_steps(name, mode, tiny_mnist):
    """The same step runs eagerly, traced, and compiled on every backend.

    "compiled" is jit_compile=True: XLA on TensorFlow and JAX, torch.compile on torch (slow to
    compile on a CPU, so not kzoo's default there: Keras's "auto" leaves torch eager).
    """
    x, y = tiny_mnist
    kwargs = {"eager": {"run_eagerly": True}, "graph": {"jit_compile": False}, "compiled": {"jit_compile": True}}
    model = kzoo.registry.load_model_class(name)(**TINY[name], seed=1)
    train_and_check(model, x, y, **kwargs[mode])


def test_two_epochs_accumulate_counts(tiny_mnist):
    x, y = tiny_mnist
    model = kzoo.create_model("wgan", **TINY["wgan"], d_steps=3)
    train_and_check(model, x, y, steps=2, epochs=2)


def test_wgan_clips_critic_weights(tiny_mnist):
    x, _ = tiny_mnist
    model = kzoo.create_model("wgan", width=2, clip_value=0.005)
    model.compile()
    model.fit(x[:16], batch_size=8, epochs=1, verbose=0)
    for v in model.discriminator.trainable_variables:
        assert float(np.abs(v.numpy()).max()) <= 0.005 + 1e-7, v.path


class HingeDCGAN(DCGAN):
    """A third-party variant: it overrides only the two public loss hooks."""

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)


def test_subclass_overriding_only_loss_hooks_trains(tiny_mnist):
    """The step trains a subclass through its two loss hooks: on one batch, the logged losses are
    the hinge formulas of the discriminator's logits for the same real images and the same fakes.

    At initialization every logit is near 0, where the hinge losses are about 2 (D) and 0 (G)
    and the default non-saturating ones about 1.39 and 0.69.
    """
    x, y = tiny_mnist
    model = HingeDCGAN(width=2, seed=3)
    real = x[:BATCH]
    step = FirstStep(model, real)
    history = train_and_check(model, real, y, steps=1, run_eagerly=True).history
    d_hinge = np.mean(np.maximum(0.0, 1.0 - step.real_logits)) + np.mean(np.maximum(0.0, 1.0 + step.fake_logits))
    np.testing.assert_allclose(history["d_loss"][0], d_hinge, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history["g_loss"][0], -np.mean(step.generator_logits()), rtol=1e-5, atol=1e-6)


def test_conditional_model_needs_labels(tiny_mnist):
    x, _ = tiny_mnist
    model = kzoo.create_model("cgan", width=4)
    with pytest.raises(ValueError, match="conditional"):
        model.fit(x[:8], batch_size=8, verbose=0)


def test_conditional_generation_follows_labels(tiny_mnist):
    """CGAN conditions every fake on its own row's label, in `generate` and in the training step.

    `generate`: each image is the one its label makes alone, and moves when its label changes.
    The step: the logged losses are the non-saturating formulas of the networks' outputs for the
    batch's labels, and measurably not those for other labels.

    The label embeddings are scaled up (from U(-0.05, 0.05)), so that a label moves the outputs
    well beyond round-off; no dropout, so that the discriminator's logits are reproducible.
    For the step, the generator's weights on its noise are then zeroed: its fakes depend on their
    labels alone, so they are known without reproducing the step's noise (TensorFlow draws other
    numbers under XLA than eagerly), and the step runs compiled, as `fit` runs by default.
    """
    x, y = tiny_mnist
    model = kzoo.create_model("cgan", width=4, seed=0, dropout=0.0, ema_decay=0.0)
    rng = np.random.default_rng(0)
    for network in (model.generator, model.discriminator):
        embeddings = network.get_layer("label_embedding").embeddings
        embeddings.assign(rng.normal(0.0, 3.0, embeddings.shape).astype("float32"))

    noise = rng.standard_normal((4, model.latent_dim)).astype("float32")
    images = model.generate(noise, labels=[1, 7, 7, 3])
    for i, label in enumerate([1, 7, 7, 3]):
        np.testing.assert_allclose(images[i], model.generate(noise[i : i + 1], labels=[label])[0], atol=1e-6)
    swapped = model.generate(noise, labels=[7, 1, 3, 7])
    assert np.abs(images - swapped).max(axis=(1, 2, 3)).min() > 0.05  # each image moves with its label

    first_dense = next(layer for layer in model.generator.layers if isinstance(layer, keras.layers.Dense))
    kernel = np.array(first_dense.kernel.numpy())
    kernel[: model.latent_dim] = 0.0
    first_dense.kernel.assign(kernel)
    real, labels = x[:BATCH], y[:BATCH]

    def bce_losses(step):
        return (np.mean(softplus(-step.real_logits)) + np.mean(softplus(step.fake_logits)),
                np.mean(softplus(-step.generator_logits())))

    step, other = FirstStep(model, real, labels), FirstStep(model, real, (labels + 1) % 10)
    history = train_and_check(model, real, labels, steps=1).history
    (d_loss, g_loss), (d_other, g_other) = bce_losses(step), bce_losses(other)
    np.testing.assert_allclose([history["d_loss"][0], history["g_loss"][0]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    assert abs(d_other - d_loss) > 1e-3 and abs(g_other - g_loss) > 1e-3, "the labels barely matter"


def test_every_installed_model_has_tiny_sizes():
    """conftest.TINY sizes every model kzoo lists, built-in and from plugins, in its own hyperparameters."""
    from kzoo import registry

    names = kzoo.list_models()
    assert set(names) <= set(TINY), sorted(set(names) - set(TINY))
    for name in names:
        assert set(TINY[name]) <= set(registry.load_model_class(name).default_hyperparameters()), name


def test_hyperparameters_are_checked():
    with pytest.raises(HyperparameterError, match="no hyperparameter 'widht'"):
        DCGAN(widht=3)
    with pytest.raises(HyperparameterError, match="multiples of 4"):
        DCGAN(image_shape=(30, 30, 1), width=2)
    with pytest.raises(HyperparameterError, match="1 or 3 channels"):
        DCGAN(image_shape=(28, 28, 2), width=2)


def test_rgb_images_of_another_size(tmp_path):
    model = DCGAN(image_shape=(16, 24, 3), width=2)
    model.compile()
    x = np.random.default_rng(0).uniform(-1, 1, (16, 16, 24, 3)).astype("float32")
    history = model.fit(x, batch_size=8, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert model.sample(3, seed=0).shape == (3, 16, 24, 3)


def test_sample_is_deterministic_and_in_range():
    model = kzoo.create_model("dcgan", width=2)
    a, b = model.sample(5, seed=7), model.sample(5, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -1.0 and a.max() <= 1.0
    assert not np.array_equal(a, model.sample(5, seed=8))


def test_save_and_resume_on_same_backend(tmp_path, tiny_mnist):
    x, y = tiny_mnist
    model = kzoo.create_model("dcgan", width=2, seed=5)
    model.compile()
    model.fit(x[:16], batch_size=8, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    restored = kzoo.load_model(path)
    assert type(restored) is DCGAN and restored.hyperparameter_values == model.hyperparameter_values
    np.testing.assert_allclose(restored.sample(4, seed=1), model.sample(4, seed=1), atol=1e-6)
    for a, b in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(model.seed_generator.state.numpy(), restored.seed_generator.state.numpy())
    # Training resumes where it stopped: counters continue, nothing restarts from zero.
    restored.fit(x[:16], batch_size=8, verbose=0)
    assert int(restored.g_optimizer.iterations.numpy()) == 4
    assert int(restored.d_optimizer.iterations.numpy()) == 4


def test_saved_subclass_reloads(tmp_path, tiny_mnist):
    x, _ = tiny_mnist
    model = HingeDCGAN(width=2)
    model.compile()
    model.fit(x[:8], batch_size=8, verbose=0)
    model.save(tmp_path / "h.keras")
    restored = kzoo.load_model(tmp_path / "h.keras")
    assert type(restored) is HingeDCGAN
    np.testing.assert_allclose(restored.sample(2), model.sample(2), atol=1e-6)


def test_a_checkpoint_of_kzoo_0_1_loads_and_resumes(tiny_mnist):
    """tests/data/dcgan-kzoo-0.1.0.keras: a width-2 DCGAN saved by kzoo 0.1.0 (before the players
    step) on JAX after 2 steps, with `model.sample(4, seed=1)` beside it. Run directories of
    earlier versions keep working: same images, optimizer state and counts, training resumes."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    model = kzoo.load_model(data / "dcgan-kzoo-0.1.0.keras")
    assert type(model) is DCGAN and model.width == 2 and model.averaged_generator is None
    np.testing.assert_allclose(model.sample(4, seed=1), np.load(data / "dcgan-kzoo-0.1.0-samples.npy"), atol=1e-4)
    assert int(model.d_optimizer.iterations.numpy()) == 2 and int(model.g_optimizer.iterations.numpy()) == 2
    assert any(np.abs(np.asarray(v.numpy())).max() > 0 for v in model.g_optimizer.variables[2:])  # moments kept
    model.fit(tiny_mnist[0][:8], batch_size=8, verbose=0)
    assert int(model.g_optimizer.iterations.numpy()) == 3
