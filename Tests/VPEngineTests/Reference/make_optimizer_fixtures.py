#!/usr/bin/env python3
"""Reference trajectories for the engine's optimisers, written with numpy only.

Implements PyTorch's update rules (torch.optim.Adam, amsgrad=False, maximize=False, and torch.optim.SGD with
momentum, dampening 0, nesterov False), both with L2 weight decay added to the gradient (`g + wd * p`):

  Adam:  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
         p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
  SGD:   buf = g at t = 1, else buf = mu buf + g;  p -= lr buf

Inputs (initial parameters and gradients) are float32 values; the updates are computed in float64.
Five steps, a per-step learning rate, gradients of very different magnitudes (including exact zeros).

Usage: python3 make_optimizer_fixtures.py    (writes ../Fixtures/optimizer.json)
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 5
N = 8


def inputs():
    rng = np.random.default_rng(20240611)
    p0 = rng.uniform(-1.5, 1.5, N).astype(np.float32)
    # Different scales per coordinate: 1, 0.1, 1e-3, 10, ...
    scale = np.array([1, 0.1, 1e-3, 10, 1, 0.5, 2, 0.01], dtype=np.float64)
    grads = (rng.standard_normal((STEPS, N)) * scale).astype(np.float32)
    grads[0, 1] = 0.0  # a zero gradient at the first step
    grads[2, 4] = 0.0  # and later
    grads[:, 6] = np.float32(0.25)  # a constant gradient
    return p0, grads


def adam(p0, grads, lrs, wd, b1=0.9, b2=0.999, eps=1e-8):
    p = p0.astype(np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    out = []
    for t in range(1, len(grads) + 1):
        g = grads[t - 1].astype(np.float64) + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        bc1 = 1 - b1**t
        bc2 = 1 - b2**t
        denom = np.sqrt(v) / np.sqrt(bc2) + eps
        p = p - (lrs[t - 1] / bc1) * m / denom
        out.append(p.tolist())
    return out


def sgd(p0, grads, lrs, wd, mu=0.9):
    p = p0.astype(np.float64).copy()
    buf = None
    out = []
    for t in range(1, len(grads) + 1):
        g = grads[t - 1].astype(np.float64) + wd * p
        buf = g.copy() if buf is None else mu * buf + g
        p = p - lrs[t - 1] * buf
        out.append(p.tolist())
    return out


def main():
    p0, grads = inputs()
    adam_lrs = [0.01, 0.01, 0.005, 0.005, 0.001]
    sgd_lrs = [0.1, 0.1, 0.05, 0.05, 0.01]
    cases = []
    for wd in (0.0, 0.01):
        cases.append({"kind": "adam", "weightDecay": wd, "learningRates": adam_lrs, "parameters": adam(p0, grads, adam_lrs, wd)})
        cases.append({"kind": "sgd", "weightDecay": wd, "learningRates": sgd_lrs, "parameters": sgd(p0, grads, sgd_lrs, wd)})
    fixture = {
        "initial": [float(x) for x in p0],
        "gradients": [[float(x) for x in row] for row in grads],
        "cases": cases,
    }
    path = os.path.join(HERE, "..", "Fixtures", "optimizer.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
