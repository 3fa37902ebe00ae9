"""JAX's training functions: pure gradients over a `keras.StatelessScope` inside Keras's jitted,
state-threading step.

Keras's JAX trainer threads the model's state (the four variable lists of `_state_groups`) through
a jitted `train_step(state, data)`. `run_train_step` maps that state into a StatelessScope, so
that kzoo's step can read and assign variables as on the other backends; `minimize`
differentiates a pure function that opens a nested scope. A nested scope does not consult the
outer one, so every variable a loss may read is mapped into it explicitly, and side updates
(batch-normalization statistics, seeds, spectral-norm vectors) come back out as auxiliary
outputs (../shared/notes: pitfall 6). The scopes kzoo opens are kept on a stack, so that
`input_gradient`, called inside a loss, can map the same state into the scope it differentiates.
"""

import contextlib

import jax
import keras

from kzoo.backend import common

resolve_jit_compile = common.same_jit_compile  # JAX always compiles with XLA


def supports_second_order(jit_compile):
    return True


def set_seed(seed):
    common.set_seed_without_tensorflow(seed)


# The StatelessScopes kzoo's step has open, innermost last (see the module's docstring).
_scopes = []


@contextlib.contextmanager
def _stateless_scope(mapping):
    with keras.StatelessScope(state_mapping=mapping) as scope:
        _scopes.append(scope)
        try:
            yield scope
        finally:
            _scopes.pop()


def _state_groups(model):
    # The same four lists, in the same order, that keras/src/backend/jax/trainer.py threads.
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def run_train_step(model, step, state, data):
    """Call `step(data)` with the threaded `state` mapped into a scope; return (logs, new state)."""
    groups = _state_groups(model)
    mapping = [pair for variables, values in zip(groups, state) for pair in zip(variables, values)]
    with _stateless_scope(mapping) as scope:
        logs = step(data)
    new_state = tuple([scope.get_current_value(v) for v in variables] for variables in groups)
    return logs, new_state


def minimize(objective, variables, optimizer, state_variables):
    """One step of `optimizer` on `variables` for `objective() -> (loss, aux)`; returns (loss, aux).

    `state_variables` are every variable the objective may read or update (the whole model's);
    those not trained here are constants of the differentiated function, and the non-trainable
    ones it assigns (statistics, seeds) are written back to the step's scope.
    """
    trained = {id(v) for v in variables}
    others = [v for v in state_variables if id(v) not in trained]

    def pure(values, other_values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with _stateless_scope(mapping) as scope:
            loss, aux = objective()
        return loss, (aux, [scope.get_current_value(v) for v in others])

    # Inside run_train_step's scope, `v.value` reads the value the step has so far.
    values = [v.value for v in variables]
    other_values = [v.value for v in others]
    (loss, (aux, updated)), grads = jax.value_and_grad(pure, has_aux=True)(values, other_values)
    for variable, value in zip(others, updated):
        if not variable.trainable:  # the other players' weights are constants here
            variable.assign(value)
    optimizer.apply(grads, variables)
    return loss, aux


def input_gradient(fn, x):
    """d fn(x) / dx for a scalar fn, by `jax.grad` inside the enclosing trace: differentiable again.

    `fn` runs in a scope holding the enclosing scope's state (a nested scope does not consult
    the outer one); what it assigns (batch-normalization statistics, seeds) comes out of
    `jax.grad` as auxiliary output and goes back into the enclosing scope, as the same
    assignments would on TensorFlow and torch.
    """
    outer = _scopes[-1] if _scopes else None
    known = dict(outer.state_mapping) if outer is not None else {}

    def value_and_updates(inputs):
        with keras.StatelessScope() as scope:
            scope.state_mapping.update(known)
            value = fn(inputs)
        updates = {key: v for key, v in scope.state_mapping.items() if known.get(key) is not v}
        return value, updates

    grad, updates = jax.grad(value_and_updates, has_aux=True)(keras.ops.convert_to_tensor(x))
    if outer is not None:
        outer.state_mapping.update(updates)
    return grad
