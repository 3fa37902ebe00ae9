"""The `kzoo` command line (also `python -m kzoo`).

Listing, `info` and `--help` never import keras (2-6 s): commands that need a model choose the
backend first (`--backend`, no environment variable needed) and import keras only then.
A mistake of the user's prints one line and exits non-zero; it never shows a traceback.
"""

import ast
import json
import logging
import sys

import click

from kzoo import __version__, backend_choice, registry
from kzoo.errors import KzooError

BACKEND_HELP = "tensorflow, torch or jax (default: $KERAS_BACKEND, else keras.json, else the first installed)."
# The largest requests that fit in memory whatever the image size, refused up front beyond: a grid is
# one PNG (10,000 images of 128x128x3 make a 13,000-pixel square, 0.5 GB), and scoring holds every
# generated image at once (50,000 as many as FID's usual sample).
MAX_GRID_IMAGES = 10_000
MAX_SCORED_IMAGES = 50_000
# Every command that builds or loads a model takes the same --backend option.
backend_option = click.option("--backend", "-b", help=BACKEND_HELP)


class KzooGroup(click.Group):
    """Turns kzoo's user errors into one-line messages, and Ctrl-C into a short note."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KzooError as error:
            failure = click.ClickException(str(error))
            failure.exit_code = error.exit_code  # 130 for an interrupted run, as shells expect
            raise failure from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)


@click.group(cls=KzooGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kzoo")
@click.option("--strict-plugins", is_flag=True, envvar=registry.STRICT_ENV,
              help=f"Fail on any broken or conflicting plugin instead of skipping it (also ${registry.STRICT_ENV}=1).")
def main(strict_plugins):
    """kzoo: GANs written once in Keras 3, trained on TensorFlow, PyTorch or JAX.

    \b
      kzoo list                         the models, built-in and from plugins
      kzoo info dcgan                   a model's paper and hyperparameters
      kzoo train dcgan --backend jax    train on the embedded MNIST digits
      kzoo sample runs/dcgan-...        an image grid from a run
      kzoo evaluate runs/dcgan-...      quality metrics of a run
      kzoo fit-evaluator DATA --out EV  an evaluator for any labelled data set (evaluate --evaluator EV)
      kzoo translate runs/pix2pix-... digits/    apply an image-to-image run to images
    """
    # `kzoo list` reports broken plugins itself; elsewhere they are noise unless asked for.
    logging.getLogger("kzoo.registry").setLevel(logging.ERROR)
    if strict_plugins:
        registry.set_strict(True)


# ----------------------------------------------------------------------------- list, info
@main.command("list")
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(pattern, as_json):
    """List the models (PATTERN takes wildcards: 'dc*', '*gan').

    Broken plugins are listed apart with their error; they never stop the others.
    """
    names = set(registry.list_models(pattern))
    entries = [e for e in registry.entries() if e.name in names]
    problems = registry.problems()
    if as_json:
        click.echo(json.dumps({
            "models": [
                {"name": e.name, "origin": e.origin, "distribution": e.distribution, "version": e.version,
                 "description": e.description, "paper": e.paper, "conditional": e.conditional}
                for e in entries
            ],
            "problems": [
                {"name": p.name, "distribution": p.distribution, "version": p.version, "error": p.report()}
                for p in problems
            ],
        }, indent=2))
        return
    rows = [(e.name, "built-in" if e.builtin else e.source, e.description or "") for e in entries]
    if rows:
        _table(("NAME", "FROM", "DESCRIPTION"), rows)
    else:
        click.echo(f"no model matches {pattern!r}" if pattern else "no models are installed")
    if problems:
        click.echo("\nskipped (broken plugins):")
        for line in dict.fromkeys(p.report() for p in problems):
            click.echo(f"  {line}")


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(name, as_json):
    """Describe model NAME: paper, hyperparameters, their defaults and what they accept."""
    registry.model_entry(name)  # an unknown model fails here, before keras is imported
    backend_choice.use()  # the model's module imports keras: quietly, on the default backend
    details = registry.model_info(name)
    if as_json:
        click.echo(json.dumps(details, indent=2, default=str))
        return
    click.echo(f"{details['name']}: {details['description'] or ''}")
    click.echo(f"  from:        {details['origin']} ({details['distribution']} {details['version']})")
    click.echo(f"  paper:       {details['paper'] or '-'}")
    click.echo(f"  conditional: {'yes (train on labelled data)' if details['conditional'] else 'no'}")
    if details.get("default_epochs"):
        per_epoch = details.get("default_steps_per_epoch")
        length = f"of {per_epoch} steps" if per_epoch else "(passes over the data; mnist-5k: 78 steps at batch 64)"
        click.echo(f"  training:    {details['default_epochs']} epochs {length} by default "
                   "(kzoo train --epochs N --steps-per-epoch S)")
    click.echo("  hyperparameters (kzoo train --set NAME=VALUE):")
    rows = []
    for key, value in details["hyperparameters"].items():
        about = details["hyperparameter_details"].get(key, {})
        text = f"{about['help']} ({about['accepts']})" if about.get("help") else about.get("accepts", "")
        rows.append((key, repr(value), text))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for key, value, text in rows:
        click.echo(f"    {key:<{widths[0]}}  {value:<{widths[1]}}  {text}".rstrip())


# ---------------------------------------------------------------------------------- train
class Assignment(click.ParamType):
    """`--set NAME=VALUE`: a hyperparameter and its value, a Python literal (`32,32,3` is a tuple)
    or else a bare word (a string)."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            self.fail(f"expected NAME=VALUE, got {value!r}", param, ctx)
        try:
            parsed = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parsed = raw.strip()
        return key.strip(), parsed


