"""kzoo.tasks: image-to-image data derived from the embedded digits, users' pairs and domains. No keras."""

import numpy as np
import pytest
from PIL import Image

from kzoo import data, tasks
from kzoo.errors import DatasetError
from kzoo.metrics import splits


def one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def train_digits():
    return splits.train_images()


@pytest.mark.parametrize("name", tasks.PAIRED_TASKS)
def test_paired_tasks_pair_each_train_digit_with_its_degraded_copy(name, train_digits):
    x, y = train_digits
    pairs = tasks.load_pairs(name)
    assert pairs.paired and pairs.a.shape == pairs.b.shape == x.shape == (4000, 28, 28, 1)
    assert pairs.a.dtype == pairs.b.dtype == np.float32
    assert pairs.a.min() >= -1 and pairs.a.max() <= 1
    np.testing.assert_array_equal(pairs.b, x)  # the targets are the digits themselves
    np.testing.assert_array_equal(pairs.labels_a, y)
    assert not np.array_equal(pairs.a, pairs.b)
    again = tasks.load_pairs(name.upper().replace("-", "_"))  # deterministic, spelled loosely
    np.testing.assert_array_equal(again.a, pairs.a)


def test_heldout_pairs_are_the_heldout_digits():
    x, y = splits.heldout_images()
    for name in tasks.TASKS:
        pairs = tasks.load_pairs(name, split="heldout")
        assert pairs.paired and len(pairs.a) == 1000
        np.testing.assert_array_equal(pairs.labels_a, y)
    np.testing.assert_array_equal(tasks.load_pairs(tasks.THICK, split="heldout").a, x)


def test_edges_are_outlines():
    digit = -np.ones((1, 7, 7, 1), np.float32)
    digit[0, 1:6, 1:6] = 1.0  # a 5x5 square
    outline = tasks.edges(digit)[0, :, :, 0]
    assert outline[3, 3] == -1.0  # flat inside: no edge
    assert outline[1, 3] == 1.0 and outline[0, 3] == 1.0  # both sides of the border
    assert outline.max() == 1.0 and outline.min() == -1.0


def test_masked_task_blanks_the_centre_with_the_mean_colour():
    pairs = tasks.load_pairs(tasks.MASKED, split="heldout")
    top, left, size = pairs.hole
    assert (top, left, size) == (8, 8, tasks.HOLE_SIZE)
    hole = pairs.a[:, top : top + size, left : left + size]
    np.testing.assert_allclose(hole, tasks.mean_colour())
    outside = np.ones(pairs.a.shape, bool)
    outside[:, top : top + size, left : left + size] = False
    np.testing.assert_array_equal(pairs.a[outside], pairs.b[outside])
    assert -1 < tasks.mean_colour() < -0.5  # mostly black digits


def test_noisy_task_is_blurred_and_noisy():
    pairs = tasks.load_pairs(tasks.NOISY, split="heldout")
    residual = pairs.a - pairs.b
    assert 0.2 < residual.std() < 0.6


def test_unpaired_task_takes_domains_from_disjoint_halves(train_digits):
    x, _ = train_digits
    pairs = tasks.load_pairs(tasks.THICK)
    assert not pairs.paired and len(pairs.a) == len(pairs.b) == 2000
    # A holds plain train digits, B thickened ones of the other half: no digit in both.
    rows = {x[i].tobytes(): i for i in range(len(x))}
    a_rows = {rows[image.tobytes()] for image in pairs.a}
    assert len(a_rows) == 2000
    thick_rows = {tasks.thicken(x[i : i + 1])[0].tobytes() for i in a_rows}
    assert not any(image.tobytes() in thick_rows for image in pairs.b)
    assert (pairs.b > 0).mean() > (pairs.a > 0).mean() * 1.3  # thicker strokes: more ink


def test_npz_of_pairs(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (6, 12, 8), dtype=np.uint8)
    b = rng.integers(0, 256, (6, 12, 8), dtype=np.uint8)
    np.savez(tmp_path / "pairs.npz", a=a, b=b, labels=np.arange(6))
    pairs = tasks.load_pairs(tmp_path / "pairs.npz")
    assert pairs.paired and pairs.a.shape == (6, 12, 8, 1)
    np.testing.assert_allclose(pairs.b[..., 0], b / 127.5 - 1, atol=1e-6)
    x, y = tasks.fit_arrays(pairs, paired=True, model_name="Pix2Pix")
    assert x is pairs.a and y is pairs.b
    assert data.describe(tmp_path / "pairs.npz") == str((tmp_path / "pairs.npz").resolve())


