"""Helpers for the PyTorch reference checks: load diffusers from a source folder with nothing but torch and
numpy installed, and read/write safetensors files with numpy.

diffusers is pure Python: a source checkout (its src/ folder, or src/diffusers alone; pipelines/ may be left
out) is enough. The Python packages diffusers imports but these checks never use (huggingface_hub, and
safetensors, filelock, tqdm where they are missing) are replaced by small stand-ins, so the checks run under a
bare `python3` with torch, e.g. Debian's python3-torch.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import struct
import sys
import types

import numpy as np

# safetensors dtype names ↔ numpy dtypes (BF16 is handled separately).
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata) of a safetensors file; BF16 tensors become float32."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        raw = data[base + a:base + b]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} as a safetensors file."""
    names = {np.dtype(v): k for k, v in _DTYPES.items()}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        raw = arr.tobytes()
        header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


# ---- stand-ins for packages diffusers imports ----

class _Anything:
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return None


def _stub_attr(name):
    if name.endswith("Error") or name.endswith("Exception"):
        return type(name, (Exception,), {})
    if name.startswith("is_"):
        return lambda *a, **k: False
    if name.startswith("validate_") or name in ("wraps",):
        return lambda fn=None, *a, **k: fn
    if name.startswith("REGEX_"):
        return re.compile(r"^[0-9a-f]{40}$")
    if name.isupper():
        return {"HF_HUB_OFFLINE": True, "HF_HUB_DISABLE_TELEMETRY": True}.get(name, os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
    if name[:1].isupper():
        return type(name, (_Anything,), {})

    def unavailable(*args, **kwargs):
        raise RuntimeError(f"{name} is not available: these checks run offline on local folders")
    return unavailable


def _load_file(path, device="cpu"):
    import torch
    tensors, _ = read_safetensors(path)
    return {k: torch.from_numpy(v) for k, v in tensors.items()}


def _save_file(tensors, path, metadata=None):
    write_safetensors(path, {k: v.detach().cpu().numpy() for k, v in tensors.items()}, metadata)


_SPECIAL = {"safetensors.torch": {"load_file": _load_file, "save_file": _save_file}}


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = set(roots)

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        for k, v in _SPECIAL.get(spec.name, {}).items():
            setattr(m, k, v)
        name = spec.name

        def getattr_(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            if f"{name}.{attr}" in _SPECIAL:
                return importlib.import_module(f"{name}.{attr}")
            return _stub_attr(attr)
        m.__getattr__ = getattr_
        return m

    def exec_module(self, module):
        pass


def setup_diffusers(src=None):
    """Makes `import diffusers` work: src is a diffusers source folder (the repository's src/, or the package
    folder itself; default $DIFFUSERS_SRC, else an installed diffusers). Returns the diffusers module."""
    os.environ.setdefault("USE_FLAX", "0")
    os.environ.setdefault("USE_TORCH", "1")
    os.environ.setdefault("DIFFUSERS_NO_ADVISORY_WARNINGS", "1")
    src = src or os.environ.get("DIFFUSERS_SRC")
    if src:
        if os.path.isfile(os.path.join(src, "__init__.py")) and os.path.basename(os.path.normpath(src)) == "diffusers":
            src = os.path.dirname(os.path.normpath(src))
        if not os.path.isfile(os.path.join(src, "diffusers", "__init__.py")):
            raise SystemExit(f"{src} holds no diffusers package (want <src>/diffusers/__init__.py)")
        sys.path.insert(0, src)
    # Optional integrations diffusers looks for are hidden (find_spec gives None, import fails), so the checks
    # depend on no version of them.
    for name in ("peft", "transformers", "accelerate", "flax", "xformers", "torch_xla", "torch_npu", "onnxruntime", "bitsandbytes"):
        sys.modules.setdefault(name, None)
    # huggingface_hub is always replaced (nothing here downloads, and versions past 1.0 break older diffusers);
    # the others only where missing.
    roots = ["huggingface_hub"] + [r for r in ("safetensors", "filelock", "tqdm") if importlib.util.find_spec(r) is None]
    for r in roots:
        sys.modules.pop(r, None)
    sys.meta_path.insert(0, _StubFinder(roots))
    # dependency_versions_check asks importlib.metadata for installed versions of the replaced packages.
    check = types.ModuleType("diffusers.dependency_versions_check")
    check.dep_version_check = lambda *a, **k: None
    sys.modules[check.__name__] = check
    import diffusers
    return diffusers


def classic_attention(model):
    """Switches every attention layer of a diffusers model to the classic processor (explicit softmax): the fused
    scaled-dot-product kernels support neither double backward nor forward-mode AD."""
    from diffusers.models.attention_processor import Attention, AttnProcessor
    for module in model.modules():
        if isinstance(module, Attention):
            module.set_processor(AttnProcessor())
    return model
