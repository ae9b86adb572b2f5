#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/Corpus/TARGET/*): one or two small valid inputs each,
made with the standard library only, so that the fuzzers start from inputs that get past the magic bytes.
Run from the repository root: python3 Fuzz/make_seeds.py
The JPEG seeds need an encoder the standard library lacks: they were written once with Pillow 13.0.0 (PyPI,
in a throw-away venv) by jpeg_seeds() below, and are committed; without Pillow they are left as they are."""
import gzip, io, json, os, pickle, struct, zipfile, zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


def safetensors():
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "__metadata__": {"k": "v"}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1, 2, 3, 4)


def idx():
    return struct.pack(">I", 0x803) + struct.pack(">III", 2, 2, 2) + bytes(range(8))


def npy():
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(range(8))


def png():
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([(x * 40 + y * 7) % 256 for x in range(3 * 3)]) for y in range(3))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 3, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Rebuild:
    """Stands for torch._utils._rebuild_tensor_v2 in a hand-made pickle."""


def torch_like_pickle():
    # A dict of plain values as torch's legacy format starts, protocol 2 (the reader's dialect).
    return pickle.dumps({"weight": [1.0, 2.0], "shape": (2,), "name": "w"}, protocol=2)


def zip_pth():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1, "b": [1, 2, 3]}, protocol=2))
        z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        z.writestr("archive/version", "3\n")
    return buffer.getvalue()


put("safetensors", "small.safetensors", safetensors())
put("checkpoint", "small.safetensors", safetensors())
put("checkpoint", "small-zip.pth", zip_pth())
put("checkpoint", "small-legacy.pth", torch_like_pickle())
put("pickle", "dict.pkl", torch_like_pickle())
put("pickle", "list.pkl", pickle.dumps([1, 2.5, "x", (1, 2), None, True], protocol=2))
put("idx", "small.idx", idx())
put("gzip", "small.idx.gz", gzip.compress(idx(), mtime=0))
put("npy", "small.npy", npy())
put("csv", "small.csv", b"label-free header\n1,2,3,4,0\n16,0,8,4,2\n")
put("cifar", "two.bin", bytes([1, 2]) + bytes(range(256)) * 12 + bytes([3, 4]) + bytes(reversed(range(256))) * 12)
put("animalmnist", "pair.bin", gzip.compress(pickle.dumps([[0, 255], [1, 2]], protocol=2), mtime=0)
    + gzip.compress(pickle.dumps([0, 1], protocol=2), mtime=0))
put("image", "small.png", png())
put("notebook", "small.md", b"""---
title: Fuzz
params:
  epochs: 2
---
# Title {#sec}

Prose with @fig-a.

```vp {#fig-a caption="A."}
model mobilenet_v2
data digits per_class=2 val=1 test=2
prompt pad canvas=32 image=16
compare mapping=rlm,flm,ilm epochs=$epochs seeds=7,8
sweep image=8,16 mapping=flm,ilm
show mapping run=ilm top=3
```
""")


def jpeg_seeds():
    try:
        from PIL import Image
    except ImportError:
        return
    image = Image.new("RGB", (16, 12))
    for x in range(16):
        for y in range(12):
            image.putpixel((x, y), (x * 16, y * 20, (x + y) * 8))
    out = os.path.join(root, "image")
    image.save(os.path.join(out, "small.jpg"), quality=75)
    Image.new("L", (8, 8), 128).save(os.path.join(out, "grey.jpg"), quality=90)
    image.save(os.path.join(out, "progressive.jpg"), quality=60, progressive=True)


jpeg_seeds()
