"""Training throughput of a kzoo model on 1, 2, 4, ... devices at a fixed per-device batch.

    python benchmarks/scaling.py                                # dcgan, every device count up to all
    python benchmarks/scaling.py --devices 1,2,8 --per-device-batch 128 --out scaling.json
    python benchmarks/scaling.py --cpu-devices 2                # no accelerator: two virtual CPU devices

Data parallelism through `kzoo.use_devices(N)` (JAX's `keras.distribution.DataParallel`): each
device count trains a fresh model by `fit()` at a global batch of N x --per-device-batch, warmed
up (compiled) first, then timed over --repeats whole `fit()` calls of --steps steps.
img/s = global batch x steps / seconds; speedup = img/s over the 1-device img/s;
efficiency = speedup / N (1.0 is perfect scaling).

The devices are those JAX uses by default: GPUs or TPUs where there are, else CPU devices.
--cpu-devices N splits the host into N virtual CPU devices (XLA's
--xla_force_host_platform_device_count, set before JAX starts; accelerators ignore it). Virtual
CPU devices share the same cores: on a CPU their figures show that the step runs split over
devices, not that it gets faster.
"""

import argparse
import ast
import datetime
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common

SEED = 1234


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Images/second of kzoo's fit() per device count, at a fixed per-device batch (JAX).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--model", default="dcgan", help="a kzoo model name (default dcgan)")
    parser.add_argument("--per-device-batch", type=int, default=64, help="images per device and step (default 64)")
    parser.add_argument("--devices", default=None,
                        help="comma-separated device counts (default: 1, 2, 4, ... and all the devices there are)")
    parser.add_argument("--cpu-devices", type=int, default=None,
                        help="split the host into this many virtual CPU devices (for machines without accelerators)")
    parser.add_argument("--width", type=int, default=None, help="network width (default: the model's own)")
    parser.add_argument("--set", dest="hyperparameters", action="append", default=[], metavar="NAME=VALUE",
                        help="another hyperparameter of the model (repeatable)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed fit() call (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed fit() calls per device count (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up (compile) steps per device count (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    for name in ("per_device_batch", "steps", "repeats", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.devices is not None:
        try:
            args.devices = sorted({int(n) for n in args.devices.split(",")})
        except ValueError:
            parser.error(f"--devices takes comma-separated counts, not {args.devices!r}")
        if args.devices[0] < 1:
            parser.error("--devices: counts must be at least 1")
    return args


def hyperparameters(args):
    values = {}
    for item in args.hyperparameters:
        name, _, raw = item.partition("=")
        try:
            values[name.strip()] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            values[name.strip()] = raw.strip()
    if args.width is not None:
        values["width"] = args.width
    return values


def default_counts(available):
    counts, n = [], 1
    while n < available:
        counts.append(n)
        n *= 2
    return counts + [available]


def training_images(count):
    """`count` mnist-5k digits (repeated when more are needed), shuffled once."""
    import numpy as np

    from kzoo import data

    x, _ = data.load("mnist-5k")
    x = x[np.random.default_rng(SEED).permutation(len(x))]
    return np.concatenate([x] * (-(-count // len(x))))[:count]


def measure(args, count, values, x):
    """{devices, img_s, ...} for `count` devices: a fresh model, warmed up, then timed fit() calls."""
    import keras

    import kzoo

    placement = kzoo.use_devices(count)
    keras.utils.set_random_seed(SEED)
    model = kzoo.create_model(args.model, seed=SEED, **values)
    model.compile()
    batch = count * args.per_device_batch
    model.fit(x[: args.warmup * batch], batch_size=batch, epochs=1, shuffle=False, verbose=0)
    rates = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        model.fit(x[: args.steps * batch], batch_size=batch, epochs=1, shuffle=False, verbose=0)
        rates.append(batch * args.steps / (time.perf_counter() - started))
    sharded_over = len(model.generator.weights[0].value.sharding.device_set)
    return {
        "devices": count,
        "device_names": list(placement.devices),
        "weights_on_devices": sharded_over,  # replicated over the mesh: every device holds them
        "global_batch": batch,
        "img_s": _common.summary(rates),
        "per_device_img_s": round(statistics.median(rates) / count, 2),
    }


def run(args):
    if args.cpu_devices:
        flag = f"--xla_force_host_platform_device_count={args.cpu_devices}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    _common.select_backend("jax")  # Keras 3.15.1 has data parallelism on JAX only
    import keras

    available = keras.distribution.list_devices()
    counts = args.devices or default_counts(len(available))
    if counts[-1] > len(available):
        raise SystemExit(f"--devices {counts[-1]}: JAX sees {len(available)} ({', '.join(available)}); "
                         "on a CPU, --cpu-devices N makes N virtual devices")
    values = hyperparameters(args)
    x = training_images(counts[-1] * args.per_device_batch * max(args.steps, args.warmup))
    load_before = _common.load_average()
    results = [measure(args, count, values, x) for count in counts]
    base = results[0]["img_s"]["median"] / results[0]["devices"]
    for r in results:
        r["speedup"] = round(r["img_s"]["median"] / base, 3)  # over one device's (or the smallest count's) rate
        r["efficiency"] = round(r["speedup"] / r["devices"], 3)
    virtual = available[0].startswith("cpu") and "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
    return {
        "benchmark": "scaling",
        "model": args.model,
        "backend": "jax",
        "per_device_batch": args.per_device_batch,
        "hyperparameters": values,
        "steps": args.steps,
        "repeats": args.repeats,
        "available_devices": available,
        "virtual_cpu_devices": virtual,
        "note": ("virtual CPU devices share this machine's cores: these figures show correctness, not speed"
                 if virtual else None),
        "results": results,
        "machine": _common.cpu_model(),
        "load_average": {"before": load_before, "after": _common.load_average()},
        "versions": _common.versions("jax"),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def table(result):
    lines = [f"{result['model']} on {', '.join(result['available_devices'])}, "
             f"{result['per_device_batch']} images per device and step"]
    if result["note"]:
        lines.append(f"({result['note']})")
    lines.append(f"{'devices':>7}  {'img/s (min-max)':>24}  {'per device':>10}  {'speedup':>7}  {'efficiency':>10}")
    for r in result["results"]:
        s = r["img_s"]
        rate = f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})"
        lines.append(f"{r['devices']:>7}  {rate:>24}  {r['per_device_img_s']:>10.1f}  {r['speedup']:>7.2f}  "
                     f"{r['efficiency']:>10.2f}")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    result = run(args)
    if args.out:
        _common.save_json(result, args.out)
    if args.json:
        _common.print_json(result)
    else:
        print(table(result))


if __name__ == "__main__":
    main()
