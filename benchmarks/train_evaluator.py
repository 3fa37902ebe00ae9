"""Train the kzoo-digits-v1 evaluator and write the assets of kzoo.metrics.

    KERAS_BACKEND=jax python benchmarks/train_evaluator.py

Seeded (SEED below, keras.utils.set_random_seed, numpy default_rng) with a fixed number of
epochs; trains only on the train split of mnist-5k (kzoo.metrics.splits; 3600 images for
fitting, 400 for validation), reports the accuracy on the 1000 held-out images, and writes

  kzoo/metrics/assets/digit_evaluator.weights.h5
  kzoo/metrics/assets/heldout_reference.npz   embeddings (float32) + class probabilities
                                               of the held-out images, labels, indices
  kzoo/metrics/assets/evaluator.json          id, sha256 of both, accuracy, versions, date,
                                               and the real-vs-real floor at N=1000

The committed assets were made with the JAX backend on CPU (default when KERAS_BACKEND is
unset). Rerunning on another machine or backend gives slightly different weights and so new
checksums: whoever retrains must bump EVALUATOR_ID in kzoo/metrics/evaluator.py, because
metrics from different weights are not comparable.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

SEED = 1234
EPOCHS = 15
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
MAX_SHIFT = 2          # augmentation: random translation by up to 2 pixels each way
VALIDATION = 400


def shift_augment(x, rng, max_shift=MAX_SHIFT):
    """Translate each (28, 28, 1) image by a random integer offset, filling with -1 (black)."""
    n = x.shape[0]
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)),
                    constant_values=-1.0)
    dy = rng.integers(0, 2 * max_shift + 1, n)
    dx = rng.integers(0, 2 * max_shift + 1, n)
    out = np.empty_like(x)
    for i in range(n):
        out[i] = padded[i, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    return out


def backend_version(name):
    try:
        if name == "jax":
            import jax
            return jax.__version__
        if name == "tensorflow":
            import tensorflow
            return tensorflow.__version__
        if name == "torch":
            import torch
            return torch.__version__
    except ImportError:
        pass
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--assets-dir", default=None, help="default: kzoo/metrics/assets")
    args = parser.parse_args(argv)

    import keras

    from kzoo.metrics import evaluator as ev
    from kzoo.metrics import splits
    from kzoo.metrics.quality import real_floor

    assets_dir = args.assets_dir or ev.ASSETS_DIR
    os.makedirs(assets_dir, exist_ok=True)
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)

    x_train_all, y_train_all = splits.train_images()
    order = rng.permutation(x_train_all.shape[0])
    val_idx, fit_idx = order[:VALIDATION], order[VALIDATION:]
    x_fit, y_fit = x_train_all[fit_idx], y_train_all[fit_idx].astype("int32")
    x_val, y_val = x_train_all[val_idx], y_train_all[val_idx].astype("int32")
    x_test, y_test = splits.heldout_images()
    y_test = y_test.astype("int32")

    model = ev.build_evaluator()
    steps = args.epochs * int(np.ceil(x_fit.shape[0] / BATCH_SIZE))
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    print(f"backend {keras.backend.backend()}, {model.count_params()} parameters, "
          f"{x_fit.shape[0]} fit / {x_val.shape[0]} validation images, {args.epochs} epochs")

    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = rng.permutation(x_fit.shape[0])
        xa = shift_augment(x_fit[perm], rng)
        hist = model.fit(xa, y_fit[perm], batch_size=BATCH_SIZE, epochs=1, shuffle=False,
                         validation_data=(x_val, y_val), verbose=0)
        h = {k: v[-1] for k, v in hist.history.items()}
        print(f"epoch {epoch + 1:2d}/{args.epochs}  loss {h['loss']:.4f}  acc {h['accuracy']:.4f}"
              f"  val_acc {h['val_accuracy']:.4f}  ({time.perf_counter() - start:.0f} s)", flush=True)
    train_seconds = time.perf_counter() - start

    val_acc = float(model.evaluate(x_val, y_val, verbose=0, batch_size=500)[1])
    test_acc = float(model.evaluate(x_test, y_test, verbose=0, batch_size=500)[1])
    print(f"validation accuracy {val_acc:.4f}, held-out test accuracy {test_acc:.4f}, "
          f"training {train_seconds:.0f} s")

    # Save from an uncompiled copy: a compiled model's weights file also holds the optimizer.
    inference = ev.build_evaluator()
    inference.set_weights(model.get_weights())
    weights_path = os.path.join(assets_dir, ev.WEIGHTS_FILE)
    inference.save_weights(weights_path)
    emb, probs = ev.embed(x_test, model=ev.feature_model(inference))
    reference_path = os.path.join(assets_dir, ev.REFERENCE_FILE)
    np.savez_compressed(reference_path, embeddings=emb.astype(np.float32),
                        probs=probs.astype(np.float32), labels=y_test.astype(np.uint8),
                        indices=splits.heldout_indices())
    backend = keras.backend.backend()
    info = {
        "id": ev.EVALUATOR_ID,
        "description": "small digit CNN (kzoo/metrics/evaluator.py); metrics on its "
                       "'embedding' layer are named after this id, never FID",
        "embedding_dim": int(emb.shape[1]),
        "embedding_layer": "embedding",
        "num_parameters": int(model.count_params()),
        "input": "float32 NHWC (N, 28, 28, 1) in [-1, 1], channels_last",
        "weights_file": ev.WEIGHTS_FILE,
        "weights_sha256": ev.sha256_file(weights_path),
        "reference_file": ev.REFERENCE_FILE,
        "reference_sha256": ev.sha256_file(reference_path),
        "reference": "the 1000 held-out mnist-5k images (kzoo.metrics.splits, seed "
                     f"{splits.SPLIT_SEED}, split sha256 {splits.HELDOUT_SHA256})",
        "heldout_accuracy": round(test_acc, 4),
        "validation_accuracy": round(val_acc, 4),
        "training": {
            "script": "benchmarks/train_evaluator.py",
            "seed": SEED, "epochs": args.epochs, "batch_size": BATCH_SIZE,
            "optimizer": f"Adam, cosine decay from {LEARNING_RATE}",
            "augmentation": f"random integer shifts up to {MAX_SHIFT} px",
            "images": f"{x_fit.shape[0]} of the train split ({x_val.shape[0]} more for validation)",
            "seconds": round(train_seconds, 1),
        },
        "keras_version": keras.__version__,
        "backend": backend,
        "backend_version": backend_version(backend),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }
    with open(os.path.join(assets_dir, ev.INFO_FILE), "w") as f:
        json.dump(info, f, indent=2)

    # The real-vs-real floor at N=1000, through the public API (which verifies the checksums).
    ev.clear_cache()
    floor = real_floor(1000, seed=0, assets_dir=assets_dir)
    info["real_floor_n1000"] = {k: (round(v, 6) if isinstance(v, float) else v)
                                for k, v in floor.items()}
    with open(os.path.join(assets_dir, ev.INFO_FILE), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print("real-vs-real floor at N=1000:", json.dumps(info["real_floor_n1000"]))
    print(f"wrote {weights_path} ({os.path.getsize(weights_path) / 1e6:.2f} MB), "
          f"{reference_path}, {os.path.join(assets_dir, ev.INFO_FILE)}")


if __name__ == "__main__":
    main()
