"""PIL's own bicubic resize (Image.resize(BICUBIC) on 8-bit RGB) -> ../Fixtures/bicubic.json.

Run with a Python that has Pillow (CI has none; the output is committed):

    /work/main/.venv-bench/bin/python make_bicubic_fixture.py

Sources: the 13 x 9 RGB test image of make_reference.py, (x*37 + y*91 + c*53 + x*y*7) % 256, and a 37 x 29 one,
(x*x*13 + y*71 + c*29 + x*y*3) % 256; each resized down, up and to mixed sizes. This is what CLIP's
preprocessing does to a PIL image (torchvision's Resize(n_px, interpolation=BICUBIC)).
"""

import json
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def image(w, h, f):
    a = np.array([[[f(x, y, c) % 256 for c in range(3)] for x in range(w)] for y in range(h)], dtype=np.uint8)
    return Image.fromarray(a, "RGB")


def main():
    sources = {
        "small": (13, 9, lambda x, y, c: x * 37 + y * 91 + c * 53 + x * y * 7),
        "large": (37, 29, lambda x, y, c: x * x * 13 + y * 71 + c * 29 + x * y * 3),
    }
    sizes = {"small": [(7, 5), (20, 14), (13, 4), (4, 9), (26, 18)], "large": [(16, 12), (21, 16), (5, 4), (37, 10)]}
    cases = []
    for name, (w, h, f) in sources.items():
        src = image(w, h, f)
        for out_w, out_h in sizes[name]:
            out = np.asarray(src.resize((out_w, out_h), Image.BICUBIC))
            cases.append({"source": name, "width": out_w, "height": out_h, "bytes": out.reshape(-1).tolist()})
    with open(os.path.join(HERE, "..", "Fixtures", "bicubic.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
