#!/usr/bin/env python3
"""PyTorch reference for SMM's sample-specific mask network -> ../Fixtures/smm.json

SMM (Cai et al., ICML 2024), patch size 8, 5 layers, 3 mask channels, built here from torch.nn layers:

  conv1 3->8   (3x3, stride 1, pad 1, bias) -> BatchNorm2d(8)  -> ReLU -> MaxPool2d(2, 2)
  conv2 8->16                                -> BatchNorm2d(16) -> ReLU -> MaxPool2d(2, 2)
  conv3 16->32                               -> BatchNorm2d(32) -> ReLU -> MaxPool2d(2, 2)
  conv4 32->64                               -> BatchNorm2d(64) -> ReLU
  conv6 64->3                                (the mask m: no norm, no activation)

  x' = x + delta * F.interpolate(m, scale_factor=8, mode="nearest"),    L = sum(G * x')

Everything runs in float64 (torch.float64, CPU) on inputs that are exact float32 values. For each case (B = 3 at
S = 16 and S = 32, both starting from the same weights and running statistics) the script records, after one
training-mode forward and backward pass: the mask m, the prompt x', dL/ddelta, dL/d(every parameter) and the
running statistics after the step (BatchNorm2d's momentum 0.1, unbiased variance); then, in eval mode with
those running statistics, the mask again.

Fixture format (kept small: < 300 KB):
  * every tensor is {"shape": [...], "scale": s, "<enc>": base64} with <enc> one of "i8", "u16", "i16": the
    little-endian integers q, and the value is q * s.
  * inputs (weights, initial running statistics, x, delta, G) are drawn as small integers times a power of two,
    so q * s is exactly the float32 value PyTorch used (i8; the images u16, 16-bit pixels: with 8-bit pixels
    the first convolution's outputs lie on a coarse grid and neighbours in a pooling window tie too often).
  * outputs are quantised: s = max|v| / 32767, q = round(v / s) (i16): each stored value is within
    max|v| * 1.6e-5 of the float64 result.
  * layouts: weights in PyTorch's OIHW; images, delta, G, x', masks channels-last ([B, H, W, C], [S, S, 3]),
    as vpbook's SampleMaskNetwork reads and writes them.
  * BatchNorm2d weight / bias are gamma / beta; gamma is in [0.5, 1.5] with about a quarter of the channels
    negated, beta in [-0.5, 0.5]; the initial running statistics are not PyTorch's defaults (mean in
    [-0.5, 0.5], var in [0.25, 2]) so that the momentum update is visible.

Self-checks before writing (the script aborts if one fails; SEED is one for which they pass):
  * in the training pass, no batch-norm output closer to 0 than 1e-5 (a float32 ReLU passes the gradient
    where the float64 one does),
  * in the training pass, in every max-pool window whose maximum is positive, the two largest values differ by
    more than 1e-5 (a float32 max-pool routes the gradient to the same position),
  * the parameter count is 26,499.
(The eval pass needs no margins: ReLU and max-pooling are continuous, only their derivatives jump.)

Usage: /path/to/python-with-torch make_smm_fixture.py
"""

import base64
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240721
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "smm.json")
PATCH = 8
WIDTHS = [3, 8, 16, 32, 64]


class MaskNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        for i in range(4):
            setattr(self, "conv%d" % (i + 1), nn.Conv2d(WIDTHS[i], WIDTHS[i + 1], 3, 1, 1))
            setattr(self, "bn%d" % (i + 1), nn.BatchNorm2d(WIDTHS[i + 1]))
        self.conv6 = nn.Conv2d(WIDTHS[4], 3, 3, 1, 1)
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x, record=None):
        for i in range(4):
            y = getattr(self, "bn%d" % (i + 1))(getattr(self, "conv%d" % (i + 1))(x))
            if record is not None:
                record.append(("bn%d" % (i + 1), y.detach().clone()))
            x = F.relu(y)
            if i < 3:
                if record is not None:
                    record.append(("pool%d" % (i + 1), x.detach().clone()))
                x = self.pool(x)
        return self.conv6(x)


def parameter_names(net):
    return [name for name, _ in net.named_parameters()]


def exact(q, scale):
    return q.astype(np.float64) * scale


def pow2_scale(bound, levels=127):
    """The smallest power of two s with levels * s >= bound."""
    return 2.0 ** int(np.ceil(np.log2(bound / levels)))


def stored_exact(q, scale, enc):
    dtype = {"u8": "<u1", "i8": "<i1", "u16": "<u2"}[enc]
    assert np.all(q == q.astype(dtype)), "value out of range for " + enc
    return {"shape": list(q.shape), "scale": scale,
            enc: base64.b64encode(np.ascontiguousarray(q.astype(dtype)).tobytes()).decode()}


def stored_quantised(v):
    v = np.asarray(v, dtype=np.float64)
    assert np.all(np.isfinite(v))
    top = float(np.abs(v).max())
    scale = top / 32767 if top > 0 else 1.0
    q = np.round(v / scale).astype("<i2")
    return {"shape": list(v.shape), "scale": scale, "i16": base64.b64encode(q.tobytes()).decode()}


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


