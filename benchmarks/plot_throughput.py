"""Plot (and tabulate) saved throughput results: img/s per backend per model.

    python benchmarks/plot_throughput.py                    # benchmarks/results/throughput-*.json
    python benchmarks/plot_throughput.py --markdown         # also print the README tables
                                                            # (+ rows from results/experiment-*.json)
    python benchmarks/plot_throughput.py a.json b.json --out plot.png
    python benchmarks/plot_throughput.py --fast-paths results/torch-fast-paths/throughput-torch-*.json \
        --out results/torch-fast-paths/throughput.png    # torch: kzoo/plain with and without

Reads the JSON objects written by `throughput.py --out`; writes a PNG with one panel per model,
a group of bars per backend (kzoo, native, plain; medians, with min-max whiskers).
"""

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common

VARIANTS = ("kzoo", "native", "plain")
COLORS = {"kzoo": "#1f77b4", "native": "#ff7f0e", "plain": "#2ca02c"}
BACKEND_ORDER = {b: i for i, b in enumerate(_common.BACKENDS)}
MODEL_ORDER = {m: i for i, m in enumerate(("gan", "cgan", "dcgan", "lsgan", "wgan"))}
TORCH_FAST_PATHS = ("layers", "optimizer", "executor", "mirror")  # kzoo.backend.torch.FAST_PATH_NAMES


def load_results(paths):
    results = []
    for path in paths:
        with open(path) as f:
            result = json.load(f)
        if "backend" in result and "kzoo_img_s" in result:
            results.append(result)
    results.sort(key=lambda r: (MODEL_ORDER.get(r["model"], 99), r["model"], BACKEND_ORDER.get(r["backend"], 9)))
    return results


