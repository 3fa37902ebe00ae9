"""kzoo.random, the draws models make from their seed generators, on the backend KERAS_BACKEND
selects: keras.random's own functions on torch and JAX, Philox without keras.random's per-draw
seed scrambling on TensorFlow (kzoo/backend/tensorflow.py says why)."""

import keras
import numpy as np
from keras import ops

from kzoo import backend, random


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_each_draw_advances_the_seed_generator_and_gets_numbers_of_its_own():
    seed = keras.random.SeedGenerator(3)
    first = numpy(random.normal((4096,), seed=seed))
    second = numpy(random.normal((4096,), seed=seed))
    third = numpy(random.uniform((4096,), seed=seed))
    assert numpy(seed.state).tolist() == [3, 3]  # one step of the generator per draw, as keras.random
    # Draws whose streams overlapped (a counter advanced within the draw's own range) would share
    # most of their 4096 values; independent float32 draws share a few by accident (1-3 seen).
    assert len(set(first) & set(second)) < 40
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.1
    assert len(set(np.abs(second)) & set(third)) < 40


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others():
    def draws(seed):
        generator = keras.random.SeedGenerator(seed)
        return [numpy(random.normal((64,), seed=generator)), numpy(random.uniform((64,), seed=generator)),
                numpy(random.randint((64,), 0, 1000, seed=generator))]

    for same, again in zip(draws(11), draws(11)):
        np.testing.assert_array_equal(same, again)
    for same, other in zip(draws(11), draws(12)):
        assert not np.array_equal(same, other)
    np.testing.assert_array_equal(numpy(random.normal((8,), seed=5)), numpy(random.normal((8,), seed=5)))


def test_draws_have_the_distributions_they_promise():
    seed = keras.random.SeedGenerator(0)
    n = 20000  # the standard error of a mean of n standard normals is 0.007
    z = numpy(random.normal((n,), seed=seed))
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05 and z.dtype == np.float32
    shifted = numpy(random.normal((n, 1), mean=3.0, stddev=0.5, seed=seed))
    assert shifted.shape == (n, 1) and abs(shifted.mean() - 3.0) < 0.03 and abs(shifted.std() - 0.5) < 0.03
    u = numpy(random.uniform((n,), -2.0, 3.0, seed=seed))
    assert u.min() >= -2.0 and u.max() < 3.0 and abs(u.mean() - 0.5) < 0.05  # sd of the mean 0.01
    k = numpy(random.randint((n,), -3, 4, seed=seed))
    assert k.dtype == np.int32 and k.min() == -3 and k.max() == 3
    assert np.all(np.abs(np.bincount(k + 3) / n - 1 / 7) < 0.02)  # each value's sd 0.0025
    assert numpy(random.randint((5,), 0, 9, dtype="uint8", seed=seed)).dtype == np.uint8
    assert numpy(random.normal((2, 3), dtype="float16", seed=seed)).dtype == np.float16


def test_draws_are_the_generator_streams_they_claim_to_be():
    """torch, JAX: keras.random's numbers. TensorFlow: the Philox stream tf.random.Generator walks
    from counter (0, draw number) and key (the seed), a draw's stream of its own."""
    if backend.BACKEND == "tensorflow":
        import tensorflow as tf

        def reference(seed, draw_number, shape):
            state = tf.constant([0, draw_number, seed], dtype=tf.int64)  # Philox: counter (2 words), key
            return tf.random.Generator.from_state(state, alg="philox").normal(shape).numpy()
    else:
        def reference(seed, draw_number, shape):
            generator = keras.random.SeedGenerator(seed)
            for _ in range(draw_number):
                generator.next()
            return numpy(keras.random.normal(shape, seed=generator))

    seed = keras.random.SeedGenerator(7)
    for draw_number in range(3):
        np.testing.assert_allclose(numpy(random.normal((5, 4), seed=seed)), reference(7, draw_number, (5, 4)),
                                   rtol=1e-6, atol=1e-6)


def test_without_kerass_private_draw_seed_the_draw_is_keras_random(monkeypatch):
    """kzoo's TensorFlow draws read keras.random's seed through a private Keras function; if it
    moves, they fall back to keras.random itself (the numbers keras.random gives)."""
    import keras.src.random.seed_generator as seed_generator

    ours = keras.random.SeedGenerator(2)
    theirs = keras.random.SeedGenerator(2)
    monkeypatch.delattr(seed_generator, "draw_seed")
    np.testing.assert_array_equal(numpy(random.normal((6,), seed=ours)), numpy(keras.random.normal((6,), seed=theirs)))
    np.testing.assert_array_equal(numpy(random.uniform((6,), 1.0, 2.0, seed=ours)),
                                  numpy(keras.random.uniform((6,), 1.0, 2.0, seed=theirs)))
    np.testing.assert_array_equal(numpy(random.randint((6,), 0, 9, seed=ours)),
                                  numpy(keras.random.randint((6,), 0, 9, seed=theirs)))

