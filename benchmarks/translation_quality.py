"""Autoencoders and image-to-image models trained on their tasks: the table in benchmarks/README.md.

    python benchmarks/translation_quality.py       # every model on jax and tensorflow (about 1 h here)
    python benchmarks/translation_quality.py --models pix2pix --backends jax --epochs 1 \\
        --steps-per-epoch 2 --width-scale 0.125 --num 100 --out /tmp/t          # a smoke run

For every model and backend, in its own subprocess (KERAS_BACKEND set before keras is imported):

1. train with `kzoo.training.train`, exactly as `kzoo train` does (seeded weights and batches),
   on the model's task and at the budget in BUDGETS (epochs over the task's 4,000 training
   images, batch size, hyperparameters: some networks narrower than the papers' to fit a
   2-core CPU; `--epochs` and `--width-scale` override, for smoke runs);
2. score the trained model with `kzoo.evaluation.evaluate` on held-out data never trained on,
   what `kzoo evaluate` prints: for image-to-image models L1, PSNR, SSIM against the true
   targets of the 1,000 held-out digits and class preservation on the kzoo-digits-v1 evaluator
   (bracketed by its accuracy on the inputs as they are and on the true targets), both
   directions for cyclegan; for autoencoders the reconstruction error of the held-out digits
   and the evaluator metrics of 1,000 prior samples;
3. write <model>_<backend>.json and a picture <model>_<backend>.png of ten held-out digits
   (one per class): image-to-image models, one column per digit, rows input, output, true
   target (cyclegan: a, G(a), then b, F(b)); autoencoders, rows digit, reconstruction, then
   two rows of prior samples.

Then table.md (two tables: image-to-image and autoencoders) is written and printed;
`--table-only` rebuilds it from the JSON files in --out.
"""

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

