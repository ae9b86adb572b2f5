"""Reference outputs for vpbook's Vision Transformer and its transformer kernels, computed with PyTorch.

Run with a Python that has torch and torchvision (CI has neither; the outputs are committed), from this
folder:

    ../../../.venv-bench/bin/python make_vit_fixture.py

Writes
  ../Fixtures/vit_small.pth, vit_small.safetensors  ViT "A": torchvision.models.VisionTransformer(image_size=16,
      patch_size=4, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=32, num_classes=10), random weights
      (every tensor, LayerNorm weights around 1), saved by torch.save (zip) and as safetensors written here by
      hand (8-byte header length, JSON header, raw little-endian float32). Its heads are 16 wide, so the Swift
      side must be told num_heads=2 (the hidden/64 rule would give 0).
  ../Fixtures/vit_legacy.pth  ViT "B": image_size=8, patch_size=4, num_layers=1, num_heads=1, hidden_dim=64,
      mlp_dim=16, representation_size=16 (heads.pre_logits + tanh), num_classes=5, with the MLP keys renamed to
      the old mlp.linear_1 / mlp.linear_2; its head count is the hidden/64 rule's.
  ../Fixtures/vit.json  for each model, in eval mode and float64 (the float32 weights converted exactly): the
      input x (channels-last [N, S, S, 3]), a random G [N, classes], the logits and the input gradient of
      sum(G * logits) (channels-last).
  ../../VPTensorTests/Fixtures/transformer_kernels.json  one tiny case per kernel, float64: LayerNorm
      (eps 1e-6 and 1e-5), nn.MultiheadAttention (batch_first, need_weights=False) without and with a causal
      mask, GELU (exact), QuickGELU, tanh: inputs, output and the input gradient of sum(gy * y).
"""

import json
import math
import os
import struct

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FIXTURES = os.path.join(HERE, "..", "Fixtures")
KERNEL_FIXTURES = os.path.join(HERE, "..", "..", "VPTensorTests", "Fixtures")


def stored(t):
    """A tensor as {shape, data}, values at float32 precision (9 significant digits)."""
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.reshape(-1).tolist()]}


def f32(t):
    """Rounds to float32 values (so the Swift side sees exactly the reference's inputs)."""
    return t.to(torch.float32).to(torch.float64)


def randomize(model, generator):
    """Random values for every tensor: torchvision zero-initialises the class token, biases and the head."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=generator, dtype=torch.float64)
            if name.endswith("bias"):
                v = 0.1 * r
            elif ".ln" in name or name.startswith("encoder.ln") or "ln_" in name:
                v = 1 + 0.2 * r  # LayerNorm weights around 1
            elif name in ("class_token", "encoder.pos_embedding"):
                v = 0.5 * r
            else:
                fan_in = p[0].numel()
                v = r / math.sqrt(fan_in)
            p.copy_(v.to(p.dtype))


def write_safetensors(state, path):
    """The safetensors format: u64 little-endian header length, JSON header, then the raw tensors."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, t in state.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def model_case(model, n, seed):
    g = torch.Generator().manual_seed(seed)
    s = model.image_size
    x = f32(torch.randn(n, 3, s, s, generator=g, dtype=torch.float64))
    G = f32(torch.randn(n, model.heads.head.out_features, generator=g, dtype=torch.float64))
    m = model.to(torch.float64).eval()
    xg = x.clone().requires_grad_(True)
    logits = m(xg)
    (G * logits).sum().backward()
    return {
        "N": n,
        "S": s,
        "x": stored(x.permute(0, 2, 3, 1)),
        "G": stored(G),
        "logits": stored(logits),
        "gradient": stored(xg.grad.permute(0, 2, 3, 1)),
    }


