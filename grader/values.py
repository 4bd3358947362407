"""Decode values recorded in the sandbox (``grader/_worker.py: encode``) into plain Python/NumPy/torch objects.

The input is untrusted JSON. Decoding never unpickles or evaluates anything:
arrays come from raw bytes with a whitelisted dtype and a checked size, numbers
from JSON numbers or short digit strings, everything else is a fixed set of
containers. Anything unexpected raises :class:`DecodeError`.
"""

from __future__ import annotations

import base64
import math

import numpy as np
import torch

#: NumPy dtype strings accepted for raw array bytes.
NUMPY_DTYPES = {
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16",
    ">i2", ">u2", ">i4", ">u4", ">i8", ">u8", ">f2", ">f4", ">f8", ">c8", ">c16",
}  # fmt: skip
TORCH_DTYPES = {
    "torch.bool", "torch.uint8", "torch.int8", "torch.int16", "torch.int32", "torch.int64", "torch.float16",
    "torch.bfloat16", "torch.float32", "torch.float64", "torch.complex64", "torch.complex128",
    "torch.uint16", "torch.uint32", "torch.uint64",
}  # fmt: skip
MAX_ELEMENTS = 1 << 27
MAX_DEPTH = 24


class DecodeError(ValueError):
    """The recorded value is malformed (or was forged badly)."""


class Opaque:
    """A value the sandbox could not turn into data (e.g. a model object); it equals nothing."""

    def __init__(self, type_name: str, text: str = ""):
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return self.text or f"<{self.type_name}>"

    def __eq__(self, other) -> bool:
        return False

    __hash__ = None


def _float(value):
    if isinstance(value, bool):
        raise DecodeError("bad float")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and set(value) == {"float"}:
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[value["float"]]
    raise DecodeError("bad float")


def _torch_dtype(name) -> torch.dtype:
    if name not in TORCH_DTYPES or not hasattr(torch, name.split(".", 1)[1]):
        raise DecodeError(f"unsupported tensor dtype {name!r}")
    return getattr(torch, name.split(".", 1)[1])


def _array(obj: dict) -> np.ndarray:
    dtype_str = obj.get("np") if "tensor" in obj else obj.get("ndarray")
    if dtype_str not in NUMPY_DTYPES:
        raise DecodeError(f"unsupported array dtype {dtype_str!r}")
    shape = obj.get("shape")
    if not isinstance(shape, list) or len(shape) > 32 or not all(isinstance(d, int) and 0 <= d for d in shape):
        raise DecodeError("bad shape")
    count = 1
    for d in shape:
        count *= d
    if count > MAX_ELEMENTS:
        raise DecodeError("array too large")
    raw = obj.get("b64")
    if not isinstance(raw, str):
        raise DecodeError("bad array data")
    try:
        data = base64.b64decode(raw, validate=True)
    except ValueError:
        raise DecodeError("bad array data") from None
    dtype = np.dtype(dtype_str)
    if len(data) != count * dtype.itemsize:
        raise DecodeError("array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def decode(obj, depth: int = 0):
    """Rebuild a recorded value; see the module docstring."""
    if depth > MAX_DEPTH:
        raise DecodeError("nested too deeply")
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, int):
        return obj
    if not isinstance(obj, dict) or len(obj) == 0:
        raise DecodeError(f"unexpected {type(obj).__name__}")
    if set(obj) == {"float"}:
        return _float(obj)
    if set(obj) == {"str"} and isinstance(obj["str"], str):
        return obj["str"]
    if set(obj) == {"int"} and isinstance(obj["int"], str):
        text = obj["int"]
        if len(text) > 4000 or not text.lstrip("-").isdigit():
            raise DecodeError("bad integer")
        return int(text)
    if set(obj) == {"complex"} and isinstance(obj["complex"], list) and len(obj["complex"]) == 2:
        return complex(_float(obj["complex"][0]), _float(obj["complex"][1]))
    if "tensor" in obj and set(obj) == {"tensor", "np", "shape", "b64"}:
        dtype = _torch_dtype(obj["tensor"])
        tensor = torch.from_numpy(_array(obj))
        return tensor.to(dtype) if tensor.dtype != dtype else tensor
    if "ndarray" in obj and set(obj) == {"ndarray", "shape", "b64"}:
        return _array(obj)
    if set(obj) == {"npscalar", "value"}:
        if obj["npscalar"] not in NUMPY_DTYPES:
            raise DecodeError("bad numpy scalar")
        value = decode(obj["value"], depth + 1)
        if not isinstance(value, (bool, int, float, complex)):
            raise DecodeError("bad numpy scalar")
        return np.dtype(obj["npscalar"]).type(value)
    if set(obj) == {"dtype"}:
        return _torch_dtype(obj["dtype"])
    if set(obj) == {"device"} and isinstance(obj["device"], str) and len(obj["device"]) < 20:
        try:
            return torch.device(obj["device"])
        except (RuntimeError, ValueError):
            raise DecodeError("bad device") from None
    if set(obj) in ({"list"}, {"tuple"}):
        items = obj.get("list", obj.get("tuple"))
        if not isinstance(items, list):
            raise DecodeError("bad sequence")
        values = [decode(v, depth + 1) for v in items]
        return values if "list" in obj else tuple(values)
    if set(obj) == {"dict"} and isinstance(obj["dict"], list):
        out = {}
        for pair in obj["dict"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise DecodeError("bad mapping")
            key = decode(pair[0], depth + 1)
            try:
                out[key] = decode(pair[1], depth + 1)
            except TypeError:
                raise DecodeError("unhashable key") from None
        return out
    if "opaque" in obj and set(obj) <= {"opaque", "repr"}:
        return Opaque(str(obj["opaque"])[:100], str(obj.get("repr", ""))[:200])
    raise DecodeError("unknown value record")
