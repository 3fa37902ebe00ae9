"""Training into a run directory: what `kzoo train` does, resumable after a crash or Ctrl-C.

Every epoch ends with, in this order: a row in history.csv, the loss curve, a sample grid from
fixed noise, and the checkpoint (replaced atomically, with the epoch count stored inside it).
A run killed at any moment therefore leaves a readable checkpoint, and `--resume` continues
from the epoch that checkpoint records (history rows past it are dropped and redone).
"""

import math
import platform
import secrets
import sys
import time
from pathlib import Path

import keras
import numpy as np

import kzoo
from kzoo import backend, backend_choice, distribution, images, registry, runs, sampling, saving
from kzoo import data as datasets
from kzoo.errors import DatasetError, HyperparameterError, RunError


class NonFiniteLoss(RunError):
    """A loss turned NaN or infinite; training stopped and the last good checkpoint stays."""


class _RunProgressBar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, counting the run's epochs: `fit()` runs one epoch at a time (a
    checkpoint and a sample grid come between), so Keras's own would print "Epoch 6/6"."""

    def __init__(self, last_epoch):
        super().__init__()
        self.last_epoch = last_epoch

    def set_params(self, params):
        super().set_params({**params, "epochs": self.last_epoch})


class _StopOnNonFinite(keras.callbacks.Callback):
    """Like keras.callbacks.TerminateOnNaN, for both players' losses."""

    def __init__(self):
        super().__init__()
        self.bad = None

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if key.endswith("loss") and not math.isfinite(float(value)):
                self.bad = (key, float(value), batch)
                self.model.stop_training = True
                return


def epoch_batches(x, y, batch_size, steps, epoch, seed):
    """The batches of one epoch: `steps` full batches from seeded per-pass shuffles.

    Only full batches: on JAX and XLA a ragged last batch would compile a second step. The
    order depends only on (seed, epoch), so a resumed run sees what an uninterrupted one would.
    """
    n = len(x)
    per_pass = n // batch_size
    first = epoch * steps
    picks = []
    for k in range(first, first + steps):
        pass_index, j = divmod(k, per_pass)
        order = np.random.default_rng([seed, pass_index]).permutation(n)
        picks.append(order[j * batch_size : (j + 1) * batch_size])
    idx = np.concatenate(picks)
    return x[idx], (None if y is None else y[idx])


def training_data(model_class, dataset):
    """(x, y) for `fit`: images and labels, or what the model class loads itself (image pairs:
    `load_training_data`, kzoo/tasks.py)."""
    load = getattr(model_class, "load_training_data", None)
    return load(dataset) if load is not None else datasets.load(dataset)


def prepare_hyperparameters(cls, x, y, hyperparameters):
    """Fill image_shape (and num_classes) from the data unless given; check the data fits."""
    hp = dict(hyperparameters)
    defaults = cls.default_hyperparameters()
    if hp.get("image_shape") is None:
        hp["image_shape"] = tuple(x.shape[1:])
    if cls.conditional:
        if y is None:
            raise DatasetError(
                f"{cls.__name__} is conditional and needs class labels: use mnist-5k, an .npz with y, "
                "or a folder with one subfolder per class"
            )
        if hp.get("num_classes") is None and "num_classes" in defaults:
            hp["num_classes"] = int(y.max()) + 1
    datasets.check_fits(x, hp["image_shape"], y if cls.conditional else None, hp.get("num_classes"))
    return hp


