"""The stabilizers every GAN can turn on (kzoo/stabilizers.py, kzoo.layers.MinibatchStdDev), on the
backend KERAS_BACKEND selects: each does what it says, is seeded by the model's seed generator,
and reaches the discriminator in both players' losses."""

import keras
import numpy as np
import pytest
from keras import ops

import kzoo
from kzoo import backend, stabilizers
from kzoo.errors import HyperparameterError
from kzoo.layers import MinibatchStdDev
from kzoo.models import DCGAN


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_translation_moves_each_image_by_whole_pixels_and_fills_with_zeros():
    x = np.zeros((16, 8, 8, 1), "float32")
    x[:, 3, 4, 0] = 1.0  # one bright pixel per image
    out = numpy(stabilizers.diff_augment(x, "translation", keras.random.SeedGenerator(1), translation=0.25))
    shifts = set()
    for image in out[..., 0]:
        assert set(np.unique(image)) <= {0.0, 1.0} and image.sum() == 1.0  # moved, not blurred or lost
        (row,), (col,) = np.nonzero(image)
        assert abs(row - 3) <= 2 and abs(col - 4) <= 2  # at most 0.25 of the side
        shifts.add((row - 3, col - 4))
    assert len(shifts) > 3  # each image draws its own shift


def test_cutout_zeroes_one_square_per_image():
    x = np.ones((8, 8, 8, 1), "float32")
    out = numpy(stabilizers.diff_augment(x, "cutout", keras.random.SeedGenerator(2), cutout=0.5))
    for image in out[..., 0]:
        rows, cols = np.nonzero(image == 0)
        assert 0 < len(rows) <= 16
        # The zeros fill their bounding box (a square clipped by the border), and nothing else changed.
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert rows.max() - rows.min() < 4 and cols.max() - cols.min() < 4
        assert np.all(image[image != 0] == 1)


def test_colour_scales_contrast_and_shifts_brightness_per_image():
    x = np.random.default_rng(0).uniform(-1, 1, (6, 4, 4, 1)).astype("float32")
    out = numpy(stabilizers.diff_augment(x, "color", keras.random.SeedGenerator(3)))
    centred_in = x - x.mean(axis=(1, 2, 3), keepdims=True)
    centred_out = out - out.mean(axis=(1, 2, 3), keepdims=True)
    ratios = (centred_out / centred_in).reshape(6, -1)
    # One channel: saturation is the identity; contrast multiplies the centred image by U(0.5, 1.5).
    np.testing.assert_allclose(ratios, ratios[:, :1] * np.ones_like(ratios), rtol=1e-3)
    assert np.all((0.5 <= ratios[:, 0]) & (ratios[:, 0] <= 1.5)) and len(set(np.round(ratios[:, 0], 4))) == 6


