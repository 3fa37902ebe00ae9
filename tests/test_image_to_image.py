"""Autoencoders and image-to-image models on the players' step, on the backend of the tox environment.

Tiny networks (width 2-4) and two steps of batch 8: these tests check behaviour (every player
learns, the image pool keeps its promise, metrics give known answers), never quality.
"""

import json

import keras
import numpy as np
import pytest
from conftest import TINY, TINY_TRAIN, assert_one_line_error, backend_name, kzoo_cli
from PIL import Image

import kzoo
from kzoo import evaluation, images, registry, tasks, training
from kzoo.errors import DatasetError, KzooError
from kzoo.image_pool import ImagePool
from kzoo.metrics import evaluator
from kzoo.metrics import translation as metrics

BATCH = 8
IMAGE_MODELS = ("aae", "context-encoder", "cyclegan", "pix2pix", "vae")
TASK = {"pix2pix": tasks.EDGES, "context-encoder": tasks.MASKED, "cyclegan": tasks.THICK}


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(1)


def training_arrays(name, count=2 * BATCH):
    """What `kzoo train` would feed the model, first rows only."""
    if name in TASK:
        a, b = training.training_data(registry.load_model_class(name), TASK[name])
        return a[:count], b[:count]
    x, _ = kzoo.data.load("mnist-5k:train")
    return x[np.random.default_rng(0).permutation(len(x))[:count]], None


def snapshot(variables):
    return [np.array(v.numpy(), copy=True) for v in variables]


def unchanged(before, variables):
    return [v.path for b, v in zip(before, variables) if np.array_equal(b, v.numpy())]


class Trained:
    """A tiny model after two training steps, with what it was before."""

    def __init__(self, name):
        self.model = kzoo.create_model(name, seed=3, **TINY[name])
        self.players = self.model.players()
        self.weights = {p.name: self.model.player_variables(p) for p in self.players}
        self.before = {key: snapshot(v) for key, v in self.weights.items()}
        self.slot_variables = [v for opt in self.model.optimizers.values() for v in opt.variables]
        self.slots = snapshot(self.slot_variables)
        self.x, self.y = training_arrays(name)
        fitted = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        self.history = fitted.history


@pytest.fixture(scope="module")
def trained():
    """trained(name): each model trained once per module (compiling is most of a tiny run's time)."""
    cache = {}

    def get(name):
        if name not in cache:
            keras.utils.set_random_seed(1)
            cache[name] = Trained(name)
        return cache[name]

    return get


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_each_model_trains_every_player(name, trained):
    run = trained(name)
    model, players, history = run.model, run.players, run.history
    expected = {f"{p.name}_loss" for p in players} | {r for p in players for r in p.reports}
    assert set(history) == expected
    assert all(np.isfinite(v[0]) for v in history.values()), history
    for player in players:
        assert unchanged(run.before[player.name], run.weights[player.name]) == [], player.name
        assert int(model.optimizers[player.optimizer_key].iterations.numpy()) == 2 * player.steps
    assert int(model.optimizer.iterations.numpy()) == 2
    assert len(model.optimizers) == len({p.optimizer_key for p in players})
    still = unchanged(run.slots, run.slot_variables)
    assert len(still) < len(run.slots) // 2, "the optimizers' moments did not move"


def test_cyclegan_groups_two_generators_and_two_discriminators(trained):
    model = trained("cyclegan").model
    g, d = model.players()
    assert (g.networks, g.optimizer_key) == (("generator_ab", "generator_ba"), "generators")
    assert (d.networks, d.optimizer_key) == (("discriminator_a", "discriminator_b"), "discriminators")
    assert set(model.optimizers) == {"generators", "discriminators"}


def test_cyclegan_pool_is_state_the_compiled_step_updates(trained):
    model = trained("cyclegan").model
    assert {v.path for v in model.pool_a.weights} <= {v.path for v in model.non_trainable_variables}
    for pool in (model.pool_a, model.pool_b):  # 2 batches of 8 fakes, a pool of 6
        assert int(pool.count.numpy()) == 6
        stored = np.asarray(pool.images.numpy())
        assert np.all(stored.reshape(6, -1).std(axis=1) > 0), "every slot holds a generated image"