def versions(backend_name):
    return {
        "kzoo": kzoo.__version__,
        "keras": keras.__version__,
        backend_name: backend_choice.version(backend_name),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def train(
    model_name=None,
    *,
    dataset=None,
    epochs=None,
    steps_per_epoch=None,
    batch_size=None,
    seed=None,
    hyperparameters=None,
    out=None,
    resume=None,
    sample_count=64,
    evaluate=False,
    verbose="auto",
    log=print,
    devices=None,
    cluster=None,
):
    """Train a new run (`model_name`) or continue one (`resume`); return the run directory.

    `epochs`: epochs to train; None is the model's `default_epochs` for a new run, and the rest of
    the planned epochs for a resumed one. Everything that can be wrong with the request (model,
    hyperparameters, dataset, batch size) is checked before the run directory is created: a
    rejected run leaves nothing on disk.
    `devices` ("all" or a count) trains data-parallel, `cluster` (a `kzoo.distribution.Cluster`)
    together with other processes, of which only the first writes the run directory (the
    others return `out`, or None); see `kzoo.distribution`.
    """
    backend_name = keras.backend.backend()
    # Several devices: set up before any model is created or loaded (its weights are placed then).
    if devices is None and cluster is None:
        placement = distribution.current()
    else:
        placement = distribution.use_devices(devices, cluster)
    if resume is not None:
        run_dir = Path(resume)
        config = runs.read_config(run_dir)
        checkpoint = saving.resolve_checkpoint(run_dir)
        start_epoch = int(saving.read_checkpoint_info(checkpoint).get("epoch", 0))
        model = saving.load_model(checkpoint)
        dataset = dataset or config["dataset"]
        batch_size = batch_size or config["batch_size"]
        seed = config["seed"]
        x, y = training_data(type(model), dataset)
        datasets.check_fits(x, model.image_shape, y if model.conditional else None, getattr(model, "num_classes", None))
        _check_batch_size(batch_size, x)
        if epochs is None:
            epochs = int(config.get("epochs", 0)) - start_epoch
            if epochs < 1:
                raise RunError(f"{run_dir} has trained all {start_epoch} epochs it was started for: "
                               "give --epochs N to train N more")
        placement.check_batch_size(batch_size)
        history = [row for row in runs.read_history(run_dir) if row["epoch"] <= start_epoch]
        config.setdefault("resumed", []).append(
            {"at_epoch": start_epoch, "backend": backend_name, "command": sys.argv, "time": _now(),
             "devices": placement.record()}
        )
        log(f"resuming {run_dir} at epoch {start_epoch} on {backend_name}{_on_devices(placement)}")
    else:
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        seed = backend.agreed_seed(seed)  # several processes: the first one's
        backend.set_seed(seed)
        cls = registry.load_model_class(model_name)
        x, y = training_data(cls, dataset)
        hp = prepare_hyperparameters(cls, x, y, {**(hyperparameters or {}), "seed": seed})
        model = registry.create_model(model_name, **hp)
        batch_size = batch_size or 64
        epochs = epochs or int(cls.default_epochs)
        _check_batch_size(batch_size, x)
        placement.check_batch_size(batch_size)
        if placement.writes:
            run_dir = runs.new_run_dir(registry.model_entry(model_name).name, out)
        else:  # another process writes the run; this one refuses what that one will refuse
            run_dir = None if out is None else Path(out)
            if run_dir is not None:
                runs.check_free(run_dir)
        start_epoch, history = 0, []
        config = {
            "model": registry.model_entry(model_name).name,
            "hyperparameters": model.get_config(),
            "dataset": datasets.describe(dataset),
            "seed": seed,
            "backend": backend_name,
            "batch_size": batch_size,
            "created": _now(),
            "command": sys.argv,
            "versions": versions(backend_name),
            "devices": placement.record(),
        }
        log(f"training {config['model']} on {backend_name}{_on_devices(placement)}; run directory: {run_dir}")

    steps = (steps_per_epoch or config.get("steps_per_epoch") or getattr(model, "default_steps_per_epoch", None)
             or len(x) // batch_size)
    config["steps_per_epoch"] = steps
    config["epochs"] = start_epoch + epochs
    if placement.writes:
        runs.write_config(run_dir, config)

    # Conditional models take labels; image-to-image models take their targets (b for each a).
    labels = y if model.conditional or getattr(model, "takes_targets", False) else None
    stopper = _StopOnNonFinite()
    for epoch in range(start_epoch, start_epoch + epochs):
        xb, yb = epoch_batches(x, labels, batch_size, steps, epoch, seed)
        xb, yb, fed_batch_size = placement.local_batches(xb, yb, batch_size)  # several processes: this one's
        started = time.perf_counter()
        result = model.fit(
            xb, yb, batch_size=fed_batch_size, epochs=epoch + 1, initial_epoch=epoch,
            shuffle=False, verbose=verbose, callbacks=[stopper, _RunProgressBar(start_epoch + epochs)],
        )
        seconds = time.perf_counter() - started
        if stopper.bad is not None:
            key, value, batch = stopper.bad
            kept = f"the last good checkpoint (epoch {epoch}) stays in {run_dir}" if epoch else "no checkpoint was written"
            raise NonFiniteLoss(
                f"{key} became {value} at epoch {epoch + 1}, batch {batch + 1}; training stopped and "
                f"{kept}; try a lower learning_rate (--set learning_rate=...)"
            )
        row = {"epoch": epoch + 1, "seconds": round(seconds, 3)}
        row.update({k: float(v[-1]) for k, v in result.history.items()})
        if evaluate:
            row.update(_evaluate(model, seed, dataset))
        history.append(row)
        # Every process computes (a computation spans all processes' devices); one writes.
        grid_images, per_row = sampling.grid_samples(model, sample_count, seed=seed, examples=(x, y))
        if not placement.writes:
            continue
        runs.write_history(run_dir, history)
        images.plot_losses(
            {k: [r.get(k) for r in history] for k in (m.name for m in model.metrics)},
            run_dir / runs.LOSS_PLOT,
            title=f"{config['model']} ({backend_name})",
        )
        images.save_grid(grid_images, run_dir / runs.SAMPLES / f"epoch_{epoch + 1:03d}.png", nrow=per_row)
        with distribution.this_process_only():  # the other processes are not saving
            saving.save_model_atomically(model, run_dir / runs.CHECKPOINT, info={"epoch": epoch + 1})
    return run_dir


def _on_devices(placement):
    """' on 2 devices (cpu:0, cpu:1), process 1 of 2 (process 0 writes the run)' or ''."""
    if placement.count == 1 and placement.num_processes == 1:
        return ""
    text = f" on {placement.count} devices ({', '.join(placement.devices)})"
    if placement.num_processes > 1:
        text += f", process {placement.process_id} of {placement.num_processes} (process 0 writes the run)"
    return text


def _check_batch_size(batch_size, x):
    if batch_size > len(x):
        raise DatasetError(f"batch size {batch_size} is larger than the dataset ({len(x)} images)")


def _evaluate(model, seed, dataset=None, num=1000):
    from kzoo import metrics

    if hasattr(model, "quality_metrics"):  # autoencoders, image-to-image models: kzoo/metrics/translation.py
        scores = model.quality_metrics(dataset, num=num, seed=seed)
        return {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and k != "n"}
    if tuple(model.image_shape) != (28, 28, 1):
        raise HyperparameterError("per-epoch evaluation needs a model of 28x28x1 digits (the evaluator's input)")
    labels = np.arange(num) % model.num_classes if model.conditional else None
    result = metrics.evaluate_images(model.sample(num, seed=seed, labels=labels), labels=labels, seed=seed)
    return {k: float(v) for k, v in result.items() if isinstance(v, (int, float)) and k != "n"}


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
