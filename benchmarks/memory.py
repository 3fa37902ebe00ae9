"""Peak memory of `kzoo train` on data sets of growing size: what holding images as uint8 costs.

    python benchmarks/memory.py                                   # jax; the full sizes (minutes, ~2.2 GB of disk)
    python benchmarks/memory.py --backend torch --json --out benchmarks/results/memory

Each case runs, in a fresh process,

    kzoo train dcgan --backend B --epochs 1 --steps-per-epoch 20 --set width=4 --dataset D

and reads that process's peak resident set (VmHWM of /proc/self/status, written as it exits:
the file pages a memory map touched included). The data sets, generated into a temporary folder:

  mnist-5k        the embedded digits (the reference: every difference is against it)
  folder          --images 64x64 RGB PNGs, emoji32's emoji enlarged, shifted and flipped at random
  npy-N           an .npy of N 64x64x3 uint8 images (--npy-images), memory-mapped by kzoo
  npy-baseline    the same, one epoch's worth (steps x batch size): the 64x64 model's own memory

For each case the JSON gives the peak (MB), its difference from mnist-5k, the data's uint8 size
and their ratio. The goal: the folder's difference at most 1.2x its uint8 size (the pixels held
once, as uint8; float32 would be 4x), and the .npy peaks the same whatever the file's size (a
memory map, never read whole). Memory figures only: nothing here is timed.
"""

import argparse
import concurrent.futures
import datetime
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common

CASES = ("mnist-5k", "folder", "npy")
MB = 2**20


# The child: kzoo's command line, in-process, writing its own peak resident set (VmHWM) at exit.
# VmHWM belongs to the process's address space, made fresh at exec; ru_maxrss (getrusage, wait4)
# is not: Linux carries the forking parent's peak into it, and this script's own memory maps of
# the files it generated would show up in every child.
CHILD = r"""
import atexit, runpy, sys

def report(path=sys.argv[1]):
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(str(int(peak.split()[1]) * 1024))

atexit.register(report)
sys.argv = ["kzoo"] + sys.argv[2:]
runpy.run_module("kzoo", run_name="__main__")
"""


