"""kzoo.metrics: known answers for the math, and sanity of the kzoo-digits-v1 metrics on real,
degraded and collapsed digit sets. Runs on whatever KERAS_BACKEND is set (jax is quickest)."""

import json
import os
import shutil

import numpy as np
import pytest

from kzoo.metrics import splits, stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- split (numpy only)

def test_split_is_fixed_stratified_and_disjoint():
    held, train = splits.heldout_indices(), splits.train_indices()
    _, y = splits.load_mnist5k()
    assert held.shape == (1000,) and train.shape == (4000,)
    assert np.bincount(y[held], minlength=10).tolist() == [100] * 10
    assert np.bincount(y[train], minlength=10).tolist() == [400] * 10
    assert np.intersect1d(held, train).size == 0
    assert np.array_equal(np.sort(np.concatenate([held, train])), np.arange(5000))
    assert splits.heldout_sha256() == splits.HELDOUT_SHA256


# ---------------------------------------------------------------- math with known answers

def test_frechet_distance_of_diagonal_gaussians_matches_closed_form():
    rng = np.random.default_rng(0)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    v1, v2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = stats.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert isinstance(got, float)


def test_frechet_distance_identical_statistics_is_zero_and_symmetric():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(500, 32)) @ rng.normal(size=(32, 32))
    mu, s = stats.feature_statistics(f)
    assert stats.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
    g = rng.normal(size=(400, 32)) * 1.5 + 0.2
    mu2, s2 = stats.feature_statistics(g)
    assert stats.frechet_distance(mu, s, mu2, s2) == pytest.approx(
        stats.frechet_distance(mu2, s2, mu, s), rel=1e-8)


def test_frechet_distance_agrees_with_scipy_sqrtm():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 20)) @ rng.normal(size=(20, 20))
    b = rng.normal(size=(300, 20)) @ rng.normal(size=(20, 20)) + 0.5
    mu1, s1 = stats.feature_statistics(a)
    mu2, s2 = stats.feature_statistics(b)
    covmean = scipy_linalg.sqrtm(s1 @ s2).real
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert stats.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-6)


def test_feature_statistics_use_unbiased_covariance():
    f = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    _, s = stats.feature_statistics(f)
    assert s[0, 0] == pytest.approx(4.0)  # var of 0, 2, 4 with ddof=1


def _kid_naive(x, y, num_subsets, subset_size, seed):
    d = x.shape[1]
    m = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    draws = [(rng.choice(len(x), m, replace=False), rng.choice(len(y), m, replace=False))
             for _ in range(num_subsets)]
    vals = []
    for ix, iy in draws:
        a, b = x[ix], y[iy]
        kxx, kyy, kxy = [(p @ q.T / d + 1) ** 3 for p, q in ((a, a), (b, b), (a, b))]
        off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))  # noqa: E731
        vals.append(off(kxx) + off(kyy) - 2 * kxy.mean())
    return np.mean(vals)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_otherwise():
    rng = np.random.default_rng(3)
    # unbiased: over many independent pairs of small samples the mean is 0 within its error
    reps = np.array([stats.kid(rng.normal(size=(40, 4)), rng.normal(size=(40, 4)),
                               num_subsets=1, subset_size=40)[0] for _ in range(400)])
    assert abs(reps.mean()) < 4 * reps.std() / np.sqrt(len(reps))
    x, y = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same, spread = stats.kid(x, y, num_subsets=50, subset_size=300, seed=0)
    shifted, _ = stats.kid(x, y + 0.5, num_subsets=50, subset_size=300, seed=0)
    assert abs(same) < 2 * spread
    assert shifted > 5 * spread
    # seeded, and the kernel-matrix shortcut equals the subset-by-subset estimate
    assert stats.kid(x, y, num_subsets=50, subset_size=300, seed=0)[0] == same
    assert same == pytest.approx(_kid_naive(x, y, 50, 300, 0), rel=1e-9, abs=1e-12)


def test_kid_large_sets_take_the_subset_path_with_the_same_answer():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(200, 4)), rng.normal(0.2, 1, size=(5000, 4))
    got, _ = stats.kid(x, y, num_subsets=5, subset_size=100, seed=7)
    assert got == pytest.approx(_kid_naive(x, y, 5, 100, 7), rel=1e-9)