# ----------------------------------------------------------- several devices (issue 13)
def _device_options(command):
    """--devices and the options that join several processes (see kzoo.distribution)."""
    from kzoo.distribution import ENVIRONMENT

    options = [
        click.option("--devices", metavar="N|all",
                     help="Train data-parallel on N devices, or all (JAX: GPUs, TPUs or CPU devices); "
                          "--batch-size is the global batch, split evenly across them."),
        click.option("--coordinator", metavar="HOST:PORT",
                     help=f"Several processes (one per host): process 0's address (${ENVIRONMENT['coordinator']})."),
        click.option("--num-processes", type=click.IntRange(min=1),
                     help=f"Several processes: how many (${ENVIRONMENT['num_processes']})."),
        click.option("--process-id", type=click.IntRange(min=0),
                     help=f"Several processes: this one's, 0 to N-1; 0 writes the run (${ENVIRONMENT['process_id']})."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.argument("name", required=False)
@backend_option
@click.option("--dataset", "-d", help="mnist-5k (embedded, default), mnist, fashion_mnist, cifar10, "
              "an .npz file (x, optional y) or a folder of images (one subfolder per class). "
              "Image-to-image models: mnist-5k:edges, mnist-5k:masked, mnist-5k:noisy, mnist-5k:thick, "
              "an .npz of pairs (a, b) or a folder with A/ and B/.")
@click.option("--epochs", "-e", type=click.IntRange(min=1),
              help="Epochs to train (default: the model's own, see kzoo info); with --resume, epochs to train "
                   "beyond those done (default: the rest of the run's planned epochs).")
@click.option("--steps-per-epoch", type=click.IntRange(min=1), help="Batches per epoch (default: one pass over the data).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default 64; a resumed run keeps its own).")
@click.option("--latent-dim", type=click.IntRange(min=1), help="Noise size (default: the model's).")
@click.option("--seed", type=int, help="Seed for weights, noise and shuffling (default: random, recorded in config.json).")
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Run directory (default: runs/<model>-<timestamp>).")
@click.option("--resume", type=click.Path(exists=True, file_okay=False),
              help="Continue the run in this directory from its last checkpoint, optimizer state included.")
@click.option("--set", "sets", type=Assignment(), multiple=True,
              help="A model hyperparameter (repeatable), e.g. --set d_steps=5 --set width=32; see kzoo info NAME.")
@click.option("--samples", type=click.IntRange(min=1), default=64, show_default=True, help="Images in each epoch's sample grid.")
@click.option("--evaluate/--no-evaluate", default=False, show_default=True,
              help="Compute the digit-evaluator metrics after every epoch (28x28x1 models) into history.csv.")
@_device_options
def train(name, backend, dataset, epochs, steps_per_epoch, batch_size, latent_dim, seed, out, resume, sets,
          samples, evaluate, devices, coordinator, num_processes, process_id):
    """Train model NAME, or continue a run with --resume.

    Writes to the run directory: model.keras after every epoch (atomically: a crash or
    Ctrl-C leaves the last good one), samples/epoch_NNN.png, history.csv, losses.png and
    config.json. --resume RUN --epochs N trains N more epochs, counting on from those done;
    --resume RUN alone finishes the epochs the run was started for (after a crash or Ctrl-C).
    With several processes, run the same command on each (its own --process-id).
    """
    if not name and not resume:
        raise click.UsageError("give a model NAME to train, or --resume RUN")
    if resume and (sets or latent_dim or out):
        raise click.UsageError("--resume continues a run as it was: --set, --latent-dim and --out do not apply")
    hyperparameters = dict(sets)
    from kzoo import distribution  # no keras: checks the options before anything loads

    devices = distribution.parse_devices(devices)
    cluster = distribution.Cluster.from_options(coordinator, num_processes, process_id)
    if latent_dim is not None:
        hyperparameters["latent_dim"] = latent_dim
    if name:
        registry.model_entry(name)  # an unknown model fails here, before keras is imported
    if resume:
        from kzoo import runs

        run_model = runs.read_config(resume)["model"]
        if name and registry.model_entry(name).name != run_model:
            raise click.UsageError(f"{resume} is a {run_model} run, not {name}")
    chosen = backend_choice.use(backend)
    from kzoo import training

    # Ctrl-C or a failed write midway: a one-line RunError saying what is kept (kzoo.training).
    run_dir = training.train(
        name, dataset=dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
        seed=seed, hyperparameters=hyperparameters, out=out, resume=resume, sample_count=samples,
        evaluate=evaluate, log=lambda m: click.echo(m, err=True), devices=devices, cluster=cluster,
    )
    click.echo(f"done ({chosen}): {run_dir or 'process 0 writes the run'}")


# ------------------------------------------------------------------------ sample, evaluate
def _load(run_or_file, backend):
    backend_choice.use(backend)
    from kzoo import saving

    return saving.load_model(run_or_file, compile=False)


@main.command()
@click.argument("run_or_file", type=click.Path(exists=True))
@click.option("--num", "-n", type=click.IntRange(min=1, max=MAX_GRID_IMAGES), default=64, show_default=True,
              help=f"Number of images (a grid holds at most {MAX_GRID_IMAGES:,}).")
@click.option("--seed", type=int, default=0, show_default=True, help="Noise seed: the same seed gives the same images on any backend.")
@click.option("--label", type=int, help="Conditional models: only this class (default: one row per class).")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="PNG to write (default: RUN/samples/sample_seed<SEED>.png).")
@click.option("--code", help="Models with latent codes (infogan): one row per category, CODE varied along "
              "each row: 'category' or 'continuous:K'.")
@click.option("--raw", is_flag=True, help="Use the raw generator, not its weight average (models with ema_decay > 0).")
@backend_option
def sample(run_or_file, num, seed, label, out, code, raw, backend):
    """Write an image grid generated by a run (or a .keras file)."""
    from pathlib import Path

    model = _load(run_or_file, backend)
    from kzoo import pictures, sampling

    grid, per_row = sampling.grid_samples(model, num, seed=seed, label=label, code=code, raw=raw)
    if out is None:
        source = Path(run_or_file)
        folder = source / "samples" if source.is_dir() else source.parent
        suffix = ("" if label is None else f"_label{label}") + ("" if code is None else f"_{code.replace(':', '')}")
        out = folder / f"sample_seed{seed}{suffix}{'_raw' if raw else ''}.png"
    path = pictures.save_grid(grid, out, nrow=per_row)
    click.echo(str(path))


@main.command()
@click.argument("run_or_file", type=click.Path(exists=True))
@click.option("--num", "-n", type=click.IntRange(min=100, max=MAX_SCORED_IMAGES), default=1000, show_default=True,
              help="Generated images to score (compare scores only at equal --num).")
@click.option("--seed", type=int, default=0, show_default=True, help="Noise and subset seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--raw", is_flag=True, help="Score the raw generator, not its weight average (models with ema_decay > 0).")
@click.option("--dataset", "-d", help="Autoencoders and image-to-image models: held-out data to score against "
              "(default: the held-out digits of the run's dataset).")
@click.option("--evaluator", "-E", metavar="EVALUATOR",
              help="The evaluator whose features score the images: a directory made by kzoo fit-evaluator, or a "
                   "shipped one (digits, emoji32). Default: the digit evaluator, kzoo-digits-v1.")
@click.option("--reference", metavar="DATA",
              help="Score against these real images (a --dataset spec; unlabelled ones too) instead of the "
                   "evaluator's held-out split: fd, kid, precision and recall in the evaluator's feature space.")
@click.option("--inception-weights", type=click.Path(dir_okay=False), metavar="FILE",
              help="A Keras InceptionV3 (no top) weights file on disk: adds fid_inception, the standard FID "
                   "(never downloaded).")
@backend_option
def evaluate(run_or_file, num, seed, as_json, raw, dataset, evaluator, reference, inception_weights, backend):
    """Score a run's generator with an evaluator (default: the embedded digit evaluator, 28x28x1 models).

    Metrics are computed on kzoo's own classifiers, not Inception: compare them with each other, at
    the same --num and evaluator, never with published FID values (--inception-weights gives FID).
    Image-to-image models get L1, PSNR, SSIM and class preservation on held-out pairs; autoencoders
    reconstruction error too.
    """
    from kzoo.metrics import evaluators

    chosen = evaluators.open_evaluator(evaluator) if evaluator else None  # a wrong one fails before keras
    model = _load(run_or_file, backend)
    from kzoo import evaluation

    scores = evaluation.evaluate(model, dataset or _run_dataset(run_or_file), num=num, seed=seed, raw=raw,
                                 evaluator=chosen, reference=reference, inception_weights=inception_weights)
    _print_scores(scores, as_json)


def _print_scores(result, as_json):
    if as_json:
        click.echo(json.dumps(result, indent=2, default=float))
        return
    width = max([18, *(len(key) + 1 for key in result)])
    for key, value in result.items():
        if isinstance(value, dict):  # the floor: one line of its figures
            value = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
        click.echo(f"{key:<{width}} {value:.4f}" if isinstance(value, float) else f"{key:<{width}} {value}")


def _run_dataset(run_or_file):
    """The dataset a run trained on (from its config.json); None for a bare .keras file."""
    from pathlib import Path

    from kzoo import runs

    return runs.read_config(run_or_file)["dataset"] if Path(run_or_file).is_dir() else None


# ------------------------------------------------------------------------- fit-evaluator
@main.command("fit-evaluator")
@click.argument("dataset", metavar="DATA")
@click.option("--out", "-o", required=True, type=click.Path(), help="The evaluator directory to write.")
@click.option("--epochs", "-e", type=click.IntRange(min=1), default=30, show_default=True,
              help="Passes over the training split.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Images per step.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the weights, shuffling and augmentation.")
@click.option("--id", "evaluator_id", help="The id the metrics are named after (default: from the data set's "
              "name and the weights' sha256).")
@click.option("--flip", is_flag=True, help="Also mirror training images left to right (classes a mirror keeps).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists and is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluator's description (evaluator.json) as JSON.")
@backend_option
def fit_evaluator(dataset, out, epochs, batch_size, seed, evaluator_id, flip, overwrite, as_json, backend):
    """Fit an evaluator to the labelled data set DATA (an .npz with y, a folder of class subfolders, emoji32).

    A fifth of every class is held out (kzoo's fixed split rule); a small CNN learns the rest. Writes
    to --out the weights, the held-out reference and evaluator.json (held-out accuracy, the real-vs-real
    floor), for kzoo evaluate RUN --evaluator OUT.
    """
    from kzoo.metrics import evaluator_data, fitting

    fitting.check_out(out, overwrite)
    evaluator_data.labelled(dataset)  # no labels, one class, too few images: one line, before keras
    backend_choice.use(backend)
    with click.progressbar(length=epochs, label="fitting", file=sys.stderr, show_pos=True,
                           item_show_func=lambda logs: logs) as bar:
        def advance(epoch, logs):
            bar.update(1, f"loss {logs['loss']:.3f}, accuracy {logs['accuracy']:.3f}")

        info = fitting.fit_evaluator(dataset, out, epochs=epochs, seed=seed, batch_size=batch_size,
                                     evaluator_id=evaluator_id, overwrite=overwrite, flip=flip, on_epoch=advance)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    floor = info["real_floor"]
    click.echo(f"{info['id']}: {out}")
    click.echo(f"  held-out accuracy  {info['heldout_accuracy']:.4f} (balanced {info['heldout_balanced_accuracy']:.4f}; "
               f"chance, the largest class's share: {info['chance_accuracy']:.4f}) on "
               f"{info['data']['heldout']} images")
    click.echo(f"  real-vs-real floor at N={floor['n']}: fd {floor['fd']:.4g}, precision {floor['precision']:.3f}, "
               f"recall {floor['recall']:.3f}, coverage {floor['coverage']}/{info['num_classes']}, "
               f"classifier score {floor['classifier_score']:.3f}")
    click.echo(f"  kzoo evaluate RUN --evaluator {out}")


# ------------------------------------------------------------------------------ translate
@main.command()
@click.argument("run_or_file", type=click.Path(exists=True))
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True))
@click.option("--out", "-o", type=click.Path(file_okay=False),
              help="Folder to write to (default: RUN/translations/<INPUT name>-<direction>).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="a2b, or b2a for models that learn both ways (cyclegan).")
@backend_option
def translate(run_or_file, input_path, out, direction, backend):
    """Translate the images in INPUT with an image-to-image run (pix2pix, cyclegan, context-encoder).

    INPUT is a folder of images or an .npz (array x, or a / b). Writes one PNG per image, named
    after its file, grid.png (input and output side by side) and translations.npz.
    """
    model = _load(run_or_file, backend)
    from kzoo.translate_files import translate_files

    click.echo(str(translate_files(model, run_or_file, input_path, out, direction)))


def _table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
