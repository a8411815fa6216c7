# Regenerates the CLIP goldens in this folder from OpenAI's CLIP code (see README.md):
#
#   /usr/bin/python3 gen_clip.py /path/to/openai/CLIP /path/to/python-ftfy
#
# tokenizer_golden.json: ids of OpenAI's simple_tokenizer (with ftfy and the real bpe_simple_vocab_16e6.txt.gz) for
# a few hundred prompts; tiny-clip-text-*/ and text_golden.safetensors: a tiny random text tower built from
# OpenAI's model.py, saved under HuggingFace transformers' CLIPTextModel names, and its outputs.
# Needs PyTorch, numpy and the `regex` package (Debian: python3-regex).
import functools
import importlib.util
import json
import os
import random
import shutil
import struct
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def save_safetensors(path, tensors):
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


HANDWRITTEN = [
    "", " ", "\t\n  ", "a", "A", "a photo of a man", "a photo of a man wearing glasses", "A photo of a man having curly hair",
    "a photograph of an astronaut riding a horse", "An oil painting of a castle, trending on artstation, 8k, highly detailed",
    "portrait of a woman, (masterpiece:1.2), best quality, ultra-detailed", "cat's whiskers aren't they're we've I'm you'll he'd",
    "CAT'S WHISKERS AREN'T THEY'RE", "It's 3:45pm on 2024-05-17; price $1,299.99 (−20%)!!!", "1234567890 0.5 3.14159 1e-5 -7",
    "hello,world.how;are:you?fine!", "...!!!???---___***", "a---b___c", "emoji 😀🚀🎨👩‍🚀 party 🎉", "🇫🇷🇯🇵 flags",
    "café naïve résumé coöperate façade", "cafe\u0301 (decomposed accent)", "Straße Fußgänger ẞ", "ΟΔΟΣ σοφία ΣΟΦΟΣ Σ ΑΣ.",
    "İstanbul ve Iğdır ıı", "Москва, красная площадь", "日本語のテキスト、東京タワー。", "中文提示词：一只可爱的猫",
    "한국어 문장입니다", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Ελληνικά γράμματα",
    "ﬁne ﬂowers ﬀ ﬃ ĳssel Ǆ", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ １２３", "ｶﾀｶﾅ halfwidth", "“curly” ‘quotes’ ‚low‛ ʼapostrophe",
    "&amp; &lt;tag&gt; &eacute;t&eacute; &#39;quoted&#39; &#x263A; &NTILDE; &EACUTE; &nbsp;x", "&amp;amp; double &amp;lt;",
    "<b>bold</b> &amp; html", "line one\nline two &amp; <i>\nline three &amp;", "tab\tseparated\tvalues",
    "carriage\r\nreturn\rmix\u2028sep\u2029para\u0085nel", "zero\u200bwidth\u200cjoiner\u200d", "bom\ufefftext \u206a",
    "ctrl\x01\x02\x7fchars\x1b[31mred\x1b[0m", "c1 \x80 \x85 \x91quote\x92 \x9f", "nbsp\u00a0space\u2003em\u3000ideo",
    "<|startoftext|>literal<|endoftext|> tokens", "<|ENDOFTEXT|> upper", "@user #hashtag http://example.com/a?b=c&d=e",
    "snake_case camelCase kebab-case PascalCase", "x²+y³=z½ ⅔ ① Ⅻ", "١٢٣ ४५६ ๑๒๓", "superscript ¹²³ and subscript ₁₂₃",
    "math ∑∫√∞ ≤≥≠ ±×÷", "currency € £ ¥ ₹ ₿", "arrows → ← ⇒ ↔", "box ─│┌┐ ░▒▓", "dingbats ✓✗✔✘ ★☆",
    "combining a\u0300\u0301\u0302 e\u0308", "hangul jamo \u1100\u1161\u11a8", "music 𝄞 math 𝔸𝕓𝒸", "private \ue000 use",
    "replacement \ufffd char", "lonely\u0301accent", "ÀÉÎÕÜ ÇÑ", "Ǆemal", "ﬀ upper ﬀ", "Ⓐⓑ circled", "ŉ Afrikaans",
    "cafÃ© mojibake", "Ã©tÃ© encodage", "â€œquotedâ€\x9d mojibake",
    "a " * 40, "word " * 80, "supercalifragilisticexpialidocious " * 5, "x" * 300, "😀" * 30,
    "a photo of a dog, " * 10, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42",
]