def test_augmentation_is_differentiable_through_the_same_draw():
    """Translation and cutout are linear maps T of the image: the input gradient of sum(T(x) * p)
    is T's transpose applied to p, so sum(T(x) * p) == sum(x * gradient) for the same draw; for
    cutout alone the gradient is p outside the hole and 0 inside."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 8, 1)).astype("float32")
    probe = rng.standard_normal(x.shape).astype("float32")
    for policy in ("translation,cutout", "cutout"):
        value = np.sum(numpy(stabilizers.diff_augment(x, policy, keras.random.SeedGenerator(4))) * probe)
        same_draw = keras.random.SeedGenerator(4)
        grad = numpy(backend.input_gradient(
            lambda t: ops.sum(stabilizers.diff_augment(t, policy, same_draw) * ops.convert_to_tensor(probe)), x))
        assert np.abs(grad).sum() > 0
        assert np.sum(x * grad) == pytest.approx(value, rel=1e-4)
    kept = numpy(stabilizers.diff_augment(np.ones_like(x), "cutout", keras.random.SeedGenerator(4))) != 0
    np.testing.assert_allclose(grad, probe * kept, rtol=1e-6)


def test_instance_noise_anneals_to_zero():
    assert float(numpy(stabilizers.annealed(0.5, 0, 100))) == 0.5
    assert float(numpy(stabilizers.annealed(0.5, 50, 100))) == pytest.approx(0.25)
    assert float(numpy(stabilizers.annealed(0.5, 150, 100))) == 0.0
    model = DCGAN(width=2, seed=0, instance_noise=0.3, instance_noise_steps=10)
    model.compile()
    x = np.zeros((64, 28, 28, 1), "float32")
    noise = numpy(model.discriminator_view(x))
    assert noise.std() == pytest.approx(0.3, rel=0.05)
    model.g_optimizer.iterations.assign(10)
    np.testing.assert_array_equal(numpy(model.discriminator_view(x)), x)


def test_packing_puts_consecutive_samples_side_by_side():
    x = np.arange(4 * 2 * 2 * 1, dtype="float32").reshape(4, 2, 2, 1)
    packed = numpy(stabilizers.pack(x, 2))
    assert packed.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(packed[1, ..., 0], x[2, ..., 0])
    np.testing.assert_array_equal(packed[1, ..., 1], x[3, ..., 0])
    with pytest.raises(ValueError, match="divisible by 2"):
        stabilizers.pack(x[:3], 2)


def test_a_packing_model_judges_pairs(tiny_mnist):
    x, _ = tiny_mnist
    model = kzoo.create_model("dcgan", width=2, pack=2, seed=0)
    assert model.discriminator.inputs[0].shape[-1] == 2
    assert numpy(model.discriminate(x[:8])).shape == (4, 1)
    history = model.fit(x[:16], batch_size=8, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


def test_one_sided_label_smoothing():
    model = DCGAN(width=2, label_smoothing=0.2)
    real, fake = np.full((3, 1), 2.0, "float32"), np.full((3, 1), -1.0, "float32")
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    target = 0.8  # only the real images' targets move; fakes keep 0
    expected = (-(target * np.log(sigmoid(2.0)) + (1 - target) * np.log(1 - sigmoid(2.0)))
                - np.log(1 - sigmoid(-1.0)))
    assert float(numpy(model.discriminator_loss(real, fake))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("shape", [(8, 3, 3, 2), (8, 5)])
def test_minibatch_standard_deviation_matches_numpy(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    out = numpy(MinibatchStdDev(4, data_format="channels_last")(x))
    groups = x.reshape(4, 2, *shape[1:])  # samples i, i + 2, i + 4, i + 6 form group i
    per_group = np.sqrt(groups.var(axis=0) + 1e-8).reshape(2, -1).mean(axis=1)
    expected_extra = np.tile(per_group, 4)
    assert out.shape == shape[:-1] + (shape[-1] + 1,)
    np.testing.assert_allclose(out[..., :-1], x, rtol=1e-6)
    extra = out[..., -1].reshape(8, -1)  # one value per sample, constant over the image
    np.testing.assert_allclose(extra, np.broadcast_to(expected_extra[:, None], extra.shape), rtol=1e-4)


def test_the_minibatch_feature_is_in_every_built_in_discriminator_that_asks():
    for name in ("gan", "cgan", "dcgan", "wgan-gp", "sngan", "acgan", "infogan"):
        model = kzoo.create_model(name, width=2, minibatch_std=4)
        assert any(isinstance(layer, MinibatchStdDev) for layer in model.discriminator.layers), name


def test_options_that_cannot_apply_are_refused_in_one_line():
    with pytest.raises(HyperparameterError, match="pack must be 1"):
        kzoo.create_model("cgan", width=4, pack=2)
    with pytest.raises(HyperparameterError, match="label_smoothing applies to the non-saturating loss"):
        kzoo.create_model("lsgan", width=2, label_smoothing=0.1)
    with pytest.raises(HyperparameterError, match="g_top_k acts in compute_generator_loss"):
        kzoo.create_model("ragan", width=2, g_top_k=0.5)
    with pytest.raises(HyperparameterError, match="minibatch_std must be 0"):
        kzoo.create_model("dcgan", width=2, minibatch_std=1)
    with pytest.raises(HyperparameterError, match="augment must be comma-separated names from color"):
        kzoo.create_model("dcgan", width=2, augment="rotate")

    class OwnDiscriminator(DCGAN):
        def build_discriminator(self):  # ignores discriminator_image_shape and minibatch_std
            from kzoo.models import blocks

            return blocks.conv_discriminator(self.image_shape, self.width)

    with pytest.raises(HyperparameterError, match="pack=2 needs a discriminator of 2 input channels"):
        OwnDiscriminator(width=2, pack=2)
    with pytest.raises(HyperparameterError, match="no kzoo.layers.MinibatchStdDev layer"):
        OwnDiscriminator(width=2, minibatch_std=2)


def test_stabilizers_draw_from_the_model_seed_and_reach_both_players(tiny_mnist):
    """Augmentation and instance noise draw per discriminator call: 2 calls in the discriminator's
    update (real, fake) and 1 in the generator's, each drawing translation (2), cutout (2) and
    noise (1) on top of the step's own noise draws; two models with one seed see the same."""
    x, _ = tiny_mnist
    options = dict(width=2, augment="translation,cutout", instance_noise=0.1)
    models = [DCGAN(seed=7, **options) for _ in range(2)]
    for model in models:
        model.compile()
        seed0 = numpy(model.seed_generator.state)
        model.fit(x[:8], batch_size=8, verbose=0)
        assert (numpy(model.seed_generator.state) - seed0).tolist() == [0, 2 + 3 * 5]
    views = [numpy(m.discriminator_view(x[:4])) for m in models]
    np.testing.assert_array_equal(views[0], views[1])
    assert not np.array_equal(views[0], numpy(models[0].discriminator_view(x[:4])))


def test_top_k_training_follows_only_the_best_scored_fakes():
    logits = np.array([[3.0], [1.0], [2.0], [0.0]], "float32")
    grad = numpy(backend.input_gradient(
        lambda t: ops.sum(stabilizers.top_k_gradients(t, 0.5) * 2.0), logits))
    np.testing.assert_array_equal(grad.ravel(), [2.0, 0.0, 2.0, 0.0])  # the two highest only
    np.testing.assert_array_equal(numpy(stabilizers.top_k_gradients(logits, 0.5)), logits)  # same values
    assert float(numpy(stabilizers.annealed_share(0.5, 0, 100))) == 1.0
    assert float(numpy(stabilizers.annealed_share(0.5, 50, 100))) == pytest.approx(0.75)
    assert float(numpy(stabilizers.annealed_share(0.5, 500, 100))) == 0.5
    model = DCGAN(width=2, seed=0, g_top_k=0.5, g_top_k_steps=10)
    model.compile()
    model.g_optimizer.iterations.assign(10)
    assert float(numpy(model.top_k_share())) == 0.5
