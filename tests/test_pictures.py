"""kzoo.pictures: uint8 mapping, grids, atomic PNG writing, loss plots."""

import os

import numpy as np
import pytest
from PIL import Image

from kzoo import pictures


def test_to_uint8_maps_range_and_clips():
    x = np.array([-1.0, 0.0, 1.0, -3.0, 2.0, np.nan], np.float32)
    assert pictures.to_uint8(x).tolist() == [0, 128, 255, 0, 255, 128]
    assert pictures.to_uint8(x).dtype == np.uint8
    batch = np.zeros((2, 3, 3, 1), np.float32)
    assert pictures.to_uint8(batch).shape == (2, 3, 3, 1)


def test_to_uint8_does_not_modify_input():
    x = np.array([0.5, -0.5], np.float32)
    pictures.to_uint8(x)
    assert x.tolist() == [0.5, -0.5]


@pytest.mark.parametrize(
    "n, nrow, padding, rows, cols",
    [
        (16, None, 2, 4, 4),
        (10, None, 2, 3, 4),  # ceil(sqrt(10)) = 4 per row, 3 rows
        (5, 8, 1, 1, 5),  # fewer images than nrow: one short row, no empty columns
        (6, 2, 0, 3, 2),
    ],
)
def test_grid_size(n, nrow, padding, rows, cols):
    h, w = 5, 7
    picture = pictures.grid(np.zeros((n, h, w, 1), np.float32), nrow=nrow, padding=padding)
    assert picture.mode == "L"
    assert picture.size == (cols * (w + padding) + padding, rows * (h + padding) + padding)


def test_grid_values_and_placement():
    x = np.stack([np.full((2, 2, 1), -1.0), np.full((2, 2, 1), 1.0), np.full((2, 2, 1), 0.0)]).astype(np.float32)
    picture = pictures.grid(x, nrow=2, padding=1, pad_value=77)
    a = np.asarray(picture)
    assert a.shape == (1 + 2 * 3, 1 + 2 * 3)
    assert (a[1:3, 1:3] == 0).all()  # -1 -> 0
    assert (a[1:3, 4:6] == 255).all()  # 1 -> 255
    assert (a[4:6, 1:3] == 128).all()  # 0 -> 128
    assert (a[4:6, 4:6] == 77).all()  # empty cell
    assert (a[0] == 77).all() and (a[:, 3] == 77).all()  # padding


def test_grid_rgb_and_uint8_input_and_nhw():
    rgb = np.full((3, 4, 4, 3), -1.0, np.float32)
    rgb[..., 0] = 1.0
    picture = pictures.grid(rgb, padding=0)
    assert picture.mode == "RGB" and picture.size == (8, 8)
    assert picture.getpixel((0, 0)) == (255, 0, 0)

    raw = np.full((1, 3, 3), 200, np.uint8)  # uint8 is taken as 0-255 pixels as is; (N, H, W) works
    assert np.asarray(pictures.grid(raw, padding=0)).tolist() == [[200] * 3] * 3


@pytest.mark.parametrize("bad", [np.zeros((2, 4, 4, 2)), np.zeros((4, 4)), np.zeros((0, 4, 4, 1))])
def test_grid_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        pictures.grid(bad)


def test_save_grid_writes_readable_png_atomically(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, size=(9, 6, 6, 3)).astype(np.float32)
    path = tmp_path / "samples" / "epoch_001.png"  # missing folders are created
    assert pictures.save_grid(x, path, nrow=3) == path
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        assert im.size == (3 * 8 + 2, 3 * 8 + 2)
        np.testing.assert_array_equal(np.asarray(im), np.asarray(pictures.grid(x, nrow=3)))
    # overwriting works and leaves no temporary file behind
    pictures.save_grid(x[:4], str(path))
    assert sorted(os.listdir(path.parent)) == ["epoch_001.png"]
    with Image.open(path) as im:
        assert im.size == (2 * 8 + 2, 2 * 8 + 2)


def test_save_grid_failure_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "g.png"
    pictures.save_grid(np.zeros((1, 2, 2, 1)), path)
    before = path.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        pictures.save_grid(np.ones((1, 2, 2, 1)), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["g.png"]


def test_save_grid_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=".png"):
        pictures.save_grid(np.zeros((1, 2, 2, 1)), tmp_path / "g.unknownext")


def _png_size(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()
        return im.size


def test_plot_losses_from_dict(tmp_path):
    history = {"d_loss": [1.2, 0.9, 0.7, 0.65], "g_loss": [0.5, 1.1, 1.4, 1.3]}
    out = pictures.plot_losses(history, tmp_path / "losses.png", title="dcgan")
    assert out == tmp_path / "losses.png"
    width, height = _png_size(out)
    assert width > 100 and height > 100
    assert os.listdir(tmp_path) == ["losses.png"]


def test_plot_losses_from_csv(tmp_path):
    csv_path = tmp_path / "history.csv"
    csv_path.write_text("epoch,d_loss,g_loss,note\n0,1.0,0.5,x\n1,0.8,,y\n2,0.7,0.9,z\n")
    pictures.plot_losses(csv_path, tmp_path / "plot.png")
    _png_size(tmp_path / "plot.png")
    series = pictures._read_csv(csv_path)
    assert set(series) == {"d_loss", "g_loss"}  # the non-numeric column is skipped
    epochs, values = series["d_loss"]
    assert epochs.tolist() == [1, 2, 3]  # keras's 0-based epochs, counted from 1
    assert np.isnan(series["g_loss"][1][1])


def test_plot_losses_with_no_data_still_writes(tmp_path):
    pictures.plot_losses({}, tmp_path / "empty.png")
    _png_size(tmp_path / "empty.png")
    (tmp_path / "empty.csv").write_text("")
    pictures.plot_losses(str(tmp_path / "empty.csv"), tmp_path / "empty2.png")
    _png_size(tmp_path / "empty2.png")
