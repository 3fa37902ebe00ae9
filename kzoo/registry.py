"""The model registry: every model, built-in or plugin, comes from the `kzoo.models` entry-point group.

    [project.entry-points."kzoo.models"]
    hinge-dcgan = "kzoo_hinge_gan:HingeDCGAN"

Finding models is separate from loading them (as flake8 does it):

- *Discovery* reads the entry-point metadata of the installed distributions, once per process.
  It imports no plugin code and nothing heavy (no keras), so `kzoo list` stays instant.
- A *static check* then reads each entry's module source without running it (no package
  `__init__` runs either): the module must exist and parse, the attribute must be a class at
  module top level, and the absolute top-level imports must be installed. The class docstring's
  first line, `paper` and `conditional` come from the source, for listing.
- *Loading* (`load_model_class`, `create_model`, `model_info`) imports the module, only then.

A broken plugin is reported in one line (model, distribution, version, error) and skipped;
everything else keeps working. Two different distributions claiming one name make that name
unusable (no silent "last one wins"); the same distribution found twice on `sys.path` is
de-duplicated silently. Strict mode (`KZOO_STRICT_PLUGINS=1`, `set_strict(True)`, or the CLI's
`--strict-plugins`) turns any problem into a `PluginError` from `list_models`, `entries` and
`problems`. Problems found at discovery are also logged once, as warnings of the `kzoo.registry`
logger (a CLI that prints `problems()` itself can silence that logger).

This module must not import keras, tensorflow, torch or jax, directly or indirectly.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
import sys
import threading
from dataclasses import dataclass, replace

from kzoo.errors import KzooError, PluginError, UnknownModelError

__all__ = [
    "GROUP",
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

GROUP = "kzoo.models"
STRICT_ENV = "KZOO_STRICT_PLUGINS"
_BUILTIN_DIST = "kzoo"
_MODEL_BASE = "kzoo.PlayersModel"


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: where it comes from, what the listing says about it, and its problem if any."""

    name: str
    value: str  # "module:Class"
    distribution: str
    version: str
    builtin: bool
    description: str | None = None
    paper: str | None = None
    conditional: bool | None = None  # None: not known before the class is imported
    error: str | None = None  # None for a healthy entry
    # "dist version" of every distribution claiming this name, when there is a conflict.
    conflict_with: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        return "built-in" if self.builtin else "plugin"

    @property
    def source(self) -> str:
        """'kzoo-hinge-gan 0.1.0': the distribution and its version."""
        return f"{self.distribution} {self.version}".strip()

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> str:
        return self.value.partition(":")[2].split("[")[0].strip()

    def report(self) -> str:
        """The problem in one line, saying what to do; '' for a healthy entry."""
        if self.error is None:
            return ""
        if self.conflict_with:
            dists = [c.split()[0] for c in self.conflict_with]
            plugins = [d for d in dists if _normalize_dist(d) != _BUILTIN_DIST]
            if len(plugins) < len(dists):  # a plugin reusing a built-in name
                return f"{self.error}; a plugin may not reuse a built-in name: " + _join(
                    [f"`pip uninstall {d}`" for d in plugins], "and")
            return f"{self.error}; uninstall one of them ({_join([f'`pip uninstall {d}`' for d in dists], 'or')})"
        if self.builtin:
            return (
                f"built-in model {self.name!r} ({self.source}) failed to load: {self.error}; "
                f"reinstall kzoo with a backend, e.g. `pip install 'kzoo[tensorflow]'`"
            )
        return (
            f"plugin model {self.name!r} from distribution '{self.source}' failed to load: {self.error}; "
            f"fix or upgrade the plugin, or `pip uninstall {self.distribution}`"
        )


# ------------------------------------------------------------------------------ state
_lock = threading.RLock()
_entries: dict[str, ModelEntry] | None = None  # lookup key -> entry (healthy or not); None: not discovered
_problems: list[ModelEntry] = []
_classes: dict[str, type] = {}
_strict_override: bool | None = None


def _key(name: str) -> str:
    """Lookup key: names match case-insensitively, '_' and '-' alike."""
    return str(name).strip().lower().replace("_", "-")


def _normalize_dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _join(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _natural_key(name: str):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name.lower())]


