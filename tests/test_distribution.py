"""Training on several devices (kzoo.distribution): data parallelism on JAX, one-line refusals elsewhere.

The JAX tests run in fresh interpreters with two virtual CPU devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2 must be set before JAX starts) or as two
processes joined through a localhost coordinator, one CPU device each. Keras 3.15.1 has data
parallelism on JAX only: on torch and TensorFlow the same requests must fail with one line.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_one_line_error, backend_name, kzoo_cli, run_python

from kzoo import distribution
from kzoo.errors import DistributionError

TWO_CPU_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
on_jax_only = pytest.mark.skipif(
    backend_name() != "jax",
    reason="Keras 3.15.1 has data parallelism on JAX only; on this backend the one-line refusal is tested instead",
)


kzoo = kzoo_cli  # the command line, in-process: (exit code, output)


# ------------------------------------------------------------- options (no keras, every env)
def test_devices_option_takes_a_count_or_all():
    assert distribution.parse_devices("all") == "all"
    assert distribution.parse_devices("2") == 2 and distribution.parse_devices(None) is None
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(DistributionError, match="positive number or 'all'"):
            distribution.parse_devices(bad)


def test_cluster_from_options_or_keras_environment_variables():
    env = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
           "KERAS_DISTRIBUTION_PROCESS_ID": "1"}
    assert distribution.Cluster.from_options(environ=env) == distribution.Cluster("10.0.0.1:1234", 2, 1)
    # An option wins over its variable.
    assert distribution.Cluster.from_options(process_id=0, environ=env).process_id == 0
    assert distribution.Cluster.from_options(environ={}) is None
    assert distribution.Cluster.from_options("host:1", 1, 0, environ={}) is None  # one process: no cluster
    for args, message in [
        (("host:1", 2, None), "missing: --process-id"),
        (("host:1", 2, 2), "not in 0..1"),
        (("host", 2, 0), "host:port"),
    ]:
        with pytest.raises(DistributionError, match=message):
            distribution.Cluster.from_options(*args, environ={})


def test_each_process_feeds_its_share_of_every_global_batch():
    x = np.arange(12)  # two global batches of 6
    y = x * 10
    second = distribution.Placement(("cpu:0", "cpu:1", "cpu:2"), process_id=1, num_processes=3)
    xs, ys, local = second.local_batches(x, y, 6)
    assert local == 2 and xs.tolist() == [2, 3, 8, 9] and ys.tolist() == [20, 30, 80, 90]
    assert not second.writes and distribution.Placement().writes
    alone = distribution.Placement(("cpu:0", "cpu:1"))
    assert alone.local_batches(x, None, 6)[0] is x
    alone.check_batch_size(6)
    with pytest.raises(DistributionError, match="batch size 7 does not split over 2 devices"):
        alone.check_batch_size(7)
    assert second.record() == {"count": 3, "names": ["cpu:0", "cpu:1", "cpu:2"], "processes": 3}


@pytest.mark.parametrize("args, fragment", [
    (["--devices", "0"], "positive number or 'all'"),
    (["--coordinator", "localhost:1234"], "missing: --num-processes"),
    (["--coordinator", "localhost:1234", "--num-processes", 2, "--process-id", 2], "not in 0..1"),
])
def test_bad_device_options_get_one_line_and_write_nothing(args, fragment, tmp_path):
    code, out = kzoo("train", "dcgan", "--out", tmp_path / "run", *args)
    assert_one_line_error(code, out, fragment)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------ torch and TensorFlow refuse
REFUSALS = {
    "torch": "Keras 3.15.1 has no torch data parallelism (a Keras release after 3.15.1 adds it",
    "tensorflow": "not supported on TensorFlow yet",
    "jax": "JAX sees 1 (cpu:0); on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=1000",
}


def test_more_devices_than_the_backend_can_use_is_one_line_and_writes_nothing(tmp_path):
    # On torch and TensorFlow any second device is refused; JAX here sees one CPU device.
    devices = 1000 if backend_name() == "jax" else 2
    code, out = kzoo("train", "dcgan", "--devices", devices, "--set", "width=2", "--out", tmp_path / "run")
    assert_one_line_error(code, out, REFUSALS[backend_name()])
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(backend_name() == "jax", reason="JAX can join processes: tested with two below")
def test_joining_processes_is_refused_with_one_line(tmp_path):
    code, out = kzoo("train", "dcgan", "--out", tmp_path / "run", "--coordinator", "localhost:1234",
                     "--num-processes", 2, "--process-id", 0)
    assert_one_line_error(code, out, REFUSALS[backend_name()])
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ JAX: 2 devices = 1 device
SAME_STEP_ON_ONE_AND_TWO_DEVICES = """
import json, keras, numpy as np, kzoo

