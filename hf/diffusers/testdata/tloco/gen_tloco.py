# Regenerates the T-LOCO architecture goldens in this folder: tiny random diffusers UNet2DConditionModel and
# AutoencoderKL models and their outputs, computed by diffusers itself (float32, CPU).
#
#   /usr/bin/python3 gen_tloco.py /path/to/diffusers/src
#
# The argument is the src/ folder of a diffusers checkout (v0.29.2 was used); diffusers is imported from
# there with its hub/IO dependencies (huggingface_hub, safetensors, transformers, accelerate, ...) replaced by
# inert stubs: only the model classes run. Needs PyTorch (1.13 was used) and numpy. See README.md.
import importlib.abc
import importlib.machinery
import json
import os
import struct
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def install_stubs():
    """Replaces diffusers' hub and serialisation dependencies by modules whose attributes are inert."""
    stubbed = ("huggingface_hub", "safetensors", "accelerate", "transformers", "tqdm", "requests", "filelock")

    class Any:
        def __init__(self, *a, **k):
            pass

        def __call__(self, *a, **k):
            return Any()

        def __getattr__(self, n):
            return Any()

        def __mro_entries__(self, bases):
            return (object,)

    class Module(types.ModuleType):
        __path__ = []

        def __getattr__(self, n):
            if n.startswith("__"):
                raise AttributeError(n)
            if n.isupper():  # constants such as HF_HOME, HF_HUB_CACHE: paths
                return "/nonexistent"
            return Any()

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in stubbed:
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            m = Module(spec.name)
            m.__version__ = "0.23.0"
            return m

        def exec_module(self, m):
            pass

    sys.meta_path.insert(0, Finder())
    dvc = types.ModuleType("diffusers.dependency_versions_check")
    dvc.dep_version_check = lambda *a, **k: None
    sys.modules["diffusers.dependency_versions_check"] = dvc


