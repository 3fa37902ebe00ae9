"""Arrays as kzoo holds images and labels: checks and conversion, one-line errors. numpy only.

Models take images as float32 NHWC in [-1, 1] (the range of a tanh generator); labels int32 of
shape (n,). Training holds the pixels as stored (`stored_images`: uint8, or float32 for data
sets of floats) and converts one batch at a time (`to_model_range`).
"""

import numpy as np

from kzoo.errors import DatasetError


def check_fits(x, image_shape, y=None, num_classes=None):
    """Raise DatasetError unless images `x` (N, H, W, C) match a model's `image_shape` (H, W, C).

    For a conditional model, also pass the labels `y` and the model's
    `num_classes`: the labels must exist and lie in 0..num_classes-1.
    """
    want = tuple(int(d) for d in image_shape)
    shape = tuple(np.shape(x))
    if len(shape) != 4:
        raise DatasetError(
            f"images have shape {shape}; expected a batch of images (N, height, width, channels)"
        )
    have = shape[1:]
    if have != want:
        raise DatasetError(
            f"images are {dims(have)} but the model takes {dims(want)} (image_shape); "
            f"pass --set image_shape={','.join(map(str, have))} or use a dataset of {dims(want)} images"
        )
    if num_classes is not None:
        if y is None:
            raise DatasetError(
                "this model is conditional and needs labels, but the dataset has none; "
                "use an .npz file with a y array or a folder with one subfolder per class"
            )
        y = np.asarray(y)
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise DatasetError(
                f"labels run from {int(y.min())} to {int(y.max())} but the model has num_classes={num_classes}; "
                f"pass --set num_classes={int(y.max()) + 1}"
            )


def to_images(x, source):
    """Check shape and value range of `x`; return float32 NHWC in [-1, 1] (always a new array)."""
    pixels = stored_images(x, source)
    if np.issubdtype(pixels.dtype, np.integer):
        return to_model_range(pixels)
    return pixels  # floats: stored_images made a new float32 array in [-1, 1]


def stored_images(x, source, value_range=None):
    """Check shape and value range of `x`; return its pixels as kzoo holds them: NHWC, integers 0-255 or float32.

    Integer (and boolean) pixels come back as uint8 0-255: a uint8 array itself, or a memory map
    of one, unchanged but for a channel axis added as a view (every uint8 value is a valid pixel,
    so nothing is read); other integer types checked against 0-255 and narrowed, except a memory
    map, which stays as it is (narrowing would read it whole). Floats come back as float32 in
    [-1, 1], read by range as `kzoo.data.load` documents (a new array). `to_model_range` turns
    any of them into the model's float32 [-1, 1].

    `value_range`: (min, max) of integer pixels when the caller has measured it (a memory map,
    checked in chunks from its file: `kzoo.data.readers.npy_file`), so that it is not read here.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DatasetError(f"{source}: x has dtype {x.dtype}; expected uint8 pixels or floats")
    if x.ndim == 3:
        x = x[..., None]
    elif x.ndim != 4:
        raise DatasetError(
            f"{source}: x has shape {x.shape} ({x.ndim} dimensions); expected (N, H, W) or (N, H, W, C)"
        )
    n, h, w, c = x.shape
    if c not in (1, 3):
        hint = " (it looks channels-first: transpose it to (N, H, W, C))" if x.shape[1] in (1, 3) else ""
        raise DatasetError(
            f"{source}: x has shape {x.shape} with {c} channels; expected 1 (grayscale) or 3 (RGB) channels last{hint}"
        )
    if n == 0 or h == 0 or w == 0:
        raise DatasetError(f"{source}: x has shape {x.shape} and holds no images; expected at least one image")

    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = value_range if value_range is not None else (int(x.min()), int(x.max()))
        if lo < 0 or hi > 255:
            raise DatasetError(f"{source}: integer pixels run from {lo} to {hi}; expected 0-255")
        return x if isinstance(x, np.memmap) else x.astype(np.uint8)

    if np.issubdtype(x.dtype, np.complexfloating):
        raise DatasetError(f"{source}: x is complex; expected uint8 pixels or real floats")
    out = x.astype(np.float32)  # always a copy: the caller may own x
    lo, hi = float(out.min()), float(out.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DatasetError(f"{source}: x contains NaN or infinite values; expected finite pixel values")
    if lo >= 0.0 and hi <= 1.0:  # [0, 1]
        out *= 2.0
        out -= 1.0
    elif lo >= -1.0 and hi <= 1.0:  # already [-1, 1]
        pass
    elif lo >= 0.0 and hi <= 255.0:  # 0-255 stored as floats
        out /= 127.5
        out -= 1.0
    else:
        raise DatasetError(
            f"{source}: float pixels run from {lo:g} to {hi:g}; expected [0, 1], [-1, 1] or 0-255"
        )
    np.clip(out, -1.0, 1.0, out=out)  # rounding at the edges
    return out


def to_model_range(pixels):
    """Pixels as `stored_images` returns them (integers 0-255, or float32 already in [-1, 1]) ->
    a new float32 array in [-1, 1]. Training calls it one batch at a time."""
    if np.issubdtype(pixels.dtype, np.integer):
        out = pixels.astype(np.float32)
        out /= 127.5
        out -= 1.0
        return out
    return np.array(pixels, dtype=np.float32)  # a copy: the caller may own (or map) `pixels`


def to_labels(y, n, source):
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(
            f"{source}: y has shape {y.shape}; expected one integer label per image, shape ({n},)"
        )
    if len(y) != n:
        raise DatasetError(f"{source}: y has {len(y)} labels but x has {n} images; expected one label per image")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating) or y.dtype == np.bool_):
        raise DatasetError(f"{source}: y has dtype {y.dtype}; expected integer labels 0..K-1")
    if np.issubdtype(y.dtype, np.floating) and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
        raise DatasetError(f"{source}: y holds non-integer values; expected integer labels 0..K-1")
    if n and y.min() < 0:
        raise DatasetError(f"{source}: y holds negative labels ({y.min()}); expected integer labels 0..K-1")
    if n and y.max() > np.iinfo(np.int32).max:
        raise DatasetError(f"{source}: y holds labels too large for int32; expected integer labels 0..K-1")
    return y.astype(np.int32)


def dims(shape):
    return "x".join(str(d) for d in shape)


def one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > 200:
        text = text[:197] + "..."
    return text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}"
