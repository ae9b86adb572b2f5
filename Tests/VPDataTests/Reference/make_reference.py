#!/usr/bin/env python3
"""Reference values for VPDataTests, computed with gzip + numpy only.

  * Fashion-MNIST (IDX, gzip): counts, label histograms, first labels, pixel sums (as u8).
  * MNIST-5k and sklearn digits (CSV, gzip): the same summaries.
  * Split: an independent implementation of the documented rule (per-class SplitMix64
    Fisher-Yates, train | val | held-out cut, sorted) on the Fashion-MNIST training labels.
  * The VP transform: torch-style bilinear (align_corners=False) 28x28 -> 64x64 of one image.

Usage: python3 make_reference.py [ASSETS_DIR [FASHION_MNIST_DIR]]
  ASSETS_DIR defaults to $VPBOOK_ASSETS or /work/main/.cache/assets;
  FASHION_MNIST_DIR to $VPBOOK_FASHION_MNIST or /usr/share/datasets/fashion-mnist.
Writes ../Fixtures/reference.json.
"""

import gzip
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1


def read_idx(path):
    data = gzip.open(path, "rb").read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    assert magic >> 8 == 0x08, hex(magic)
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data[4 + 4 * ndim :], dtype=np.uint8)
    assert arr.size == int(np.prod(dims))
    return magic, arr.reshape(dims)


def read_csv(path):
    rows = [list(map(int, line.split(","))) for line in gzip.open(path, "rt") if line.strip()]
    arr = np.array(rows, dtype=np.int64)
    return arr[:, :-1], arr[:, -1]


def summary(images, labels, classes=10):
    images = images.reshape(len(images), -1).astype(np.int64)
    return {
        "count": int(len(images)),
        "pixelsPerImage": int(images.shape[1]),
        "histogram": np.bincount(labels, minlength=classes).astype(int).tolist(),
        "firstLabel": int(labels[0]),
        "lastLabel": int(labels[-1]),
        "firstImageSum": int(images[0].sum()),
        "totalSum": int(images.sum()),
    }


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        return mix(self.state)


def split(labels, classes, per_class, val, held_out, seed):
    train, valid, test = [], [], []
    for c in range(classes):
        idx = [i for i, l in enumerate(labels) if l == c]
        if seed is not None:
            g = SplitMix64(seed ^ mix(c + 1))
            for i in range(len(idx) - 1, 0, -1):
                j = g.next() % (i + 1)
                idx[i], idx[j] = idx[j], idx[i]
        p = per_class if per_class is not None else len(idx) - val - held_out
        train += idx[:p]
        valid += idx[p : p + val]
        test += idx[p + val : p + val + held_out]
    return sorted(train), sorted(valid), sorted(test)


def split_summary(parts):
    out = {}
    for name, part in zip(["train", "val", "test"], parts):
        out[name] = {"count": len(part), "sum": int(sum(part)), "first": part[:5], "last": part[-1] if part else -1}
    return out


def bilinear_matrix(in_size, out_size):
    m = np.zeros((out_size, in_size))
    scale = in_size / out_size
    for o in range(out_size):
        src = max((o + 0.5) * scale - 0.5, 0.0)
        i0 = int(math.floor(src))
        i1 = min(i0 + 1, in_size - 1)
        m[o, i0] += 1 - (src - i0)
        m[o, i1] += src - i0
    return m


def main():
    assets = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VPBOOK_ASSETS", "/work/main/.cache/assets")
    fashion = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "VPBOOK_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
    ref = {}
    for part, prefix in [("train", "train"), ("test", "t10k")]:
        mi, images = read_idx(os.path.join(fashion, prefix + "-images-idx3-ubyte.gz"))
        ml, labels = read_idx(os.path.join(fashion, prefix + "-labels-idx1-ubyte.gz"))
        assert mi == 0x803 and ml == 0x801
        ref["fashion-" + part] = summary(images, labels)
        if part == "train":
            train_labels = labels.astype(int).tolist()
            m = bilinear_matrix(28, 64)
            up = m @ (images[0].astype(np.float64) / 255.0) @ m.T
            idx = [int(i * (64 * 64 - 1) // 9) for i in range(10)]
            ref["vpResize"] = {"image": 0, "side": 64, "sum": float(up.sum()),
                               "indices": idx, "values": [float(up.reshape(-1)[i]) for i in idx]}
    px, lab = read_csv(os.path.join(assets, "data", "mnist_5k.csv.gz"))
    ref["mnist5k"] = summary(px, lab)
    px, lab = read_csv(os.path.join(assets, "data", "digits.csv.gz"))
    ref["digits"] = summary(px, lab)

    g = SplitMix64(0)
    ref["splitmix64Seed0"] = [str(g.next()) for _ in range(3)]
    ref["splitSeeded"] = {"perClass": 500, "valPerClass": 100, "heldOut": 50, "seed": 42,
                          **split_summary(split(train_labels, 10, 500, 100, 50, 42))}
    ref["splitFileOrder"] = {"perClass": 500, "valPerClass": 100, "heldOut": 0,
                             **split_summary(split(train_labels, 10, 500, 100, 0, None))}
    path = os.path.join(HERE, "..", "Fixtures", "reference.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", os.path.normpath(path))
    for k in ["fashion-train", "fashion-test", "mnist5k", "digits"]:
        print(k, {x: ref[k][x] for x in ["count", "firstLabel", "firstImageSum", "histogram"]})


if __name__ == "__main__":
    main()
