#!/usr/bin/env python3
"""Independent numpy reference for LoR-VP's low-rank prompt -> ../Fixtures/lowrank.json

Run:  python3 make_lowrank_fixture.py      (numpy only; deterministic)

The prompt: P[c] = B[c] @ A[c] with B [3, S, r] and A [3, r, S]; the prompted input of image x
([B, S, S, 3] channels-last, values in [0, 1]) is (x + P^T - mean) / std per channel, with ImageNet's
mean and std. For a random upstream gradient G of the prompted inputs, the gradients of
L = sum(G * input) with respect to B and A. All maths in float64 from float32-rounded inputs.
"""
import json
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def case(rng, side, rank, batch):
    b = f32(rng.normal(0, 0.3, (3, side, rank)))
    a = f32(rng.normal(0, 0.3, (3, rank, side)))
    images = f32(rng.uniform(0, 1, (batch, side, side, 3)))
    g = f32(rng.normal(0, 1, (batch, side, side, 3)))
    pattern = np.einsum("cyk,ckx->yxc", b, a)  # [S, S, 3]
    prompted = (images + pattern[None] - MEAN) / STD
    gp = (g / STD).sum(axis=0)  # dL/dP, [S, S, 3]
    gb = np.einsum("yxc,ckx->cyk", gp, a)
    ga = np.einsum("cyk,yxc->ckx", b, gp)
    flat = lambda t: [float(np.float32(v)) for v in np.asarray(t).ravel()]
    return {
        "side": side, "rank": rank, "batch": batch,
        "B": flat(b), "A": flat(a), "images": flat(images), "G": flat(g),
        "prompted": flat(prompted), "gradB": flat(gb), "gradA": flat(ga),
    }


def main():
    rng = np.random.default_rng(20261201)
    cases = [case(rng, 8, 2, 2), case(rng, 10, 3, 2)]
    with open("../Fixtures/lowrank.json", "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
