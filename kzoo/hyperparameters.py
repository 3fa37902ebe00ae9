"""Hyperparameters that say what they accept, and one-line errors when a value does not fit.

A model declares its hyperparameters as a class dict of name -> default, merged over its base
classes. A default may be a plain value (its kind is inferred: an int takes integers, a float
numbers, a bool true/false, a tuple a sequence, None anything) or a `Hyperparameter` with
limits:

    hyperparameters = {
        "width": Int(64, min=1, help="network size"),
        "gp_weight": Float(10.0, min=0),
        "margin": 1.0,                     # a number, no limits
    }

A subclass that gives a plain new default for an inherited name keeps the inherited limits
(`{"d_steps": 5}` stays an integer >= 1). Values are checked, and converted where that is
lossless (`64.0` -> 64, `"true"` -> True), when a model is built, from Python and from
`kzoo train --set` alike: a wrong value raises `HyperparameterError` naming the hyperparameter,
the value and what it accepts. No keras here.
"""

from __future__ import annotations

import numbers

from kzoo.errors import HyperparameterError

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class Hyperparameter:
    """A default and what a value must be. Subclasses convert and check one kind of value."""

    kind = "any value"

    def __init__(self, default=None, *, help=None):
        self.default = default
        self.help = help
        # What a saved model that does not name this hyperparameter had: its value where it was
        # first declared (an option added later was off in the files saved before it existed).
        self.absent = default

    def with_default(self, default):
        """The same kind and limits with another default (a subclass's plain override); `absent` stays."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, default=default)
        return copy

    def describe(self):
        """What this hyperparameter accepts, for `kzoo info` and error messages."""
        return self.kind

    def convert(self, value):
        """The value as this hyperparameter holds it; raise ValueError when it does not fit."""
        return value

    def check(self, name, value, owner=None):
        try:
            return self.convert(value)
        except (ValueError, TypeError):
            where = f"{owner}: " if owner else ""
            raise HyperparameterError(f"{where}{name} must be {self.describe()}; got {value!r}") from None

    def __repr__(self):
        return f"{type(self).__name__}({self.default!r})"


class _Number(Hyperparameter):
    def __init__(self, default=None, *, min=None, max=None, min_exclusive=False, max_exclusive=False,
                 optional=False, help=None):
        super().__init__(default, help=help)
        self.min, self.max = min, max
        self.min_exclusive, self.max_exclusive = min_exclusive, max_exclusive
        self.optional = optional

    def describe(self):
        limits = []
        if self.min is not None:
            limits.append(f"{'>' if self.min_exclusive else '>='} {self.min}")
        if self.max is not None:
            limits.append(f"{'<' if self.max_exclusive else '<='} {self.max}")
        text = " and ".join([self.kind + (" " + limits[0] if limits else "")] + limits[1:])
        return f"{text}, or None" if self.optional else text

    def convert(self, value):
        if value is None and self.optional:
            return None
        number = self._number(value)
        if self.min is not None and (number < self.min or (self.min_exclusive and number == self.min)):
            raise ValueError
        if self.max is not None and (number > self.max or (self.max_exclusive and number == self.max)):
            raise ValueError
        return number


class Int(_Number):
    """An integer, optionally within limits (`optional=True` also takes None)."""

    kind = "an integer"

    def _number(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError
        if int(value) != value:
            raise ValueError
        return int(value)


class Float(_Number):
    """A real number, optionally within limits."""

    kind = "a number"

    def _number(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError
        number = float(value)
        if number != number:  # NaN
            raise ValueError
        return number


class Bool(Hyperparameter):
    """True or False (also true/false, yes/no, on/off, 1/0)."""

    kind = "true or false"

    def convert(self, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError


class Choice(Hyperparameter):
    """One of a fixed set of values."""

    def __init__(self, default, choices, *, help=None):
        super().__init__(default, help=help)
        self.choices = tuple(choices)

    def describe(self):
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def convert(self, value):
        if value not in self.choices:
            raise ValueError
        return value


class Flags(Hyperparameter):
    """A comma-separated set of names from a fixed list ("" for none), kept in the list's order."""

    def __init__(self, default, names, *, help=None):
        super().__init__(default, help=help)
        self.names = tuple(names)

    def describe(self):
        return "comma-separated names from " + ", ".join(self.names) + ' ("" for none)'

    def convert(self, value):
        if isinstance(value, (tuple, list)):
            parts = [str(v).strip() for v in value]
        elif isinstance(value, str):
            parts = [p.strip() for p in value.split(",")]
        else:
            raise ValueError
        parts = {p for p in parts if p}
        if parts - set(self.names):
            raise ValueError
        return ",".join(n for n in self.names if n in parts)


class Str(Hyperparameter):
    kind = "a string"

    def convert(self, value):
        if not isinstance(value, str):
            raise ValueError
        return value


class Sequence(Hyperparameter):
    """A tuple (a list, or a comma-separated string from the command line, is converted)."""

    kind = "a sequence of values"

    def convert(self, value):
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if not isinstance(value, (tuple, list)):
            raise ValueError
        return tuple(value)


class ImageShape(Hyperparameter):
    """(height, width, channels) of positive sizes with 1 or 3 channels ("28,28,1" is read too)."""

    kind = "(height, width, channels) with 1 or 3 channels"

    def convert(self, value):
        if isinstance(value, str):
            value = value.replace("x", ",").split(",")
        shape = tuple(Int(min=1).convert(int(d) if isinstance(d, str) else d) for d in value)
        if len(shape) != 3 or shape[2] not in (1, 3):
            raise ValueError
        return shape


def inferred(default):
    """The kind of a plain default: what `hyperparameters = {"margin": 1.0}` means."""
    if isinstance(default, Hyperparameter):
        return default
    if isinstance(default, bool):
        return Bool(default)
    if isinstance(default, numbers.Integral):
        return Int(default)
    if isinstance(default, numbers.Real):
        return Float(default)
    if isinstance(default, str):
        return Str(default)
    if isinstance(default, (tuple, list)):
        return Sequence(tuple(default))
    return Hyperparameter(default)


def merged(cls):
    """name -> Hyperparameter over `cls`'s MRO, base classes first; plain overrides keep limits."""
    specs = {}
    for klass in reversed(cls.__mro__):
        for name, value in klass.__dict__.get("hyperparameters", {}).items():
            if isinstance(value, Hyperparameter):
                specs[name] = value
            elif name in specs:
                specs[name] = specs[name].with_default(value)
            else:
                specs[name] = inferred(value)
    return specs
