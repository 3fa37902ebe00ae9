"""Minimal reproduction, without kzoo: on TensorFlow, `fit()` calls end on a ~5.1 s grid.

A plain Keras classifier (two 5x5 convolutions, XLA) trains 10 batches per `fit()` call. Its
steps take about 8.0 s; most calls return 2.2 s after `on_train_end`, at 10.23 s (keras 3.15.1,
tensorflow-cpu 2.21.0, 2-core CPU, idle).

Cause (py-spy dump of the wait): the main thread is in the destructor of the tf.data iterator
Keras made from the arrays, `RootDataset::Iterator::~Iterator`, waiting for a thread of tf.data's
autotuning model to finish. That thread sleeps between optimization rounds for a period that
doubles from 10 ms, so the wait ends at 10 ms x (2^k - 1) from the iterator's start: 5.11 s,
10.23 s, 20.47 s... With `--no-autotune` the same arrays are fed as a tf.data.Dataset with
`options.autotune.enabled = False` and every call returns right after its last step. kzoo's
`fit()` does that on TensorFlow (kzoo/backend/tensorflow.py, `fit_arguments`).

    python benchmarks/repro_tf_fit_teardown.py [--no-autotune]
"""

import os
import sys
import time

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402


class Window(keras.callbacks.Callback):
    async_safe = True

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.end = time.perf_counter()


def main(calls=4, autotune=True):
    x = np.random.default_rng(0).standard_normal((640, 28, 28, 1)).astype("float32")
    y = np.random.default_rng(1).integers(0, 10, 640)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(128, 5, padding="same"),
        keras.layers.Conv2D(128, 5, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    model.fit(x[:128], y[:128], batch_size=64, verbose=0)  # compile
    window = Window()
    for _ in range(calls):
        data = {"x": x, "y": y, "batch_size": 64}
        if not autotune:
            import tensorflow as tf

            options = tf.data.Options()
            options.autotune.enabled = False
            data = {"x": tf.data.Dataset.from_tensor_slices((x, y)).batch(64).with_options(options)}
        called = time.perf_counter()
        model.fit(**data, epochs=1, verbose=0, shuffle=False, callbacks=[window])
        returned = time.perf_counter()
        print(f"steps {window.end - window.start:5.2f} s   after on_train_end {returned - window.end:5.2f} s   "
              f"whole fit() {returned - called:5.2f} s")


if __name__ == "__main__":
    main(autotune="--no-autotune" not in sys.argv[1:])
