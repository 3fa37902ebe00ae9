"""Minimal reproduction, without kzoo: on TensorFlow, `fit()` calls end on a ~5.13 s grid.

A plain Keras classifier (two 5x5 convolutions, XLA) trains 10 batches per `fit()` call. Its
steps take about 8.0 s; the call returns 2.2 s after `on_train_end`, at 10.26 s = 2 x 5.13 s,
every time (keras 3.15.1, tensorflow-cpu 2.21.0, 2-core CPU, idle). kzoo's TensorFlow
`fit()` calls show the same grid (benchmarks/README.md, "Reading the figures").

    python benchmarks/repro_tf_fit_teardown.py
"""

import os
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


def main(calls=4):
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
        called = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False, callbacks=[window])
        returned = time.perf_counter()
        print(f"steps {window.end - window.start:5.2f} s   after on_train_end {returned - window.end:5.2f} s   "
              f"whole fit() {returned - called:5.2f} s")


if __name__ == "__main__":
    main()