def make_models():
    os.makedirs(MODEL_FIXTURES, exist_ok=True)
    out = {}

    torch.manual_seed(0)
    a = torchvision.models.VisionTransformer(
        image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=32, num_classes=10
    )
    randomize(a, torch.Generator().manual_seed(1))
    state = {k: v.detach().clone() for k, v in a.state_dict().items()}
    torch.save(state, os.path.join(MODEL_FIXTURES, "vit_small.pth"))
    write_safetensors(state, os.path.join(MODEL_FIXTURES, "vit_small.safetensors"))
    out["vit_small"] = {"heads": 2, **model_case(a, 3, 2)}

    torch.manual_seed(0)
    b = torchvision.models.VisionTransformer(
        image_size=8, patch_size=4, num_layers=1, num_heads=1, hidden_dim=64, mlp_dim=16, num_classes=5,
        representation_size=16,
    )
    randomize(b, torch.Generator().manual_seed(3))
    state = {}
    for k, v in b.state_dict().items():
        k = k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2.")
        state[k] = v.detach().clone()
    torch.save(state, os.path.join(MODEL_FIXTURES, "vit_legacy.pth"))
    out["vit_legacy"] = {"heads": 1, **model_case(b, 2, 4)}

    with open(os.path.join(MODEL_FIXTURES, "vit.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


def kernel_case(name, op, params, inputs, forward):
    """Runs `forward(**inputs)` in float64 and the gradient of sum(gy * y) with respect to inputs['x']."""
    g = torch.Generator().manual_seed(len(name) * 7919 + sum(map(ord, name)))
    x = inputs["x"].clone().requires_grad_(True)
    y = forward(x)
    gy = f32(torch.randn(y.shape, generator=g, dtype=torch.float64))
    (gy * y).sum().backward()
    return {
        "name": name,
        "op": op,
        "params": params,
        "inputs": {k: stored(v) for k, v in inputs.items()} | {"gy": stored(gy)},
        "outputs": {"y": stored(y), "gx": stored(x.grad)},
    }


def make_kernels():
    g = torch.Generator().manual_seed(11)

    def rand(*shape, scale=1.0, shift=0.0):
        return f32(shift + scale * torch.randn(*shape, generator=g, dtype=torch.float64))

    cases = []
    for eps in (1e-6, 1e-5):
        x = rand(2, 3, 24, scale=2.0, shift=0.5)
        w, b = rand(24, scale=0.3, shift=1.0), rand(24, scale=0.2)
        cases.append(
            kernel_case(
                f"layernorm_eps{eps:g}", "layernorm", {"eps": eps}, {"x": x, "weight": w, "bias": b},
                lambda x, w=w, b=b, eps=eps: torch.nn.functional.layer_norm(x, (24,), w, b, eps),
            )
        )
    for causal in (False, True):
        d, heads, t = 16, 2, 5
        mha = torch.nn.MultiheadAttention(d, heads, batch_first=True).to(torch.float64)
        with torch.no_grad():
            mha.in_proj_weight.copy_(rand(3 * d, d, scale=1 / math.sqrt(d)))
            mha.in_proj_bias.copy_(rand(3 * d, scale=0.1))
            mha.out_proj.weight.copy_(rand(d, d, scale=1 / math.sqrt(d)))
            mha.out_proj.bias.copy_(rand(d, scale=0.1))
        x = rand(2, t, d)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1) if causal else None
        cases.append(
            kernel_case(
                f"attention_{'causal' if causal else 'full'}", "attention", {"heads": heads, "causal": causal},
                {
                    "x": x,
                    "in_proj_weight": mha.in_proj_weight.detach(),
                    "in_proj_bias": mha.in_proj_bias.detach(),
                    "out_proj_weight": mha.out_proj.weight.detach(),
                    "out_proj_bias": mha.out_proj.bias.detach(),
                },
                lambda x, mha=mha, mask=mask: mha(x, x, x, need_weights=False, attn_mask=mask)[0],
            )
        )
    x = f32(torch.linspace(-6, 6, 61, dtype=torch.float64).reshape(1, 61) + 0.01)
    activations = {
        "gelu": lambda x: torch.nn.functional.gelu(x),
        "quickGELU": lambda x: x * torch.sigmoid(1.702 * x),
        "tanh": lambda x: torch.tanh(x),
    }
    for name, f in activations.items():
        cases.append(kernel_case(name, "activation", {"activation": name}, {"x": x}, f))
    os.makedirs(KERNEL_FIXTURES, exist_ok=True)
    with open(os.path.join(KERNEL_FIXTURES, "transformer_kernels.json"), "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    torch.set_num_threads(1)
    make_models()
    make_kernels()
    for folder in (MODEL_FIXTURES, KERNEL_FIXTURES):
        for name in sorted(os.listdir(folder)):
            if name.startswith("vit") or name.startswith("transformer"):
                print(name, os.path.getsize(os.path.join(folder, name)))
