#!/usr/bin/env python3
"""Independent numpy reference for vpbook's models -> ../Fixtures/models.json

Run:  python3 make_model_fixtures.py [--models-dir DIR]
      (numpy only; reads the checkpoints read-only through torchpickle.py;
       ~1-2 minutes on 2 cores)

Checkpoints (default directory: $VPBOOK_MODELS_DIR, else
<repo>/.cache/assets/models found by walking up from this file, else
/work/main/.cache/assets/models):
  mobilenet_v2-b0353104.pth          legacy torch pickle, torchvision MobileNetV2 keys
  efficientnet-lite0-57934424.pth    legacy torch pickle, lukemelas-style keys;
                                     50 conv weights are strided (HWIO-ordered)
                                     views -> rebuilt from (storage, offset,
                                     size, stride)
  resnet18-random-10class.pth        zip format, keys "backbone.<torchvision
                                     resnet18 key>", fc is 10 x 512

Conventions: PyTorch layouts (NCHW activations, OIHW weights, linear [out,in]);
all maths in float64 on float32 weights and a float32-rounded input; eval
mode, BatchNorm with running stats: y = (x-mean)/sqrt(var+eps)*gamma+beta.
Every stored number is float32 (shortest round-trip decimal, <= 9 significant
digits; float32 subnormals are flushed to 0).  Tensors are
{"shape": [...], "data": [row-major]}.

Input (no ImageNet normalisation is applied; this tensor goes straight into
the network):
  x[n,c,h,w] = 1.5*sin(0.05*h + 0.031*w + 1.7*c + 0.9*n) + 0.2*cos(0.013*h*w)
  for n < N, c < 3, h, w < S, computed in float64 then rounded to float32.

Architectures as implemented (block structure read from the checkpoint keys and
shapes; strides are not stored in a state dict and come from the published
configs; the script asserts the configs agree with the shapes):

MobileNetV2 (torchvision, width 1.0), BN eps 1e-5:
  features.0  = conv3x3 s2 p1 3->32 (features.0.0) + BN (features.0.1) + ReLU6
  features.1  = t=1 block: dw3x3 s1 p1 (conv.0.0) + BN (conv.0.1) + ReLU6,
                project 1x1 32->16 (conv.1) + BN (conv.2); no expand, no skip
  features.2-17 = t=6 blocks: expand 1x1 (conv.0.0) + BN (conv.0.1) + ReLU6,
                dw3x3 stride s p1 (conv.1.0) + BN (conv.1.1) + ReLU6,
                project 1x1 (conv.2) + BN (conv.3), no activation;
                residual add iff stride 1 and in == out
                (t,c,n,s) = (1,16,1,1)(6,24,2,2)(6,32,3,2)(6,64,4,2)
                            (6,96,3,1)(6,160,3,2)(6,320,1,1)
  features.18 = conv1x1 320->1280 (features.18.0) + BN (features.18.1) + ReLU6
  global average pool -> classifier.1 Linear(1280, 1000) (classifier.0 is
  dropout, identity in eval).

EfficientNet-Lite0 (lukemelas-style keys), BN eps 1e-3, ReLU6, no SE:
  Found in the file: _conv_stem 32x3x3x3, _bn0; 16 blocks _blocks.0-15 with
  _expand_conv/_bn0 present in blocks 1-15 only (block 0 has expand ratio 1),
  _depthwise_conv/_bn1, _project_conv/_bn2; no _se_* keys; _conv_head
  1280x320x1x1, _bn1; _fc 1000x1280 (+bias).  No conv has a bias.
  Per block (in, expand ch, kernel, stride, out):
    0: 32, -, 3, 1, 16    1: 16, 96, 3, 2, 24    2: 24, 144, 3, 1, 24
    3: 24, 144, 5, 2, 40  4: 40, 240, 5, 1, 40   5: 40, 240, 3, 2, 80
    6,7: 80, 480, 3, 1, 80                     8: 80, 480, 5, 1, 112
    9,10: 112, 672, 5, 1, 112                  11: 112, 672, 5, 2, 192
    12-14: 192, 1152, 5, 1, 192                15: 192, 1152, 3, 1, 320
  i.e. (expand, kernel, stride, out, repeats) = (1,3,1,16,1)(6,3,2,24,2)
  (6,5,2,40,2)(6,3,2,80,3)(6,5,1,112,3)(6,5,2,192,4)(6,3,1,320,1); kernel sizes
  and channel counts match the file.  Identity skip iff stride 1 and
  in == out (blocks 2,4,6,7,9,10,12,13,14).
  Every conv uses TensorFlow "SAME" padding computed from its actual input
  size: total = max((ceil(H/s)-1)*s + k - H, 0), top = total//2,
  bottom = total - top (extra row/column at bottom/right); for stride 1 that is
  symmetric (k-1)/2.  Head: 1x1 320->1280 + BN + ReLU6, global avg pool, _fc.
  (The lukemelas-style code the checkpoint is made for, EfficientNet.from_pretrained
  with static SAME padding fixed for image_size 224, gives the same pads at
  224: every stride-2 conv there sees an even size, so the pads are (0,1) for k=3 and
  (1,2) for k=5.  Only the 224 forward is stored for this model.)

ResNet-18 (torchvision, keys prefixed "backbone."), BN eps 1e-5:
  conv1 7x7 s2 p3 + bn1 + ReLU, maxpool 3x3 s2 p1 (-inf padding, floor),
  layer1..layer4 of 2 BasicBlocks (conv3x3 stride s p1 + BN + ReLU, conv3x3 s1
  p1 + BN, + identity or downsample (1x1 stride 2 conv + BN), ReLU); first
  block of layers 2-4 has stride 2 and a downsample; avgpool; fc 512->10.

VP loss (input gradient fixtures; N=2, S=64):
  z = logits[:, idx], idx = [0,100,...,900] (MobileNetV2) or [0..9] (ResNet-18),
  labels = [3, 7], loss = mean_n( logsumexp(z_n) - z_n[label_n] ).
  The gradient d loss / d x is computed by a hand-written numpy backward pass
  (conv input grads by scatter/col2im, BN eval = per-channel scale, ReLU /
  ReLU6 masks with derivative 0 at the kinks, residual adds, global pool,
  maxpool argmax routing).  Stored: loss, z, full logits, gradient sum and L2
  norm, and 400 gradient values at positions drawn with
  np.random.default_rng(POS_SEED).choice(N*3*S*S, 400, replace=False) (stored
  as [n,c,h,w]).  The backward pass is checked against central finite
  differences in float64 (step 1e-3, with the activation pattern - every
  ReLU/ReLU6 mask and maxpool argmax - verified identical at x+h and x-h, so
  the network is exactly linear in between); relative errors must be < 1e-5.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torchpickle  # noqa: E402

OUT = os.path.join(HERE, "..", "Fixtures", "models.json")
INPUT_FORMULA = ("x[n,c,h,w] = 1.5*sin(0.05*h + 0.031*w + 1.7*c + 0.9*n) + 0.2*cos(0.013*h*w)  "
                 "(float64, then rounded to float32; n<N, c<3, h,w<S; no normalisation)")
POS_SEED = 12345
FD_SEED = 777
N_POS = 400
FD_STEP = 1e-3
FD_TOL = 1e-5
VP_LABELS = [3, 7]
MBV2_IDX = [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]
R18_IDX = list(range(10))

MBV2_CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
EFF_CFG = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
           (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def find_models_dir():
    env = os.environ.get("VPBOOK_MODELS_DIR")
    if env:
        return env
    d = HERE
    while True:
        cand = os.path.join(d, ".cache", "assets", "models")
        if os.path.isdir(cand):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return "/work/main/.cache/assets/models"


# ------------------------------------------------------------------ input

def make_input(N, S):
    n, c, h, w = np.meshgrid(np.arange(N), np.arange(3), np.arange(S), np.arange(S), indexing="ij")
    n, c, h, w = (a.astype(np.float64) for a in (n, c, h, w))
    x = 1.5 * np.sin(0.05 * h + 0.031 * w + 1.7 * c + 0.9 * n) + 0.2 * np.cos(0.013 * h * w)
    return x.astype(np.float32).astype(np.float64)


# -------------------------------------------------------------- primitives
# Each op returns (y, back) where back(gy) -> gx.  `rec` (a list or None)
# collects the activation pattern (masks / argmax) for the FD kink check.

def _taps(kh, kw, sh, sw, Ho, Wo):
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(None),
                         slice(i, i + sh * (Ho - 1) + 1, sh),
                         slice(j, j + sw * (Wo - 1) + 1, sw))


def conv(x, w, stride, pad, groups=1):
    """pad = (top, left, bottom, right); zero padding; no bias (none in these models)."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    G = groups
    assert C == Cg * G and O % G == 0, (x.shape, w.shape, groups)
    Og = O // G
    t, l, b, r = pad
    s = stride
    Ho = (H + t + b - kh) // s + 1
    Wo = (W + l + r - kw) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r))) if any(pad) else x
    wg = w.reshape(G, Og, Cg, kh, kw)
    if kh == 1 and kw == 1 and s == 1 and G == 1:
        y = np.matmul(w[:, :, 0, 0], x.reshape(N, C, H * W)).reshape(N, O, H, W)
    else:
        y = np.zeros((N, G, Og, Ho * Wo))
        for i, j, sl in _taps(kh, kw, s, s, Ho, Wo):
            xs = xp[sl].reshape(N, G, Cg, Ho * Wo)
            if Cg == 1:   # depthwise (channel multiplier Og)
                y += wg[None, :, :, 0, i, j, None] * xs
            else:
                y += np.matmul(wg[:, :, :, i, j], xs)
        y = y.reshape(N, O, Ho, Wo)

    def back(gy):
        gxp = np.zeros((N, C, H + t + b, W + l + r))
        gyg = gy.reshape(N, G, Og, Ho * Wo)
        for i, j, sl in _taps(kh, kw, s, s, Ho, Wo):
            if Cg == 1:
                contrib = (wg[None, :, :, 0, i, j, None] * gyg).sum(2)
            else:
                contrib = np.matmul(np.swapaxes(wg[:, :, :, i, j], 1, 2), gyg)
            gxp[sl] += contrib.reshape(N, C, Ho, Wo)
        return gxp[:, :, t:t + H, l:l + W]
    return y, back


