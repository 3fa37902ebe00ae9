"""Sample quality of every built-in model (and two anchors) at its default training budget.

    python benchmarks/quality.py                      # the full table in benchmarks/README.md
    python benchmarks/quality.py --backends jax --models gan,keras-guide --steps 2 \
        --num 200 --width-scale 0.05 --out /tmp/q     # a smoke run

For every backend and model, in its own subprocess (KERAS_BACKEND set before keras is imported):

1. build the model at its default hyperparameters (`--width-scale` multiplies `width`, for tests
   only), seeded with --seed (weights, noise, batch order);
2. train it on "mnist-5k:train" - the 4,000 images of the train split; never the 1,000 held-out
   images that the metrics use as reference - for its default budget: as many generator steps as
   `kzoo train NAME` makes by default on mnist-5k (`default_steps()`: the model's default epochs
   x its default steps per epoch, or x 78, one pass over mnist-5k at batch 64, where it declares none),
   and at least --min-steps (2,000); or --steps for every model. The budget is counted in
   generator steps (WGAN makes 5 critic updates per step). Batches come from
   `kzoo.training.epoch_batches` (seeded shuffles), exactly as `kzoo train` makes them
   (benchmarks/_trainers.py);
3. time the training (wall time of the `fit()` calls, compilation included, with the load average);
4. generate --num images from numpy noise (--seed; conditional models get labels 0, 1, ..., 9,
   0, 1, ... and are passed them) and score them with `kzoo.metrics.evaluate_images` against
   the held-out images, on the kzoo-digits-v1 evaluator; the averaged generator makes them
   when the model keeps one, as with `kzoo evaluate`;
5. write <model>_<backend>.json and a sample grid <model>_<backend>.png (64 images from seed
   --seed; conditional models: one row per class).

The anchors, at dcgan's budget: "keras-guide", the MNIST GAN of Keras's own guide
(benchmarks/keras_guide_gan.py) trained by kzoo's step on TensorFlow, and "torch-dcgan", kzoo's
DCGAN recipe written in plain torch.nn (benchmarks/_throughput/plain_torch.py) on torch, whatever
--backends says.

Then `kzoo.metrics.real_floor(--num)` (real train-split images against the held-out ones: what
a perfect generator would score at that N) goes to floor.json, and table.md holds one row per
model and backend with the floor row on top. The table is also printed. `--table-only`
rebuilds it from the JSON files already in --out.

The metrics come from a small digit classifier (kzoo-digits-v1), not Inception: fd is the
Frechet distance on its 64-d features, not FID, and no number here is comparable with a
published FID. FD is biased upward at small N: compare only at the same --num, next to the
floor.
"""

import argparse
import datetime
import glob
import json
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
from _trainers import DATASET, KerasTrainer, TorchTrainer  # noqa: E402

MODELS = ("gan", "cgan", "dcgan", "lsgan", "wgan", "wgan-gp", "sngan", "ragan", "acgan", "infogan",
          "keras-guide", "torch-dcgan")
ANCHORS = ("keras-guide", "torch-dcgan")
DEFAULT_BACKENDS = ("jax", "tensorflow")
MIN_STEPS = 2000
TRAIN_IMAGES = 4000
# What the workers import besides kzoo: the anchors, the trainers and the throughput loops (a folder).
BENCHMARK_SOURCES = ("keras_guide_gan.py", "_trainers.py", "_throughput", "flops.py")
DEFAULT_OUT = os.path.join(_common.RESULTS, "quality")
GRID_SAMPLES = 64
METRIC_COLUMNS = ("fd", "kid", "classifier_score", "coverage", "class_kl", "precision", "recall",
                  "label_accuracy")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train every model for its default budget (at least 2,000 generator steps) on mnist-5k:train and score its "
                    "samples with the kzoo-digits-v1 metrics; write JSON, sample grids and a table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default=",".join(DEFAULT_BACKENDS),
                        help="comma-separated keras backends (default: jax,tensorflow)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated models (default: {','.join(MODELS)}); keras-guide is the "
                             "anchor in benchmarks/keras_guide_gan.py")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps for every model (default: each model's default budget, at least "
                             "--min-steps; the anchors get dcgan's)")
    parser.add_argument("--min-steps", type=int, default=MIN_STEPS,
                        help=f"the least default budget, in generator steps (default {MIN_STEPS})")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num", type=int, default=1000, help="generated images scored per model (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=DEFAULT_OUT, help="results folder (default benchmarks/results/quality)")
    parser.add_argument("--width-scale", type=float, default=1.0,
                        help="multiply every model's default width (tests only; default 1: the real models)")
    parser.add_argument("--table-only", action="store_true", help="only rebuild table.md from the JSON in --out")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per training subprocess")
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)  # the workers' snapshot of the sources
    args = parser.parse_args(argv)
    _common.parse_backends_and_models(parser, args, MODELS)
    if (args.steps is not None and args.steps < 1) or args.batch_size < 1 or args.num < 4 or args.width_scale <= 0:
        parser.error("--steps and --batch-size must be >= 1, --num >= 4, --width-scale > 0")
    return args


