#!/usr/bin/env python3
"""Independent reference values for the VPCheckpoint tests (no torch needed).

Reads the three real checkpoints with a *restricted* `pickle.Unpickler` (only an allow-list of globals is
resolved, to inert stand-ins; nothing from the file is executed) and numpy views of the raw storages, then
prints a JSON document with, for a few tensors, the shape, strides, storage offset, the float64 sum and the
first five values in row-major order after applying the strides.

Usage:
    python3 make_reference.py /path/to/.cache/assets/models > ../Fixtures/reference.json
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(DTYPES[name])


class Storage:
    """A storage whose bytes are filled in later (legacy) or immediately (zip)."""

    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel
        self.array = None  # 1-D numpy array of stype.dtype


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def values(self):
        """Row-major values with the storage offset and strides applied (independently of numpy views)."""
        base = self.storage.array
        itemsize = base.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride], writeable=False
        )
        return np.ascontiguousarray(view).reshape(-1)


def rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    return Tensor(storage, offset, size, stride)


def rebuild_parameter(data, requires_grad=False, hooks=None):
    return data


ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        if module == "torch" and name in DTYPES:
            return StorageType(name)
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")

    def persistent_load(self, pid):
        assert pid[0] == "storage", pid
        stype, key, _location, numel = pid[1], pid[2], pid[3], pid[4]
        view = pid[5] if len(pid) > 5 else None
        assert view is None, "storage views are not used by the reference files"
        if key not in self.storages:
            self.storages[key] = Storage(stype, key, numel)
        return self.storages[key]


def load_legacy(path):
    with open(path, "rb") as f:
        assert pickle.Unpickler(f).load() == LEGACY_MAGIC
        assert pickle.Unpickler(f).load() == 1001
        sys_info = pickle.Unpickler(f).load()
        assert sys_info["little_endian"]
        storages = {}
        state = RestrictedUnpickler(f, storages).load()
        keys = pickle.Unpickler(f).load()
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            st = storages[key]
            assert count == st.numel
            st.array = np.frombuffer(f.read(count * st.stype.dtype.itemsize), dtype=st.stype.dtype.newbyteorder("<"))
    return state


def load_zip(path):
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        prefix = pkl[: -len("data.pkl")]
        storages = {}
        state = RestrictedUnpickler(io.BytesIO(z.read(pkl)), storages).load()
        for key, st in storages.items():
            raw = z.read(prefix + "data/" + key)
            st.array = np.frombuffer(raw, dtype=st.stype.dtype.newbyteorder("<"), count=st.numel)
    return state


def describe(name, t):
    v = t.values()
    f64 = v.astype(np.float64)
    contiguous = True
    expected = 1
    for n, s in reversed(list(zip(t.size, t.stride))):
        if n != 1 and s != expected:
            contiguous = False
        expected *= n
    return {
        "key": name,
        "dtype": str(t.storage.array.dtype),
        "shape": list(t.size),
        "stride": list(t.stride),
        "storage_offset": t.offset,
        "contiguous": contiguous,
        "count": int(v.size),
        "sum": float(f64.sum()),
        "abs_sum": float(np.abs(f64).sum()),
        "first5": [float(x) for x in f64[:5]],
    }


def file_summary(path, fmt, state, picks):
    tensors = list(state.items())
    strided = [k for k, t in tensors if not describe(k, t)["contiguous"]]
    float_wb = sum(
        int(np.prod(t.size))
        for k, t in tensors
        if (k.endswith("weight") or k.endswith("bias")) and t.storage.array.dtype.kind == "f"
    )
    picks = list(picks) + strided[:2]
    return {
        "file": os.path.basename(path),
        "format": fmt,
        "tensor_count": len(tensors),
        "first_key": tensors[0][0],
        "last_key": tensors[-1][0],
        "weight_bias_elements": float_wb,
        "strided_count": len(strided),
        "tensors": [describe(k, state[k]) for k in dict.fromkeys(picks)],
    }


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ["VPBOOK_ASSETS"], "models")
    out = []
    p = os.path.join(models, "mobilenet_v2-b0353104.pth")
    out.append(
        file_summary(
            p,
            "legacy",
            load_legacy(p),
            ["features.0.0.weight", "features.1.conv.0.1.running_var", "classifier.1.weight", "classifier.1.bias",
             "features.0.1.num_batches_tracked"],
        )
    )
    p = os.path.join(models, "efficientnet-lite0-57934424.pth")
    out.append(file_summary(p, "legacy", load_legacy(p), ["_conv_stem.weight", "_fc.weight", "_fc.bias"]))
    p = os.path.join(models, "resnet18-random-10class.pth")
    out.append(
        file_summary(
            p, "zip", load_zip(p), ["backbone.conv1.weight", "backbone.layer4.1.bn2.running_mean", "backbone.fc.weight"]
        )
    )
    json.dump({"generator": "make_reference.py", "files": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
