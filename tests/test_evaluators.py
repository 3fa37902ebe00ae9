"""Evaluators for any data set: `kzoo fit-evaluator`, `kzoo evaluate --evaluator/--reference/--inception-weights`,
the evaluator directory's checks, and the shipped kzoo-emoji32-v1.

One tiny labelled colour set (red squares and blue bars, 8x8x3) is fitted once for the module;
one tiny DCGAN run on it is scored. Runs on the tox environment's backend.
"""

import json
import os
import shutil

import numpy as np
import pytest
from conftest import TINY_TRAIN, assert_one_line_error, kzoo_cli, run_python

from kzoo.metrics import evaluator_data, evaluators

kzoo = kzoo_cli
SIDE = 8
PER_CLASS = 40


def shapes(per_class=PER_CLASS, side=SIDE, seed=0):
    """Two classes of simple colour shapes on white: 0 a red-ish 3x3 square, 1 a blue-ish bar 2 pixels high."""
    rng = np.random.default_rng(seed)
    x = np.full((2 * per_class, side, side, 3), 255, np.uint8)
    for i in range(per_class):
        top, left = rng.integers(0, side - 3, 2)
        x[i, top:top + 3, left:left + 3] = [rng.integers(170, 255), rng.integers(0, 80), rng.integers(0, 80)]
        row = rng.integers(0, side - 2)
        x[per_class + i, row:row + 2, :] = [rng.integers(0, 80), rng.integers(0, 80), rng.integers(170, 255)]
    return x, np.repeat([0, 1], per_class)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    x, y = shapes()
    np.savez(folder / "shapes.npz", x=x, y=y, class_names=np.array(["square", "bar"]))
    np.savez(folder / "unlabelled.npz", x=shapes(seed=1)[0])
    return folder


@pytest.fixture(scope="module")
def fitted(labelled):
    out = labelled / "evaluator"
    code, output = kzoo("fit-evaluator", labelled / "shapes.npz", "--out", out, "--epochs", 8, "--batch-size", 16,
                        "--json")
    assert code == 0, output
    return out, json.loads(output[output.index("{"):])


@pytest.fixture(scope="module")
def run(labelled):
    run = labelled / "run"
    code, output = kzoo("train", "dcgan", "--dataset", labelled / "shapes.npz", "--set", "width=2", "--out", run,
                        *TINY_TRAIN)
    assert code == 0, output
    return run


# ------------------------------------------------------------------------------ fitting
def test_fit_evaluator_learns_a_colour_set_well_above_chance(fitted):
    out, info = fitted
    assert sorted(os.listdir(out)) == ["evaluator.json", "evaluator.weights.h5", "reference.npz"]
    assert info["chance_accuracy"] == 0.5
    assert info["heldout_accuracy"] >= 0.8 and info["heldout_balanced_accuracy"] >= 0.8
    assert info["input_shape"] == [SIDE, SIDE, 3] and info["num_classes"] == 2
    assert info["class_names"] == ["square", "bar"]
    # The split is kzoo's rule, so it is found again from the data set alone.
    assert info["data"]["heldout"] == 16 and info["data"]["train"] == 64
    floor = info["real_floor"]
    assert floor["n"] == 64 and floor["n_reference"] == 16 and floor["coverage"] == 2
    assert floor["precision"] > 0.5 and floor["recall"] > 0.5
    reference = np.load(out / "reference.npz")
    heldout, _ = evaluator_data.split(np.repeat([0, 1], PER_CLASS))
    assert np.array_equal(reference["indices"], heldout)
    assert reference["embeddings"].shape == (16, 64) and reference["probs"].shape == (16, 2)


def test_fitting_is_deterministic_for_a_seed(labelled, fitted, tmp_path):
    out, info = fitted
    code, output = kzoo("fit-evaluator", labelled / "shapes.npz", "--out", tmp_path / "again", "--epochs", 8,
                        "--batch-size", 16, "--json")
    assert code == 0, output
    again = json.loads(output[output.index("{"):])
    assert again["heldout_accuracy"] == info["heldout_accuracy"]
    np.testing.assert_allclose(np.load(tmp_path / "again" / "reference.npz")["embeddings"],
                               np.load(out / "reference.npz")["embeddings"], atol=1e-5)


