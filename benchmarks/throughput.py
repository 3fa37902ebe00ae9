"""Training throughput of a kzoo model against hand-written loops of the same networks.

    python benchmarks/throughput.py --backend jax --model dcgan
    python benchmarks/throughput.py --backend torch --model wgan --batch-size 64 --steps 5 --repeats 5 --json \\
        --out benchmarks/results/throughput-torch-wgan.json

In one process, on the backend chosen with --backend (set before keras is imported; no
environment variable needed), three ways of training the same GAN are timed, interleaved
(kzoo, native, plain, kzoo, native, plain, ...) so that a change in the machine's load hits
them alike:

  kzoo    `model.fit()` of `kzoo.create_model(name)`: the shared `train_step` (kzoo.adversarial).
  native  the backend's own training idiom around the same Keras networks (the generator and
          discriminator of a fresh kzoo model), the model's own loss hooks, fresh optimizers of
          the same class and configuration, d_steps discriminator updates per generator update:
            tensorflow  tf.GradientTape in one tf.function(jit_compile=True) per step;
            torch       zero_grad, loss.backward(), optimizer.apply under torch.no_grad();
            jax         one jax.jit of a pure step: stateless_call, jax.value_and_grad and the
                        optimizers' stateless_apply.
  plain   the same architecture and losses written without Keras (built-in models only):
            torch       torch.nn (channels-first) with torch.optim.Adam / RMSprop;
            jax         jax.numpy + jax.lax (NHWC) with Adam / RMSprop written out, one jax.jit;
            tensorflow  not measured.

Generator weight averaging (`ema_decay`, on by default in the DCGAN family) is off unless --set
asks for it: the loops time the two-player step, which they re-implement. Each variant is first
warmed up (compiled) for --warmup steps; then --repeats rounds run
--steps steps of each variant (by default as many as make the fastest variant run about a
second). Throughput is batch_size * steps / seconds, counting one generator step (with its
d_steps discriminator steps) as one batch. The kzoo time is the whole fit() call; its
window from the first batch to the end of the epoch is reported as kzoo_window_img_s and the
rest of the call as kzoo_fit_overhead_s. The loops feed numpy batches of the same images,
converted at each step, and are timed from their first step to the end of their last. Each result gives the median, min and max over the
repetitions, ratio = kzoo / native and plain_ratio = kzoo / plain (ratios of the medians;
*_paired: the median of the per-round ratios, steadier under a changing load), the FLOPs of a
step (benchmarks/flops.py) and the fraction of numpy's SGEMM rate they achieve.

On a shared machine timings swing by 2x or more: compare only the variants of one run, and
note the load (the JSON records the load average before and after).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common
# The variants, their timing and the report: benchmarks/_throughput/ (this file is the command line).
from _throughput import report, timing
from _throughput.timing import MAX_STEPS, MIN_STEPS, REPETITION_SECONDS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Images/second of kzoo's fit() against hand-written training loops of the same networks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--backend", default=None, choices=_common.BACKENDS,
                        help="keras backend (default: $KERAS_BACKEND, else jax)")
    parser.add_argument("--model", default="dcgan", help="a kzoo model name (default dcgan)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=None, help="network width (default: the model's own)")
    parser.add_argument("--set", dest="hyperparameters", action="append", default=[], metavar="NAME=VALUE",
                        help="another hyperparameter of the model (repeatable), e.g. --set d_steps=2")
    parser.add_argument("--steps", type=int, default=0,
                        help="training steps per repetition (default 0: enough for the fastest variant to take "
                             f"about {REPETITION_SECONDS:g} s, {MIN_STEPS} to {MAX_STEPS})")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up (compile) steps per variant (default 2)")
    parser.add_argument("--variants", default="kzoo,native,plain",
                        help="comma-separated subset of kzoo,native,plain (default: all)")
    parser.add_argument("--kzoo-jit-compile", default="auto", choices=("auto", "true", "false"),
                        help="jit_compile passed to the kzoo model's compile() (default auto: what users get; "
                             "kzoo resolves it to XLA on TensorFlow, where Keras alone would turn XLA off on a CPU)")
    parser.add_argument("--threads", type=int, default=None,
                        help="compute threads per library (default: the libraries' own, one per core); "
                             "1 gives steadier figures on a busy machine")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    args.backend = args.backend or _common.default_backend()
    args.hyperparameters = dict(_parse_setting(parser, text) for text in args.hyperparameters)
    if args.width is not None:
        args.hyperparameters["width"] = args.width
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(args.variants) - {"kzoo", "native", "plain"}
    if unknown or not args.variants:
        parser.error(f"--variants takes kzoo, native and plain; got {args.variants}")
    for name in ("batch_size", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.steps < 0:
        parser.error("--steps must be at least 1 (or 0: calibrated)")
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the first steps compile)")
    return args


def _parse_setting(parser, text):
    import ast

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        parser.error(f"--set takes NAME=VALUE, got {text!r}")
    try:
        return name.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name.strip(), value.strip()


def main(argv=None):
    args = parse_args(argv)
    load_before = _common.load_average()
    _common.limit_threads(args.threads)
    sgemm = _common.sgemm_gflops()  # before any framework starts its thread pools
    _common.select_backend(args.backend)
    import keras  # noqa: F401  (now, with the backend selected)

    _common.apply_framework_threads(args.backend, args.threads)
    import logging

    logging.getLogger("kzoo.registry").setLevel(logging.ERROR)  # broken third-party plugins
    log = (lambda message: print(message, file=sys.stderr, flush=True))
    measured = timing.measure(args, log=log)
    result = report.build_result(args, *measured, sgemm=sgemm, load_before=load_before)
    params = set(result["parameters"].values())
    if len(params) > 1:
        log(f"# warning: the variants' trainable parameter counts differ: {result['parameters']}")
    if args.out:
        _common.save_json(result, args.out)
    if args.json:
        _common.print_json(result)
    else:
        report.print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
