"""Per-backend settings kzoo makes on import (kzoo/autodiff.py): XLA's CPU scheduler on JAX."""

from conftest import backend_name, run_python

PRINT_FLAGS = "import os, kzoo.autodiff; print(os.environ.get('XLA_FLAGS'))"
FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"


def _flags(env_flags):
    """XLA_FLAGS after importing kzoo's backend module, starting from `env_flags` (None: unset)."""
    return run_python(PRINT_FLAGS, backend_name(), env={"XLA_FLAGS": env_flags}).strip()


def test_jax_gets_the_sequential_scheduler_by_default():
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