def test_fit_evaluator_prints_accuracy_and_floor(labelled, tmp_path):
    code, output = kzoo("fit-evaluator", labelled / "shapes.npz", "--out", tmp_path / "ev", "--epochs", 1)
    assert code == 0, output
    assert "held-out accuracy" in output and "chance, the largest class's share: 0.5000" in output
    assert "real-vs-real floor at N=64: fd" in output and "coverage" in output


def test_fit_evaluator_refuses_in_one_line(labelled, fitted, tmp_path):
    out, _ = fitted
    x, _ = shapes()
    np.savez(tmp_path / "one-class.npz", x=x, y=np.zeros(len(x), int))
    np.savez(tmp_path / "few.npz", x=x[:45], y=np.repeat([0, 1], [40, 5]))
    assert_one_line_error(*kzoo("fit-evaluator", labelled / "unlabelled.npz", "--out", tmp_path / "a"),
                          "has no labels", "--reference")
    assert_one_line_error(*kzoo("fit-evaluator", tmp_path / "one-class.npz", "--out", tmp_path / "a"),
                          "only one class")
    assert_one_line_error(*kzoo("fit-evaluator", tmp_path / "few.npz", "--out", tmp_path / "a"),
                          "too few images", "class 1: 5")
    assert_one_line_error(*kzoo("fit-evaluator", labelled / "shapes.npz", "--out", out), "not empty", "--overwrite")
    assert_one_line_error(*kzoo("fit-evaluator", "mnist-5k:edges", "--out", tmp_path / "a"), "image-to-image task")
    assert not (tmp_path / "a").exists()


# ------------------------------------------------------------------------------ scoring a run
def test_evaluate_with_a_fitted_evaluator_gives_the_digit_keys_and_the_floor(run, fitted):
    out, info = fitted
    code, output = kzoo("evaluate", run, "--evaluator", out, "--num", 100, "--json")
    assert code == 0, output
    scores = json.loads(output)
    assert {"fd", "precision", "recall", "coverage", "classifier_score", "kid", "class_kl", "floor"} <= set(scores)
    assert scores["evaluator"] == info["id"] and scores["n"] == 100 and scores["n_reference"] == 16
    assert len(scores["class_counts"]) == 2 and 1.0 <= scores["classifier_score"] <= 2.0
    assert scores["floor"]["fd"] == info["real_floor"]["fd"] and scores["floor"]["n"] == 64
    # A two-step DCGAN makes nothing like the shapes: far above the floor.
    assert scores["fd"] > 2 * scores["floor"]["fd"]
    code, output = kzoo("evaluate", run, "--evaluator", out, "--num", 100)
    assert code == 0 and "floor" in output and "fd " in output


def test_an_unlabelled_reference_is_scored_in_another_evaluators_feature_space(run, fitted, labelled):
    out, info = fitted
    code, output = kzoo("evaluate", run, "--evaluator", out, "--reference", labelled / "unlabelled.npz", "--num", 100,
                        "--json")
    assert code == 0, output
    scores = json.loads(output)
    assert {"fd", "precision", "recall", "kid"} <= set(scores)
    assert not {"coverage", "classifier_score", "class_counts", "floor"} & set(scores)
    assert scores["n_reference"] == 2 * PER_CLASS and scores["reference"].endswith("unlabelled.npz")
    assert info["id"] in scores["feature_space"] and "other data" in scores["feature_space"]


def test_real_images_against_an_unlabelled_reference_score_near_zero(fitted, labelled):
    from kzoo.metrics import quality

    out, _ = fitted
    x, _ = shapes(seed=1)
    x = x / 127.5 - 1
    same = quality.evaluate_images(x, evaluator=out, reference_images=x)
    assert same["fd"] < 1e-3 and same["precision"] == same["recall"] == 1.0
    grey = quality.evaluate_images(np.zeros_like(x), evaluator=out, reference_images=x)
    assert grey["fd"] > 100 * max(same["fd"], 1e-4) and grey["recall"] < 0.1


