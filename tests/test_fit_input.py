"""How `AdversarialModel.fit` feeds arrays: on TensorFlow without tf.data's autotuning.

With autotuning on, every TensorFlow epoch ended on a 5.11 s / 10.23 s / ... grid instead of
after its last step (kzoo/backend/tensorflow/data_adapter.py, `fit_arguments`). Timing is the
benchmark's job (benchmarks/repro_tf_fit_teardown.py); these tests pin the mechanism, that the
batches are still exactly the ones Keras would feed, and that `fit()` keeps all of Keras's
arguments.
"""

import inspect

import numpy as np

from conftest import backend_name


def _images(n=10):
    return np.arange(n * 4, dtype="float32").reshape(n, 2, 2, 1)


def _arguments(**given):
    """`keras.Model.fit`'s arguments by name, defaults filled in, as `AdversarialModel.fit` binds them."""
    import keras

    bound = inspect.signature(keras.Model.fit).bind(None, **given)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    del arguments["self"]
    return arguments


def _epoch(**given):
    """The batches one epoch draws from what `fit_arguments` hands Keras (TensorFlow), or the arguments."""
    from kzoo import backend

    arguments = backend.fit_arguments(_arguments(**given))
    if backend_name() != "tensorflow":
        return arguments
    assert arguments["y"] is None and arguments["batch_size"] is None  # the adapter carries them
    dataset = arguments["x"].get_tf_dataset()
    assert dataset.options().autotune.enabled is False
    return [tuple(np.asarray(part) for part in (batch if isinstance(batch, tuple) else (batch,))) for batch in dataset]


def _untouched(arguments, **given):
    """Elsewhere than on TensorFlow, fit() gets exactly what it was given."""
    assert arguments == _arguments(**given)
    for key, value in given.items():
        assert arguments[key] is value


def test_arrays_in_order_without_shuffle():
    given = dict(x=_images(), y=np.arange(10), batch_size=4, shuffle=False)
    fed = _epoch(**given)
    if backend_name() != "tensorflow":
        return _untouched(fed, **given)
    assert [len(bx) for bx, _ in fed] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([bx for bx, _ in fed]), given["x"])
    np.testing.assert_array_equal(np.concatenate([by for _, by in fed]), given["y"])


def test_without_shuffle_the_batches_and_shapes_are_kerass_own():
    """shuffle=False takes a leaner pipeline on TensorFlow (`_batches_in_order` in
    kzoo/backend/tensorflow/data_adapter.py): the same batches, dtypes and element shapes as
    Keras's own."""
    x, y = _images(10), np.arange(10)
    cases = [
        dict(x=x, y=y, batch_size=4),                                   # a last partial batch: batch size None
        dict(x=x, batch_size=5),                                        # no partial batch: a static batch size
        dict(x=x.astype("float64"), y=y, batch_size=3),                 # floats cast to floatx, as Keras does
        dict(x=x, y=y, sample_weight=np.linspace(0, 1, 10), batch_size=4),
        dict(x=x, y=y % 2, class_weight={0: 1.0, 1: 3.0}, batch_size=6),
        dict(x=x[:3], batch_size=8),                                    # fewer images than a batch
        dict(x={"a": x, "b": [x, x]}, batch_size=4),                    # nested inputs
    ]
    if backend_name() != "tensorflow":
        return _untouched(_epoch(**cases[0], shuffle=False), **cases[0], shuffle=False)
    import keras
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    from kzoo.backend import tensorflow as tf_backend

    for case in cases:
        adapter = tf_backend.arrays_without_autotune()(**case, shuffle=False)
        assert adapter._batches_in_order() is not None  # the lean pipeline, not Keras's fallback
        ours = adapter.get_tf_dataset()
        kerass = ArrayDataAdapter(**case, shuffle=False).get_tf_dataset()
        assert ours.element_spec == kerass.element_spec, case
        for a, b in zip(list(ours), list(kerass), strict=True):
            for part_a, part_b in zip(keras.tree.flatten(a), keras.tree.flatten(b), strict=True):
                assert part_a.dtype == part_b.dtype
                np.testing.assert_array_equal(np.asarray(part_a), np.asarray(part_b))
        assert ours.options().autotune.enabled is False