def same_pad(H, W, k, s):
    def one(n):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    (t, b), (l, r) = one(H), one(W)
    return (t, l, b, r)


def bn(x, p, eps):
    scale = p["weight"].astype(np.float64) / np.sqrt(p["running_var"].astype(np.float64) + eps)
    shift = p["bias"] - p["running_mean"] * scale
    y = x * scale[None, :, None, None] + shift[None, :, None, None]
    return y, (lambda g: g * scale[None, :, None, None])


def relu(x, rec):
    m = x > 0
    if rec is not None:
        rec.append(m)
    return np.where(m, x, 0.0), (lambda g: g * m)


def relu6(x, rec):
    m = (x > 0) & (x < 6)
    if rec is not None:
        rec.append(m)
        rec.append(x >= 6)
    return np.clip(x, 0.0, 6.0), (lambda g: g * m)


def maxpool3s2p1(x, rec):
    k, s, p = 3, 2, 1
    N, C, H, W = x.shape
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    best = np.full((N, C, Ho, Wo), -np.inf)
    arg = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for i, j, sl in _taps(k, k, s, s, Ho, Wo):
        v = xp[sl]
        m = v > best
        best = np.where(m, v, best)
        arg = np.where(m, i * k + j, arg)
    if rec is not None:
        rec.append(arg)

    def back(gy):
        gxp = np.zeros_like(xp)
        for i, j, sl in _taps(k, k, s, s, Ho, Wo):
            gxp[sl] += gy * (arg == i * k + j)
        return gxp[:, :, p:p + H, p:p + W]
    return best, back


