#!/usr/bin/env python3
"""Writes vpbook's small random CLIP: a stand-in for notebooks/clip-text-prompts.md on machines where no
pretrained CLIP can be installed (no internet beyond Debian and PyPI, and no CLIP weights on PyPI).

    python3 scripts/make_small_clip.py OUT.safetensors

Python's standard library only (setup runs it on a fresh machine; no numpy, no torch). Deterministic: the same
bytes on every machine (a fixed seed for Python's Mersenne Twister, values rounded to float16 by `struct`).

What it is: OpenAI's CLIP architecture with OpenAI's state-dict keys, every size small except the text side's
vocabulary and context, which are the real ones (49,408 tokens, context 77), so the real tokenizer's ids fit:

    image 64, patch 8 (64 patches + the class token), vision width 64, 2 blocks
    text width 64, 2 blocks, context 77, vocabulary 49,408; embedding 32; heads width / 64 = 1
    logit_scale ln(100) (what OpenAI's training ends at)

Every weight is random — N(0, 1/fan_in) for matrices, N(0, 0.02²) for the token and positional embeddings,
layer norms γ = 1 and β = 0, biases 0 — so **its image and text embeddings mean nothing**: accuracies measured
with it show the machinery (prompt training, the mappings over text prompts), never what CLIP would do. The
file says so in its `__metadata__` (`vpbook.note`), which the notebook report shows beside the model.
"""

import json
import math
import os
import random
import struct
import sys

SEED = 20261201
IMAGE, PATCH, VISION_WIDTH, VISION_LAYERS = 64, 8, 64, 2
TEXT_WIDTH, TEXT_LAYERS, CONTEXT, VOCABULARY = 64, 2, 77, 49408
EMBED = 32
NOTE = (
    "vpbook's small random CLIP (scripts/make_small_clip.py): OpenAI's architecture at a small size with random "
    "weights, not pretrained - its numbers show the machinery, not what CLIP does"
)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_small_clip.py OUT.safetensors")
    rng = random.Random(SEED)
    tensors = []

    def normal(name, shape, std):
        count = math.prod(shape)
        tensors.append((name, shape, [rng.gauss(0.0, std) for _ in range(count)]))

    def constant(name, shape, value):
        tensors.append((name, shape, [value] * math.prod(shape)))

    def blocks(prefix, width, layers):
        for i in range(layers):
            p = f"{prefix}.resblocks.{i}"
            normal(f"{p}.attn.in_proj_weight", [3 * width, width], 1 / math.sqrt(width))
            constant(f"{p}.attn.in_proj_bias", [3 * width], 0.0)
            normal(f"{p}.attn.out_proj.weight", [width, width], 1 / math.sqrt(width))
            constant(f"{p}.attn.out_proj.bias", [width], 0.0)
            constant(f"{p}.ln_1.weight", [width], 1.0)
            constant(f"{p}.ln_1.bias", [width], 0.0)
            normal(f"{p}.mlp.c_fc.weight", [4 * width, width], 1 / math.sqrt(width))
            constant(f"{p}.mlp.c_fc.bias", [4 * width], 0.0)
            normal(f"{p}.mlp.c_proj.weight", [width, 4 * width], 1 / math.sqrt(4 * width))
            constant(f"{p}.mlp.c_proj.bias", [width], 0.0)
            constant(f"{p}.ln_2.weight", [width], 1.0)
            constant(f"{p}.ln_2.bias", [width], 0.0)

    grid = IMAGE // PATCH
    normal("visual.class_embedding", [VISION_WIDTH], 1 / math.sqrt(VISION_WIDTH))
    normal("visual.positional_embedding", [grid * grid + 1, VISION_WIDTH], 1 / math.sqrt(VISION_WIDTH))
    normal("visual.conv1.weight", [VISION_WIDTH, 3, PATCH, PATCH], 1 / math.sqrt(3 * PATCH * PATCH))
    constant("visual.ln_pre.weight", [VISION_WIDTH], 1.0)
    constant("visual.ln_pre.bias", [VISION_WIDTH], 0.0)
    blocks("visual.transformer", VISION_WIDTH, VISION_LAYERS)
    constant("visual.ln_post.weight", [VISION_WIDTH], 1.0)
    constant("visual.ln_post.bias", [VISION_WIDTH], 0.0)
    normal("visual.proj", [VISION_WIDTH, EMBED], 1 / math.sqrt(VISION_WIDTH))
    normal("token_embedding.weight", [VOCABULARY, TEXT_WIDTH], 0.02)
    normal("positional_embedding", [CONTEXT, TEXT_WIDTH], 0.01)
    blocks("transformer", TEXT_WIDTH, TEXT_LAYERS)
    constant("ln_final.weight", [TEXT_WIDTH], 1.0)
    constant("ln_final.bias", [TEXT_WIDTH], 0.0)
    normal("text_projection", [TEXT_WIDTH, EMBED], 1 / math.sqrt(TEXT_WIDTH))
    constant("logit_scale", [], math.log(100.0))

    # safetensors: u64 little-endian header length, the JSON header (padded with spaces to 8 bytes), then the
    # tensors' little-endian float16 bytes in order.
    header = {"__metadata__": {"format": "pt", "vpbook.note": NOTE}}
    blobs, offset = [], 0
    for name, shape, values in tensors:
        data = struct.pack(f"<{len(values)}e", *values)
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    out = sys.argv[1]
    with open(out + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
