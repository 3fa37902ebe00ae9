"""Start-up times: the kzoo command line, and import + first training step per backend.

    python benchmarks/startup.py                 # a table
    python benchmarks/startup.py --json --out benchmarks/results/startup.json

Every figure is the wall time of a fresh interpreter (a subprocess; median of --runs runs):

  python -c pass          the interpreter alone, for reference
  python -c 'import kzoo' the package (must not import keras)
  python -m kzoo --help   the command line: should feel instant (no keras import)
  python -m kzoo list
  first step, per backend `import keras`, `import kzoo`, `kzoo.create_model(--model)` and one
                          `fit()` of one batch (which compiles the training step), timed inside
                          the child too, so the JSON splits the total into import, build and
                          first-step times; a second one-batch `fit()` gives the compiled step
                          alone (first_fit - second_fit is about the compile time).

If `python -m kzoo` does not work (the command line not written yet, say), its rows say so
instead of failing the script.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common

# Run in the child interpreter: times the phases of a first training step.
CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
import keras
t1 = time.perf_counter()
sys.path.insert(0, {repo!r})
import kzoo
import numpy as np
t2 = time.perf_counter()
model = kzoo.create_model({model!r}, **{hyper!r})
t3 = time.perf_counter()
x, y = kzoo.data.load("mnist-5k")
x, y = x[:{batch}], y[:{batch}]
labels = y if model.conditional else None
model.fit(x, labels, batch_size={batch}, epochs=1, verbose=0)
keras.ops.convert_to_numpy(model.optimizer.iterations)
t4 = time.perf_counter()
model.fit(x, labels, batch_size={batch}, epochs=1, verbose=0)
keras.ops.convert_to_numpy(model.optimizer.iterations)
t5 = time.perf_counter()
print("STARTUP_JSON " + json.dumps({{
    "backend": keras.backend.backend(),
    "import_keras_s": t1 - t0, "import_kzoo_s": t2 - t1, "create_model_s": t3 - t2,
    "first_fit_s": t4 - t3, "second_fit_s": t5 - t4,
}}))
"""


def run(cmd, env=None, timeout=600):
    """(wall seconds, CompletedProcess) of one subprocess."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=timeout, cwd=_common.REPO)
    return time.perf_counter() - start, proc


def _failure(proc):
    lines = [line for line in (proc.stderr or proc.stdout or "").strip().splitlines() if line.strip()]
    return f"exit code {proc.returncode}: {lines[-1].strip() if lines else 'no output'}"


def _env(backend=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # `python -m kzoo` from a source checkout without installing it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_common.REPO, env.get("PYTHONPATH")) if p)
    if backend:
        env["KERAS_BACKEND"] = backend
    return env


def time_command(label, cmd, runs, log, env=None):
    """Median wall time of `cmd` over `runs` runs; {"available": False, "error": ...} if it fails."""
    times = []
    for _ in range(runs):
        seconds, proc = run(cmd, env=env or _env())
        if proc.returncode != 0:
            log(f"# {label}: not available ({_failure(proc)})")
            return {"command": " ".join(cmd[1:]), "available": False, "error": _failure(proc)}
        times.append(seconds)
    log(f"# {label}: median {statistics.median(times):.2f} s over {runs} runs")
    return {"command": " ".join(cmd[1:]), "available": True, **_common.summary(times, 3), "runs": runs}


def time_first_step(backend, args, log):
    hyper = {"width": args.width} if args.width is not None else {}
    code = CHILD.format(repo=_common.REPO, model=args.model, hyper=hyper, batch=args.batch_size)
    walls, phases = [], []
    for _ in range(args.backend_runs):
        seconds, proc = run([sys.executable, "-c", code], env=_env(backend))
        marker = [line for line in proc.stdout.splitlines() if line.startswith("STARTUP_JSON ")]
        if proc.returncode != 0 or not marker:
            log(f"# {backend}: failed ({_failure(proc)})")
            return {"available": False, "error": _failure(proc)}
        walls.append(seconds)
        phases.append(json.loads(marker[0].split(" ", 1)[1]))
    out = {"available": True, "wall_s": _common.summary(walls, 2), "runs": args.backend_runs}
    for key in ("import_keras_s", "import_kzoo_s", "create_model_s", "first_fit_s", "second_fit_s"):
        out[key] = round(statistics.median(p[key] for p in phases), 3)
    log(f"# {backend}: wall median {out['wall_s']['median']:.1f} s (import keras {out['import_keras_s']:.1f}, "
        f"create {out['create_model_s']:.1f}, first fit {out['first_fit_s']:.1f}, "
        f"second fit {out['second_fit_s']:.2f})")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Start-up times of kzoo (subprocesses; medians).")
    parser.add_argument("--runs", type=int, default=5, help="runs per command-line timing (default 5)")
    parser.add_argument("--backend-runs", type=int, default=3, help="runs per backend for the first step (default 3)")
    parser.add_argument("--backends", default=",".join(_common.BACKENDS), help="comma-separated (default: all three)")
    parser.add_argument("--model", default="dcgan", help="model for the first training step (default dcgan)")
    parser.add_argument("--width", type=int, default=None, help="its width (default: the model's own)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    log = (lambda message: print(message, file=sys.stderr, flush=True))

    load_before = _common.load_average()
    py = sys.executable
    result = {"commands": {}, "first_step": {}}
    for label, cmd in (
        ("python -c pass", [py, "-c", "pass"]),
        ("import kzoo", [py, "-c", "import kzoo, sys; assert 'keras' not in sys.modules, 'kzoo imported keras'"]),
        ("kzoo --help", [py, "-m", "kzoo", "--help"]),
        ("kzoo list", [py, "-m", "kzoo", "list"]),
    ):
        result["commands"][label] = time_command(label, cmd, args.runs, log)
    for backend in backends:
        result["first_step"][backend] = time_first_step(backend, args, log)

    result.update({
        "model": args.model, "width": args.width, "batch_size": args.batch_size,
        "machine": _common.cpu_model(),
        "load_average_1min": {"before": load_before, "after": _common.load_average()},
        "versions": _common.versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/startup.py", *sys.argv[1:]]),
    })
    if args.out:
        _common.save_json(result, args.out)
    if args.json:
        _common.print_json(result)
        return 0
    print(f"{'command':22} {'median s':>9} {'min':>7} {'max':>7}")
    for label, r in result["commands"].items():
        if r["available"]:
            print(f"{label:22} {r['median']:9.2f} {r['min']:7.2f} {r['max']:7.2f}")
        else:
            print(f"{label:22} not available: {r['error']}")
    print(f"\nfirst training step of {args.model} (batch {args.batch_size}), median of {args.backend_runs} runs, seconds")
    print(f"{'backend':11} {'wall':>6} {'import keras':>12} {'import kzoo':>11} {'create':>7} {'1st fit':>8} {'2nd fit':>8}")
    for backend, r in result["first_step"].items():
        if not r["available"]:
            print(f"{backend:11} failed: {r['error']}")
            continue
        print(f"{backend:11} {r['wall_s']['median']:6.1f} {r['import_keras_s']:12.2f} {r['import_kzoo_s']:11.2f} "
              f"{r['create_model_s']:7.2f} {r['first_fit_s']:8.2f} {r['second_fit_s']:8.2f}")
    print(f"\nload average (1 min) {result['load_average_1min']}; {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
