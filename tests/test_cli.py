"""The kzoo command: listing, training into run directories, resuming, and every bad input.

Training runs in-process (click's CliRunner) on the backend of the tox environment; start-up
checks and the SIGKILL test run real subprocesses.
"""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import (TINY, TINY_TRAIN, assert_one_line_error, backend_name, kzoo_cli, kzoo_process,
                      tiny_settings)
from PIL import Image

from kzoo import backend_choice

kzoo = kzoo_cli  # the command line, in-process: (exit code, output)


def check_run_directory(run, epochs=1):
    for name in ("config.json", "model.keras", "history.csv", "losses.png", f"samples/epoch_{epochs:03d}.png"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert {"model", "hyperparameters", "dataset", "seed", "backend", "versions", "batch_size"} <= set(config)
    rows = (run / "history.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == epochs + 1
    return config


# ------------------------------------------------------------------------ listing, start-up
def test_list_shows_builtins_and_plugins_and_reports_broken_ones():
    result = kzoo_process("list")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("gan", "dcgan", "cgan", "wgan", "lsgan", "wgan-gp", "infogan", "acgan", "sngan", "ragan",
                 "hinge-dcgan", "dragan"):
        assert f"\n{name} " in out
    assert "kzoo-hinge-gan 0.1.0" in out and "kzoo-dragan 0.1.0" in out
    assert "skipped (broken plugins)" in out
    assert "'broken-import' from distribution 'kzoo-broken-plugin 0.1.0'" in out
    assert "No module named 'a_module_that_does_not_exist'" in out
    assert "'not-a-model'" in out


def test_list_json_and_pattern():
    code, out = kzoo("list", "*dcgan", "--json")
    assert code == 0
    listing = json.loads(out)
    assert [m["name"] for m in listing["models"]] == ["dcgan", "hinge-dcgan", "multiscale-dcgan"]
    assert {p["name"] for p in listing["problems"]} == {"broken-import", "not-a-model"}


def test_strict_plugins_turns_a_broken_plugin_into_an_error():
    result = kzoo_process("--strict-plugins", "list")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "strict plugin mode" in result.stderr and "kzoo-broken-plugin" in result.stderr
    assert kzoo_process("list", env={"KZOO_STRICT_PLUGINS": "1"}).returncode != 0


def test_info():
    code, out = kzoo("info", "wgan")
    assert code == 0
    assert "Arjovsky" in out and "clip_value" in out and "d_steps" in out and "5" in out
    code, out = kzoo("info", "hinge-dcgan", "--json")
    assert code == 0 and json.loads(out)["origin"] == "plugin"
    details = json.loads(out)["hyperparameter_details"]
    assert details["learning_rate"]["accepts"] == "a number > 0" and details["width"]["help"]
    code, out = kzoo("info", "dcgan")
    assert "r1_gamma" in out and "an integer >= 1" in out


# --------------------------------------------------------------------------------- training
# The CLI's plumbing does not depend on the model: every built-in trains through the API in
# test_training.py; here the three kinds of GAN input (noise, labels, codes) and the plugins.
THROUGH_THE_CLI = ("gan", "cgan", "infogan", "hinge-dcgan", "dragan")


@pytest.mark.parametrize("name", THROUGH_THE_CLI)
def test_train_every_model_on_the_embedded_dataset(name, tmp_path):
    run = tmp_path / name
    code, out = kzoo("train", name, "--backend", backend_name(), *tiny_settings(name),
                     "--seed", 3, "--out", run, *TINY_TRAIN)
    assert code == 0, out
    config = check_run_directory(run)
    assert config["backend"] == backend_name() and config["seed"] == 3 and config["dataset"] == "mnist-5k"
    assert config["hyperparameters"]["width"] == TINY[name]["width"]
    with Image.open(run / "samples" / "epoch_001.png") as grid:
        assert grid.size[0] > 28


def test_train_on_an_npz_file(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "digits.npz", x=rng.integers(0, 256, (24, 12, 8), dtype=np.uint8))
    code, out = kzoo("train", "dcgan", "--backend", backend_name(), "--dataset", tmp_path / "digits.npz",
                     "--set", "width=2", "--out", tmp_path / "run", *TINY_TRAIN)
    assert code == 0, out
    config = check_run_directory(tmp_path / "run")
    assert config["hyperparameters"]["image_shape"] == [12, 8, 1]  # taken from the data


@pytest.fixture
def rgb_folder(tmp_path):
    rng = np.random.default_rng(1)
    for label in ("cats", "dogs"):
        (tmp_path / "rgb" / label).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels, "RGB").save(tmp_path / "rgb" / label / f"{i}.png")
    return tmp_path / "rgb"


@pytest.mark.parametrize("name", ["dcgan", "cgan"])
def test_train_on_a_folder_of_rgb_images(name, rgb_folder, tmp_path):
    code, out = kzoo("train", name, "--backend", backend_name(), "--dataset", rgb_folder,
                     *tiny_settings(name), "--out", tmp_path / "run", *TINY_TRAIN)
    assert code == 0, out
    config = check_run_directory(tmp_path / "run")
    assert config["hyperparameters"]["image_shape"] == [16, 16, 3]
    if name == "cgan":
        assert config["hyperparameters"]["num_classes"] == 2  # from the two class folders


def test_sample_writes_a_grid(tmp_path):
    run = tmp_path / "run"
    assert kzoo("train", "cgan", "--set", "width=4", "--out", run, *TINY_TRAIN)[0] == 0
    code, out = kzoo("sample", run, "--num", 20, "--seed", 5)
    assert code == 0, out
    path = run / "samples" / "sample_seed5.png"
    assert out.strip().endswith(str(path))
    with Image.open(path) as grid:  # one row per class: 10 rows of 2 digits
        assert grid.size == (2 * 30 + 2, 10 * 30 + 2)
    code, out = kzoo("sample", run, "--num", 4, "--label", 3, "--out", tmp_path / "three.png")
    assert code == 0 and (tmp_path / "three.png").is_file()


def test_resume_counts_additional_epochs_and_keeps_optimizer_state(tmp_path):
    import kzoo as kz

    run = tmp_path / "run"
    assert kzoo("train", "dcgan", "--set", "width=2", "--out", run, *TINY_TRAIN)[0] == 0
    before = kz.load_model(run)
    code, out = kzoo("train", "--resume", run, "--epochs", 2)
    assert code == 0, out
    # The progress bar counts the run's epochs, not the one epoch each fit() call trains.
    assert "Epoch 2/3" in out and "Epoch 3/3" in out and "Epoch 2/2" not in out, out
    check_run_directory(run, epochs=3)
    after = kz.load_model(run)
    assert int(after.g_optimizer.iterations.numpy()) == int(before.g_optimizer.iterations.numpy()) + 4
    config = json.loads((run / "config.json").read_text())
    assert config["epochs"] == 3 and config["resumed"][0]["at_epoch"] == 1
    # Without --epochs, a resumed run finishes the epochs it was started for, and says when it has.
    assert_one_line_error(*kzoo("train", "--resume", run), "has trained all 3 epochs", "--epochs N")
    config["epochs"] = 4  # as if it had been started for 4 and stopped after 3
    (run / "config.json").write_text(json.dumps(config))
    assert kzoo("train", "--resume", run)[0] == 0
    check_run_directory(run, epochs=4)


def test_models_declare_their_default_training_length():
    import kzoo as kz
    from kzoo import registry

    for name in kz.list_models():
        if name in ("broken-import", "not-a-model"):
            continue
        assert registry.load_model_class(name).default_epochs >= 1, name
    code, out = kzoo("info", "gan")
    assert code == 0 and "40 epochs of 500 steps by default" in out
    assert registry.load_model_class("gan").default_steps() == 20000
    assert registry.load_model_class("vae").default_steps() == registry.load_model_class("vae").default_epochs * 78


# `python -m kzoo`, with Ctrl-C's usual handler: Python leaves SIGINT ignored where it starts
# ignored (a shell's background job, as CI may run the tests), and the child must get a
# KeyboardInterrupt as a terminal user's would. Set in the child: a preexec_fn would fork JAX.
KZOO_WITH_CTRL_C = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                    "sys.argv[0] = 'kzoo'; runpy.run_module('kzoo', run_name='__main__')")


