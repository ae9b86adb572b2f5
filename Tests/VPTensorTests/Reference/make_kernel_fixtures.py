#!/usr/bin/env python3
"""Independent numpy reference for vpbook's tensor kernels -> ../Fixtures/kernels.json

Run:  python3 make_kernel_fixtures.py        (numpy only; deterministic; ~seconds)

Conventions (PyTorch):
  * activations NCHW; conv weights OIHW with groups (O x I/groups x kh x kw);
    linear weight [out, in], y = x @ w.T + b.
  * every tensor is {"shape": [...], "data": [flat row-major numbers]}.
    A scalar (cross-entropy loss) has shape [1].
  * inputs are drawn with np.random.default_rng(SEED) in float64, rounded to
    float32 and then used (as float64) for all maths; every stored number is a
    float32 value written with the shortest decimal string that round-trips
    to that float32 (<= 9 significant digits); float32 subnormals (only tiny
    softmax / cross-entropy probabilities) are flushed to 0.  Integer labels
    are stored as floats.
  * gradients: every case has a random upstream gradient "gy" (in "inputs")
    and the vector-Jacobian products in "outputs":
       gx (input grad) for every op; conv2d also gw, gb (gb only when bias);
       batchnorm also ggamma, gbeta; linear gx, gw, gb; add ga, gb;
       softmax gx; cross_entropy gz (no gy: the loss is the output).

Ops / params:
  conv2d      params {stride:[sh,sw], pad:[top,left,bottom,right], groups,
              dilation:[1,1], bias: bool, same: bool}.  Zero padding;
              Ho = (H + top + bottom - dh*(kh-1) - 1)//sh + 1 (floor).
              "same": true marks TensorFlow SAME padding, already resolved to
              explicit pads: total = max((ceil(H/s)-1)*s + k - H, 0),
              top = total//2, bottom = total - top (same for left/right), so
              the extra pixel goes bottom/right.
  batchnorm   eval mode, params {eps}; y = (x-mean)/sqrt(var+eps)*gamma+beta
              per channel (axis 1); gx = gy*gamma/sqrt(var+eps).
  batchnorm_train  training mode (PyTorch's BatchNorm2d.train()), params
              {eps, momentum}; batch statistics over (N,H,W), biased
              variance: y = (x-mu_B)/sqrt(var_B+eps)*gamma+beta; outputs also
              the running statistics after the step,
              running_mean' = (1-m)*running_mean + m*mu_B,
              running_var'  = (1-m)*running_var + m*var_B*n/(n-1)  (n=N*H*W),
              "y_eval" (eval mode with the updated running statistics) and
              the gradients through the batch statistics:
              gbeta = sum gy, ggamma = sum gy*xhat,
              gx = gamma/sqrt(var_B+eps) * (gy - gbeta/n - xhat*ggamma/n).
              These cases draw from their own generator (SEED + 2), after all
              other cases, so adding them left every earlier case unchanged.
  relu        y = max(x,0); gx = gy * (x > 0).
  relu6       y = min(max(x,0),6); gx = gy * (0 < x < 6).
              Gradient cases keep every x at least 1e-3 away from 0 and 6
              (but include values close to them).  The extra "*_kinks" cases
              contain exact 0 and 6 and use PyTorch's subgradient: 0 at
              x == 0 and at x == 6 (params "kinks": true).
  add         y = a + b; ga = gb = gy.
  maxpool2d   params {kernel:3, stride:2, pad:1}; padding behaves as -inf
              (never selected), floor output size, no ties (continuous
              random inputs); gx routes gy to the argmax of each window and
              accumulates where windows overlap.
  global_avgpool  y[n,c] = mean over H,W; gy is [N,C].
  linear      y = x w^T + b; gx = gy w; gw = gy^T x; gb = sum_n gy.
  softmax     over the last axis of [N,K]; gx = y*(gy - sum(gy*y)).
  cross_entropy  loss = mean_n( logsumexp(z_n) - z_n[label_n] ); gz =
              (softmax(z) - onehot(label)) / N.  Cases with K=10 and K=1000,
              including logits of +-50 and beyond (log-sum-exp stability).

Self-checks before writing (the script aborts if any fails):
  * conv2d forward/backward against a naive direct-loop implementation,
  * maxpool against a naive loop,
  * every gradient against central finite differences in float64 of
    L = sum(gy * y) (or the loss itself for cross_entropy).
"""

