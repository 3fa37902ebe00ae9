"""How `fit()` feeds arrays on TensorFlow: Keras's own array adapter, without tf.data's autotuning."""

import functools

import keras
import numpy as np
import tensorflow as tf


def fit_arguments(arguments):
    """`fit()`'s arguments (a dict by name, defaults filled in), arrays fed by tf.data with
    autotuning off.

    Keras turns arrays into a tf.data pipeline with autotuning on. Destroying its iterator (at
    the end of every epoch) then waits until tf.data's autotuning thread ends its current sleep,
    whose period doubles from 10 ms, so epochs end on a 5.11 s, 10.23 s, 20.47 s... grid
    (10 ms x (2^k - 1)) instead of after their last step: up to half an epoch lost
    (keras 3.15.1, tensorflow 2.21; benchmarks/repro_tf_fit_teardown.py). Autotuning has nothing
    to tune in an in-memory batch pipeline. Arrays (with their sample or class weights) go to
    Keras's own array adapter, so batching, shuffling and `steps_per_epoch` mean what they mean
    in Keras, and only its dataset gets the option; a tf.data.Dataset gets it unless it sets
    autotuning itself. Left to Keras: `validation_split` (Keras splits arrays only) and anything
    else (generators, PyDataset).
    """
    x = arguments["x"]
    if isinstance(x, tf.data.Dataset):
        if x.options().autotune.enabled is None:
            arguments["x"] = x.with_options(_without_autotune())
        return arguments
    adapter = arrays_without_autotune()
    if adapter is None or x is None or arguments["validation_split"]:
        return arguments
    y, sample_weight, batch_size = arguments["y"], arguments["sample_weight"], arguments["batch_size"]
    if not adapter.accepts((x, y, sample_weight)):
        return arguments
    arguments.update(
        x=adapter(x, y, sample_weight=sample_weight, class_weight=arguments["class_weight"],
                  batch_size=batch_size, steps=arguments["steps_per_epoch"], shuffle=arguments["shuffle"]),
        y=None, sample_weight=None, class_weight=None, batch_size=None,
        # Keras batches validation data by validation_batch_size, else batch_size.
        validation_batch_size=arguments["validation_batch_size"] or batch_size,
    )
    return arguments


def _without_autotune():
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


@functools.cache
def arrays_without_autotune():
    """Keras's array adapter, its tf.data pipeline without autotuning; None if Keras moved it."""
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter, can_convert_arrays
        from keras.src.trainers.data_adapters.array_slicing import convert_to_sliceable
    except ImportError:  # a private Keras module moved: keep Keras's own pipeline (and the wait)
        return None

    class ArraysWithoutAutotune(ArrayDataAdapter):
        accepts = staticmethod(can_convert_arrays)  # (x, y, sample_weight) it can take

        def get_tf_dataset(self):
            dataset = self._batches_in_order() if self._shuffle is False else None
            if dataset is None:
                dataset = super().get_tf_dataset()
            return dataset.with_options(_without_autotune())

        def _batches_in_order(self):
            """`shuffle=False` (as `kzoo train` feeds): Keras's batches, sliced in order.

            Keras's pipeline slices every batch through three traced Python functions (an index
            permutation, batched indices, a gather), built anew at each `fit()` call: with its
            iterator about 36 ms per call against 7 ms for this one (measured here), 2-3% of a
            1-s call. Without shuffling, `from_tensor_slices(...).batch(...)` gives the same
            batches: the same order, the same last partial batch, the same element shapes
            (a static batch size when no batch is partial), floats cast to floatx as Keras does.
            None for anything but dense arrays (sparse, ragged: Keras's own pipeline).
            """
            inputs = keras.tree.lists_to_tuples(convert_to_sliceable(self._inputs, target_backend="tensorflow"))
            if not all(isinstance(x, (np.ndarray, tf.Tensor)) for x in keras.tree.flatten(inputs)):
                return None
            dataset = tf.data.Dataset.from_tensor_slices(inputs)
            dataset = dataset.batch(self._batch_size, drop_remainder=self._partial_batch_size == 0)
            options = tf.data.Options()  # Keras's, for its own pipeline
            options.experimental_optimization.apply_default_optimizations = False
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)

    return ArraysWithoutAutotune