def refresh() -> None:
    """Forget everything discovered and loaded (for tests, or after installing a plugin)."""
    global _entries
    with _lock:
        importlib.invalidate_caches()  # also clears importlib.metadata's directory caches
        _entries = None
        _problems.clear()
        _classes.clear()


def set_strict(strict: bool | None = True) -> None:
    """Strict plugin mode: any plugin problem raises PluginError. None goes back to the env var."""
    global _strict_override
    _strict_override = None if strict is None else bool(strict)


def is_strict() -> bool:
    if _strict_override is not None:
        return _strict_override
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


# -------------------------------------------------------------------------- discovery
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
        marker = (_normalize_dist(dist_name), _key(ep.name))
        if marker in seen:
            continue
        seen.add(marker)
        found.append((ep.name, ep.value, dist_name, version))
    if not any(_normalize_dist(d) == _BUILTIN_DIST for _, _, d, _ in found):
        found.extend(_source_checkout_builtins())
    return found


def _source_checkout_builtins():
    """Built-ins from ../pyproject.toml when kzoo runs from a source tree that is not installed."""
    pyproject = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return []
    try:
        with open(pyproject, "rb") as f:
            project = tomllib.load(f).get("project", {})
    except (OSError, ValueError):
        return []
    if _normalize_dist(str(project.get("name", ""))) != _BUILTIN_DIST:
        return []
    group = project.get("entry-points", {}).get(GROUP, {})
    version = str(project.get("version", ""))
    return [(name, value, _BUILTIN_DIST, version) for name, value in group.items()]


def _discover() -> dict[str, ModelEntry]:
    global _entries
    with _lock:
        if _entries is not None:
            return _entries
        claims: dict[str, list[tuple]] = {}
        for raw in _raw_entry_points():
            claims.setdefault(_key(raw[0]), []).append(raw)
        checker = _StaticChecker()
        found: dict[str, ModelEntry] = {}
        problems: list[ModelEntry] = []
        for key, raws in claims.items():
            if len(raws) > 1:
                raws.sort(key=lambda raw: (_normalize_dist(raw[2]) != _BUILTIN_DIST, _normalize_dist(raw[2])))
                claimants = tuple(f"{dist} {version}".strip() for _, _, dist, version in raws)
                names = _join([f"'{c}' ({value})" for c, (_, value, _, _) in zip(claimants, raws)], "and")
                error = f"model name {raws[0][0]!r} is claimed by distributions {names}"
                group = [
                    ModelEntry(name, value, dist, version, _normalize_dist(dist) == _BUILTIN_DIST,
                               error=error, conflict_with=claimants)
                    for name, value, dist, version in raws
                ]
                found[key] = group[0]
                problems.extend(group)
                continue
            name, value, dist, version = raws[0]
            try:
                info = checker.check(value)
            except Exception:  # a gap in the static check must not break listing: check at load time
                info = {}
            entry = ModelEntry(name, value, dist, version, _normalize_dist(dist) == _BUILTIN_DIST, **info)
            found[key] = entry
            if entry.error is not None:
                problems.append(entry)
        _entries = found
        _problems[:] = sorted(problems, key=lambda e: (_natural_key(e.name), e.distribution))
        _log_problems(_problems)
        return _entries


def _log_problems(problems):
    if problems and not is_strict():
        import logging

        log = logging.getLogger(__name__)
        for line in dict.fromkeys(entry.report() for entry in problems):  # a conflict: one line, not one per claimant
            log.warning("kzoo: %s", line)


def _check_strict():
    if is_strict() and _problems:
        more = len(dict.fromkeys(p.report() for p in _problems)) - 1  # a conflict counts once
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise PluginError(
            f"strict plugin mode: {_problems[0].report()}{tail}; "
            f"unset {STRICT_ENV} / drop --strict-plugins to skip broken plugins instead"
        )


# ------------------------------------------------------------------------- public API
def list_models(pattern: str | list[str] | None = None, include_broken: bool = False) -> list[str]:
    """Registered model names, naturally sorted; `pattern` takes fnmatch wildcards, case-insensitively.

    `pattern` may be a list of patterns (a name matching any is listed). Broken and conflicting
    names are left out unless `include_broken`. Strict mode raises PluginError on any problem.
    """
    found = _discover()
    _check_strict()
    names = {e.name for e in found.values() if include_broken or e.error is None}
    if include_broken:
        names.update(e.name for e in _problems)
    if pattern is not None:
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        patterns = [p.lower() for p in patterns]
        names = {n for n in names if any(fnmatch.fnmatchcase(n.lower(), p) for p in patterns)}
    return sorted(names, key=_natural_key)


