"""Several devices on TensorFlow: not yet (one device, one process)."""

from kzoo.backend import common


def data_parallel(devices, cluster):
    """One device only: tf.distribute does not reproduce kzoo's one-device step yet.

    Measured (MirroredStrategy, two logical CPUs, dcgan width 2, batch 8): it trains, but the
    logged losses differ from one device's from the first batch and the weights by up to 4e-3
    after two steps. Every replica draws the same noise from the model's seed generator
    (checked); it would need its own slice of the global batch's noise, the global batch's
    normalization statistics, and losses scaled by the replica count (Keras scales only its
    own `Loss` objects), all inside the players' step.
    """
    return common.one_device_only(
        devices, cluster,
        "training on several devices is not supported on TensorFlow yet (kzoo's step does not match one "
        "device under tf.distribute); use --backend jax",
    )


agreed_seed = common.same_value  # one process: its own seed
