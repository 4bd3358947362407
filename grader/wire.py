"""The wire between the grader and its sandboxed workers: frames, progress bytes, statuses, recorded values.

Both sides use this one module: the host imports it as ``grader.wire``; the worker (``_worker.py``, run as
a script inside the sandbox, where this file is bound beside it) loads it by path from beside itself. So it
is standalone: the standard library at import time, NumPy and torch imported by the functions that need them.

**Frames**: one kind byte, the payload's length as 8 bytes big-endian, the payload (JSON). ``CELL``:
grader -> the notebook's child process, the next cell (one at a time, each after the previous one ended).
``EVENT``: child -> grader, one event of the run (a cell's start, end with outputs and recorded values,
...). ``STATUS``: worker -> grader, ``{"ready": ...}`` once, then ``{"token", "status"}`` per job.
**Progress bytes** (child <-> worker): ``PING`` before a cell reports its end, ``PONG`` back from a
live worker. **Statuses** of a job: :data:`STATUSES`.

**Values**: :func:`encode` (sandbox side, within a size :class:`Budget`) turns what a check saw into plain
JSON; :func:`decode` (trusted side) rebuilds it from untrusted JSON without unpickling or evaluating
anything: arrays come from raw bytes with a whitelisted dtype and a checked size, numbers from JSON
numbers or short digit strings, everything else is a fixed set of containers; anything unexpected
raises :class:`DecodeError`.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

# ----------------------------------------------------------------------------- frames

CELL = b"C"
EVENT = b"J"
STATUS = b"D"
PING = b"P"
PONG = b"K"
HEADER_BYTES = 9
#: What became of one job: it ran to the end; a cell or the whole notebook ran out of time; it printed
#: too much; the worker died; the worker stopped answering the grader; (the grader's own) the submission
#: had no such notebook, so nothing ran.
STATUSES = ("exited", "cell_timeout", "notebook_timeout", "output_limit", "worker_died", "host_timeout", "not_run")


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame: ``kind``, the payload's length, the payload."""
    return kind + struct.pack(">Q", len(payload)) + payload


def frame_header(head: bytes) -> tuple[bytes, int]:
    """The kind and payload length of a frame from its first :data:`HEADER_BYTES` bytes."""
    return head[:1], struct.unpack(">Q", head[1:HEADER_BYTES])[0]


# ----------------------------------------------------------------------------- values, sandbox side


class Budget:
    def __init__(self, limit: int):
        self.left = limit

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ValueError("the value is too large to record")


_FLOAT_WORDS = {math.inf: "inf", -math.inf: "-inf"}


def _float(x: float):
    if math.isnan(x):
        return {"float": "nan"}
    if math.isinf(x):
        return {"float": _FLOAT_WORDS[x]}
    return x


def encode(value, budget: Budget, depth: int = 0):
    """Turn a value into plain JSON data (tensors and arrays as raw bytes in base64)."""
    import numpy as np
    import torch

    if depth > 20:
        raise ValueError("the value is nested too deeply to record")
    budget.take(16)
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str):
            budget.take(len(value))
        return value if not isinstance(value, str) else {"str": value}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, complex):
        return {"complex": [_float(value.real), _float(value.imag)]}
    if isinstance(value, torch.Tensor):
        t = torch.Tensor.detach(value)
        if t.is_sparse:
            t = t.to_dense()
        t = t.cpu().contiguous()
        dtype = str(t.dtype)
        if t.dtype == torch.bfloat16:
            t = t.float()
        arr = t.numpy()
        budget.take(arr.nbytes)
        return {"tensor": dtype, "np": arr.dtype.str, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode()}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.fields is not None:
            return {"opaque": f"numpy array of dtype {value.dtype}"}
        arr = np.ascontiguousarray(value)
        budget.take(arr.nbytes)
        return {"ndarray": arr.dtype.str, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode()}
    if isinstance(value, np.generic):
        if isinstance(value, (np.bool_, np.number)):
            item = value.item()
            return {"npscalar": value.dtype.str, "value": encode(item, budget, depth + 1)}
        return {"opaque": f"numpy {type(value).__name__}"}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value)}
    if isinstance(value, torch.Size):
        return {"tuple": [encode(int(v), budget, depth + 1) for v in value]}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    if isinstance(value, (list, tuple)):
        key = "list" if isinstance(value, list) else "tuple"
        return {key: [encode(v, budget, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, budget, depth + 1), encode(v, budget, depth + 1)] for k, v in value.items()]}
    try:
        text = repr(value)[:200]
    except Exception:
        text = "?"
    return {"opaque": type(value).__qualname__, "repr": text}


# ----------------------------------------------------------------------------- values, trusted side

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


def _decoded_float(value):
    if isinstance(value, bool):
        raise DecodeError("bad float")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and set(value) == {"float"}:
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[value["float"]]
    raise DecodeError("bad float")


def _torch_dtype(name) -> torch.dtype:
    import torch

    if name not in TORCH_DTYPES or not hasattr(torch, name.split(".", 1)[1]):
        raise DecodeError(f"unsupported tensor dtype {name!r}")
    return getattr(torch, name.split(".", 1)[1])


def _array(obj: dict) -> np.ndarray:
    import numpy as np

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
    import numpy as np
    import torch

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
        return _decoded_float(obj)
    if set(obj) == {"str"} and isinstance(obj["str"], str):
        return obj["str"]
    if set(obj) == {"int"} and isinstance(obj["int"], str):
        text = obj["int"]
        if len(text) > 4000 or not text.lstrip("-").isdigit():
            raise DecodeError("bad integer")
        return int(text)
    if set(obj) == {"complex"} and isinstance(obj["complex"], list) and len(obj["complex"]) == 2:
        return complex(_decoded_float(obj["complex"][0]), _decoded_float(obj["complex"][1]))
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
