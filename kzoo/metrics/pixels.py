"""Pixel metrics of images against ground truth (numpy): pixels read in [0, 1], averaged over images.

* ``l1``: mean absolute difference;
* ``psnr``: peak signal-to-noise ratio in dB, 10 log10(1 / MSE) per image, capped at
  `PSNR_MAX` (100 dB) where an image is reproduced exactly (its PSNR is infinite);
* ``ssim``: structural similarity (Wang et al. 2004) with an 11x11 Gaussian window of sigma 1.5,
  K1 0.01, K2 0.03, over "valid" windows (as `tf.image.ssim`), averaged over channels.
"""

import numpy as np

PSNR_MAX = 100.0
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def _unit(images):
    return (np.asarray(images, np.float64) + 1.0) / 2.0


def _per_image_mean(values):
    return values.reshape(len(values), -1).mean(axis=1)


def l1(outputs, targets):
    """Mean absolute difference, pixels in [0, 1]."""
    return float(np.mean(np.abs(_unit(outputs) - _unit(targets))))


def psnr(outputs, targets):
    """Mean over images of 10 log10(1 / MSE), pixels in [0, 1]; an exact copy scores PSNR_MAX."""
    mse = _per_image_mean(np.square(_unit(outputs) - _unit(targets)))
    with np.errstate(divide="ignore"):
        per_image = np.where(mse > 0, -10.0 * np.log10(np.maximum(mse, 1e-300)), PSNR_MAX)
    return float(np.mean(np.minimum(per_image, PSNR_MAX)))


def _gaussian_taps(size, sigma):
    taps = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return taps / taps.sum()


def _valid_filter(x, taps):
    """Separable 'valid' filtering of (N, H, W, C) along height and width."""
    k = len(taps)
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    rows = sum(t * x[:, i : i + h] for i, t in enumerate(taps))
    return sum(t * rows[:, :, j : j + w] for j, t in enumerate(taps))


def ssim(outputs, targets):
    """Mean structural similarity over images (and channels); 1.0 for identical images."""
    x, y = _unit(outputs), _unit(targets)
    size = min(SSIM_WINDOW, x.shape[1], x.shape[2])
    size -= 1 - size % 2  # an odd window
    taps = _gaussian_taps(size, SSIM_SIGMA)
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    mu_x, mu_y = _valid_filter(x, taps), _valid_filter(y, taps)
    var_x = _valid_filter(x * x, taps) - mu_x * mu_x
    var_y = _valid_filter(y * y, taps) - mu_y * mu_y
    covariance = _valid_filter(x * y, taps) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * covariance + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(np.mean(_per_image_mean(index)))


def image_scores(outputs, targets, prefix=""):
    """{l1, psnr, ssim} of outputs against targets, keys prefixed."""
    return {f"{prefix}l1": l1(outputs, targets), f"{prefix}psnr": psnr(outputs, targets),
            f"{prefix}ssim": ssim(outputs, targets)}
