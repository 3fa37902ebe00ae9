"""kzoo: a Keras 3 model zoo of GANs that trains on TensorFlow, PyTorch or JAX.

Importing kzoo is cheap: keras (2-6 s to import) loads only when a model, the
data loaders or the metrics are first used, so `kzoo list` and `--help` stay instant.
"""

import importlib

from kzoo.registry import list_models, model_entry

__version__ = "0.1.0"

# Public names that need keras, resolved on first access (PEP 562).
_LAZY = {
    "create_model": ("kzoo.registry", "create_model"),  # the registry's factory imports keras
    "AdversarialModel": ("kzoo.adversarial", "AdversarialModel"),
    "PlayersModel": ("kzoo.players", "PlayersModel"),
    "Player": ("kzoo.players", "Player"),
    "Step": ("kzoo.players", "Step"),
    "input_gradient": ("kzoo.backend", "input_gradient"),
    "layers": ("kzoo.layers", None),
    "hyperparameters": ("kzoo.hyperparameters", None),
    "load_model": ("kzoo.saving", "load_model"),
    "models": ("kzoo.models", None),
    "data": ("kzoo.data", None),
    "metrics": ("kzoo.metrics", None),
    "use_devices": ("kzoo.distribution", "use_devices"),
    "distribution": ("kzoo.distribution", None),
}

__all__ = [
    "AdversarialModel", "Player", "PlayersModel", "Step", "create_model", "input_gradient", "list_models",
    "load_model", "model_entry", "use_devices",
]


def __getattr__(name):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'kzoo' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