def test_evaluate_refuses_another_shape_in_one_line(run, fitted, labelled, tmp_path):
    out, _ = fitted
    assert_one_line_error(*kzoo("evaluate", run, "--evaluator", "emoji32"),
                          "kzoo-emoji32-v1 takes 32x32x3 images", "8x8x3")
    assert_one_line_error(*kzoo("evaluate", run), "the digit evaluator takes 28x28x1 images", "8x8x3")
    np.savez(tmp_path / "grey.npz", x=np.zeros((10, 16, 16), np.uint8))
    assert_one_line_error(*kzoo("evaluate", run, "--evaluator", out, "--reference", tmp_path / "grey.npz"),
                          "16x16x1")
    assert_one_line_error(*kzoo("evaluate", run, "--evaluator", tmp_path / "nothing-here"), "no evaluator")


@pytest.mark.parametrize("damage", ["weights", "reference", "no-json", "bad-json", "no-weights"])
def test_a_damaged_evaluator_is_one_line(run, fitted, tmp_path, damage):
    out, _ = fitted
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    if damage in ("weights", "reference"):
        path = copy / ("evaluator.weights.h5" if damage == "weights" else "reference.npz")
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        fragment = "sha256"
    elif damage == "no-json":
        (copy / "evaluator.json").unlink()
        fragment = "is not an evaluator"
    elif damage == "bad-json":
        (copy / "evaluator.json").write_text("{not json")
        fragment = "not readable JSON"
    else:
        (copy / "evaluator.weights.h5").unlink()
        fragment = "is missing"
    assert_one_line_error(*kzoo("evaluate", run, "--evaluator", copy, "--num", 100), fragment)


# ------------------------------------------------------------------------------ InceptionV3 (FID)
def test_inception_weights_add_the_standard_fid(run, fitted, tmp_path, monkeypatch):
    """The plumbing, with a stand-in network (a real InceptionV3 is built in test_real_inception_v3)."""
    import keras

    from kzoo.metrics import inception

    built = []

    def stand_in(weights_file):
        built.append(str(weights_file))
        inputs = keras.Input((inception.INPUT_SIZE, inception.INPUT_SIZE, 3))
        pooled = keras.layers.GlobalAveragePooling2D()(inputs)
        return keras.Model(inputs, keras.layers.Dense(inception.FEATURES, activation="tanh")(pooled))

    monkeypatch.setattr(inception, "INPUT_SIZE", 32)  # resized to the network's input all the same, quicker
    monkeypatch.setattr(inception, "build_network", stand_in)
    monkeypatch.setattr(inception, "_NETWORKS", {})
    weights = tmp_path / "inception.h5"
    weights.write_bytes(b"stand-in")
    out, _ = fitted
    code, output = kzoo("evaluate", run, "--evaluator", out, "--num", 100, "--inception-weights", weights, "--json")
    assert code == 0, output
    scores = json.loads(output)
    assert built == [str(weights)]
    assert scores["fid_inception"] > 0 and scores["fid_inception_reference"].startswith("16 images of ")
    assert scores["fid_inception_reference"].endswith("shapes.npz:heldout")
    assert "fd" in scores and "floor" in scores


def test_a_missing_inception_weights_file_is_one_line(run, fitted, tmp_path):
    out, _ = fitted
    assert_one_line_error(*kzoo("evaluate", run, "--evaluator", out, "--num", 100,
                                "--inception-weights", tmp_path / "none.h5"), "no InceptionV3 weights file", "never downloads")


@pytest.mark.benchmarks  # a real InceptionV3: seconds to build, and a CPU forward pass at 299x299
def test_real_inception_v3_from_a_weights_file(tmp_path):
    import keras

    from kzoo.errors import KzooError
    from kzoo.metrics import inception

    keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                   input_shape=(299, 299, 3)).save_weights(tmp_path / "random.weights.h5")
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (6, 16, 16, 1)).astype("float32"), rng.uniform(-1, 1, (6, 16, 16, 3)).astype("float32")
    features = inception.features(a, inception.network(tmp_path / "random.weights.h5"), batch_size=4)
    assert features.shape == (6, inception.FEATURES)
    assert inception.fid(b, b, tmp_path / "random.weights.h5") < 1e-3
    (tmp_path / "wrong.h5").write_bytes(b"not weights")
    with pytest.raises(KzooError, match="does not hold InceptionV3"):
        inception.build_network(tmp_path / "wrong.h5")