def gap(x):
    N, C, H, W = x.shape
    return x.mean((2, 3)), (lambda g: np.broadcast_to(g[:, :, None, None] / (H * W), x.shape).copy())


def chain(x, fns):
    backs = []
    for f in fns:
        x, b = f(x)
        backs.append(b)

    def back(g):
        for b in reversed(backs):
            g = b(g)
        return g
    return x, back


# ------------------------------------------------------------------ params

def sub(sd, prefix):
    """Parameters under a prefix as float64 arrays (num_batches_tracked dropped)."""
    out = {}
    for k, v in sd.items():
        if k.startswith(prefix + ".") and not k.endswith("num_batches_tracked"):
            out[k[len(prefix) + 1:]] = v.astype(np.float64)
    return out


def W(sd, key):
    return sd[key].astype(np.float64)


# ------------------------------------------------------------ MobileNetV2

def mbv2_forward(sd, x, rec=None):
    eps = 1e-5
    r6 = lambda v: relu6(v, rec)
    h, back0 = chain(x, [lambda v: conv(v, W(sd, "features.0.0.weight"), 2, (1, 1, 1, 1)),
                         lambda v: bn(v, sub(sd, "features.0.1"), eps), r6])
    backs = [back0]
    idx = 1
    cin = 32
    for t, c, n, s in MBV2_CFG:
        for rep in range(n):
            stride = s if rep == 0 else 1
            p = "features.%d.conv" % idx
            hid = cin * t
            fns = []
            if t != 1:
                we = W(sd, p + ".0.0.weight")
                assert we.shape == (hid, cin, 1, 1), (p, we.shape)
                fns += [lambda v, we=we: conv(v, we, 1, (0, 0, 0, 0)),
                        lambda v, q=sub(sd, p + ".0.1"): bn(v, q, eps), r6]
                dwk, prj, pbn = p + ".1", p + ".2.weight", p + ".3"
            else:
                assert (p + ".0.0.weight") in sd and (p + ".3.weight") not in sd
                dwk, prj, pbn = p + ".0", p + ".1.weight", p + ".2"
            wd = W(sd, dwk + ".0.weight")
            assert wd.shape == (hid, 1, 3, 3), (dwk, wd.shape)
            wp = W(sd, prj)
            assert wp.shape == (c, hid, 1, 1), (prj, wp.shape)
            fns += [lambda v, wd=wd, stride=stride, hid=hid: conv(v, wd, stride, (1, 1, 1, 1), hid),
                    lambda v, q=sub(sd, dwk + ".1"): bn(v, q, eps), r6,
                    lambda v, wp=wp: conv(v, wp, 1, (0, 0, 0, 0)),
                    lambda v, q=sub(sd, pbn): bn(v, q, eps)]
            y, bb = chain(h, fns)
            if stride == 1 and cin == c:
                h = h + y
                backs.append(lambda g, bb=bb: g + bb(g))
            else:
                h = y
                backs.append(bb)
            cin = c
            idx += 1
    assert idx == 18 and ("features.%d.conv.0.0.weight" % idx) not in sd
    wl = W(sd, "features.18.0.weight")
    assert wl.shape == (1280, 320, 1, 1)
    h, b18 = chain(h, [lambda v: conv(v, wl, 1, (0, 0, 0, 0)),
                       lambda v: bn(v, sub(sd, "features.18.1"), eps), r6])
    backs.append(b18)
    feat, bgap = gap(h)
    backs.append(bgap)
    fw, fb = W(sd, "classifier.1.weight"), W(sd, "classifier.1.bias")
    logits = feat @ fw.T + fb
    backs.append(lambda g: g @ fw)

    def back(g):
        for b in reversed(backs):
            g = b(g)
        return g
    return logits, feat, back


