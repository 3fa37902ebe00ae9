"""The model registry: every model, built-in or plugin, comes from the `kzoo.models` entry-point group.

    [project.entry-points."kzoo.models"]
    hinge-dcgan = "kzoo_hinge_gan:HingeDCGAN"

Finding models is separate from loading them (as flake8 does it):

- *Discovery* (`discovery`) reads the entry-point metadata of the installed distributions, once
  per process. It imports no plugin code and nothing heavy (no keras), so `kzoo list` stays instant.
- A *static check* (`static_check`) then reads each entry's module source without running it (no
  package `__init__` runs either): the module must exist and parse, the attribute must be a class
  at module top level, and the absolute top-level imports must be installed. The class
  docstring's first line, `paper` and `conditional` come from the source, for listing.
- *Loading* (`factory`: `load_model_class`, `create_model`, `model_info`) imports the module, only
  then. It is the keras side: this package hands its names on lazily (PEP 562), so importing
  `kzoo.registry` does not import it.

A broken plugin is reported in one line (model, distribution, version, error: `ModelEntry.report`,
in `entries`) and skipped; everything else keeps working. Two different distributions claiming one
name make that name unusable (no silent "last one wins"); the same distribution found twice on
`sys.path` is de-duplicated silently. Strict mode (`KZOO_STRICT_PLUGINS=1`, `set_strict(True)`, or
the CLI's `--strict-plugins`) turns any problem into a `PluginError` from `list_models`, `entries`
and `problems` (`lookup`). Problems found at discovery are also logged once, as warnings of the
`kzoo.registry` logger (a CLI that prints `problems()` itself can silence that logger).

This package, but for `factory`, must not import keras, tensorflow, torch or jax, directly or indirectly.
"""

import importlib

from kzoo.registry.discovery import GROUP, STRICT_ENV, is_strict, refresh, set_strict
from kzoo.registry.entries import ModelEntry
from kzoo.registry.lookup import entries, list_models, model_entry, problems

# The factory's names, resolved on first access: the factory imports kzoo.players, so keras.
_FACTORY = ("create_model", "load_model_class", "model_info")

__all__ = [
    "GROUP",
    "STRICT_ENV",
    "ModelEntry",
    "create_model",
    "entries",
    "is_strict",
    "list_models",
    "load_model_class",
    "model_entry",
    "model_info",
    "problems",
    "refresh",
    "set_strict",
]


def __getattr__(name):
    if name not in _FACTORY:
        raise AttributeError(f"module 'kzoo.registry' has no attribute {name!r}")
    # Looked up at each access, not copied into this module: a replacement of a factory function is seen here too.
    return getattr(importlib.import_module("kzoo.registry.factory"), name)


def __dir__():
    return sorted(set(globals()) | set(_FACTORY))