def test_instance_normalization_and_reflection_padding_are_what_they_say():
    from kzoo.models.image_blocks import ReflectionPadding2D, instance_normalization

    x = np.random.default_rng(0).normal(3.0, 2.0, (2, 5, 6, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(instance_normalization(-1)(x))
    mean, std = x.mean(axis=(1, 2), keepdims=True), x.std(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(std**2 + 1e-5), atol=1e-4)  # per image and channel
    padded = keras.ops.convert_to_numpy(ReflectionPadding2D(2, data_format="channels_last")(x))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))
    first = keras.ops.convert_to_numpy(
        ReflectionPadding2D(((1, 0), (0, 2)), data_format="channels_first")(np.transpose(x, (0, 3, 1, 2)))
    )
    np.testing.assert_array_equal(first, np.pad(np.transpose(x, (0, 3, 1, 2)), ((0, 0), (0, 0), (1, 0), (0, 2)),
                                                mode="reflect"))


# --------------------------------------------------------------------------- the image pool
def marked(values):
    """Images (n, 2, 2, 1) whose every pixel is their mark: images tell where they came from."""
    return np.broadcast_to(np.asarray(values, "float32")[:, None, None, None], (len(values), 2, 2, 1)).copy()


def marks(images):
    return [float(v) for v in np.asarray(images)[:, 0, 0, 0]]


def test_image_pool_fills_then_swaps_with_the_promised_probability():
    size, batch, rounds = 6, 4, 60
    pool = ImagePool(size, swap_probability=0.5)
    pool.build((2, 2, 1))
    seed = keras.random.SeedGenerator(7)
    # Filling: images come back as they are and take the free slots in order.
    first = marks(pool.query(marked([1, 2, 3, 4]), seed))
    assert first == [1, 2, 3, 4] and int(pool.count.numpy()) == 4
    assert marks(pool.query(marked([5, 6, 7, 8]), seed)) == [5, 6, 7, 8]  # 7, 8 do not fit: returned as is
    assert sorted(marks(pool.images.numpy())) == [1, 2, 3, 4, 5, 6]

    swapped, mark = 0, 100
    for _ in range(rounds):
        before = marks(pool.images.numpy())
        new = list(range(mark, mark + batch))
        mark += batch
        returned = marks(pool.query(marked(new), seed))
        after = marks(pool.images.numpy())
        for value, sent in zip(returned, new):
            if value != sent:  # a stored image came back, and the new one took its slot
                assert value in before and value not in after and sent in after
                swapped += 1
            else:
                assert sent not in after
        # Nothing is lost or duplicated: the pool and the returned images hold what came in.
        assert sorted(before + new) == sorted(after + returned)
    share = swapped / (rounds * batch)
    # 240 draws of p = 0.5: within 4.6 standard deviations (0.032 each).
    assert abs(share - 0.5) < 0.15, share


def test_image_pool_of_size_zero_is_off():
    pool = ImagePool(0)
    pool.build((2, 2, 1))
    assert marks(pool.query(marked([1, 2]), keras.random.SeedGenerator(0))) == [1, 2]


# --------------------------------------------------------------------------- metrics, known answers
@pytest.fixture(scope="module")
def heldout_edges():
    return tasks.load_pairs(tasks.EDGES, split="heldout")


def test_identity_scores_perfect_image_metrics(heldout_edges):
    digits = heldout_edges.b[:20]
    scores = metrics.image_scores(digits, digits)
    assert scores == {"l1": 0.0, "psnr": metrics.PSNR_MAX, "ssim": 1.0}
    other = metrics.image_scores(heldout_edges.a[:20], digits)
    assert other["l1"] > 0 and other["psnr"] < 20 and other["ssim"] < 0.9
    # The same SSIM as Keras's own (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03).
    keras_ssim = keras.ops.image.ssim((heldout_edges.a[:20] + 1) / 2, (digits + 1) / 2)
    np.testing.assert_allclose(other["ssim"], float(np.mean(keras.ops.convert_to_numpy(keras_ssim))), atol=1e-5)


def test_true_targets_score_class_preservation_at_the_evaluators_accuracy(heldout_edges):
    pairs = heldout_edges
    scores = metrics.evaluate_translation(pairs.b, pairs.a, pairs.b, pairs.labels_b)
    own = evaluator.load_info()["heldout_accuracy"]
    assert scores["class_accuracy"] == scores["class_accuracy_targets"] == pytest.approx(own, abs=1e-9)
    assert scores["ssim"] == 1.0 and scores["psnr"] == metrics.PSNR_MAX
    assert scores["class_accuracy_inputs"] < own  # outlines read worse than digits


