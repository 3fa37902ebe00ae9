"""Wall time until a GAN's samples reach a quality: kzoo's dcgan on each backend against two anchors.

    python benchmarks/time_to_quality.py              # the table in benchmarks/README.md
    python benchmarks/time_to_quality.py --runs kzoo:jax,torch-dcgan --steps 3000 --eval-every 250
    python benchmarks/time_to_quality.py --runs kzoo:tensorflow --set augment=translation --tag aug
    python benchmarks/time_to_quality.py --ablate --runs kzoo:jax   # each stabilizer on and off

A user picking a tool wants to know how soon it gives good digits, more than its images per
second. Each run trains on "mnist-5k:train" (the 4,000 train-split images; the metrics' 1,000
held-out images are never trained on) at batch --batch-size, from seed --seed, and stops every
--eval-every generator steps to score --num samples with the kzoo-digits-v1 metrics against the
held-out images (`kzoo.metrics.evaluate_images`; the scoring is not timed). The result is the
training wall time (compilation included, as a user waits for it) at which fd first falls
below each of --thresholds, with the whole quality curve.

Runs (--runs, comma-separated), each in its own subprocess, one after the other:
  kzoo:BACKEND       kzoo's --model (default dcgan) at its defaults plus --set, trained by `fit()`
                     on BACKEND, as `kzoo train` trains it; its samples as `kzoo evaluate` takes
                     them (the averaged generator when the model keeps one).
  keras-guide:BACKEND  the MNIST GAN of Keras's guide (benchmarks/keras_guide_gan.py), trained
                     by kzoo's step on BACKEND.
  torch-dcgan        the same DCGAN networks and losses written in plain torch.nn with
                     torch.optim.Adam (throughput's plain-torch loop, _throughput/plain_torch.py; 5x5
                     kernels with symmetric padding, so a slightly different network); sampled
                     with its generator in eval mode.

--ablate: the ablation table instead. For the one kzoo:BACKEND run given, the model at its
defaults and then once per stabilizer of ABLATIONS switched the other way (on where the default
has it off, off where it is on), each at the same budget and seed, scored at the end.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
from _trainers import DATASET, KerasTrainer, TorchTrainer  # noqa: E402

KEPT = ("fd", "kid", "classifier_score", "coverage", "precision", "recall")
DEFAULT_RUNS = "kzoo:jax,kzoo:tensorflow,kzoo:torch,keras-guide:tensorflow,torch-dcgan"
DEFAULT_OUT = os.path.join(_common.RESULTS, "time_to_quality")
# Each stabilizer of kzoo.AdversarialModel: (name in the table, settings that turn it on, that turn it off).
ABLATIONS = (
    ("generator averaging", {"ema_decay": 0.999}, {"ema_decay": 0.0}),
    ("DiffAugment translation", {"augment": "translation"}, {"augment": ""}),
    ("DiffAugment translation + cutout", {"augment": "translation,cutout"}, {"augment": ""}),
    ("minibatch std (group 4)", {"minibatch_std": 4}, {"minibatch_std": 0}),
    ("packing 2", {"pack": 2}, {"pack": 1}),
    ("label smoothing 0.1", {"label_smoothing": 0.1}, {"label_smoothing": 0.0}),
    ("instance noise 0.1", {"instance_noise": 0.1}, {"instance_noise": 0.0}),
    ("separate learning rates (D 4e-4, G 1e-4)", {"d_learning_rate": 4e-4, "g_learning_rate": 1e-4},
     {"d_learning_rate": None, "g_learning_rate": None}),
    ("R1 penalty (gamma 1)", {"r1_gamma": 1.0}, {"r1_gamma": 0.0}),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=DEFAULT_RUNS, help=f"comma-separated runs (default {DEFAULT_RUNS})")
    parser.add_argument("--model", default="dcgan", help="the kzoo model of the kzoo:BACKEND runs (default dcgan)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="a hyperparameter of the kzoo model (repeatable)")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps per run (default: as many as `kzoo train` makes by default)")
    parser.add_argument("--eval-every", type=int, default=250, help="generator steps between evaluations")
    parser.add_argument("--thresholds", default="3,2,1", help="fd thresholds (default 3,2,1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num", type=int, default=1000, help="samples scored at each evaluation (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="", help="suffix of the result files (ablations)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds allowed per run")
    parser.add_argument("--ablate", action="store_true", help="each stabilizer on and off (see above)")
    parser.add_argument("--keep-model", action="store_true", help="also save each kzoo run's model (.keras)")
    parser.add_argument("--table-only", action="store_true",
                        help="only rebuild table.md and curves.png from the --runs' JSON files already in --out")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    args.thresholds = sorted((float(t) for t in args.thresholds.split(",")), reverse=True)
    args.hyperparameters = dict(_parse_setting(parser, s) for s in args.sets)
    for run in args.runs:
        kind, _, backend = run.partition(":")
        if run != "torch-dcgan" and (kind not in ("kzoo", "keras-guide") or backend not in _common.BACKENDS):
            parser.error(f"unknown run {run!r}: kzoo:BACKEND, keras-guide:BACKEND or torch-dcgan")
    if args.eval_every < 1 or args.num < 4:
        parser.error("--eval-every must be >= 1 and --num >= 4")
    return args


def _parse_setting(parser, text):
    import ast

    name, sep, value = text.partition("=")
    if not sep:
        parser.error(f"--set takes NAME=VALUE, got {text!r}")
    try:
        return name.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name.strip(), value.strip()


def result_path(args, run):
    stem = run.replace(":", "-") + (f"-{args.model}" if run.startswith("kzoo:") and args.model != "dcgan" else "")
    return os.path.join(args.out, stem + (f"-{args.tag}" if args.tag else "") + ".json")


# ============================================================================ one run
def run_worker(args, run):
    from kzoo.metrics import EVALUATOR_ID, evaluate_images

    if run == "torch-dcgan":
        trainer = TorchTrainer(args.seed, args.batch_size)
    else:
        kind = run.partition(":")[0]
        trainer = KerasTrainer("keras-guide" if kind == "keras-guide" else args.model, args.seed, args.batch_size,
                               args.hyperparameters)
    steps = args.steps or trainer.default_steps or 2000
    curve, reached, seconds, done = [], {}, 0.0, 0
    load_before = _common.load_average()
    while done < steps:
        chunk = min(args.eval_every, steps - done)
        started = time.perf_counter()
        trainer.train(chunk)
        seconds += time.perf_counter() - started
        done += chunk
        images, labels = trainer.sample(args.num, args.seed)
        metrics = evaluate_images(images, labels=labels, seed=args.seed)
        point = {"step": done, "train_seconds": round(seconds, 1), **{k: metrics[k] for k in KEPT}}
        if getattr(getattr(trainer, "model", None), "averaged_generator", None) is not None:
            raw_images, _ = trainer.sample(args.num, args.seed, raw=True)  # the generator itself, for comparison
            raw = evaluate_images(raw_images, labels=labels, seed=args.seed)
            point["raw"] = {k: raw[k] for k in KEPT}
        curve.append(point)
        for t in args.thresholds:
            if t not in reached and metrics["fd"] <= t:
                reached[t] = {"step": done, "train_seconds": round(seconds, 1)}
        print(f"[{run}] step {done}: {seconds:.0f} s fd {metrics['fd']:.2f} coverage {metrics['coverage']} "
              f"precision {metrics['precision']:.2f} recall {metrics['recall']:.2f}"
              + (f" (raw generator: fd {point['raw']['fd']:.2f} precision {point['raw']['precision']:.2f})"
                 if "raw" in point else ""), flush=True)
    from kzoo import images as image_files

    # The last evaluation's first 64 samples, beside the numbers; with --keep-model, the model too.
    stem = result_path(args, run)[: -len(".json")]
    image_files.save_grid(images[:64], stem + ".png", nrow=8)
    if args.keep_model and getattr(trainer, "model", None) is not None:
        trainer.model.save(stem + ".keras")
    record = {
        "benchmark": "time_to_quality",
        "run": run,
        "model": trainer.name,
        "backend": "torch" if run == "torch-dcgan" else run.partition(":")[2],
        "hyperparameters": trainer.hyperparameters,
        "set": args.hyperparameters,
        "tag": args.tag,
        "dataset": DATASET,
        "batch_size": args.batch_size,
        "steps": steps,
        "eval_every": args.eval_every,
        "num": args.num,
        "seed": args.seed,
        "evaluator": EVALUATOR_ID,
        "thresholds": {str(t): reached.get(t) for t in args.thresholds},
        "curve": curve,
        "train_seconds": round(seconds, 1),
        "load_average": {"before": load_before, "after": _common.load_average()},
        "machine": _common.cpu_model(),
        "versions": _common.versions(None if run == "torch-dcgan" else run.partition(":")[2]),
        "kzoo_version": trainer.kzoo_version,
        "command": [os.path.basename(sys.executable)] + sys.argv,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    _common.save_json(record, result_path(args, run))
    return record


# ============================================================================ driver
def worker_command(args, run):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", run, "--runs", run, "--model", args.model,
           "--eval-every", str(args.eval_every), "--thresholds", ",".join(map(str, args.thresholds)),
           "--batch-size", str(args.batch_size), "--num", str(args.num), "--seed", str(args.seed),
           "--out", args.out]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if args.tag:
        cmd += ["--tag", args.tag]
    if args.keep_model:
        cmd += ["--keep-model"]
    for setting in args.sets:
        cmd += ["--set", setting]
    return cmd


def table(records, thresholds):
    head = ["run", "model", "steps", "train time"] + [f"fd <= {t:g}" for t in thresholds] + [
        "final fd", "coverage", "precision", "recall"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for r in records:
        last = r["curve"][-1]
        cells = [r["run"] + (f" ({r['tag']})" if r.get("tag") else ""), r["model"], str(r["steps"]),
                 f"{r['train_seconds'] / 60:.1f} min"]
        for t in thresholds:
            hit = r["thresholds"].get(str(t))
            cells.append(f"{hit['train_seconds'] / 60:.1f} min ({hit['step']} steps)" if hit else "not reached")
        cells += [f"{last['fd']:.2f}", f"{last['coverage']}/10", f"{last['precision']:.2f}", f"{last['recall']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(records, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for r in records:
        ax.plot([p["train_seconds"] / 60 for p in r["curve"]], [p["fd"] for p in r["curve"]], marker="o",
                markersize=3, label=r["run"] + (f" ({r['tag']})" if r.get("tag") else ""))
    ax.set_yscale("log")
    ax.set_xlabel("training wall time (min)")
    ax.set_ylabel("fd (kzoo-digits-v1), 1,000 samples")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(path)


def ablation_settings(args):
    """[(tag, label, settings)]: the defaults, then each stabilizer the other way round."""
    from kzoo import registry

    defaults = registry.load_model_class(args.model).default_hyperparameters()
    rows = [("default", "defaults", {})]
    for label, on, off in ABLATIONS:
        if not set(on) <= set(defaults):
            continue
        is_on = all(defaults[k] == v for k, v in on.items())
        settings = off if is_on else on
        tag = "ablate-" + "-".join(f"{k}={v}" for k, v in settings.items()).replace(",", "+")
        rows.append((tag, f"{label}: {'off' if is_on else 'on'}", settings))
    return rows


def run_ablations(args):
    if len(args.runs) != 1 or not args.runs[0].startswith("kzoo:"):
        raise SystemExit("--ablate takes one kzoo:BACKEND run")
    run, rows, records = args.runs[0], ablation_settings(args), []
    for tag, label, settings in rows:
        sub = argparse.Namespace(**vars(args))
        sub.tag = tag
        sub.sets = list(args.sets) + [f"{k}={v}" for k, v in settings.items()]  # None -> "None", "" -> ""
        print(f"== {label} (load {_common.load_average()})", flush=True)
        env = dict(os.environ, KERAS_BACKEND=run.partition(":")[2], TF_CPP_MIN_LOG_LEVEL="3")
        if subprocess.run(worker_command(sub, run), env=env, timeout=args.timeout).returncode == 0:
            records.append((label, json.load(open(result_path(sub, run)))))
    head = ["setting", "fd", "kid", "classifier score", "coverage", "precision", "recall", "train time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for label, r in records:
        last = r["curve"][-1]
        lines.append(f"| {label} | {last['fd']:.2f} | {last['kid']:.4f} | {last['classifier_score']:.2f} | "
                     f"{last['coverage']}/10 | {last['precision']:.2f} | {last['recall']:.2f} | "
                     f"{r['train_seconds'] / 60:.1f} min |")
    text = "\n".join(lines)
    with open(os.path.join(args.out, f"ablations-{args.model}-{run.partition(':')[2]}.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0 if len(records) == len(rows) else 1


def main(argv=None):
    args = parse_args(argv)
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    if args.worker:
        backend = "torch" if args.worker == "torch-dcgan" else args.worker.partition(":")[2]
        _common.select_backend(backend)
        run_worker(args, args.worker)
        return 0
    if args.ablate:
        _common.select_backend(args.runs[0].partition(":")[2])
        return run_ablations(args)
    if args.table_only:
        records = [json.load(open(result_path(args, run))) for run in args.runs if os.path.exists(result_path(args, run))]
        write_table(args, records)
        return 0 if len(records) == len(args.runs) else 1
    records = []
    for run in args.runs:  # one after the other: the timings never overlap
        backend = "torch" if run == "torch-dcgan" else run.partition(":")[2]
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        print(f"== {run} (load {_common.load_average()})", flush=True)
        proc = subprocess.run(worker_command(args, run), env=env, timeout=args.timeout)
        if proc.returncode != 0:
            print(f"   {run} FAILED ({proc.returncode})", flush=True)
            continue
        records.append(json.load(open(result_path(args, run))))
    write_table(args, records)
    return 0 if len(records) == len(args.runs) else 1


def write_table(args, records):
    """table.md and curves.png in --out (with --tag's suffix) for `records`, and the table printed."""
    if not records:
        return
    text = table(records, args.thresholds)
    suffix = f"-{args.tag}" if args.tag else ""
    with open(os.path.join(args.out, f"table{suffix}.md"), "w") as f:
        f.write(text + "\n")
    plot(records, os.path.join(args.out, f"curves{suffix}.png"))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
