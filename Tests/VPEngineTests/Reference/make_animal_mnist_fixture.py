#!/usr/bin/env python3
"""Reference summary of Animal-MNIST (PyPI `animal-mnist`), read with gzip + a restricted pickle.Unpickler.

The two files are gzip'd pickles of numpy arrays (`uint8 [10000, 28, 28]` images, `int64 [10000]` labels).
The unpickler resolves only the globals a pickled ndarray needs; anything else (e.g. `os.system`) raises.

Also writes a tiny malformed pickle (`os.system` as a global, gzip'd) for the error-path test.

Usage: python3 make_animal_mnist_fixture.py [ASSETS_DIR]
  ASSETS_DIR defaults to $VPBOOK_ASSETS or ../../../.cache/assets.
Writes ../Fixtures/animal_mnist.json and ../Fixtures/malformed_os_system.pkl.gz.
"""

import gzip
import io
import json
import os
import pickle
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = [0, 1, 999, 1000, 2500, 4321, 7777, 9998, 9999]
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        if module == "numpy.core.multiarray":  # numpy 2 moved it; same function
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def load(path):
    with gzip.open(path, "rb") as f:
        return RestrictedUnpickler(io.BytesIO(f.read())).load()


def main():
    assets = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "VPBOOK_ASSETS", os.path.join(HERE, "..", "..", "..", ".cache", "assets"))
    base = os.path.join(assets, "data", "animal-mnist")
    images = load(os.path.join(base, "animal_data_version_3.gz"))
    labels = load(os.path.join(base, "animal_label_version_3.gz"))
    assert images.dtype == np.uint8 and images.ndim == 3, (images.dtype, images.shape)
    assert labels.ndim == 1 and len(labels) == len(images)
    flat = images.reshape(len(images), -1).astype(np.int64)
    fixture = {
        "count": int(images.shape[0]),
        "height": int(images.shape[1]),
        "width": int(images.shape[2]),
        "classes": 10,
        "labelDtype": str(labels.dtype),
        "histogram": np.bincount(labels, minlength=10).astype(int).tolist(),
        # Labels at fixed positions and an order-sensitive checksum Σ i·label[i].
        "sampleIndices": SAMPLES,
        "sampleLabels": [int(labels[i]) for i in SAMPLES],
        "labelChecksum": int((np.arange(len(labels), dtype=np.int64) * labels.astype(np.int64)).sum()),
        "firstImageSum": int(flat[0].sum()),
        "lastImageSum": int(flat[-1].sum()),
        "totalSum": int(flat.sum()),
        # Pixel (row 14, column 14) of the first image, in [0, 255].
        "firstImageCenter": int(images[0, 14, 14]),
    }
    out = os.path.join(HERE, "..", "Fixtures", "animal_mnist.json")
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(out))

    # Protocol 2: GLOBAL 'os system', a one-string tuple, REDUCE, STOP. Never unpickled here.
    malformed = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R."
    try:
        RestrictedUnpickler(io.BytesIO(malformed)).load()
        raise SystemExit("the restricted unpickler accepted os.system")
    except pickle.UnpicklingError:
        pass
    out = os.path.join(HERE, "..", "Fixtures", "malformed_os_system.pkl.gz")
    with open(out, "wb") as f:
        f.write(gzip.compress(malformed, mtime=0))
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