def _train_in_a_process(run, epochs=1000, steps=20):
    return subprocess.Popen(
        [sys.executable, "-c", KZOO_WITH_CTRL_C, "train", "dcgan", "--backend", backend_name(), "--set", "width=2",
         "--epochs", str(epochs), "--steps-per-epoch", str(steps), "--batch-size", "8", "--samples", "4",
         "--out", str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _signal_a_run(run, when, sig, delay=0.0):
    """Train into `run` in a process; send `sig` `delay` s after the file `when` appears; return
    (exit status, stderr)."""
    process = _train_in_a_process(run)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not when.exists() and process.poll() is None:
            time.sleep(0.05)
        assert when.exists(), f"{when} never appeared"
        time.sleep(delay)
        process.send_signal(sig)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, err


def test_a_run_killed_mid_epoch_resumes_from_its_last_checkpoint(tmp_path):
    import kzoo as kz

    run = tmp_path / "run"
    # 0.3 s after the first checkpoint: well inside a later epoch (or its checkpoint write).
    _signal_a_run(run, run / "model.keras", signal.SIGKILL, delay=0.3)
    from kzoo import saving

    done = saving.read_checkpoint_info(run)["epoch"]
    assert done >= 1
    assert kz.load_model(run).sample(2).shape == (2, 28, 28, 1)  # the checkpoint is whole
    code, out = kzoo("train", "--resume", run, "--epochs", 1)
    assert code == 0, out
    assert saving.read_checkpoint_info(run)["epoch"] == done + 1
    epochs = [int(line.split(",")[0]) for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert epochs == list(range(1, done + 2))


def test_ctrl_c_keeps_the_last_checkpoint_says_how_to_resume_and_resumes(tmp_path):
    run = tmp_path / "run"
    code, err = _signal_a_run(run, run / "model.keras", signal.SIGINT, delay=0.3)
    from kzoo import saving

    assert code == 130, err
    assert_one_line_error(1, err, "interrupted in epoch", "last good checkpoint (epoch",
                          f"continue with kzoo train --resume {run}")
    done = saving.read_checkpoint_info(run)["epoch"]
    assert f"(epoch {done})" in err.strip().splitlines()[-1]
    assert not list(run.glob(".model-*"))  # no half-written checkpoint left beside it
    code, out = kzoo("train", "--resume", run, "--epochs", 1)
    assert code == 0, out
    assert saving.read_checkpoint_info(run)["epoch"] == done + 1


def test_ctrl_c_before_the_first_checkpoint_leaves_nothing(tmp_path):
    run = tmp_path / "runs" / "first"
    code, err = _signal_a_run(run, run / "config.json", signal.SIGINT)
    assert code == 130, err
    assert_one_line_error(1, err, "interrupted in epoch 1", f"the run directory {run} was removed")
    assert list(tmp_path.iterdir()) == []  # runs/ too: this run made it


def _fail_writing(monkeypatch, module, name, after=0):
    """Make `module.name` fail as a full disk does, after `after` calls that succeed."""
    import errno

    original, calls = getattr(module, name), []

    def full(*args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            path = args[1] if len(args) > 1 else kwargs.get("path", "?")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, full)


def test_a_full_disk_before_the_first_checkpoint_leaves_nothing(tmp_path, monkeypatch):
    from kzoo import pictures

    (tmp_path / "mine.txt").write_text("the user's")
    _fail_writing(monkeypatch, pictures, "save_grid")
    code, out = kzoo("train", "dcgan", "--set", "width=2", "--out", tmp_path, *TINY_TRAIN)
    assert_one_line_error(code, out, "No space left on device", "epoch_001.png", "no checkpoint had been written")
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]  # what was there before, and only that


def test_a_full_disk_during_a_checkpoint_keeps_the_one_before(tmp_path, monkeypatch):
    import keras

    import kzoo as kz
    from kzoo import saving

    run = tmp_path / "run"
    original = keras.Model.save

    def half_written(model, path, *args, **kwargs):  # the second save fills the disk midway
        if (run / "model.keras").exists():
            open(path, "wb").write(b"PK\x03\x04 half a zip")
            raise OSError(28, "No space left on device", str(path))
        return original(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", half_written)
    code, out = kzoo("train", "dcgan", "--set", "width=2", "--out", run, *TINY_TRAIN, "--epochs", 3)
    assert_one_line_error(code, out, "No space left on device", "last good checkpoint (epoch 1)",
                          f"--resume {run}")
    assert saving.read_checkpoint_info(run)["epoch"] == 1
    assert kz.load_model(run).sample(2).shape == (2, 28, 28, 1)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_an_unwritable_run_directory_is_one_line_and_leaves_nothing(tmp_path):
    (tmp_path / "a-file").write_text("")
    code, out = kzoo("train", "dcgan", "--set", "width=2", "--out", tmp_path / "a-file" / "run", *TINY_TRAIN)
    assert_one_line_error(code, out, f"cannot write the run directory {tmp_path / 'a-file' / 'run'}")
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_requests_too_large_to_hold_are_refused_up_front(tmp_path):
    assert_one_line_error(*kzoo("sample", tmp_path, "--num", 100_000_000), "--num", "1<=x<=10000")
    assert_one_line_error(*kzoo("evaluate", tmp_path, "--num", 100_000_000), "--num", "100<=x<=50000")


def test_a_loss_that_turns_nan_stops_training_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    from keras import ops

    from kzoo import saving
    from kzoo.models import DCGAN
    from kzoo.registry import factory

    class ExplodingDCGAN(DCGAN):
        """Finite for the first two steps (one epoch), NaN after."""

        def generator_loss(self, fake_logits):
            loss = super().generator_loss(fake_logits)
            # A NaN that does not depend on the weights: the first epoch's gradients stay finite.
            return loss + ops.where(self.optimizer.iterations >= 2, float("nan"), 0.0)

    original = factory.load_model_class  # kzoo.registry hands on the factory's, looked up at each access
    monkeypatch.setattr(factory, "load_model_class",
                        lambda name: ExplodingDCGAN if name == "dcgan" else original(name))
    run = tmp_path / "run"
    code, out = kzoo("train", "dcgan", "--set", "width=2", "--out", run, "--epochs", 3,
                     "--steps-per-epoch", 2, "--batch-size", 8)
    assert_one_line_error(code, out, "g_loss became nan at epoch 2", "last good checkpoint (epoch 1)")
    assert saving.read_checkpoint_info(run)["epoch"] == 1


# ------------------------------------------------------------------------------ bad input
@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"this is not a zip file")
    np.savez(tmp_path / "flat.npz", x=np.zeros((10, 784), dtype=np.uint8))
    np.savez(tmp_path / "odd.npz", x=np.zeros((10, 30, 30), dtype=np.uint8))
    return tmp_path


@pytest.mark.parametrize("args, fragments", [
    (["train", "dcgn"], ["unknown model 'dcgn'", "dcgan"]),
    (["info", "wgna"], ["unknown model", "wgan"]),
    (["train", "dcgan", "--backend", "theano"], ["unknown backend 'theano'", "tensorflow, torch, jax"]),
    (["train", "dcgan", "--dataset", "{tmp}/missing.npz"], ["missing.npz"]),
    (["train", "dcgan", "--dataset", "{tmp}/garbage.npz"], ["garbage.npz"]),
    (["train", "dcgan", "--dataset", "{tmp}/flat.npz"], ["flat.npz"]),
    (["train", "dcgan", "--dataset", "{tmp}/odd.npz"], ["multiples of 4", "30x30"]),
    (["train", "dcgan", "--set", "colour=red"], ["no hyperparameter 'colour'"]),
    (["train", "dcgan", "--set", "width"], ["NAME=VALUE"]),
    (["train", "dcgan", "--set", "width=abc"], ["width must be an integer >= 1; got 'abc'"]),
    (["train", "dcgan", "--set", "learning_rate=-1"], ["learning_rate must be a number > 0; got -1"]),
    (["train", "wgan-gp", "--set", "gp_weight=heavy"], ["gp_weight must be a number >= 0; got 'heavy'"]),
    (["train", "broken-import"], ["kzoo-broken-plugin 0.1.0", "No module named"]),
    (["train", "not-a-model"], ["not a model class"]),
    (["train"], ["give a model NAME"]),
    (["sample", "{tmp}"], ["no model at"]),
    (["train", "dcgan", "--dataset", "mnist"], ["mnist-5k"]),
])
def test_bad_input_gets_one_line_and_a_nonzero_exit(args, fragments, bad_files, monkeypatch):
    if "mnist" in args and "--dataset" in args:
        import keras

        def offline(*a, **k):
            raise OSError("Temporary failure in name resolution")

        monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    args = [a.replace("{tmp}", str(bad_files)) for a in args]
    code, out = kzoo(*args, "--set", "width=2", *TINY_TRAIN) if args[0] == "train" and len(args) > 1 and "--set" not in args else kzoo(*args)
    assert_one_line_error(code, out, *fragments)


def test_rejected_input_leaves_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["--batch-size", 100000], ["--set", "width=abc"], ["--set", "learning_rate=-1"]):
        code, out = kzoo("train", "dcgan", *args)
        assert_one_line_error(code, out)
        assert list(tmp_path.iterdir()) == [], args  # no runs/dcgan-* directory


def test_infogan_lays_out_its_codes_and_averaged_models_sample_raw(tmp_path):
    run = tmp_path / "info"
    code, out = kzoo("train", "infogan", "--set", "width=2", "--set", "ema_decay=0.9", "--out", run, *TINY_TRAIN)
    assert code == 0, out
    sizes = {}
    for name, extra in {"category": ["--code", "category"], "continuous": ["--code", "continuous:1"],
                        "raw": ["--raw"], "averaged": []}.items():
        code, out = kzoo("sample", run, "--num", 30, "--out", tmp_path / f"{name}.png", *extra)
        assert code == 0, out
        with Image.open(tmp_path / f"{name}.png") as grid:
            sizes[name] = grid.size
    # One row per category (10), with 30 / 10 = 3 columns.
    assert sizes["category"] == sizes["continuous"]
    assert sizes["category"][1] > 2 * sizes["category"][0]
    assert_one_line_error(*kzoo("sample", run, "--code", "style"), "no latent code 'style'", "category, continuous:0")


def test_a_backend_that_is_not_installed_names_the_extra(monkeypatch):
    monkeypatch.setattr(backend_choice, "is_installed", lambda name: False)
    code, out = kzoo("train", "dcgan", "--backend", "torch")
    assert_one_line_error(code, out, "backend 'torch' is not installed", "pip install 'kzoo[torch]'")


def test_conditional_model_on_unlabelled_data(tmp_path):
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((16, 28, 28), dtype=np.uint8))
    code, out = kzoo("train", "cgan", "--dataset", tmp_path / "nolabels.npz", *TINY_TRAIN)
    assert_one_line_error(code, out, "conditional", "labels")