# ------------------------------------------------------------------------------ the shipped emoji32 evaluator
@pytest.fixture(scope="module")
def emoji32():
    return evaluators.open_evaluator("emoji32")


def test_the_shipped_emoji32_evaluator_is_described_and_small(emoji32):
    info = emoji32.info
    assert emoji32.id == "kzoo-emoji32-v1" and emoji32.input_shape == (32, 32, 3) and emoji32.num_classes == 9
    assert emoji32.class_names[1] == "People & Body" and len(emoji32.class_names) == 9
    assert info["chance_accuracy"] == pytest.approx(0.588, abs=0.005)  # People & Body's share
    assert info["heldout_accuracy"] > info["chance_accuracy"] + 0.25 and info["heldout_balanced_accuracy"] > 0.6
    assert os.path.getsize(os.path.join(emoji32.directory, info["weights_file"])) < 1_000_000
    assert info["data"]["spec"] == "emoji32" and info["data"]["heldout"] == 732


def test_the_emoji32_reference_is_emoji32_heldout_through_the_shipped_weights(emoji32):
    from kzoo import data
    from kzoo.data import splits

    reference = emoji32.reference()
    assert np.array_equal(reference["indices"], splits.heldout_indices("emoji32"))
    x, y = data.load("emoji32:heldout")
    embeddings, probs = emoji32.embed(x)
    np.testing.assert_allclose(embeddings, reference["embeddings"], atol=1e-4)
    assert np.array_equal(reference["labels"], y)
    assert np.mean(probs.argmax(1) == y) == pytest.approx(emoji32.info["heldout_accuracy"], abs=2e-3)


def test_the_emoji32_floor_is_far_below_noise_and_a_constant_image(emoji32):
    from kzoo.metrics import quality

    floor = emoji32.floor
    assert floor["n"] == 1000 and floor["coverage"] == 9
    assert floor["precision"] > 0.6 and floor["recall"] > 0.6
    rng = np.random.default_rng(0)
    for garbage in (rng.uniform(-1, 1, (1000, 32, 32, 3)).astype("float32"), np.zeros((1000, 32, 32, 3), "float32")):
        scores = quality.evaluate_images(garbage, evaluator=emoji32)
        assert scores["fd"] > 20 * floor["fd"] and scores["recall"] < 0.05 and scores["coverage"] <= 3
    recorded = emoji32.info["baselines"]
    assert recorded["uniform_noise"]["fd"] > 20 * floor["fd"] and recorded["constant_grey"]["fd"] > 20 * floor["fd"]


def test_emoji32_real_floor_is_reproduced(emoji32):
    from kzoo.metrics import quality

    floor = quality.real_floor(1000, evaluator="emoji32")
    for key in ("fd", "precision", "recall", "coverage", "classifier_score"):
        assert floor[key] == pytest.approx(emoji32.floor[key], rel=1e-2, abs=1e-3), key


# ------------------------------------------------------------------------------ another backend
@pytest.mark.portability
def test_an_evaluator_directory_reloads_on_every_backend_with_the_same_embeddings(fitted, labelled):
    out, _ = fitted
    code = f"""
from kzoo.metrics import evaluators, evaluator_data
ev = evaluators.open_evaluator({str(out)!r})
x, _ = evaluator_data.fitted_split(ev, "heldout")
emb, probs = ev.embed(x)
ref = ev.reference()
print(float(np.abs(emb - ref["embeddings"]).max()), float(np.abs(probs - ref["probs"]).max()))
"""
    for backend in ("tensorflow", "torch"):
        emb_diff, probs_diff = map(float, run_python("import numpy as np\n" + code, backend).split())
        assert emb_diff < 1e-4 and probs_diff < 1e-4, backend


@pytest.mark.benchmarks
def test_fit_evaluators_script_builds_an_emoji32_evaluator(tmp_path):
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks",
                          "fit_evaluators.py")
    result = subprocess.run([sys.executable, script, "--epochs", "1", "--out", str(tmp_path / "ev")],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((tmp_path / "ev" / "evaluator.json").read_text())
    assert info["id"] == "kzoo-emoji32-v1" and set(info["baselines"]) == {"uniform_noise", "constant_grey"}
    assert info["real_floor"]["n"] == 1000 and info["data"]["heldout"] == 732
