"""How `AdversarialModel.fit` feeds arrays: on TensorFlow without tf.data's autotuning.

With autotuning on, every TensorFlow epoch ended on a 5.11 s / 10.23 s / ... grid instead of
after its last step (kzoo/autodiff.py, `fit_input`). Timing is the benchmark's job
(benchmarks/repro_tf_fit_teardown.py); these tests pin the mechanism and that the batches are
still exactly the ones Keras would feed.
"""

import numpy as np

from conftest import backend_name


def _images(n=10):
    return np.arange(n * 4, dtype="float32").reshape(n, 2, 2, 1)


def _epoch(x, y, batch_size, shuffle):
    """The batches fit() would draw in one epoch from what `fit_input` hands Keras."""
    from kzoo import autodiff

    fed_x, fed_y, fed_batch_size = autodiff.fit_input(x, y, batch_size, shuffle)
    if backend_name() != "tensorflow":
        return fed_x, fed_y, fed_batch_size
    assert fed_y is None and fed_batch_size is None  # the adapter carries them
    dataset = fed_x.get_tf_dataset()
    assert dataset.options().autotune.enabled is False
    return [tuple(np.asarray(part) for part in (batch if isinstance(batch, tuple) else (batch,))) for batch in dataset]


def test_arrays_in_order_without_shuffle():
    x, y = _images(), np.arange(10)
    fed = _epoch(x, y, 4, shuffle=False)
    if backend_name() != "tensorflow":  # torch and JAX: Keras's own pipeline, untouched
        assert fed[0] is x and fed[1] is y and fed[2] == 4
        return
    assert [len(bx) for bx, _ in fed] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([bx for bx, _ in fed]), x)
    np.testing.assert_array_equal(np.concatenate([by for _, by in fed]), y)


def test_shuffle_draws_every_image_once_with_its_label():
    x, y = _images(), np.arange(10)
    fed = _epoch(x, y, 4, shuffle=True)
    if backend_name() != "tensorflow":
        assert fed[0] is x and fed[1] is y
        return
    seen_x = np.concatenate([bx for bx, _ in fed])
    seen_y = np.concatenate([by for _, by in fed])
    np.testing.assert_array_equal(np.sort(seen_y), y)
    np.testing.assert_array_equal(seen_x, x[seen_y])  # labels travel with their images


def test_images_without_labels():
    x = _images()
    fed = _epoch(x, None, 5, shuffle=False)
    if backend_name() != "tensorflow":
        assert fed[0] is x and fed[1] is None
        return
    np.testing.assert_array_equal(np.concatenate([batch[0] for batch in fed]), x)


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
    """A tf.data.Dataset gets the option (TensorFlow); a PyDataset is handed to Keras as it is."""
    import kzoo
    from kzoo import autodiff

    x = tiny_mnist[0]
    if backend_name() == "tensorflow":
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(x).batch(16)
        fed, _, _ = autodiff.fit_input(dataset, None, None, True)
        assert fed.options().autotune.enabled is False
    else:
        dataset = _Batches(x, 16)
        assert autodiff.fit_input(dataset, None, None, True)[0] is dataset
    model = kzoo.create_model("dcgan", width=2, seed=0)
    model.compile()
    history = model.fit(dataset, epochs=1, verbose=0)
    assert int(np.asarray(model.d_optimizer.iterations)) == 2
    assert all(np.isfinite(history.history[key][-1]) for key in ("d_loss", "g_loss"))
