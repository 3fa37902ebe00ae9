"""Discovery: the `kzoo.models` entry points of the installed distributions, read once per process.

Each entry point becomes a `ModelEntry`, checked statically (`static_check`) without importing
anything. Two distributions claiming one name make it a conflict on both sides; one distribution
found twice on `sys.path` counts once. This module also keeps the registry's state (what was
discovered, the problems, the classes loaded since) and strict mode. No keras, no plugin code.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from dataclasses import replace

from kzoo.errors import PluginError
from kzoo.registry.entries import BUILTIN_DIST, ModelEntry, join_words, normalize_dist
from kzoo.registry.static_check import StaticChecker

GROUP = "kzoo.models"
STRICT_ENV = "KZOO_STRICT_PLUGINS"
# Problems are logged under the package's name: the one a CLI silences when it prints them itself.
LOGGER = "kzoo.registry"

# ------------------------------------------------------------------------------ state
lock = threading.RLock()  # discovery and loading run under it, so threads see one registry
_entries: dict[str, ModelEntry] | None = None  # lookup key -> entry (healthy or not); None: not discovered
_problems: list[ModelEntry] = []
_classes: dict[str, type] = {}  # lookup key -> the class loaded for it
_strict_override: bool | None = None


def lookup_key(name: str) -> str:
    """Lookup key: names match case-insensitively, '_' and '-' alike."""
    return str(name).strip().lower().replace("_", "-")


def natural_key(name: str):
    """Sort key that puts 'num2' before 'num10'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name.lower())]


def refresh() -> None:
    """Forget everything discovered and loaded (for tests, or after installing a plugin)."""
    global _entries
    with lock:
        importlib.invalidate_caches()  # also clears importlib.metadata's directory caches
        _entries = None
        _problems.clear()
        _classes.clear()


def set_strict(strict: bool | None = True) -> None:
    """Strict plugin mode: any plugin problem raises PluginError. None goes back to the env var."""
    global _strict_override
    _strict_override = None if strict is None else bool(strict)


def is_strict() -> bool:
    """Whether strict plugin mode is on: `set_strict`'s setting, else $KZOO_STRICT_PLUGINS."""
    if _strict_override is not None:
        return _strict_override
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


# ------------------------------------------------------------------ what loading records
def loaded_class(key: str) -> type | None:
    """The class already loaded for lookup key `key`, or None."""
    return _classes.get(key)


def record_loaded(key: str, entry: ModelEntry, cls: type) -> None:
    """Remember `cls` for `key`, and `entry` as it reads now that the class itself is known."""
    with lock:
        _classes[key] = cls
        discover()[key] = entry


def mark_broken(key: str, entry: ModelEntry, error: str) -> ModelEntry:
    """Record that `entry` failed to load with `error`; returns the broken entry."""
    broken = replace(entry, error=error)
    with lock:
        discover()[key] = broken
        _problems.append(broken)
    return broken


# -------------------------------------------------------------------------- discovery
def discover() -> dict[str, ModelEntry]:
    """Lookup key -> entry (healthy or not), discovered on the first call."""
    global _entries
    with lock:
        if _entries is not None:
            return _entries
        claims: dict[str, list[tuple]] = {}
        for raw in _raw_entry_points():
            claims.setdefault(lookup_key(raw[0]), []).append(raw)
        checker = StaticChecker()
        found: dict[str, ModelEntry] = {}
        problems: list[ModelEntry] = []
        for key, raws in claims.items():
            if len(raws) > 1:
                group = _conflict(raws)
                found[key] = group[0]
                problems.extend(group)
                continue
            name, value, dist, version = raws[0]
            try:
                info = checker.check(value)
            except Exception:  # a gap in the static check must not break listing: check at load time
                info = {}
            entry = ModelEntry(name, value, dist, version, normalize_dist(dist) == BUILTIN_DIST, **info)
            found[key] = entry
            if entry.error is not None:
                problems.append(entry)
        _entries = found
        _problems[:] = sorted(problems, key=lambda e: (natural_key(e.name), e.distribution))
        _log_problems(_problems)
        return _entries


def problems_found() -> list[ModelEntry]:
    """Every broken or conflicting entry so far (a conflict: one per claimant), discovered first."""
    discover()
    return list(_problems)


def check_strict() -> None:
    """In strict mode, raise PluginError naming the first problem and how many more there are."""
    if is_strict() and _problems:
        more = len(dict.fromkeys(p.report() for p in _problems)) - 1  # a conflict counts once
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise PluginError(
            f"strict plugin mode: {_problems[0].report()}{tail}; "
            f"unset {STRICT_ENV} / drop --strict-plugins to skip broken plugins instead"
        )


def _conflict(raws) -> list[ModelEntry]:
    """One broken entry per distribution claiming the same name, the built-in first."""
    raws.sort(key=lambda raw: (normalize_dist(raw[2]) != BUILTIN_DIST, normalize_dist(raw[2])))
    claimants = tuple(f"{dist} {version}".strip() for _, _, dist, version in raws)
    names = join_words([f"'{c}' ({value})" for c, (_, value, _, _) in zip(claimants, raws)], "and")
    error = f"model name {raws[0][0]!r} is claimed by distributions {names}"
    return [
        ModelEntry(name, value, dist, version, normalize_dist(dist) == BUILTIN_DIST,
                   error=error, conflict_with=claimants)
        for name, value, dist, version in raws
    ]


def _raw_entry_points():
    """(name, value, distribution, version) for every entry point of the group, installs de-duplicated."""
    from importlib import metadata

    found, seen, dists = [], set(), {}
    for ep in metadata.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        if id(dist) not in dists:  # parse each METADATA file once
            dist_name, version = getattr(dist, "_normalized_name", None) or "unknown", ""
            if dist is not None:
                try:
                    meta = dist.metadata
                    dist_name, version = meta["Name"] or dist_name, meta["Version"] or ""
                except Exception:  # unreadable METADATA: keep the entry, name what we can
                    pass
            dists[id(dist)] = dist, dist_name, version  # (holding dist keeps its id unique)
        _, dist_name, version = dists[id(dist)]
        # The same distribution on two sys.path entries (or listed twice): keep the first, silently.
        marker = (normalize_dist(dist_name), lookup_key(ep.name))
        if marker in seen:
            continue
        seen.add(marker)
        found.append((ep.name, ep.value, dist_name, version))
    if not any(normalize_dist(d) == BUILTIN_DIST for _, _, d, _ in found):
        found.extend(_source_checkout_builtins())
    return found


def _source_checkout_builtins():
    """Built-ins from the checkout's pyproject.toml when kzoo runs from a source tree that is not installed."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # kzoo/registry/ -> kzoo/
    pyproject = os.path.join(os.path.dirname(package), "pyproject.toml")
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return []
    try:
        with open(pyproject, "rb") as f:
            project = tomllib.load(f).get("project", {})
    except (OSError, ValueError):
        return []
    if normalize_dist(str(project.get("name", ""))) != BUILTIN_DIST:
        return []
    group = project.get("entry-points", {}).get(GROUP, {})
    version = str(project.get("version", ""))
    return [(name, value, BUILTIN_DIST, version) for name, value in group.items()]


def _log_problems(problems):
    if problems and not is_strict():
        log = logging.getLogger(LOGGER)
        for line in dict.fromkeys(entry.report() for entry in problems):  # a conflict: one line, not one per claimant
            log.warning("kzoo: %s", line)
