#!/usr/bin/env python3
"""Checks that a model folder written by `loco train` is a diffusers model: UNet2DModel.from_pretrained(DIR) and
DDPMScheduler.from_pretrained(DIR) load it, and diffusers' ε equals `loco eps --model DIR` on random inputs.

Usage (from the repository root; diffusers from a source checkout, e.g. git clone -b v0.29.2
https://github.com/huggingface/diffusers):

    /usr/bin/python3 scripts/torchref/check_export.py --model RUN_DIR --diffusers-src diffusers/src [--loco BIN]

Exit status 0 when the largest difference is within --tol (default 1e-4), 1 otherwise.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchref  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder written by loco train")
    ap.add_argument("--diffusers-src", default=None, help="diffusers source folder (default $DIFFUSERS_SRC or an installed diffusers)")
    ap.add_argument("--loco", default="go run ./cmd/loco", help="command that runs loco (default: go run ./cmd/loco)")
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--json", default=None, help="write the result here as JSON")
    args = ap.parse_args()

    torchref.setup_diffusers(args.diffusers_src)
    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    model = torchref.classic_attention(UNet2DModel.from_pretrained(args.model, low_cpu_mem_usage=False).eval())
    sched = DDPMScheduler.from_pretrained(args.model)
    cfg = model.config
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch, cfg.in_channels, cfg.sample_size, cfg.sample_size)).astype(np.float32)
    t = np.linspace(10, sched.config.num_train_timesteps - 10, args.batch).round().astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x), torch.from_numpy(t)).sample.numpy()

    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "eps.safetensors")
        torchref.write_safetensors(inp, {"x": x, "t": t})
        cmd = shlex.split(args.loco) + ["eps", "--model", args.model, "--in", inp, "--out", out, "--quiet"]
        subprocess.run(cmd, check=True)
        got = torchref.read_safetensors(out)[0]["eps"]

    diff = float(np.abs(got - ref).max())
    res = {"model": args.model, "params": int(sum(p.numel() for p in model.parameters())), "batch": args.batch,
           "t": t.tolist(), "max_abs_diff": diff, "max_abs_eps": float(np.abs(ref).max()), "tol": args.tol,
           "torch": torch.__version__, "scheduler": type(sched).__name__, "ok": diff <= args.tol}
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
