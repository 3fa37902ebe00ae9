"""The static check: what an entry point names, read from its module's source without running it.

The module must exist and parse, the attribute must be a class at module top level, and the
module's absolute top-level imports must be installed. The class docstring's first line, `paper`
and `conditional` are read from the source, through base classes and `from x import Name` chains,
for listing. What the source cannot tell (a class made at run time, a module without source) is
accepted here and checked when the class is loaded. No keras, no plugin code.
"""

from __future__ import annotations

import os
import re
import sys

from kzoo.registry.entries import MODEL_BASE, first_line, one_line

_MISSING = object()  # an attribute no class in the chain defines
_UNKNOWN = object()  # an attribute whose value cannot be told from the source


class StaticChecker:
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
            return None, spec, f"{type(exc).__name__}: {one_line(exc)}"

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
            return {"error": f"not a model class: {attr!r} is {what}, not a subclass of {MODEL_BASE}"}
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
            "description": first_line(ast.get_docstring(node)),
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
