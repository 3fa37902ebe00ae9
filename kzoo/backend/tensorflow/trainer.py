"""TensorFlow's training functions: gradient tapes, XLA by default."""

import keras
import tensorflow as tf


def resolve_jit_compile(jit_compile):
    """kzoo's reading of `compile(jit_compile="auto")`: XLA, also on a CPU.

    Keras's "auto" turns XLA off on CPU-only TensorFlow. For the adversarial step XLA is what a
    hand-written loop uses: measured on this project's 2-core CPU, kzoo's DCGAN step ran at
    0.66x a `tf.function(jit_compile=True)` loop in graph mode and at 1.02x with XLA
    (benchmarks/README.md).
    """
    return True if jit_compile == "auto" else jit_compile


def supports_second_order(jit_compile):
    return True  # nested tapes, in graph mode and under XLA alike


def run_train_step(model, step, data):
    # Variables are stateful here: the step reads and assigns them directly.
    return step(data)


def minimize(objective, variables, optimizer, state_variables):
    """One step of `optimizer` on `variables` for `objective() -> (loss, aux)`; returns (loss, aux).

    A variable the loss does not reach gets a zero gradient, as on JAX (TensorFlow says None),
    so the optimizer's state moves alike on every backend.
    """
    with tf.GradientTape() as tape:
        loss, aux = objective()
    grads = tape.gradient(loss, variables)
    grads = [tf.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]
    optimizer.apply(grads, variables)
    return loss, aux


def input_gradient(fn, x):
    """d fn(x) / dx for a scalar fn; recorded by any enclosing tape, so differentiable again."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    grad = tape.gradient(value, x)
    return tf.zeros_like(x) if grad is None else grad


def set_seed(seed):
    keras.utils.set_random_seed(seed)  # seeds TensorFlow too; it is imported already
