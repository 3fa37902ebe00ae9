"""Timing the variants: warm-up, calibrated repetitions, and the interleaved rounds of `measure`.

Every variant trains the same batches in each round (kzoo, native, plain, kzoo, native, ...), so
that a change of the machine's load hits them alike. A step is one generator update with its
`d_steps` discriminator updates.
"""

import math
import time

from _throughput.harness import SEED, Skip, Spec, model_factory
from _throughput.kzoo_fit import KzooVariant
from _throughput.native import NativeJax, NativeTensorFlow, NativeTorch
from _throughput.plain_jax import PlainJax
from _throughput.plain_torch import PlainTorch

# A repetition of a few milliseconds (an MLP GAN takes ~15 ms a step) measures the timer and the
# scheduler more than the step: by default a repetition runs steps for about this long.
REPETITION_SECONDS = 1.0
MIN_STEPS, MAX_STEPS = 10, 200

NATIVE = {"tensorflow": NativeTensorFlow, "torch": NativeTorch, "jax": NativeJax}
PLAIN = {"torch": PlainTorch, "jax": PlainJax}  # no plain TensorFlow loop is written


def batches_for(x, y, start, count):
    """`count` images (and labels) from the pool, from `start`, wrapping around."""
    import numpy as np

    idx = np.arange(start, start + count) % len(x)
    return np.ascontiguousarray(x[idx]), (None if y is None else np.ascontiguousarray(y[idx]))


def timed(variant, x, y):
    """(wall seconds, process CPU seconds) of one `train` call on prepared data."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    variant.train(x, y)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def calibrated_steps(variants, x, y, batch_size, probe_steps=2):
    """Steps per repetition so that the fastest (compiled) variant runs about REPETITION_SECONDS."""
    fastest = min(timed(v, *v.prepare(*batches_for(x, y, 0, probe_steps * batch_size)))[0] / probe_steps
                  for v in variants)
    return max(MIN_STEPS, min(MAX_STEPS, math.ceil(REPETITION_SECONDS / max(fastest, 1e-6))))


def measure(args, log=print):
    """Build the variants `args.variants` asks for, warm them up and time `args.repeats` rounds.

    Args:
        args: the command line's namespace (model, hyperparameters, batch size, steps, ...);
            `args.steps` is filled in when it is 0 (calibrated).
        log: where the progress lines go.

    Returns:
        (spec, kzoo model, variants, skipped {name: reason}, warm-up seconds {name: s},
        wall seconds {name: [per round]}, process CPU seconds {name: [per round]}).
    """
    import keras
    import numpy as np

    import kzoo

    keras.utils.set_random_seed(SEED)
    fresh_model = model_factory(args.model, args.hyperparameters)
    models = {"kzoo": fresh_model()}
    if args.kzoo_jit_compile != "auto":
        models["kzoo"].compile(jit_compile=args.kzoo_jit_compile == "true")
    spec = Spec(models["kzoo"], args.batch_size)

    # Data: mnist-5k when the model takes 28x28x1 images, else random images of its shape.
    x, y = kzoo.data.load("mnist-5k")
    if tuple(x.shape[1:]) != spec.image_shape:
        rng = np.random.default_rng(SEED)
        x = rng.uniform(-1, 1, (5000, *spec.image_shape)).astype("float32")
        y = rng.integers(0, int(spec.hyperparameters.get("num_classes", 10)), 5000).astype("int32")
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order].astype("int32")

    variants, skipped = [], {}
    for name in args.variants:
        try:
            if name == "kzoo":
                variants.append(KzooVariant(spec, models["kzoo"]))
            elif name == "native":
                variants.append(NATIVE[args.backend](spec, fresh_model()))
            elif name == "plain":
                if args.backend not in PLAIN:
                    raise Skip(f"no plain variant on {args.backend} (the brief skips it)")
                variants.append(PLAIN[args.backend](spec, models["kzoo"]))
        except Skip as reason:
            skipped[name] = str(reason)
            log(f"# {name}: skipped: {reason}")

    warmup_s, wall, cpu = {}, {v.name: [] for v in variants}, {v.name: [] for v in variants}
    for v in variants:
        wx, wy = v.prepare(*batches_for(x, y, 0, args.warmup * args.batch_size))
        seconds, _ = timed(v, wx, wy)
        warmup_s[v.name] = round(seconds, 2)
        log(f"# {v.name}: warm-up ({args.warmup} steps, compiling) {seconds:.1f} s")
    if not args.steps:
        args.steps = calibrated_steps(variants, x, y, args.batch_size)
        log(f"# {args.steps} steps per repetition (about {REPETITION_SECONDS:g} s for the fastest variant)")
    per_rep = args.steps * args.batch_size

    for r in range(args.repeats):
        rx, ry = batches_for(x, y, (args.warmup + r * args.steps) * args.batch_size, per_rep)
        for v in variants:
            vx, vy = v.prepare(rx, ry)
            seconds, cpu_seconds = timed(v, vx, vy)
            wall[v.name].append(seconds)
            cpu[v.name].append(cpu_seconds)
            log(f"# round {r + 1}/{args.repeats} {v.name:6}: {per_rep / seconds:8.1f} img/s "
                f"({seconds:.2f} s, CPU {cpu_seconds / seconds:.2f} cores)")
    return spec, models["kzoo"], variants, skipped, warmup_s, wall, cpu
