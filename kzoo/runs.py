"""The run directory: where `kzoo train` puts everything a user wants to find again.

    runs/dcgan-20261122-183000/
        config.json          everything needed to reproduce the run (model, hyperparameters,
                             dataset, seed, backend, versions, command)
        model.keras          the last good checkpoint, replaced atomically after every epoch
        history.csv          one row per epoch: losses (and metrics, when evaluated)
        losses.png           the loss curves
        samples/epoch_NNN.png  a grid from the same fixed noise at every epoch

No keras here: reading a run's config must not need a backend.
"""

import csv
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from kzoo.errors import RunError

CONFIG = "config.json"
CHECKPOINT = "model.keras"
HISTORY = "history.csv"
LOSS_PLOT = "losses.png"
SAMPLES = "samples"


@dataclasses.dataclass(frozen=True)
class NewRunDirectory:
    """A run directory `new_run_dir` made, and what it found: so that a run that ends before its
    first checkpoint removes what it added, and nothing else."""

    path: Path
    found_there: frozenset | None  # the names the folder held before; None: it did not exist
    made: Path | None  # the outermost folder created for it (runs/ itself, for a first run)

    def discard(self):
        """Remove what the run added: every folder it created, or only the entries it added to a
        folder that existed."""
        if self.made is not None:
            shutil.rmtree(self.made, ignore_errors=True)
            return
        for entry in self.path.iterdir() if self.path.is_dir() else ():
            if entry.name in self.found_there:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def new_run_dir(model_name, out=None, root="runs"):
    """Create the directory of a new run: `out`, or runs/<model>-<timestamp> (suffixed if taken).

    Returns:
        A `NewRunDirectory`: its `path`, and what `discard()` would remove.

    Raises:
        RunError: in one line, when the directory holds a run already or cannot be created.
    """
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(root) / f"{model_name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path(root) / f"{model_name}-{stamp}-{suffix}"
    else:
        path = Path(out)
        check_free(path)
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    made = missing[-1] if missing else None
    found_there = None if made is not None else frozenset(os.listdir(path))
    created = NewRunDirectory(path, found_there, made)
    try:
        (path / SAMPLES).mkdir(parents=True, exist_ok=True)
        _check_writable(path)
    except OSError as error:
        created.discard()
        raise RunError(f"cannot write the run directory {path}: {error.strerror or error}") from None
    return created


def _check_writable(path):
    """A folder can exist and still refuse files (read-only mounts, permissions): try one."""
    fd, probe = tempfile.mkstemp(prefix=".kzoo-write-check-", dir=path)
    os.close(fd)
    os.unlink(probe)


def check_free(path):
    """Refuse a directory that already holds a run (also checked by processes that do not write it)."""
    if (Path(path) / CONFIG).exists():
        raise RunError(f"{path} already holds a run: continue it with --resume {path}, or pick another --out")


def atomic_write_text(path, text):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_config(run_dir, config):
    atomic_write_text(Path(run_dir) / CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n")


def read_config(run_dir):
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise RunError(f"{run_dir} is not a kzoo run directory (no {CONFIG})")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise RunError(f"{path} is not valid JSON: {error}") from None


def read_history(run_dir):
    """Rows of history.csv as dicts of floats (epoch as int); [] when there is none yet."""
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v not in ("", None)} for row in rows]


def write_history(run_dir, rows):
    """Rewrite history.csv atomically with `rows` (the union of their keys as columns)."""
    columns = ["epoch"] + sorted({k for row in rows for k in row} - {"epoch"})
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join("" if row.get(c) is None else repr(row[c]) if isinstance(row[c], float) else str(row[c]) for c in columns))
    atomic_write_text(Path(run_dir) / HISTORY, "\n".join(lines) + "\n")


def completed_epochs(run_dir):
    history = read_history(run_dir)
    return max((row["epoch"] for row in history), default=0)
