"""Where a TensorFlow step's time goes: kzoo's `fit()` against the native loop, XLA operation by operation.

    python benchmarks/tf_op_times.py --model wgan-gp --width 32
    XLA_FLAGS=--xla_cpu_enable_concurrency_optimized_scheduler=true python benchmarks/tf_op_times.py ...

Both variants of benchmarks/throughput.py (kzoo's `fit()` and the hand-written
`tf.function(jit_compile=True)` loop around the same networks) are warmed up, then each trains
--steps steps under TensorFlow's profiler. XLA's CPU runtime records every operation it runs
(a convolution, a fusion) with its name in the optimized HLO program; this script sums their
durations by kind (the name without its number: `convolution-base-dilated.7` counts as
`convolution-base-dilated`) over every thread. The two programs are compiled separately, so
operation numbers do not correspond between them, but kinds and counts do: the same convolution
kind taking longer in one program than in the other, at the same count, means the same work
ran slower (for instance alongside other operations, competing for the cores).

Each operation's duration is its wall time on the thread that ran it. The sums hold XLA's
operations only (the parallel pieces of a convolution that other threads run are no events of
their own), so a column's total is not the step's time, and the profiler slows both programs:
compare kinds between the two programs, not totals with the wall time.
"""

import argparse
import collections
import glob
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common

# XLA's CPU runtime runs a compiled program's operations inside spans of this name, on whichever
# thread runs them; every other event (TensorFlow's executor, Keras's functions) is outside them.
EXECUTOR_SPAN = "ThunkExecutor::Execute"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--model", default="wgan-gp", help="a kzoo model name (default wgan-gp)")
    parser.add_argument("--width", type=int, default=None, help="network width (default: the model's own)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="profiled steps per variant (default 10)")
    parser.add_argument("--top", type=int, default=20, help="operation kinds shown (default 20)")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    return parser.parse_args(argv)


def operation_times(xspace_path):
    """{kind: (microseconds, count)} of the XLA operations recorded in one profile."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xspace_path, "rb") as f:
        space.ParseFromString(f.read())
    totals = collections.defaultdict(lambda: [0.0, 0])
    for plane in space.planes:
        names = {key: metadata.name for key, metadata in plane.event_metadata.items()}
        for line in plane.lines:
            events = sorted(line.events, key=lambda e: (e.offset_ps, -e.duration_ps))  # spans first
            span_end = -1  # the end of the executor span the events are in, if any
            for event in events:
                name = names.get(event.metadata_id, "")
                if name == EXECUTOR_SPAN:
                    span_end = max(span_end, event.offset_ps + event.duration_ps)
                    continue
                if event.offset_ps + event.duration_ps > span_end or ":" in name or " " in name:
                    continue  # not an XLA operation (HLO names have neither): the runtime's own markers
                kind = re.sub(r"\.\d+$", "", name)
                totals[kind][0] += event.duration_ps / 1e6
                totals[kind][1] += 1
    return {kind: tuple(value) for kind, value in totals.items()}


def profiled(variant, x, y):
    """(wall seconds, operation_times) of one `train` call under TensorFlow's profiler."""
    import tensorflow as tf

    logdir = tempfile.mkdtemp(prefix="kzoo-tf-op-times-")
    try:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        variant.train(x, y)
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        return wall, operation_times(path)
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


def main(argv=None):
    args = parse_args(argv)
    _common.select_backend("tensorflow")
    import logging

    from _throughput.harness import Spec, model_factory
    from _throughput.kzoo_fit import KzooVariant
    from _throughput.native import NativeTensorFlow
    from _throughput.timing import batches_for, timed

    import kzoo

    logging.getLogger("kzoo.registry").setLevel(logging.ERROR)  # broken third-party plugins

    fresh_model = model_factory(args.model, {} if args.width is None else {"width": args.width})
    model = fresh_model()
    spec = Spec(model, args.batch_size)
    variants = [KzooVariant(spec, model), NativeTensorFlow(spec, fresh_model())]
    x, y = kzoo.data.load("mnist-5k")
    y = y.astype("int32")
    result = {"model": args.model, "width": spec.hyperparameters.get("width"), "batch_size": args.batch_size,
              "steps": args.steps, "xla_flags": os.environ.get("XLA_FLAGS"), "variants": {}}
    for variant in variants:
        timed(variant, *variant.prepare(*batches_for(x, y, 0, 2 * args.batch_size)))
        data = variant.prepare(*batches_for(x, y, 2 * args.batch_size, args.steps * args.batch_size))
        wall, times = profiled(variant, *data)
        result["variants"][variant.name] = {
            "wall_s": round(wall, 4),
            "operations": {kind: {"ms": round(us / 1e3, 3), "count": n} for kind, (us, n) in times.items()},
        }

    kzoo_ops, native_ops = (result["variants"][name]["operations"] for name in ("kzoo", "native"))
    kinds = sorted(set(kzoo_ops) | set(native_ops),
                   key=lambda k: -max(kzoo_ops.get(k, {}).get("ms", 0), native_ops.get(k, {}).get("ms", 0)))
    empty = {"ms": 0.0, "count": 0}
    print(f"{args.model} (width {result['width']}), {args.steps} steps, XLA_FLAGS={result['xla_flags']}")
    print(f"{'operation kind':36s} {'kzoo ms':>9s} {'count':>6s} {'native ms':>10s} {'count':>6s}")
    for kind in kinds[: args.top]:
        k, n = kzoo_ops.get(kind, empty), native_ops.get(kind, empty)
        print(f"{kind[:36]:36s} {k['ms']:9.1f} {k['count']:6d} {n['ms']:10.1f} {n['count']:6d}")
    total = {name: sum(op["ms"] for op in ops.values()) for name, ops in (("kzoo", kzoo_ops), ("native", native_ops))}
    print(f"{'all operations':36s} {total['kzoo']:9.1f} {'':6s} {total['native']:10.1f}")
    print(f"{'wall time of the steps':36s} {1e3 * result['variants']['kzoo']['wall_s']:9.1f} {'':6s} "
          f"{1e3 * result['variants']['native']['wall_s']:10.1f}")
    if args.out:
        _common.save_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
