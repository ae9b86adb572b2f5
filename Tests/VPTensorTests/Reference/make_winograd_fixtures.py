#!/usr/bin/env python3
"""Independent numpy reference for vpbook's Winograd convolution -> ../Fixtures/winograd.json

Run:  python3 make_winograd_fixtures.py        (numpy only; deterministic; about 20 s)

1. Transform matrices, derived here rather than copied. Winograd F(m, 3) for a correlation
   y_i = sum_j d_{i+j} g_j is the transpose of Toom-Cook linear convolution at n = m + 2 points
   (n - 1 finite points a_j and infinity):
       E_h[j][i] = a_j^i (n x m),  E_g[j][k] = a_j^k (n x 3),  Ev[j][i] = a_j^i (n x n),
       the infinity row of each is (0, ..., 0, 1);
       y = E_h^T diag(E_g g) Ev^{-T} d,
   so A^T = E_h^T, G = diag(1/f) E_g, B^T = diag(f) Ev^{-T} with f_j = prod_{l != j}(a_j - a_l)
   (1 for infinity): the scaling that keeps B^T integral for F(4, 3). With the points 0, 1, -1, 2, -2 these
   are exactly Lavin & Gray's F(4x4, 3x3) matrices, which vpbook hard-codes (G in Conv2D+Winograd.swift,
   B^T and A^T in Sources/CKernels/winograd.c); the script asserts that and stores G, B^T and A^T.
   2-D: Y = A^T [(G g G^T) . (B^T D B)] A; the input gradient is the adjoint,
   dD = B [(G g G^T) . (A dY A^T)] B^T, added into the overlapping input tiles.

2. Cases for the Swift tests: 3x3 stride-1 convolutions computed directly in float64 (PyTorch's
   conventions as in make_kernel_fixtures.py: NCHW activations, OIHW weights, zero padding), with sizes that
   are not multiples of the tile and channel counts that are not multiples of 8:
       y = conv(x, w) + b,   gx = the input gradient for a random upstream gradient gy.
   Inputs are drawn with np.random.default_rng(SEED) and rounded to float32; stored numbers are float32
   values written with the shortest round-trip decimal.

3. Error study (printed, and stored under "error_study"): float32 simulations of F(2,3), F(4,3) and
   F(6,3) (points 0, +-1, +-2, +-1/2), filters transformed in float64 and rounded once as vpbook does, and
   of the direct float32 convolution (im2col + GEMM), against float64, on ResNet-18's layer shapes
   (64/128/256/512 channels at 56/28/14/7 px, one image, ReLU-like inputs, He-normal weights). The metric is
   the one the tests use: max |error| / max |reference|, for the output and for the input gradient.
"""
import json
import os
from fractions import Fraction

import numpy as np

SEED = 20261201
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "winograd.json")

POINTS = {
    2: [Fraction(0), Fraction(1), Fraction(-1)],
    4: [Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2)],
    6: [Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2)],
}

