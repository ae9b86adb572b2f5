#!/usr/bin/env python3
"""Reference for TrivialAugment's operations (vpbook's TrivialAugment.apply), written with numpy only.

Each operation is applied at fixed magnitudes to small random RGB images ([side, side, 3], channels last, in
[0, 1]; sides 9 and 8, and 12 for a cutout square of odd side). The maths is float64; the images and results
are stored as float32 values.

  identity      the image
  flip          x -> side - 1 - x
  translateX/Y  out[r, x] = in[r, x - t] / in[r - t, x], 0 where the source is outside
  rotate        content turned by theta degrees counter-clockwise as displayed (rows down) about
                c = (side - 1) / 2: each output pixel centre p is mapped back through the inverse of the
                forward rotation matrix, p_in = c + inv(R) (p - c), and sampled bilinearly from the four
                neighbouring pixel centres, each outside neighbour counting as 0 (grid_sample with
                align_corners=True and zero padding, done by hand)
  brightness    clip(x * f, 0, 1)
  contrast      clip(mu + f (x - mu), 0, 1), mu = mean over the image of 0.299 R + 0.587 G + 0.114 B
  saturation    clip(L + f (x - L), 0, 1), L = 0.299 R + 0.587 G + 0.114 B of the pixel
  cutout        a k x k square, k = max(1, side // 4), rows cr - k // 2 ... cr - k // 2 + k - 1 (same for
                columns about cc), clipped, set to 0.5; the magnitude is the centre's flat index cr * side + cc

Usage: python3 make_augment_fixture.py    (writes ../Fixtures/augment.json)
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LUMA = np.array([0.299, 0.587, 0.114])


def translate(img, dr, dc):
    s = img.shape[0]
    out = np.zeros_like(img)
    for r in range(s):
        for x in range(s):
            sr, sx = r - dr, x - dc
            if 0 <= sr < s and 0 <= sx < s:
                out[r, x] = img[sr, sx]
    return out


def rotate(img, degrees):
    s = img.shape[0]
    t = np.deg2rad(degrees)
    # Forward rotation of the content in (x, y) coordinates with y pointing down: (1, 0) -> (cos, -sin).
    R = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    Rinv = np.linalg.inv(R)
    c = (s - 1) / 2
    out = np.zeros_like(img)
    for y in range(s):
        for x in range(s):
            xs, ys = Rinv @ np.array([x - c, y - c]) + c
            x0, y0 = int(np.floor(xs)), int(np.floor(ys))
            fx, fy = xs - x0, ys - y0
            for yy, wy in ((y0, 1 - fy), (y0 + 1, fy)):
                for xx, wx in ((x0, 1 - fx), (x0 + 1, fx)):
                    if 0 <= yy < s and 0 <= xx < s:
                        out[y, x] += wy * wx * img[yy, xx]
    return out


def cutout(img, centre):
    s = img.shape[0]
    k = max(1, s // 4)
    cr, cc = divmod(int(centre), s)
    out = img.copy()
    top, left = cr - k // 2, cc - k // 2
    out[max(0, top):max(0, top + k), max(0, left):max(0, left + k)] = 0.5
    return out


def apply(op, m, img):
    if op == "identity":
        return img.copy()
    if op == "flip":
        return img[:, ::-1].copy()
    if op == "translateX":
        return translate(img, 0, int(m))
    if op == "translateY":
        return translate(img, int(m), 0)
    if op == "rotate":
        return rotate(img, m)
    if op == "brightness":
        return np.clip(img * m, 0, 1)
    if op == "contrast":
        mu = float(np.mean(img @ LUMA))
        return np.clip(mu + m * (img - mu), 0, 1)
    if op == "saturation":
        L = (img @ LUMA)[:, :, None]
        return np.clip(L + m * (img - L), 0, 1)
    if op == "cutout":
        return cutout(img, m)
    raise ValueError(op)


def f32(a):
    """float32 values as the shortest decimal strings that read back as the same float32."""
    return [float(str(v)) for v in np.asarray(a, dtype=np.float32).ravel()]


def case(rng, side, magnitudes):
    img = rng.uniform(0, 1, (side, side, 3)).astype(np.float32).astype(np.float64)
    results = []
    for op, ms in magnitudes.items():
        for m in ms:
            results.append({"operation": op, "magnitude": m, "output": f32(apply(op, m, img))})
    return {"side": side, "image": f32(img), "results": results}


def main():
    rng = np.random.default_rng(20261201)
    def every(side):
        last = side * side - 1
        return {
            "identity": [0.0], "flip": [0.0],
            "translateX": [-1.0, 1.0, 3.0], "translateY": [-2.0, 1.0],
            "rotate": [-30.0, 12.5, 30.0],
            "brightness": [0.6, 1.37], "contrast": [0.6, 1.4], "saturation": [0.0, 0.45, 2.0],
            "cutout": [0.0, float(side * (side // 2) + side // 2), float(last - 1)],
        }
    cases = [case(rng, 9, every(9)), case(rng, 8, every(8)),
             case(rng, 12, {"cutout": [0.0, 30.0, 143.0], "rotate": [7.0]})]
    with open(os.path.join(HERE, "..", "Fixtures", "augment.json"), "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