def test_context_encoder_scores_the_hole_and_the_mean_fill_baseline(trained):
    pairs = tasks.load_pairs(tasks.MASKED, split="heldout")
    model = trained("context-encoder").model
    result = evaluation.evaluate(model, tasks.MASKED, num=20)
    assert result["scored_on"] == "mnist-5k:masked (held-out)" and result["n"] == 20
    pick = np.sort(np.random.default_rng(0).choice(1000, 20, replace=False))
    top, left, size = pairs.hole
    hole = (slice(None), slice(top, top + size), slice(left, left + size))
    assert result["input_hole_psnr"] == pytest.approx(metrics.psnr(pairs.a[pick][hole], pairs.b[pick][hole]))
    # Outside the hole the input is kept: a filled image differs from its input in the hole only.
    filled = model.translate(pairs.a[:4])
    outside = np.ones(filled.shape, bool)
    outside[hole] = False
    np.testing.assert_array_equal(filled[outside], pairs.a[:4][outside])


# --------------------------------------------------------------------------- inference, saving
def test_translate_checks_direction_and_shape(trained):
    model = trained("pix2pix").model
    with pytest.raises(KzooError, match="translates a2b only, not b2a"):
        model.translate(np.zeros((1, 28, 28, 1)), "b2a")
    with pytest.raises(DatasetError, match="16x16x1"):
        model.translate(np.zeros((1, 16, 16, 1)))


def test_cyclegan_saved_reloads_with_its_pool_and_translates_alike(trained, tmp_path):
    run = trained("cyclegan")
    model = run.model
    model.save(tmp_path / "c.keras")
    restored = kzoo.load_model(tmp_path / "c.keras")
    for direction, batch in (("a2b", run.x[:3]), ("b2a", run.y[:3])):
        np.testing.assert_allclose(restored.translate(batch, direction), model.translate(batch, direction), atol=1e-6)
    for name in ("pool_a", "pool_b"):
        np.testing.assert_array_equal(getattr(restored, name).images.numpy(), getattr(model, name).images.numpy())
        assert int(getattr(restored, name).count.numpy()) == 6
    for key in ("generators", "discriminators"):
        for a, b in zip(model.optimizers[key].variables, restored.optimizers[key].variables):
            np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6, atol=1e-7)


def test_autoencoders_sample_the_same_for_the_same_seed(trained):
    for name in ("vae", "aae"):
        model = trained(name).model
        a, b = model.sample(3, seed=5), model.sample(3, seed=5)
        np.testing.assert_array_equal(a, b)
        assert a.shape == (3, 28, 28, 1) and a.min() >= -1 and a.max() <= 1
        assert model.reconstruct(a).shape == a.shape


# --------------------------------------------------------------------------- the command line


def digit_pngs(folder, count=5):
    """A folder of 28x28 PNG outlines of held-out digits, as a user would bring."""
    pairs = tasks.load_pairs(tasks.EDGES, split="heldout")
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(((pairs.a[i * 100, :, :, 0] + 1) * 127.5).round().astype("uint8")).save(folder / f"d{i}.png")
    return folder


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("p2p") / "run"
    code, out = kzoo_cli("train", "pix2pix", "--backend", backend_name(), "--dataset", "mnist-5k:edges",
                         "--set", "width=2", "--seed", 4, "--out", run, *TINY_TRAIN, "--samples", 6)
    assert code == 0, out
    return run


def test_train_pix2pix_on_edges_writes_input_output_target_grids(pix2pix_run):
    config = json.loads((pix2pix_run / "config.json").read_text())
    assert config["dataset"] == "mnist-5k:edges" and config["hyperparameters"]["l1_weight"] == 100.0
    header = (pix2pix_run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "g_loss", "g_l1", "g_adversarial"} <= set(header)
    with Image.open(pix2pix_run / "samples" / "epoch_001.png") as grid:
        assert grid.size == (3 * 30 + 2, 2 * 30 + 2)  # 2 rows of input | output | target
        pixels = np.asarray(grid)
    rows = [pixels[2 + 30 * r : 30 * r + 30, 2:] for r in range(2)]
    a, b = training.training_data(registry.load_model_class("pix2pix"), "mnist-5k:edges")
    a, b = images.to_uint8(a)[..., 0], images.to_uint8(b)[..., 0]
    for row in rows:  # the first and third columns are a training input and its target
        source, target = row[:, :28], row[:, 60:88]
        found = np.flatnonzero((a == source).all(axis=(1, 2)))
        assert len(found) and np.array_equal(target, b[found[0]])


