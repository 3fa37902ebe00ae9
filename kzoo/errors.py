"""Errors a user can cause and fix; the CLI prints them as one line, no traceback.

Everything else (a bug in kzoo or in a plugin) keeps its traceback.
This module imports nothing heavy: the registry and the CLI use it before keras is loaded.
"""


class KzooError(Exception):
    """Base class: bad input from the user, reported as a one-line message."""

    exit_code = 1  # the command line's exit status for it


class UnknownModelError(KzooError, KeyError):
    """No model is registered under the name asked for."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PluginError(KzooError):
    """A plugin could not be loaded, or two distributions claim one model name."""


class BackendError(KzooError):
    """An unknown backend, one that is not installed, or a clash with keras already loaded."""


class DatasetError(KzooError, ValueError):
    """A dataset that is missing, unreadable, or of a shape the model cannot take."""


class HyperparameterError(KzooError, TypeError):
    """A hyperparameter the model does not have, or a value of the wrong kind."""


class RunError(KzooError):
    """A run directory or checkpoint that is missing or unreadable."""


class DistributionError(KzooError):
    """Devices or processes asked for that this backend or machine cannot give (see kzoo.distribution)."""