def test_precision_recall_known_answers():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(200, 5))
    assert stats.precision_recall(a, a.copy(), k=3) == (1.0, 1.0)
    far = rng.normal(size=(200, 5)) + 100.0
    assert stats.precision_recall(a, far, k=3) == (0.0, 0.0)
    # two real clusters, fakes from one of them: fakes are realistic, half the reals uncovered
    real = np.concatenate([rng.normal(size=(200, 5)), rng.normal(size=(200, 5)) + 50])
    fake = rng.normal(size=(200, 5))
    precision, recall = stats.precision_recall(real, fake, k=3)
    assert precision > 0.8 and 0.35 < recall <= 0.5


def test_classifier_score_bounds():
    confident = np.eye(10)[np.arange(1000) % 10]
    assert stats.classifier_score(confident) == pytest.approx(10.0)
    assert stats.classifier_score(np.tile(np.eye(10)[3], (50, 1))) == pytest.approx(1.0)
    assert stats.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)
    p = np.random.default_rng(6).dirichlet(np.full(10, 0.05), size=500)
    assert 1.0 <= stats.classifier_score(p) <= 10.0


def test_class_kl_and_coverage():
    uniform = np.full(10, 100)
    assert stats.class_kl(uniform, uniform) == pytest.approx(0.0, abs=1e-12)
    single = np.zeros(10)
    single[3] = 100000
    assert stats.class_kl(single, uniform) == pytest.approx(np.log(10), rel=1e-3)
    assert np.isfinite(stats.class_kl(np.eye(10)[0] * 5, uniform))
    assert stats.coverage(uniform) == 10
    # one stray image among a thousand does not count as covering a class
    assert stats.coverage([991, 1, 1, 1, 1, 1, 1, 1, 1, 1]) == 1
    assert stats.coverage([500, 500, 0, 0, 0, 0, 0, 0, 0, 0]) == 2


# ---------------------------------------------------------------- the evaluator and its metrics

@pytest.fixture(scope="module")
def m():
    import kzoo.metrics

    return kzoo.metrics


@pytest.fixture(scope="module")
def real_train():
    x, y = splits.train_images()
    idx = np.random.default_rng(0).choice(len(x), 1000, replace=False)
    return x[idx], y[idx]


@pytest.fixture(scope="module")
def floor(m):
    return m.real_floor(1000)


def test_assets_are_small_and_described(m):
    info = m.load_info()
    assert info["id"] == m.EVALUATOR_ID == "kzoo-digits-v1"
    assert info["embedding_dim"] == 64
    assert info["heldout_accuracy"] >= 0.97
    weights = os.path.join(os.path.dirname(m.evaluator.__file__), "assets", info["weights_file"])
    assert os.path.getsize(weights) < 1_000_000


def test_reference_matches_the_weights(m):
    """Embedding the held-out images now gives the stored reference (weights and reference agree)."""
    x, y = splits.heldout_images()
    emb, probs = m.embed(x)
    ref = m.load_reference()
    np.testing.assert_allclose(emb, ref["embeddings"], atol=1e-4)
    np.testing.assert_allclose(probs, ref["probs"], atol=1e-4)
    assert np.array_equal(ref["indices"], splits.heldout_indices())
    assert np.mean(probs.argmax(1) == y) >= 0.97


def test_real_floor_is_good_and_matches_the_recorded_one(m, floor):
    assert floor["n"] == 1000 and floor["evaluator"] == "kzoo-digits-v1"
    assert floor["coverage"] == 10
    assert floor["classifier_score"] > 9.0
    assert floor["label_accuracy"] > 0.97
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8
    recorded = m.load_info()["real_floor_n1000"]
    for key in ("fd", "kid", "classifier_score", "class_kl", "precision", "recall"):
        assert floor[key] == pytest.approx(recorded[key], rel=1e-2, abs=1e-3), key


def test_identical_image_sets_score_at_or_below_the_floor(m, floor):
    x, _ = splits.heldout_images()
    r = m.evaluate_images(x)
    assert r["fd"] < 1e-3 <= floor["fd"]
    assert abs(r["kid"]) < 0.02
    assert r["precision"] == 1.0 and r["recall"] == 1.0
    assert r["class_kl"] == pytest.approx(0.0, abs=1e-9)


