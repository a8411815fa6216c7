#!/usr/bin/python3
"""Times one LOCO edit with the authors' own code (github.com/ChicyChen/LOCO-Edit) on the golden tiny model.

The yardstick for `go test -run XXX -bench AuthorsEdit ./loco`, which runs the same workload with this project's
code: DDIM inversion of the golden image (98 steps), DDIM to the edit index 40, the edit direction (their
generalized power method: rank 1 on the mask, rank 5 on the complement, at most 50 iterations each, then the
null-space projection) and the decode of [original, edited] to t = 0 (59 steps, with their quality boosting).

    /usr/bin/python3 scripts/authors-edit-bench.py --loco-src LOCO-Edit/src --diffusers-src diffusers/src \\
        --model testdata/golden/tiny-ddpm-unet --golden testdata/golden/golden.safetensors --threads 2

It prints one JSON line per round: wall and CPU seconds per stage, iterations of each subspace computation,
Jacobian products, and the top singular value found. On a machine shared with other work, PyTorch's OpenMP
threads spin while waiting for each other: --threads 1 then gives the steadier figures.

The authors' modules are imported as they are (diffusers through scripts/torchref), with what this machine lacks
stubbed (SAM, plotting, progress bars, dataset loaders, einops' einsum re-expressed with torch.einsum) and one
compatibility patch: PyTorch 1.13's
forward-mode AD of group_norm fails on the UNet's activations ("view size is not compatible"), so inside their
forward-mode Jacobian products (torch.func.jacfwd, here functorch.jacfwd) group_norm is computed by its
definition with reshape; everywhere else PyTorch's own kernel runs.
"""

import argparse
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
import time
import types


