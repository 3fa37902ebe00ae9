"""What one registered model is (`ModelEntry`), and how its problem reads in one line.

The helpers here write an entry's fields: a distribution's comparable name, an error in one
line, a docstring's first line. No keras, no plugin code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BUILTIN_DIST = "kzoo"  # the distribution whose entry points are the built-in models
MODEL_BASE = "kzoo.PlayersModel"  # what every entry must name a subclass of, as messages spell it


def normalize_dist(name: str) -> str:
    """A distribution name as packaging compares them: 'Kzoo_Hinge.GAN' -> 'kzoo-hinge-gan'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def join_words(items: list[str], word: str) -> str:
    """['a', 'b', 'c'], 'or' -> 'a, b or c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (an entry's error is printed as one line)."""
    return " ".join(str(exc).split()) or "(no message)"


def first_line(doc) -> str | None:
    """The first non-blank line of a docstring (a model's description), None without one."""
    if not isinstance(doc, str):
        return None
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return None


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
            plugins = [d for d in dists if normalize_dist(d) != BUILTIN_DIST]
            if len(plugins) < len(dists):  # a plugin reusing a built-in name
                return f"{self.error}; a plugin may not reuse a built-in name: " + join_words(
                    [f"`pip uninstall {d}`" for d in plugins], "and")
            uninstall = join_words([f"`pip uninstall {d}`" for d in dists], "or")
            return f"{self.error}; uninstall one of them ({uninstall})"
        if self.builtin:
            return (
                f"built-in model {self.name!r} ({self.source}) failed to load: {self.error}; "
                f"reinstall kzoo with a backend, e.g. `pip install 'kzoo[tensorflow]'`"
            )
        return (
            f"plugin model {self.name!r} from distribution '{self.source}' failed to load: {self.error}; "
            f"fix or upgrade the plugin, or `pip uninstall {self.distribution}`"
        )
