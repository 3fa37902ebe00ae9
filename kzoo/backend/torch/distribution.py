"""Several devices on torch: not yet (one device, one process)."""

from kzoo.backend import common


def data_parallel(devices, cluster):
    """One device only: Keras 3.15.1 has no data parallelism on torch.

    It landed on Keras's main branch after 3.15.1 (keras-team/keras#23052); its trainer wraps
    the model in DistributedDataParallel and only Keras's default step calls through that
    wrapper, so kzoo's step will have to all-reduce its gradients itself.
    """
    return common.one_device_only(
        devices, cluster,
        "training on several devices is not supported on torch: Keras 3.15.1 has no torch data parallelism "
        "(a Keras release after 3.15.1 adds it; kzoo does not use it yet); use --backend jax",
    )


agreed_seed = common.same_value  # one process: its own seed
