"""kzoo.data: the embedded dataset, .npz files, image folders, and one-line errors. No network."""


from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kzoo import data
from kzoo.errors import DatasetError


def one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- embedded mnist-5k


@pytest.fixture(scope="module")
def mnist5k():
    return data.load("mnist-5k")


def test_mnist_5k_shape_range_labels(mnist5k):
    x, y = mnist5k
    assert x.shape == (5000, 28, 28, 1)
    assert x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert y.shape == (5000,) and y.dtype == np.int32
    assert sorted(set(y.tolist())) == list(range(10))
    assert np.bincount(y).tolist() == [500] * 10


def test_default_is_mnist_5k(mnist5k):
    x, y = data.load()
    np.testing.assert_array_equal(x, mnist5k[0])
    np.testing.assert_array_equal(y, mnist5k[1])
    assert data.DEFAULT == "mnist-5k" == data.DATASETS[0]
    assert set(data.DATASETS) == {"mnist-5k", "emoji32", "mnist", "fashion_mnist", "cifar10"}


def test_names_are_case_and_dash_insensitive():
    assert data.describe("MNIST_5K") == "mnist-5k"
    assert data.describe("fashion-mnist") == "fashion_mnist"
    assert data.describe("cifar-10") == "cifar10"
    assert data.describe(None) == "mnist-5k"


# --------------------------------------------------------------------------- keras.datasets, offline


def test_keras_dataset_offline_raises_dataset_error(monkeypatch):
    import keras

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -3]\nTemporary failure")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(DatasetError) as excinfo:
        data.load("mnist")
    message = one_line(excinfo)
    assert "mnist-5k" in message
    assert ".npz" in message and "folder" in message and "subfolder per class" in message
    assert "URL fetch failure" in message


def test_keras_dataset_returns_train_split(monkeypatch):
    import keras

    def fake_cifar():
        x_train = np.zeros((4, 32, 32, 3), np.uint8)
        x_train[1] = 255
        y_train = np.arange(4, dtype=np.uint8).reshape(4, 1)  # cifar10 labels come as (n, 1)
        return (x_train, y_train), (np.zeros((2, 32, 32, 3), np.uint8), np.zeros((2, 1), np.uint8))

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", fake_cifar)
    x, y = data.load("cifar10")
    assert x.shape == (4, 32, 32, 3) and x.dtype == np.float32
    assert x[0].max() == -1.0 and x[1].min() == 1.0
    assert y.tolist() == [0, 1, 2, 3] and y.dtype == np.int32


# --------------------------------------------------------------------------- .npz files


def test_npz_uint8_grayscale_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(6, 8, 8), dtype=np.uint8)
    x[0, 0, 0], x[0, 0, 1] = 0, 255
    y = np.array([0, 1, 2, 0, 1, 2], np.int64)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y)
    got_x, got_y = data.load(str(path))
    assert got_x.shape == (6, 8, 8, 1) and got_x.dtype == np.float32
    np.testing.assert_allclose(got_x[..., 0], x / 127.5 - 1.0, atol=1e-6)
    assert got_x[0, 0, 0, 0] == -1.0 and got_x[0, 0, 1, 0] == 1.0
    assert got_y.tolist() == y.tolist() and got_y.dtype == np.int32