# Lavin & Gray's F(4x4, 3x3), as hard-coded in vpbook.
LAVIN_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
            [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
LAVIN_G = [[Fraction(1, 4), 0, 0], [Fraction(-1, 6)] * 3, [Fraction(-1, 6), Fraction(1, 6), Fraction(-1, 6)],
           [Fraction(1, 24), Fraction(1, 12), Fraction(1, 6)], [Fraction(1, 24), Fraction(-1, 12), Fraction(1, 6)],
           [0, 0, 1]]
LAVIN_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


# ------------------------------------------------------------ exact matrices

def inverse(m):
    """Gauss-Jordan inverse of a square matrix of Fractions."""
    n = len(m)
    a = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if a[r][col] != 0)
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [v / p for v in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [v - f * u for v, u in zip(a[r], a[col])]
    return [row[n:] for row in a]


def transpose(m):
    return [list(r) for r in zip(*m)]


def winograd_matrices(m, r=3):
    """(B^T, G, A^T) of F(m, r) as Fractions."""
    pts = POINTS[m]
    n = m + r - 1
    assert len(pts) == n - 1

    def vandermonde(cols):
        rows = [[a ** i for i in range(cols)] for a in pts]
        return rows + [[Fraction(int(i == cols - 1)) for i in range(cols)]]

    e_h, e_g, ev = vandermonde(m), vandermonde(r), vandermonde(n)
    f = [Fraction(1)] * n
    for j, a in enumerate(pts):
        for l, b in enumerate(pts):
            if l != j:
                f[j] *= a - b
    bt = [[f[j] * v for v in row] for j, row in enumerate(transpose(inverse(ev)))]
    g = [[v / f[j] for v in row] for j, row in enumerate(e_g)]
    return bt, g, transpose(e_h)


def as_array(m, dtype=np.float64):
    return np.array([[float(v) for v in row] for row in m], dtype=dtype)


# ------------------------------------------------------------------ direct

def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def conv3x3(x, w, b, pad):
    """y[n, o, i, j] = b[o] + sum_{c, ky, kx} xp[n, c, i + ky, j + kx] w[o, c, ky, kx]."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - 2, wd + 2 * pad - 2
    y = np.zeros((n, w.shape[0], oh, ow), dtype=x.dtype)
    for ky in range(3):
        for kx in range(3):
            y += np.einsum("nchw,oc->nohw", xp[:, :, ky:ky + oh, kx:kx + ow], w[:, :, ky, kx])
    return y + (0 if b is None else b[None, :, None, None])


def conv3x3_input_gradient(gy, w, pad, h, wd):
    n, o, oh, ow = gy.shape
    gxp = np.zeros((n, w.shape[1], h + 2 * pad, wd + 2 * pad), dtype=gy.dtype)
    for ky in range(3):
        for kx in range(3):
            gxp[:, :, ky:ky + oh, kx:kx + ow] += np.einsum("nohw,oc->nchw", gy, w[:, :, ky, kx])
    return gxp[:, :, pad:pad + h, pad:pad + wd]


def direct_f32(x, w, pad):
    """The float32 im2col + GEMM convolution (what vpbook's im2col path computes)."""
    n, c, h, wd = x.shape
    x32 = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - 2, wd + 2 * pad - 2
    cols = np.stack([x32[:, :, ky:ky + oh, kx:kx + ow] for ky in range(3) for kx in range(3)], axis=-1)
    cols = cols.transpose(0, 2, 3, 4, 1).reshape(n * oh * ow, 9 * c)       # rows: (ky, kx, c)
    wm = w.astype(np.float32).transpose(0, 2, 3, 1).reshape(w.shape[0], 9 * c)
    return (cols @ wm.T).reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)


# ------------------------------------------------------- float32 Winograd

def winograd_f32(x, w, pad, m):
    """Forward F(m, 3) in float32: tiles m apart, the 36/16/64 GEMMs in float32."""
    bt, g, at = (as_array(t) for t in winograd_matrices(m))
    a = m + 2
    n, c, h, wd = x.shape
    o = w.shape[0]
    oh, ow = h + 2 * pad - 2, wd + 2 * pad - 2
    th, tw = -(-oh // m), -(-ow // m)
    xp = np.zeros((n, c, th * m + 2, tw * m + 2), dtype=np.float32)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    u = np.einsum("ia,ocab,kb->ikco", g, w, g).astype(np.float32)           # [a, a, c, o]
    tiles = np.stack([np.stack([xp[:, :, ty * m:ty * m + a, tx * m:tx * m + a] for tx in range(tw)], 2)
                      for ty in range(th)], 2)                               # n, c, th, tw, a, a
    bt32 = bt.astype(np.float32)
    v = np.einsum("ia,nctsab,kb->iknts c".replace(" ", ""), bt32, tiles, bt32)  # a, a, n, th, tw, c
    v = v.reshape(a, a, n * th * tw, c)
    mm = np.matmul(v, u)                                                     # a, a, tiles, o
    at32 = at.astype(np.float32)
    y = np.einsum("ia,abto,kb->tiko", at32, mm, at32).reshape(n, th, tw, m, m, o)
    y = y.transpose(0, 5, 1, 3, 2, 4).reshape(n, o, th * m, tw * m)
    return y[:, :, :oh, :ow]


def winograd_input_gradient_f32(gy, w, pad, m, h, wd):
    """The adjoint of winograd_f32 in float32."""
    bt, g, at = (as_array(t) for t in winograd_matrices(m))
    a = m + 2
    n, o, oh, ow = gy.shape
    c = w.shape[1]
    th, tw = -(-oh // m), -(-ow // m)
    gp = np.zeros((n, o, th * m, tw * m), dtype=np.float32)
    gp[:, :, :oh, :ow] = gy
    u = np.einsum("ia,ocab,kb->ikco", g, w, g).astype(np.float32)
    tiles = gp.reshape(n, o, th, m, tw, m).transpose(0, 1, 2, 4, 3, 5)    # n, o, th, tw, m, m
    at32 = at.astype(np.float32)
    v = np.einsum("ai,notsab,bk->iknts o".replace(" ", ""), at32, tiles, at32).reshape(a, a, n * th * tw, o)
    z = np.matmul(v, np.swapaxes(u, 2, 3))                                  # a, a, tiles, c
    bt32 = bt.astype(np.float32)
    d = np.einsum("ai,abtc,bk->tikc", bt32, z, bt32).reshape(n, th, tw, a, a, c)
    gxp = np.zeros((n, c, th * m + 2, tw * m + 2), dtype=np.float32)
    for ty in range(th):
        for tx in range(tw):
            gxp[:, :, ty * m:ty * m + a, tx * m:tx * m + a] += d[:, ty, tx].transpose(0, 3, 1, 2)
    return gxp[:, :, pad:pad + h, pad:pad + wd]


def rel(actual, expected):
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


# ------------------------------------------------------------------- output

def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    assert np.all(np.isfinite(a))
    return {"shape": list(a.shape), "data": a.astype(np.float32).reshape(-1)}


def fmt(v):
    v = np.float32(v)
    if v == 0:
        return "0"
    if 1e-4 <= abs(v) < 1e7:
        s = np.format_float_positional(v, unique=True, trim="-")
    else:
        s = np.format_float_scientific(v, unique=True, trim="-")
    assert np.float32(float(s)) == v
    return s


def dump(o):
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in o.items()) + "}"
    if isinstance(o, np.ndarray):
        return "[" + ",".join(fmt(v) for v in o.tolist()) + "]"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(dump(v) for v in o) + "]"
    if isinstance(o, (int, np.integer)) and not isinstance(o, bool):
        return str(int(o))
    if isinstance(o, float):
        return repr(o)
    return json.dumps(o)


def main():
    bt, g, at = winograd_matrices(4)
    assert bt == [[Fraction(v) for v in row] for row in LAVIN_BT], bt
    assert g == [[Fraction(v) for v in row] for row in LAVIN_G], g
    assert at == [[Fraction(v) for v in row] for row in LAVIN_AT], at

    rng = np.random.default_rng(SEED)
    cases = []
    # name, N, C_in, C_out, H, W, pad
    for name, n, cin, cout, h, wd, pad in [
        ("odd_9x9_12to16", 2, 12, 16, 9, 9, 1),
        ("tail_7x10_5to11", 1, 5, 11, 7, 10, 1),
        ("pad0_8x6_8to8", 1, 8, 8, 8, 6, 0),
    ]:
        x = f32(rng.standard_normal((n, cin, h, wd)))
        w = f32(rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2 / (9 * cin)))
        b = f32(rng.standard_normal(cout) * 0.1)
        y = conv3x3(x, w, b, pad)
        gy = f32(rng.standard_normal(y.shape))
        gx = conv3x3_input_gradient(gy, w, pad, h, wd)
        cases.append({"name": name, "pad": pad, "inputs": {"x": tensor(x), "w": tensor(w), "b": tensor(b),
                                                          "gy": tensor(gy)},
                      "outputs": {"y": tensor(y), "gx": tensor(gx)}})

    study = []
    print("max |error| / max |reference| against float64, float32 arithmetic")
    print("layer             direct fwd   F(2,3) fwd   F(4,3) fwd   F(6,3) fwd |  direct gx   F(2,3) gx   F(4,3) gx   F(6,3) gx")
    for c, s in [(64, 56), (128, 28), (256, 14), (512, 7)]:
        x = f32(np.maximum(rng.standard_normal((1, c, s, s)), 0))
        w = f32(rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c)))
        gy = f32(rng.standard_normal((1, c, s, s)))
        y = conv3x3(x, w, None, 1)
        gx = conv3x3_input_gradient(gy, w, 1, s, s)
        row = {"channels": c, "size": s,
               "direct_y": rel(direct_f32(x, w, 1), y),
               "direct_gx": rel(direct_f32(gy, np.flip(w, (2, 3)).transpose(1, 0, 2, 3), 1), gx)}
        for m in (2, 4, 6):
            row[f"f{m}_y"] = rel(winograd_f32(x, w, 1, m), y)
            row[f"f{m}_gx"] = rel(winograd_input_gradient_f32(gy, w, 1, m, s, s), gx)
        study.append(row)
        print(f"{c:3d} ch @ {s:2d} px    " + "   ".join(f"{row[k]:9.2e}" for k in
              ("direct_y", "f2_y", "f4_y", "f6_y")) + " | " + "  ".join(f"{row[k]:9.2e}" for k in
              ("direct_gx", "f2_gx", "f4_gx", "f6_gx")))

    out = {"matrices": {"BT": as_array(bt).astype(np.float32).reshape(-1), "G": as_array(g).astype(np.float32)
                        .reshape(-1), "AT": as_array(at).astype(np.float32).reshape(-1)},
           "cases": cases, "error_study": study}
    with open(OUT, "w") as f:
        f.write(dump(out) + "\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
