"""Choosing the Keras backend before keras is imported (Keras reads KERAS_BACKEND once, at import).

No keras here: the CLI calls `use()` first, so `--backend` works with no environment variable.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

from kzoo.errors import BackendError

BACKENDS = ("tensorflow", "torch", "jax")
_ALIASES = {"tf": "tensorflow", "pytorch": "torch"}
# The module whose presence means the backend is installed, and the extra that installs it.
_MODULES = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}


def canonical(name):
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return key


def is_installed(name):
    return importlib.util.find_spec(_MODULES[canonical(name)]) is not None


def installed():
    return [b for b in BACKENDS if is_installed(b)]


def default():
    """KERAS_BACKEND if set, else keras.json's backend if installed, else the first installed one."""
    if os.environ.get("KERAS_BACKEND"):
        return canonical(os.environ["KERAS_BACKEND"])
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        configured = json.loads(config.read_text()).get("backend")
    except (OSError, ValueError):
        configured = None
    if configured in BACKENDS and is_installed(configured):
        return configured
    available = installed()
    if not available:
        raise BackendError(
            "no Keras backend is installed: pip install 'kzoo[jax]' (or kzoo[torch], kzoo[tensorflow])"
        )
    return available[0]


def use(name=None):
    """Select backend `name` (default: `default()`) for this process; return its canonical name."""
    name = canonical(name) if name else default()
    if not is_installed(name):
        raise BackendError(f"backend {name!r} is not installed: pip install 'kzoo[{name}]'")
    if "keras" in sys.modules:
        active = sys.modules["keras"].backend.backend()
        if active != name:
            raise BackendError(
                f"keras is already loaded with the {active!r} backend in this process; "
                f"start a new process to use {name!r}"
            )
    os.environ["KERAS_BACKEND"] = name
    # TensorFlow's C++ start-up chatter drowns the progress bar; an explicit user setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return name


def version(name):
    from importlib.metadata import PackageNotFoundError, version as dist_version

    for dist in {"tensorflow": ("tensorflow-cpu", "tensorflow"), "torch": ("torch",), "jax": ("jax",)}[name]:
        try:
            return dist_version(dist)
        except PackageNotFoundError:
            continue
    return None
