#!/usr/bin/env python3
"""Reference for the pad prompt with AutoVP's learnable input scale, written with numpy only.

Independent of vpbook's code path: the image is placed on a zero canvas with ILM-VP's geometry (left/top pad
(S - s + 1) // 2), then the canvas is warped with the affine matrix of a zoom by sigma about the centre
c = (S - 1) / 2 (kornia.geometry.transform.scale: dst = c + sigma (src - c)), sampled like
torch.nn.functional.grid_sample(align_corners=True, padding_mode="zeros"): for each output pixel the source
point is A^-1 dst and the value is the bilinear blend of its four neighbours, zero outside the canvas.
The border mask is 1 outside the centred square of side min(S, int(s * sigma)) (AutoVP's redefined mask).

  x = (zoom(pad(img)) + sigmoid(delta) * M - mean) / std,     L = sum(G * x)

dL/dsigma is a float64 central finite difference of L with the mask held fixed (the mask is a step function
of sigma; like AutoVP only the zoom carries the gradient); dL/ddelta is the closed form.
Inputs are float32 values; everything is computed in float64.

Usage: python3 make_scale_fixture.py    (writes ../Fixtures/input_scale.json)
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def canvas_with_image(img, S):
    s = img.shape[1]
    off = (S - s + 1) // 2
    P = np.zeros((img.shape[0], S, S, 3))
    P[:, off:off + s, off:off + s, :] = img
    return P


def zoom(P, sigma):
    B, S = P.shape[0], P.shape[1]
    c = (S - 1) / 2
    A = np.array([[sigma, 0, (1 - sigma) * c], [0, sigma, (1 - sigma) * c], [0, 0, 1]])
    Ainv = np.linalg.inv(A)
    out = np.zeros_like(P)
    for y in range(S):
        for x in range(S):
            sx, sy, _ = Ainv @ np.array([x, y, 1.0])
            x0, y0 = int(np.floor(sx)), int(np.floor(sy))
            fx, fy = sx - x0, sy - y0
            for (yy, wy) in ((y0, 1 - fy), (y0 + 1, fy)):
                for (xx, wx) in ((x0, 1 - fx), (x0 + 1, fx)):
                    if 0 <= yy < S and 0 <= xx < S:
                        out[:, y, x, :] += wy * wx * P[:, yy, xx, :]
    return out


def mask(S, s, sigma):
    side = min(S, int(np.float32(s) * np.float32(sigma)))
    off = (S - side + 1) // 2
    M = np.ones((S, S))
    M[off:off + side, off:off + side] = 0
    return M


def forward(img, delta, sigma, M):
    P = canvas_with_image(img, delta.shape[0])
    raw = zoom(P, sigma) + (1 / (1 + np.exp(-delta))) * M[:, :, None]
    return (raw - MEAN) / STD


def case(rng, S, s, sigma, B):
    img = rng.uniform(0, 1, (B, s, s, 3)).astype(np.float32).astype(np.float64)
    delta = rng.uniform(-2, 2, (S, S, 3)).astype(np.float32).astype(np.float64)
    G = rng.normal(0, 1, (B, S, S, 3)).astype(np.float32).astype(np.float64)
    M = mask(S, s, sigma)
    x = forward(img, delta, sigma, M)
    h = 1e-6
    L = lambda sg: float(np.sum(G * forward(img, delta, sg, M)))
    dsigma = (L(sigma + h) - L(sigma - h)) / (2 * h)
    sg = 1 / (1 + np.exp(-delta))
    ddelta = np.sum(G, axis=0) / STD * sg * (1 - sg) * M[:, :, None]
    return {
        "canvas": S, "image": s, "scale": sigma, "count": B,
        "images": img.ravel().tolist(), "delta": delta.ravel().tolist(), "upstream": G.ravel().tolist(),
        "mask": M.ravel().tolist(), "x": x.ravel().tolist(),
        # At sigma = 1 every sample point is a grid point, where the bilinear zoom has a kink: no derivative.
        "dscale": None if sigma == 1.0 else dsigma, "ddelta": ddelta.ravel().tolist(),
    }


def main():
    rng = np.random.default_rng(20261122)
    cases = [case(rng, S, s, sigma, B) for (S, s, sigma, B) in
             [(12, 6, 1.37, 2), (13, 6, 0.73, 2), (12, 5, 2.3, 1), (11, 8, 1.0, 1)]]
    with open(os.path.join(HERE, "..", "Fixtures", "input_scale.json"), "w") as f:
        json.dump({"mean": MEAN.tolist(), "std": STD.tolist(), "cases": cases}, f)


if __name__ == "__main__":
    main()