WORDS = ["photo", "portrait", "man", "woman", "glasses", "curly", "hair", "smiling", "dog", "cat", "castle", "forest",
         "sunset", "cyberpunk", "city", "neon", "lights", "oil", "painting", "watercolor", "4k", "8K", "HDR", "35mm",
         "f/1.8", "bokeh", "Greg", "Rutkowski", "trending", "ArtStation", "unreal", "engine", "octane", "render",
         "café", "naïve", "Zürich", "São", "Paulo", "Kraków", "Ærøskøbing", "İzmir", "ΣΟΦΙΑ", "ΟΔΟΣ", "Москва",
         "東京", "北京", "서울", "القاهرة", "תל", "मुंबई", "กรุงเทพ", "😀", "🚀", "🎨", "❤️", "&amp;", "&eacute;",
         "“quoted”", "it's", "they're", "we'll", "I'd", "3.14", "1,000", "−20%", "#1", "@home", "x²", "½", "ﬁne",
         "ＦＵＬＬ", "<|endoftext|>", "(masterpiece:1.2)", "[detailed]", "{style}", "a|b", "\\path", "...", "!!!",
         "?!", "--", "__init__", "e-mail", "co-op", "rock'n'roll", "O'Brien", "l'été", "don't", "CAN'T"]
SEPARATORS = [" ", " ", " ", ", ", ",", "; ", " - ", "\t", "\n", "  ", ". ", "!", " | ", "\u00a0", "\u3000"]


def random_prompts(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.choice([1, 2, 3, 5, 8, 13, 40, 90])
        words = []
        for _ in range(k):
            w = rng.choice(WORDS)
            r = rng.random()
            if r < 0.15:
                w = w.upper()
            elif r < 0.3:
                w = w.capitalize()
            words.append(w)
            words.append(rng.choice(SEPARATORS))
        out.append("".join(words).rstrip())
    return out


def tokenizer_golden(clip_dir, ftfy_dir):
    sys.path.insert(0, ftfy_dir)
    sys.modules.setdefault("wcwidth", types.SimpleNamespace(wcwidth=lambda c: 1, wcswidth=lambda s: len(s)))
    import ftfy

    st = load_module("simple_tokenizer", os.path.join(clip_dir, "clip", "simple_tokenizer.py"))
    bpe = os.path.join(clip_dir, "clip", "bpe_simple_vocab_16e6.txt.gz")
    shutil.copyfile(bpe, os.path.join(HERE, "bpe_simple_vocab_16e6.txt.gz"))
    tok = st.SimpleTokenizer(bpe)
    fix_text = ftfy.fix_text

    prompts = HANDWRITTEN + random_prompts(220, 7)
    cases = []
    for p in prompts:
        st.ftfy.fix_text = fix_text
        ids = tok.encode(p)
        st.ftfy.fix_text = functools.partial(fix_text, fix_encoding=False)
        plain = tok.encode(p)
        case = {"text": p, "ids": ids}
        if plain != ids:
            case["ids_without_mojibake_repair"] = plain
        cases.append(case)
    st.ftfy.fix_text = fix_text
    with open(os.path.join(HERE, "tokenizer_golden.json"), "w") as f:
        json.dump({"source": "openai/CLIP simple_tokenizer.py, ftfy %s" % ftfy.__version__, "cases": cases}, f,
                  ensure_ascii=True, indent=0)
    return len(cases), sum("ids_without_mojibake_repair" in c for c in cases)


def hf_state_dict(model, layers):
    """OpenAI's text-tower names → transformers' CLIPTextModel names."""
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    out = {
        "text_model.embeddings.token_embedding.weight": sd["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": sd["positional_embedding"],
        "text_model.final_layer_norm.weight": sd["ln_final.weight"],
        "text_model.final_layer_norm.bias": sd["ln_final.bias"],
    }
    for i in range(layers):
        src, dst = "transformer.resblocks.%d." % i, "text_model.encoder.layers.%d." % i
        for a, b in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2"),
                     ("attn.out_proj", "self_attn.out_proj")):
            out[dst + b + ".weight"] = sd[src + a + ".weight"]
            out[dst + b + ".bias"] = sd[src + a + ".bias"]
        w, bias = sd[src + "attn.in_proj_weight"], sd[src + "attn.in_proj_bias"]
        for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
            n = w.shape[1]
            out[dst + "self_attn." + name + ".weight"] = w[j * n:(j + 1) * n]
            out[dst + "self_attn." + name + ".bias"] = bias[j * n:(j + 1) * n]
    return {k: v.numpy().astype(np.float32) for k, v in out.items()}


def random_text_tower(model_py, vocab, width, layers, heads, ctx, act, g):
    """OpenAI's text transformer (model.py) with random weights drawn from the generator g: norm scales
    1 + N(0, 0.1²), biases N(0, 0.1²), kernels N(0, 1/fan_in), embeddings N(0, 1/4); act "gelu" replaces
    quick-GELU by exact GELU."""
    m = torch.nn.Module()
    m.token_embedding = torch.nn.Embedding(vocab, width)
    m.positional_embedding = torch.nn.Parameter(torch.empty(ctx, width))
    mask = torch.empty(ctx, ctx).fill_(float("-inf")).triu_(1)
    m.transformer = model_py.Transformer(width, layers, heads, attn_mask=mask)
    m.ln_final = model_py.LayerNorm(width)
    if act == "gelu":
        for block in m.transformer.resblocks:
            block.mlp.gelu = torch.nn.GELU()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_final.weight":
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / (p.shape[-1] ** 0.5 if "embedding" not in name else 2))
    return m


