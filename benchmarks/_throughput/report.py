"""The throughput benchmark's result: one JSON object (img/s, ratios, FLOPs, machine, versions) and its table."""

import datetime
import statistics
import sys

import _common


def build_result(args, spec, model, variants, skipped, warmup_s, wall, cpu, sgemm, load_before):
    import flops as flops_module

    count = flops_module.train_step_flops(model, args.batch_size)
    per_rep = args.steps * args.batch_size
    result = {
        "backend": args.backend,
        "model": args.model,
        "batch_size": args.batch_size,
        "width": spec.hyperparameters.get("width"),
        "d_steps": spec.d_steps,
        "steps": args.steps,
        "repeats": args.repeats,
        "warmup_steps": args.warmup,
        "hyperparameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in args.hyperparameters.items()},
        "kzoo_jit_compile": bool(model.jit_compile),
    }
    img_s = {name: [per_rep / s for s in seconds] for name, seconds in wall.items()}
    for name in ("kzoo", "native", "plain"):
        if name in img_s:
            stats = _common.summary(img_s[name])
            result[f"{name}_img_s"] = stats["median"]
            result[f"{name}_img_s_min"] = stats["min"]
            result[f"{name}_img_s_max"] = stats["max"]
    if "kzoo" in img_s and "native" in img_s:
        result["ratio"] = round(result["kzoo_img_s"] / result["native_img_s"], 3)
    if "kzoo" in img_s and "plain" in img_s:
        result["plain_ratio"] = round(result["kzoo_img_s"] / result["plain_img_s"], 3)
    # Ratios within each round (same moment, same load): steadier than ratios of medians.
    for other, key in (("native", "ratio_paired"), ("plain", "plain_ratio_paired")):
        if "kzoo" in img_s and other in img_s:
            result[key] = round(statistics.median(k / o for k, o in zip(img_s["kzoo"], img_s[other])), 3)
    result["img_s_per_repeat"] = {k: [round(v, 2) for v in vals] for k, vals in img_s.items()}
    result["cpu_cores_used"] = {  # process CPU time / wall time: < number of cores when others run
        k: round(statistics.median(c / w for c, w in zip(cpu[k], wall[k])), 2) for k in wall}
    result["warmup_s"] = warmup_s
    kzoo_variant = next((v for v in variants if v.name == "kzoo"), None)
    if kzoo_variant is not None:
        # The measured repetitions only (not the warm-up and calibration calls). kzoo_img_s
        # includes fit()'s per-call set-up and tear-down; the window leaves them out.
        result["kzoo_fit_overhead_s"] = _common.summary(kzoo_variant.overhead_s[-args.repeats:], 3)
        result["kzoo_window_img_s"] = _common.summary([per_rep / w for w in kzoo_variant.window_s[-args.repeats:]])
    result["skipped"] = skipped
    result["parameters"] = {v.name: v.parameters() for v in variants}
    result["flops_per_step"] = count["step"]
    result["flops_per_image"] = count["per_image"]
    result["sgemm_gflops"] = sgemm
    peak = sgemm["best"] * 1e9
    result["fraction_of_sgemm"] = {
        k: float(f"{result[f'{k}_img_s'] * count['per_image'] / peak:.4g}") for k in img_s}
    result["machine"] = _common.cpu_model()
    result["load_average_1min"] = {"before": load_before, "after": _common.load_average()}
    result["threads"] = {"requested": args.threads, **_framework_threads(args.backend)}
    result["versions"] = _common.versions(args.backend)
    if args.backend == "torch":  # KZOO_TORCH_FAST_PATHS: which of kzoo's torch fast paths ran
        from kzoo.backend import torch as torch_backend

        result["torch_fast_paths"] = sorted(torch_backend.FAST_PATHS)
    result["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    result["command"] = " ".join(["python", "benchmarks/throughput.py", *sys.argv[1:]])
    return result


def _framework_threads(backend):
    if backend == "torch":
        import torch

        return {"torch_intra_op": torch.get_num_threads()}
    if backend == "tensorflow":
        import tensorflow as tf

        return {"tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    return {}


def print_table(result):
    print(f"{result['model']} on {result['backend']}, batch {result['batch_size']}, width {result['width']}, "
          f"d_steps {result['d_steps']}: {result['repeats']} x {result['steps']} steps per variant")
    print(f"{'variant':8} {'img/s median':>12} {'min':>8} {'max':>8} {'% SGEMM':>8} {'params':>10}")
    for name in ("kzoo", "native", "plain"):
        if f"{name}_img_s" in result:
            print(f"{name:8} {result[f'{name}_img_s']:12.1f} {result[f'{name}_img_s_min']:8.1f} "
                  f"{result[f'{name}_img_s_max']:8.1f} {100 * result['fraction_of_sgemm'][name]:7.1f}% "
                  f"{result['parameters'][name]:>10}")
    for name, reason in result["skipped"].items():
        print(f"{name:8} skipped: {reason}")
    for key in ("ratio", "ratio_paired", "plain_ratio", "plain_ratio_paired"):
        if key in result:
            print(f"{key} = {result[key]}")
    print(f"{result['flops_per_step'] / 1e9:.2f} GFLOP per step; numpy SGEMM best {result['sgemm_gflops']['best']} "
          f"GFLOP/s; load average {result['load_average_1min']}; CPU {result['machine']}")
