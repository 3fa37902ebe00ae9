"""Looking models up: the names, the healthy entries, the problems, one entry by name.

Everything here reads what discovery found; nothing imports a model. No keras, no plugin code.
"""

from __future__ import annotations

import fnmatch

from kzoo.errors import UnknownModelError
from kzoo.registry import discovery
from kzoo.registry.discovery import lookup_key, natural_key
from kzoo.registry.entries import ModelEntry


def list_models(pattern: str | list[str] | None = None, include_broken: bool = False) -> list[str]:
    """Registered model names, naturally sorted ('num2' before 'num10').

    Args:
        pattern: fnmatch wildcards, matched case-insensitively (`"*gan"`), or a list of them (a name
            matching any is listed); None lists every name.
        include_broken: also list broken and conflicting names.

    Returns:
        The names, as their distributions spell them.

    Raises:
        PluginError: in strict mode, when any plugin has a problem.
    """
    found = discovery.discover()
    discovery.check_strict()
    names = {e.name for e in found.values() if include_broken or e.error is None}
    if include_broken:
        names.update(e.name for e in discovery.problems_found())
    if pattern is not None:
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        patterns = [p.lower() for p in patterns]
        names = {n for n in names if any(fnmatch.fnmatchcase(n.lower(), p) for p in patterns)}
    return sorted(names, key=natural_key)


def entries() -> list[ModelEntry]:
    """Every healthy model entry, naturally sorted by name (strict mode: PluginError on any problem)."""
    found = discovery.discover()
    discovery.check_strict()
    return sorted((e for e in found.values() if e.error is None), key=lambda e: natural_key(e.name))


def problems() -> list[ModelEntry]:
    """Broken and conflicting entries (each with `error` set; `report()` gives the one-line message).

    In strict mode any problem raises PluginError instead.
    """
    discovery.discover()
    discovery.check_strict()
    return discovery.problems_found()


def model_entry(name: str) -> ModelEntry:
    """The entry registered under `name` (any case, '_' or '-'), healthy or not.

    Raises:
        UnknownModelError: no entry has that name; the message suggests the nearest names.
    """
    found = discovery.discover()
    try:
        return found[lookup_key(name)]
    except KeyError:
        raise _unknown(name, found) from None


def _unknown(name: str, found: dict[str, ModelEntry]) -> UnknownModelError:
    import difflib

    healthy = {e.name.lower(): e.name for e in found.values() if e.error is None}
    close = difflib.get_close_matches(str(name).lower(), list(healthy), n=3)
    if close:
        return UnknownModelError(f"unknown model {name!r}; did you mean: {', '.join(healthy[c] for c in close)}?")
    if not found:
        return UnknownModelError(
            f"unknown model {name!r}; no models are registered: install kzoo (`pip install kzoo`)"
        )
    return UnknownModelError(f"unknown model {name!r}; run `kzoo list` to see the available models")