def test_fd_grows_with_gaussian_noise(m, real_train):
    x, _ = real_train
    rng = np.random.default_rng(1)
    fds = []
    for sigma in (0.0, 0.2, 0.4, 0.7, 1.0):
        noisy = np.clip(x + rng.normal(0, sigma, x.shape), -1, 1).astype("float32")
        fds.append(m.evaluate_images(noisy)["fd"])
    assert all(a < b for a, b in zip(fds, fds[1:])), fds


def test_fd_grows_with_blur(m, real_train):
    ndimage = pytest.importorskip("scipy.ndimage")
    x, _ = real_train
    fds = [m.evaluate_images(ndimage.gaussian_filter(x, (0, s, s, 0)).astype("float32"))["fd"]
           for s in (0.0, 0.5, 1.0, 1.5, 2.0)]
    assert all(a < b for a, b in zip(fds, fds[1:])), fds


@pytest.mark.parametrize("kind", ["black", "uniform"])
def test_garbage_scores_far_worse_than_real_digits(m, floor, kind):
    rng = np.random.default_rng(2)
    x = (-np.ones((1000, 28, 28, 1)) if kind == "black"
         else rng.uniform(-1, 1, (1000, 28, 28, 1))).astype("float32")
    r = m.evaluate_images(x)
    assert r["fd"] > 50 * floor["fd"]
    assert r["kid"] > 0.1
    assert r["precision"] < 0.2 and r["recall"] < 0.05
    assert r["coverage"] <= 2 and r["classifier_score"] < 2.0
    assert r["class_kl"] > 1.0


def test_single_class_sets_show_mode_collapse(m):
    x, y = splits.train_images()
    base = m.real_floor(400)
    precisions = []
    for c in range(10):
        r = m.evaluate_images(x[y == c], np.full(400, c))
        assert r["coverage"] == 1, (c, r["class_counts"])
        assert r["recall"] < 0.5 * base["recall"], c
        assert r["class_kl"] > 1.5
        assert r["classifier_score"] < 1.5
        assert r["label_accuracy"] > 0.95
        assert r["precision"] > base["precision"] - 0.08, c
        precisions.append(r["precision"])
    # real digits of one class are as realistic as a mixed set: precision not lower
    assert np.mean(precisions) > base["precision"] - 0.03


def test_classifier_score_counts_the_classes_a_set_holds(m):
    """The evaluator reads real digits confidently, so a set's classifier score is about
    exp(entropy of its class shares): k equally represented classes score about k, and
    300 zeros with 100 ones exp(H(0.75, 0.25)) = 1.75."""
    x, y = splits.train_images()

    def digits(counts):
        return x[np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate(counts)])]

    for k in (1, 2, 5, 10):
        assert m.evaluate_images(digits([100] * k))["classifier_score"] == pytest.approx(k, rel=0.1), k
    shares = np.array([0.75, 0.25])
    expected = np.exp(-np.sum(shares * np.log(shares)))
    assert m.evaluate_images(digits([300, 100]))["classifier_score"] == pytest.approx(expected, rel=0.1)


def test_label_accuracy(m, real_train):
    x, y = real_train
    assert m.evaluate_images(x, y)["label_accuracy"] > 0.97
    assert m.evaluate_images(x, np.eye(10)[y])["label_accuracy"] > 0.97
    shuffled = np.random.default_rng(3).permutation(y)
    assert m.evaluate_images(x, shuffled)["label_accuracy"] < 0.25
    assert "label_accuracy" not in m.evaluate_images(x)


def test_result_fields_and_seeded_kid(m, real_train):
    x, _ = real_train
    r1 = m.evaluate_images(x[:300], seed=5)
    r2 = m.evaluate_images(x[:300], seed=5)
    assert r1 == r2
    for key in ("fd", "kid", "classifier_score", "coverage", "class_kl", "precision",
                "recall", "n", "evaluator"):
        assert key in r1
    assert r1["n"] == 300 and r1["evaluator"] == "kzoo-digits-v1"
    assert isinstance(r1["fd"], float)
    json.dumps(r1)


