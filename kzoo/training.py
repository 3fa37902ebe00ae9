"""Training into a run directory: what `kzoo train` does, resumable after a crash or Ctrl-C.

Every epoch ends with, in this order: a row in history.csv, the loss curve, a sample grid from
fixed noise, and the checkpoint (replaced atomically, with the epoch count stored inside it).
A run killed at any moment therefore leaves a readable checkpoint, and `--resume` continues
from the epoch that checkpoint records (history rows past it are dropped and redone).
"""

import contextlib
import dataclasses
import math
import platform
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np

import kzoo
from kzoo import backend, backend_choice, data, distribution, evaluation, pictures, registry, runs, sampling, saving
from kzoo.data import batches, pairs
from kzoo.errors import DatasetError, RunError


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


class _CtrlC(keras.callbacks.Callback):
    """Ctrl-C, taken where training can stop cleanly: after the batch in progress.

    Python raises KeyboardInterrupt wherever the main thread happens to be, and where that is a
    destructor or a callback from C (Keras's and JAX's clean-ups run many), the exception is
    printed as "ignored" and lost: training went on (seen here, one Ctrl-C in a few). So while
    it trains, the first Ctrl-C only notes itself, and training raises KeyboardInterrupt at the
    end of that batch, or after the epoch's checkpoint if the epoch had ended; a second Ctrl-C
    interrupts at once, as usual. Only where Python's own handler is installed, in the main thread.
    """

    def __init__(self):
        super().__init__()
        self.pressed = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and (
                signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._note)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _note(self, signum, frame):
        self.pressed = True
        signal.signal(signal.SIGINT, self._previous)  # the next one interrupts at once

    def stop_if_pressed(self):
        if self.pressed:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        self.stop_if_pressed()


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
    """The batches of one epoch, as arrays: `steps` full batches from seeded per-pass shuffles.

    Only full batches: on JAX and XLA a ragged last batch would compile a second step. The
    order depends only on (seed, epoch), so a resumed run sees what an uninterrupted one would
    (`kzoo.data.batches.epoch_indices`). The rows come as `x` and `y` hold them (uint8 stays
    uint8); `kzoo train` feeds them through `kzoo.data.batches.EpochBatches` instead, converted
    one batch at a time.
    """
    idx = batches.epoch_indices(len(x), batch_size, steps, epoch, seed).reshape(-1)
    return x[idx], (None if y is None else y[idx])


def training_data(model_class, dataset):
    """(x, y) for `fit`, as the model class says it trains (`trains_on`): images as stored and
    labels (`kzoo.data.load_pixels`: uint8, converted one batch at a time), or image pairs (a, b)
    (`kzoo.data.pairs`, float32 in [-1, 1]), checked against `paired`."""
    if model_class.trains_on == "pairs":
        return pairs.fit_arrays(pairs.load_pairs(dataset), paired=model_class.paired, model_name=model_class.__name__)
    return data.load_pixels(dataset)


class _BatchFeed(keras.utils.PyDataset):
    """One epoch's batches for `fit`, each gathered and converted when Keras asks for it, in
    `fit`'s own thread (no workers: nothing runs on after Ctrl-C or an error), and cut to this
    process's share of every global batch when several processes train together."""

    def __init__(self, epoch_batches, placement, batch_size):
        super().__init__()
        self.epoch_batches, self.placement, self.batch_size = epoch_batches, placement, batch_size

    def __len__(self):
        return len(self.epoch_batches)

    def __getitem__(self, j):
        x, y = self.epoch_batches[j]
        x, y, _ = self.placement.local_batches(x, y, self.batch_size)
        return x if y is None else (x, y)


