"""Per-backend settings kzoo makes on import (kzoo/backend/): XLA's CPU scheduler on JAX."""

from conftest import backend_name, run_python

# A computation after the import: XLA aborts the process on a flag it does not know.
PRINT_FLAGS = (
    "import os, keras, kzoo.backend; keras.ops.convert_to_numpy(keras.ops.ones(2) + 1); "
    "print(os.environ.get('XLA_FLAGS'))"
)
FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"


def _flags(env_flags):
    """XLA_FLAGS after importing kzoo's backend module, starting from `env_flags` (None: unset)."""
    return run_python(PRINT_FLAGS, backend_name(), env={"XLA_FLAGS": env_flags}).strip()


def test_jax_turns_off_the_concurrency_optimized_scheduler():
    flags = _flags(None)
    if backend_name() == "jax":
        assert flags == f"{FLAG}=false"
    else:  # TensorFlow reads XLA_FLAGS too: kzoo leaves it alone there
        assert flags == "None"


def test_a_users_xla_flags_win():
    flags = _flags(f"--xla_cpu_enable_fast_math=false {FLAG}=true")
    assert flags == f"--xla_cpu_enable_fast_math=false {FLAG}=true"


def test_other_user_flags_are_kept():
    flags = _flags("--xla_cpu_enable_fast_math=false")
    expected = "--xla_cpu_enable_fast_math=false"
    assert flags == (f"{expected} {FLAG}=false" if backend_name() == "jax" else expected)


def test_a_flag_name_inside_another_value_is_not_taken_for_the_flag(monkeypatch):
    import os

    from kzoo.backend import common

    given = f"--xla_dump_to=/tmp/{FLAG}"
    monkeypatch.setenv("XLA_FLAGS", given)
    common.default_xla_flags()
    assert os.environ["XLA_FLAGS"] == f"{given} {FLAG}=false"
