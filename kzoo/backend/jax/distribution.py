"""Several devices on JAX: Keras's DataParallel, and processes that join one cluster.

Variables are replicated on every device of a 1-D mesh, the batch axis split over it. Keras's
JAX trainer jits kzoo's step with the state's shardings, and XLA (GSPMD) makes every batch
reduction, batch-normalization statistics included, one over the global batch.
"""

import jax
import jax.numpy as jnp
import keras

_cluster = None  # the Cluster this process joined (jax.distributed can be initialized once)


def data_parallel(devices, cluster):
    """Train over `devices` ("all" or a count); first join `cluster`. (names, process id, processes)."""
    from kzoo.errors import DistributionError

    if cluster is not None:
        _join(cluster)
    available = keras.distribution.list_devices()
    count = len(available) if devices == "all" else devices
    if count > len(available):
        hint = (f"; on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count={count} makes {count} virtual devices"
                if available[0].startswith("cpu") else "")
        raise DistributionError(f"--devices {count}: JAX sees {len(available)} ({', '.join(available)}){hint}")
    if jax.process_count() > 1 and count != len(available):
        raise DistributionError(
            f"--devices {count}: with {jax.process_count()} processes every device of every process trains "
            f"({len(available)} in all): use --devices all"
        )
    chosen = available[:count]
    if count == 1:
        keras.distribution.set_distribution(None)
    else:
        # Each process feeds its own share of every batch (kzoo.distribution.Placement.local_batches):
        # Keras's auto-sharding takes tf.data datasets only.
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=chosen, auto_shard_dataset=False))
    return chosen, jax.process_index(), jax.process_count()


def _join(cluster):
    global _cluster
    from kzoo.errors import DistributionError

    if _cluster is not None:
        if _cluster != cluster:
            raise DistributionError(f"this process already belongs to {_cluster}; it cannot join another")
        return
    # Cross-process collectives on CPU devices go through gloo (the default since some jaxlib
    # 0.4.x release, "none" before; checked: the default on 0.10.2). GPUs and TPUs ignore it.
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, KeyError, ValueError):
        pass
    try:
        keras.distribution.initialize(cluster.coordinator, cluster.num_processes, cluster.process_id)
    except RuntimeError as error:  # e.g. JAX computed something already
        raise DistributionError(f"could not join {cluster.num_processes} processes: {error}") from None
    _cluster = cluster


def agreed_seed(seed):
    """Process 0's `seed`, on every process: they must build the same weights and draw the same noise."""
    if jax.process_count() == 1:
        return seed
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(jnp.asarray(seed, dtype=jnp.int32)))