def entries() -> list[ModelEntry]:
    """Every healthy model entry, naturally sorted by name."""
    found = _discover()
    _check_strict()
    return sorted((e for e in found.values() if e.error is None), key=lambda e: _natural_key(e.name))


def problems() -> list[ModelEntry]:
    """Broken and conflicting entries (each with `error` set; `report()` gives the one-line message)."""
    _discover()
    _check_strict()
    return list(_problems)


def model_entry(name: str) -> ModelEntry:
    """The entry registered under `name`, healthy or not; UnknownModelError if there is none."""
    found = _discover()
    try:
        return found[_key(name)]
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


def _model_base():
    """The class every model must subclass (imports keras: call only when loading a model)."""
    from kzoo.players import PlayersModel

    return PlayersModel


def _mark_broken(key: str, entry: ModelEntry, error: str) -> ModelEntry:
    broken = replace(entry, error=error)
    _entries[key] = broken
    _problems.append(broken)
    return broken


def load_model_class(name: str) -> type:
    """Import (only now) and return the model class registered under `name`, cached.

    Raises UnknownModelError, or PluginError for a broken or conflicting entry.
    """
    found = _discover()
    key = _key(name)
    with _lock:
        if key in _classes:
            return _classes[key]
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
            broken = _mark_broken(key, entry, f"{type(exc).__name__}: {_one_line(exc)}")
            raise PluginError(broken.report()) from exc
        base = _model_base()
        if not (isinstance(obj, type) and issubclass(obj, base)):
            what = f"a {type(obj).__name__}" if not isinstance(obj, type) else f"class {obj.__qualname__}"
            broken = _mark_broken(
                key, entry, f"not a model class: {entry.attr!r} is {what}, not a subclass of {_MODEL_BASE}"
            )
            raise PluginError(broken.report())
        _classes[key] = obj
        doc = _first_line(obj.__dict__.get("__doc__"))
        found[key] = replace(
            entry,
            description=doc if doc is not None else entry.description,
            paper=getattr(obj, "paper", None),
            conditional=bool(getattr(obj, "conditional", False)),
        )
        return obj


def create_model(name: str, /, **hyperparameters):
    """Build the model registered under `name` and compile it with its paper's defaults.

    Hyperparameters given as None are dropped, so a CLI option left unset keeps the model's
    default (as timm does). Unknown hyperparameters raise HyperparameterError.
    """
    cls = load_model_class(name)
    model = cls(**{k: v for k, v in hyperparameters.items() if v is not None})
    model.compile()
    return model


def model_info(name: str) -> dict:
    """What `kzoo info NAME` shows; imports the model class."""
    cls = load_model_class(name)
    entry = model_entry(name)
    return {
        "name": entry.name,
        "origin": entry.origin,
        "distribution": entry.distribution,
        "version": entry.version,
        "value": entry.value,
        "description": _first_line(cls.__dict__.get("__doc__")) or "",
        "paper": getattr(cls, "paper", None),
        "conditional": bool(getattr(cls, "conditional", False)),
        "default_epochs": getattr(cls, "default_epochs", None),
        "default_steps_per_epoch": getattr(cls, "default_steps_per_epoch", None),
        "hyperparameters": dict(cls.default_hyperparameters()),
        # What each accepts and what it is for, where the class says (kzoo.hyperparameters).
        "hyperparameter_details": {
            name: {"accepts": spec.describe(), "help": spec.help}
            for name, spec in (cls.hyperparameter_specs() if hasattr(cls, "hyperparameter_specs") else {}).items()
        },
    }


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or "(no message)"


def _first_line(doc) -> str | None:
    if not isinstance(doc, str):
        return None
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return None


# ------------------------------------------------------------------------ static check
_MISSING = object()  # an attribute no class in the chain defines
_UNKNOWN = object()  # an attribute whose value cannot be told from the source


