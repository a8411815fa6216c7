# Regenerates the golden files of this folder from the authors' copy of OpenAI's guided-diffusion UNetModel
# (github.com/ChicyChen/LOCO-Edit, src/models/guided_diffusion: unet.py, nn.py and the modules they import),
# run under Debian's python3-torch 1.13:
#
#     /usr/bin/python3 gen_golden.py SRC      # SRC: the folder holding guided_diffusion/ (e.g. .../src/models)
#
# Two tiny random models (32 groups of GroupNorm32 force channel counts that are multiples of 32):
#
# tiny-p2/       the P2-weighting switches (use_scale_shift_norm, resblock_updown, num_head_channels, learned
#                sigma: 6 output channels, legacy attention order) at 32×32, channel_mult (1, 2), attention at
#                downsample rate 2; config.json and model.pt (zip format, archive folder "model/")
# tiny-p2-legacy.pt    the same weights in the legacy format (_use_new_zipfile_serialization=False)
# tiny-p2-archive.pt   the same zip records under the folder "archive/"
# tiny-newattn/  the other switches: new attention order, num_heads with num_heads_upsample, no scale-shift
#                norm, conv up/downsampling, 3 output channels, 16×16; config.json and model.pt
# golden.safetensors  inputs and the reference outputs (float32), by name:
#   p2/x [2,3,32,32], p2/t [2] (fractional times), p2/v, p2/u [1,3,32,32] (directions at sample 0, time t[0])
#   p2/eps, p2/x0 [2,3,32,32]: ε = the first 3 of the 6 output channels (the authors' forward), x̂0 =
#       (x − √(1−ᾱ)·ε)/√ᾱ with ᾱ of the linear schedule (β 1e-4…0.02, 1000 steps, float64 cumprod, then
#       float32) at ⌊t⌋, as the authors' get_x0 computes it
#   p2/eps_t_floor [1,3,32,32]: ε of sample 0 at ⌊t[0]⌋ (shows that the fractional time reaches the network)
#   p2/jvp_eps, p2/vjp_eps, p2/jvp_x0, p2/vjp_x0 [1,3,32,32]: J·v and Jᵀ·u of ε and x̂0 at sample 0
#       (torch.autograd.functional.jvp / vjp)
#   newattn/x [1,3,16,16], newattn/t [1], newattn/eps [1,3,16,16]
# p2-256-state-dict.txt  the state-dict names and shapes of the P2-256 architecture (the weight contract of
#             ffhq_p2.pt and the other P2 checkpoints), one "name shape" line per tensor
# meta.json   configurations, parameter counts and the float32-vs-float64 spread of the reference itself.
import collections
import json
import math
import os
import shutil
import sys
import types
import zipfile

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts"))
from goldens import write_safetensors  # noqa: E402
sys.path.insert(0, sys.argv[1])
einops = types.ModuleType("einops")  # unet.py imports einops for code paths the forward pass never runs
for name in ["rearrange", "reduce", "repeat", "einsum"]:
    setattr(einops, name, None)
sys.modules["einops"] = einops
from guided_diffusion.unet import UNetModel  # noqa: E402

P2 = dict(image_size=32, in_channels=3, model_channels=32, out_channels=6, num_res_blocks=1,
          attention_resolutions=[2], dropout=0.0, channel_mult=[1, 1], num_heads=4, num_head_channels=16,
          num_heads_upsample=-1, use_scale_shift_norm=True, resblock_updown=True, use_new_attention_order=False)
NEWATTN = dict(image_size=16, in_channels=3, model_channels=32, out_channels=3, num_res_blocks=1,
               attention_resolutions=[1, 2], dropout=0.0, channel_mult=[1, 1], num_heads=2, num_head_channels=-1,
               num_heads_upsample=1, use_scale_shift_norm=False, resblock_updown=False, use_new_attention_order=True)


def build(cfg, seed, dtype=torch.float32):
    kw = dict(cfg)
    kw["attention_resolutions"] = tuple(kw["attention_resolutions"])
    kw["channel_mult"] = tuple(kw["channel_mult"])
    m = UNetModel(**kw).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # random weights everywhere (the zero-initialised output convs included)
        for name, p in m.named_parameters():
            if p.dim() > 1:
                w = torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel())
            elif name.endswith("weight"):
                w = 1 + 0.1 * torch.randn(p.shape, generator=g)
            else:
                w = 0.1 * torch.randn(p.shape, generator=g)
            # The weights are stored as float16 to keep the files small: round them so the float32 model
            # computes with exactly the stored values.
            p.copy_(w.half().float())
    m.to(dtype)
    m.dtype = dtype  # the forward casts its input to m.dtype
    return m


def half_state_dict(m):
    return collections.OrderedDict((k, v.half()) for k, v in m.state_dict().items())


def full_output(m, x, t):
    """The network's whole output (all channels). The authors' forward returns only its first half, and fails
    after the network when the output has 3 channels (it splits them in halves): the hook has the output by then."""
    out = {}
    h = m.out.register_forward_hook(lambda mod, inp, o: out.__setitem__("h", o))
    try:
        m(x, t)
    except ValueError:
        assert m.out_channels % 2 == 1
    h.remove()
    return out["h"]


def config_json(cfg):
    c = {"_class_name": "GuidedDiffusionUNet"}
    c.update(cfg)
    c["learn_sigma"] = cfg["out_channels"] == 2 * cfg["in_channels"]
    c["diffusion_steps"], c["noise_schedule"] = 1000, "linear"
    return c


