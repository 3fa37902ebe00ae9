"""Turn generated images into pictures: image grids and loss-curve plots.

No keras here: this module takes NumPy arrays (or anything `np.asarray` takes,
including TensorFlow, JAX and CPU PyTorch tensors) and writes files with Pillow
and matplotlib. Every file is written atomically: to a temporary file in the
same folder, then renamed over the target, so a reader never sees half a file.
"""

import csv
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["grid", "plot_losses", "save_grid", "to_uint8"]


def to_uint8(images):
    """Map floats in [-1, 1] to uint8 0-255 (-1 -> 0, 0 -> 128, 1 -> 255); any shape.

    Values outside [-1, 1] are clipped; NaN becomes 0 (mid grey), +inf 255, -inf 0.
    """
    x = _as_numpy(images).astype(np.float32)  # a copy
    np.nan_to_num(x, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    np.clip(x, -1.0, 1.0, out=x)
    x += 1.0
    x *= 127.5
    return np.rint(x).astype(np.uint8)


def grid(images, nrow=None, padding=2, pad_value=0):
    """Tile a batch of images into one PIL image.

    `images` is (N, H, W, C) with C = 1 or 3, or (N, H, W). A uint8 array is taken
    as 0-255 pixels; anything else as floats in [-1, 1] (see `to_uint8`).
    `nrow` is the number of images per row (default: ceil(sqrt(N)), a near-square
    grid); the last row is filled with `pad_value`. `padding` pixels of `pad_value`
    (0-255) separate the images and surround the grid, so the result is
    ``ncol * (W + padding) + padding`` wide and ``rows * (H + padding) + padding`` high
    with ``ncol = min(nrow, N)``. Returns a mode "L" image for 1 channel, "RGB" for 3.
    """
    from PIL import Image

    x = _as_numpy(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"images have shape {x.shape}; expected (N, H, W, C) with C = 1 or 3, or (N, H, W)")
    n, h, w, c = x.shape
    if n == 0:
        raise ValueError("no images to put in a grid")
    if x.dtype != np.uint8:
        x = to_uint8(x)
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    nrow = int(nrow)
    if nrow < 1:
        raise ValueError(f"nrow must be at least 1, not {nrow}")
    padding = int(padding)
    if padding < 0:
        raise ValueError(f"padding must be 0 or more, not {padding}")
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    canvas = np.full(
        (rows * (h + padding) + padding, cols * (w + padding) + padding, c), int(pad_value), dtype=np.uint8
    )
    for i in range(n):
        r, col = divmod(i, cols)
        top = padding + r * (h + padding)
        left = padding + col * (w + padding)
        canvas[top : top + h, left : left + w] = x[i]
    if c == 1:
        return Image.fromarray(canvas[:, :, 0], mode="L")
    return Image.fromarray(canvas, mode="RGB")


def save_grid(images, path, nrow=None, padding=2):
    """Write `grid(images, nrow, padding)` to `path`, atomically; return the path.

    The format follows the extension (.png recommended; PNG when there is none).
    Missing parent folders are created.
    """
    from PIL import Image

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix:
        fmt = Image.registered_extensions().get(suffix)
        if fmt is None:
            raise ValueError(f"cannot save an image as {suffix!r}; use a name ending in .png")
    else:
        fmt = "PNG"
    picture = grid(images, nrow=nrow, padding=padding)
    _atomic_write(path, lambda tmp: picture.save(tmp, format=fmt))
    return path


def plot_losses(history, path, title=None):
    """Plot loss curves to a PNG at `path`, atomically; return the path.

    `history` is a dict of column name -> per-epoch values (like keras's
    ``History.history``, e.g. ``{"d_loss": [...], "g_loss": [...]}``), or the path
    of a CSV file with a header row (like keras's CSVLogger writes). One line is
    drawn per numeric column. Epochs, on the x axis, count from 1: for a dict,
    value i belongs to epoch i + 1; a CSV's ``epoch`` column is used when present
    (shifted by one when it starts at 0, keras's convention), else the row number.
    Cells that are empty or not numbers are left out of their line. With no data
    the plot says so instead of failing.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(history, Mapping):
        series = {}
        for name, values in history.items():
            values = _floats(values)
            series[str(name)] = (np.arange(1, len(values) + 1), values)
    else:
        series = _read_csv(history)

    # Not pyplot: no global state, no GUI backend, safe inside notebooks and threads.
    fig = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    drawn = 0
    for name, (epochs, values) in series.items():
        keep = np.isfinite(values)
        if not keep.any():
            continue
        ep, vals = epochs[keep], values[keep]
        ax.plot(ep, vals, label=name, marker="o" if len(vals) <= 30 else None, markersize=3)
        drawn += 1
    if drawn:
        ax.legend()
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        ax.text(0.5, 0.5, "no epochs recorded yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title if title is not None else "Training losses")
    fig.tight_layout()
    path = Path(path)
    _atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


# --------------------------------------------------------------------------- helpers


def _as_numpy(a):
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor, maybe on a GPU or needing grad
        a = a.detach().cpu()
    return np.asarray(a)


def _floats(values):
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(math.nan)
    return np.asarray(out, dtype=np.float64)


def _read_csv(csv_path):
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        return {}
    header, body = [h.strip() for h in rows[0]], rows[1:]
    columns = {name: _floats(row[i] if i < len(row) else "" for row in body) for i, name in enumerate(header)}
    if "epoch" in columns and np.all(np.isfinite(columns["epoch"])) and len(body):
        epochs = columns.pop("epoch")
        if epochs.min() == 0:
            epochs = epochs + 1
    else:
        columns.pop("epoch", None)
        epochs = np.arange(1, len(body) + 1, dtype=np.float64)
    return {name: (epochs, values) for name, values in columns.items() if np.isfinite(values).any()}


def _atomic_write(path, write):
    """Call write(tmp_path) on a new file next to `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 honours the umask, unlike tempfile's 0o600.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
