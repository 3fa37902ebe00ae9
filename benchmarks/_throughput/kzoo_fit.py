"""The kzoo variant: `model.fit()` of the kzoo model itself, timed as the user waits for it."""

import time

from _throughput.harness import Variant, keras_parameter_count


class KzooVariant(Variant):
    """`model.fit()`, timed as a whole call: what a user waits for.

    The window from its first batch to its end of epoch is recorded too (`kzoo_window_img_s`),
    and the rest of the call apart (`kzoo_fit_overhead_s`). They differed: on TensorFlow, 1 in 2
    or 3 `fit()` calls took up to twice as long as their window, waiting for tf.data's
    autotuning thread after `on_train_end` (fixed in kzoo.backend.fit_arguments;
    benchmarks/README.md). An earlier version timed only the window and reported TensorFlow at
    1.00x native where whole calls ran at 0.5-1.0x.
    """

    name = "kzoo"

    def __init__(self, spec, model):
        super().__init__(spec)
        import keras

        self.model = model
        self.overhead_s = []  # whole fit() call minus the window
        self.window_s = []

        class Window(keras.callbacks.Callback):
            async_safe = True  # keeps Keras's asynchronous batch-end dispatch, as without it

            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.end = time.perf_counter()

        self.window = Window()

    def train(self, x, y):
        import keras

        called = time.perf_counter()
        self.model.fit(x, y if self.spec.conditional else None, batch_size=self.spec.batch_size,
                       epochs=1, verbose=0, shuffle=False, callbacks=[self.window])
        keras.ops.convert_to_numpy(self.model.optimizer.iterations)  # (already done: cheap)
        returned = time.perf_counter()
        window = self.window.end - self.window.start
        self.window_s.append(window)
        self.overhead_s.append((returned - called) - window)

    def parameters(self):
        return keras_parameter_count(self.model)