# ----------------------------------------------------- EfficientNet-Lite0

def eff_blocks(sd):
    """Block list from the checkpoint keys/shapes, checked against EFF_CFG."""
    blocks = []
    i = 0
    while ("_blocks.%d._depthwise_conv.weight" % i) in sd:
        p = "_blocks.%d" % i
        assert not any(k.startswith(p + "._se") for k in sd), "unexpected squeeze-excite"
        has_exp = (p + "._expand_conv.weight") in sd
        wd = sd[p + "._depthwise_conv.weight"]
        wp = sd[p + "._project_conv.weight"]
        hid, k = wd.shape[0], wd.shape[2]
        assert wd.shape == (hid, 1, k, k)
        if has_exp:
            we = sd[p + "._expand_conv.weight"]
            cin = we.shape[1]
            assert we.shape == (hid, cin, 1, 1)
        else:
            cin = hid
        blocks.append({"i": i, "in": cin, "hid": hid, "expand": has_exp, "k": k,
                       "out": wp.shape[0]})
        i += 1
    # strides from the config (not stored in a state dict); check everything else
    j = 0
    cin = 32
    for e, k, s, c, n in EFF_CFG:
        for rep in range(n):
            b = blocks[j]
            assert b["k"] == k and b["out"] == c and b["in"] == cin, (b, e, k, s, c)
            assert b["expand"] == (e != 1) and b["hid"] == cin * e, b
            b["stride"] = s if rep == 0 else 1
            b["skip"] = b["stride"] == 1 and b["in"] == b["out"]
            cin = c
            j += 1
    assert j == len(blocks) == 16
    return blocks


