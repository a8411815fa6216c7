# Regenerates golden.safetensors and alex-random.pth from LPIPS's reference code (github.com/richzhang/
# PerceptualSimilarity, its lpips/ package, fetched separately) and Debian's python3-torchvision AlexNet
# (python3-torch 1.13):
#
#     /usr/bin/python3 gen_golden.py SRC      # SRC: the folder holding lpips/
#
# The network is lpips.LPIPS(net='alex', version='0.1') with weights from a formula that the Go test
# reproduces exactly (so AlexNet's 2.5 M weights need not be stored): for the k-th tensor of
#   features.0.weight, features.0.bias, features.3.weight, features.3.bias, features.6.*, features.8.*,
#   features.10.*, lin0.model.1.weight, …, lin4.model.1.weight
# element i (row-major, PyTorch layout) is u = ((i·2654435761 + (k+1)·40503) mod 2³²)/2³² − ½, then
#   conv kernels: u·(2·√3)/√fan_in, biases: u·0.2, linear layers: (u + ½)·0.2 (non-negative, as trained ones)
# computed in float64 and rounded to float32.
#
# golden.safetensors: a, b [2,3,48,48] with dist [2]; a_wide, b_wide [1,3,40,64] with dist_wide [1]; a_grey,
#   b_grey [1,1,32,32] with dist_grey [1] (LPIPS broadcasts one channel to three); layers [2,5], the five
#   per-layer terms of dist. Images in [−1, 1].
# alex-random.pth: the formula's linear layers saved by torch.save in the legacy format, like LPIPS's alex.pth.
import collections
import math
import os
import sys
import types

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts"))
from goldens import write_safetensors  # noqa: E402
sys.path.insert(0, sys.argv[1])
for name, attrs in {"scipy": {}, "scipy.ndimage": {"zoom": None}, "tqdm": {"tqdm": None}}.items():
    m = types.ModuleType(name)  # imported by lpips' trainer, unused here
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
import lpips  # noqa: E402

net = lpips.LPIPS(pretrained=False, net="alex", version="0.1", pnet_rand=True, verbose=False).eval()

FEATURES = [0, 3, 6, 8, 10]
names = []
for f in FEATURES:
    names += ["features.%d.weight" % f, "features.%d.bias" % f]
names += ["lin%d.model.1.weight" % i for i in range(5)]
modules = dict(net.named_modules())


def param(name):
    if name.startswith("features."):
        idx = int(name.split(".")[1])
        sl = 1 + [i for i, lo in enumerate([0, 2, 5, 8, 10]) if idx >= lo][-1]
        mod = modules["net.slice%d.%d" % (sl, idx)]
    else:
        mod = modules[name.rsplit(".", 1)[0]]
    return getattr(mod, name.rsplit(".", 1)[1])


def formula(k, name, shape):
    n = int(np.prod(shape))
    h = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64((k + 1) * 40503)) % np.uint64(2**32)
    u = h.astype(np.float64) / 2**32 - 0.5
    if name.startswith("lin"):
        w = (u + 0.5) * 0.2
    elif name.endswith("bias"):
        w = u * 0.2
    else:
        fan_in = n // shape[0]
        w = u * (2 * math.sqrt(3) / math.sqrt(fan_in))
    return torch.from_numpy(w.astype(np.float32).reshape(shape))


with torch.no_grad():
    for k, name in enumerate(names):
        p = param(name)
        p.copy_(formula(k, name, tuple(p.shape)))

g = torch.Generator().manual_seed(3)


def images(*shape):
    return (torch.rand(*shape, generator=g) * 2 - 1).float()


out = collections.OrderedDict()
with torch.no_grad():
    a, b = images(2, 3, 48, 48), images(2, 3, 48, 48)
    b[1] = (a[1] + 0.1 * images(3, 48, 48)).clamp(-1, 1)  # one close pair
    dist, layers = net(a, b, retPerLayer=True)
    out["a"], out["b"], out["dist"] = a, b, dist.flatten()
    out["layers"] = torch.cat([l.flatten(1) for l in layers], 1)
    aw, bw = images(1, 3, 40, 64), images(1, 3, 40, 64)
    out["a_wide"], out["b_wide"], out["dist_wide"] = aw, bw, net(aw, bw).flatten()
    ag, bg = images(1, 1, 32, 32), images(1, 1, 32, 32)
    out["a_grey"], out["b_grey"], out["dist_grey"] = ag, bg, net(ag, bg).flatten()


write_safetensors(os.path.join(here, "golden.safetensors"), out)
lin = collections.OrderedDict((n, param(n).detach().clone()) for n in names if n.startswith("lin"))
torch.save(lin, os.path.join(here, "alex-random.pth"), _use_new_zipfile_serialization=False)
print("dist", out["dist"].tolist(), "wide", out["dist_wide"].tolist(), "grey", out["dist_grey"].tolist())