@pytest.mark.parametrize("bad", [
    np.zeros((10, 28, 28), "float32"),          # no channel axis
    np.zeros((10, 1, 28, 28), "float32"),       # channels_first
    np.zeros((10, 32, 32, 1), "float32"),       # wrong size
    np.zeros((10, 28, 28, 1), "uint8"),         # integer pixels
    np.full((10, 28, 28, 1), 255.0, "float32"),  # 0..255 floats
    np.full((10, 28, 28, 1), np.nan, "float32"),
    np.zeros((2, 28, 28, 1), "float32"),        # too few for k=3 neighbours
])
def test_bad_images_raise_value_error(m, bad):
    with pytest.raises(ValueError):
        m.evaluate_images(bad)


def test_zero_one_images_warn(m, real_train):
    x, _ = real_train
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        m.evaluate_images((x[:50] + 1) / 2)


def test_bad_labels_and_floor_sizes_raise(m, real_train):
    x, y = real_train
    with pytest.raises(ValueError):
        m.evaluate_images(x[:20], y[:10])
    with pytest.raises(ValueError):
        m.evaluate_images(x[:20], y[:20] + 10)
    with pytest.raises(ValueError):
        m.real_floor(4001)


@pytest.mark.parametrize("asset", ["digit_evaluator.weights.h5", "heldout_reference.npz"])
def test_checksum_mismatch_raises(m, tmp_path, real_train, asset):
    from kzoo.errors import KzooError

    src = os.path.join(os.path.dirname(m.evaluator.__file__), "assets")
    for name in os.listdir(src):
        if os.path.isfile(os.path.join(src, name)):  # the digit evaluator's files, not the emoji32 folder
            shutil.copy(os.path.join(src, name), tmp_path / name)
    data = bytearray((tmp_path / asset).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / asset).write_bytes(bytes(data))
    with pytest.raises(m.EvaluatorChecksumError, match="sha256") as info:
        m.evaluate_images(real_train[0][:20], assets_dir=str(tmp_path))
    assert isinstance(info.value, KzooError)
    with pytest.raises(m.EvaluatorChecksumError):
        if asset.endswith(".h5"):
            m.load_evaluator(str(tmp_path))
        else:
            m.load_reference(str(tmp_path))


# ---------------------------------------------------------------- evaluators of any shape

def test_naming_the_digit_evaluator_changes_nothing(m, real_train):
    x, y = real_train
    assert m.evaluate_images(x[:300], y[:300], evaluator="digits") == m.evaluate_images(x[:300], y[:300])
    digits = m.open_evaluator()
    assert digits.id == "kzoo-digits-v1" and digits.input_shape == (28, 28, 1) and digits.num_classes == 10
    assert digits.floor == m.load_info()["real_floor_n1000"]


def test_coverage_counts_each_class_by_its_own_share():
    from kzoo.metrics import quality

    shares = np.array([0.6, 0.3, 0.1])
    min_shares = quality.COVERAGE_SHARE_OF_REAL * shares  # 0.12, 0.06, 0.02
    assert stats.coverage([870, 100, 30], min_share=min_shares) == 3
    assert stats.coverage([891, 100, 9], min_share=min_shares) == 2    # the rare class needs 2%
    assert stats.coverage([100, 800, 100], min_share=min_shares) == 2  # the common one needs 12%


@pytest.mark.parametrize("shape, widths, pool", [
    ((28, 28, 1), [32, 64, 64], True), ((32, 32, 3), [32, 64, 64], True), ((8, 8, 3), [32], True),
    ((4, 4, 3), [32], False), ((128, 64, 3), [32, 64, 64, 64], True),
])
def test_the_evaluator_network_follows_the_image_size(shape, widths, pool):
    from kzoo.metrics import network

    spec = network.architecture(shape, 5)
    assert spec["widths"] == widths and spec["pool"] is pool and spec["input_shape"] == list(shape)


def test_every_data_set_is_split_by_the_embedded_rule():
    from kzoo.data import readers
    from kzoo.data import splits as data_splits
    from kzoo.metrics import evaluator_data

    for name in ("mnist-5k", "emoji32"):
        heldout, train = evaluator_data.split(readers.embedded(name)[1])
        assert np.array_equal(heldout, data_splits.heldout_indices(name)), name
        assert np.array_equal(train, data_splits.train_indices(name)), name