def eff_forward(sd, x, rec=None):
    eps = 1e-3
    r6 = lambda v: relu6(v, rec)

    def sconv(v, w, s, groups=1):
        return conv(v, w, s, same_pad(v.shape[2], v.shape[3], w.shape[2], s), groups)

    ws = W(sd, "_conv_stem.weight")
    assert ws.shape == (32, 3, 3, 3)
    h, _ = chain(x, [lambda v: sconv(v, ws, 2), lambda v: bn(v, sub(sd, "_bn0"), eps), r6])
    for b in eff_blocks(sd):
        p = "_blocks.%d" % b["i"]
        fns = []
        if b["expand"]:
            fns += [lambda v, w=W(sd, p + "._expand_conv.weight"): sconv(v, w, 1),
                    lambda v, q=sub(sd, p + "._bn0"): bn(v, q, eps), r6]
        fns += [lambda v, w=W(sd, p + "._depthwise_conv.weight"), s=b["stride"], g=b["hid"]:
                sconv(v, w, s, g),
                lambda v, q=sub(sd, p + "._bn1"): bn(v, q, eps), r6,
                lambda v, w=W(sd, p + "._project_conv.weight"): sconv(v, w, 1),
                lambda v, q=sub(sd, p + "._bn2"): bn(v, q, eps)]
        y, _ = chain(h, fns)
        h = h + y if b["skip"] else y
    wh = W(sd, "_conv_head.weight")
    assert wh.shape == (1280, 320, 1, 1)
    h, _ = chain(h, [lambda v: sconv(v, wh, 1), lambda v: bn(v, sub(sd, "_bn1"), eps), r6])
    feat = h.mean((2, 3))
    return feat @ W(sd, "_fc.weight").T + W(sd, "_fc.bias"), feat


# --------------------------------------------------------------- ResNet-18

def r18_forward(sd, x, rec=None):
    eps = 1e-5
    P = "backbone"
    rl = lambda v: relu(v, rec)
    w1 = W(sd, P + ".conv1.weight")
    assert w1.shape == (64, 3, 7, 7)
    h, b0 = chain(x, [lambda v: conv(v, w1, 2, (3, 3, 3, 3)),
                      lambda v: bn(v, sub(sd, P + ".bn1"), eps), rl,
                      lambda v: maxpool3s2p1(v, rec)])
    backs = [b0]
    cin = 64
    for li, c in enumerate((64, 128, 256, 512)):
        for bi in range(2):
            p = "%s.layer%d.%d" % (P, li + 1, bi)
            stride = 2 if (li > 0 and bi == 0) else 1
            wa, wb = W(sd, p + ".conv1.weight"), W(sd, p + ".conv2.weight")
            assert wa.shape == (c, cin, 3, 3) and wb.shape == (c, c, 3, 3)
            y, bmain = chain(h, [lambda v, wa=wa, s=stride: conv(v, wa, s, (1, 1, 1, 1)),
                                 lambda v, q=sub(sd, p + ".bn1"): bn(v, q, eps), rl,
                                 lambda v, wb=wb: conv(v, wb, 1, (1, 1, 1, 1)),
                                 lambda v, q=sub(sd, p + ".bn2"): bn(v, q, eps)])
            has_ds = (p + ".downsample.0.weight") in sd
            assert has_ds == (stride != 1 or cin != c)
            if has_ds:
                wd = W(sd, p + ".downsample.0.weight")
                assert wd.shape == (c, cin, 1, 1)
                idn, bskip = chain(h, [lambda v, wd=wd, s=stride: conv(v, wd, s, (0, 0, 0, 0)),
                                       lambda v, q=sub(sd, p + ".downsample.1"): bn(v, q, eps)])
            else:
                idn, bskip = h, (lambda g: g)
            h, bout = relu(y + idn, rec)
            backs.append(lambda g, bmain=bmain, bskip=bskip, bout=bout:
                         (lambda gg: bmain(gg) + bskip(gg))(bout(g)))
            cin = c
    assert ("%s.layer5.0.conv1.weight" % P) not in sd
    feat, bgap = gap(h)
    backs.append(bgap)
    fw, fb = W(sd, P + ".fc.weight"), W(sd, P + ".fc.bias")
    logits = feat @ fw.T + fb
    backs.append(lambda g: g @ fw)

    def back(g):
        for b in reversed(backs):
            g = b(g)
        return g
    return logits, feat, back