x, _ = kzoo.data.load("mnist-5k")
x = x[np.random.default_rng(0).permutation(len(x))[:24]]  # 3 steps of a global batch of 8

def largest(a, b):
    return max((float(np.abs(u - v).max()) for u, v in zip(a, b)), default=0.0)

def values(variables):
    return [np.asarray(v.numpy(), dtype="float64") for v in variables]

def train(name, devices, hyperparameters):
    placement = kzoo.use_devices(devices)
    keras.utils.set_random_seed(0)
    model = kzoo.create_model(name, seed=3, **hyperparameters)
    model.compile()
    moving = [v for v in model.weights if "moving_" in v.path]  # batch-normalization statistics
    initial_moving = values(moving)
    history = model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    return {
        "devices": len(model.weights[0].value.sharding.device_set), "placement": placement.count,
        "weights": values(model.weights), "optimizer": values(model.optimizer.variables),
        "seed": values([model.seed_generator.state]), "losses": {k: v[-1] for k, v in history.items()},
        "images": model.sample(8, seed=1),  # from the averaged generator, where there is one
        "raw_images": model.sample(8, seed=1, raw=True) if model.averaged_generator is not None else None,
        "moving": len(moving), "moving_moved": largest(initial_moving, values(moving)),
    }

report = {}
for name, hyperparameters in {{MODELS}}.items():
    one, two = train(name, 1, hyperparameters), train(name, 2, hyperparameters)
    report[name] = {
        "devices": [one["devices"], two["devices"], one["placement"], two["placement"]],
        "weights": largest(one["weights"], two["weights"]),
        "optimizer": largest(one["optimizer"], two["optimizer"]),
        "seed": largest(one["seed"], two["seed"]),
        "images": largest([one["images"]], [two["images"]]),
        "raw_images": None if one["raw_images"] is None else largest([one["raw_images"]], [two["raw_images"]]),
        "losses": [one["losses"], two["losses"]],
        "batch_norm_statistics": [one["moving"], one["moving_moved"], two["moving_moved"]],
    }
