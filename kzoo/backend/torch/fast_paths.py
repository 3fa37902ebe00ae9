"""Which of torch's fast paths run: the `KZOO_TORCH_FAST_PATHS` switch.

Unset or "all": every one; "none" (or "0", "off"): Keras's own code everywhere, to compare
training with and without; or a comma-separated list of FAST_PATH_NAMES.
"""

import os

# What each does: see the package's docstring (kzoo/backend/torch/__init__.py).
FAST_PATH_NAMES = ("layers", "optimizer", "executor", "mirror")


def fast_paths_from(setting):
    """The fast paths a `KZOO_TORCH_FAST_PATHS` value turns on.

    Args:
        setting: the variable's value (None when unset).

    Returns:
        A frozenset of FAST_PATH_NAMES.

    Raises:
        BackendError: a name that is not a fast path (the command line reports it in one line).
    """
    text = (setting or "all").strip().lower()
    if text in ("all", "1", "on"):
        return frozenset(FAST_PATH_NAMES)
    if text in ("none", "0", "off"):
        return frozenset()
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = names - set(FAST_PATH_NAMES)
    if unknown:
        from kzoo.errors import BackendError

        raise BackendError(f"KZOO_TORCH_FAST_PATHS: unknown fast path(s) {', '.join(sorted(unknown))}; "
                           f"choose among {', '.join(FAST_PATH_NAMES)}, 'all' or 'none'")
    return names


# Read once, at import. Tests change it here, where `fast_path` reads it, with monkeypatch.
FAST_PATHS = fast_paths_from(os.environ.get("KZOO_TORCH_FAST_PATHS"))


def fast_path(name):
    """Whether the fast path `name` (one of FAST_PATH_NAMES) runs."""
    return name in FAST_PATHS