class _StaticChecker:
    """Checks entry points by reading source: finds modules without importing anything.

    `importlib.util.find_spec("a.b")` would import (run) package `a`; instead each level is looked
    up with PathFinder in the parent's `submodule_search_locations`. Top-level names also go
    through the other meta-path finders (setuptools' editable installs use one).
    """

    def __init__(self):
        self._specs: dict[str, object] = {}
        self._sources: dict[str, tuple] = {}
        self._trees: dict[str, tuple] = {}
        self._edits: dict[str, bool] = {}

    # -- finding modules
    def find_spec(self, fullname: str):
        if fullname not in self._specs:
            self._specs[fullname] = self._find_spec(fullname)
        return self._specs[fullname]

    def _find_spec(self, fullname: str):
        from importlib.machinery import PathFinder

        module = sys.modules.get(fullname)
        if module is not None and getattr(module, "__spec__", None) is not None:
            return module.__spec__
        parent, _, _ = fullname.rpartition(".")
        try:
            if not parent:
                return PathFinder.find_spec(fullname) or self._meta_path_spec(fullname)
            parent_spec = self.find_spec(parent)
            locations = getattr(parent_spec, "submodule_search_locations", None)
            if locations is None:  # parent missing, or a module rather than a package
                return None
            return PathFinder.find_spec(fullname, list(locations))
        except (ImportError, OSError, ValueError):
            return None

    @staticmethod
    def _meta_path_spec(name: str):
        from importlib.machinery import PathFinder

        for finder in sys.meta_path:
            if finder is PathFinder or not hasattr(finder, "find_spec"):
                continue
            try:  # a top-level lookup runs no package code
                spec = finder.find_spec(name, None)
            except Exception:
                continue
            if spec is not None:
                return spec
        return None

    def is_importable_top_level(self, name: str) -> bool:
        return name in sys.builtin_module_names or name in sys.modules or self.find_spec(name) is not None

    # -- reading modules
    def module_source(self, module_name: str):
        """(source or None, spec or None, error or None); None source: nothing readable (accept)."""
        if module_name not in self._sources:
            self._sources[module_name] = self._module_source(module_name)
        return self._sources[module_name]

    def _module_source(self, module_name: str):
        import importlib.util

        spec = self.find_spec(module_name)
        if spec is None:
            return None, None, f"ModuleNotFoundError: No module named {module_name!r}"
        origin = getattr(spec, "origin", None)
        if not origin or not str(origin).endswith(".py") or not os.path.isfile(origin):
            return None, spec, None  # namespace package, extension module, zip: checked at load time
        try:
            with open(origin, "rb") as f:
                return importlib.util.decode_source(f.read()), spec, None
        except (OSError, SyntaxError, UnicodeDecodeError) as exc:
            return None, spec, f"{type(exc).__name__}: {_one_line(exc)}"

    def module_tree(self, module_name: str):
        """(ast.Module or None, spec or None, error or None); None tree: no readable source (accept)."""
        if module_name not in self._trees:
            self._trees[module_name] = self._module_tree(module_name)
        return self._trees[module_name]

    def _module_tree(self, module_name: str):
        import ast

        source, spec, error = self.module_source(module_name)
        if source is None:
            return None, spec, error
        try:
            return ast.parse(source, filename=spec.origin), spec, None
        except (SyntaxError, ValueError) as exc:
            lineno = getattr(exc, "lineno", None)
            where = f" ({os.path.basename(spec.origin)}, line {lineno})" if lineno else ""
            return None, spec, f"{type(exc).__name__}: {getattr(exc, 'msg', None) or exc}{where}"

    # -- the check
    def check(self, value: str) -> dict:
        """ModelEntry fields (error, description, paper, conditional) for the entry point `value`."""
        match = re.fullmatch(r"\s*([\w.]+)\s*:\s*([\w.]+)\s*(\[[^\]]*\])?\s*", value)
        if not match or any(not part for part in match.group(1).split(".") + match.group(2).split(".")):
            return {"error": f"ValueError: malformed entry point {value!r}, expected 'module:Class'"}
        module_name, attr = match.group(1), match.group(2)
        tree, spec, error = self.module_tree(module_name)
        if error is not None:
            return {"error": error}
        if tree is None:
            return {}
        missing = None if self._edits_import_system(module_name) else self._missing_import(tree)
        if missing:
            return {"error": missing}
        head, _, rest = attr.partition(".")
        bindings, dynamic = _top_level_bindings(tree, head)
        if not bindings:
            if dynamic:
                return {}
            return {"error": f"AttributeError: module {module_name!r} has no attribute {head!r}"}
        kinds = {kind for kind, _ in bindings}
        if kinds <= {"def", "literal"} and not rest:
            kind, node = bindings[-1]
            what = "a function" if kind == "def" else f"a literal ({type(_literal(node)).__name__})"
            return {"error": f"not a model class: {attr!r} is {what}, not a subclass of {_MODEL_BASE}"}
        kind, node = bindings[-1]
        where = (module_name, node) if kind == "class" else None
        if kind == "import":
            where = self._resolve_class(module_name, head, 0)
        for part in rest.split(".") if rest else ():
            where = _nested_class(where, part)
        if where is None:
            return {}
        return self._class_info(*where)

    def _missing_import(self, tree) -> str | None:
        import ast

        for stmt in tree.body:  # only unconditional imports: `try: import x` is optional on purpose
            if isinstance(stmt, ast.Import):
                names = [alias.name for alias in stmt.names]
            elif isinstance(stmt, ast.ImportFrom) and not stmt.level and stmt.module:
                names = [stmt.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if not self.is_importable_top_level(top):
                    return f"ModuleNotFoundError: No module named {top!r} (imported on line {stmt.lineno})"
        return None

    def _edits_import_system(self, module_name) -> bool:
        """Whether the module or a parent package's __init__ touches sys.path & co (vendoring, as setuptools
        does): its imports may then resolve in ways only running it would tell."""
        if module_name not in self._edits:
            parent = module_name.rpartition(".")[0]
            source = self.module_source(module_name)[0]
            self._edits[module_name] = bool(source and _IMPORT_STATE.search(source)) or (
                bool(parent) and self._edits_import_system(parent))
        return self._edits[module_name]

    def _class_info(self, module_name, node) -> dict:
        import ast

        paper = self._class_attr(module_name, node, "paper", 0)
        conditional = self._class_attr(module_name, node, "conditional", 0)
        return {
            "description": _first_line(ast.get_docstring(node)),
            "paper": paper if isinstance(paper, str) else None,
            "conditional": (
                None if conditional is _UNKNOWN else False if conditional is _MISSING else bool(conditional)
            ),
        }

    def _class_attr(self, module_name, node, attr, depth):
        """The literal value of `attr` on the class, looked up through bases in the source."""
        import ast

        for stmt in node.body:
            target = value = None
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target, value = stmt.target, stmt.value
            if isinstance(target, ast.Name) and target.id == attr:
                result = _literal(value)
                return _UNKNOWN if result is _MISSING else result
        if depth > 8:
            return _UNKNOWN
        for base in node.bases:
            where = self._resolve_expr(module_name, base, depth + 1)
            if where is None:
                return _UNKNOWN  # e.g. keras.Model: can't tell
            result = self._class_attr(*where, attr, depth + 1)
            if result is not _MISSING:
                return result
        return _MISSING

    def _resolve_expr(self, module_name, expr, depth):
        """(module, ClassDef) for a base-class expression such as `DCGAN` or `kzoo.models.DCGAN`."""
        import ast

        parts = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        parts.append(expr.id)
        parts.reverse()
        if len(parts) == 1:
            return self._resolve_class(module_name, parts[0], depth)
        tree = self.module_tree(module_name)[0]
        if tree is None:
            return None
        bindings, _ = _top_level_bindings(tree, parts[0])
        if not bindings or bindings[-1][0] != "import":
            return None
        stmt = bindings[-1][1]
        alias = next(a for a in stmt.names if (a.asname or a.name.split(".")[0]) == parts[0])
        if isinstance(stmt, ast.Import):
            prefix = alias.name if alias.asname else parts[0]
        else:
            prefix = f"{self._absolute(module_name, stmt)}.{alias.name}"
        dotted = ".".join([prefix, *parts[1:]])
        owner, _, cls_name = dotted.rpartition(".")
        return self._resolve_class(owner, cls_name, depth)

    def _resolve_class(self, module_name, name, depth):
        """Follow `from x import Name` chains to the module that defines class `Name`."""
        import ast

        if depth > 8:
            return None
        tree = self.module_tree(module_name)[0]
        if tree is None:
            return None
        bindings, _ = _top_level_bindings(tree, name)
        if not bindings:
            return None
        kind, node = bindings[-1]
        if kind == "class":
            return module_name, node
        if kind == "import" and isinstance(node, ast.ImportFrom):
            alias = next(a for a in node.names if (a.asname or a.name) == name)
            source = self._absolute(module_name, node)
            return self._resolve_class(source, alias.name, depth + 1) if source else None
        return None

    def _absolute(self, module_name, stmt) -> str | None:
        """The absolute module a `from ... import` statement in `module_name` reads from."""
        if not stmt.level:
            return stmt.module
        spec = self.find_spec(module_name)
        is_package = getattr(spec, "submodule_search_locations", None) is not None
        package = module_name if is_package else module_name.rpartition(".")[0]
        for _ in range(stmt.level - 1):
            package = package.rpartition(".")[0]
        if not package:
            return None
        return f"{package}.{stmt.module}" if stmt.module else package


def _literal(node):
    import ast

    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _MISSING


def _nested_class(where, name):
    import ast

    if where is None:
        return None
    module_name, node = where
    for stmt in node.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            return module_name, stmt
    return None


def _top_level_bindings(tree, name):
    """How module-level code binds `name`, in source order: [(kind, node)], and whether it may do so dynamically.

    kind: "class", "def", "literal" (a constant assignment), "import", or "other".
    Statements under module-level if/try/with/for count; function and class bodies don't.
    """
    import ast

    bindings = []
    dynamic = False

    def scan(stmts):
        nonlocal dynamic
        for stmt in stmts:
            if isinstance(stmt, ast.ClassDef):
                if stmt.name == name:
                    bindings.append(("class", stmt))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if stmt.name == name:
                    bindings.append(("def", stmt))
                elif stmt.name == "__getattr__":
                    dynamic = True  # PEP 562 module attributes
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    if alias.name == "*":
                        dynamic = True
                    elif (alias.asname or alias.name.split(".")[0]) == name:
                        bindings.append(("import", stmt))
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == name:
                        literal = stmt.value is not None and _literal(stmt.value) is not _MISSING
                        if stmt.value is not None:
                            bindings.append(("literal" if literal else "other", stmt.value if literal else stmt))
                    elif _binds(target, name):
                        bindings.append(("other", stmt))
                dynamic = dynamic or _calls_dynamic(stmt)
            else:
                dynamic = dynamic or _calls_dynamic_shallow(stmt)
                blocks = [getattr(stmt, f, None) for f in ("body", "orelse", "finalbody")]
                blocks = [b for b in blocks if isinstance(b, list) and b and isinstance(b[0], ast.stmt)]
                if not blocks and not getattr(stmt, "cases", None):  # a simple statement: x += 1, (x := ...), del ...
                    if _binds(stmt, name):
                        bindings.append(("other", stmt))
                    continue
                if isinstance(stmt, (ast.For, ast.AsyncFor)) and _binds(stmt.target, name):
                    bindings.append(("other", stmt))
                for item in getattr(stmt, "items", ()):  # with ... as name
                    if item.optional_vars is not None and _binds(item.optional_vars, name):
                        bindings.append(("other", stmt))
                for block in blocks:
                    scan(block)
                for handler in getattr(stmt, "handlers", ()):
                    if handler.name == name:
                        bindings.append(("other", stmt))
                    scan(handler.body)
                for case in getattr(stmt, "cases", ()):  # match statement
                    scan(case.body)

    scan(tree.body)
    return bindings, dynamic


def _binds(target, name) -> bool:
    import ast

    return any(
        isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)
        for node in ast.walk(target)
    )


_DYNAMIC_CALLS = {"globals", "setattr", "exec", "vars"}
_IMPORT_STATE = re.compile(r"\bsys\s*\.\s*(?:path|meta_path|path_hooks|modules)\b|\baddsitedir\b")


def _calls_dynamic(node) -> bool:
    import ast

    return any(
        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in _DYNAMIC_CALLS
        for sub in ast.walk(node)
    )


def _calls_dynamic_shallow(stmt) -> bool:
    """Dynamic calls in a statement, not looking into nested statement blocks (scanned separately)."""
    import ast

    if isinstance(stmt, (ast.If, ast.While)):
        return _calls_dynamic(stmt.test)
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return _calls_dynamic(stmt.iter)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return any(_calls_dynamic(item.context_expr) for item in stmt.items)
    if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
        return False
    return _calls_dynamic(stmt)