def _load_torch_unet_bench():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-unet-bench.py")
    spec = importlib.util.spec_from_file_location("torch_unet_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stub(name, **attrs):
    module = types.ModuleType(name)
    module.__path__ = []
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def _einops_einsum(*args):
    """einops.einsum(t1, t2, ..., 'a b, c b -> a') with torch.einsum."""
    import torch

    *tensors, pattern = args
    lhs, out = pattern.split("->")
    names, letters = {}, iter("abcdefghijklmnopqrstuvwxyz")

    def conv(spec):
        return "".join(names.setdefault(n, next(letters)) for n in spec.split())

    inputs = [conv(s) for s in lhs.split(",")]
    return torch.einsum(",".join(inputs) + "->" + conv(out), *tensors)


def _group_norm_by_definition(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[:2]
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    x = ((x - mean) / (var + eps).sqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        x = x * weight.reshape(shape)
    if bias is not None:
        x = x + bias.reshape(shape)
    return x


def import_authors(loco_src, diffusers_src):
    """Imports the authors' EditUncondDiffusion and YHCustomScheduler with the stubs described above."""
    import functorch
    import torch
    import torch.nn.functional as F

    tub = _load_torch_unet_bench()
    tub.torchref.setup_diffusers(diffusers_src)

    class anything:  # stands for the classes of modules their code imports but this workload never uses
        def __init__(self, *args, **kwargs):
            pass

    def tqdm(iterable=None, *args, **kwargs):
        return iterable if iterable is not None else []

    _stub("tqdm", tqdm=tqdm, trange=lambda *a, **k: range(*a))
    _stub("matplotlib", use=lambda *a, **k: None)
    _stub("matplotlib.pyplot")
    _stub("einops", einsum=_einops_einsum, rearrange=lambda *a, **k: (_ for _ in ()).throw(NotImplementedError("rearrange")))
    _stub("modules.mask_segmentation", SAM=anything)
    _stub("models")
    _stub("models.guided_diffusion")
    _stub("models.guided_diffusion.script_util", g_DDPM=anything)
    _stub("dataset")
    _stub("dataset.celeba_hq_dataloader", CelebAMaskDataLoader=anything)
    _stub("configs")
    _stub("configs.paths", DATASET_PATHS={}, MODEL_PATHS={})

    def jacfwd(fn, *args, **kwargs):
        inner = functorch.jacfwd(fn, *args, **kwargs)

        def call(*a, **k):
            saved = F.group_norm
            F.group_norm = _group_norm_by_definition
            try:
                return inner(*a, **k)
            finally:
                F.group_norm = saved

        return call

    torch.func = types.SimpleNamespace(jacfwd=jacfwd, vmap=functorch.vmap, jacrev=functorch.jacrev)
    sys.path.insert(0, loco_src)
    from modules.edit import EditUncondDiffusion
    from utils.utils import YHCustomScheduler

    return EditUncondDiffusion, YHCustomScheduler, tub


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loco-src", required=True, help="the authors' repository's src/ folder")
    ap.add_argument("--diffusers-src", required=True, help="diffusers' src/ folder (v0.29.x)")
    ap.add_argument("--model", required=True, help="folder with config.json and diffusion_pytorch_model.safetensors")
    ap.add_argument("--golden", required=True, help="golden.safetensors (in/x0, in/mask)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rank", type=int, default=1)
    ap.add_argument("--null-rank", type=int, default=5)
    ap.add_argument("--edit-t", type=float, default=0.6)
    ap.add_argument("--lambda", dest="lam", type=float, default=8.0)
    ap.add_argument("--max-iter", type=int, default=50, help="their iteration cap (50 in all their scripts)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    EditUncondDiffusion, YHCustomScheduler, tub = import_authors(args.loco_src, args.diffusers_src)
    unet, _ = tub.load_model(args.diffusers_src, args.model)
    golden, _ = tub.torchref.read_safetensors(args.golden)
    x0 = torch.from_numpy(golden["in/x0"]).float().reshape(1, 3, 32, 32)
    mask = torch.from_numpy(golden["in/mask"]).bool().reshape(3, 32, 32)

    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # their progress messages
    settings = types.SimpleNamespace(noise_schedule=None, device="cpu", dtype=torch.float32)
    folder = tempfile.mkdtemp(prefix="authors-edit-")
    for round_ in range(args.rounds):
        torch.manual_seed(round_)
        e = object.__new__(EditUncondDiffusion)  # their class, set up as their __init__ would for this model
        e.unet, e.scheduler = unet, YHCustomScheduler(settings)
        e.device, e.dtype, e.buffer_device, e.memory_bound = "cpu", torch.float32, "cpu", 50
        e.for_steps = e.inv_steps = 100
        e.use_yh_custom_scheduler = True
        e.dataset, e.dataset_name = [x0], "CelebA_HQ_mask"
        e.result_folder = e.obs_folder = folder
        e.EXP_NAME = "authors-edit-bench"
        e.x_space_guidance_scale, e.x_space_guidance_edit_step = args.lam, 1
        e.scheduler.set_timesteps(e.for_steps)
        e.edit_t_idx = (e.scheduler.timesteps - args.edit_t * 1000).abs().argmin()
        e.performance_boosting_t_idx = (e.scheduler.timesteps - 0.2 * 1000).abs().argmin()

        stages, cpu = {}, {}
        c0 = time.process_time()
        t0 = time.perf_counter()
        xT = e.run_DDIMinversion(0)
        stages["invert"], cpu["invert"] = time.perf_counter() - t0, time.process_time() - c0
        c0 = time.process_time()

        t0 = time.perf_counter()
        xt, t, _ = e.DDIMforwardsteps(xT, t_start_idx=0, t_end_idx=e.edit_t_idx)
        stages["forward"], cpu["forward"] = time.perf_counter() - t0, time.process_time() - c0
        c0 = time.process_time()

        t0 = time.perf_counter()
        iterations = []

        def gpm(rank, m):
            # One SVD per iteration of their loop: count them.
            svd, calls = torch.linalg.svd, [0]

            def counted_svd(*a, **k):
                calls[0] += 1
                return svd(*a, **k)

            torch.linalg.svd = counted_svd
            try:
                out = e.local_encoder_decoder_pullback_xt(x=xt, t=t, pca_rank=rank, min_iter=min(10, args.max_iter),
                                                          max_iter=args.max_iter, convergence_threshold=1e-4, mask=m)
            finally:
                torch.linalg.svd = svd
            iterations.append(calls[0])
            return out

        _, s_modify, vT_modify = gpm(args.rank, mask)
        _, _, vT_null = gpm(args.null_rank, ~mask)
        vT = vT_modify - (vT_null.T @ (vT_null @ vT_modify.T)).T
        vT = vT / vT.norm(dim=1, keepdim=True)
        stages["direction"], cpu["direction"] = time.perf_counter() - t0, time.process_time() - c0
        c0 = time.process_time()

        t0 = time.perf_counter()
        edited = xt + args.lam * vT[0].view(1, *xt.shape[1:])
        e.DDIMforwardsteps(torch.cat([xt, edited]), t_start_idx=e.edit_t_idx, t_end_idx=-1, performance_boosting=True)
        stages["decode"], cpu["decode"] = time.perf_counter() - t0, time.process_time() - c0

        # Each iteration: one Jacobian-vector and one vector-Jacobian product per basis vector.
        products = 2 * (iterations[0] * args.rank + iterations[1] * args.null_rank)
        print(json.dumps({"round": round_, "threads": args.threads, "torch": torch.__version__,
                          "seconds": {k: round(v, 3) for k, v in stages.items()},
                          "total_seconds": round(sum(stages.values()), 3),
                          "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
                          "total_cpu_seconds": round(sum(cpu.values()), 3), "iterations": iterations,
                          "jacobian_products": products, "s_modify": [round(float(x), 5) for x in s_modify]}),
              file=out, flush=True)


if __name__ == "__main__":
    main()
