"""The math of kzoo's image-quality metrics: pure numpy, float64, no keras.

Every function here works on plain arrays (features, class probabilities), so it can be
tested against closed forms on its own. kzoo.metrics.evaluate_images applies them to the
features of the kzoo-digits-v1 evaluator; numbers computed on other features are not
comparable with those, and none of this is "FID" (that name belongs to Inception-v3 pool3
features, which kzoo cannot download).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "kid",
    "precision_recall",
    "classifier_score",
    "class_histogram",
    "class_kl",
    "coverage",
]


def _as_2d_float64(name, a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def feature_statistics(features):
    """Mean and unbiased covariance (ddof=1), float64, of an (N, d) feature array, N >= 2."""
    f = _as_2d_float64("features", features)
    if f.shape[0] < 2:
        raise ValueError("need at least 2 samples for a covariance")
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s):
    """Symmetric square root of a symmetric PSD matrix (negative rounding eigenvalues -> 0)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr sqrt(A S2 A), with A = sqrt(S1) computed by an
    eigendecomposition. A S2 A is symmetric PSD, so its square root is real and equals
    Tr sqrt(S1 S2) of the usual formula without scipy's complex `sqrtm` detour. Tiny
    negative results from rounding are clipped to 0.
    """
    mu1 = np.asarray(mu1, dtype=np.float64).reshape(-1)
    mu2 = np.asarray(mu2, dtype=np.float64).reshape(-1)
    s1 = np.asarray(sigma1, dtype=np.float64)
    s2 = np.asarray(sigma2, dtype=np.float64)
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"shape mismatch: mu1 {mu1.shape}, sigma1 {s1.shape}, "
                         f"mu2 {mu2.shape}, sigma2 {s2.shape}")
    s1 = (s1 + s1.T) / 2
    s2 = (s2 + s2.T) / 2
    a = _psd_sqrt(s1)
    m = a @ s2 @ a
    eig = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = np.sqrt(np.clip(eig, 0.0, None)).sum()
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean
    return float(max(fd, 0.0))


def _poly_kernel(a, b, d):
    return (a @ b.T / d + 1.0) ** 3


def kid(real_features, fake_features, *, num_subsets=100, subset_size=1000, seed=0):
    """Kernel distance: unbiased squared MMD with the kernel k(x, y) = (x.y / d + 1)^3.

    Averaged over `num_subsets` pairs of subsets of size m = min(subset_size, N_real,
    N_fake), drawn without replacement by numpy.random.default_rng(seed). Returns
    (mean, standard deviation over the subsets - a spread, not a standard error).
    Unbiased for independent sets, so it is slightly negative now and then when both come
    from one distribution (and about -2 (mean k(x, x) - mean k(x, y)) / m for two copies
    of one set).
    """
    x_all = _as_2d_float64("real_features", real_features)
    y_all = _as_2d_float64("fake_features", fake_features)
    if x_all.shape[1] != y_all.shape[1]:
        raise ValueError("feature dimensions differ")
    d = x_all.shape[1]
    nx, ny = x_all.shape[0], y_all.shape[0]
    m = int(min(subset_size, nx, ny))
    if m < 2:
        raise ValueError("kid needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    draws = [(rng.choice(nx, m, replace=False), rng.choice(ny, m, replace=False))
             for _ in range(num_subsets)]
    if max(nx, ny) <= 4096:
        # Kernel matrices once; a subset's sums are w^T K w with w its 0/1 indicator.
        kxx, kyy, kxy = (_poly_kernel(x_all, x_all, d), _poly_kernel(y_all, y_all, d),
                         _poly_kernel(x_all, y_all, d))
        wx = np.zeros((num_subsets, nx))
        wy = np.zeros((num_subsets, ny))
        for i, (ix, iy) in enumerate(draws):
            wx[i, ix] = 1.0
            wy[i, iy] = 1.0
        sxx = ((wx @ kxx) * wx).sum(1) - wx @ np.diag(kxx)
        syy = ((wy @ kyy) * wy).sum(1) - wy @ np.diag(kyy)
        sxy = ((wx @ kxy) * wy).sum(1)
        values = (sxx + syy) / (m * (m - 1)) - 2.0 * sxy / (m * m)
    else:
        values = np.empty(num_subsets)
        for i, (ix, iy) in enumerate(draws):
            x, y = x_all[ix], y_all[iy]
            kxx, kyy, kxy = _poly_kernel(x, x, d), _poly_kernel(y, y, d), _poly_kernel(x, y, d)
            within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            values[i] = within - 2.0 * kxy.mean()
    return float(values.mean()), float(values.std())


def _sq_dists(a, b):
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.clip(d, 0.0, None)


def _knn_radii_sq(f, k, chunk=1024):
    """Squared distance of each row to its k-th nearest neighbour in f (itself excluded)."""
    n = f.shape[0]
    if n <= k:
        raise ValueError(f"need more than k={k} samples, got {n}")
    out = np.empty(n)
    for s in range(0, n, chunk):
        d = _sq_dists(f[s:s + chunk], f)
        # the row's own distance (0) is among the k+1 smallest; so is any duplicate's
        out[s:s + chunk] = np.partition(d, k, axis=1)[:, k]
    return out


def _fraction_inside(points, centres, radii_sq, chunk=1024):
    inside = np.empty(points.shape[0], dtype=bool)
    for s in range(0, points.shape[0], chunk):
        d = _sq_dists(points[s:s + chunk], centres)
        inside[s:s + chunk] = (d <= radii_sq[None, :]).any(axis=1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019), k-NN balls in feature space.

    precision: share of fake samples inside at least one real sample's ball (radius = distance
    to its k-th nearest real neighbour); recall: share of real samples inside at least one fake
    sample's ball. Both depend on the set sizes: compare at a fixed N.
    """
    real = _as_2d_float64("real_features", real_features)
    fake = _as_2d_float64("fake_features", fake_features)
    if real.shape[1] != fake.shape[1]:
        raise ValueError("feature dimensions differ")
    precision = _fraction_inside(fake, real, _knn_radii_sq(real, k))
    recall = _fraction_inside(real, fake, _knn_radii_sq(fake, k))
    return precision, recall


