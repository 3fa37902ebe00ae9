"""What must stay instant imports no keras, no backend and no plugin (nor pyplot): one fresh interpreter checks it all.

Importing keras costs 2-6 s here; `kzoo list`, every command's `--help`, importing kzoo and its numpy
rooms (the registry, the data, the metrics' math, the pictures, the run directory) and using them must
not pay it. Each step below runs in the same child, in order; after each, the modules it loaded are
compared with the forbidden ones, so a failure names the step that pulled one in.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("keras", "tensorflow", "torch", "jax")

# (what, Python statements): run one after the other in one interpreter.
STEPS = [
    ("import kzoo", "import kzoo"),
    ("the numpy rooms", "import kzoo.registry, kzoo.data, kzoo.data.pairs, kzoo.errors, kzoo.hyperparameters, "
                        "kzoo.metrics, kzoo.metrics.splits, kzoo.pictures, kzoo.runs, kzoo.backend_choice, "
                        "kzoo.distribution, kzoo.tasks, kzoo.images"),
    ("listing models", "names = kzoo.list_models(); kzoo.registry.entries(); kzoo.registry.problems(); "
                       "kzoo.model_entry('dcgan')"),
    ("loading data", "kzoo.data.load('mnist-5k:train'); kzoo.data.pairs.load_pairs('mnist-5k:edges')"),
    ("drawing pictures", "kzoo.pictures.plot_losses({'loss': [1.0, 0.5]}, OUT + '/losses.png'); "
                         "kzoo.pictures.save_grid(kzoo.data.load()[0][:4], OUT + '/grid.png')"),
]
# Every command's --help, and `kzoo list`, through the command line's entry point (click's lazy loading).
COMMANDS = [["list"], ["list", "--json"], ["--help"], ["train", "--help"], ["info", "--help"],
            ["sample", "--help"], ["evaluate", "--help"], ["translate", "--help"]]

CHILD = """
import json, sys
OUT = sys.argv[1]
HEAVY = {heavy!r}
report = []

def loaded():
    plugins = set()
    if "kzoo.registry" in sys.modules:
        plugins = {{e.module.split(".")[0] for e in sys.modules["kzoo.registry"].entries() if not e.builtin}}
    # matplotlib.pyplot: global figure state, unsafe in notebooks; kzoo draws without it.
    return sorted(m for m in sys.modules if m.split(".")[0] in set(HEAVY) | plugins or m == "matplotlib.pyplot")

for what, code in {steps!r}:
    exec(code)
    report.append((what, loaded()))

from kzoo.cli import main
for args in {commands!r}:
    try:
        main(args, prog_name="kzoo", standalone_mode=False)
    except SystemExit as stop:
        assert not stop.code, (args, stop.code)
    report.append(("kzoo " + " ".join(args), loaded()))
print("REPORT" + json.dumps(report))
"""


def test_instant_paths_import_no_keras_no_backend_and_no_plugin(tmp_path):
    import kzoo

    root = str(Path(kzoo.__file__).resolve().parents[1])  # the kzoo this process tests
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    code = CHILD.format(heavy=HEAVY, steps=STEPS, commands=COMMANDS)
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.rsplit("REPORT", 1)[1])
    assert [what for what, _ in report] == [what for what, _ in STEPS] + ["kzoo " + " ".join(a) for a in COMMANDS]
    assert {what: modules for what, modules in report if modules} == {}
    assert (tmp_path / "losses.png").stat().st_size > 0 and (tmp_path / "grid.png").stat().st_size > 0
    # The listing really listed: built-ins and the example plugins, none of them imported.
    assert "multiscale-dcgan" in result.stdout and "dcgan" in result.stdout


@pytest.mark.portability  # TensorFlow installed beside the backend that trains
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_run_on_one_backend_prints_nothing_of_another(backend, tmp_path):
    """Keras's serializer imports TensorFlow wherever it is installed; kzoo's checkpoints do not."""
    run = tmp_path / "run"
    commands = [["train", "dcgan", "--set", "width=2", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "8",
                 "--samples", "4", "--out", str(run)], ["sample", str(run), "--num", "4"]]
    for args in commands:
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "kzoo", *args, "--backend", backend],
                                capture_output=True, text=True, timeout=600,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})  # TensorFlow would speak
        assert result.returncode == 0, result.stderr[-3000:]
        imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
        # TensorFlow only: Keras 3.15 itself imports jax at `import keras` wherever it is installed
        # (keras/src/callbacks/orbax_checkpoint.py), silently, on every backend.
        assert "tensorflow" not in imported, args[0]
        said = [line for line in result.stderr.splitlines() if "|" not in line]
        assert not [line for line in said if "oneDNN" in line or "tensorflow" in line.lower()], said
    assert (run / "model.keras").is_file()
