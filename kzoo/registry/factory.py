"""The factory: the class behind a model name, a built and compiled model, and what `kzoo info` shows.

This is the registry's keras side, as timm keeps `create_model` in `_factory.py` apart from its
`_registry.py`: loading imports the entry's module (and so keras), only now, and checks that it
names a subclass of `kzoo.PlayersModel`. `kzoo.registry` hands these names on without importing
this module until one of them is first used, so listing stays free of keras.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

from kzoo.errors import KzooError, PluginError
from kzoo.players import PlayersModel
from kzoo.registry import discovery
from kzoo.registry.entries import MODEL_BASE, first_line, one_line
from kzoo.registry.lookup import model_entry


def load_model_class(name: str) -> type:
    """Import (only now) the model class registered under `name`; cached until `refresh()`.

    A failure to import, or something that is not a subclass of `kzoo.PlayersModel`, marks the
    entry broken: it is then listed among the problems and not imported again.

    Args:
        name: a registered name, in any case, with '_' or '-'.

    Returns:
        The model class.

    Raises:
        UnknownModelError: no model has that name.
        PluginError: the entry is broken or conflicting, or fails to load now.
    """
    key = discovery.lookup_key(name)
    with discovery.lock:
        cached = discovery.loaded_class(key)
        if cached is not None:
            return cached
        entry = model_entry(name)
        if entry.error is not None:
            raise PluginError(entry.report())
        try:
            obj = importlib.import_module(entry.module)
            for part in entry.attr.split("."):
                obj = getattr(obj, part)
        except KzooError:
            raise  # the user's to fix (e.g. a backend problem), not the plugin's
        except Exception as exc:
            broken = discovery.mark_broken(key, entry, f"{type(exc).__name__}: {one_line(exc)}")
            raise PluginError(broken.report()) from exc
        if not (isinstance(obj, type) and issubclass(obj, PlayersModel)):
            what = f"a {type(obj).__name__}" if not isinstance(obj, type) else f"class {obj.__qualname__}"
            broken = discovery.mark_broken(
                key, entry, f"not a model class: {entry.attr!r} is {what}, not a subclass of {MODEL_BASE}"
            )
            raise PluginError(broken.report())
        doc = first_line(obj.__dict__.get("__doc__"))
        loaded = replace(
            entry,
            description=doc if doc is not None else entry.description,
            paper=obj.paper,
            conditional=bool(obj.conditional),
        )
        discovery.record_loaded(key, loaded, obj)
        return obj


def create_model(name: str, /, **hyperparameters):
    """Build the model registered under `name` and compile it with its paper's defaults.

    Args:
        name: a registered name, in any case, with '_' or '-'.
        **hyperparameters: the model's hyperparameters (`kzoo info NAME` lists them). One given as
            None is dropped, so a CLI option left unset keeps the model's default (as timm does).

    Returns:
        The model, built and compiled.

    Raises:
        UnknownModelError, PluginError: as `load_model_class`.
        HyperparameterError: a hyperparameter the model does not have, or a value it does not take.
    """
    cls = load_model_class(name)
    model = cls(**{k: v for k, v in hyperparameters.items() if v is not None})
    model.compile()
    return model


def model_info(name: str) -> dict:
    """What `kzoo info NAME` shows; imports the model class.

    Returns:
        A dict: name, origin, distribution, version, value ("module:Class"), description, paper,
        conditional, default_epochs, default_steps_per_epoch, hyperparameters (name -> default)
        and hyperparameter_details (name -> {"accepts": ..., "help": ...}).

    Raises:
        UnknownModelError, PluginError: as `load_model_class`.
    """
    cls = load_model_class(name)
    entry = model_entry(name)
    return {
        "name": entry.name,
        "origin": entry.origin,
        "distribution": entry.distribution,
        "version": entry.version,
        "value": entry.value,
        "description": first_line(cls.__dict__.get("__doc__")) or "",
        # PlayersModel declares all of these (load_model_class checked the class is one).
        "paper": cls.paper,
        "conditional": bool(cls.conditional),
        "default_epochs": cls.default_epochs,
        "default_steps_per_epoch": cls.default_steps_per_epoch,
        "hyperparameters": dict(cls.default_hyperparameters()),
        # What each accepts and what it is for (kzoo.hyperparameters).
        "hyperparameter_details": {
            hp_name: {"accepts": spec.describe(), "help": spec.help}
            for hp_name, spec in cls.hyperparameter_specs().items()
        },
    }
