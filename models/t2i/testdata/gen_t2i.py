# Regenerates the text-to-image goldens in this folder (see README.md):
#
#   /usr/bin/python3 gen_t2i.py /path/to/diffusers/src /path/to/openai/CLIP /path/to/LOCO-Edit/src
#
# Writes two tiny random diffusers pipeline folders (tiny-sd: a Stable Diffusion 2.x-like pipeline; tiny-lcm: a
# latent consistency model pipeline shaped like LCM Dreamshaper v7) and golden.safetensors: the prompts' token ids
# and embeddings, and the posterior-mean predictions, their Jacobian products, one guided DDIM step, one LCM step
# and the text-supervised edit directions, computed by diffusers' classes and the paper authors' own T-LOCO
# functions (EditStableDiffusion, EditLatentConsistency in src/modules/edit.py, the scheduler patch of
# src/utils/utils.py), which are read from the given checkout and run unchanged.
#
# Needs PyTorch (1.13 was used), numpy and the `regex` package (Debian: python3-regex).
import ast
import gzip
import importlib.util
import json
import os
import sys
import tempfile
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The repo's own generators: safetensors writer, stubs for diffusers' imports, random weights, the CLIP text tower
# under transformers' names.
tl = load_module("gen_tloco", os.path.join(REPO, "hf", "diffusers", "testdata", "tloco", "gen_tloco.py"))
gc = load_module("gen_clip", os.path.join(REPO, "hf", "clip", "testdata", "gen_clip.py"))

NUM_MERGES = 1000  # the first merges of CLIP's BPE: a vocabulary of 512 + 1000 + 2 tokens
CONTEXT = 20  # text encoder positions (77 in Stable Diffusion)
WIDTH, HEADS, LAYERS = 16, 2, 2

SD_PROMPT, SD_EDIT = "a photo of a man", "a photo of a man wearing glasses"
LCM_PROMPT, LCM_EDIT = "A photo of a man", "A photo of a man wearing glasses"
GUIDANCE, EDIT_GUIDANCE = 7.5, 4.0  # the authors' Stable Diffusion settings; LCM: w = 7.5 - 1


def picked(path, names, classes=()):
    """Source of the named top-level functions and classes of a Python file, and of the named methods of classes."""
    src = open(path).read()
    tree = ast.parse(src)
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
            out.append(ast.get_source_segment(src, node))
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and (node.name, item.name) in classes:
                    text = ast.get_source_segment(src, item)
                    lines = text.split("\n")
                    out.append("\n".join(l[4:] if l.startswith("    ") else l for l in lines))
    return "\n\n".join(out)


def authors_code(loco_src, diffusers_src):
    """The authors' T-LOCO classes and scheduler patch, and diffusers' guidance embedding, in one namespace."""
    def einsum(*args):  # einops.einsum for the patterns the authors use ("b c w h, i c w h -> b")
        *tensors, pattern = args
        inputs, output = pattern.split("->")
        names = {}
        conv = lambda spec: "".join(names.setdefault(n, chr(ord("a") + len(names))) for n in spec.split())
        ins = ",".join(conv(s) for s in inputs.split(","))
        return torch.einsum(ins + "->" + conv(output), *tensors)

    ns = {"torch": torch, "np": np, "os": os, "time": __import__("time"), "einsum": einsum,
          "tqdm": lambda x, **k: x, "tvu": types.SimpleNamespace(save_image=lambda *a, **k: None),
          "F": torch.nn.functional}
    exec(picked(os.path.join(loco_src, "utils", "utils.py"), {"extract", "set_timesteps", "step", "SchedulerOutput"}), ns)
    exec(picked(os.path.join(loco_src, "modules", "edit.py"), {"EditStableDiffusion", "EditLatentConsistency"}), ns)
    lcm_pipe = os.path.join(diffusers_src, "diffusers", "pipelines", "latent_consistency_models",
                            "pipeline_latent_consistency_text2img.py")
    exec(picked(lcm_pipe, set(), {("LatentConsistencyModelPipeline", "get_guidance_scale_embedding")}), ns)
    return ns