def plot(results, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in results))
    ncols = min(3, len(models))
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows + 0.6), squeeze=False)
    labelled = set()
    for ax, model in zip(axes.flat, models):
        rows = [r for r in results if r["model"] == model]
        for r in rows:
            i = BACKEND_ORDER.get(r["backend"], len(BACKEND_ORDER))
            for j, variant in enumerate(VARIANTS):
                if f"{variant}_img_s" not in r:
                    continue
                median = r[f"{variant}_img_s"]
                err = [[median - r[f"{variant}_img_s_min"]], [r[f"{variant}_img_s_max"] - median]]
                ax.bar(i + (j - 1) * 0.27, median, 0.27, yerr=err, capsize=2, color=COLORS[variant],
                       label=None if variant in labelled else variant)
                labelled.add(variant)
        ax.set_xticks(range(len(_common.BACKENDS)))
        ax.set_xticklabels(_common.BACKENDS)
        ax.set_xlim(-0.6, len(_common.BACKENDS) - 0.4)
        batch = sorted({r["batch_size"] for r in rows})
        width = sorted({str(r.get("width")) for r in rows})
        d_steps = sorted({str(r.get("d_steps")) for r in rows})
        ax.set_title(f"{model}: batch {', '.join(map(str, batch))}, width {', '.join(width)}, "
                     f"d_steps {', '.join(d_steps)}", fontsize=9)
        ax.set_ylabel("images / second")
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.append(h), labels.append(label)
    order = sorted(range(len(labels)), key=lambda k: VARIANTS.index(labels[k]))
    fig.legend([handles[k] for k in order], [labels[k] for k in order], loc="lower right", fontsize=8, ncol=3)
    loads = [v for r in results for v in (r.get("load_average_1min") or {}).values() if v is not None]
    cpu = results[0].get("machine", {})
    note = f"{cpu.get('cpu', '?')}, {cpu.get('cpus', '?')} CPUs"
    if loads:
        note += f"; 1-min load average during runs {min(loads):.1f}-{max(loads):.1f}"
    fig.suptitle(f"Training throughput: kzoo fit() vs hand-written loops of the same networks\n"
                 f"median of the repetitions, whiskers min-max; {note}", fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    os.makedirs(os.path.dirname(os.path.abspath(out)) or ".", exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def _num(value):
    return f"{value:.0f}" if value >= 1000 else f"{value:.1f}"


def _cell(r, variant):
    if f"{variant}_img_s" not in r:
        return "-"
    return f"{_num(r[f'{variant}_img_s'])} ({_num(r[f'{variant}_img_s_min'])}-{_num(r[f'{variant}_img_s_max'])})"


def _ratio(r, key):
    if key not in r:
        return "-"
    paired = r.get(f"{key}_paired")
    return f"{r[key]:.2f}" + (f" ({paired:.2f})" if paired is not None else "")


def _pct(r, variant):
    value = r.get("fraction_of_sgemm", {}).get(variant)
    return "-" if value is None else f"{100 * value:.0f}%"


def _label(r):
    """The model's name, with the settings that differ from a default run."""
    notes = []
    if (r.get("threads") or {}).get("requested"):
        notes.append(f"`--threads {r['threads']['requested']}`")
    if "--kzoo-jit-compile" in r.get("command", ""):
        notes.append(f"kzoo with `jit_compile={r.get('kzoo_jit_compile')}`")
    extra = {k: v for k, v in (r.get("hyperparameters") or {}).items() if k != "width"}
    notes += [f"{k}={v}" for k, v in extra.items()]
    if r.get("batch_size") != 64:
        notes.append(f"batch {r.get('batch_size')}")
    paths = r.get("torch_fast_paths")
    if paths is not None and set(paths) != set(TORCH_FAST_PATHS):  # some turned off
        notes.append(f"`KZOO_TORCH_FAST_PATHS={','.join(paths) or 'none'}`")
    return ", ".join([r["model"], *notes])


def markdown(results, extra=()):
    """One table per backend, a row per model (then the `extra` results of that backend)."""
    lines = []
    every = list(results) + list(extra)
    for backend in sorted({r["backend"] for r in every}, key=lambda b: BACKEND_ORDER.get(b, 9)):
        rows = [r for r in results if r["backend"] == backend] + [r for r in extra if r["backend"] == backend]
        plain = any("plain_img_s" in r for r in rows)
        variants = VARIANTS if plain else VARIANTS[:2]
        head = ["model", "kzoo img/s", "native img/s"] + (["plain img/s"] if plain else [])
        head += ["kzoo/native (paired)"] + (["kzoo/plain (paired)"] if plain else [])
        head += [f"% of SGEMM {' / '.join(variants)}", "SGEMM GFLOP/s", "load (1-min avg)"]
        lines += [f"**{backend}**" + ("" if plain else " (no plain variant)"), "",
                  "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            load = r.get("load_average_1min") or {}
            cells = [_label(r), _cell(r, "kzoo"), _cell(r, "native")] + ([_cell(r, "plain")] if plain else [])
            cells += [_ratio(r, "ratio")] + ([_ratio(r, "plain_ratio")] if plain else [])
            cells += [" / ".join(_pct(r, v) for v in variants), f"{r['sgemm_gflops']['best']:.0f}",
                      f"{load.get('before')} -> {load.get('after')}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    def spread(key):
        values = sorted({r.get(key) for r in every if r.get(key) is not None})
        if not values:
            return "?"
        return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"

    described = (f"batch {spread('batch_size')}, {spread('repeats')} repetitions of {spread('steps')} steps "
                 f"(each row's `steps` in its JSON), {spread('warmup_steps')} warm-up steps")
    lines.append(f"{described}; default widths. img/s: median (min-max) over the repetitions. Ratios: of the "
                 "medians, and in parentheses the median of the per-round ratios (each round runs the variants "
                 "back to back: steadier under load).")
    return "\n".join(lines)


def fast_path_pairs(results):
    """{(model, width, repeats): {"off": run without fast paths, "on": run with some}} for the
    torch runs that have both."""
    pairs = {}
    for r in (r for r in results if r["backend"] == "torch"):
        key = (r["model"], r.get("width"), r.get("repeats"))
        pairs.setdefault(key, {})["on" if r.get("torch_fast_paths") else "off"] = r
    return {k: v for k, v in pairs.items() if len(v) == 2}


def plot_fast_paths(results, out):
    """kzoo/plain (and kzoo/native) on torch per model, runs with KZOO_TORCH_FAST_PATHS=none beside
    runs with every fast path; a run's label is its model (and width when not the default)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pairs = fast_path_pairs(results)
    labels = [f"{m}\nwidth {w}" + (f", {n} reps" if n != 5 else "") for m, w, n in pairs]
    fig = Figure(figsize=(max(6, 1.3 * len(pairs)), 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bars = (("off", "plain_ratio", "kzoo/plain, Keras's own code", "#bbbbbb"),
            ("on", "plain_ratio", "kzoo/plain, fast paths", "#1f77b4"),
            ("on", "ratio", "kzoo/native, fast paths", "#ff7f0e"))
    for i, (state, field, label, color) in enumerate(bars):
        xs = [j + (i - 1) * 0.27 for j in range(len(pairs))]
        ax.bar(xs, [v[state][field] for v in pairs.values()], width=0.27, color=color, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(pairs)), labels, fontsize=8)
    ax.set_ylabel("throughput ratio (medians)")
    ax.set_ylim(0, 1.3)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    ax.set_title("torch, batch 64: kzoo against plain torch.nn and the hand-written Keras loop", fontsize=9)
    fig.tight_layout()
    fig.savefig(out)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Plot saved throughput results (benchmarks/results/throughput-*.json).")
    parser.add_argument("files", nargs="*", help="result files (default: benchmarks/results/throughput-*.json)")
    parser.add_argument("--out", default=os.path.join(_common.RESULTS, "throughput.png"))
    parser.add_argument("--fast-paths", action="store_true",
                        help="torch runs with and without KZOO_TORCH_FAST_PATHS: ratios before and after")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the README tables (with extra rows from benchmarks/results/experiment-*.json)")
    args = parser.parse_args(argv)
    files = args.files or sorted(glob.glob(os.path.join(_common.RESULTS, "throughput-*.json")))
    results = load_results(files)
    if not results:
        print(f"no throughput results in {files or os.path.join(_common.RESULTS, 'throughput-*.json')}", file=sys.stderr)
        return 1
    draw = plot_fast_paths if args.fast_paths else plot
    print(f"wrote {draw(results, args.out)} from {len(results)} results", file=sys.stderr)
    if args.markdown:
        extra = [] if args.files else load_results(sorted(glob.glob(os.path.join(_common.RESULTS, "experiment-*.json"))))
        print(markdown(results, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
