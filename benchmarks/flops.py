"""Floating-point operations of one kzoo training step, counted analytically from the layers.

    python benchmarks/flops.py                       # every built-in model, default widths
    python benchmarks/flops.py --model dcgan --width 64 --batch-size 64 --sgemm --json

Counted: Dense, Conv2D and Conv2DTranspose (forward = 2 x multiply-accumulates, per image);
biases, batch normalization, activations, embeddings and the losses are left out (well under
1% for the built-in models). A network's forward + backward pass is taken as 3 x its forward
(the backward computes input and weight gradients, about 2 x forward). One training step is

    d_steps x (G forward + D forward+backward on the real and on the fake batch)
  + G forward+backward + D forward+backward (through which the generator's gradient flows)

i.e. per image d_steps x (F_G + 6 F_D) + 3 F_G + 3 F_D. With --sgemm, the script also measures
numpy's float32 matrix multiply rate (2048 x 2048), the practical ceiling of this CPU.

Building the networks needs keras; the backend does not matter (--backend, default jax:
the quickest to import).
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common


def _dims(shape):
    return [int(d) for d in shape[1:]]


def layer_forward_flops(layer):
    """Forward FLOPs per image of one layer (0 for layers that are not counted), for every call site."""
    import keras

    if isinstance(layer, keras.Model):
        return network_forward_flops(layer)["total"]
    counted = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    if not isinstance(layer, counted):
        return 0
    total = 0
    for node in layer._inbound_nodes:  # a shared layer counts once per call
        in_shape = _dims(node.arguments.keras_tensors[0].shape)
        out_shape = _dims(node.outputs[0].shape)
        kernel = [int(d) for d in layer.kernel.shape]
        if isinstance(layer, keras.layers.Dense):
            # kernel (in, units); leading dimensions (if any) repeat the product.
            total += 2 * math.prod(out_shape[:-1]) * kernel[0] * kernel[1]
            continue
        channels_last = getattr(layer, "data_format", "channels_last") == "channels_last"
        spatial = (lambda s: s[:-1]) if channels_last else (lambda s: s[1:])
        # Conv2D kernel (kh, kw, in, out), Conv2DTranspose kernel (kh, kw, out, in): the product
        # of all four is the MACs per output pixel (Conv2D) or per input pixel (transposed).
        transposed = isinstance(layer, keras.layers.Conv2DTranspose)
        pixels = math.prod(spatial(in_shape) if transposed else spatial(out_shape))
        # (A grouped Conv2D's kernel holds in/groups input channels: the product stays right.)
        total += 2 * pixels * math.prod(kernel)
    return total


def network_forward_flops(network):
    """{"total": forward FLOPs per image, "layers": [(name, flops), ...]} of a Keras model."""
    rows = []
    for layer in network.layers:
        flops = layer_forward_flops(layer)
        if flops:
            rows.append((layer.name, int(flops)))
    return {"total": int(sum(f for _, f in rows)), "layers": rows}


def train_step_flops(model, batch_size=1):
    """FLOPs of one adversarial training step (one generator update) of a kzoo model.

    Returns per-image forward counts of both networks, the D and G update costs per image,
    and `step` = the whole training step for `batch_size` images.
    """
    g = network_forward_flops(model.generator)
    d = network_forward_flops(model.discriminator)
    f_g, f_d = g["total"], d["total"]
    d_steps = int(getattr(model, "d_steps", 1))
    d_update = f_g + 2 * 3 * f_d  # G forward, then D forward+backward on real and on fake
    g_update = 3 * f_g + 3 * f_d  # G and D forward+backward
    per_image = d_steps * d_update + g_update
    return {
        "generator_forward": f_g,
        "discriminator_forward": f_d,
        "d_steps": d_steps,
        "d_update_per_image": d_update,
        "g_update_per_image": g_update,
        "per_image": per_image,
        "batch_size": batch_size,
        "step": per_image * batch_size,
        "generator_layers": g["layers"],
        "discriminator_layers": d["layers"],
    }


def builtin_models():
    """Names of kzoo's own models (plugins left out)."""
    from kzoo import registry

    return [e.name for e in registry.entries() if e.builtin]


def model_flops(name, width=None, batch_size=64, **hyperparameters):
    """Build model `name` (kzoo.create_model) and count its training step."""
    import kzoo

    model = kzoo.create_model(name, width=width, **hyperparameters)
    out = train_step_flops(model, batch_size)
    out["model"] = name
    out["width"] = getattr(model, "width", None)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="all", help="a model name or 'all' (the built-in models; plugins are left out)")
    parser.add_argument("--width", type=int, default=None, help="default: each model's own")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backend", default=None, help="keras backend to build with (default: $KERAS_BACKEND or jax)")
    parser.add_argument("--sgemm", action="store_true", help="also measure numpy's float32 SGEMM rate")
    parser.add_argument("--layers", action="store_true", help="print the per-layer counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    sgemm = _common.sgemm_gflops() if args.sgemm else None  # before any framework loads
    _common.select_backend(args.backend or _common.default_backend())
    import logging


    logging.getLogger("kzoo.registry").setLevel(logging.ERROR)  # broken third-party plugins
    names = builtin_models() if args.model == "all" else [args.model]
    results = [model_flops(n, args.width, args.batch_size) for n in names]

    if args.json:
        out = {"batch_size": args.batch_size, "models": {r["model"]: r for r in results}}
        if not args.layers:
            for r in results:
                r.pop("generator_layers"), r.pop("discriminator_layers")
        if sgemm:
            out["sgemm_gflops"] = sgemm
            out["cpu"] = _common.cpu_model()
            out["load_average_1min"] = _common.load_average()
        _common.print_json(out)
        return 0

    print(f"FLOPs per training step (one generator update), batch {args.batch_size}; M = 1e6, G = 1e9")
    print(f"{'model':8} {'width':>5} {'d_steps':>7} {'F_G/img':>10} {'F_D/img':>10} {'step/img':>10} {'step':>10}")
    for r in results:
        print(
            f"{r['model']:8} {r['width'] or '':>5} {r['d_steps']:>7} {r['generator_forward'] / 1e6:9.2f}M "
            f"{r['discriminator_forward'] / 1e6:9.2f}M {r['per_image'] / 1e6:9.1f}M {r['step'] / 1e9:9.2f}G"
        )
        if args.layers:
            for title, rows in (("generator", r["generator_layers"]), ("discriminator", r["discriminator_layers"])):
                for layer, flops in rows:
                    print(f"    {title:13} {layer:24} {flops / 1e6:10.2f}M")
    if sgemm:
        cpu = _common.cpu_model()
        print(
            f"numpy float32 SGEMM {sgemm['n']}x{sgemm['n']}: best {sgemm['best']} GFLOP/s, median {sgemm['median']} "
            f"({cpu['cpu']}, {cpu['cpus']} CPUs, 1-min load average {_common.load_average()})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
