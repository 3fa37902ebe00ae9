"""Helpers shared by the benchmark scripts: backend selection, machine facts, SGEMM ceiling.

Nothing here imports keras: `select_backend` must run before the first `import keras`.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "benchmarks", "results")
BACKENDS = ("tensorflow", "torch", "jax")

if REPO not in sys.path:  # run from a source checkout without installing kzoo
    sys.path.insert(0, REPO)


def select_backend(backend):
    """Point Keras at `backend`; must run before keras is imported (the flag wins over the env)."""
    if backend not in BACKENDS:
        raise SystemExit(f"--backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise RuntimeError(f"keras is already imported with the {keras.backend.backend()} backend")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter


def parse_backends_and_models(parser, args, models):
    """Split --backends and --models (comma-separated) into lists; unknown names end in parser.error."""
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for backend in args.backends:
        if backend not in BACKENDS:
            parser.error(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    for model in args.models:
        if model not in models:
            parser.error(f"unknown model {model!r}; choose from {', '.join(models)}")


def limit_threads(threads):
    """Ask every library for `threads` compute threads; call before numpy or a framework is imported.

    None keeps each library's default (one thread per core: what users get). On a shared machine
    one thread per process gives steadier figures: with 2 threads on 2 busy cores, OpenMP
    (torch) waits at every parallel region for a descheduled thread, and small steps slow down
    by 10x or more. XLA (JAX) has no thread-count setting; --xla_cpu_multi_thread_eigen=false
    makes its Eigen kernels single-threaded.
    """
    if threads is None:
        return
    if "numpy" in sys.modules:
        raise RuntimeError("limit_threads must run before numpy is imported")
    n = str(int(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = n
    if int(threads) == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()


def apply_framework_threads(backend, threads):
    """The framework-level part of `limit_threads`, once the framework is imported."""
    if threads is None:
        return
    if backend == "torch":
        import torch

        torch.set_num_threads(int(threads))
    elif backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        except RuntimeError:  # the runtime already started: the environment variables apply
            pass


def default_backend():
    return os.environ.get("KERAS_BACKEND", "jax")


def cpu_model():
    """The CPU's model name (as lscpu prints it) and the number of logical CPUs this process may use."""
    name = None
    try:
        out = subprocess.run(["lscpu"], check=False, capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.strip().lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        pass
    if name is None:
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.lower().startswith("model name"):
                        name = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {"cpu": name or platform.processor() or "unknown", "cpus": cores}


def load_average():
    """The 1-minute load average (the number of busy CPUs, roughly), or None where unavailable."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def versions(backend=None):
    """Versions of Python, numpy, keras, kzoo and the given backend's framework (imports them)."""
    import numpy

    out = {"python": platform.python_version(), "numpy": numpy.__version__}
    try:
        import keras

        out["keras"] = keras.__version__
    except ImportError:
        pass
    try:
        import kzoo

        out["kzoo"] = kzoo.__version__
    except ImportError:
        pass
    module = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}.get(backend)
    if module:
        out[module] = __import__(module).__version__
    return out


def sgemm_gflops(n=2048, repeats=5):
    """numpy float32 n x n matrix multiply rate in GFLOP/s: {"best", "median", "n", "repeats"}.

    2 n^3 floating-point operations per product. The best of `repeats` is the ceiling used for
    "achieved fraction of peak": on a shared machine the median is lower when others run.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up the BLAS thread pool
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        rates.append(2.0 * n**3 / (time.perf_counter() - start) / 1e9)
    return {
        "best": round(max(rates), 1),
        "median": round(statistics.median(rates), 1),
        "n": n,
        "repeats": repeats,
    }


def summary(values, digits=2):
    """median, min and max of a list of numbers, rounded."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def save_json(result, path):
    """Write `result` to `path` as indented JSON (creating the folder)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(result, indent=2) + "\n")


def print_json(result):
    """Print `result` as one JSON object on one line of stdout."""
    print(json.dumps(result), flush=True)
