# Regenerates the checkpoints of this folder with PyTorch (Debian python3-torch 1.13):
#
#     /usr/bin/python3 gen_checkpoints.py
#
# small-zip.pt      torch.save (zip format; archive folder named after the file, "small-zip/")
# small-archive.pt  the same records under the folder "archive/" (the name torch uses for file objects)
# small-legacy.pt   torch.save(..., _use_new_zipfile_serialization=False) (legacy format)
# small.safetensors every tensor of the state dict, contiguous, in its own dtype: what the reader must return
# evil-zip.pt       a pickle that would call os.system if unpickled by Python (zip format)
# evil-legacy.pt    the same in the legacy format
#
# The state dict covers: float32/float16/bfloat16/float64/int64/bool storages, a transposed (strided) view, a
# view at a storage offset sharing its storage with another tensor, a 0-d tensor, an empty tensor, an
# nn.Parameter, nested dicts, non-tensor entries and the _metadata attribute of a module's state dict.
import collections
import os
import sys
import zipfile

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts"))
from goldens import write_safetensors  # noqa: E402
torch.manual_seed(0)

lin = torch.nn.Linear(3, 2)
sd = lin.state_dict()  # OrderedDict with _metadata
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd["transposed"] = torch.randn(3, 2).t()
sd["row1"] = base[1]  # storage offset 4, shares base's storage
sd["base"] = base
sd["half"] = torch.randn(2, 2).half()
sd["bf16"] = torch.randn(5).bfloat16()
sd["double"] = torch.randn(2, 1, 2, dtype=torch.float64)
sd["long"] = torch.tensor([1, -2, 3 << 40])
sd["mask"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(2.5)
sd["empty"] = torch.zeros(0, 3)
sd["param"] = torch.nn.Parameter(torch.randn(2))
sd["ema"] = {"weight": torch.randn(2, 3), "step": 7}
sd["epoch"] = 3
sd["name"] = "tiny"


def save(path, obj, zip_format=True):
    torch.save(obj, path, _use_new_zipfile_serialization=zip_format)


def rename_folder(src, dst, folder):
    """Rewrites a torch zip archive with its records under another folder name (stored, like torch)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            name = folder + "/" + info.filename.split("/", 1)[1]
            zout.writestr(name, zin.read(info.filename))


def flatten(d, prefix=""):
    out = collections.OrderedDict()
    for k, v in d.items():
        name = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        elif isinstance(v, torch.Tensor):
            out[name] = v.detach().contiguous()
    return out


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this checkpoint runs code",))


p = lambda name: os.path.join(here, name)
save(p("small-zip.pt"), sd)
rename_folder(p("small-zip.pt"), p("small-archive.pt"), "archive")
save(p("small-legacy.pt"), sd, zip_format=False)
write_safetensors(p("small.safetensors"), flatten(sd))
save(p("evil-zip.pt"), {"weight": torch.zeros(2), "payload": Evil()})
save(p("evil-legacy.pt"), {"weight": torch.zeros(2), "payload": Evil()}, zip_format=False)

# The round trip through torch itself: every file but the evil ones loads back to the same tensors.
for name in ["small-zip.pt", "small-archive.pt", "small-legacy.pt"]:
    back = flatten(torch.load(p(name)))
    for k, v in flatten(sd).items():
        assert torch.equal(back[k], v), (name, k)
print("wrote", ", ".join(sorted(f for f in os.listdir(here) if f.endswith((".pt", ".safetensors")))))
