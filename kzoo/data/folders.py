"""Reading a folder of images: the listing, both passes on a thread pool, a progress bar. numpy and Pillow.

Pillow decodes with the GIL released, so a pool of `os.cpu_count()` threads reads a folder
about that many times faster than one loop. Two passes: the headers first (size and mode, no
pixels), so that a size mismatch is reported before anything is decoded and the array can be
made once at its final size and colour depth; then every image decoded into its row of it.
Each pass hands the pool chunks of files rather than one file at a time, and both keep the
files' order: the first file that does not fit is the one reported, as a loop would.
"""

import concurrent.futures
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from kzoo.data import specs
from kzoo.data.arrays import one_line
from kzoo.errors import DatasetError

# A bar for folders of more files than this (a few seconds' read), on a terminal or when asked.
PROGRESS_MIN_FILES = 2000
_CHUNK = 64  # files per task: few enough tasks for the pool, small enough to share the work out


def image_folder_pixels(folder, progress=None, workers=None):
    """The images of a folder as decoded: (x uint8 (N, H, W, C), y int32 labels or None).

    Args:
        folder: a folder laid out as `kzoo.data.load` documents (class subfolders, or images).
        progress: show a progress bar on stderr: None (the default) shows one for more than
            `PROGRESS_MIN_FILES` files when stderr is a terminal; True or False decide.
        workers: threads that read files (None: `os.cpu_count()`).
    """
    folder = Path(folder)
    files, y = _listing(folder)
    workers = max(1, min(workers or os.cpu_count() or 1, -(-len(files) // _CHUNK)))
    show = len(files) > PROGRESS_MIN_FILES and _is_terminal(sys.stderr) if progress is None else bool(progress)
    bar = _Progress(f"reading {folder}", 2 * len(files)) if show else None  # two passes
    chunks = [files[i : i + _CHUNK] for i in range(0, len(files), _CHUNK)]
    try:
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="kzoo-images") as pool:
            headers = [h for part in _in_order(pool, _headers, chunks, bar) for h in part]
            size, channels = _one_size(files, headers)
            width, height = size
            x = np.empty((len(files), height, width, channels), dtype=np.uint8)
            starts = range(0, len(files), _CHUNK)
            list(_in_order(pool, lambda start: _decode_into(x, files, start, channels), starts, bar))
    finally:
        if bar is not None:
            bar.close()
    return x, y


def _in_order(pool, work, items, bar):
    """`work(item)` for every item on `pool`, results in order; the first error raised stops the rest."""
    futures = [pool.submit(_counted, work, item, bar) for item in items]
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()


def _counted(work, item, bar):
    """`work(item)`, which returns the files it read (a list) or their count, counted on the bar."""
    result = work(item)
    if bar is not None:
        bar.advance(result if isinstance(result, int) else len(result))
    return result


def _listing(folder):
    """(files, labels or None) of a folder: class subfolders give labels 0..K-1 by sorted name."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    class_dirs = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if p.is_file() and p.suffix.lower() in specs.IMAGE_EXTENSIONS]
    exts = " ".join(specs.IMAGE_EXTENSIONS)

    if class_dirs and loose:
        raise DatasetError(
            f"{folder} mixes images ({loose[0].name}) and subfolders ({class_dirs[0].name}); "
            "put every image in a class subfolder, or all images directly in the folder"
        )
    if class_dirs:
        files, labels = [], []
        for label, class_dir in enumerate(class_dirs):
            found = images_under(class_dir)
            if not found:
                raise DatasetError(
                    f"class folder {class_dir} holds no images ({exts}); remove it or add images to it"
                )
            files += found
            labels += [label] * len(found)
        return files, np.asarray(labels, dtype=np.int32)
    if loose:
        return loose, None
    raise DatasetError(
        f"{folder} holds no images ({exts}); expected images directly in it or one subfolder per class"
    )


def _headers(paths):
    """[(path, (width, height), mode)] of each file, from its header alone (no pixels decoded)."""
    from PIL import Image, UnidentifiedImageError

    found = []
    for path in paths:
        try:
            with Image.open(path) as im:
                found.append((path, im.size, im.mode))
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise DatasetError(f"could not read image {path} ({one_line(e)})") from e
    return found


def _one_size(files, headers):
    """((width, height), channels) that every image shares; a one-line error at the first that differs."""
    first, size = files[0], headers[0][1]
    for path, im_size, _ in headers:
        if im_size != size:
            raise DatasetError(
                f"images differ in size: {path} is {im_size[0]}x{im_size[1]} pixels but {first} is "
                f"{size[0]}x{size[1]} (width x height); resize them all to one size"
            )
    all_gray = all(_is_gray(mode) for _, _, mode in headers)
    return size, 1 if all_gray else 3


def _decode_into(x, files, start, channels):
    """Decode files[start : start + _CHUNK] into the same rows of `x`."""
    from PIL import Image, UnidentifiedImageError

    for i in range(start, min(start + _CHUNK, len(files))):
        try:
            with Image.open(files[i]) as im:
                x[i] = _pixels(im, channels)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise DatasetError(f"could not read image {files[i]} ({one_line(e)})") from e
    return min(start + _CHUNK, len(files)) - start


class _Progress:
    """`label: 20% of 30,000 images` on one line of stderr, redrawn at most five times a second.

    `total` counts a step per file and pass (headers, then pixels)."""

    def __init__(self, label, total, stream=None):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._drawn = 0.0
        self._draw()

    def advance(self, count):
        with self._lock:
            self.done = min(self.total, self.done + count)
            now = time.monotonic()
            if now - self._drawn >= 0.2 or self.done == self.total:
                self._draw()
                self._drawn = now

    def close(self):
        with self._lock:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self):
        share = 100 * self.done // max(1, self.total)
        self.stream.write(f"\r{self.label}: {share}% of {self.total // 2:,} images")
        self.stream.flush()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def images_under(folder):
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in specs.IMAGE_EXTENSIONS:
                found.append(Path(root) / name)
    return found


_GRAY_MODES = ("1", "L", "LA", "La", "I", "F")


def _is_gray(mode):
    return mode in _GRAY_MODES or mode.startswith("I;")


def _pixels(im, channels):
    """Decode an open PIL image to a uint8 (H, W, channels) array."""
    im.seek(0)  # first frame of an animation
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im, dtype=np.float64)
        # 16-bit samples: I;16 always, I when a value needs more than 8 bits.
        scale = 257.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 1.0
        gray = np.clip(np.round(arr / scale), 0, 255).astype(np.uint8)
    elif _is_gray(mode):
        if mode in ("LA", "La"):
            im = _over_black(im.convert("RGBA")).convert("L")
        gray = np.asarray(im.convert("L"), dtype=np.uint8)
    else:
        has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
        rgb = _over_black(im.convert("RGBA")) if has_alpha else im.convert("RGB")
        return np.asarray(rgb, dtype=np.uint8)
    if channels == 1:
        return gray[:, :, None]
    return np.repeat(gray[:, :, None], 3, axis=2)


def _over_black(rgba):
    from PIL import Image

    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