# ------------------------------------------------------------------ VP loss

def vp_loss(logits, idx, labels):
    z = logits[:, idx]
    N = z.shape[0]
    m = z.max(1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(1, keepdims=True)))[:, 0]
    loss = float(np.mean(lse - z[np.arange(N), labels]))
    gz = np.exp(z - lse[:, None])
    gz[np.arange(N), labels] -= 1.0
    gz /= N
    glogits = np.zeros_like(logits)
    glogits[:, idx] = gz
    return loss, z, glogits


def vp_gradient(name, fwd, sd, idx, N=2, S=64):
    x = make_input(N, S)
    logits, _, back = fwd(sd, x)
    loss, z, glogits = vp_loss(logits, idx, VP_LABELS)
    gx = back(glogits)
    assert gx.shape == x.shape

    # ---- finite-difference validation (float64, central, kink-checked)
    def loss_at(xx, rec=None):
        lg = fwd(sd, xx, rec)[0]
        return vp_loss(lg, idx, VP_LABELS)[0]

    rec0 = []
    loss_at(x, rec0)
    frng = np.random.default_rng(FD_SEED)
    flat = np.abs(gx).reshape(-1)
    order = np.argsort(-flat)
    cand = list(order[:3])
    above = np.nonzero(flat > np.median(flat))[0]
    cand += list(frng.choice(above, 5, replace=False))
    fd = []
    for fi in cand:
        pos = np.unravel_index(int(fi), x.shape)
        h = FD_STEP
        while True:
            xp, xm = x.copy(), x.copy()
            xp[pos] += h
            xm[pos] -= h
            rp, rm = [], []
            fp, fm = loss_at(xp, rp), loss_at(xm, rm)
            same = all(np.array_equal(a, b) and np.array_equal(a, c)
                       for a, b, c in zip(rec0, rp, rm))
            if same or h < 1e-7:
                break
            h /= 10.0
        num = (fp - fm) / (2 * h)
        rel = abs(num - gx[pos]) / max(abs(num), abs(gx[pos]), 1e-30)
        fd.append({"pos": [int(v) for v in pos], "analytic": float(gx[pos]), "numeric": num,
                   "rel_err": rel, "step": h, "pattern_constant": bool(same)})
        print("  FD %-18s pos %-16s analytic % .9e numeric % .9e rel %.2e (h=%g%s)"
              % (name, tuple(int(v) for v in pos), gx[pos], num, rel, h,
                 "" if same else ", pattern changed"))
    worst = max(d["rel_err"] for d in fd)
    if worst >= FD_TOL:
        raise AssertionError("%s: FD validation failed (max rel err %.3g)" % (name, worst))

    prng = np.random.default_rng(POS_SEED)
    flat_pos = prng.choice(x.size, N_POS, replace=False)
    positions = np.stack(np.unravel_index(flat_pos, x.shape), axis=1)
    values = gx.reshape(-1)[flat_pos]
    return {
        "N": N, "S": S, "idx": list(idx), "labels": list(VP_LABELS),
        "loss": loss,
        "z": tensor(z),
        "logits": tensor(logits),
        "grad_sum": float(gx.sum()),
        "grad_l2": float(np.sqrt((gx ** 2).sum())),
        "grad_abs_max": float(np.abs(gx).max()),
        "positions_seed": POS_SEED,
        "positions": positions.tolist(),
        "values": tensor(values),
        "fd_validation": {"step": FD_STEP, "tol": FD_TOL, "max_rel_err": worst, "points": fd},
    }, worst


# --------------------------------------------------------------- JSON out

def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value in fixture")
    return {"shape": list(a.shape), "data": a.astype(np.float32).reshape(-1)}


def _fmt(v):
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


