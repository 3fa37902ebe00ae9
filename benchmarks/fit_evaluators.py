"""Build the evaluators kzoo ships beside kzoo-digits-v1: kzoo-emoji32-v1, for 32x32x3 colour emoji.

    KERAS_BACKEND=jax python benchmarks/fit_evaluators.py

Fits the kzoo-cnn-v1 classifier on emoji32:train (kzoo fit-evaluator's code, kzoo.metrics.fitting,
with SEED and EPOCHS below), takes emoji32:heldout (732 emoji, a fifth of each of the 9 Unicode
groups) as the reference, and writes kzoo/metrics/assets/emoji32/ (weights, reference,
evaluator.json). Then it scores two kinds of garbage against it, 1,000 images each, and records
them in evaluator.json as "baselines": uniform noise in [-1, 1] and a constant mid-grey image; the
real-vs-real floor (1,000 train-split emoji against the held-out reference) must be far below both.

The shipped files were made with the JAX backend on CPU. Another backend or machine gives other
weights, hence other checksums and figures: whoever refits must bump EMOJI32_ID
(kzoo/metrics/evaluators.py), because metrics from different weights are not comparable.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

SEED = 0
EPOCHS = 40
BASELINE_N = 1000
DESCRIPTION = ("kzoo-emoji32-v1: the kzoo-cnn-v1 classifier of the 9 Unicode emoji groups, fitted on emoji32:train "
               "(benchmarks/fit_evaluators.py); metrics on its 'embedding' layer are named after this id, never FID")


def baselines(evaluator, n=BASELINE_N, seed=0):
    """The metrics of uniform noise and of a constant grey image against `evaluator`'s reference."""
    from kzoo.metrics import quality

    shape = (n, *evaluator.input_shape)
    garbage = {"uniform_noise": np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32"),
               "constant_grey": np.zeros(shape, "float32")}
    keep = ("fd", "kid", "precision", "recall", "coverage", "classifier_score", "class_kl", "n")
    return {name: {k: (round(v, 6) if isinstance(v, float) else v)
                   for k, v in quality.evaluate_images(x, seed=seed, evaluator=evaluator).items() if k in keep}
            for name, x in garbage.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None, help="default: kzoo/metrics/assets/emoji32")
    args = parser.parse_args(argv)

    from kzoo.metrics import evaluators, fitting
    from kzoo.metrics import evaluator as ev

    out = args.out or evaluators.EMOJI32_DIR

    def progress(epoch, logs):
        print(f"epoch {epoch:2d}/{args.epochs}  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}", flush=True)

    info = fitting.fit_evaluator("emoji32", out, epochs=args.epochs, seed=SEED, evaluator_id=evaluators.EMOJI32_ID,
                                 overwrite=True, on_epoch=progress, description=DESCRIPTION)
    info["training"]["script"] = "benchmarks/fit_evaluators.py (kzoo.metrics.fitting)"
    info["baselines"] = baselines(evaluators.open_evaluator(out))
    with open(os.path.join(out, ev.INFO_FILE), "w") as f:  # not checksummed: it holds the checksums
        json.dump(info, f, indent=2)
        f.write("\n")
    weights = os.path.join(out, info["weights_file"])
    print(json.dumps({k: info[k] for k in ("id", "heldout_accuracy", "heldout_balanced_accuracy", "chance_accuracy",
                                           "num_parameters", "real_floor", "baselines")}, indent=2))
    print(f"wrote {out} (weights {os.path.getsize(weights) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