def tokenizer_files(folder, pad, tok):
    """A transformers CLIPTokenizer folder for the tiny vocabulary, as in a Stable Diffusion pipeline."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump(tok.encoder, f)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in tok.bpe_ranks) + "\n")
    special = {"bos_token": {"content": "<|startoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
               "eos_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
               "pad_token": pad, "unk_token": "<|endoftext|>"}
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=1)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": CONTEXT, "do_lower_case": True,
                   "pad_token": pad, "errors": "replace"}, f, indent=1)


def tokenize(tok, prompt, pad_id):
    """CLIPTokenizer(prompt, padding="max_length", max_length=CONTEXT, truncation=True).input_ids."""
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    ids = [sot] + tok.encode(prompt)[:CONTEXT - 2] + [eot]
    return ids + [pad_id] * (CONTEXT - len(ids))


def text_encoder(clip_dir, folder, vocab, act, seed):
    """A tiny random CLIP text tower (OpenAI's model.py) saved as a transformers CLIPTextModel; returns encode."""
    model_py = load_module("clip_model", os.path.join(clip_dir, "clip", "model.py"))
    m = gc.random_text_tower(model_py, vocab, WIDTH, LAYERS, HEADS, CONTEXT, act, torch.Generator().manual_seed(seed))
    os.makedirs(folder, exist_ok=True)
    sd = gc.hf_state_dict(m, LAYERS)
    tl.save_safetensors(os.path.join(folder, "model.safetensors"), sd)
    config = {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": vocab,
              "hidden_size": WIDTH, "intermediate_size": 4 * WIDTH, "num_hidden_layers": LAYERS,
              "num_attention_heads": HEADS, "max_position_embeddings": CONTEXT, "hidden_act": act,
              "layer_norm_eps": 1e-5, "projection_dim": 8, "bos_token_id": vocab - 2, "eos_token_id": vocab - 1,
              "pad_token_id": 1, "torch_dtype": "float32"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)

    def encode(ids):  # last_hidden_state: all layers, then the final LayerNorm
        with torch.no_grad():
            x = m.token_embedding(torch.tensor([ids])) + m.positional_embedding
            x = m.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
            return m.ln_final(x)

    return encode, sum(v.size for v in sd.values())


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, default=list)


def scheduler_config(folder, sched):
    os.makedirs(folder, exist_ok=True)
    cfg = {k: v for k, v in dict(sched.config).items() if not k.startswith("_")}
    write_json(os.path.join(folder, "scheduler_config.json"),
               {"_class_name": type(sched).__name__, "_diffusers_version": "0.29.2", **cfg})