print(json.dumps(report))
"""

# dcgan: batch normalization in both networks, averaged generator; wgan-gp: an input gradient
# inside the loss, several critic steps; infogan: categorical and continuous codes, a Q head.
MODELS = {
    "dcgan": {"width": 2, "ema_decay": 0.9},
    "wgan-gp": {"width": 2, "d_steps": 2, "ema_decay": 0.0},  # one model without an averaged generator
    "infogan": {"width": 2},  # averages by default
}


@on_jax_only
def test_two_devices_train_as_one_device_at_the_same_global_batch():
    code = SAME_STEP_ON_ONE_AND_TWO_DEVICES.replace("{{MODELS}}", repr(MODELS))
    report = json.loads(run_python(code, "jax", env=TWO_CPU_DEVICES).strip().splitlines()[-1])
    for name, result in report.items():
        # The second run really was split over two devices, the first not.
        assert result["devices"] == [1, 2, 1, 2], (name, result)
        # Every weight (batch-normalization statistics and averaged generator included), the
        # optimizers' state, the noise seed, the logged losses and the images agree. They differ
        # by summation order only: most by 1e-8; a bias right before batch normalization has a
        # zero gradient up to rounding, which Adam turns into steps of up to its learning rate.
        assert result["weights"] < 1e-3 and result["optimizer"] < 1e-3, (name, result)
        assert result["seed"] == 0.0, (name, result)
        assert result["images"] < 1e-3, (name, result)
        assert (result["raw_images"] is not None) == (name != "wgan-gp"), (name, result)  # who averages its G
        assert result["raw_images"] is None or result["raw_images"] < 1e-3, (name, result)
        one, two = result["losses"]
        assert one.keys() == two.keys() and all(abs(one[k] - two[k]) < 1e-4 for k in one), (name, result)
    for name in ("dcgan", "infogan"):  # they have batch normalization, and its statistics moved
        count, moved_on_one, moved_on_two = report[name]["batch_norm_statistics"]
        assert count > 0 and moved_on_one > 1e-4 and moved_on_two > 1e-4, report[name]


# ------------------------------------ JAX: two processes train one run, which resumes on one device
def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def kzoo_process(*args, cwd=None):
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "kzoo", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return err


# One epoch, as the pair below is told: without it the reference would train the model's default length.
TINY_DCGAN = {"model_name": "dcgan", "hyperparameters": {"width": 2}, "epochs": 1, "steps_per_epoch": 2, "batch_size": 8,
              "sample_count": 4, "seed": 5, "verbose": 0}


def tiny_cli_arguments():
    return ["dcgan", "--set", "width=2", "--steps-per-epoch", 2, "--batch-size", 8, "--samples", 4, "--seed", 5]


@on_jax_only
def test_two_processes_train_one_run_written_once_which_resumes_on_one_device(tmp_path):
    import kzoo
    from kzoo import runs, saving, training

    # Two processes, one CPU device each, run the same command, each in its own folder with the
    # same relative --out: the run must appear in process 0's folder only.
    folders = [tmp_path / "process0", tmp_path / "process1"]
    for folder in folders:
        folder.mkdir()
    cluster = ["--coordinator", f"localhost:{free_port()}", "--num-processes", 2]
    processes = [kzoo_process("train", *tiny_cli_arguments(), "--epochs", 1, "--out", "run", *cluster,
                              "--process-id", i, cwd=folders[i]) for i in (0, 1)]
    try:
        logs = [finished(p) for p in processes]
    finally:  # one that failed leaves the other waiting for it: end both
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "on 2 devices" in logs[0] and "process 1 of 2 (process 0 writes the run)" in logs[1]
    assert list(folders[1].iterdir()) == [], "process 1 wrote something"
    run = folders[0] / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["devices"]["count"] == 2 and config["devices"]["processes"] == 2

    # They trained what one device trains on the same global batches (this process: one device).
    alone = training.train(**TINY_DCGAN, out=tmp_path / "alone", log=lambda message: None)
    together, reference = kzoo.load_model(run), kzoo.load_model(alone)
    for u, v in zip(together.weights + together.optimizer.variables, reference.weights + reference.optimizer.variables):
        np.testing.assert_allclose(np.asarray(u.numpy()), np.asarray(v.numpy()), atol=1e-3, err_msg=u.path)
    np.testing.assert_allclose(together.sample(8, seed=1), reference.sample(8, seed=1), atol=1e-3)
    for row, expected in zip(runs.read_history(run), runs.read_history(alone), strict=True):
        assert abs(row["d_loss"] - expected["d_loss"]) < 1e-4 and abs(row["g_loss"] - expected["g_loss"]) < 1e-4

    # The run started on two devices continues on one, counting on.
    training.train(resume=run, epochs=1, verbose=0, log=lambda message: None)
    config = json.loads((run / "config.json").read_text())
    assert config["resumed"][-1]["devices"] == {"count": 1, "names": None, "processes": 1}
    assert saving.read_checkpoint_info(run)["epoch"] == 2 and len(runs.read_history(run)) == 2
    assert int(kzoo.load_model(run).g_optimizer.iterations.numpy()) == 4