def backends_of(model, backends):
    """The plain-torch DCGAN runs on torch whatever the table's backends; the Keras-guide GAN on
    TensorFlow when the table has it (the guide's backend; Keras's own transposed convolution is
    18-25x slower to differentiate on JAX's CPU, ../shared/notes), else on the table's."""
    if model == "torch-dcgan":
        return ["torch"]
    if model == "keras-guide" and "tensorflow" in backends:
        return ["tensorflow"]
    return backends


def result_stem(model, backend):
    return f"{model}_{backend}"


def snapshot_sources(dest):
    """Copy kzoo (with its data files) and the anchor model into `dest`; the workers import from it.

    A full run takes half an hour or more on a shared checkout that others edit: without a
    snapshot, models trained later in the run would use other code than the first ones.
    """
    import shutil

    caches = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(os.path.join(_common.REPO, "kzoo"), os.path.join(dest, "kzoo"), ignore=caches)
    for name in BENCHMARK_SOURCES:
        source, target = os.path.join(_common.REPO, "benchmarks", name), os.path.join(dest, name)
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=caches)
        else:
            shutil.copy2(source, target)
    return dest


def source_fingerprint(root=None):
    """sha256 over kzoo's Python sources and the anchor model under `root` (a snapshot or the
    checkout), and the checkout's git commit.

    Recorded by every worker: rows trained by different code are flagged in the table instead
    of being silently compared.
    """
    import hashlib

    digest = hashlib.sha256()
    base = os.path.join(_common.REPO, "benchmarks") if root is None else root
    root = root or _common.REPO
    files = sorted(glob.glob(os.path.join(root, "kzoo", "**", "*.py"), recursive=True))
    for name in BENCHMARK_SOURCES:
        path = os.path.join(base, name)
        files += sorted(glob.glob(os.path.join(path, "**", "*.py"), recursive=True)) if os.path.isdir(path) else [path]
    for path in files:
        digest.update(os.path.relpath(path, root).replace(os.sep, "/").encode())
        with open(path, "rb") as f:
            digest.update(f.read())
    commit = None
    try:
        commit = subprocess.run(["git", "-C", _common.REPO, "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"sources_sha256": digest.hexdigest()[:16], "git_commit": commit}


# ============================================================================ worker (one model, one backend)
def make_trainer(args, name):
    """The model's trainer (benchmarks/_trainers.py): a kzoo model, the Keras-guide GAN or plain torch."""
    if name == "torch-dcgan":
        return TorchTrainer(args.seed, args.batch_size)
    hyperparameters = {}
    if args.width_scale != 1.0:
        from kzoo import registry

        if name == "keras-guide":
            from keras_guide_gan import KerasGuideGAN as cls
        else:
            cls = registry.load_model_class(name)
        hyperparameters["width"] = max(1, round(cls.default_hyperparameters()["width"] * args.width_scale))
    return KerasTrainer(name, args.seed, args.batch_size, hyperparameters)


def budget(args, name):
    """Generator steps for `name`: --steps, else its default budget (anchors: dcgan's), at least --min-steps."""
    if args.steps:
        return args.steps
    from kzoo import registry

    cls = registry.load_model_class("dcgan" if name in ANCHORS else name)
    return max(args.min_steps, cls.default_steps(batch_size=args.batch_size))


def run_worker(args, backend, name):
    """Train, time, sample and score one model on this process's backend; write its JSON and PNG."""
    if args.code:  # the run's snapshot wins over the checkout (which _common put on sys.path)
        sys.path.insert(0, args.code)
    code = source_fingerprint(args.code)  # of the sources about to be imported
    import keras

    import kzoo
    from kzoo import images, sampling
    from kzoo.metrics import evaluate_images

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    if args.code:
        assert os.path.realpath(kzoo.__file__).startswith(os.path.realpath(args.code)), kzoo.__file__
    load_before = _common.load_average()
    trainer = make_trainer(args, name)
    if len(trainer.x) != TRAIN_IMAGES:  # the train split only: the held-out 1000 are the metrics' reference
        raise RuntimeError(f"{DATASET} has {len(trainer.x)} images, expected {TRAIN_IMAGES}")
    steps = budget(args, name)
    per_epoch = TRAIN_IMAGES // args.batch_size

    chunk_seconds, history, nonfinite = [], [], None
    while trainer.steps_done < steps:
        started = time.perf_counter()
        row = trainer.train(min(per_epoch, steps - trainer.steps_done))
        chunk_seconds.append(time.perf_counter() - started)
        history.append(row)
        print(f"[{name} {backend}] step {trainer.steps_done}/{steps}: {chunk_seconds[-1]:.1f} s "
              f"{json.dumps({k: round(v, 4) for k, v in row.items()})}", flush=True)
        if not all(math.isfinite(v) for v in row.values()):
            nonfinite = f"non-finite loss at step {trainer.steps_done}: {row}"
            break
    train_seconds = sum(chunk_seconds)
    load_after_train = _common.load_average()

    model = trainer.model  # None for the plain-torch anchor
    num = args.num
    started = time.perf_counter()
    generated, eval_labels = trainer.sample(num, args.seed)
    metrics, error = None, nonfinite
    try:
        metrics = evaluate_images(generated, labels=eval_labels, seed=args.seed)
    except Exception as e:  # NaN images from a diverged run: record, do not abort the table
        error = f"{error + '; ' if error else ''}evaluation failed: {type(e).__name__}: {e}"
    eval_seconds = time.perf_counter() - started

    os.makedirs(args.out, exist_ok=True)
    stem = result_stem(name, backend)
    if model is not None:
        grid_images, per_row = sampling.grid_samples(model, GRID_SAMPLES, seed=args.seed)
    else:
        grid_images, per_row = trainer.sample(GRID_SAMPLES, args.seed)[0], 8
    images.save_grid(grid_images, os.path.join(args.out, stem + ".png"), nrow=per_row)

    config = trainer.hyperparameters
    record = {
        "benchmark": "quality",
        "model": name,
        "backend": backend,
        "dataset": DATASET,
        "train_images": TRAIN_IMAGES,
        "steps": steps,
        "steps_done": trainer.steps_done,
        "batch_size": args.batch_size,
        "d_steps": int(config.get("d_steps", 1)),
        "seed": args.seed,
        "width_scale": args.width_scale,
        "hyperparameters": config,
        "jit_compile": None if model is None else model.jit_compile,
        "code": code,
        "parameters": trainer.parameters(),
        "train_seconds": round(train_seconds, 2),
        "chunk_seconds": [round(s, 2) for s in chunk_seconds],
        "images_per_second": (round(args.batch_size * per_epoch / float(statistics.median(chunk_seconds[1:])), 1)
                              if len(chunk_seconds) > 2 else None),
        "history": history,
        "num": num,
        "eval_seconds": round(eval_seconds, 2),
        "metrics": metrics,
        "error": error,
        "load_average": {"before": load_before, "after_training": load_after_train,
                         "after": _common.load_average()},
        "machine": _common.cpu_model(),
        "versions": _common.versions(backend),
        "kzoo_version": kzoo.__version__,
        "command": [os.path.basename(sys.executable)] + sys.argv,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    _common.save_json(record, os.path.join(args.out, stem + ".json"))
    return record


# ============================================================================ floor and table
def compute_floor(args):
    """real_floor(--num) in this process (keras imported here on the first backend), saved as floor.json."""
    from kzoo.metrics import EVALUATOR_ID, real_floor

    metrics = real_floor(args.num, seed=args.seed)
    record = {"benchmark": "quality-floor", "num": args.num, "seed": args.seed, "evaluator": EVALUATOR_ID,
              "metrics": metrics,
              "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    _common.save_json(record, os.path.join(args.out, "floor.json"))
    return record


def _fmt(key, value):
    if value is None:
        return "-"
    if key == "coverage":
        return f"{int(value)}/10"
    if key in ("kid",):
        return f"{value:.4f}"
    if key in ("fd",):
        return f"{value:.2f}" if value < 100 else f"{value:.1f}"
    return f"{value:.3f}" if key in ("class_kl",) else f"{value:.2f}"


def _time(seconds):
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def build_table(records, floor):
    """Markdown: the floor row, then one row per (model, backend) in the order given."""
    head = ["model", "backend", "steps", "train time", "fd ↓", "kid ↓", "classifier score ↑", "coverage ↑",
            "class KL ↓", "precision ↑", "recall ↑", "label acc. ↑"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    fm = floor["metrics"]
    lines.append("| **real train images (floor)** | - | - | - | "
                 + " | ".join(_fmt(k, fm.get(k)) for k in METRIC_COLUMNS) + " |")
    for r in records:
        m = r.get("metrics") or {}
        steps = str(r["steps_done"]) if r["steps_done"] == r["steps"] else f"{r['steps_done']} of {r['steps']}"
        if r.get("error") and not m:
            cells = ["failed: " + r["error"].replace("|", "/")[:80]] + [""] * (len(METRIC_COLUMNS) - 1)
        else:
            cells = [_fmt(k, m.get(k)) for k in METRIC_COLUMNS]
        lines.append(f"| {r['model']} | {r['backend']} | {steps} | {_time(r['train_seconds'])} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_table(args, records, floor, total_seconds=None):
    steps = sorted({r["steps"] for r in records})
    loads = [r["load_average"]["before"] for r in records if r["load_average"]["before"] is not None]
    loads += [r["load_average"]["after_training"] for r in records if r["load_average"]["after_training"] is not None]
    machine = records[0]["machine"] if records else _common.cpu_model()
    partial = [f"{r['model']} on {r['backend']} ({r['metrics']['coverage']}/10: "
               f"{r['metrics']['class_counts']})"
               for r in records if r.get("metrics") and r["metrics"]["coverage"] < 10]
    failed = [f"{r['model']} on {r['backend']}: {r['error']}" for r in records if r.get("error")]
    header = [
        f"Trained on {DATASET} (4,000 images) for each model's default budget ({min(steps) if steps else '-'}-"
        f"{max(steps) if steps else '-'} generator steps) at batch {records[0]['batch_size'] if records else args.batch_size}, "
        f"seed {records[0]['seed'] if records else args.seed}; {floor['num']} generated images per model scored "
        f"against the 1,000 held-out images on {floor['evaluator']} features (fd = Frechet distance on those "
        f"features, not FID). Width scale {records[0]['width_scale'] if records else args.width_scale}. "
        f"Machine: {machine['cpu']}, {machine['cpus']} CPUs"
        + (f"; load average during the runs {min(loads):.1f}-{max(loads):.1f}" if loads else "")
        + (f"; whole command {total_seconds / 60:.1f} min" if total_seconds else "") + ".",
        "",
    ]
    table = build_table(records, floor)
    footer = ["", "Coverage below 10/10 (classes getting at least 2% of the predictions): "
              + ("; ".join(partial) if partial else "none") + "."]
    if failed:
        footer.append("Failures: " + "; ".join(failed) + ".")
    fingerprints = {r.get("code", {}).get("sources_sha256") for r in records}
    if len(fingerprints) > 1:
        footer.append("WARNING: these rows were trained by different versions of kzoo's code "
                      f"(sources_sha256 {', '.join(sorted(map(str, fingerprints)))}); re-run them together.")
    text = "\n".join(header) + "\n" + table + "\n" + "\n".join(footer) + "\n"
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    return text


def load_records(args, pairs=None):
    records = []
    if pairs is None:
        paths = sorted(glob.glob(os.path.join(args.out, "*_*.json")))
        order = {m: i for i, m in enumerate(MODELS)}
        loaded = [json.load(open(p)) for p in paths]
        loaded = [r for r in loaded if r.get("benchmark") == "quality"]
        return sorted(loaded, key=lambda r: (order.get(r["model"], 99), r["backend"]))
    for model, backend in pairs:
        path = os.path.join(args.out, result_stem(model, backend) + ".json")
        if os.path.exists(path):
            records.append(json.load(open(path)))
    return records


# ============================================================================ driver
def worker_command(args, backend, model):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", backend, model,
           "--min-steps", str(args.min_steps), "--batch-size", str(args.batch_size), "--num", str(args.num),
           "--seed", str(args.seed), "--out", args.out, "--width-scale", repr(args.width_scale),
           "--backends", backend, "--models", model]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if args.code:
        cmd += ["--code", args.code]
    return cmd


def run_all(args):
    import shutil
    import tempfile

    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    started = time.perf_counter()
    args.code = snapshot_sources(tempfile.mkdtemp(prefix="kzoo-quality-"))
    sys.path.insert(0, args.code)  # the floor below, too, uses the snapshot
    code = source_fingerprint(args.code)
    print(f"sources {code['sources_sha256']} (commit {code['git_commit']}) snapshot in {args.code}", flush=True)
    try:
        return _run_all(args, started, code)
    finally:
        shutil.rmtree(args.code, ignore_errors=True)


def _run_all(args, started, code):
    pairs = [(m, b) for m in args.models for b in backends_of(m, args.backends)]
    for backend in dict.fromkeys(b for _, b in pairs):  # one after the other: timings never overlap
        for model in [m for m, b in pairs if b == backend]:
            stem = result_stem(model, backend)
            stale = os.path.join(args.out, stem + ".json")
            if os.path.exists(stale):
                os.remove(stale)
            log_path = os.path.join(args.out, "logs", stem + ".log")
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
            t0 = time.perf_counter()
            print(f"== {model} on {backend} (load {_common.load_average()}) -> {log_path}", flush=True)
            with open(log_path, "w") as log:
                try:
                    proc = subprocess.run(worker_command(args, backend, model), env=env, stdout=log,
                                          stderr=subprocess.STDOUT, timeout=args.timeout)
                    status = proc.returncode
                except subprocess.TimeoutExpired:
                    status = "timeout"
            if status != 0 or not os.path.exists(stale):
                tail = open(log_path, errors="replace").read()[-2000:]
                print(f"   FAILED ({status}); end of log:\n{tail}", flush=True)
                _common.save_json(_failed_record(args, model, backend, f"worker exited with {status}"), stale)
            else:
                r = json.load(open(stale))
                m = r.get("metrics") or {}
                print(f"   done in {time.perf_counter() - t0:.0f} s: train {r['train_seconds']} s, "
                      f"fd {m.get('fd')}, coverage {m.get('coverage')}", flush=True)

    select_backend_for_floor(args.backends[0])
    floor = compute_floor(args)
    total = time.perf_counter() - started
    records = load_records(args, pairs)
    text = write_table(args, records, floor, total_seconds=total)
    _common.save_json({"benchmark": "quality-summary", "command": [os.path.basename(sys.executable)] + sys.argv,
                       "total_seconds": round(total, 1), "backends": args.backends, "models": args.models,
                       "code": code,
                       "steps": args.steps, "min_steps": args.min_steps, "num": args.num, "seed": args.seed,
                       "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")},
                      os.path.join(args.out, "summary.json"))
    print(text, flush=True)
    return records


def select_backend_for_floor(backend):
    if "keras" not in sys.modules:
        _common.select_backend(backend)


def _failed_record(args, model, backend, error):
    return {"benchmark": "quality", "model": model, "backend": backend, "dataset": DATASET,
            "steps": args.steps or args.min_steps, "steps_done": 0,
            "batch_size": args.batch_size, "seed": args.seed, "width_scale": args.width_scale,
            "train_seconds": None, "metrics": None, "error": error, "num": args.num,
            "load_average": {"before": None, "after_training": None, "after": _common.load_average()},
            "machine": _common.cpu_model()}


def main(argv=None):
    args = parse_args(argv)
    args.out = os.path.abspath(args.out)
    if args.worker:
        backend, model = args.worker
        _common.select_backend(backend)
        run_worker(args, backend, model)
        return 0
    if args.table_only:
        floor_path = os.path.join(args.out, "floor.json")
        if os.path.exists(floor_path):
            floor = json.load(open(floor_path))
        else:
            select_backend_for_floor(args.backends[0])
            floor = compute_floor(args)
        total = None
        summary_path = os.path.join(args.out, "summary.json")
        if os.path.exists(summary_path):
            total = json.load(open(summary_path)).get("total_seconds")
        print(write_table(args, load_records(args), floor, total_seconds=total))
        return 0
    records = run_all(args)
    return 0 if all(r.get("metrics") for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
