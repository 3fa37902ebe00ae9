"""The fixed numpy transforms that derive kzoo's image-to-image tasks from the embedded digits.

Images are float32 NHWC in [-1, 1]. Outlines and thick strokes are grey morphology (3x3 dilation
and erosion); the masked task blanks a centred square with the train split's mean colour
(Pathak et al.'s fill); the noisy task blurs (Gaussian) and adds noise with a fixed seed.
"""

import numpy as np

from kzoo.data import splits
from kzoo.errors import DatasetError

# The masked task's hole: a centred square, the size context-encoder fills by default.
HOLE_SIZE = 12
# The noisy task's degradation, in the [-1, 1] pixel scale.
BLUR_SIGMA, NOISE_SIGMA = 1.0, 0.4


def _neighbourhood(x01, radius=1):
    """The (2r+1)^2 shifted copies of images (N, H, W, C), zero outside: (k, N, H, W, C)."""
    pad = ((0, 0), (radius, radius), (radius, radius), (0, 0))
    padded = np.pad(x01, pad)
    h, w = x01.shape[1:3]
    span = 2 * radius + 1
    return np.stack([padded[:, i : i + h, j : j + w] for i in range(span) for j in range(span)])


def _to01(x):
    return (np.asarray(x, np.float32) + 1.0) / 2.0


def _from01(x01):
    return np.clip(x01 * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)


def edges(x):
    """The outline of each digit: 3x3 grey dilation minus 3x3 grey erosion (a morphological gradient)."""
    shifted = _neighbourhood(_to01(x))
    return _from01(shifted.max(axis=0) - shifted.min(axis=0))


def thicken(x):
    """Strokes thickened by a 3x3 grey dilation (about 2 px wider)."""
    return _from01(_neighbourhood(_to01(x)).max(axis=0))


def hole_box(image_shape, size=HOLE_SIZE):
    """(top, left, size) of the centred square hole in images of `image_shape`."""
    h, w = image_shape[:2]
    if size > min(h, w):
        raise DatasetError(f"a {size}x{size} hole does not fit in {h}x{w} images")
    return (h - size) // 2, (w - size) // 2, size


def mask_centre(x, fill, size=HOLE_SIZE):
    """Images with their centred `size` x `size` square set to `fill` (Pathak et al.'s mean fill)."""
    top, left, size = hole_box(x.shape[1:], size)
    masked = np.array(x, dtype=np.float32, copy=True)
    masked[:, top : top + size, left : left + size, :] = fill
    return masked


def _gaussian_blur(x, sigma):
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = np.asarray(x, np.float64)
    for axis in (1, 2):  # separable: rows, then columns; edges repeat the border pixel
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        size = out.shape[axis]
        out = sum(t * np.take(padded, np.arange(k, k + size), axis=axis) for k, t in enumerate(taps))
    return out.astype(np.float32)


def degrade(x, seed):
    """Blurred (Gaussian, BLUR_SIGMA px) and noisy (NOISE_SIGMA, in [-1, 1] units) images, clipped."""
    rng = np.random.default_rng(seed)
    noisy = _gaussian_blur(x, BLUR_SIGMA) + rng.normal(0.0, NOISE_SIGMA, np.shape(x)).astype(np.float32)
    return np.clip(noisy, -1.0, 1.0).astype(np.float32)


def mean_colour():
    """The mean pixel value of the train split in [-1, 1]: the masked task's fill."""
    x, _ = splits.train_images()
    return float(np.mean(x))