def model_index(folder, cls, scheduler):
    write_json(os.path.join(folder, "model_index.json"), {
        "_class_name": cls, "_diffusers_version": "0.29.2",
        "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
        "scheduler": ["diffusers", scheduler], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]})


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: gen_t2i.py /path/to/diffusers/src /path/to/openai/CLIP /path/to/LOCO-Edit/src")
    diffusers_src, clip_dir, loco_src = sys.argv[1:]
    sys.path.insert(0, diffusers_src)
    tl.install_stubs()
    from diffusers.models.attention_processor import Attention
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler
    from diffusers.schedulers import scheduling_lcm
    tl.deterministic_attention(Attention)
    A = authors_code(loco_src, diffusers_src)

    # The tokenizer: the first NUM_MERGES merges of CLIP's BPE, read by OpenAI's SimpleTokenizer (ftfy only
    # repairs mojibake, and the prompts here are plain ASCII).
    sys.modules["ftfy"] = types.SimpleNamespace(fix_text=lambda s: s)
    st = load_module("simple_tokenizer", os.path.join(clip_dir, "clip", "simple_tokenizer.py"))
    lines = gzip.open(os.path.join(REPO, "hf", "clip", "testdata", "bpe_simple_vocab_16e6.txt.gz")).read().decode().split("\n")
    with tempfile.NamedTemporaryFile(suffix=".txt.gz", delete=False) as f:
        f.write(gzip.compress("\n".join(lines[:1 + NUM_MERGES]).encode()))
    tok = st.SimpleTokenizer(f.name)
    os.unlink(f.name)
    vocab = len(tok.encoder)
    assert vocab == 512 + NUM_MERGES + 2

    torch.manual_seed(0)
    out, meta = {}, {"torch": torch.__version__, "diffusers": "0.29.2", "models": {}}
    r = lambda *s: torch.randn(*s)

    # ---- tiny-sd: a Stable Diffusion 2.x-like pipeline (linear projections, per-block head counts, GELU text
    # encoder padded with "!", DDIM scheduler config with the scaled-linear schedule).
    sd_dir = os.path.join(HERE, "tiny-sd")
    unet = tl.randomize(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1, attention_head_dim=(2, 4), cross_attention_dim=WIDTH, use_linear_projection=True,
        norm_num_groups=4), 21)
    vae = tl.randomize(AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 8, 16), layers_per_block=1, latent_channels=4,
        norm_num_groups=4, sample_size=32, scaling_factor=0.18215), 22)
    meta["models"]["tiny-sd/unet"] = tl.write_model(unet, os.path.join(sd_dir, "unet"))
    meta["models"]["tiny-sd/vae"] = tl.write_model(vae, os.path.join(sd_dir, "vae"))
    encode, meta["models"]["tiny-sd/text_encoder"] = text_encoder(clip_dir, os.path.join(sd_dir, "text_encoder"), vocab, "gelu", 23)
    tokenizer_files(os.path.join(sd_dir, "tokenizer"), "!", tok)
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon")
    scheduler_config(os.path.join(sd_dir, "scheduler"), sched)
    model_index(sd_dir, "StableDiffusionPipeline", "DDIMScheduler")

    pad = tok.encoder["!"]
    embs = {}
    for name, prompt in (("for", SD_PROMPT), ("edit", SD_EDIT), ("null", "")):
        ids = tokenize(tok, prompt, pad)
        out["sd/ids/" + name] = torch.tensor(ids, dtype=torch.int64)
        embs[name] = encode(ids)
        out["sd/emb/" + name] = embs[name][0]

    # The authors' EditStableDiffusion with its scheduler patch (get_stable_diffusion_scheduler).
    sched.t_max = 999
    sched.set_timesteps = types.MethodType(A["set_timesteps"], sched)
    sched.step = types.MethodType(A["step"], sched)
    sched.set_timesteps(100)
    ed = object.__new__(A["EditStableDiffusion"])
    ed.unet, ed.vae, ed.scheduler = unet, vae, sched
    ed.guidance_scale, ed.guidance_scale_edit = GUIDANCE, EDIT_GUIDANCE
    ed.result_folder = tempfile.mkdtemp()
    t = sched.timesteps[30]  # edit_t 0.7 → index 30, t = 696.27
    zt, v, u = r(1, 4, 8, 8), r(1, 4, 8, 8), r(1, 3, 32, 32)
    mask = torch.zeros(3, 32, 32, dtype=torch.bool)
    mask[:, 6:18, 9:25] = True
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    out.update({"in/sd/zt": zt, "in/sd/v": v, "in/sd/u": u, "in/mask": mask.float(), "in/image": image,
                "sd/t": t.reshape(1), "sd/t_next": sched.timesteps_next[30].reshape(1)})
    e = lambda k: embs[k]

    def pmp(z, guidance=GUIDANCE, mode="null+(for-null)"):
        ed.guidance_scale = guidance
        return ed.get_x0(z, t, 30, e("for"), e("edit"), e("null"), mode=mode)

    with torch.no_grad():
        out["sd/x0"] = pmp(zt)
        out["sd/x0_edit"] = pmp(zt, mode="null+(for-null)+(edit-null)")
        out["sd/x0_text"] = pmp(zt, guidance=1.0)
        ed.guidance_scale = GUIDANCE
        eps = ed._classifer_free_guidance(zt, t, e("for"), e("edit"), e("null"), mode="null+(for-null)", do_classifier_free_guidance=True)
        out["sd/eps_cfg"] = eps
        out["sd/zt_next"] = sched.step(eps, t, zt, eta=0).prev_sample
        out["sd/z0_image"] = vae.encode(image).latent_dist.mean * vae.config.scaling_factor
    _, out["sd/jvp_x0"], out["sd/vjp_x0"] = tl.jvp_vjp(lambda z: pmp(z), zt, v, u)
    _, out["sd/jvp_x0_text"], _ = tl.jvp_vjp(lambda z: pmp(z, guidance=1.0), zt, v, u)
    ed.guidance_scale = GUIDANCE
    out["sd/direction"] = ed.get_delta_zt_via_grad(zt, t, 30, e("for"), e("edit"), e("null"), mask=mask,
                                                   mode="null+(for-null)+(edit-null)").reshape(1, 4, 8, 8)

    # ---- tiny-lcm: a latent consistency model pipeline (conv projections, a guidance embedding, quick-GELU text
    # encoder padded with <|endoftext|>, LCMScheduler config; the VAE's scaling factor is not SD's 0.18215).
    lcm_dir = os.path.join(HERE, "tiny-lcm")
    unet = tl.randomize(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1, attention_head_dim=2, cross_attention_dim=WIDTH, norm_num_groups=4,
        time_cond_proj_dim=8), 31)
    vae = tl.randomize(AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 8, 16), layers_per_block=1, latent_channels=4,
        norm_num_groups=4, sample_size=32, scaling_factor=0.13025), 32)
    meta["models"]["tiny-lcm/unet"] = tl.write_model(unet, os.path.join(lcm_dir, "unet"))
    meta["models"]["tiny-lcm/vae"] = tl.write_model(vae, os.path.join(lcm_dir, "vae"))
    encode, meta["models"]["tiny-lcm/text_encoder"] = text_encoder(clip_dir, os.path.join(lcm_dir, "text_encoder"), vocab, "quick_gelu", 33)
    tokenizer_files(os.path.join(lcm_dir, "tokenizer"), "<|endoftext|>", tok)
    sched = scheduling_lcm.LCMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                        clip_sample=False, set_alpha_to_one=True, original_inference_steps=50,
                                        timestep_scaling=10.0, prediction_type="epsilon")
    scheduler_config(os.path.join(lcm_dir, "scheduler"), sched)
    model_index(lcm_dir, "LatentConsistencyModelPipeline", "LCMScheduler")

    eot = tok.encoder["<|endoftext|>"]
    lembs = {}
    for name, prompt in (("for", LCM_PROMPT), ("edit", LCM_EDIT)):
        ids = tokenize(tok, prompt, eot)
        out["lcm/ids/" + name] = torch.tensor(ids, dtype=torch.int64)
        lembs[prompt] = encode(ids)
        out["lcm/emb/" + name] = lembs[prompt][0]

    pipe = types.SimpleNamespace(
        encode_prompt=lambda prompt, device, num_images_per_prompt=1, do_classifier_free_guidance=False: (lembs[prompt], None),
        get_guidance_scale_embedding=lambda w, embedding_dim=512, dtype=torch.float32: A["get_guidance_scale_embedding"](None, w, embedding_dim, dtype))
    el = object.__new__(A["EditLatentConsistency"])
    el.pipe, el.unet, el.vae, el.scheduler = pipe, unet, vae, sched
    el.num_inference_steps, el.guidance_scale, el.device = 4, GUIDANCE, "cpu"
    el.result_folder = tempfile.mkdtemp()
    sched.set_timesteps(4)
    out["lcm/timesteps"] = sched.timesteps.clone()
    out["lcm/w_embedding"] = pipe.get_guidance_scale_embedding(torch.tensor(GUIDANCE - 1).repeat(1), embedding_dim=8)[0]
    t = sched.timesteps[2]  # edit_t_idx 2: t = 499
    zt, v, u = r(1, 4, 8, 8), r(1, 4, 8, 8), r(1, 3, 32, 32)
    noise = r(1, 4, 8, 8)
    out.update({"in/lcm/zt": zt, "in/lcm/v": v, "in/lcm/u": u, "in/lcm/noise": noise, "lcm/t": t.float().reshape(1)})
    lcm_x0 = lambda z: el.get_x0(z, LCM_PROMPT, t, 2)
    with torch.no_grad():
        out["lcm/x0"] = lcm_x0(zt)
        out["lcm/x0_edit"] = el.get_x0(zt, LCM_EDIT, t, 2)
        # One LCM step at t = 499 with the noise it injects fixed.
        w_emb = pipe.get_guidance_scale_embedding(torch.tensor(GUIDANCE - 1).repeat(1), embedding_dim=8)
        pred = unet(zt, t, timestep_cond=w_emb, encoder_hidden_states=lembs[LCM_PROMPT]).sample
        draw = scheduling_lcm.randn_tensor
        scheduling_lcm.randn_tensor = lambda *a, **k: noise
        sched.set_timesteps(4)
        sched._step_index = 2
        out["lcm/prev_sample"], out["lcm/denoised"] = sched.step(pred, t, zt, return_dict=False)
        scheduling_lcm.randn_tensor = draw
        # The last step returns the denoised latent itself.
        sched.set_timesteps(4)
        t3 = sched.timesteps[3]
        pred3 = unet(zt, t3, timestep_cond=w_emb, encoder_hidden_states=lembs[LCM_PROMPT]).sample
        sched._step_index = 3
        out["lcm/last_sample"], _ = sched.step(pred3, t3, zt, return_dict=False)
    _, out["lcm/jvp_x0"], out["lcm/vjp_x0"] = tl.jvp_vjp(lcm_x0, zt, v, u)
    out["lcm/direction"] = el.get_delta_zt_via_grad(zt.clone(), t, 2, LCM_PROMPT, LCM_EDIT, mask=mask).reshape(1, 4, 8, 8)

    arrays = {}
    for k, val in out.items():
        val = val.detach()
        assert torch.isfinite(val.float()).all(), k
        arrays[k] = val.numpy().astype(np.int64 if val.dtype == torch.int64 else np.float32)
    tl.save_safetensors(os.path.join(HERE, "golden.safetensors"), arrays)
    meta["tensors"] = {k: list(a.shape) for k, a in arrays.items()}
    write_json(os.path.join(HERE, "meta.json"), meta)
    print("models:", meta["models"])


if __name__ == "__main__":
    main()