def check_margins(record, where):
    for name, t in record:
        a = t.numpy()
        if name.startswith("bn"):
            closest = np.abs(a).min()
            assert closest > 1e-5, "%s %s: a batch-norm output %.3g from 0" % (where, name, closest)
        else:
            N, C, H, W = a.shape
            windows = a.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
            windows = np.sort(windows, axis=1)
            positive = windows[:, 3] > 0
            gap = (windows[:, 3] - windows[:, 2])[positive].min()
            assert gap > 1e-5, "%s %s: a max-pool window's top two values %.3g apart" % (where, name, gap)


def main():
    torch.manual_seed(0)  # only for nn.Module's default init, which is overwritten below
    rng = np.random.default_rng(SEED)
    net = MaskNetwork().double()
    names = parameter_names(net)
    count = sum(p.numel() for p in net.parameters())
    assert count == 26499, count

    parameters = {}
    with torch.no_grad():
        for name, p in net.named_parameters():
            shape = tuple(p.shape)
            if name.startswith("conv"):
                fan_in = shape[1] * 9 if len(shape) == 4 else net.get_parameter(
                    name.replace("bias", "weight")).shape[1] * 9
                bound = 1 / np.sqrt(fan_in)
                scale = pow2_scale(bound)
                top = int(np.floor(bound / scale))
                q = rng.integers(-top, top + 1, shape)
            elif name.endswith("weight"):  # gamma: [0.5, 1.5], about a quarter negated
                scale = 2.0 ** -6
                q = rng.integers(32, 97, shape) * np.where(rng.uniform(size=shape) < 0.25, -1, 1)
            else:  # beta
                scale = 2.0 ** -7
                q = rng.integers(-64, 65, shape)
            p.copy_(torch.from_numpy(exact(q, scale)))
            parameters[name] = stored_exact(q, scale, "i8")
        buffers = {}
        for i in range(4):
            bn = getattr(net, "bn%d" % (i + 1))
            c = bn.num_features
            qm = rng.integers(-64, 65, c)
            qv = rng.integers(16, 128, c)
            bn.running_mean.copy_(torch.from_numpy(exact(qm, 2.0 ** -7)))
            bn.running_var.copy_(torch.from_numpy(exact(qv, 2.0 ** -6)))
            buffers["bn%d.running_mean" % (i + 1)] = stored_exact(qm, 2.0 ** -7, "i8")
            buffers["bn%d.running_var" % (i + 1)] = stored_exact(qv, 2.0 ** -6, "i8")
    initial = {k: v.clone() for k, v in net.state_dict().items()}

    cases = []
    for side in (16, 32):
        B = 3
        net.load_state_dict(initial)
        qx = rng.integers(0, 65536, (B, side, side, 3))
        qd = rng.integers(-127, 128, (side, side, 3))
        qg = rng.integers(-127, 128, (B, side, side, 3))
        x = torch.from_numpy(exact(qx, 2.0 ** -16)).permute(0, 3, 1, 2).contiguous()
        delta = torch.from_numpy(exact(qd, 2.0 ** -8)).permute(2, 0, 1).contiguous().requires_grad_(True)
        G = torch.from_numpy(exact(qg, 2.0 ** -7)).permute(0, 3, 1, 2).contiguous()

        net.train()
        net.zero_grad()
        record = []
        m = net(x, record)
        check_margins(record, "train S=%d" % side)
        prompted = x + delta * F.interpolate(m, scale_factor=PATCH, mode="nearest")
        (G * prompted).sum().backward()

        grads = {name: stored_quantised(p.grad.numpy()) for name, p in net.named_parameters()}
        running = {}
        for i in range(4):
            bn = getattr(net, "bn%d" % (i + 1))
            running["bn%d.running_mean" % (i + 1)] = stored_quantised(bn.running_mean.numpy())
            running["bn%d.running_var" % (i + 1)] = stored_quantised(bn.running_var.numpy())

        net.eval()
        with torch.no_grad():
            m_eval = net(x)

        cases.append({
            "side": side, "count": B,
            "inputs": {"x": stored_exact(qx, 2.0 ** -16, "u16"), "delta": stored_exact(qd, 2.0 ** -8, "i8"),
                       "g": stored_exact(qg, 2.0 ** -7, "i8")},
            "outputs": {"mask_train": stored_quantised(nhwc(m)), "prompt": stored_quantised(nhwc(prompted)),
                        "grad_delta": stored_quantised(delta.grad.permute(1, 2, 0).numpy()),
                        "grad": grads, "running": running, "mask_eval": stored_quantised(nhwc(m_eval))},
        })

    doc = {"generator": "make_smm_fixture.py", "seed": SEED, "torch": torch.__version__,
           "conventions": "value = q * scale; weights OIHW; images, delta, G, prompt and masks channels-last; "
                          "float64 reference on exact float32 inputs; outputs quantised to 16 bits of max|v|",
           "parameter_order": names, "parameters": parameters, "buffers": buffers, "cases": cases}
    text = json.dumps(doc, separators=(",", ":"))
    with open(OUT, "w") as fh:
        fh.write(text)
        fh.write("\n")
    print("wrote %s: %d parameters, %d bytes" % (os.path.normpath(OUT), count, len(text) + 1))


if __name__ == "__main__":
    main()
