#!/usr/bin/python3
"""Times diffusers' UNet2DModel under PyTorch on CPU: forward, VJP and JVP of eps with respect to x.

The yardstick for the Go UNet's benchmarks (hf/diffusers/bench_test.go runs this script once when its
prerequisites are present and prints both sets of numbers in the same run). Needs PyTorch (Debian's
python3-torch works) and a diffusers source tree (v0.29.x; only its src/ folder is read), loaded by
scripts/torchref (diffusers' optional dependencies stood in for, the weights read with numpy).

    /usr/bin/python3 scripts/torch-unet-bench.py --diffusers-src DIR/src --model testdata/golden/tiny-ddpm-unet \\
        --batches 1,8 --passes forward,vjp,jvp --threads 2 --rounds 3

It prints one JSON object per line: {"pass", "batch", "threads", "ms_per_sample" (median over rounds),
"ms_per_sample_all", "cpu_ms_per_sample", "torch"}.

With --serve it loads the model once, prints {"ready": true, "torch": ...}, then reads requests from standard
input, one per line, "PASS BATCH ROUNDS MIN_SECONDS", and answers each with one JSON line as above (the Go
benchmarks use this to time PyTorch between their own rounds).

Passes, matching the Go benchmarks: forward is eps = unet(x, t) without autograd; vjp is eps and uᵀ·∂eps/∂x by
one backward pass; jvp is eps and ∂eps/∂x·v by reverse mode twice (the double-backward trick, which is what
torch.autograd.functional.jvp does; forward-mode AD of this model is not available in PyTorch 1.13).
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchref"))
import torchref  # noqa: E402  (diffusers from a source folder, safetensors with numpy)


def load_model(src, model_dir):
    """diffusers' UNet2DModel from a source folder, with the weights of model_dir (config.json + safetensors)."""
    import torch

    if not os.path.isfile(os.path.join(src, "diffusers", "models", "unets", "unet_2d.py")):
        sys.exit(f"torch-unet-bench: {src} is not a diffusers src/ folder (no diffusers/models/unets/unet_2d.py)")
    torchref.setup_diffusers(src)
    from diffusers import UNet2DModel

    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = UNet2DModel(**{k: v for k, v in config.items() if not k.startswith("_")})
    weights, _ = torchref.read_safetensors(os.path.join(model_dir, "diffusion_pytorch_model.safetensors"))
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    if missing or unexpected:
        sys.exit(f"torch-unet-bench: weights do not match the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return torchref.classic_attention(model).eval(), config


def make_pass(model, which):
    import torch

    def eps(x, t):
        return model(x, t).sample

    if which == "forward":

        def run(x, t, d):
            with torch.no_grad():
                return eps(x, t)

    elif which == "vjp":

        def run(x, t, d):
            x = x.detach().requires_grad_(True)
            y = eps(x, t)
            (g,) = torch.autograd.grad(y, x, d)
            return y.detach(), g

    elif which == "jvp":

        def run(x, t, d):
            x = x.detach().requires_grad_(True)
            y = eps(x, t)
            w = torch.zeros_like(y, requires_grad=True)
            (g,) = torch.autograd.grad(y, x, w, create_graph=True)
            (j,) = torch.autograd.grad(g, w, d)
            return y.detach(), j

    else:
        raise ValueError(f"unknown pass {which!r} (forward, vjp, jvp)")
    return run


def time_pass(model, config, which, batch, rounds, min_seconds, threads):
    """Median wall and CPU milliseconds per sample of a pass over rounds, each repeating it for min_seconds."""
    import torch

    size, channels = config["sample_size"], config["in_channels"]
    gen = torch.Generator().manual_seed(batch)
    x = torch.randn(batch, channels, size, size, generator=gen)
    d = torch.randn(batch, channels, size, size, generator=gen)
    t = torch.tensor([595.36359 - 50 * i for i in range(batch)], dtype=torch.float32)
    run = make_pass(model, which)
    run(x, t, d)  # warm-up
    wall, cpu = [], []
    for _ in range(rounds):
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            run(x, t, d)
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        wall.append(elapsed * 1e3 / (n * batch))
        cpu.append((time.process_time() - c0) * 1e3 / (n * batch))
    return {"pass": which, "batch": batch, "threads": threads, "ms_per_sample": statistics.median(wall),
            "ms_per_sample_all": wall, "cpu_ms_per_sample": statistics.median(cpu), "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--diffusers-src", required=True, help="diffusers' src/ folder (v0.29.x)")
    ap.add_argument("--model", required=True, help="folder with config.json and diffusion_pytorch_model.safetensors")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--passes", default="forward,vjp,jvp")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per case; the median is reported")
    ap.add_argument("--min-seconds", type=float, default=0.5, help="least time per round (repeats the pass)")
    ap.add_argument("--serve", action="store_true", help="answer timing requests from standard input")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    model, config = load_model(args.diffusers_src, args.model)
    if args.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": args.threads}), flush=True)
        for line in sys.stdin:
            fields = line.split()
            if not fields:
                continue
            try:
                which, batch, rounds, min_seconds = fields[0], int(fields[1]), int(fields[2]), float(fields[3])
                result = time_pass(model, config, which, batch, rounds, min_seconds, args.threads)
            except Exception as e:  # report, keep serving
                result = {"error": f"{type(e).__name__}: {e}", "request": line.strip()}
            print(json.dumps(result), flush=True)
        return
    for batch in [int(b) for b in args.batches.split(",")]:
        for which in args.passes.split(","):
            print(json.dumps(time_pass(model, config, which, batch, args.rounds, args.min_seconds, args.threads)),
                  flush=True)


if __name__ == "__main__":
    main()
