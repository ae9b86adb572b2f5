"""Minimal, restricted reader for PyTorch checkpoints -> dict of numpy arrays.

No torch needed.  Only the handful of globals a plain state dict uses are
allowed; anything else raises pickle.UnpicklingError, so an untrusted file
cannot run code through this reader.

Allowed globals (find_class):
  collections.OrderedDict
  torch._utils._rebuild_tensor_v2   -> _TensorRef marker (storage, offset, size, stride)
  torch._utils._rebuild_parameter   -> passes the _TensorRef through
  torch.<Name>Storage               -> _StorageType marker (numpy dtype)

persistent_load receives the tuple
  ('storage', storage_type, key, location, numel[, view_metadata])
and returns a _StorageRef marker carrying the key; raw bytes are attached
later, once known.

Two container layouts are supported:

* legacy (torch < 1.6, "_use_new_zipfile_serialization=False"): the file is a
  concatenation of pickles
      magic number (0x1950a86a20f9469cfc6c), protocol version (1001), sys_info,
      the object (state dict),
      the list of storage keys (order of the raw blocks that follow)
  then, for each key in that order: int64 little-endian element count,
  followed by count * element_size raw little-endian bytes.
* zip (torch >= 1.6): <prefix>/data.pkl is the object pickle and
  <prefix>/data/<key> holds the raw bytes of storage <key>
  (<prefix>/byteorder says 'little' when present).

Tensors are materialised with np.lib.stride_tricks.as_strided from
(storage, storage_offset, size, stride) -- strides in elements -- and then
copied into fresh contiguous arrays, so strided views (e.g. the 50 conv
weights of efficientnet-lite0 that share / offset into storages) come out
right.

Usage:  sd = load_state_dict(path)  -> collections.OrderedDict[str, np.ndarray]
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
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


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


class _StorageRef:
    def __init__(self, stype, key, numel):
        self.stype = stype
        self.key = str(key)
        self.numel = numel
        self.array = None  # 1-D numpy array once the bytes are known


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def to_numpy(self):
        base = self.storage.array
        if base is None:
            raise ValueError("storage %s has no data" % self.storage.key)
        n = 1
        for s in self.size:
            n *= s
        if n == 0:
            return np.zeros(self.size, dtype=base.dtype.newbyteorder("="))
        # bounds check: largest element index touched
        last = self.offset + sum((sz - 1) * st for sz, st in zip(self.size, self.stride))
        if self.offset < 0 or last >= base.size:
            raise ValueError("tensor view out of storage bounds")
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:],
            shape=self.size,
            strides=tuple(st * item for st in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view).astype(base.dtype.newbyteorder("="))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError("global %s.%s is not allowed" % (module, name))

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError("unsupported persistent id %r" % (pid,))
        stype, key, _location, numel = pid[1], pid[2], pid[3], pid[4]
        view_meta = pid[5] if len(pid) > 5 else None
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError("bad storage type %r" % (stype,))
        key = str(key)
        ref = self.storages.get(key)
        if ref is None:
            ref = _StorageRef(stype, key, numel)
            self.storages[key] = ref
        if view_meta is not None:
            raise pickle.UnpicklingError("legacy storage views are not supported")
        return ref


def _materialise(obj):
    if isinstance(obj, _TensorRef):
        return obj.to_numpy()
    if isinstance(obj, collections.OrderedDict):
        out = collections.OrderedDict()
        for k, v in obj.items():
            out[k] = _materialise(v)
        return out
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def _safe_load(f):
    """Plain pickle (no globals at all) for the legacy header pickles."""
    class _NoGlobals(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError("global %s.%s is not allowed" % (module, name))
    return _NoGlobals(f).load()


def _load_legacy(f):
    magic = _safe_load(f)
    if magic != LEGACY_MAGIC:
        raise ValueError("not a legacy torch file (bad magic)")
    protocol = _safe_load(f)
    if protocol != 1001:
        raise ValueError("unsupported legacy protocol %r" % (protocol,))
    sys_info = _safe_load(f)
    if not sys_info.get("little_endian", True):
        raise ValueError("big-endian checkpoints are not supported")
    up = _Unpickler(f)
    obj = up.load()
    keys = _safe_load(f)
    for key in keys:
        key = str(key)
        ref = up.storages[key]
        (count,) = struct.unpack("<q", f.read(8))
        nbytes = count * ref.stype.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise ValueError("truncated storage %s" % key)
        ref.array = np.frombuffer(raw, dtype=ref.stype.dtype)
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise ValueError("zip checkpoint without a unique data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        bo = prefix + "byteorder"
        if bo in names and z.read(bo).strip() != b"little":
            raise ValueError("big-endian checkpoints are not supported")
        up = _Unpickler(io.BytesIO(z.read(pkl[0])))
        obj = up.load()
        for key, ref in up.storages.items():
            raw = z.read(prefix + "data/" + key)
            ref.array = np.frombuffer(raw, dtype=ref.stype.dtype)
    return obj


def load_state_dict(path):
    """Read a torch checkpoint (legacy or zip) into an OrderedDict of numpy arrays."""
    if zipfile.is_zipfile(path):
        obj = _load_zip(path)
    else:
        with open(path, "rb") as f:
            obj = _load_legacy(f)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    return _materialise(obj)


if __name__ == "__main__":
    import sys
    for p in sys.argv[1:]:
        sd = load_state_dict(p)
        print(p, len(sd))
        for k, v in sd.items():
            print("  %-60s %-20s %s" % (k, tuple(v.shape), v.dtype))