def peak_rss_of(command, env, work):
    """(exit status, peak resident set in bytes, the output's tail) of kzoo `command` (its arguments) in a child process."""
    report = os.path.join(work, "peak")
    result = subprocess.run([sys.executable, "-c", CHILD, report, *command], env=env, check=False,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    if os.path.exists(report):
        with open(report) as f:
            peak = int(f.read())
        os.remove(report)
    return result.returncode, peak, result.stdout[-2000:].decode(errors="replace")


def emoji_variants(count, size, seed=0):
    """`count` size x size RGB uint8 images: emoji32's emoji enlarged, shifted by up to size/8 and flipped."""
    from PIL import Image

    from kzoo import data

    emoji, _ = data.load_pixels("emoji32")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(emoji), count)
    shifts = rng.integers(-(size // 8), size // 8 + 1, (count, 2))
    flips = rng.random(count) < 0.5
    for i in range(count):
        image = np.asarray(Image.fromarray(emoji[rows[i]]).resize((size, size), Image.BICUBIC))
        image = np.roll(image, tuple(shifts[i]), axis=(0, 1))
        yield image[:, ::-1] if flips[i] else image


def write_folder(folder, count, size):
    """A folder of `count` PNGs (no class subfolders), written on a thread per core."""
    os.makedirs(folder)
    from PIL import Image

    def save(item):
        i, image = item
        Image.fromarray(image).save(os.path.join(folder, f"{i:06d}.png"), compress_level=1)

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(save, enumerate(emoji_variants(count, size)), chunksize=64))


def write_npy(path, count, size, chunk=4096):
    """An .npy of `count` size x size x 3 uint8 images, written in chunks (never whole in memory)."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, size, size, 3))
    variants = emoji_variants(min(count, chunk), size)  # a chunk's worth, repeated with a shift
    block = np.stack(list(variants))
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        array[start:stop] = np.roll(block[: stop - start], start // chunk, axis=2)
    array.flush()
    del array


def train_command(args, dataset, out):
    return [
        "train", "dcgan", "--backend", args.backend, "--epochs", "1",
        "--steps-per-epoch", str(args.steps), "--batch-size", str(args.batch_size), "--set", f"width={args.width}",
        "--seed", "0", "--dataset", dataset, "--out", out,
    ]


def measure(args, work):
    """[{case, dataset, images, uint8_mb, peak_rss_mb}] for every case asked for."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)  # --backend decides
    env["PYTHONPATH"] = os.pathsep.join([_common.REPO] + [p for p in [env.get("PYTHONPATH")] if p])
    plan = []  # (case, dataset, images, shape)
    if "mnist-5k" in args.cases:
        plan.append(("mnist-5k", "mnist-5k", 5000, (28, 28, 1)))
    if "folder" in args.cases:
        folder = os.path.join(work, "folder")
        write_folder(folder, args.images, args.size)
        plan.append(("folder", folder, args.images, (args.size, args.size, 3)))
    if "npy" in args.cases:
        baseline = args.steps * args.batch_size
        for count in [baseline] + args.npy_images:
            path = os.path.join(work, f"images-{count}.npy")
            write_npy(path, count, args.size)
            name = "npy-baseline" if count == baseline else f"npy-{count}"
            plan.append((name, path, count, (args.size, args.size, 3)))
    rows = []
    for case, dataset, images, shape in plan:
        out = os.path.join(work, f"run-{case}")
        code, peak, tail = peak_rss_of(train_command(args, dataset, out), env, work)
        if code != 0:
            raise SystemExit(f"kzoo train on {case} failed ({code}):\n{tail}")
        shutil.rmtree(out, ignore_errors=True)
        uint8_bytes = images * int(np.prod(shape))
        rows.append({"case": case, "images": images, "image_shape": list(shape), "uint8_bytes": uint8_bytes,
                     "uint8_mb": round(uint8_bytes / MB, 1), "peak_rss_bytes": peak, "peak_rss_mb": round(peak / MB, 1)})
        if case.startswith("npy-") and case != "npy-baseline":
            os.remove(dataset)  # disk: the next file may be larger
    reference = next((r["peak_rss_bytes"] for r in rows if r["case"] == "mnist-5k"), None)
    for row in rows:
        if reference is not None and row["case"] != "mnist-5k":
            difference = row["peak_rss_bytes"] - reference
            row["minus_mnist_5k_mb"] = round(difference / MB, 1)
            row["minus_mnist_5k_per_uint8"] = round(difference / row["uint8_bytes"], 2)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=_common.BACKENDS)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument("--images", type=int, default=30000, help="PNGs in the folder")
    parser.add_argument("--npy-images", default="30000,120000", help="images in each .npy, comma-separated")
    parser.add_argument("--size", type=int, default=64, help="height and width of the generated images")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", help="a folder: write memory-<backend>.json into it")
    parser.add_argument("--work", help="where to generate the data sets (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    args.npy_images = [int(n) for n in args.npy_images.split(",") if n.strip()]
    _common.select_backend(args.backend)  # for the versions this process reports (the children get --backend)

    work = tempfile.mkdtemp(prefix="kzoo-memory-", dir=args.work)
    try:
        rows = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "memory",
        "backend": args.backend,
        "command": f"kzoo train dcgan --epochs 1 --steps-per-epoch {args.steps} --batch-size {args.batch_size} "
                   f"--set width={args.width} --dataset D",
        "measure": "peak resident set of the training process (VmHWM), MB",
        "cases": rows,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _common.cpu_model(),
        "versions": _common.versions(args.backend),
    }
    if args.out:
        _common.save_json(result, os.path.join(args.out, f"memory-{args.backend}.json"))
    if args.json:
        _common.print_json(result)
    else:
        print(f"{'case':<14} {'images':>8} {'uint8 MB':>9} {'peak MB':>8} {'- mnist-5k':>11} {'/ uint8':>8}")
        for r in rows:
            print(f"{r['case']:<14} {r['images']:>8} {r['uint8_mb']:>9} {r['peak_rss_mb']:>8} "
                  f"{r.get('minus_mnist_5k_mb', ''):>11} {r.get('minus_mnist_5k_per_uint8', ''):>8}")


if __name__ == "__main__":
    main()
