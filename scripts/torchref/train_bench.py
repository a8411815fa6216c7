#!/usr/bin/env python3
"""Times training steps of diffusers' UNet2DModel the way `loco train` takes them (DDPM ε loss on a random batch,
AdamW with betas (0.95, 0.999), weight decay 1e-6, eps 1e-8, gradient norm clipped at 1, then an EMA update of
every weight), and prints images/s as JSON. Run it on the same machine as `go test -bench TrainStep ./train` to
compare the two on one config.

    /usr/bin/python3 scripts/torchref/train_bench.py --config CONFIG_JSON --batch 16 --steps 5 --diffusers-src diffusers/src
"""
import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchref  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="UNet2DModel config.json (or a model folder holding one)")
    ap.add_argument("--diffusers-src", default=None)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5, help="timed steps (after --warmup untimed ones)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads (default: every core)")
    args = ap.parse_args()

    torchref.setup_diffusers(args.diffusers_src)
    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    path = args.config if args.config.endswith(".json") else os.path.join(args.config, "config.json")
    model = UNet2DModel.from_config(UNet2DModel.load_config(path)).to(args.device).train()
    sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8)
    ema = [p.detach().clone() for p in model.parameters()]
    c, s = model.config.in_channels, model.config.sample_size
    x0 = torch.rand(args.batch, c, s, s, device=args.device) * 2 - 1

    def step(n):
        noise = torch.randn_like(x0)
        t = torch.randint(0, 1000, (args.batch,), device=args.device)
        xt = sched.add_noise(x0, noise, t)
        loss = torch.nn.functional.mse_loss(model(xt, t).sample, noise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        decay = 0.0 if n <= 1 else min(0.9999, 1 - (1 + (n - 1)) ** -0.75)
        with torch.no_grad():
            for e, p in zip(ema, model.parameters()):
                e.sub_((1 - decay) * (e - p))
        return loss.item()

    for n in range(args.warmup):
        step(n + 1)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for n in range(args.steps):
        step(args.warmup + n + 1)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(json.dumps({"framework": "torch " + torch.__version__, "device": args.device, "threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in model.parameters()), "batch": args.batch, "steps": args.steps,
                      "s_per_step": dt / args.steps, "images_per_s": args.batch * args.steps / dt,
                      "machine": platform.processor() or platform.machine()}, indent=1))


if __name__ == "__main__":
    main()
