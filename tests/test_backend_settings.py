"""Per-backend settings kzoo makes on import (kzoo/backend/): XLA's CPU scheduler on JAX and TensorFlow."""

import pytest

from conftest import backend_name, run_python

# A computation after the import, compiled by XLA where the backend has it (JAX compiles every
# computation, TensorFlow only with jit_compile): XLA aborts the process on a flag it does not
# know, and reads XLA_FLAGS only when it first runs.
COMPUTATION = "keras.ops.convert_to_numpy(keras.ops.ones(2) + 1)"
XLA_COMPUTATION = {"tensorflow": "import tensorflow as tf; tf.function(lambda: tf.ones(2) + 1, jit_compile=True)()"}
FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
SETS_THE_FLAG = ("jax", "tensorflow")  # the backends that compile with XLA


def _flags(env_flags):
    """XLA_FLAGS after importing kzoo's backend module, starting from `env_flags` (None: unset)."""
    code = (f"import os, keras, kzoo.backend; {XLA_COMPUTATION.get(backend_name(), COMPUTATION)}; "
            "print(os.environ.get('XLA_FLAGS'))")
    return run_python(code, backend_name(), env={"XLA_FLAGS": env_flags}).strip()


def test_xla_backends_turn_off_the_concurrency_optimized_scheduler():
    flags = _flags(None)
    if backend_name() in SETS_THE_FLAG:
        assert flags == f"{FLAG}=false"
    else:  # torch has no XLA
        assert flags == "None"


def test_a_users_xla_flags_win():
    flags = _flags(f"--xla_cpu_enable_fast_math=false {FLAG}=true")
    assert flags == f"--xla_cpu_enable_fast_math=false {FLAG}=true"


def test_other_user_flags_are_kept():
    flags = _flags("--xla_cpu_enable_fast_math=false")
    expected = "--xla_cpu_enable_fast_math=false"
    assert flags == (f"{expected} {FLAG}=false" if backend_name() in SETS_THE_FLAG else expected)


def test_a_flag_name_inside_another_value_is_not_taken_for_the_flag(monkeypatch):
    import os

    from kzoo.backend import common

    given = f"--xla_dump_to=/tmp/{FLAG}"
    monkeypatch.setenv("XLA_FLAGS", given)
    common.default_xla_flags()
    assert os.environ["XLA_FLAGS"] == f"{given} {FLAG}=false"


# The flag kzoo sets must reach XLA (on TensorFlow it is set after TensorFlow's own import, which
# Keras makes): the order XLA gives a step's independent convolutions differs from its default.
SCHEDULE_OF_THREE_CONVOLUTIONS = {
    "tensorflow": """
import hashlib, re, keras, kzoo.backend, tensorflow as tf
a, b = keras.layers.Conv2D(8, 3, strides=2, padding="same"), keras.layers.Conv2D(8, 3, strides=2, padding="same")
x = tf.ones((4, 16, 16, 3))
@tf.function(jit_compile=True)
def input_gradient(x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(a(x)) + tf.reduce_sum(b(x)) + tf.reduce_sum(a(2 * x))
    return tape.gradient(y, x)
hlo = input_gradient.experimental_get_compiler_ir(x)(stage="optimized_hlo")
""",
    "jax": """
import hashlib, re, kzoo.backend, jax, jax.numpy as jnp
def input_gradient(x, a, b):
    conv = lambda x, w: jnp.sum(jax.lax.conv(x, w, (2, 2), "SAME"))
    return jax.grad(lambda x: conv(x, a) + conv(x, b) + conv(2 * x, a))(x)
x, a = jnp.ones((4, 3, 16, 16)), jnp.ones((8, 3, 3, 3))
hlo = jax.jit(input_gradient).lower(x, a, 2 * a).compile().as_text()
""",
}
PRINT_SCHEDULE = """
entry = re.sub(r"metadata=[{][^}]*[}]", "", hlo[hlo.index("ENTRY"):])
print(hashlib.md5(entry.encode()).hexdigest())
"""


@pytest.mark.skipif(backend_name() not in SETS_THE_FLAG, reason="torch has no XLA")
def test_xla_compiles_with_the_flag_kzoo_sets():
    code = SCHEDULE_OF_THREE_CONVOLUTIONS[backend_name()] + PRINT_SCHEDULE
    kzoos = run_python(code, backend_name(), env={"XLA_FLAGS": None})
    xlas_default = run_python(code, backend_name(), env={"XLA_FLAGS": f"{FLAG}=true"})
    assert kzoos != xlas_default