def text_golden(clip_dir):
    model_py = load_module("clip_model", os.path.join(clip_dir, "clip", "model.py"))
    vocab, width, heads, layers, ctx = 1000, 16, 2, 3, 77
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(0, vocab, (2, ctx), generator=g)
    ids[0, 0], ids[0, 7] = 998, 999  # start and end tokens of a short prompt
    ids[0, 8:] = 999
    out = {"in/input_ids": ids.numpy().astype(np.int64)}
    meta = {}
    for act in ("quick_gelu", "gelu"):
        m = random_text_tower(model_py, vocab, width, layers, heads, ctx, act, g)

        def run(skip):
            x = m.token_embedding(ids) + m.positional_embedding
            x = x.permute(1, 0, 2)
            for block in m.transformer.resblocks[:layers - skip]:
                x = block(x)
            return m.ln_final(x.permute(1, 0, 2))

        with torch.no_grad():
            out[act + "/last_hidden_state"] = run(0).numpy()
            out[act + "/penultimate"] = run(1).numpy()
        folder = os.path.join(HERE, "tiny-clip-text-" + act.replace("_", ""))
        os.makedirs(folder, exist_ok=True)
        sd = hf_state_dict(m, layers)
        if act == "quick_gelu":  # SD 1.x text encoders also carry the position ids buffer
            sd["text_model.embeddings.position_ids"] = np.arange(ctx, dtype=np.int64)[None]
        save_safetensors(os.path.join(folder, "model.safetensors"), sd)
        config = {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": vocab,
                  "hidden_size": width, "intermediate_size": 4 * width, "num_hidden_layers": layers,
                  "num_attention_heads": heads, "max_position_embeddings": ctx, "hidden_act": act,
                  "layer_norm_eps": 1e-5, "projection_dim": 8, "bos_token_id": 998, "eos_token_id": 999,
                  "pad_token_id": 1, "torch_dtype": "float32"}
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        meta[act] = sum(v.size for k, v in sd.items() if k != "text_model.embeddings.position_ids")
    save_safetensors(os.path.join(HERE, "text_golden.safetensors"), out)
    return meta


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_clip.py /path/to/openai/CLIP /path/to/python-ftfy")
    n, mojibake = tokenizer_golden(sys.argv[1], sys.argv[2])
    params = text_golden(sys.argv[1])
    print("%d prompts (%d repaired as mojibake by ftfy); text towers: %s parameters" % (n, mojibake, params))


if __name__ == "__main__":
    main()
