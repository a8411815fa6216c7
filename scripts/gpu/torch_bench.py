#!/usr/bin/env python3
"""PyTorch side of the GPU run: times diffusers' UNet2DModel on the work `gpucheck bench` timed — forward, VJP
and JVP of ε at each batch size, and the network work of one whole LOCO edit (the same numbers of forward passes
and Jacobian products at the same batch sizes, from gpucheck's edit_work) — with peak memory, and compares ε with
GoMLX's on the same weights and input.

    python3 scripts/gpu/torch_bench.py --model DIR --ours bench-ours.json --json bench-torch.json [--device cuda] [--tf32]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torchref"))
import torchref  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="diffusers model folder (gpucheck bench --save-model)")
    ap.add_argument("--config", default=None, help="without --model: a UNet2DModel config.json, random weights")
    ap.add_argument("--ours", default=None, help="gpucheck bench JSON: batch sizes, edit work and ε file to match")
    ap.add_argument("--diffusers-src", default=None)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in matmuls and convolutions")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=0, help="skip what would start after this many seconds")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    start = time.perf_counter()

    torchref.setup_diffusers(args.diffusers_src)
    import numpy as np
    import torch
    from diffusers import UNet2DModel

    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
    if args.model:
        model = UNet2DModel.from_pretrained(args.model, low_cpu_mem_usage=False)
    elif args.config:
        torch.manual_seed(0)
        model = UNet2DModel.from_config(UNet2DModel.load_config(args.config))
    else:
        raise SystemExit("give --model or --config")
    model = torchref.classic_attention(model).to(dev).eval().requires_grad_(False)
    cfg = model.config
    shape = (cfg.in_channels, cfg.sample_size, cfg.sample_size)
    ours = {}
    if args.ours and os.path.exists(args.ours):
        with open(args.ours) as f:
            ours = json.load(f)
    batches = sorted({t["batch"] for t in ours.get("timings", [])}) or [int(b) for b in args.batch.split(",")]
    res = {"framework": "torch " + torch.__version__, "device": torch.cuda.get_device_name(dev) if cuda else "cpu",
           "tf32": bool(args.tf32 and cuda), "timings": [], "edit": [], "edit_peak_mem_mb": 0, "eps_check": None, "notes": []}
    if not args.model:
        res["notes"].append(f"random weights from {args.config} (GoMLX's weights were not available)")
    use_func = [hasattr(torch, "func") and hasattr(torch.func, "jvp")]

    def save():
        if args.json:
            with open(args.json + ".tmp", "w") as f:
                json.dump(res, f, indent=1)
            os.replace(args.json + ".tmp", args.json)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def late():
        return args.time_limit > 0 and time.perf_counter() - start > args.time_limit

    def eps(x, t):
        return model(x, t).sample

    def jvp(f, x, v):
        if use_func[0]:
            try:
                return torch.func.jvp(f, (x,), (v,))[1]
            except Exception as e:  # an op without a forward-mode rule: fall back to double backward
                use_func[0] = False
                res["notes"].append(f"torch.func.jvp failed ({type(e).__name__}: {str(e)[:200]}); JVPs use double backward")
        return torch.autograd.functional.jvp(f, x, v)[1]

    def vjp(f, x, u):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            return torch.autograd.grad(f(x), x, u)[0]

    g = torch.Generator(device="cpu").manual_seed(0)

    def randn(*s):
        return torch.randn(*s, generator=g).to(dev)

    t500 = torch.tensor([500.0], device=dev)
    # ε on GoMLX's input, same weights.
    if ours.get("eps_file") and os.path.exists(ours["eps_file"]):
        t, _ = torchref.read_safetensors(ours["eps_file"])
        with torch.no_grad():
            e = eps(torch.from_numpy(t["x"]).to(dev), torch.from_numpy(t["t"]).to(dev).expand(t["x"].shape[0])).cpu().numpy()
        res["eps_check"] = {"max_abs_diff": float(np.abs(e - t["eps"]).max()), "max_abs_eps": float(np.abs(t["eps"]).max())}
        save()

    for what in ["forward", "vjp", "jvp"]:
        for b in batches:
            if late():
                res["notes"].append(f"skipped (time): {what}/{b}")
                continue
            x1 = randn(1, *shape)
            xb = x1.expand(b, *shape).contiguous()
            xf = randn(b, *shape)
            tb = t500.expand(b)
            d = randn(b, *shape)
            f = lambda x: eps(x, tb)  # noqa: E731
            run = {"forward": lambda: torch.no_grad()(f)(xf),
                   "vjp": lambda: vjp(f, xb, d), "jvp": lambda: jvp(f, xb, d)}[what]
            rec = {"what": what, "batch": b}
            try:
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                run()
                sync()
                rec["first_s"] = time.perf_counter() - t0
                runs = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    run()
                    sync()
                    runs.append((time.perf_counter() - t0) * 1000)
                rec.update(median_ms=statistics.median(runs), min_ms=min(runs), runs_ms=runs)
                if cuda:
                    rec["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
            except Exception as e:  # report and go on (e.g. out of memory)
                rec["error"] = f"{type(e).__name__}: {e}"
            res["timings"].append(rec)
            print(f"{what:8s} batch {b}: first {rec.get('first_s', 0):.2f} s, median {rec.get('median_ms', 0):.2f} ms {rec.get('error', '')}", flush=True)
            save()

    work = ours.get("edit_work")
    if work and not late():
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        for i in range(len(ours.get("edit", [])) or 1):
            if late():
                break
            r = edit(work, model, shape, dev, randn, eps, jvp, vjp, sync)
            res["edit"].append(r)
            print(f"edit {i + 1}: {r['total_s']:.2f} s {r['stages_s']}", flush=True)
            save()
        if cuda:
            res["edit_peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
        res["notes"].append("edit: the same network work as GoMLX's (forward passes and Jacobian products at the same batch sizes), DDIM updates, no subspace algebra")
    res["notes"].append("JVP: " + ("torch.func.jvp (forward mode)" if use_func[0] else "torch.autograd.functional.jvp (double backward)"))
    res["notes"].append("inputs and outputs stay on the device (GoMLX's timings include copying them from and to the host)")
    save()


def edit(work, model, shape, dev, randn, eps, jvp, vjp, sync):
    """Repeats the network work of one LOCO edit (see gpucheck's editWork)."""
    import torch
    stages = {}
    ab, ab_next = 0.5, 0.49

    def ddim(x, t, n, batch):
        for _ in range(n):
            with torch.no_grad():
                e = eps(x, t.expand(batch))
                x0 = (x - (1 - ab) ** 0.5 * e) / ab ** 0.5
                x = ab_next ** 0.5 * x0 + (1 - ab_next) ** 0.5 * e
        return x

    t = torch.tensor([500.0], device=dev)
    total0 = time.perf_counter()
    x = randn(1, *shape)
    for name, n in [("inversion", work["inversion_evals"]), ("denoise to the edit time", work["denoise_evals"])]:
        t0 = time.perf_counter()
        x = ddim(x, t, n, 1)
        sync()
        stages[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    subs = work.get("subspaces") or []
    steps = max([s["iterations"] for s in subs] or [0])
    for i in range(steps):
        k = sum(max(1, s["products"] // max(1, s["iterations"])) for s in subs if i < s["iterations"])
        xb = x.expand(k, *shape).contiguous()
        tb = t.expand(k)
        f = lambda z: (z - (1 - ab) ** 0.5 * eps(z, tb)) / ab ** 0.5  # noqa: E731  x̂0
        jv = jvp(f, xb, randn(k, *shape))
        vjp(f, xb, jv)
    sync()
    stages["edit direction"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ddim(x.expand(work["strip_images"], *shape).contiguous(), t, work["strip_evals"], work["strip_images"])
    sync()
    stages["edit strip"] = time.perf_counter() - t0
    return {"total_s": time.perf_counter() - total0, "stages_s": stages}


if __name__ == "__main__":
    main()