import json
import math
import os
import sys

import numpy as np

SEED = 20240607
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "kernels.json")


# ----------------------------------------------------------------- helpers

def f32(a):
    """Round to float32 and return float64 (the value the Swift side sees)."""
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def randn(rng, *shape, scale=1.0):
    return f32(rng.standard_normal(shape) * scale)


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value in fixture")
    return {"shape": list(a.shape), "data": a.astype(np.float32).reshape(-1)}


def dump_json(obj):
    """JSON writer that prints float32 data with shortest round-trip strings."""
    def enc(o):
        if isinstance(o, dict):
            return "{" + ",".join(json.dumps(str(k)) + ":" + enc(v) for k, v in o.items()) + "}"
        if isinstance(o, np.ndarray):
            assert o.dtype == np.float32
            return "[" + ",".join(_fmt(v) for v in o.tolist()) + "]"
        if isinstance(o, (list, tuple)):
            return "[" + ",".join(enc(v) for v in o) + "]"
        if isinstance(o, (bool, np.bool_)):
            return "true" if o else "false"
        if isinstance(o, (int, np.integer)):
            return str(int(o))
        if isinstance(o, (float, np.floating)):
            return _fmt(float(np.float32(o)))
        if isinstance(o, str) or o is None:
            return json.dumps(o)
        raise TypeError(type(o))
    return enc(obj)


def _fmt(v):
    """Shortest decimal that round-trips to the float32 value; subnormals -> 0."""
    v = np.float32(v)
    if v != 0 and abs(v) < np.finfo(np.float32).tiny:
        v = np.float32(0.0)
    if v == 0:
        return "0"
    if 1e-4 <= abs(v) < 1e7:
        s = np.format_float_positional(v, unique=True, trim="-")
    else:
        s = np.format_float_scientific(v, unique=True, trim="-")
    assert np.float32(float(s)) == v, (s, v)
    return s


# ------------------------------------------------------------------ conv2d

def conv_out(H, k, s, p0, p1, d=1):
    return (H + p0 + p1 - d * (k - 1) - 1) // s + 1


def same_pad(H, k, s):
    total = max((math.ceil(H / s) - 1) * s + k - H, 0)
    return total // 2, total - total // 2


def _taps(xp, kh, kw, sh, sw, dh, dw, Ho, Wo):
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(None),
                         slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw))