def test_npz_float01_rgb_round_trip_pathlike_no_labels(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((5, 4, 6, 3)).astype(np.float64)
    x[0, 0, 0] = [0.0, 0.5, 1.0]
    path = tmp_path / "rgb.npz"
    np.savez_compressed(path, x=x)
    got_x, got_y = data.load(path)  # a pathlib.Path works too
    assert got_y is None
    assert got_x.shape == (5, 4, 6, 3) and got_x.dtype == np.float32
    np.testing.assert_allclose(got_x, x * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(got_x[0, 0, 0], [-1.0, 0.0, 1.0])


def test_npz_float_minus1_1_kept_and_float_255_scaled(tmp_path):
    x = np.linspace(-1, 1, 2 * 3 * 3).reshape(2, 3, 3, 1).astype(np.float32)
    np.savez(tmp_path / "a.npz", x=x, y=np.array([[3], [4]]))  # y as (n, 1) is flattened
    got_x, got_y = data.load(str(tmp_path / "a.npz"))
    np.testing.assert_allclose(got_x, x)
    assert got_y.tolist() == [3, 4]

    x255 = np.array([0.0, 127.5, 255.0], np.float32).reshape(1, 1, 3)
    np.savez(tmp_path / "b.npz", x=x255)
    got_x, _ = data.load(str(tmp_path / "b.npz"))
    np.testing.assert_allclose(got_x.ravel(), [-1.0, 0.0, 1.0])


def test_load_does_not_modify_callers_array_copy(tmp_path):
    x = np.full((1, 2, 2), 0.5, np.float32)
    np.savez(tmp_path / "c.npz", x=x)
    got, _ = data.load(str(tmp_path / "c.npz"))
    got[...] = 7
    again, _ = data.load(str(tmp_path / "c.npz"))
    assert again.max() == 0.0


def test_describe_path_is_absolute(tmp_path, monkeypatch):
    np.savez(tmp_path / "d.npz", x=np.zeros((1, 2, 2), np.uint8))
    monkeypatch.chdir(tmp_path)
    assert data.describe("d.npz") == str(tmp_path.resolve() / "d.npz")


# --------------------------------------------------------------------------- image folders


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)


def test_folder_with_class_subfolders_rgb(tmp_path):
    red = np.zeros((5, 7, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((5, 7, 3), np.uint8)
    blue[..., 2] = 255
    _save(tmp_path / "cats" / "a.png", red)
    _save(tmp_path / "cats" / "b.png", red)
    _save(tmp_path / "dogs" / "c.png", blue)
    _save(tmp_path / "dogs" / "nested" / "d.png", blue)  # found at any depth inside a class folder
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()  # hidden folders are not classes
    x, y = data.load(str(tmp_path))
    assert x.shape == (4, 5, 7, 3) and x.dtype == np.float32  # height 5, width 7
    assert y.tolist() == [0, 0, 1, 1] and y.dtype == np.int32  # cats < dogs
    np.testing.assert_array_equal(x[0, 0, 0], [1.0, -1.0, -1.0])
    np.testing.assert_array_equal(x[3, 0, 0], [-1.0, -1.0, 1.0])


def test_folder_of_loose_grayscale_images(tmp_path):
    _save(tmp_path / "1.png", np.full((4, 4), 255, np.uint8))
    _save(tmp_path / "2.bmp", np.zeros((4, 4), np.uint8))
    x, y = data.load(str(tmp_path))
    assert y is None
    assert x.shape == (2, 4, 4, 1)
    assert x[0].min() == 1.0 and x[1].max() == -1.0


def test_folder_mixing_gray_and_colour_gives_3_channels(tmp_path):
    _save(tmp_path / "a.png", np.full((3, 3), 255, np.uint8))
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., 1] = 255
    rgba[..., 3] = 255
    _save(tmp_path / "b.png", rgba, mode="RGBA")
    Image.fromarray(np.zeros((3, 3), np.uint8)).convert("P").save(tmp_path / "c.gif")
    x, _ = data.load(str(tmp_path))
    assert x.shape == (3, 3, 3, 3)
    np.testing.assert_array_equal(x[0, 0, 0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x[1, 0, 0], [-1.0, 1.0, -1.0])
    np.testing.assert_array_equal(x[2, 0, 0], [-1.0, -1.0, -1.0])


def test_folder_read_on_threads_equals_one_thread_in_order_with_a_bar_when_asked(tmp_path, capsys):
    from kzoo.data import folders

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (150, 6, 5, 3), dtype=np.uint8)  # 150 files: three chunks of work
    for i, image in enumerate(images):
        _save(tmp_path / ("odd" if i % 2 else "even") / f"{i:03d}.png", image)
    x, y = folders.image_folder_pixels(tmp_path, workers=4)
    assert x.dtype == np.uint8 and x.shape == (150, 6, 5, 3) and x.nbytes == 150 * 6 * 5 * 3
    np.testing.assert_array_equal(x, np.concatenate([images[0::2], images[1::2]]))  # even/ < odd/, names sorted
    assert y.tolist() == [0] * 75 + [1] * 75
    one_x, _ = folders.image_folder_pixels(tmp_path, workers=1)
    np.testing.assert_array_equal(one_x, x)
    assert capsys.readouterr().err == ""  # silent unless asked (or a terminal and more than 2,000 files)
    folders.image_folder_pixels(tmp_path, progress=True)
    bar = capsys.readouterr().err
    assert bar.endswith("100% of 150 images\n") and bar.startswith(f"\rreading {tmp_path}: 0% of 150 images")
    # The first file that does not fit is the one reported, whichever thread read it.
    _save(tmp_path / "odd" / "120.png", np.zeros((2, 2), np.uint8))
    _save(tmp_path / "odd" / "149.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        folders.image_folder_pixels(tmp_path, workers=4)
    assert "120.png is 2x2" in one_line(excinfo)


# --------------------------------------------------------------------------- .npy, memory-mapped


def _npy(path, array):
    np.save(path, array)
    return path


def test_npy_is_memory_mapped_with_sibling_labels(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (10, 4, 4), dtype=np.uint8)
    path = _npy(tmp_path / "big.npy", pixels)
    x, y = data.load_pixels(path)
    assert isinstance(x, np.memmap) and x.dtype == np.uint8 and x.shape == (10, 4, 4, 1)
    assert not x.flags.writeable and y is None
    np.testing.assert_array_equal(x[..., 0], pixels)
    # Batches are read from the file, not through the map (kzoo.data.batches.gather): the same rows.
    from kzoo.data import batches

    rows = np.array([7, 2, 9, 0])
    assert Path(batches._mapped_file(x)[0]).samefile(path)
    np.testing.assert_array_equal(batches.gather(x, rows)[..., 0], pixels[rows])
    np.testing.assert_array_equal(data.load(str(path))[0], data.to_model_range(pixels[..., None]))
    _npy(tmp_path / "big.labels.npy", np.arange(10).reshape(10, 1) % 3)
    x, y = data.load_pixels(str(path))
    assert y.dtype == np.int32 and y.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    assert data.describe(path) == str(path.resolve())
    # Another integer type stays mapped, checked in chunks (of a few bytes here) from the file.
    from kzoo.data import readers

    wide = _npy(tmp_path / "wide.npy", pixels.astype(np.int16).reshape(10, 4, 4, 1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "_CHECK_CHUNK_BYTES", 6)
        x, _ = data.load_pixels(wide)
        assert isinstance(x, np.memmap) and x.dtype == np.int16
        np.testing.assert_array_equal(data.to_model_range(x), data.to_model_range(pixels[..., None]))
        out_of_range = pixels.astype(np.int16)
        out_of_range[9, 3, 3] = 256  # the last value of the last chunk
        _npy(wide, out_of_range)
        with pytest.raises(DatasetError) as excinfo:
            data.load_pixels(wide)
        assert "integer pixels run from" in one_line(excinfo) and "to 256; expected 0-255" in one_line(excinfo)


@pytest.mark.parametrize("write, refused", [
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "mmap length is greater than file size"),  # truncated
    (lambda p: np.save(p, np.zeros((5, 16), np.uint8)), "(2 dimensions); expected (N, H, W)"),
    (lambda p: np.save(p, np.zeros((5, 4, 4, 2), np.uint8)), "with 2 channels"),
    (lambda p: np.save(p, np.array(["ab"] * 5)), "x has dtype <U2"),
    (lambda p: np.save(p, np.array([None] * 5), allow_pickle=True), "could not read"),
    (lambda p: np.save(p, np.full((5, 4, 4), -1, np.int8)), "integer pixels run from -1 to -1"),
    (lambda p: p.write_bytes(b"not an npy file at all"), "could not read"),
    (lambda p: np.save(p.with_name("big.labels.npy"), np.arange(4)), "big.labels.npy: y has 4 labels but x has 5"),
    (lambda p: np.save(p.with_name("big.labels.npy"), np.full(5, 0.5)), "y holds non-integer values"),
])
def test_malformed_npy_gets_one_line(tmp_path, write, refused):
    path = _npy(tmp_path / "big.npy", np.zeros((5, 4, 4), np.uint8))
    write(path)
    with pytest.raises(DatasetError) as excinfo:
        data.load_pixels(path)
    assert refused in one_line(excinfo)


# --------------------------------------------------------------------------- malformed input


def test_missing_path(tmp_path):
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(tmp_path / "nope.npz"))
    message = one_line(excinfo)
    assert "no such file or folder" in message and "nope.npz" in message


def test_unknown_name_suggests_nearest():
    with pytest.raises(DatasetError) as excinfo:
        data.load("mnsit")
    message = one_line(excinfo)
    assert "unknown dataset 'mnsit'" in message
    assert "did you mean 'mnist'" in message
    assert "mnist-5k" in message and "cifar10" in message

    with pytest.raises(DatasetError) as excinfo:
        data.load("cifar100")
    assert "did you mean 'cifar10'" in one_line(excinfo)


def test_unknown_name_without_close_match():
    with pytest.raises(DatasetError) as excinfo:
        data.load("zzzzqqqq")
    message = one_line(excinfo)
    assert "unknown dataset" in message and "did you mean" not in message


def test_file_that_is_not_npz(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(path))
    assert "is not an .npz file" in one_line(excinfo)

    # An .npy is read as an array of images (memory-mapped: see the .npy tests), not as an .npz.
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((2, 3, 3)))
    x, y = data.load(str(npy))
    assert x.shape == (2, 3, 3, 1) and x.max() == -1.0 and y is None


def test_npz_without_x(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((2, 3, 3)), y=np.zeros(2))
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(path))
    message = one_line(excinfo)
    assert "no array named x" in message and "images" in message


