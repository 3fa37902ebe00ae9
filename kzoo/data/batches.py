"""The batches training feeds: seeded, full, and converted to float32 one batch at a time. numpy only.

An epoch is `steps` full batches (on JAX and XLA a ragged last batch would compile a second
step) taken from seeded per-pass shuffles of the data: pass p is the permutation
``numpy.random.default_rng([seed, p]).permutation(n)`` cut into `n // batch_size` batches, and
epoch e takes batches ``e * steps`` to ``(e + 1) * steps - 1`` of the passes laid end to end. The
order depends only on (seed, epoch), so a resumed run sees what an uninterrupted one would.

Images are held as stored (uint8, possibly a memory map: `kzoo.data.load_pixels`); `EpochBatches`
gathers and converts one batch at a time, so an epoch never exists as float32 unless asked for
with `EpochBatches.arrays()` (what training does when the epoch is small: `fits_in_arrays`).
"""

import mmap

import numpy as np

from kzoo.data.arrays import to_model_range

# Above this size, one epoch's float32 batches are fed one batch at a time rather than as arrays.
EPOCH_ARRAYS_LIMIT = 256 * 2**20


def epoch_indices(n, batch_size, steps, epoch, seed):
    """Row indices of one epoch's batches: int64 (steps, batch_size), in the order they are fed.

    Args:
        n: rows in the data set (at least `batch_size`).
        batch_size: rows per batch.
        steps: batches in the epoch.
        epoch: the epoch's index, from 0.
        seed: the run's seed.
    """
    per_pass = n // batch_size
    first = epoch * steps
    rows = np.empty((steps, batch_size), np.int64)
    orders = {}  # the passes this epoch touches, each permuted once
    for i, k in enumerate(range(first, first + steps)):
        pass_index, j = divmod(k, per_pass)
        if pass_index not in orders:
            orders = {pass_index: np.random.default_rng([seed, pass_index]).permutation(n)}
        rows[i] = orders[pass_index][j * batch_size : (j + 1) * batch_size]
    return rows


def gather(array, rows):
    """`array[rows]` read in ascending row order, returned in `rows`' order.

    The same values as `array[rows]`. A whole memory-mapped file (`kzoo.data.load_pixels` of an
    .npy) is read with plain file reads instead of through the mapping: a page fault maps a whole
    folio of the page cache around it (measured here: 1.6 MB per 12 kB image, read-ahead off), so
    a 20-step epoch of 64x64 images left 700 MB of a 60,000-image file resident in the process,
    growing with the file; file reads leave the pages in the page cache, outside the process.
    """
    order = np.argsort(rows, kind="stable")
    out = np.empty((len(rows),) + array.shape[1:], array.dtype)
    source = _mapped_file(array)
    if source is None:
        out[order] = array[rows[order]]
        return out
    path, offset = source
    row_bytes = out[0].nbytes
    flat = out.reshape(len(rows), row_bytes // out.itemsize)
    with open(path, "rb", buffering=0) as f:
        for i in order:
            f.seek(offset + int(rows[i]) * row_bytes)
            if f.readinto(memoryview(flat[i]).cast("B")) != row_bytes:
                raise OSError(f"{path} ended before row {int(rows[i])}")
    return out


def _mapped_file(array):
    """(path, offset of row 0) when `array` is all of a C-ordered np.memmap of a file, else None."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (isinstance(root, np.memmap) and isinstance(root.base, mmap.mmap) and root.filename):
        return None
    same = (array.__array_interface__["data"][0] == root.__array_interface__["data"][0]
            and array.nbytes == root.nbytes and array.flags.c_contiguous and root.flags.c_contiguous)
    return (root.filename, root.offset) if same else None


class EpochBatches:
    """One epoch's batches of images (and labels or targets), made when asked for.

    Indexing gives batch j as `(x, y)`: the images float32 NHWC in [-1, 1] (`to_model_range` of
    the stored pixels), and `y` the labels as stored, the targets of image pairs converted like
    the images, or None.

    Args:
        x: the stored images (uint8 or float32 NHWC, an array or a memory map).
        y: labels (n,), targets (n, H, W, C) or None.
        batch_size, steps, epoch, seed: as `epoch_indices`.
    """

    def __init__(self, x, y, batch_size, steps, epoch, seed):
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.rows = epoch_indices(len(x), batch_size, steps, epoch, seed)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, j):
        if not 0 <= j < len(self.rows):
            raise IndexError(f"batch {j} of an epoch of {len(self.rows)}")
        rows = self.rows[j]
        x = _as_float(gather(self.x, rows))
        return x, None if self.y is None else _converted(gather(self.y, rows))

    def float32_nbytes(self):
        """Bytes of the whole epoch as float32 arrays: what `arrays()` would hold."""
        per_row = _float32_bytes(self.x) + (0 if self.y is None else _float32_bytes(self.y))
        return self.rows.size * per_row

    def arrays(self):
        """The whole epoch as arrays, `(x, y)`: the same values as the batches one after the other,
        each filled batch by batch (no uint8 copy of the epoch on the way)."""
        x = np.empty((self.rows.size,) + self.x.shape[1:], np.float32)
        y = None
        if self.y is not None:
            dtype = np.float32 if _is_images(self.y) else self.y.dtype
            y = np.empty((self.rows.size,) + self.y.shape[1:], dtype)
        for j in range(len(self)):
            part = slice(j * self.batch_size, (j + 1) * self.batch_size)
            x[part], yb = self[j]
            if y is not None:
                y[part] = yb
        return x, y


def fits_in_arrays(batches, limit=None):
    """Whether an epoch is small enough to feed as arrays (`EpochBatches.arrays()`): at most
    `limit` bytes (None: `EPOCH_ARRAYS_LIMIT`, read at the call)."""
    return batches.float32_nbytes() <= (EPOCH_ARRAYS_LIMIT if limit is None else limit)


class ModelRangeView:
    """Stored images seen as float32 in [-1, 1], converted only where indexed.

    What a model's `preview_grid(data=...)` gets: it picks a few rows (`view[rows]`) and never
    pays for the rest. `np.asarray(view)` converts everything.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, pixels):
        self.pixels = pixels

    @property
    def shape(self):
        return self.pixels.shape

    @property
    def ndim(self):
        return self.pixels.ndim

    def __len__(self):
        return len(self.pixels)

    def __getitem__(self, key):
        return to_model_range(np.asarray(self.pixels[key]))

    def __array__(self, dtype=None, copy=None):
        out = to_model_range(np.asarray(self.pixels))
        return out if dtype is None else out.astype(dtype, copy=False)


def model_range(array):
    """`array` as float32 in [-1, 1] for reading: itself when it already is float32, else a `ModelRangeView`."""
    if array is None or not _is_images(array) or array.dtype == np.float32:
        return array
    return ModelRangeView(array)


def _is_images(array):
    return getattr(array, "ndim", 0) == 4


def _float32_bytes(array):
    """Bytes of one row of `array` fed as a model takes it: images as float32, labels as stored."""
    per_row = int(np.prod(array.shape[1:], dtype=np.int64))
    return per_row * (4 if _is_images(array) else array.dtype.itemsize)


def _as_float(images):
    """A gathered batch (a new array) as float32 in [-1, 1], converted in place of a copy where it can."""
    return to_model_range(images) if images.dtype.kind in "iu" else images.astype(np.float32, copy=False)


def _converted(y):
    return _as_float(y) if _is_images(y) else y