def _epoch_feed(x, y, run, epoch, placement):
    """`fit`'s data arguments for one epoch.

    A small epoch (float32 batches of at most `batches.EPOCH_ARRAYS_LIMIT`, 256 MB: mnist-5k's
    500 steps of 64 are 100 MB) goes as arrays, made batch by batch from the stored pixels:
    Keras's array pipeline, which kzoo's TensorFlow backend feeds without tf.data's autotuning.
    A larger one goes one batch at a time (`_BatchFeed`), so that memory holds the stored
    pixels and a batch, not the epoch in float32.
    """
    epoch_batches = batches.EpochBatches(x, y, run.batch_size, run.steps, epoch, run.seed)
    if batches.fits_in_arrays(epoch_batches):
        xb, yb = epoch_batches.arrays()
        xb, yb, fed_batch_size = placement.local_batches(xb, yb, run.batch_size)  # several processes: this one's
        return {"x": xb, "y": yb, "batch_size": fed_batch_size}
    return {"x": _BatchFeed(epoch_batches, placement, run.batch_size)}


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
    data.check_fits(x, hp["image_shape"], y if cls.conditional else None, hp.get("num_classes"))
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

    Args:
        model_name: a registered model, for a new run.
        dataset: a `--dataset` spec (default: the model's kind of data: mnist-5k, or for a resumed
            run the run's own).
        epochs: epochs to train; None is the model's `default_epochs` for a new run, and the rest
            of the planned epochs for a resumed one.
        steps_per_epoch, batch_size, seed: as `kzoo train`'s options (a resumed run keeps its own).
        hyperparameters: the model's, by name (`--set`).
        out: the run directory of a new run (default: runs/<model>-<timestamp>).
        resume: the run directory of a run to continue.
        sample_count: images in each epoch's sample grid.
        evaluate: score the model after every epoch (`kzoo.evaluation`), into history.csv.
        verbose: Keras's progress bar setting.
        log: where the one-line status messages go.
        devices: "all" or a count: train data-parallel (see `kzoo.distribution`).
        cluster: a `kzoo.distribution.Cluster` to train with other processes, of which only the
            first writes the run directory (the others return `out`, or None).

    Returns:
        The run directory.

    Everything that can be wrong with the request (model, hyperparameters, dataset, batch size)
    is checked before the run directory is created: a rejected run leaves nothing on disk. A run
    stopped midway (Ctrl-C, a full disk, a loss that turns NaN) raises a `RunError` whose one
    line says what is kept; a new run that had written no checkpoint leaves nothing behind.
    """
    # Several devices: set up before any model is created or loaded (its weights are placed then).
    if devices is None and cluster is None:
        placement = distribution.current()
    else:
        placement = distribution.use_devices(devices, cluster)
    if resume is not None:
        run = _resumed_run(resume, dataset, epochs, batch_size, evaluate, placement, log)
    else:
        run = _new_run(model_name, dataset, epochs, batch_size, seed, hyperparameters, out, evaluate, placement, log)
    run.config["steps_per_epoch"] = run.steps = (steps_per_epoch or run.config.get("steps_per_epoch")
                                                 or run.model.default_steps_per_epoch or len(run.x) // run.batch_size)
    run.config["epochs"] = run.start_epoch + run.epochs
    with run.stopping_in_one_line():
        if placement.writes:
            runs.write_config(run.run_dir, run.config)
        _train_epochs(run, placement, sample_count, evaluate, verbose)
    return run.run_dir


@dataclasses.dataclass
class _Run:
    """One `kzoo train`: the model and its data, where it writes, and what it has written so far."""

    model: object
    x: np.ndarray
    y: object
    dataset: object
    config: dict
    run_dir: Path | None
    seed: int
    batch_size: int
    start_epoch: int
    epochs: int
    history: list
    steps: int = 0
    writing: Path | None = None  # the file an epoch's end is writing, if any
    # A new run's directory as `runs.new_run_dir` made it: a run that ends before its first
    # checkpoint removes what it added (None: a resumed run, or a process that does not write).
    created: runs.NewRunDirectory | None = None

    def ended(self, what):
        """`what` stopped the run: the one line to say, after removing a new run that kept nothing."""
        where = self.run_dir
        checkpoint = None if where is None else where / runs.CHECKPOINT
        if checkpoint is not None and checkpoint.is_file():  # written atomically: whole, or the one before
            epoch = saving.read_checkpoint_info(checkpoint).get("epoch", "?")
            return (f"{what}; the last good checkpoint (epoch {epoch}) is kept in {where}: "
                    f"continue with kzoo train --resume {where}")
        if self.created is None:
            return f"{what}; no checkpoint was written"
        self.created.discard()
        return f"{what}; no checkpoint had been written, so the run directory {where} was removed"

    @contextlib.contextmanager
    def stopping_in_one_line(self):
        """Ctrl-C and a failed write (a full disk, a folder gone) end the run with one line saying what is kept."""
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(self.ended(f"interrupted in epoch {self._epoch_in_progress()}")) from None
        except OSError as error:
            target = self.writing or error.filename or self.run_dir
            raise RunError(self.ended(f"could not write {target} ({error.strerror or error})")) from None

    def _epoch_in_progress(self):
        return len(self.history) + 1


class Interrupted(RunError):
    """Ctrl-C: training stopped; the last checkpoint stays. The command line exits with 130, as shells expect."""

    exit_code = 130


def _resumed_run(resume, dataset, epochs, batch_size, evaluate, placement, log):
    run_dir = Path(resume)
    config = runs.read_config(run_dir)
    checkpoint = saving.resolve_checkpoint(run_dir)
    start_epoch = int(saving.read_checkpoint_info(checkpoint).get("epoch", 0))
    model = saving.load_model(checkpoint)
    dataset = dataset or config["dataset"]
    batch_size = batch_size or config["batch_size"]
    x, y = training_data(type(model), dataset)
    data.check_fits(x, model.image_shape, y if model.conditional else None, model.num_classes)
    _check_batch_size(batch_size, x)
    if evaluate:
        evaluation.check_evaluable(model, dataset)
    if epochs is None:
        epochs = int(config.get("epochs", 0)) - start_epoch
        if epochs < 1:
            raise RunError(f"{run_dir} has trained all {start_epoch} epochs it was started for: "
                           "give --epochs N to train N more")
    placement.check_batch_size(batch_size)
    history = [row for row in runs.read_history(run_dir) if row["epoch"] <= start_epoch]
    backend_name = keras.backend.backend()
    config.setdefault("resumed", []).append(
        {"at_epoch": start_epoch, "backend": backend_name, "command": sys.argv, "time": _now(),
         "devices": placement.record()}
    )
    log(f"resuming {run_dir} at epoch {start_epoch} on {backend_name}{_on_devices(placement)}")
    return _Run(model, x, y, dataset, config, run_dir, config["seed"], batch_size, start_epoch, epochs, history)


def _new_run(model_name, dataset, epochs, batch_size, seed, hyperparameters, out, evaluate, placement, log):
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    seed = backend.agreed_seed(seed)  # several processes: the first one's
    backend.set_seed(seed)
    cls = registry.load_model_class(model_name)
    x, y = training_data(cls, dataset)
    hp = prepare_hyperparameters(cls, x, y, {**(hyperparameters or {}), "seed": seed})
    model = registry.create_model(model_name, **hp)
    batch_size = batch_size or 64
    _check_batch_size(batch_size, x)
    placement.check_batch_size(batch_size)
    if evaluate:
        evaluation.check_evaluable(model, dataset)
    name = registry.model_entry(model_name).name
    created = None
    if placement.writes:
        created = runs.new_run_dir(name, out)
        run_dir = created.path
    else:  # another process writes the run; this one refuses what that one will refuse
        run_dir = None if out is None else Path(out)
        if run_dir is not None:
            runs.check_free(run_dir)
    backend_name = keras.backend.backend()
    config = {
        "model": name,
        "hyperparameters": model.get_config(),
        "dataset": data.describe(dataset),
        "seed": seed,
        "backend": backend_name,
        "batch_size": batch_size,
        "created": _now(),
        "command": sys.argv,
        "versions": versions(backend_name),
        "devices": placement.record(),
    }
    log(f"training {name} on {backend_name}{_on_devices(placement)}; run directory: {run_dir}")
    return _Run(model, x, y, dataset, config, run_dir, seed, batch_size, 0, epochs or int(cls.default_epochs), [],
                created=created)


def _train_epochs(run, placement, sample_count, evaluate, verbose):
    """The epochs of `run`, each ending with its history row, loss curve, sample grid and checkpoint."""
    model, x, y = run.model, run.x, run.y
    # Conditional models take labels; image-to-image models take their targets (b for each a).
    labels = y if model.conditional or model.trains_on == "pairs" else None
    last_epoch = run.start_epoch + run.epochs
    stopper = _StopOnNonFinite()
    with _CtrlC() as ctrl_c:
        for epoch in range(run.start_epoch, last_epoch):
            feed = _epoch_feed(x, labels, run, epoch, placement)
            started = time.perf_counter()
            result = model.fit(
                **feed, epochs=epoch + 1, initial_epoch=epoch,
                shuffle=False, verbose=verbose, callbacks=[stopper, ctrl_c, _RunProgressBar(last_epoch)],
            )
            del feed  # the epoch's arrays, before the grid and the checkpoint
            seconds = time.perf_counter() - started
            if stopper.bad is not None:
                key, value, batch = stopper.bad
                raise NonFiniteLoss(run.ended(
                    f"{key} became {value} at epoch {epoch + 1}, batch {batch + 1}; training stopped "
                    "(try a lower learning_rate: --set learning_rate=...)"
                ))
            row = {"epoch": epoch + 1, "seconds": round(seconds, 3)}
            row.update({k: float(v[-1]) for k, v in result.history.items()})
            if evaluate:
                row.update(evaluation.epoch_scores(model, run.dataset, seed=run.seed))
            run.history.append(row)
            # Every process computes (a computation spans all processes' devices); one writes.
            grid_images, per_row = sampling.grid_samples(model, sample_count, seed=run.seed, data=(x, y))
            if placement.writes:
                _write_epoch(run, epoch + 1, grid_images, per_row)
            ctrl_c.stop_if_pressed()


def _write_epoch(run, epoch, grid_images, per_row):
    """history.csv, losses.png, samples/epoch_NNN.png, then the checkpoint (atomically, last).

    `run.writing` names the file being written, for the one line a failed write ends the run with
    (Keras's and h5py's write errors do not always carry the file's name).
    """
    run_dir, model = run.run_dir, run.model
    curves = {k: [r.get(k) for r in run.history] for k in (m.name for m in model.metrics)}
    title = f"{run.config['model']} ({keras.backend.backend()})"
    grid_path = run_dir / runs.SAMPLES / f"epoch_{epoch:03d}.png"

    def checkpoint():
        with distribution.this_process_only():  # the other processes are not saving
            saving.save_model_atomically(model, run_dir / runs.CHECKPOINT, info={"epoch": epoch})

    for target, write in [
        (run_dir / runs.HISTORY, lambda: runs.write_history(run_dir, run.history)),
        (run_dir / runs.LOSS_PLOT, lambda: pictures.plot_losses(curves, run_dir / runs.LOSS_PLOT, title=title)),
        (grid_path, lambda: pictures.save_grid(grid_images, grid_path, nrow=per_row)),
        (run_dir / runs.CHECKPOINT, checkpoint),
    ]:
        run.writing = target
        write()
    run.writing = None


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


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
