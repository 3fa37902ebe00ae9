"""Random draws for models' losses and latents: keras.random's functions and signatures.

`seed` is what keras.random takes: a `keras.random.SeedGenerator` (a model's
`self.seed_generator`, which advances at every draw, also inside a compiled step), an int, or
None. On torch and JAX these are keras.random's own functions. On TensorFlow they draw from
Philox with the seed generator's state as key and counter, without the per-draw seed
scrambling that keras.random adds there, which costs a compiled step with many draws several
percent (see `kzoo.backend.tensorflow`); the draws are as random, but not the same numbers
keras.random would give. keras.random works too, in plugins as in kzoo.
"""

from kzoo import backend


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normally distributed values of `shape` (as `keras.random.normal`)."""
    return backend.random_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Values uniform in [minval, maxval) (as `keras.random.uniform`)."""
    return backend.random_uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval) (as `keras.random.randint`)."""
    return backend.random_randint(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)