def dump_json(obj):
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
            return _fmt(o)
        if isinstance(o, str) or o is None:
            return json.dumps(o)
        raise TypeError(type(o))
    return enc(obj)


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", default=find_models_dir())
    args = ap.parse_args()
    md = args.models_dir
    t0 = time.time()
    out = {"generator": "make_model_fixtures.py",
           "input_formula": INPUT_FORMULA,
           "conventions": "NCHW, OIHW, linear [out,in]; eval mode, BN running stats; "
                          "float64 maths on float32 weights and float32-rounded input; "
                          "stored as float32",
           "vp_loss": "loss = mean_n(logsumexp(z_n) - z_n[label_n]), z = logits[:, idx]",
           "models": {}}
    fd_summary = {}

    # ---------------- MobileNetV2
    sd = torchpickle.load_state_dict(os.path.join(md, "mobilenet_v2-b0353104.pth"))
    x224 = make_input(2, 224)
    logits, feat, _ = mbv2_forward(sd, x224)
    print("mobilenet_v2 224: %.1fs  argmax %s" % (time.time() - t0, logits.argmax(1).tolist()))
    m = {"checkpoint": "mobilenet_v2-b0353104.pth", "bn_eps": 1e-5, "activation": "relu6",
         "config_tcns": [list(c) for c in MBV2_CFG], "stem": "conv3x3 s2 p1 32", "head": 1280,
         "classes": 1000,
         "logits_224": {"N": 2, "S": 224, "logits": tensor(logits),
                        "argmax": logits.argmax(1).tolist()},
         "penultimate_224": {"N": 2, "S": 224, "dim": 1280,
                             "first64": tensor(feat[:, :64]), "row_sums": tensor(feat.sum(1))}}
    m["vp_grad_64"], fd_summary["mobilenet_v2"] = vp_gradient("mobilenet_v2", mbv2_forward, sd, MBV2_IDX)
    out["models"]["mobilenet_v2"] = m
    print("mobilenet_v2 done: %.1fs" % (time.time() - t0))

    # ---------------- EfficientNet-Lite0
    sd = torchpickle.load_state_dict(os.path.join(md, "efficientnet-lite0-57934424.pth"))
    blocks = eff_blocks(sd)
    logits, feat = eff_forward(sd, x224)
    print("efficientnet_lite0 224: %.1fs  argmax %s" % (time.time() - t0, logits.argmax(1).tolist()))
    out["models"]["efficientnet_lite0"] = {
        "checkpoint": "efficientnet-lite0-57934424.pth", "bn_eps": 1e-3, "activation": "relu6",
        "padding": "TensorFlow SAME: total=max((ceil(H/s)-1)*s+k-H,0), top=total//2, "
                   "bottom=total-top (same for left/right)",
        "config_ekscn": [list(c) for c in EFF_CFG], "stem": "conv3x3 s2 SAME 32", "head": 1280,
        "classes": 1000, "squeeze_excite": False,
        "blocks": [{k: b[k] for k in ("i", "in", "hid", "expand", "k", "stride", "out", "skip")}
                   for b in blocks],
        "logits_224": {"N": 2, "S": 224, "logits": tensor(logits),
                       "argmax": logits.argmax(1).tolist()},
        "penultimate_224": {"N": 2, "S": 224, "dim": 1280,
                            "first64": tensor(feat[:, :64]), "row_sums": tensor(feat.sum(1))}}

    # ---------------- ResNet-18
    sd = torchpickle.load_state_dict(os.path.join(md, "resnet18-random-10class.pth"))
    assert all(k.startswith("backbone.") for k in sd)
    x64 = make_input(2, 64)
    logits, feat, _ = r18_forward(sd, x64)
    r = {"checkpoint": "resnet18-random-10class.pth", "key_prefix": "backbone.", "bn_eps": 1e-5,
         "activation": "relu", "classes": 10,
         "logits_64": {"N": 2, "S": 64, "logits": tensor(logits), "argmax": logits.argmax(1).tolist()},
         "penultimate_64": {"N": 2, "S": 64, "dim": 512,
                            "first64": tensor(feat[:, :64]), "row_sums": tensor(feat.sum(1))}}
    r["vp_grad_64"], fd_summary["resnet18"] = vp_gradient("resnet18", r18_forward, sd, R18_IDX)
    out["models"]["resnet18"] = r
    out["fd_max_rel_err"] = fd_summary

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = dump_json(out)
    json.loads(text)
    with open(OUT, "w") as fh:
        fh.write(text + "\n")
    print("FD max rel err:", {k: "%.2e" % v for k, v in fd_summary.items()})
    print("wrote %s (%d bytes) in %.1fs" % (os.path.normpath(OUT), len(text) + 1, time.time() - t0))


if __name__ == "__main__":
    main()