def write_folder(name, cfg, model):
    d = os.path.join(here, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_json(cfg), f, indent=1)
    torch.save(half_state_dict(model), os.path.join(d, "model.pt"))


def rename_folder(src, dst, folder):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(folder + "/" + info.filename.split("/", 1)[1], zin.read(info.filename))


# The linear schedule as the authors build it: float64 betas and cumprod, then the model dtype (float32).
betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
alphas_cumprod = torch.cumprod(1 - betas, 0).float()

gen = torch.Generator().manual_seed(1)
p2 = build(P2, 11)
newattn = build(NEWATTN, 12)

x = torch.randn(2, 3, 32, 32, generator=gen)
t = torch.tensor([595.36359, 201.81818], dtype=torch.float32)
v = torch.randn(1, 3, 32, 32, generator=gen)
u = torch.randn(1, 3, 32, 32, generator=gen)


def eps_fn(m, tt):
    return lambda xx: m(xx, tt)  # the authors' forward: ε = first half of the output channels


def x0_fn(m, tt):
    a = alphas_cumprod[tt.long()].view(-1, 1, 1, 1)
    return lambda xx: (xx - (1 - a).sqrt() * m(xx, tt)) / a.sqrt()


out = collections.OrderedDict()
out["p2/x"], out["p2/t"], out["p2/v"], out["p2/u"] = x, t, v, u
with torch.no_grad():
    out["p2/eps"] = eps_fn(p2, t)(x)
    out["p2/x0"] = x0_fn(p2, t)(x)
    out["p2/eps_t_floor"] = eps_fn(p2, t[:1].floor())(x[:1])
    assert torch.equal(full_output(p2, x, t)[:, :3], out["p2/eps"])
t0 = t[:1]
out["p2/jvp_eps"] = torch.autograd.functional.jvp(eps_fn(p2, t0), x[:1], v)[1]
out["p2/vjp_eps"] = torch.autograd.functional.vjp(eps_fn(p2, t0), x[:1], u)[1]
out["p2/jvp_x0"] = torch.autograd.functional.jvp(x0_fn(p2, t0), x[:1], v)[1]
out["p2/vjp_x0"] = torch.autograd.functional.vjp(x0_fn(p2, t0), x[:1], u)[1]

xb = torch.randn(1, 3, 16, 16, generator=gen)
tb = torch.tensor([746.72727], dtype=torch.float32)
out["newattn/x"], out["newattn/t"] = xb, tb
with torch.no_grad():
    out["newattn/eps"] = full_output(newattn, xb, tb)

write_folder("tiny-p2", P2, p2)
write_folder("tiny-newattn", NEWATTN, newattn)
p2pt = os.path.join(here, "tiny-p2", "model.pt")
torch.save(half_state_dict(p2), os.path.join(here, "tiny-p2-legacy.pt"), _use_new_zipfile_serialization=False)
rename_folder(p2pt, os.path.join(here, "tiny-p2-archive.pt"), "archive")
for path in [p2pt, os.path.join(here, "tiny-p2-legacy.pt"), os.path.join(here, "tiny-p2-archive.pt")]:
    sd = torch.load(path)
    assert all(torch.equal(sd[k].float(), w) for k, w in p2.state_dict().items()), path
write_safetensors(os.path.join(here, "golden.safetensors"), out)

# The reference's own rounding: the same outputs in float64 (the time embedding too).
import guided_diffusion.unet as gunet  # noqa: E402
embed = gunet.timestep_embedding
gunet.timestep_embedding = lambda tt, dim: embed(tt, dim).double()
import guided_diffusion.nn as gnn  # noqa: E402
gnn.GroupNorm32.forward = torch.nn.GroupNorm.forward  # GroupNorm32 computes in float32
p2d, nd = build(P2, 11, torch.float64), build(NEWATTN, 12, torch.float64)
with torch.no_grad():
    spread = {
        "p2_eps_maxabs": (p2d(x.double(), t.double()) - out["p2/eps"].double()).abs().max().item(),
        "newattn_eps_maxabs": (full_output(nd, xb.double(), tb.double()) - out["newattn/eps"].double()).abs().max().item(),
    }
meta = {
    "torch": torch.__version__,
    "p2": config_json(P2), "newattn": config_json(NEWATTN),
    "params": {"p2": sum(p.numel() for p in p2.parameters()), "newattn": sum(p.numel() for p in newattn.parameters())},
    "alpha_bar_at_floor_t": [alphas_cumprod[int(s)].item() for s in t],
    "float32_vs_float64": spread,
    "eps_t_vs_floor_t_maxabs": (out["p2/eps"][:1] - out["p2/eps_t_floor"]).abs().max().item(),
}
# The full-size P2 architecture (script_util.create_model with the P2 flags): its state-dict contract.
from guided_diffusion.script_util import create_model  # noqa: E402
big = create_model(256, 128, 1, learn_sigma=True, attention_resolutions="16", num_heads=4, num_head_channels=64,
                   use_scale_shift_norm=True, resblock_updown=True)
with open(os.path.join(here, "p2-256-state-dict.txt"), "w") as f:
    for k, w in big.state_dict().items():
        f.write("%s %s\n" % (k, ",".join(str(d) for d in w.shape)))
meta["params"]["p2-256"] = sum(p.numel() for p in big.parameters())
with open(os.path.join(here, "meta.json"), "w") as f:
    json.dump(meta, f, indent=1)
print(json.dumps(meta["params"]), json.dumps(spread), meta["eps_t_vs_floor_t_maxabs"])