# Budgets (epochs over the 4,000 training images) and what differs from the paper's defaults.
BUDGETS = {
    "pix2pix": {"task": "mnist-5k:edges", "epochs": 5, "batch_size": 32, "hyperparameters": {"width": 32}},
    "context-encoder": {"task": "mnist-5k:masked", "epochs": 5, "batch_size": 32, "hyperparameters": {"width": 32}},
    "cyclegan": {"task": "mnist-5k:thick", "epochs": 5, "batch_size": 16,
                 "hyperparameters": {"width": 16, "residual_blocks": 3}},
    "vae": {"task": "mnist-5k:train", "epochs": 20, "batch_size": 64, "hyperparameters": {}},
    "aae": {"task": "mnist-5k:train", "epochs": 20, "batch_size": 64, "hyperparameters": {}},
}
MODELS = tuple(BUDGETS)
DEFAULT_BACKENDS = ("jax", "tensorflow")
DEFAULT_OUT = os.path.join(_common.RESULTS, "translation")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train the autoencoders and image-to-image models on their tasks and score them on held-out "
                    "digits; write JSON, pictures and a table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default=",".join(DEFAULT_BACKENDS), help="comma-separated (default: jax,tensorflow)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default: {','.join(MODELS)})")
    parser.add_argument("--epochs", type=int, help="epochs for every model (default: each model's budget)")
    parser.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass over the 4,000 images)")
    parser.add_argument("--width-scale", type=float, default=1.0, help="multiply each budget's width (smoke runs only)")
    parser.add_argument("--num", type=int, default=1000, help="held-out images scored (default 1000: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=DEFAULT_OUT, help="results folder (default benchmarks/results/translation)")
    parser.add_argument("--table-only", action="store_true", help="only rebuild table.md from the JSON in --out")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per model and backend")
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _common.parse_backends_and_models(parser, args, MODELS)
    if (args.epochs is not None and args.epochs < 1) or args.width_scale <= 0 or not 10 <= args.num <= 1000:
        parser.error("--epochs must be >= 1, --width-scale > 0, --num in 10..1000")
    return args


def budget(args, name):
    """The model's budget with the command line's overrides applied."""
    chosen = dict(BUDGETS[name])
    hyperparameters = dict(chosen["hyperparameters"])
    if args.width_scale != 1.0:
        import kzoo

        width = hyperparameters.get("width") or kzoo.registry.load_model_class(name).default_hyperparameters()["width"]
        hyperparameters["width"] = max(1, round(width * args.width_scale))
    chosen["hyperparameters"] = hyperparameters
    if args.epochs is not None:
        chosen["epochs"] = args.epochs
    chosen["steps_per_epoch"] = args.steps_per_epoch
    return chosen


# ============================================================================ worker (one model, one backend)
def one_per_class(labels, classes=10):
    """Index of the first held-out digit of each class."""
    return [int(list(labels).index(c)) for c in range(classes)]


def picture(model, task, path):
    """Ten held-out digits, one per class, through the model (see the module docstring)."""
    import numpy as np

    from kzoo import images, tasks
    from kzoo.metrics import splits

    if hasattr(model, "translate"):
        pairs = tasks.load_pairs(task, split="heldout")
        pick = one_per_class(pairs.labels_a)
        a, b = pairs.a[pick], pairs.b[pick]
        rows = [a, model.translate(a, "a2b"), b]
        if "b2a" in model.directions:
            rows += [model.translate(b, "b2a"), a]
    else:
        x, y = splits.heldout_images()
        digits = x[one_per_class(y)]
        rows = [digits, model.reconstruct(digits), model.sample(20, seed=0)]
    images.save_grid(np.concatenate(rows), path, nrow=10)


def run_worker(args, backend, name):
    """Train and score one model on this process's backend; write its JSON and picture."""
    import keras

    import kzoo
    from kzoo import evaluation, runs, training

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    chosen = budget(args, name)
    load_before = _common.load_average()
    with tempfile.TemporaryDirectory(prefix=f"kzoo-{name}-") as folder:
        run = training.train(
            name, dataset=chosen["task"], epochs=chosen["epochs"], steps_per_epoch=chosen["steps_per_epoch"],
            batch_size=chosen["batch_size"], seed=args.seed, hyperparameters=chosen["hyperparameters"],
            out=os.path.join(folder, "run"), sample_count=30, verbose=0,
            log=lambda message: print(f"[{name} {backend}] {message}", file=sys.stderr, flush=True),
        )
        history = runs.read_history(run)
        config = runs.read_config(run)
        model = kzoo.load_model(run)
    load_after_train = _common.load_average()
    started = time.perf_counter()
    metrics = evaluation.evaluate(model, chosen["task"], num=args.num, seed=args.seed)
    eval_seconds = time.perf_counter() - started
    os.makedirs(args.out, exist_ok=True)
    stem = f"{name}_{backend}"
    picture(model, chosen["task"], os.path.join(args.out, stem + ".png"))
    record = {
        "benchmark": "translation-quality",
        "model": name,
        "backend": backend,
        "task": chosen["task"],
        "epochs": chosen["epochs"],
        "steps_per_epoch": config["steps_per_epoch"],
        "batch_size": chosen["batch_size"],
        "seed": args.seed,
        "hyperparameters": model.get_config(),
        "budget_hyperparameters": chosen["hyperparameters"],
        "parameters": int(sum(int(keras.ops.size(v)) for v in model.trainable_variables)),
        "train_seconds": round(sum(row["seconds"] for row in history), 1),
        "history": history,
        "num": args.num,
        "eval_seconds": round(eval_seconds, 1),
        "metrics": metrics,
        "load_average": {"before": load_before, "after_training": load_after_train, "after": _common.load_average()},
        "machine": _common.cpu_model(),
        "versions": _common.versions(backend),
        "git_commit": _git_commit(),
        "command": [os.path.basename(sys.executable)] + sys.argv,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    _common.save_json(record, os.path.join(args.out, stem + ".json"))
    print(f"[{name} {backend}] trained in {record['train_seconds']} s; {json.dumps(_short(metrics))}", flush=True)
    return record


def _git_commit():
    try:
        return subprocess.run(["git", "-C", _common.REPO, "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _short(metrics):
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items() if k != "class_counts"}


# ============================================================================ table
def _f(value, digits=2):
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _budget_text(r):
    width = r["hyperparameters"].get("width")
    extra = {k: v for k, v in r["budget_hyperparameters"].items() if k != "width"}
    extra_text = "".join(f", {k} {v}" for k, v in extra.items())
    return f"{r['epochs']} ep x {r['steps_per_epoch']} x {r['batch_size']}, width {width}{extra_text}"


def _minutes(seconds):
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def translation_rows(records):
    head = ["model", "task, direction", "backend", "budget (epochs x steps x batch)", "train time", "L1 ↓ (input)",
            "PSNR dB ↑ (input)", "SSIM ↑ (input)", "class kept ↑ (inputs / targets)", "hole PSNR ↑ (mean fill)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for r in records:
        m = r["metrics"]
        directions = ["a2b", "b2a"] if "b2a_l1" in m else ["a2b"]
        for direction in directions:
            p = "" if direction == "a2b" else "b2a_"
            classes = (f"**{m[p + 'class_accuracy']:.3f}** ({m[p + 'class_accuracy_inputs']:.3f} / "
                       f"{m[p + 'class_accuracy_targets']:.3f})") if p + "class_accuracy" in m else "-"
            hole = (f"{m['hole_psnr']:.2f} ({m['input_hole_psnr']:.2f})" if "hole_psnr" in m and not p else "-")
            lines.append("| " + " | ".join([
                r["model"], f"{r['task']}, {direction}", r["backend"], _budget_text(r), _minutes(r["train_seconds"]),
                f"{_f(m[p + 'l1'], 3)} ({_f(m[p + 'input_l1'], 3)})", f"{_f(m[p + 'psnr'])} ({_f(m[p + 'input_psnr'])})",
                f"{_f(m[p + 'ssim'], 3)} ({_f(m[p + 'input_ssim'], 3)})", classes, hole,
            ]) + " |")
    return lines


def autoencoder_rows(records):
    head = ["model", "backend", "budget (epochs x steps x batch)", "train time", "reconstruction L1 ↓",
            "PSNR dB ↑", "SSIM ↑", "prior samples: fd ↓", "kid ↓", "classifier score ↑", "coverage ↑"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for r in records:
        m = r["metrics"]
        lines.append("| " + " | ".join([
            r["model"], r["backend"], _budget_text(r), _minutes(r["train_seconds"]), _f(m["reconstruction_l1"], 3),
            _f(m["reconstruction_psnr"]), _f(m["reconstruction_ssim"], 3), _f(m.get("fd")), _f(m.get("kid"), 4),
            _f(m.get("classifier_score")), f"{m.get('coverage', '-')}/10",
        ]) + " |")
    return lines


def build_table(records):
    translation = [r for r in records if "l1" in r["metrics"]]
    autoencoders = [r for r in records if r not in translation]
    lines = []
    if translation:
        lines += [f"Image-to-image, on {translation[0]['metrics']['n']:,} held-out digits (the inputs as they are "
                  "in brackets):", ""]
        lines += translation_rows(translation) + [""]
    if autoencoders:
        n = autoencoders[0]["num"]
        lines += [f"Autoencoders, on {n:,} held-out digits and {n:,} prior samples:", ""]
        lines += autoencoder_rows(autoencoders) + [""]
    loads = [x for r in records for x in r["load_average"].values() if x is not None]
    if loads:
        lines.append(f"Load average during the runs: {min(loads):.1f}-{max(loads):.1f} on "
                     f"{records[0]['machine']['cpus']} CPUs ({records[0]['machine']['cpu']}).")
    return "\n".join(lines) + "\n"


def write_table(args):
    order = {(m, b): i for i, (m, b) in enumerate((m, b) for m in MODELS for b in _common.BACKENDS)}
    records = []
    for path in glob.glob(os.path.join(args.out, "*.json")):
        with open(path) as f:
            record = json.load(f)
        if record.get("benchmark") == "translation-quality":
            records.append(record)
    records.sort(key=lambda r: order.get((r["model"], r["backend"]), len(order)))
    table = build_table(records)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table)
    print(table)
    return table


# ============================================================================ main
def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        backend, model = args.worker
        _common.select_backend(backend)
        run_worker(args, backend, model)
        return 0
    if args.table_only:
        write_table(args)
        return 0
    failures = []
    for model in args.models:
        for backend in args.backends:
            print(f"== {model} on {backend} (load {_common.load_average()})", file=sys.stderr, flush=True)
            command = [sys.executable, os.path.abspath(__file__), "--worker", backend, model,
                       "--width-scale", str(args.width_scale), "--num", str(args.num), "--seed", str(args.seed),
                       "--out", args.out]
            if args.epochs is not None:
                command += ["--epochs", str(args.epochs)]
            if args.steps_per_epoch is not None:
                command += ["--steps-per-epoch", str(args.steps_per_epoch)]
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            try:
                result = subprocess.run(command, env=env, timeout=args.timeout)
                if result.returncode:
                    failures.append(f"{model} on {backend}: exit {result.returncode}")
            except subprocess.TimeoutExpired:
                failures.append(f"{model} on {backend}: over {args.timeout:.0f} s")
    write_table(args)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