@pytest.mark.parametrize("shape", [(10,), (4, 28 * 28), (2, 3, 4, 4, 1)])
def test_npz_wrong_number_of_dimensions(tmp_path, shape):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros(shape, np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(path))
    message = one_line(excinfo)
    assert f"{len(shape)} dimensions" in message and "(N, H, W) or (N, H, W, C)" in message


def test_npz_bad_channel_count(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((2, 8, 8, 4), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(path))
    assert "4 channels" in one_line(excinfo) and "expected 1 (grayscale) or 3 (RGB)" in str(excinfo.value)

    np.savez(path, x=np.zeros((2, 3, 8, 8), np.uint8))  # channels first
    with pytest.raises(DatasetError, match="channels-first"):
        data.load(str(path))


def test_npz_label_length_mismatch(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 4, 4), np.uint8), y=np.zeros(5, np.int64))
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(path))
    assert "y has 5 labels but x has 3 images" in one_line(excinfo)


@pytest.mark.parametrize(
    "y, expected",
    [
        (np.zeros((3, 10)), "one integer label per image"),  # one-hot
        (np.array([0.0, 1.5, 2.0]), "non-integer"),
        (np.array([0, -1, 2]), "negative"),
    ],
)
def test_npz_bad_labels(tmp_path, y, expected):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 4, 4), np.uint8), y=y)
    with pytest.raises(DatasetError, match=expected):
        data.load(str(path))


