"""Training on several devices: which devices, which processes, and which process writes the run.

kzoo trains data-parallel: every device holds the whole model, each takes an equal slice of
the global batch, and the step is computed as on one device over the whole batch (gradients,
losses and batch-normalization statistics of the global batch). On JAX this is Keras's
`keras.distribution.DataParallel`, set up in `kzoo.backend`; TensorFlow and torch refuse with
one line (see their backend modules for why).

    import kzoo
    kzoo.use_devices(2)                # or "all"; before a model is created or loaded
    model = kzoo.create_model("dcgan")
    model.fit(x, batch_size=64)        # 32 images per device

Several hosts run the same program, each told the coordinator's address, the number of
processes and its own index (arguments, or Keras's environment variables in `ENVIRONMENT`);
the devices of all processes form one mesh. Every process computes every step and every
sample grid; only the first one (`writes`) writes a run directory.

This module imports no keras until devices are set up: the command line checks its options
with it before keras loads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

from kzoo.errors import DistributionError

# The variables `keras.distribution.initialize` reads; kzoo's options fall back to them.
ENVIRONMENT = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}


def parse_devices(value):
    """`--devices`: "all" or a positive count (None stays None: the backend's default device)."""
    if value is None or value == "all":
        return value
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or str(value).strip() != str(count):
        raise DistributionError(f"--devices takes a positive number or 'all', not {value!r}")
    return count


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The processes that train one model together (one per host, typically)."""

    coordinator: str  # host:port of process 0 (or Keras's comma-separated list of every job's address)
    num_processes: int
    process_id: int

    @classmethod
    def from_options(cls, coordinator=None, num_processes=None, process_id=None, environ=None):
        """A checked `Cluster` from options, else Keras's environment variables; None for one process."""
        environ = os.environ if environ is None else environ
        given = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
        values = {k: environ.get(ENVIRONMENT[k]) if v is None else v for k, v in given.items()}
        if all(v is None for v in values.values()):
            return None
        missing = [k for k, v in values.items() if v is None]
        if missing:
            names = ", ".join(f"--{k.replace('_', '-')} (${ENVIRONMENT[k]})" for k in missing)
            raise DistributionError(f"several processes need a coordinator, a process count and a process id; missing: {names}")
        try:
            num, index = int(values["num_processes"]), int(values["process_id"])
        except ValueError:
            raise DistributionError(
                f"the process count and id must be integers, not {values['num_processes']!r} and {values['process_id']!r}"
            ) from None
        if num < 1 or not 0 <= index < num:
            raise DistributionError(f"process id {index} is not in 0..{num - 1} (the process count is {num})")
        address = str(values["coordinator"]).split(",")[0]
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise DistributionError(f"the coordinator's address must be host:port, not {values['coordinator']!r}")
        return None if num == 1 else cls(str(values["coordinator"]), num, index)


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where training runs: the devices of the mesh (all processes'), and this process's place."""

    devices: tuple = ()  # device names ("gpu:0", ...); () is the backend's default device
    process_id: int = 0
    num_processes: int = 1

    @property
    def count(self):
        return max(1, len(self.devices))

    @property
    def writes(self):
        """Whether this process writes the run directory (checkpoints, samples, history)."""
        return self.process_id == 0

    def record(self):
        """What config.json records."""
        return {"count": self.count, "names": list(self.devices) or None, "processes": self.num_processes}

    def check_batch_size(self, batch_size):
        """The global batch must split evenly over the devices."""
        if batch_size % self.count:
            raise DistributionError(
                f"batch size {batch_size} does not split over {self.count} devices: pick a multiple of {self.count}"
            )

    def local_batches(self, x, y, batch_size):
        """This process's share of consecutive global batches of `batch_size`: (x, y, local batch size).

        With several processes each one feeds the rows of each global batch that its devices
        take (Keras assembles the global batch from every process's part, in process order),
        so the step sees the same global batch as on one process.
        """
        if self.num_processes == 1:
            return x, y, batch_size
        local = batch_size // self.num_processes
        rows = slice(self.process_id * local, (self.process_id + 1) * local)

        def share(a):
            return None if a is None else a.reshape(-1, batch_size, *a.shape[1:])[:, rows].reshape(-1, *a.shape[1:])

        return share(x), share(y), local


_current = Placement()


def current():
    """The `Placement` training runs on in this process (one default device until `use_devices`)."""
    return _current


def use_devices(devices="all", cluster=None):
    """Train every model created or loaded from now on over `devices` ("all" or a count).

    `cluster` (a `Cluster`) first joins this process to the others: the devices are then
    counted over all processes and must be "all". `use_devices(1)` goes back to one device.
    Returns the new `Placement`. Only the JAX backend can do this in Keras 3.15.1.
    """
    global _current
    from kzoo import backend  # imports keras: only here

    devices = parse_devices(devices)
    if devices is None:
        devices = "all" if cluster is not None else 1
    names, process_id, num_processes = backend.data_parallel(devices, cluster)
    _current = Placement(tuple(names), process_id, num_processes)
    return _current


@contextlib.contextmanager
def this_process_only():
    """Keras objects created inside live on this process's default device, not on the mesh.

    For what the writing process does alone: saving a model builds throwaway reference objects
    (Keras's `get_attr_skipset` creates an optimizer), and a variable placed on a mesh that spans
    several processes is a collective operation: the other processes, busy elsewhere, would
    answer it with something else (measured: an AssertionError from JAX's `device_put` on both).
    """
    import keras

    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)
