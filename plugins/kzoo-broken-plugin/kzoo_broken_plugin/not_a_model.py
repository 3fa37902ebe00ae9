"""Broken on purpose: the entry point names a function, not a model class."""


def make_model():
    """A factory function; kzoo registers classes only."""
    from kzoo.models import DCGAN

    return DCGAN()