@pytest.mark.parametrize(
    "x, expected",
    [
        (np.full((2, 3, 3), 300, np.int32), "integer pixels run from 300 to 300; expected 0-255"),
        (np.full((2, 3, 3), 1000.0), "float pixels run from 1000 to 1000"),
        (np.array([[[np.nan]]]), "NaN"),
        (np.zeros((0, 3, 3), np.uint8), "holds no images"),
        (np.array([[["a"]]]), "dtype"),
    ],
)
def test_npz_bad_pixels(tmp_path, x, expected):
    path = tmp_path / "d.npz"
    np.savez(path, x=x)
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(path))
    assert expected in one_line(excinfo)


def test_empty_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(tmp_path))
    message = one_line(excinfo)
    assert "holds no images" in message and ".png" in message


def test_empty_class_folder(tmp_path):
    _save(tmp_path / "a" / "1.png", np.zeros((2, 2), np.uint8))
    (tmp_path / "b").mkdir()
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(tmp_path))
    assert "class folder" in one_line(excinfo) and "holds no images" in str(excinfo.value)


def test_folder_mixing_images_and_subfolders(tmp_path):
    _save(tmp_path / "loose.png", np.zeros((2, 2), np.uint8))
    _save(tmp_path / "a" / "1.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(tmp_path))
    assert "mixes images" in one_line(excinfo)


def test_folder_with_images_of_different_sizes(tmp_path):
    _save(tmp_path / "a.png", np.zeros((28, 28), np.uint8))
    _save(tmp_path / "b.png", np.zeros((32, 30), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(tmp_path))
    message = one_line(excinfo)
    assert "b.png is 30x32" in message and "a.png is 28x28" in message


def test_unreadable_image(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DatasetError) as excinfo:
        data.load(str(tmp_path))
    assert "could not read image" in one_line(excinfo) and "broken.png" in str(excinfo.value)


def test_wrong_spec_type():
    with pytest.raises(DatasetError, match="not int"):
        data.load(42)


# --------------------------------------------------------------------------- check_fits


@pytest.mark.parametrize("images, image_shape, labels, num_classes, refused", [
    ((2, 28, 28, 1), (28, 28, 1), None, None, None),
    ((2, 28, 28, 1), [28, 28, 1], [0, 9], 10, None),  # a list shape, labels in range
    ((2, 32, 32, 3), (32, 32, 3), None, None, None),
    ((2, 32, 32, 3), (28, 28, 1), None, None, "images are 32x32x3 but the model takes 28x28x1 (image_shape); "
                                               "pass --set image_shape=32,32,3"),
    ((2, 28, 28, 1), (28, 28, 3), None, None, "images are 28x28x1 but the model takes 28x28x3"),
    ((2, 28, 27, 1), (28, 28, 1), None, None, "images are 28x27x1"),
])
def test_check_fits_takes_exactly_the_models_shape(images, image_shape, labels, num_classes, refused):
    x = np.zeros(images, np.float32)
    y = None if labels is None else np.asarray(labels)
    if refused is None:
        assert data.check_fits(x, image_shape, y=y, num_classes=num_classes) is None
        return
    with pytest.raises(DatasetError) as excinfo:
        data.check_fits(x, image_shape, y=y, num_classes=num_classes)
    assert refused in one_line(excinfo)


def test_check_fits_labels():
    x = np.zeros((2, 4, 4, 1), np.float32)
    with pytest.raises(DatasetError, match="needs labels"):
        data.check_fits(x, (4, 4, 1), y=None, num_classes=10)
    with pytest.raises(DatasetError, match="num_classes=12"):
        data.check_fits(x, (4, 4, 1), y=np.array([0, 11]), num_classes=10)
    with pytest.raises(DatasetError, match="expected a batch"):
        data.check_fits(np.zeros((4, 4, 1)), (4, 4, 1))


# --------------------------------------------------------------------------- mnist-5k:train / :heldout


def test_mnist_5k_splits_are_the_metric_splits_in_row_order(mnist5k):
    from kzoo.metrics import splits

    x, y = mnist5k
    train_x, train_y = data.load("mnist-5k:train")
    held_x, held_y = data.load("mnist-5k:heldout")
    assert train_x.shape == (4000, 28, 28, 1) and train_x.dtype == np.float32
    assert held_x.shape == (1000, 28, 28, 1) and held_y.dtype == np.int32
    np.testing.assert_array_equal(train_x, x[splits.train_indices()])
    np.testing.assert_array_equal(train_y, y[splits.train_indices()])
    np.testing.assert_array_equal(held_x, x[splits.heldout_indices()])
    np.testing.assert_array_equal(held_y, y[splits.heldout_indices()])
    assert np.bincount(train_y).tolist() == [400] * 10
    assert np.bincount(held_y).tolist() == [100] * 10
    # The same pixels as the evaluator's reference, and a fixed order: load twice, get the same.
    np.testing.assert_array_equal(held_x, splits.heldout_images()[0])
    np.testing.assert_array_equal(data.load("mnist-5k:train")[0], train_x)


def test_mnist_5k_splits_are_disjoint_and_cover_the_set(mnist5k):
    x, _ = mnist5k
    train_x, _ = data.load("mnist-5k:train")
    held_x, _ = data.load("mnist-5k:heldout")
    as_rows = lambda a: {r.tobytes() for r in a.reshape(len(a), -1)}  # noqa: E731
    train_rows, held_rows = as_rows(train_x), as_rows(held_x)
    assert not train_rows & held_rows
    assert train_rows | held_rows == as_rows(x)


def test_mnist_5k_split_names_and_describe():
    assert data.SPLITS == ("mnist-5k:train", "mnist-5k:heldout")
    assert data.describe("mnist-5k:train") == "mnist-5k:train"
    assert data.describe("MNIST_5K:HELDOUT") == "mnist-5k:heldout"
    assert data.describe("mnist5k:train") == "mnist-5k:train"
    assert "mnist-5k:train" not in data.DATASETS  # DATASETS stays the list of whole datasets


# --------------------------------------------------------------------------- emoji32 and stratified_split


def test_emoji32_shape_range_labels_and_names():
    x, y = data.load("emoji32")
    assert x.shape == (3655, 32, 32, 3) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert y.dtype == np.int32
    assert np.bincount(y).tolist() == [166, 2148, 152, 133, 218, 85, 261, 223, 269]
    assert data.describe("EMOJI_32") == data.describe("emoji32") == "emoji32"
    assert data.describe("Emoji32:HeldOut") == "emoji32:heldout"
    # Drawn on white: the corner pixel of the first emoji is white in every channel.
    assert x[0, 0, 0].tolist() == [1.0, 1.0, 1.0]


def test_emoji32_split_is_pinned_stratified_and_in_row_order():
    from kzoo.data import splits

    assert splits.heldout_sha256("emoji32") == splits.EMOJI32_HELDOUT_SHA256
    x, y = data.load("emoji32")
    held_x, held_y = data.load("emoji32:heldout")
    train_x, train_y = data.load("emoji32:train")
    held, train = splits.heldout_indices("emoji32"), splits.train_indices("emoji32")
    np.testing.assert_array_equal(held_x, x[held])
    np.testing.assert_array_equal(train_y, y[train])
    assert len(held_x) + len(train_x) == 3655
    assert np.bincount(held_y).tolist() == [33, 430, 30, 27, 44, 17, 52, 45, 54]  # round(0.2 * n_c)
    assert not set(held.tolist()) & set(train.tolist())


def test_stratified_split_rule():
    from kzoo.data.splits import SPLIT_SEED, stratified_split

    labels = np.array([5] * 10 + [2] * 7 + [9] * 2 + [4])  # classes out of order, one of a single row
    held, train = stratified_split(labels, heldout_share=0.3, seed=1)
    assert held.dtype == train.dtype == np.int64
    assert np.all(np.diff(held) > 0) and np.all(np.diff(train) > 0)
    assert sorted(held.tolist() + train.tolist()) == list(range(20))
    counts = {c: int(np.sum(labels[held] == c)) for c in (2, 4, 5, 9)}
    assert counts == {2: 2, 4: 0, 5: 3, 9: 1}  # round(2.1), a single row kept, round(3.0), at least 1
    # The rule, written out: one generator, classes ascending, the first round(share * n_c) held out.
    rng = np.random.default_rng(1)
    expected = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k]
                                       for c, k in ((2, 2), (4, 0), (5, 3), (9, 1))]))
    np.testing.assert_array_equal(held, expected)
    np.testing.assert_array_equal(stratified_split(labels, 0.3, seed=1)[0], held)  # reproducible
    assert stratified_split(np.repeat(np.arange(10), 50))[0].size == 100  # defaults: share 0.2, SPLIT_SEED
    assert SPLIT_SEED == 20240501
    # The mnist-5k split is this rule with the default share and seed.
    from kzoo.data import splits

    np.testing.assert_array_equal(stratified_split(splits.load_mnist5k()[1])[0], splits.heldout_indices())
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stratified_split(labels, heldout_share=1.0)
    with pytest.raises(ValueError, match="one integer per row"):
        stratified_split(np.zeros((3, 2), int))


def test_unknown_split_suggests_the_splits():
    with pytest.raises(DatasetError) as excinfo:
        data.load("mnist-5k:trian")
    message = one_line(excinfo)
    assert "did you mean 'mnist-5k:train'" in message
    assert "mnist-5k:heldout" in message
