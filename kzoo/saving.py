"""Loading `.keras` files of kzoo models, plugins' included, on any backend.

`model.save(path)` is Keras's own: the file holds the hyperparameters, both networks' weights
and both optimizers' state. Loading needs the model's class: built-ins and plugins are found
through the registry, so a file saved from a plugin model loads wherever that plugin is installed.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import keras

from kzoo.errors import RunError

CHECKPOINT_NAME = "model.keras"
INFO_NAME = "kzoo.json"


def resolve_checkpoint(path):
    """A `.keras` file, or a run directory holding `model.keras`."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise RunError(f"no model at {path}: expected a .keras file or a run directory holding {CHECKPOINT_NAME}")
    return path


def read_model_config(path):
    """The class and hyperparameters recorded in a `.keras` file, without building the model."""
    path = resolve_checkpoint(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as error:
        raise RunError(f"{path} is not a readable .keras file ({type(error).__name__}: {error})") from None
    return config


def read_checkpoint_info(path):
    """The `info` stored by `save_model_atomically` ({} for a plain `model.save` file)."""
    path = resolve_checkpoint(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if INFO_NAME not in archive.namelist():
                return {}
            return json.loads(archive.read(INFO_NAME))
    except (zipfile.BadZipFile, json.JSONDecodeError, OSError) as error:
        raise RunError(f"{path} is not a readable .keras file ({type(error).__name__}: {error})") from None


def load_model(path, compile=True):
    """Load a kzoo model saved with `model.save(...)` (on this or any other backend).

    `path` is a `.keras` file or a run directory. With `compile=True` (the default) both
    optimizers come back with their state, so `fit()` resumes where training stopped.
    """
    path = resolve_checkpoint(path)
    config = read_model_config(path)
    _import_model_class(config)
    try:
        return keras.saving.load_model(path, compile=compile)
    except (ValueError, OSError) as error:
        raise RunError(f"could not load {path}: {_first_line(error)}") from error


def save_model_atomically(model, path, info=None):
    """Save to a temporary file beside `path`, then rename: a crash never leaves half a file.

    `info` (a JSON-able dict, e.g. the number of epochs trained) is stored inside the same
    file as `kzoo.json`, so it can never disagree with the weights it describes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        if info is not None:
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(INFO_NAME, json.dumps(info))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _import_model_class(config):
    registered = config.get("registered_name") or config.get("class_name")
    if registered in keras.saving.get_custom_objects():
        return
    from kzoo import registry

    module = config.get("module", "")
    for entry in registry.entries():
        if entry.value.split(":")[0] == module:
            registry.load_model_class(entry.name)
            return
    raise RunError(
        f"the model class {config.get('class_name')!r} (module {module!r}) is not installed: "
        "install the plugin that provides it"
    )


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
