"""Reference outputs for vpbook's interpolated positional embedding (ViT and CLIP at another canvas than their
checkpoint's), computed with PyTorch.

Run from this folder with a Python that has torch and torchvision (CI has neither; the output is committed):

    /work/main/.venv-bench/bin/python make_position_interpolation_fixture.py

It reads the committed small checkpoints written by make_vit_fixture.py and make_clip_fixture.py (it does not
rewrite them): ../Fixtures/vit_small.pth (torchvision ViT, image 16, patch 4: a 4x4 grid) and
../Fixtures/clip_small.pth (OpenAI CLIP, image 16, patch 4), plus the folded token ids of ../Fixtures/clip.json.

The interpolation is the one Hugging Face's CLIP `interpolate_pos_encoding` does: the class token's position
unchanged, the g x g grid of patch positions resized to the new (S/p) x (S/p) grid by
F.interpolate(mode="bicubic", align_corners=False). (torchvision's `interpolate_embeddings`, which resizes a ViT
checkpoint for another image_size, uses align_corners=True instead; the kernel cases below cover both.)

For each model and canvas, the reference builds the model at that image size (torchvision's VisionTransformer with
image_size=S; OpenAI's CLIP with image_resolution=S), loads the checkpoint with its positional embedding replaced
by the interpolated one, and runs it in eval mode and float64 (the stored float32 / float16 values converted
exactly).

Writes ../Fixtures/position_interpolation.json:
  kernel      a random 4x4 grid of 3 channels resized to 6x6, 2x2, 3x5 and 5x5, with align_corners False and True
  vit_small   canvases 24 (6x6 patches, N 1) and 8 (2x2, N 2): the interpolated embedding [1 + h*w, 32], the input
              x (channels-last [N, S, S, 3], values with 3 decimals), a random G [N, 10], the logits and the input
              gradient of sum(G * logits) (channels-last)
  clip_small  canvases 20 (5x5, N 1) and 12 (3x3, N 2), the same for the image tower with the text head of
              clip.json's four texts: logits = exp(logit_scale) * unit image embeddings @ unit text embeddings^T
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Fixtures")
sys.path.insert(0, HERE)
import make_clip_fixture  # noqa: E402  (the OpenAI CLIP module from the wheel, and its CONFIG)


def stored(t, digits=7):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float("%.*g" % (digits, v)) for v in t.reshape(-1).tolist()]}


def decimals(*shape, generator, scale=1.0):
    """Random values rounded to 3 decimals (stored exactly as written), as float32 values in float64."""
    r = torch.round(scale * torch.randn(*shape, generator=generator, dtype=torch.float64) * 1000) / 1000
    return r.to(torch.float32).to(torch.float64)


def interpolate(positions, h, w, align_corners=False):
    """[1 + g², D] (class token first) -> [1 + h·w, D]: the grid part resized with F.interpolate bicubic."""
    d = positions.shape[-1]
    g = int(round((positions.shape[0] - 1) ** 0.5))
    grid = positions[1:].reshape(1, g, g, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=align_corners)
    return torch.cat([positions[:1], grid.permute(0, 2, 3, 1).reshape(h * w, d)])


def kernel_cases():
    g = torch.Generator().manual_seed(21)
    x = decimals(1, 3, 4, 4, generator=g)
    cases = []
    for h, w in ((6, 6), (2, 2), (3, 5), (5, 5)):
        for align in (False, True):
            y = F.interpolate(x, size=(h, w), mode="bicubic", align_corners=align)
            cases.append({"size": [h, w], "align_corners": align, "y": stored(y[0].permute(1, 2, 0), 9)})
    return {"x": stored(x[0].permute(1, 2, 0), 9), "cases": cases}


def vit_cases():
    state = torch.load(os.path.join(FIXTURES, "vit_small.pth"))
    stored_positions = state["encoder.pos_embedding"].to(torch.float64)[0]
    out = []
    for canvas, n, seed in ((24, 1, 31), (8, 2, 32)):
        model = torchvision.models.VisionTransformer(
            image_size=canvas, patch_size=4, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=32, num_classes=10
        )
        grid = canvas // 4
        positions = interpolate(stored_positions, grid, grid)
        resized = {k: v.to(torch.float64) for k, v in state.items()}
        resized["encoder.pos_embedding"] = positions[None]
        model = model.to(torch.float64).eval()
        model.load_state_dict(resized)
        g = torch.Generator().manual_seed(seed)
        x = decimals(n, 3, canvas, canvas, generator=g)
        G = decimals(n, 10, generator=g)
        xg = x.clone().requires_grad_(True)
        logits = model(xg)
        (G * logits).sum().backward()
        out.append({
            "S": canvas, "N": n, "positions": stored(positions), "x": stored(x.permute(0, 2, 3, 1), 4),
            "G": stored(G, 4), "logits": stored(logits), "gradient": stored(xg.grad.permute(0, 2, 3, 1)),
        })
    return out


def clip_cases():
    clip_model = make_clip_fixture.load_openai_model_module()
    state = torch.load(os.path.join(FIXTURES, "clip_small.pth"))
    with open(os.path.join(FIXTURES, "clip.json")) as f:
        folded = torch.tensor(json.load(f)["folded_token_ids"], dtype=torch.long)
    stored_positions = state["visual.positional_embedding"].to(torch.float64)
    out = []
    for canvas, n, seed in ((20, 1, 41), (12, 2, 42)):
        model = clip_model.CLIP(**(make_clip_fixture.CONFIG | {"image_resolution": canvas})).to(torch.float64)
        grid = canvas // 4
        positions = interpolate(stored_positions, grid, grid)
        resized = {k: state[k].to(torch.float64) for k in model.state_dict()}
        resized["visual.positional_embedding"] = positions
        model.load_state_dict(resized)
        model = model.eval()
        g = torch.Generator().manual_seed(seed)
        x = decimals(n, 3, canvas, canvas, generator=g)
        G = decimals(n, folded.shape[0], generator=g)
        xg = x.clone().requires_grad_(True)
        image = model.encode_image(xg)
        image = image / image.norm(dim=1, keepdim=True)
        with torch.no_grad():
            text = model.encode_text(folded)
        text = text / text.norm(dim=1, keepdim=True)
        logits = model.logit_scale.exp() * image @ text.t()
        reference_logits, _ = model(xg, folded)
        assert (reference_logits - logits).abs().max().item() < 1e-12
        (G * logits).sum().backward()
        out.append({
            "S": canvas, "N": n, "positions": stored(positions), "x": stored(x.permute(0, 2, 3, 1), 4),
            "G": stored(G, 4), "logits": stored(logits), "gradient": stored(xg.grad.permute(0, 2, 3, 1)),
        })
    return out


def main():
    torch.set_num_threads(1)
    out = {
        "about": "make_position_interpolation_fixture.py: F.interpolate bicubic align_corners=False on the patch "
        f"positions; torch {torch.__version__}, torchvision {torchvision.__version__}, float64",
        "kernel": kernel_cases(),
        "vit_small": vit_cases(),
        "clip_small": clip_cases(),
    }
    path = os.path.join(FIXTURES, "position_interpolation.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