def test_translate_a_folder_of_pngs_then_evaluate(pix2pix_run, tmp_path):
    inputs = digit_pngs(tmp_path / "digits")
    out = tmp_path / "out"
    code, output = kzoo_cli("translate", pix2pix_run, inputs, "--out", out)
    assert code == 0, output and output.strip().endswith(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["d0.png", "d1.png", "d2.png", "d3.png", "d4.png", "grid.png",
                                                      "translations.npz"]
    saved = np.load(out / "translations.npz")
    model = kzoo.load_model(pix2pix_run)
    np.testing.assert_allclose(saved["outputs"], model.translate(saved["inputs"]), atol=1e-5)
    with Image.open(out / "d3.png") as image:
        assert image.size == (28, 28)
        np.testing.assert_array_equal(np.asarray(image), images.to_uint8(saved["outputs"][3])[..., 0])

    code, output = kzoo_cli("evaluate", pix2pix_run, "--num", 100, "--json")
    assert code == 0, output
    scores = json.loads(output)
    assert scores["scored_on"] == "mnist-5k:edges (held-out)" and scores["n"] == 100
    for key in ("l1", "psnr", "ssim", "class_accuracy", "class_accuracy_inputs", "class_accuracy_targets"):
        assert np.isfinite(scores[key]), key
    assert scores["class_accuracy_targets"] > 0.9


def test_translate_refuses_before_writing(pix2pix_run, tmp_path):
    inputs = digit_pngs(tmp_path / "digits", count=2)
    out = tmp_path / "never"
    assert_one_line_error(*kzoo_cli("translate", pix2pix_run, inputs, "--direction", "b2a", "--out", out),
                          "translates a2b only")
    small = tmp_path / "small"
    small.mkdir()
    Image.new("L", (16, 16)).save(small / "x.png")
    assert_one_line_error(*kzoo_cli("translate", pix2pix_run, small, "--out", out), "16x16x1", "28x28x1")
    assert not out.exists()


@pytest.mark.parametrize("args, fragments", [
    (["train", "pix2pix"], ["mnist-5k holds single images, not pairs", "mnist-5k:edges"]),
    (["train", "pix2pix", "--dataset", "mnist-5k:thick"], ["unpaired", "Pix2Pix trains on pairs"]),
    (["train", "dcgan", "--dataset", "mnist-5k:edges"], ["image-to-image task", "pix2pix"]),
    (["train", "context-encoder", "--set", "hole_size=40"], ["40x40 hole does not fit"]),
])
def test_bad_image_to_image_requests_get_one_line(args, fragments, tmp_path):
    out = tmp_path / "run"
    if args[1] == "context-encoder":
        args = args + ["--dataset", "mnist-5k:masked"]
    assert_one_line_error(*kzoo_cli(*args, "--out", out, *TINY_TRAIN), *fragments)
    assert not out.exists()


@pytest.mark.parametrize("name", ["vae", "aae"])
def test_kzoo_sample_and_evaluate_autoencoders(name, tmp_path):
    run = tmp_path / name
    widths = [f"--set=width={TINY[name]['width']}", "--latent-dim", TINY[name]["latent_dim"]]
    code, out = kzoo_cli("train", name, *widths, "--dataset", "mnist-5k:train", "--out", run, *TINY_TRAIN)
    assert code == 0, out
    code, out = kzoo_cli("sample", run, "--num", 9, "--out", tmp_path / "s.png")
    assert code == 0, out
    with Image.open(tmp_path / "s.png") as grid:
        assert grid.size == (3 * 30 + 2, 3 * 30 + 2)
    code, out = kzoo_cli("evaluate", run, "--num", 100, "--json")
    assert code == 0, out
    scores = json.loads(out)
    assert scores["scored_on"] == "mnist-5k:heldout"
    assert 0 < scores["reconstruction_l1"] < 1 and scores["n"] == 100 and "fd" in scores