def _folder(root, name, count, size, mode="L"):
    (root / name).mkdir(parents=True)
    for i in range(count):
        Image.new(mode, size, 40 * i).save(root / name / f"{i}.png")


def test_folder_of_domains_is_unpaired_and_fit_arrays_matches_counts(tmp_path):
    _folder(tmp_path, "A", 5, (8, 8))
    _folder(tmp_path, "B", 3, (8, 8))
    pairs = tasks.load_pairs(tmp_path)
    assert not pairs.paired and (len(pairs.a), len(pairs.b)) == (5, 3)
    a, b = tasks.fit_arrays(pairs, paired=False, model_name="CycleGAN", seed=1)
    assert len(a) == len(b) == 5
    np.testing.assert_array_equal(a, pairs.a)
    stored = {image.tobytes() for image in pairs.b}
    assert {image.tobytes() for image in b} == stored  # every B image, some twice


def test_cyclegan_style_train_folders(tmp_path):
    _folder(tmp_path, "trainA", 2, (4, 4))
    _folder(tmp_path, "trainB", 2, (4, 4))
    assert tasks.load_pairs(tmp_path).a.shape == (2, 4, 4, 1)


# --------------------------------------------------------------------------- one-line errors


def test_unpaired_data_for_a_paired_model(tmp_path):
    _folder(tmp_path, "A", 2, (4, 4))
    _folder(tmp_path, "B", 2, (4, 4))
    for source in (tmp_path, tasks.THICK):
        with pytest.raises(DatasetError) as excinfo:
            tasks.fit_arrays(tasks.load_pairs(source), paired=True, model_name="Pix2Pix")
        assert "unpaired" in one_line(excinfo) and "Pix2Pix trains on pairs" in one_line(excinfo)


def test_mismatched_pair_counts(tmp_path):
    np.savez(tmp_path / "p.npz", a=np.zeros((5, 4, 4)), b=np.zeros((4, 4, 4)))
    with pytest.raises(DatasetError) as excinfo:
        tasks.fit_arrays(tasks.load_pairs(tmp_path / "p.npz"), paired=True, model_name="Pix2Pix")
    assert "a has 5 images but b has 4" in one_line(excinfo) and "one b per a" in one_line(excinfo)


def test_mismatched_image_sizes(tmp_path):
    np.savez(tmp_path / "p.npz", a=np.zeros((2, 4, 4)), b=np.zeros((2, 4, 6)))
    with pytest.raises(DatasetError) as excinfo:
        tasks.load_pairs(tmp_path / "p.npz")
    assert "4x4x1" in one_line(excinfo) and "4x6x1" in one_line(excinfo)
    _folder(tmp_path / "f", "A", 2, (4, 4))
    _folder(tmp_path / "f", "B", 2, (4, 4), mode="RGB")
    with pytest.raises(DatasetError) as excinfo:
        tasks.load_pairs(tmp_path / "f")
    assert "4x4x1" in one_line(excinfo) and "4x4x3" in one_line(excinfo)


@pytest.mark.parametrize("spec, fragment", [
    ("mnist-5k", "holds single images, not pairs"),
    (None, "holds single images, not pairs"),
    ("mnist-5k:edgse", "did you mean 'mnist-5k:edges'"),
    ("nowhere/pairs.npz", "no such file or folder"),
])
def test_not_pairs(spec, fragment):
    with pytest.raises(DatasetError) as excinfo:
        tasks.load_pairs(spec)
    assert fragment in one_line(excinfo)


def test_npz_without_a_and_b(tmp_path):
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 4, 4)))
    with pytest.raises(DatasetError) as excinfo:
        tasks.load_pairs(tmp_path / "x.npz")
    assert "no arrays a and b (found: x)" in one_line(excinfo)


def test_folder_without_domains(tmp_path):
    _folder(tmp_path, "cats", 2, (4, 4))
    with pytest.raises(DatasetError) as excinfo:
        tasks.load_pairs(tmp_path)
    assert "no subfolders A/ and B/" in one_line(excinfo)


def test_data_knows_task_names_but_gives_them_to_image_to_image_models_only():
    assert data.describe("MNIST-5K:Edges") == "mnist-5k:edges"
    with pytest.raises(DatasetError) as excinfo:
        data.load("mnist-5k:edges")
    assert "image-to-image task" in one_line(excinfo) and "pix2pix" in one_line(excinfo)