def conv2d(x, w, b, stride, pad, groups, dilation=(1, 1)):
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    G = groups
    assert C == Cg * G and O % G == 0
    Og = O // G
    t, l, bo, r = pad
    sh, sw = stride
    dh, dw = dilation
    Ho, Wo = conv_out(H, kh, sh, t, bo, dh), conv_out(W, kw, sw, l, r, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    wg = w.reshape(G, Og, Cg, kh, kw)
    y = np.zeros((N, G, Og, Ho * Wo))
    for i, j, sl in _taps(xp, kh, kw, sh, sw, dh, dw, Ho, Wo):
        xs = xp[sl].reshape(N, G, Cg, Ho * Wo)
        y += np.matmul(wg[:, :, :, i, j], xs)
    y = y.reshape(N, O, Ho, Wo)
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv2d_backward(x, w, gy, stride, pad, groups, dilation=(1, 1), bias=True):
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    G = groups
    Og = O // G
    t, l, bo, r = pad
    sh, sw = stride
    dh, dw = dilation
    Ho, Wo = gy.shape[2], gy.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    gxp = np.zeros_like(xp)
    wg = w.reshape(G, Og, Cg, kh, kw)
    gyg = gy.reshape(N, G, Og, Ho * Wo)
    gw = np.zeros((G, Og, Cg, kh, kw))
    for i, j, sl in _taps(xp, kh, kw, sh, sw, dh, dw, Ho, Wo):
        xs = xp[sl].reshape(N, G, Cg, Ho * Wo)
        gxp[sl] += np.matmul(np.swapaxes(wg[:, :, :, i, j], 1, 2), gyg).reshape(N, C, Ho, Wo)
        gw[:, :, :, i, j] = np.matmul(gyg, np.swapaxes(xs, 2, 3)).sum(0)
    gx = gxp[:, :, t:t + H, l:l + W]
    gb = gy.sum((0, 2, 3)) if bias else None
    return gx, gw.reshape(O, Cg, kh, kw), gb


def conv2d_naive(x, w, b, stride, pad, groups, gy):
    """Direct loops; also returns gx, gw by the same loops (scatter form)."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    Og = O // groups
    t, l, bo, r = pad
    sh, sw = stride
    Ho, Wo = conv_out(H, kh, sh, t, bo), conv_out(W, kw, sw, l, r)
    y = np.zeros((N, O, Ho, Wo))
    gx = np.zeros_like(x)
    gw = np.zeros_like(w)
    for o in range(O):
        g = o // Og
        for oh in range(Ho):
            for ow in range(Wo):
                for ci in range(Cg):
                    c = g * Cg + ci
                    for i in range(kh):
                        hh = oh * sh - t + i
                        if hh < 0 or hh >= H:
                            continue
                        for j in range(kw):
                            ww = ow * sw - l + j
                            if ww < 0 or ww >= W:
                                continue
                            y[:, o, oh, ow] += w[o, ci, i, j] * x[:, c, hh, ww]
                            gx[:, c, hh, ww] += w[o, ci, i, j] * gy[:, o, oh, ow]
                            gw[o, ci, i, j] += np.dot(gy[:, o, oh, ow], x[:, c, hh, ww])
    if b is not None:
        y += b[None, :, None, None]
    return y, gx, gw


# ------------------------------------------------------------- other ops

def batchnorm(x, gamma, beta, mean, var, eps):
    sc = gamma / np.sqrt(var + eps)
    return (x - mean[None, :, None, None]) * sc[None, :, None, None] + beta[None, :, None, None]


def batchnorm_train(x, gamma, beta, eps):
    """Training-mode forward: y, batch mean, biased batch variance."""
    mu = x.mean((0, 2, 3))
    var = ((x - mu[None, :, None, None]) ** 2).mean((0, 2, 3))
    return batchnorm(x, gamma, beta, mu, var, eps), mu, var


def batchnorm_train_backward(x, gamma, gy, eps):
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mu = x.mean((0, 2, 3))
    var = ((x - mu[None, :, None, None]) ** 2).mean((0, 2, 3))
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu[None, :, None, None]) * inv[None, :, None, None]
    gbeta = gy.sum((0, 2, 3))
    ggamma = (gy * xhat).sum((0, 2, 3))
    gx = (gamma * inv)[None, :, None, None] * (
        gy - gbeta[None, :, None, None] / n - xhat * ggamma[None, :, None, None] / n)
    return gx, ggamma, gbeta


def maxpool(x, k, s, p):
    N, C, H, W = x.shape
    Ho, Wo = conv_out(H, k, s, p, p), conv_out(W, k, s, p, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    y = np.full((N, C, Ho, Wo), -np.inf)
    for i, j, sl in _taps(xp, k, k, s, s, 1, 1, Ho, Wo):
        y = np.maximum(y, xp[sl])
    return y


def maxpool_backward(x, gy, k, s, p):
    """Route gy to the argmax of each window (first max in row-major window order)."""
    N, C, H, W = x.shape
    Ho, Wo = gy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    best = np.full((N, C, Ho, Wo), -np.inf)
    arg = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for i, j, sl in _taps(xp, k, k, s, s, 1, 1, Ho, Wo):
        v = xp[sl]
        m = v > best
        best = np.where(m, v, best)
        arg = np.where(m, i * k + j, arg)
    gxp = np.zeros_like(xp)
    for i, j, sl in _taps(xp, k, k, s, s, 1, 1, Ho, Wo):
        gxp[sl] += gy * (arg == i * k + j)
    return gxp[:, :, p:p + H, p:p + W]


def maxpool_naive(x, gy, k, s, p):
    N, C, H, W = x.shape
    Ho, Wo = conv_out(H, k, s, p, p), conv_out(W, k, s, p, p)
    y = np.zeros((N, C, Ho, Wo))
    gx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    best, bi = -np.inf, None
                    for i in range(k):
                        for j in range(k):
                            hh, ww = oh * s - p + i, ow * s - p + j
                            if 0 <= hh < H and 0 <= ww < W and x[n, c, hh, ww] > best:
                                best, bi = x[n, c, hh, ww], (hh, ww)
                    y[n, c, oh, ow] = best
                    gx[n, c, bi[0], bi[1]] += gy[n, c, oh, ow]
    return y, gx


def softmax(z):
    m = z.max(axis=-1, keepdims=True)
    e = np.exp(z - m)
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp(z):
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def cross_entropy(z, labels):
    N = z.shape[0]
    lab = labels.astype(np.int64)
    loss = np.mean(logsumexp(z) - z[np.arange(N), lab])
    gz = softmax(z)
    gz[np.arange(N), lab] -= 1.0
    return loss, gz / N


# -------------------------------------------------------- finite differences

def fd_check(name, f, arrays, grads, rng, npos=6, h=1e-6, tol=1e-6):
    """f(*arrays) -> scalar.  grads: analytic grads aligned with arrays (None = skip)."""
    worst = 0.0
    for ai, (a, g) in enumerate(zip(arrays, grads)):
        if g is None:
            continue
        for _ in range(npos):
            idx = tuple(int(rng.integers(0, s)) for s in a.shape)
            old = a[idx]
            a[idx] = old + h
            fp = f(*arrays)
            a[idx] = old - h
            fm = f(*arrays)
            a[idx] = old
            num = (fp - fm) / (2 * h)
            err = abs(num - g[idx]) / max(1.0, abs(num), abs(g[idx]))
            worst = max(worst, err)
    if worst > tol:
        raise AssertionError("%s: finite-difference error %.3g" % (name, worst))
    return worst


# -------------------------------------------------------------------- cases

def main():
    rng = np.random.default_rng(SEED)
    fd_rng = np.random.default_rng(SEED + 1)
    cases = []
    report = []

    def add_case(name, op, params, inputs, outputs):
        cases.append({"name": name, "op": op, "params": params,
                      "inputs": {k: tensor(v) for k, v in inputs.items()},
                      "outputs": {k: tensor(v) for k, v in outputs.items()}})

    # ---------------- conv2d
    conv_specs = [
        # name, N, C, O, H, W, k, stride, pad(t,l,b,r), groups, bias, same
        ("conv3x3_s1_p1", 2, 4, 6, 7, 7, 3, 1, (1, 1, 1, 1), 1, True, False),
        ("conv3x3_s2_p1_9x9", 2, 3, 8, 9, 9, 3, 2, (1, 1, 1, 1), 1, True, False),
        ("conv3x3_s2_p1_8x8", 2, 3, 8, 8, 8, 3, 2, (1, 1, 1, 1), 1, False, False),
        ("conv3x3_s2_p1_9x8_rect", 2, 3, 5, 9, 8, 3, 2, (1, 1, 1, 1), 1, True, False),
        ("conv1x1_s1", 3, 8, 5, 5, 5, 1, 1, (0, 0, 0, 0), 1, True, False),
        ("conv1x1_s1_nobias", 3, 8, 5, 5, 5, 1, 1, (0, 0, 0, 0), 1, False, False),
        ("conv1x1_s2_downsample", 2, 4, 8, 6, 6, 1, 2, (0, 0, 0, 0), 1, False, False),
        ("conv1x1_s2_downsample_7x7", 2, 4, 8, 7, 7, 1, 2, (0, 0, 0, 0), 1, False, False),
        ("conv7x7_s2_p3_stem", 2, 3, 4, 15, 15, 7, 2, (3, 3, 3, 3), 1, False, False),
        ("conv7x7_s2_p3_stem_16x16", 1, 3, 4, 16, 16, 7, 2, (3, 3, 3, 3), 1, True, False),
        ("conv3x3_grouped_g2", 2, 4, 6, 7, 7, 3, 1, (1, 1, 1, 1), 2, True, False),
        ("dw3x3_s1_p1", 2, 8, 8, 6, 6, 3, 1, (1, 1, 1, 1), 8, False, False),
        ("dw3x3_s1_p1_bias", 2, 8, 8, 6, 6, 3, 1, (1, 1, 1, 1), 8, True, False),
        ("dw3x3_s2_p1", 2, 8, 8, 7, 7, 3, 2, (1, 1, 1, 1), 8, False, False),
        ("dw3x3_s2_p1_8x8", 2, 8, 8, 8, 8, 3, 2, (1, 1, 1, 1), 8, False, False),
        ("dw5x5_s2_p2", 2, 8, 8, 9, 9, 5, 2, (2, 2, 2, 2), 8, False, False),
        ("dw5x5_s1_p2", 2, 8, 8, 7, 7, 5, 1, (2, 2, 2, 2), 8, True, False),
        ("dw3x3_multiplier2", 2, 4, 8, 6, 6, 3, 1, (1, 1, 1, 1), 4, True, False),
    ]
    # TensorFlow SAME cases (EfficientNet-Lite)
    for k in (3, 5):
        for H in (8, 9) if k == 3 else (10, 11):
            for kind in ("conv", "dw"):
                C = 3 if kind == "conv" else 6
                O = 6 if kind == "conv" else 6
                G = 1 if kind == "conv" else C
                t, bo = same_pad(H, k, 2)
                W = H + 1  # rectangular: exercises independent H / W padding
                l, r = same_pad(W, k, 2)
                conv_specs.append(("same_%s%dx%d_s2_%dx%d" % (kind, k, k, H, W), 2, C, O, H, W,
                                   k, 2, (t, l, bo, r), G, False, True))
    for H in (7, 8):
        t, bo = same_pad(H, 5, 1)
        conv_specs.append(("same_dw5x5_s1_%dx%d" % (H, H), 2, 6, 6, H, H, 5, 1,
                           (t, t, bo, bo), 6, False, True))
    conv_specs.append(("same_conv3x3_s2_224_stem_like", 1, 3, 4, 16, 16, 3, 2,
                       same_pad(16, 3, 2)[:1] * 2 + same_pad(16, 3, 2)[1:] * 2, 1, False, True))

    for (name, N, C, O, H, W, k, s, pad, G, bias, same) in conv_specs:
        x = randn(rng, N, C, H, W)
        w = randn(rng, O, C // G, k, k, scale=1.0 / math.sqrt(C // G * k * k))
        b = randn(rng, O) if bias else None
        y = conv2d(x, w, b, (s, s), pad, G)
        gy = randn(rng, *y.shape)
        gx, gw, gb = conv2d_backward(x, w, gy, (s, s), pad, G, bias=bias)
        yn, gxn, gwn = conv2d_naive(x, w, b, (s, s), pad, G, gy)
        for a, c, what in ((y, yn, "y"), (gx, gxn, "gx"), (gw, gwn, "gw")):
            if a.shape != c.shape or np.max(np.abs(a - c)) > 1e-12 * max(1, np.abs(c).max()):
                raise AssertionError("conv %s %s mismatch vs naive" % (name, what))
        arrs = [x.copy(), w.copy()] + ([b.copy()] if bias else [])
        f = (lambda xx, ww, bb=None: float(np.sum(gy * conv2d(xx, ww, bb, (s, s), pad, G))))
        e = fd_check(name, f, arrs, [gx, gw] + ([gb] if bias else []), fd_rng)
        report.append((name, e))
        params = {"stride": [s, s], "pad": list(pad), "groups": G, "dilation": [1, 1],
                  "bias": bias, "same": same}
        if same:
            params["kernel"] = [k, k]
        inputs = {"x": x, "w": w}
        if bias:
            inputs["b"] = b
        inputs["gy"] = gy
        outputs = {"y": y, "gx": gx, "gw": gw}
        if bias:
            outputs["gb"] = gb
        add_case(name, "conv2d", params, inputs, outputs)

    # ---------------- batchnorm (eval)
    for name, N, C, H, W, eps in (("bn_eval_eps1e-5", 2, 5, 4, 3, 1e-5),
                                  ("bn_eval_eps1e-3", 3, 8, 5, 5, 1e-3)):
        x = randn(rng, N, C, H, W, scale=2.0)
        gamma = randn(rng, C)
        beta = randn(rng, C)
        mean = randn(rng, C, scale=0.5)
        var = f32(rng.uniform(0.05, 3.0, C))
        var[0] = f32(1e-4)  # small variance: eps matters
        y = batchnorm(x, gamma, beta, mean, var, eps)
        gy = randn(rng, *y.shape)
        sc = gamma / np.sqrt(var + eps)
        gx = gy * sc[None, :, None, None]
        xhat = (x - mean[None, :, None, None]) / np.sqrt(var + eps)[None, :, None, None]
        ggamma = (gy * xhat).sum((0, 2, 3))
        gbeta = gy.sum((0, 2, 3))
        f = lambda xx, gg, bb: float(np.sum(gy * batchnorm(xx, gg, bb, mean, var, eps)))
        e = fd_check(name, f, [x.copy(), gamma.copy(), beta.copy()], [gx, ggamma, gbeta], fd_rng)
        report.append((name, e))
        add_case(name, "batchnorm", {"eps": eps},
                 {"x": x, "gamma": gamma, "beta": beta, "mean": mean, "var": var, "gy": gy},
                 {"y": y, "gx": gx, "ggamma": ggamma, "gbeta": gbeta})

    # ---------------- relu / relu6
    def away_from(v, points, d=1e-3):
        v = f32(v)
        for p in points:
            close = np.abs(v - p) < d
            v[close] = f32(p + np.where(v[close] >= p, d, -d) * 1.5)
        return v

    base = np.concatenate([rng.uniform(-8, 10, 200),
                           rng.uniform(-0.01, 0.01, 20), rng.uniform(5.99, 6.01, 20)])
    xr = away_from(base, [0.0, 6.0]).reshape(2, 3, 5, 8)
    assert not np.any(np.abs(xr) < 1e-3) and not np.any(np.abs(xr - 6) < 1e-3)
    for op, fn, dfn in (("relu", lambda v: np.maximum(v, 0), lambda v: (v > 0) * 1.0),
                        ("relu6", lambda v: np.clip(v, 0, 6), lambda v: ((v > 0) & (v < 6)) * 1.0)):
        gy = randn(rng, *xr.shape)
        y = fn(xr)
        gx = gy * dfn(xr)
        e = fd_check(op, lambda xx: float(np.sum(gy * fn(xx))), [xr.copy()], [gx], fd_rng, npos=20)
        report.append((op, e))
        add_case(op, op, {"kinks": False}, {"x": xr, "gy": gy}, {"y": y, "gx": gx})
        # kink case: exact 0 and 6 (PyTorch subgradient 0 at both)
        xk = f32(np.array([-7.0, -1.0, -1e-7, 0.0, 0.0, 1e-7, 0.5, 3.0, 5.9999995, 6.0,
                           6.0000005, 7.0, 0.0, 6.0, 2.5, -2.5]).reshape(2, 8))
        gyk = randn(rng, *xk.shape)
        add_case(op + "_kinks", op, {"kinks": True,
                                     "subgradient": "0 at x==0 and x==6 (PyTorch)"},
                 {"x": xk, "gy": gyk}, {"y": fn(xk), "gx": gyk * dfn(xk)})

    # ---------------- add (residual)
    a = randn(rng, 2, 4, 3, 3)
    b = randn(rng, 2, 4, 3, 3)
    gy = randn(rng, 2, 4, 3, 3)
    add_case("add_residual", "add", {}, {"a": a, "b": b, "gy": gy},
             {"y": a + b, "ga": gy.copy(), "gb": gy.copy()})

    # ---------------- maxpool2d
    for name, shape in (("maxpool3x3_s2_p1_8x8", (2, 3, 8, 8)),
                        ("maxpool3x3_s2_p1_9x9", (2, 3, 9, 9)),
                        ("maxpool3x3_s2_p1_7x6", (1, 4, 7, 6)),
                        ("maxpool3x3_s2_p1_16x16_neg", (1, 2, 16, 16))):
        x = randn(rng, *shape)
        if name.endswith("_neg"):
            x = -np.abs(x) - 0.5  # all negative: -inf padding must never win
        assert len(np.unique(x)) == x.size
        y = maxpool(x, 3, 2, 1)
        gy = randn(rng, *y.shape)
        gx = maxpool_backward(x, gy, 3, 2, 1)
        yn, gxn = maxpool_naive(x, gy, 3, 2, 1)
        assert np.array_equal(y, yn) and np.allclose(gx, gxn, rtol=0, atol=1e-12)
        e = fd_check(name, lambda xx: float(np.sum(gy * maxpool(xx, 3, 2, 1))), [x.copy()], [gx],
                     fd_rng, npos=20)
        report.append((name, e))
        add_case(name, "maxpool2d", {"kernel": 3, "stride": 2, "pad": 1},
                 {"x": x, "gy": gy}, {"y": y, "gx": gx})

    # ---------------- global_avgpool
    for name, shape in (("gap_7x7", (2, 5, 7, 7)), ("gap_1x1", (3, 4, 1, 1)), ("gap_4x6", (2, 3, 4, 6))):
        x = randn(rng, *shape)
        y = x.mean((2, 3))
        gy = randn(rng, *y.shape)
        gx = np.broadcast_to(gy[:, :, None, None] / (shape[2] * shape[3]), shape).copy()
        e = fd_check(name, lambda xx: float(np.sum(gy * xx.mean((2, 3)))), [x.copy()], [gx], fd_rng)
        report.append((name, e))
        add_case(name, "global_avgpool", {}, {"x": x, "gy": gy}, {"y": y, "gx": gx})

    # ---------------- linear
    for name, N, I, O in (("linear_4x7_to_5", 4, 7, 5), ("linear_2x64_to_10", 2, 64, 10),
                          ("linear_3x1280_to_12", 3, 1280, 12)):
        x = randn(rng, N, I)
        w = randn(rng, O, I, scale=1 / math.sqrt(I))
        b = randn(rng, O)
        y = x @ w.T + b
        gy = randn(rng, N, O)
        gx, gw, gb = gy @ w, gy.T @ x, gy.sum(0)
        f = lambda xx, ww, bb: float(np.sum(gy * (xx @ ww.T + bb)))
        e = fd_check(name, f, [x.copy(), w.copy(), b.copy()], [gx, gw, gb], fd_rng)
        report.append((name, e))
        add_case(name, "linear", {}, {"x": x, "w": w, "b": b, "gy": gy},
                 {"y": y, "gx": gx, "gw": gw, "gb": gb})

    # ---------------- softmax
    for name, z in (("softmax_3x10", randn(rng, 3, 10, scale=2.0)),
                    ("softmax_2x1000_large", f32(np.concatenate(
                        [rng.uniform(-50, 50, (1, 1000)), rng.standard_normal((1, 1000)) * 3 + 80]))),
                    ("softmax_2x5_extreme", f32(np.array([[100.0, -100.0, 0.0, 99.0, 50.0],
                                                          [-1000.0, -1001.0, -999.5, -1000.0, -2000.0]])))):
        y = softmax(z)
        gy = randn(rng, *z.shape)
        gx = y * (gy - np.sum(gy * y, axis=-1, keepdims=True))
        e = fd_check(name, lambda zz: float(np.sum(gy * softmax(zz))), [z.copy()], [gx], fd_rng, h=1e-6)
        report.append((name, e))
        add_case(name, "softmax", {"axis": -1}, {"x": z, "gy": gy}, {"y": y, "gx": gx})

    # ---------------- cross_entropy
    ce_specs = []
    ce_specs.append(("ce_K10", randn(rng, 4, 10, scale=2.0), np.array([3, 7, 0, 9])))
    ce_specs.append(("ce_K10_large", f32(rng.uniform(-50, 50, (3, 10))), np.array([3, 7, 1])))
    zl = f32(rng.uniform(-50, 50, (3, 1000)))
    zl[1] += 1000.0  # huge offset: naive exp overflows
    zl[2, 123] = 60.0  # a confident correct row
    ce_specs.append(("ce_K1000_large", zl, np.array([5, 999, 123])))
    ce_specs.append(("ce_K1000_normal", randn(rng, 2, 1000), np.array([3, 7])))
    for name, z, lab in ce_specs:
        labels = lab.astype(np.float64)
        loss, gz = cross_entropy(z, labels)
        lossf = lambda zz: float(cross_entropy(zz, labels)[0])
        e = fd_check(name, lossf, [z.copy()], [gz], fd_rng, npos=10, h=1e-5)
        zc = z.copy()
        for n, c in enumerate(lab):  # the label entries explicitly
            h = 1e-5
            old = zc[n, c]
            zc[n, c] = old + h
            fp = lossf(zc)
            zc[n, c] = old - h
            fm = lossf(zc)
            zc[n, c] = old
            num = (fp - fm) / (2 * h)
            e = max(e, abs(num - gz[n, c]) / max(1.0, abs(num)))
        assert e < 1e-6, (name, e)
        report.append((name, e))
        add_case(name, "cross_entropy", {"reduction": "mean", "K": int(z.shape[1])},
                 {"z": z, "labels": labels}, {"loss": np.array([loss]), "gz": gz})

    # ---------------- batchnorm_train (own generator: the cases above stay as they were)
    bn_rng = np.random.default_rng(SEED + 2)
    bn_fd_rng = np.random.default_rng(SEED + 3)
    for name, N, C, H, W, eps, momentum, offset in (
            ("bn_train_eps1e-5", 2, 5, 4, 3, 1e-5, 0.1, 0.0),
            ("bn_train_eps1e-3_m0.3", 3, 8, 5, 5, 1e-3, 0.3, 0.0),
            ("bn_train_offset_mean", 2, 4, 3, 3, 1e-5, 0.1, 20.0),
            ("bn_train_n4_1x1", 4, 6, 1, 1, 1e-5, 0.1, 0.0)):
        # a per-channel offset and spread: the normalisation must remove them
        spread = f32(bn_rng.uniform(0.1, 3.0, C))
        shift = f32(bn_rng.uniform(-1.0, 1.0, C) + offset)
        x = f32(randn(bn_rng, N, C, H, W) * spread[None, :, None, None] + shift[None, :, None, None])
        gamma = f32(bn_rng.uniform(0.5, 1.5, C) * np.where(bn_rng.uniform(size=C) < 0.25, -1.0, 1.0))
        beta = randn(bn_rng, C, scale=0.5)
        rmean = randn(bn_rng, C, scale=0.5)
        rvar = f32(bn_rng.uniform(0.2, 2.0, C))
        y, mu, var = batchnorm_train(x, gamma, beta, eps)
        n = N * H * W
        new_rmean = (1 - momentum) * rmean + momentum * mu
        new_rvar = (1 - momentum) * rvar + momentum * var * n / (n - 1)
        # the eval pass sees the running statistics as the Swift side stores them: rounded to float32
        y_eval = batchnorm(x, gamma, beta, f32(new_rmean), f32(new_rvar), eps)
        gy = randn(bn_rng, *y.shape)
        gx, ggamma, gbeta = batchnorm_train_backward(x, gamma, gy, eps)
        f = lambda xx, gg, bb: float(np.sum(gy * batchnorm_train(xx, gg, bb, eps)[0]))
        e = fd_check(name, f, [x.copy(), gamma.copy(), beta.copy()], [gx, ggamma, gbeta],
                     bn_fd_rng, npos=10)
        report.append((name, e))
        add_case(name, "batchnorm_train", {"eps": eps, "momentum": momentum},
                 {"x": x, "gamma": gamma, "beta": beta, "running_mean": rmean, "running_var": rvar,
                  "gy": gy},
                 {"y": y, "gx": gx, "ggamma": ggamma, "gbeta": gbeta, "running_mean": new_rmean,
                  "running_var": new_rvar, "y_eval": y_eval})

    doc = {"generator": "make_kernel_fixtures.py", "seed": SEED,
           "conventions": "NCHW, OIHW (groups: O x I/groups x kh x kw), linear w [out,in]; "
                          "tensors {shape, data(row-major)}; float64 maths on float32-rounded "
                          "inputs, outputs rounded to float32; pad = [top,left,bottom,right]; "
                          "relu/relu6 subgradient 0 at the kinks (only in *_kinks cases)",
           "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = dump_json(doc)
    json.loads(text)
    with open(OUT, "w") as fh:
        fh.write(text)
        fh.write("\n")
    for name, e in report:
        print("  FD %-36s max rel err %.2e" % (name, e))
    print("wrote %s: %d cases, %d bytes" % (os.path.normpath(OUT), len(cases), len(text) + 1))


if __name__ == "__main__":
    sys.exit(main())