def save_safetensors(path, tensors):
    """Writes a safetensors file (header length, JSON header, raw little-endian data), tensors sorted by name."""
    dtypes = {np.float32: "F32", np.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        raw = a.tobytes()
        header[name] = {"dtype": dtypes[a.dtype.type], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomize(model, seed):
    """Random weights: kernels ~ N(0, 1/fan_in); norm scales 1 + N(0, 0.1²); biases N(0, 0.1²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


def write_model(model, folder, rename=None):
    os.makedirs(folder, exist_ok=True)
    cfg = {k: v for k, v in dict(model.config).items() if not k.startswith("_")}
    cfg = {"_class_name": type(model).__name__, "_diffusers_version": "0.29.2", **cfg}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, default=list)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    if rename:
        sd = {rename(k): v for k, v in sd.items()}
    save_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"), sd)
    return sum(v.size for v in sd.values())


def legacy_attention_name(name):
    """The pre-0.14 names of the VAE mid-block attention weights."""
    for new, old in ((".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."), (".to_out.0.", ".proj_attn.")):
        if ".attentions." in name and new in name:
            return name.replace(new, old)
    return name


def deterministic_attention(Attention):
    """Makes diffusers' attention scores deterministic under PyTorch 1.13 (see README.md)."""
    # Without a mask, Attention.get_attention_scores calls baddbmm(torch.empty(...), q, kᵀ, beta=0). PyTorch 1.13
    # on CPU does not always ignore that uninitialised input when autograd records the product, and NaNs in the
    # garbage then reach the outputs at random. Passing an all-zero mask gives the same scores, deterministically.
    scores = Attention.get_attention_scores

    def zero_mask_scores(self, query, key, attention_mask=None):
        if attention_mask is None:
            attention_mask = torch.zeros(query.shape[0], query.shape[1], key.shape[1], dtype=query.dtype)
        return scores(self, query, key, attention_mask)

    Attention.get_attention_scores = zero_mask_scores


def jvp_vjp(f, x, v, u):
    y, jvp = torch.autograd.functional.jvp(f, x, v)
    _, vjp = torch.autograd.functional.vjp(f, x, u)
    return y, jvp, vjp


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__ if __doc__ else "usage: gen_tloco.py /path/to/diffusers/src")
    sys.path.insert(0, sys.argv[1])
    install_stubs()
    from diffusers.models.attention_processor import Attention
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel

    deterministic_attention(Attention)

    torch.manual_seed(0)
    out, meta = {}, {"torch": torch.__version__, "models": {}}

    # An SD 2.x-like UNet: per-block head counts in attention_head_dim, linear projections, three levels.
    sd2 = randomize(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16, 16),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1, attention_head_dim=(2, 4, 4), cross_attention_dim=12, use_linear_projection=True,
        norm_num_groups=4, transformer_layers_per_block=(1, 2, 1)), 1)
    # An SD 1.x / LCM-like UNet: one head count, conv projections, a guidance embedding (time_cond_proj_dim),
    # the DDPM-style time embedding switches.
    lcm = randomize(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=2, attention_head_dim=2, cross_attention_dim=12, norm_num_groups=4,
        time_cond_proj_dim=6, flip_sin_to_cos=False, freq_shift=1, downsample_padding=0), 2)
    vae = randomize(AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1, latent_channels=4,
        norm_num_groups=4, sample_size=16, scaling_factor=0.13025), 3)

    meta["models"]["tiny-sd2-unet"] = write_model(sd2, os.path.join(HERE, "tiny-sd2-unet"))
    meta["models"]["tiny-lcm-unet"] = write_model(lcm, os.path.join(HERE, "tiny-lcm-unet"))
    meta["models"]["tiny-vae"] = write_model(vae, os.path.join(HERE, "tiny-vae"))
    meta["models"]["tiny-vae-legacy-attn-names"] = write_model(vae, os.path.join(HERE, "tiny-vae-legacy-attn-names"), legacy_attention_name)

    r = lambda *s: torch.randn(*s)
    x, text, cond = r(2, 4, 8, 8), r(2, 5, 12), r(2, 6)
    t = torch.tensor([601.37])
    t2 = torch.tensor([601.37, 250.5])
    v, u = r(2, 4, 8, 8), r(2, 4, 8, 8)
    out.update({"in/x": x, "in/t": t, "in/t2": t2, "in/text": text, "in/cond": cond, "in/v": v, "in/u": u})

    with torch.no_grad():
        out["sd2/eps"] = sd2(x, t, text).sample
        out["sd2/eps_t2"] = sd2(x, t2, text).sample
        out["sd2/eps_t_int"] = sd2(x, torch.tensor([601]), text).sample
        out["lcm/eps_cond"] = lcm(x, t, text, timestep_cond=cond).sample
        out["lcm/eps_nocond"] = lcm(x, t, text).sample
    _, out["sd2/jvp_eps"], out["sd2/vjp_eps"] = jvp_vjp(lambda x: sd2(x, t, text).sample, x, v, u)
    _, out["lcm/jvp_eps"], out["lcm/vjp_eps"] = jvp_vjp(lambda x: lcm(x, t2, text, timestep_cond=cond).sample, x, v, u)

    z, image = r(2, 4, 8, 8), torch.rand(2, 3, 16, 16) * 2 - 1
    ud = r(2, 3, 16, 16)
    vz = r(2, 4, 8, 8)
    out.update({"in/z": z, "in/image": image, "in/u_decoded": ud, "in/v_z": vz})
    with torch.no_grad():
        out["vae/decoded"] = vae.decode(z).sample
        out["vae/mean"] = vae.encode(image).latent_dist.mean
    _, out["vae/jvp_decoded"], out["vae/vjp_decoded"] = jvp_vjp(lambda z: vae.decode(z).sample, z, vz, ud)

    for k, v in out.items():
        assert torch.isfinite(v).all(), k
    save_safetensors(os.path.join(HERE, "golden.safetensors"), {k: v.detach().numpy().astype(np.float32) for k, v in out.items()})
    meta["tensors"] = {k: list(v.shape) for k, v in out.items()}
    with open(os.path.join(HERE, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
