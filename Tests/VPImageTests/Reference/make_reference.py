#!/usr/bin/env python3
"""Reference values for VPImageTests, computed with numpy only (no PIL, no torch).

Everything here is an independent re-implementation:
  * PNG decoding: zlib + PNG filter reversal (filters 0-4), 8-bit non-interlaced only.
  * JPEG decoding: a small baseline (SOF0/SOF1, Huffman) decoder with a float IDCT, used only for
    the image size and the per-channel mean (decoders legitimately differ by a level or so).
  * Resizing: torch's bilinear (align_corners=False, antialias=False); PIL's / torch's antialiased
    bilinear (ImagingResample: support = filterscale * 1.0, center = (i + 0.5) * scale, triangle
    weights, normalised) in float64; and PIL's 8-bit fixed-point evaluation of the same weights.
  * torchvision's ImageNet transform: Resize(256), CenterCrop(224), ToTensor, Normalize; and the
    EfficientNet-Lite variant (x_uint8 - 127) / 128.

Run from anywhere:  python3 make_reference.py [ASSETS_DIR]
(ASSETS_DIR defaults to $VPBOOK_ASSETS or /work/main/.cache/assets.) Writes JSON fixtures into
../Fixtures/.
"""

import json
import math
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Fixtures")


# ---------------------------------------------------------------------------------------------
# PNG decoding (zlib + filter reversal)


def decode_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos = 8
    idat = b""
    header = None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert zlib.crc32(ctype + body) & 0xFFFFFFFF == crc, "bad CRC"
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0, "reference decoder handles 8-bit non-interlaced only"
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows = []
    prev = [0] * stride
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = raw[start + 1 : start + 1 + stride]
        cur = [0] * stride
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 0:
                p = 0
            elif ftype == 1:
                p = a
            elif ftype == 2:
                p = b
            elif ftype == 3:
                p = (a + b) >> 1
            elif ftype == 4:
                pp = a + b - c
                pa, pb, pc = abs(pp - a), abs(pp - b), abs(pp - c)
                p = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            else:
                raise ValueError("bad filter %d" % ftype)
            cur[i] = (line[i] + p) & 0xFF
        rows.append(cur)
        prev = cur
    out = np.array(rows, dtype=np.int64)
    img = out.reshape(height, width, channels).astype(np.uint8)
    if channels in (2, 4):  # drop alpha, as VPImage does
        img = img[:, :, : channels - 1]
    return img


# ---------------------------------------------------------------------------------------------
# Baseline JPEG decoding (coarse reference: size and mean)

ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
    20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
    59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]


def build_huffman(counts, symbols):
    """Table indexed by the next 16 bits: (symbol, code length)."""
    table_sym = np.zeros(1 << 16, dtype=np.int32)
    table_len = np.zeros(1 << 16, dtype=np.int32)
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            lo = code << (16 - length)
            hi = (code + 1) << (16 - length)
            table_sym[lo:hi] = symbols[k]
            table_len[lo:hi] = length
            k += 1
            code += 1
        code <<= 1
    return table_sym.tolist(), table_len.tolist()


class BitReader:
    def __init__(self, data):
        self.data = bytes(data) + b"\x00\x00\x00\x00"
        self.pos = 0

    def peek16(self):
        byte = self.pos >> 3
        word = (self.data[byte] << 16) | (self.data[byte + 1] << 8) | self.data[byte + 2]
        return (word >> (8 - (self.pos & 7))) & 0xFFFF

    def bits(self, n):
        if n == 0:
            return 0
        v = self.peek16() >> (16 - n)
        self.pos += n
        return v

    def decode(self, table):
        sym, lens = table
        v = self.peek16()
        length = lens[v]
        if length == 0:
            raise ValueError("bad Huffman code")
        self.pos += length
        return sym[v]


def extend(v, n):
    return v - (1 << n) + 1 if n and v < (1 << (n - 1)) else v


