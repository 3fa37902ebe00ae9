"""Broken on purpose: imports a package that does not exist."""

import a_module_that_does_not_exist

from kzoo.models import DCGAN


class Model(DCGAN):
    """Never loads: its module's import fails."""