def _as_probs(probs):
    p = _as_2d_float64("probs", probs)
    if np.any(p < 0) or not np.allclose(p.sum(1), 1.0, atol=1e-4):
        raise ValueError("probs must be non-negative rows that sum to 1")
    return p / p.sum(1, keepdims=True)


def classifier_score(probs) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) the mean of p(y|x): at most the number of classes.

    The Inception-score analogue on the evaluator's class probabilities (10 for digits).
    """
    p = _as_probs(probs)
    py = p.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(py)[None, :]), 0.0)
    return float(min(np.exp(terms.sum(1).mean()), p.shape[1]))


def class_histogram(predicted, num_classes=10):
    """Counts of each class among integer predictions."""
    return np.bincount(np.asarray(predicted, dtype=np.int64).reshape(-1), minlength=num_classes)


def class_kl(counts, reference_counts, *, alpha=1.0) -> float:
    """KL(generated || reference) of two class histograms, in nats, after adding `alpha` to every count.

    The additive (Laplace) smoothing keeps it finite when a class is missing; with it, a set
    of N images all of one class scores about log(10) = 2.30 for large N.
    """
    p = np.asarray(counts, dtype=np.float64) + alpha
    q = np.asarray(reference_counts, dtype=np.float64) + alpha
    p /= p.sum()
    q /= q.sum()
    return float(max((p * np.log(p / q)).sum(), 0.0))


def coverage(counts, *, min_share=0.02) -> int:
    """Number of classes that receive at least `min_share` of the predictions (and at least one)."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    return int(np.sum((counts >= 1) & (counts >= min_share * n)))