def test_shuffle_draws_every_image_once_with_its_label():
    x, y = _images(), np.arange(10)
    fed = _epoch(x=x, y=y, batch_size=4, shuffle=True)
    if backend_name() != "tensorflow":
        return _untouched(fed, x=x, y=y, batch_size=4, shuffle=True)
    seen_x = np.concatenate([bx for bx, _ in fed])
    seen_y = np.concatenate([by for _, by in fed])
    np.testing.assert_array_equal(np.sort(seen_y), y)
    np.testing.assert_array_equal(seen_x, x[seen_y])  # labels travel with their images


def test_images_without_labels():
    x = _images()
    fed = _epoch(x=x, batch_size=5, shuffle=False)
    if backend_name() != "tensorflow":
        return _untouched(fed, x=x, batch_size=5, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([batch[0] for batch in fed]), x)


def test_steps_per_epoch_sets_the_batch_size_as_in_keras():
    # Keras: no batch_size but steps_per_epoch -> batches of ceil(n / steps).
    x = _images()
    fed = _epoch(x=x, steps_per_epoch=5, shuffle=False)
    if backend_name() != "tensorflow":
        return _untouched(fed, x=x, steps_per_epoch=5, shuffle=False)
    assert [len(batch[0]) for batch in fed] == [2] * 5


def test_validation_split_is_left_to_keras():
    from kzoo import backend

    x = _images()
    assert backend.fit_arguments(_arguments(x=x, validation_split=0.2))["x"] is x


class _Batches:
    """A minimal keras.utils.PyDataset of image batches (built lazily: keras is imported late)."""

    def __new__(cls, x, batch_size):
        import keras

        class Batches(keras.utils.PyDataset):
            def __len__(self):
                return len(x) // batch_size

            def __getitem__(self, i):
                return x[i * batch_size : (i + 1) * batch_size]

        return Batches()


def test_dataset_inputs_pass_through_and_train(tiny_mnist):
    """A tf.data.Dataset gets the option unless it sets one (TensorFlow); a PyDataset goes to Keras as it is."""
    import kzoo
    from kzoo import backend

    x = tiny_mnist[0]
    if backend_name() == "tensorflow":
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(x).batch(16)
        assert backend.fit_arguments(_arguments(x=dataset))["x"].options().autotune.enabled is False
        options = tf.data.Options()
        options.autotune.enabled = True  # the user's choice stays
        chosen = dataset.with_options(options)
        assert backend.fit_arguments(_arguments(x=chosen))["x"] is chosen
    else:
        dataset = _Batches(x, 16)
        assert backend.fit_arguments(_arguments(x=dataset))["x"] is dataset
    model = kzoo.create_model("dcgan", width=2, seed=0)
    model.compile()
    history = model.fit(dataset, epochs=1, verbose=0)
    assert int(np.asarray(model.d_optimizer.iterations)) == 2
    assert all(np.isfinite(history.history[key][-1]) for key in ("d_loss", "g_loss"))


def test_fit_keeps_kerass_arguments(tiny_mnist, monkeypatch):
    """Positional arguments, sample weights, steps_per_epoch and shuffle="batch" work as in Keras."""
    import kzoo

    fed_by_kzoo = []
    if backend_name() == "tensorflow":  # Keras's epoch iterator really reads kzoo's adapter
        from kzoo.backend import tensorflow as tf_backend

        adapter = tf_backend.arrays_without_autotune()
        original = adapter.get_tf_dataset

        def spy(self):
            fed_by_kzoo.append(self)
            return original(self)

        monkeypatch.setattr(adapter, "get_tf_dataset", spy)
    x = tiny_mnist[0]
    model = kzoo.create_model("dcgan", width=2, seed=0)
    model.compile()

    def steps():
        return int(np.asarray(model.d_optimizer.iterations))

    model.fit(x, None, 16, 1, 0)  # x, y, batch_size, epochs, verbose
    assert steps() == 2
    model.fit(x, sample_weight=np.ones(len(x), "float32"), batch_size=8, verbose=0, shuffle="batch")
    assert steps() == 2 + 4
    history = model.fit(x, steps_per_epoch=4, verbose=0)  # Keras: batches of ceil(32 / 4) = 8
    assert steps() == 2 + 4 + 4
    assert np.isfinite(history.history["g_loss"][-1])
    if backend_name() == "tensorflow":
        assert len(fed_by_kzoo) == 3
