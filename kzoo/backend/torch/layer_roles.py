"""The roles kzoo's own layer classes declare to the torch executor and mirror.

`kzoo.layers` declares each of its classes with a role (`kzoo.backend.declare_layer`), so that
the executor and the mirror (which know Keras's layer classes by name) know kzoo's too without
importing them: the backend stays below the layers that use it. Roles and what they promise:
`kzoo.backend.common.LAYER_ROLES`.
"""

from kzoo.backend import common

_roles = {}  # layer class -> its role


def declare_layer(cls, role):
    """Record that instances of `cls` (exactly that class) play `role` (a key of LAYER_ROLES).

    Returns:
        `cls`, unchanged.

    Raises:
        ValueError: `role` is not one of `common.LAYER_ROLES`.
    """
    common.check_layer_role(role)
    _roles[cls] = role
    return cls


def role_of(layer):
    """The role `type(layer)` declared, or None.

    The exact class only: a subclass may do more in `call` than the role promises.
    """
    return _roles.get(type(layer))