def test_per_epoch_evaluation_and_kzoo_evaluate(tmp_path):
    run = tmp_path / "run"
    code, out = kzoo("train", "dcgan", "--set", "width=2", "--out", run, "--evaluate", *TINY_TRAIN)
    assert code == 0, out
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"fd", "kid", "coverage", "precision", "recall"} <= set(header)
    code, out = kzoo("evaluate", run, "--num", 200, "--json")
    assert code == 0, out
    scores = json.loads(out)
    assert scores["n"] == 200 and scores["evaluator"] == "kzoo-digits-v1" and scores["fd"] > 0
    assert_one_line_error(*kzoo("sample", run, "--code", "category"), "no latent codes")


def test_evaluate_refuses_images_the_evaluator_cannot_read(rgb_folder, tmp_path):
    run = tmp_path / "run"
    assert kzoo("train", "dcgan", "--dataset", rgb_folder, "--set", "width=2", "--out", run, *TINY_TRAIN)[0] == 0
    assert_one_line_error(*kzoo("evaluate", run), "28x28x1")


def test_naming_the_digit_evaluator_scores_as_the_default_and_the_floor_comes_with_it(tmp_path):
    run = tmp_path / "run"
    assert kzoo("train", "dcgan", "--set", "width=2", "--out", run, *TINY_TRAIN)[0] == 0
    scores = []
    for extra in ([], ["--evaluator", "digits"]):
        code, out = kzoo("evaluate", run, "--num", 100, "--json", *extra)
        assert code == 0, out
        scores.append(json.loads(out))
    assert scores[0] == scores[1]
    assert scores[0]["floor"]["fd"] == pytest.approx(0.222879) and scores[0]["floor"]["n"] == 1000
    code, out = kzoo("fit-evaluator", "--help")
    assert code == 0 and "--out" in out and "labelled" in out
    code, out = kzoo("evaluate", "--help")
    assert code == 0 and all(option in out for option in ("--evaluator", "--reference", "--inception-weights"))
