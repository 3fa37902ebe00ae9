"""Smoke tests of the benchmark scripts (benchmarks/): they run and report well-formed results.

Tiny networks and two steps; nothing here asserts a speed. Marked `benchmarks`: they run in the
tox `benchmarks` environment, which has all three backends installed, and each script with code
of its own per backend runs on every backend, chosen with --backend (or --backends) as a user
would. The in-process tests and the scripts whose backend does not matter run on
$KERAS_BACKEND (jax there).
"""

import json
import math
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.benchmarks

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")
BACKEND = os.environ.get("KERAS_BACKEND", "jax")
BACKENDS = ("jax", "torch", "tensorflow")


def run_script(script, *args, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)  # the scripts' --backend flag must suffice
    result = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, script), *args],
        check=False, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stderr[-3000:]}"
    return result


def last_json(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, f"expected one JSON object on stdout, got:\n{stdout}"
    return json.loads(lines[0])


def positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def check_result(r, backend, model, d_steps=1):
    assert (r["backend"], r["model"], r["batch_size"], r["width"]) == (backend, model, 8, 2)
    variants = ["kzoo", "native"] + (["plain"] if backend in ("torch", "jax") else [])
    for variant in variants:
        for suffix in ("", "_min", "_max"):
            assert positive(r[f"{variant}_img_s{suffix}"]), (variant, suffix, r)
        assert positive(r["fraction_of_sgemm"][variant])
    assert positive(r["ratio"])
    # kzoo's figure is the whole fit() call; its steps' window alone is reported beside it.
    assert positive(r["kzoo_window_img_s"]["median"]) and r["kzoo_fit_overhead_s"]["min"] >= 0
    if "plain" in variants:
        assert positive(r["plain_ratio"])
    else:
        assert "plain_img_s" not in r and "plain" in r["skipped"]
    # The loops train the same architecture: the same number of trainable weights.
    assert len(set(r["parameters"].values())) == 1, r["parameters"]
    assert r["d_steps"] == d_steps
    assert positive(r["flops_per_step"]) and positive(r["sgemm_gflops"]["best"])
    assert r["versions"]["keras"] and r["machine"]["cpus"] >= 1


# dcgan: convolutions, batch norm, Adam; cgan: labels, dropout, MLP. Each backend has its own
# native loop (and torch and JAX a plain one).
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_throughput_json(model, backend):
    result = run_script(
        "throughput.py", "--backend", backend, "--model", model, "--width", "2", "--batch-size", "8",
        "--steps", "2", "--repeats", "1", "--warmup", "1", "--json",
    )
    check_result(last_json(result.stdout), backend, model)


@pytest.mark.parametrize("backend", BACKENDS)
def test_throughput_wgan_gp_has_native_loops_with_the_penalty(backend):
    result = run_script(
        "throughput.py", "--backend", backend, "--model", "wgan-gp", "--width", "2", "--batch-size", "8",
        "--set", "d_steps=1", "--steps", "1", "--repeats", "1", "--warmup", "1", "--variants", "kzoo,native",
        "--json",
    )
    r = last_json(result.stdout)
    assert positive(r["ratio"]) and "native" not in r.get("skipped", {}), r


@pytest.mark.parametrize("backend", BACKENDS)
def test_throughput_table_and_saved_json(tmp_path, backend):
    # wgan: several critic steps (2 here, to compile quicker), weight clipping, RMSprop; --threads
    # reaches each framework its own way.
    out = tmp_path / "result.json"
    result = run_script(
        "throughput.py", "--backend", backend, "--model", "wgan", "--width", "2", "--batch-size", "8",
        "--set", "d_steps=2", "--steps", "1", "--repeats", "2", "--warmup", "1", "--threads", "1",
        "--out", str(out),
    )
    assert "kzoo" in result.stdout and "native" in result.stdout and "ratio" in result.stdout
    r = json.loads(out.read_text())
    check_result(r, backend, "wgan", d_steps=2)
    assert r["threads"]["requested"] == 1 and r["hyperparameters"] == {"d_steps": 2, "width": 2}
    assert all(len(v) == 2 for v in r["img_s_per_repeat"].values())


def test_flops_dcgan_counts_the_layers():
    # Counted from the layers' shapes: the backend that builds them does not matter (flops.py).
    r = last_json(run_script("flops.py", "--backend", BACKEND, "--model", "dcgan", "--width", "2",
                             "--batch-size", "8", "--json").stdout)
    m = r["models"]["dcgan"]
    # Width 2, latent 100, 28x28x1, 5x5 kernels; FLOPs = 2 x multiply-accumulates.
    f_g = 2 * 100 * 392 + 2 * 49 * 25 * 8 * 4 + 2 * 49 * 25 * 4 * 2 + 2 * 196 * 25 * 2 * 1
    f_d = 2 * 196 * 25 * 1 * 2 + 2 * 49 * 25 * 2 * 4 + 2 * 196 * 1
    assert (m["generator_forward"], m["discriminator_forward"]) == (f_g, f_d)
    assert m["per_image"] == (f_g + 6 * f_d) + (3 * f_g + 3 * f_d)
    assert m["step"] == 8 * m["per_image"]


def test_flops_counts_every_d_step():
    sys.path.insert(0, BENCHMARKS)
    try:
        import flops
    finally:
        sys.path.remove(BENCHMARKS)
    m = flops.model_flops("wgan", width=2, batch_size=8)
    f_g, f_d = m["generator_forward"], m["discriminator_forward"]
    assert m["d_steps"] == 5 and f_g > 0 and f_d > 0
    assert m["per_image"] == 5 * (f_g + 6 * f_d) + 3 * f_g + 3 * f_d


def test_plot_and_tables_from_saved_results(tmp_path):
    sys.path.insert(0, BENCHMARKS)
    try:
        import plot_throughput
    finally:
        sys.path.remove(BENCHMARKS)
    files = []
    for backend, plain in (("tensorflow", None), ("torch", 30.0), ("jax", 20.0)):
        r = {
            "backend": backend, "model": "dcgan", "batch_size": 64, "width": 64, "d_steps": 1,
            "kzoo_img_s": 50.0, "kzoo_img_s_min": 45.0, "kzoo_img_s_max": 55.0,
            "native_img_s": 60.0, "native_img_s_min": 58.0, "native_img_s_max": 61.0, "ratio": 0.833,
            "flops_per_step": 38.4e9, "fraction_of_sgemm": {"kzoo": 0.3, "native": 0.36},
            "sgemm_gflops": {"best": 80.0}, "load_average_1min": {"before": 0.1, "after": 0.2},
            "machine": {"cpu": "test CPU", "cpus": 2},
        }
        if plain:
            r.update(plain_img_s=plain, plain_img_s_min=plain, plain_img_s_max=plain, plain_ratio=50.0 / plain)
            r["fraction_of_sgemm"]["plain"] = 0.2
        path = tmp_path / f"throughput-{backend}-dcgan.json"
        path.write_text(json.dumps(r))
        files.append(str(path))
    png = tmp_path / "plot.png"
    assert plot_throughput.main([*files, "--out", str(png)]) == 0
    assert png.stat().st_size > 1000
    tables = plot_throughput.markdown(plot_throughput.load_results(files))
    for heading in ("**tensorflow** (no plain variant)", "**torch**", "**jax**"):
        assert heading in tables
    assert "| dcgan | 50.0 (45.0-55.0) | 60.0 (58.0-61.0) | 0.83 | 30% / 36% | 80 | 0.1 -> 0.2 |" in tables
    assert "| dcgan | 50.0 (45.0-55.0) | 60.0 (58.0-61.0) | 30.0 (30.0-30.0) | 0.83 | 1.67 |" in tables
    # --fast-paths: torch runs with and without KZOO_TORCH_FAST_PATHS, paired by model and width.
    pair = []
    for paths, kzoo in (([], 20.0), (["executor", "layers", "mirror", "optimizer"], 27.0)):
        r = {**json.loads(open(files[1]).read()), "torch_fast_paths": paths, "repeats": 5, "kzoo_img_s": kzoo,
             "ratio": kzoo / 30.0, "plain_ratio": kzoo / 30.0}
        path = tmp_path / f"torch-{len(paths)}.json"
        path.write_text(json.dumps(r))
        pair.append(str(path))
    jax_run = {**json.loads(open(files[2]).read()), "repeats": 5}  # not torch: never paired
    (tmp_path / "jax.json").write_text(json.dumps(jax_run))
    pairs = plot_throughput.fast_path_pairs(plot_throughput.load_results([*pair, str(tmp_path / "jax.json")]))
    assert list(pairs) == [("dcgan", 64, 5)]
    assert (pairs[("dcgan", 64, 5)]["off"]["kzoo_img_s"], pairs[("dcgan", 64, 5)]["on"]["kzoo_img_s"]) == (20.0, 27.0)
    assert plot_throughput.main([*pair, "--fast-paths", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_startup_reports_even_without_a_working_cli(tmp_path):
    out = tmp_path / "startup.json"
    r = last_json(run_script(
        "startup.py", "--runs", "1", "--backend-runs", "1", "--backends", ",".join(BACKENDS), "--width", "2",
        "--batch-size", "8", "--json", "--out", str(out),
    ).stdout)
    assert set(r["commands"]) == {"python -c pass", "import kzoo", "kzoo --help", "kzoo list"}
    for entry in r["commands"].values():  # either timed or explained
        assert positive(entry["median"]) if entry["available"] else entry["error"]
    assert r["commands"]["import kzoo"]["available"], "importing kzoo must not import keras"
    assert list(r["first_step"]) == list(BACKENDS)
    for backend, first in r["first_step"].items():
        assert first["available"], (backend, first)
        assert positive(first["first_fit_s"]) and positive(first["wall_s"]["median"]), (backend, first)


def test_default_steps_make_a_repetition_last_about_a_second(monkeypatch):
    """Without --steps, a repetition runs as many steps as fill REPETITION_SECONDS for the
    fastest variant, within [MIN_STEPS, MAX_STEPS] (timer-free: a fake variant's steps sleep)."""
    import time

    import numpy as np

    monkeypatch.syspath_prepend(BENCHMARKS)
    from _throughput import timing

    class Sleepy:
        def __init__(self, seconds_per_step):
            self.seconds_per_step = seconds_per_step

        def prepare(self, x, y):
            return x, y

        def train(self, x, y):
            time.sleep(self.seconds_per_step * (len(x) // 4))

    x, y = np.zeros((40, 2), "float32"), None
    monkeypatch.setattr(timing, "REPETITION_SECONDS", 0.3)
    steps = timing.calibrated_steps([Sleepy(0.01), Sleepy(0.05)], x, y, batch_size=4)
    assert timing.MIN_STEPS < 20 <= steps <= 30  # the faster one sets it: 0.3 s / 0.01 s (sleep overshoots)
    assert timing.calibrated_steps([Sleepy(0.1)], x, y, batch_size=4) == timing.MIN_STEPS
    monkeypatch.setattr(timing, "MAX_STEPS", 12)
    assert timing.calibrated_steps([Sleepy(0.001)], x, y, batch_size=4) == 12


def test_time_to_quality_records_a_curve_and_the_thresholds(tmp_path):
    # kzoo's dcgan on each backend, and the plain torch.nn anchor (benchmarks/_throughput/plain_torch.py).
    runs = [f"kzoo:{backend}" for backend in BACKENDS] + ["torch-dcgan"]
    run_script("time_to_quality.py", "--runs", ",".join(runs), "--set", "width=2", "--set", "ema_decay=0.5",
               "--steps", "4", "--eval-every", "2", "--num", "100", "--out", str(tmp_path), timeout=1200)
    for run in runs:
        record = json.loads((tmp_path / f"{run.replace(':', '-')}.json").read_text())
        assert [p["step"] for p in record["curve"]] == [2, 4]
        assert record["curve"][0]["train_seconds"] <= record["curve"][1]["train_seconds"]
        assert all(positive(p["fd"]) and 0 <= p["coverage"] <= 10 for p in record["curve"])
        assert set(record["thresholds"]) == {"3.0", "2.0", "1.0"}
        # The averaged generator is scored, and the raw one beside it.
        assert ("raw" in record["curve"][0]) == run.startswith("kzoo")
    assert (tmp_path / "table.md").is_file() and (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    # --table-only rebuilds the table from the JSON files, training nothing.
    (tmp_path / "table.md").unlink()
    run_script("time_to_quality.py", "--runs", ",".join(runs), "--table-only", "--out", str(tmp_path))
    rows = (tmp_path / "table.md").read_text().splitlines()[2:]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == runs


def test_tf_op_times_sums_both_programs_operations(tmp_path):
    # The script reads TensorFlow's profiler: it selects TensorFlow itself.
    out = tmp_path / "ops.json"
    result = run_script("tf_op_times.py", "--model", "dcgan", "--width", "2", "--batch-size", "8",
                        "--steps", "2", "--out", str(out))
    assert "operation kind" in result.stdout and "wall time of the steps" in result.stdout
    r = json.loads(out.read_text())
    assert (r["model"], r["width"], r["steps"]) == ("dcgan", 2, 2)
    for name in ("kzoo", "native"):
        variant = r["variants"][name]
        assert positive(variant["wall_s"])
        operations = variant["operations"]
        # Only XLA's operations: no executor span, marker or Keras function among them.
        assert not [kind for kind in operations if ":" in kind or " " in kind or "step" in kind], operations
        convolutions = sum(op["count"] for kind, op in operations.items() if kind.startswith("convolution"))
        assert convolutions > 0 and all(op["ms"] >= 0 for op in operations.values()), operations


def test_scaling_benchmark_reports_every_device_count(tmp_path):
    # JAX's data parallelism on two virtual CPU devices: the script picks JAX and sets XLA_FLAGS itself.
    out = tmp_path / "scaling.json"
    result = run_script("scaling.py", "--cpu-devices", "2", "--width", "2", "--per-device-batch", "4", "--steps", "2",
                        "--repeats", "1", "--warmup", "1", "--out", str(out), timeout=300)
    assert "correctness, not speed" in result.stdout
    report = json.loads(out.read_text())
    assert report["virtual_cpu_devices"] and report["available_devices"] == ["cpu:0", "cpu:1"]
    assert [r["devices"] for r in report["results"]] == [1, 2]
    assert [r["weights_on_devices"] for r in report["results"]] == [1, 2]
    assert [r["global_batch"] for r in report["results"]] == [4, 8]
    assert all(r["img_s"]["median"] > 0 and r["efficiency"] > 0 for r in report["results"])