def decode_jpeg(path):
    d = open(path, "rb").read()
    assert d[:2] == b"\xff\xd8"
    pos = 2
    qt = {}
    ht = {}
    restart = 0
    frame = None
    while True:
        assert d[pos] == 0xFF
        marker = d[pos + 1]
        length = (d[pos + 2] << 8) | d[pos + 3]
        seg = d[pos + 4 : pos + 2 + length]
        if marker == 0xDB:
            i = 0
            while i < len(seg):
                pq, tq = seg[i] >> 4, seg[i] & 15
                n = 2 if pq else 1
                vals = [int.from_bytes(seg[i + 1 + n * j : i + 1 + n * j + n], "big") for j in range(64)]
                q = np.zeros(64)
                for j in range(64):
                    q[ZIGZAG[j]] = vals[j]
                qt[tq] = q.reshape(8, 8)
                i += 1 + 64 * n
        elif marker in (0xC0, 0xC1):
            height, width, nf = struct.unpack(">HHB", seg[1:6])
            comps = []
            for j in range(nf):
                cid, hv, tq = seg[6 + 3 * j : 9 + 3 * j]
                comps.append({"id": cid, "h": hv >> 4, "v": hv & 15, "tq": tq})
            frame = (width, height, comps)
        elif marker in (0xC2, 0xC3) or 0xC5 <= marker <= 0xCF and marker != 0xCC and marker != 0xC8:
            raise ValueError("reference decoder handles baseline JPEG only")
        elif marker == 0xC4:
            i = 0
            while i < len(seg):
                tc, th = seg[i] >> 4, seg[i] & 15
                counts = list(seg[i + 1 : i + 17])
                total = sum(counts)
                ht[(tc, th)] = build_huffman(counts, list(seg[i + 17 : i + 17 + total]))
                i += 17 + total
        elif marker == 0xDD:
            restart = (seg[0] << 8) | seg[1]
        elif marker == 0xDA:
            ns = seg[0]
            sel = {}
            for j in range(ns):
                sel[seg[1 + 2 * j]] = (seg[2 + 2 * j] >> 4, seg[2 + 2 * j] & 15)
            pos = pos + 2 + length
            break
        pos += 2 + length
    width, height, comps = frame
    # Entropy-coded data: unstuff, split at RST markers.
    segments = [bytearray()]
    while pos < len(d) - 1:
        b = d[pos]
        if b == 0xFF:
            nxt = d[pos + 1]
            if nxt == 0x00:
                segments[-1].append(0xFF)
                pos += 2
                continue
            if 0xD0 <= nxt <= 0xD7:
                segments.append(bytearray())
                pos += 2
                continue
            break
        segments[-1].append(b)
        pos += 1
    hmax = max(c["h"] for c in comps)
    vmax = max(c["v"] for c in comps)
    mcux = -(-width // (8 * hmax))
    mcuy = -(-height // (8 * vmax))
    planes = [np.zeros((mcuy * c["v"] * 8, mcux * c["h"] * 8)) for c in comps]
    u = np.arange(8)
    basis = np.cos((2 * u[None, :] + 1) * u[:, None] * np.pi / 16) * np.where(u == 0, 1 / math.sqrt(2), 1)[:, None] / 2
    total_mcus = mcux * mcuy
    per_segment = restart if restart else total_mcus
    mcu = 0
    for segment in segments:
        if mcu >= total_mcus:
            break
        reader = BitReader(segment)
        pred = [0] * len(comps)
        for _ in range(per_segment):
            if mcu >= total_mcus:
                break
            my, mx = divmod(mcu, mcux)
            for ci, c in enumerate(comps):
                dc_table = ht[(0, sel[c["id"]][0])]
                ac_table = ht[(1, sel[c["id"]][1])]
                for by in range(c["v"]):
                    for bx in range(c["h"]):
                        coef = np.zeros(64)
                        t = reader.decode(dc_table)
                        pred[ci] += extend(reader.bits(t), t)
                        coef[0] = pred[ci]
                        k = 1
                        while k < 64:
                            rs = reader.decode(ac_table)
                            r, s = rs >> 4, rs & 15
                            if s == 0:
                                if r == 15:
                                    k += 16
                                    continue
                                break
                            k += r
                            coef[ZIGZAG[k]] = extend(reader.bits(s), s)
                            k += 1
                        block = coef.reshape(8, 8) * qt[c["tq"]]
                        pixels = basis.T @ block @ basis + 128
                        y0 = (my * c["v"] + by) * 8
                        x0 = (mx * c["h"] + bx) * 8
                        planes[ci][y0 : y0 + 8, x0 : x0 + 8] = pixels
            mcu += 1
    full = []
    for c, plane in zip(comps, planes):
        plane = np.repeat(np.repeat(plane, vmax // c["v"], axis=0), hmax // c["h"], axis=1)
        full.append(np.clip(np.round(plane), 0, 255)[:height, :width])
    if len(full) == 1:
        return full[0][:, :, None]
    y, cb, cr = full
    rgb = np.stack(
        [y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), y + 1.772 * (cb - 128)],
        axis=2,
    )
    return np.clip(np.round(rgb), 0, 255)


# ---------------------------------------------------------------------------------------------
# Resizing


def torch_bilinear_matrix(in_size, out_size):
    """Rows: output index, columns: source index (align_corners=False, antialias=False)."""
    m = np.zeros((out_size, in_size))
    scale = in_size / out_size
    for o in range(out_size):
        src = max((o + 0.5) * scale - 0.5, 0.0)
        i0 = int(math.floor(src))
        i1 = min(i0 + 1, in_size - 1)
        l1 = src - i0
        m[o, i0] += 1 - l1
        m[o, i1] += l1
    return m


def pil_coefficients(in_size, out_size):
    """PIL ImagingResample precompute_coeffs for the bilinear (triangle) filter, support 1."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    rows = []
    for o in range(out_size):
        center = (o + 0.5) * scale
        ss = 1.0 / filterscale
        xmin = max(int(center - support + 0.5), 0)  # int() truncates towards zero, like C
        xmax = min(int(center + support + 0.5), in_size) - xmin
        ws = []
        ww = 0.0
        for x in range(xmax):
            t = abs((x + xmin - center + 0.5) * ss)
            w = 1.0 - t if t < 1.0 else 0.0
            ws.append(w)
            ww += w
        if ww != 0.0:
            ws = [w / ww for w in ws]
        rows.append((xmin, ws))
    return rows


def pil_matrix(in_size, out_size):
    m = np.zeros((out_size, in_size))
    for o, (xmin, ws) in enumerate(pil_coefficients(in_size, out_size)):
        m[o, xmin : xmin + len(ws)] = ws
    return m


def resize_float(img, out_w, out_h, matrix):
    """img: H x W x C float64."""
    h, w, _ = img.shape
    mh = matrix(w, out_w)
    mv = matrix(h, out_h)
    tmp = np.einsum("hwc,pw->hpc", img, mh)  # horizontal pass
    return np.einsum("oh,hpc->opc", mv, tmp)  # vertical pass


def resize_pil8(img, out_w, out_h):
    """PIL's 8-bit path: fixed-point (22 bits) weights, horizontal then vertical, each rounded."""
    prec = 22
    img = img.astype(np.int64)
    h, w, c = img.shape

    def fixed(rows):
        out = []
        for xmin, ws in rows:
            out.append((xmin, [int(wv * (1 << prec) + (0.5 if wv >= 0 else -0.5)) for wv in ws]))
        return out

    if out_w != w:
        rows = fixed(pil_coefficients(w, out_w))
        tmp = np.zeros((h, out_w, c), dtype=np.int64)
        for o, (xmin, ks) in enumerate(rows):
            acc = np.full((h, c), 1 << (prec - 1), dtype=np.int64)
            for t, k in enumerate(ks):
                acc += img[:, xmin + t, :] * k
            tmp[:, o, :] = np.clip(acc >> prec, 0, 255)
        img = tmp
    if out_h != h:
        rows = fixed(pil_coefficients(h, out_h))
        tmp = np.zeros((out_h, img.shape[1], c), dtype=np.int64)
        for o, (ymin, ks) in enumerate(rows):
            acc = np.full((img.shape[1], c), 1 << (prec - 1), dtype=np.int64)
            for t, k in enumerate(ks):
                acc += img[ymin + t, :, :] * k
            tmp[o] = np.clip(acc >> prec, 0, 255)
        img = tmp
    return img


def test_image():
    """13 wide x 9 high RGB, u8 = (x*37 + y*91 + c*53 + x*y*7) % 256."""
    y, x, c = np.meshgrid(np.arange(9), np.arange(13), np.arange(3), indexing="ij")
    return (x * 37 + y * 91 + c * 53 + x * y * 7) % 256


# ---------------------------------------------------------------------------------------------
# torchvision transforms


def short_side_size(w, h, side):
    short, long = min(w, h), max(w, h)
    if short == side:
        return w, h
    new_long = int(side * long / short)
    return (side, new_long) if w <= h else (new_long, side)


def center_crop(img, side):
    h, w, _ = img.shape
    top = int(round((h - side) / 2.0))  # Python 3 round: half to even
    left = int(round((w - side) / 2.0))
    return img[top : top + side, left : left + side, :], top, left


def preprocess(u8, method):
    h, w, _ = u8.shape
    nw, nh = short_side_size(w, h, 256)
    if method == "pilBilinear":
        resized = resize_pil8(u8, nw, nh).astype(np.float64) / 255.0
    else:
        resized = resize_float(u8.astype(np.float64) / 255.0, nw, nh, pil_matrix)
    cropped, top, left = center_crop(resized, 224)
    mean = np.array([0.485, 0.456, 0.406])
    std = np.array([0.229, 0.224, 0.225])
    tv = ((cropped - mean) / std).reshape(-1)
    q = np.floor(np.clip(cropped, 0, 1) * 255 + 0.5)
    eff = ((q - 127) / 128).reshape(-1)
    return (nw, nh, top, left), tv, eff


def rounded(values):
    """Flattened, 9 significant digits (far below the tests' 1e-5 tolerance)."""
    return [float("%.9g" % v) for v in values.reshape(-1)]


def summarize(values):
    n = values.size
    idx = [int(i * (n - 1) // 19) for i in range(20)]
    return {
        "count": n,
        "sum": float(values.sum()),
        "sumAbs": float(np.abs(values).sum()),
        "indices": idx,
        "values": [float(values[i]) for i in idx],
    }


# ---------------------------------------------------------------------------------------------


def main():
    assets = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VPBOOK_ASSETS", "/work/main/.cache/assets")
    os.makedirs(FIXTURES, exist_ok=True)

    # Resizing of the synthetic image.
    src = test_image()
    cases = []
    for out_w, out_h in [(5, 7), (29, 31), (3, 2)]:
        fl = src.astype(np.float64) / 255.0
        cases.append({"method": "bilinear", "width": out_w, "height": out_h,
                      "values": rounded(resize_float(fl, out_w, out_h, torch_bilinear_matrix))})
        cases.append({"method": "antialiasedBilinear", "width": out_w, "height": out_h,
                      "values": rounded(resize_float(fl, out_w, out_h, pil_matrix))})
        cases.append({"method": "pilBilinear", "width": out_w, "height": out_h,
                      "bytes": resize_pil8(src, out_w, out_h).reshape(-1).astype(int).tolist()})
    with open(os.path.join(FIXTURES, "resize.json"), "w") as f:
        json.dump({"source": {"width": 13, "height": 9, "channels": 3,
                              "formula": "(x*37 + y*91 + c*53 + x*y*7) % 256",
                              "bytes": src.reshape(-1).astype(int).tolist()},
                   "cases": cases}, f)

    # Decoded real images.
    images = []
    for name in ["chelsea.png", "coffee.png", "astronaut.png"]:
        img = decode_png(os.path.join(assets, "images", name)).astype(np.int64)
        flat = img.reshape(-1)
        n = flat.size
        idx = [int(i * (n - 1) // 9) for i in range(10)]
        images.append({
            "file": name, "width": img.shape[1], "height": img.shape[0], "channels": img.shape[2],
            "sum": int(flat.sum()),
            "weightedSum": int((flat * (np.arange(n, dtype=np.int64) % 9973 + 1)).sum()),
            "indices": idx, "bytes": [int(flat[i]) for i in idx],
        })
    jpeg = decode_jpeg(os.path.join(assets, "images", "rocket.jpg"))
    images.append({"file": "rocket.jpg", "width": jpeg.shape[1], "height": jpeg.shape[0],
                   "channels": jpeg.shape[2],
                   "channelMeans": [float(jpeg[:, :, c].mean()) for c in range(jpeg.shape[2])]})
    with open(os.path.join(FIXTURES, "images.json"), "w") as f:
        json.dump({"images": images}, f, indent=1)

    # torchvision / EfficientNet preprocessing of chelsea.png.
    chelsea = decode_png(os.path.join(assets, "images", "chelsea.png"))
    out = {"file": "chelsea.png", "cases": []}
    for method in ["pilBilinear", "antialiasedBilinear"]:
        (nw, nh, top, left), tv, eff = preprocess(chelsea, method)
        out["resized"] = {"width": nw, "height": nh, "top": top, "left": left}
        out["cases"].append({"transform": "torchvision", "resize": method, **summarize(tv)})
        out["cases"].append({"transform": "efficientNet", "resize": method, **summarize(eff)})
    with open(os.path.join(FIXTURES, "preprocess.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("wrote resize.json, images.json, preprocess.json to", os.path.normpath(FIXTURES))
    for im in images:
        print(im["file"], im["width"], im["height"], im.get("channelMeans", ""))
    print("chelsea resized", out["resized"])


if __name__ == "__main__":
    main()
