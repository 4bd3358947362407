"""A CPU-backed stand-in for a GPU that fails on any cross-device use (the course's device audit).

A CPU-only machine cannot tell whether a lesson moved its model and every
batch to ``device``: when ``device`` is the CPU, ``x.to(device)`` does nothing
and a forgotten ``.to(device)`` still runs. With ``P2L_DEVICE_AUDIT=1``,
`course_utils.setup` returns ``torch.device("cpu", 0)`` instead and installs
this audit. The arithmetic still runs on the CPU, but

- a tensor moved with ``.to(device)`` (or created with ``device=device``, or
  computed from such tensors) is *on the device*; every other tensor is
  *on the host*, as it would be next to a GPU;
- ``t.device`` says ``cpu:0`` for tensors on the device and ``cpu`` for the host;
- any operation that mixes the two raises `DeviceAuditError`, as PyTorch does
  for a CUDA tensor and a CPU tensor (host tensors with zero dimensions are
  allowed, as CUDA allows CPU scalars; indexing a device tensor with host
  indices and ``copy_`` across devices are allowed, as on CUDA);
- ``.numpy()`` or ``np.asarray`` of a device tensor raises, as on CUDA.

The mechanism: a marker subclass `DeviceTensor` (no behaviour of its own) and a
``TorchFunctionMode`` that sees every PyTorch call, checks where its tensors
are, and marks the results. ``nn.Module.to`` keeps each parameter's identity
through ``torch.__future__.set_swap_module_params_on_conversion(True)``, so an
optimizer built before the move still updates the moved weights, as on a GPU.

What it does not model: asynchronous execution, device memory, GPU-only
kernels (cuDNN, fp16 arithmetic), and code that branches on
``device.type == "cuda"`` (that code runs only on a real GPU).
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch
from torch.overrides import TorchFunctionMode

__all__ = [
    "AUDIT_DEVICE",
    "DeviceAuditError",
    "DeviceTensor",
    "enabled",
    "host_models_allowed",
    "install",
    "is_on_device",
    "simulated_device",
]

#: The device `course_utils.setup` hands out under the audit: the CPU, with an index that marks it.
AUDIT_DEVICE = torch.device("cpu", 0)

_mode: _AuditMode | None = None
_host_models_allowed = 0


class DeviceAuditError(RuntimeError):
    """A PyTorch call mixed tensors on the (audited) device with tensors on the host."""


class DeviceTensor(torch.Tensor):
    """Marks a CPU tensor as living on the audited device; behaves exactly like a plain tensor."""

    # PyTorch's documented way to opt a subclass out of __torch_function__; its stub types the C function
    # as a plain callable where torch.Tensor declares a classmethod.
    __torch_function__ = torch._C._disabled_torch_function_impl  # type: ignore[assignment]


def enabled() -> bool:
    """True when ``P2L_DEVICE_AUDIT=1`` asks for the audit."""
    return os.environ.get("P2L_DEVICE_AUDIT", "") not in ("", "0")


def is_on_device(t: object) -> bool:
    """True for a tensor the audit counts as on the device."""
    return isinstance(t, DeviceTensor)


def install() -> torch.device:
    """Turn the audit on for this process (idempotent) and return the audited device."""
    global _mode
    if _mode is None:
        torch.__future__.set_swap_module_params_on_conversion(True)
        torch.nn.modules.module.register_module_forward_pre_hook(_weights_on_device)
        _mode = _AuditMode()
        _mode.__enter__()
    return AUDIT_DEVICE


@contextmanager
def simulated_device() -> Iterator[torch.device]:
    """The audit inside one ``with`` block only; yields the audited device, ``cpu:0``.

    For a hidden test of a function that must honour a device: move a model there
    with ``model.to(device)`` inside the block, call the function, and check with
    `is_on_device` where its results live. Mixing host and device tensors inside
    the block raises `DeviceAuditError`, as it would on a GPU. After the block,
    tensors behave as plain CPU tensors again (``.device`` says ``cpu``). If the
    audit is installed for the whole process already, the block changes nothing.

    Yields:
        ``torch.device("cpu", 0)``, the device the audit simulates.

    Introduced in lesson 07's exercise.
    """
    if _mode is not None:
        yield AUDIT_DEVICE
        return
    swap = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    hook = torch.nn.modules.module.register_module_forward_pre_hook(_weights_on_device)
    try:
        with _AuditMode():
            yield AUDIT_DEVICE
    finally:
        hook.remove()
        torch.__future__.set_swap_module_params_on_conversion(swap)


@contextmanager
def host_models_allowed() -> Iterator[None]:
    """Let models run on the host inside this block (a deliberate CPU reference); mixing still fails."""
    global _host_models_allowed
    _host_models_allowed += 1
    try:
        yield
    finally:
        _host_models_allowed -= 1


def _weights_on_device(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
    """Every layer with weights runs on the device: a model left on the host is the bug we look for."""
    if _host_models_allowed:
        return
    for t in module.parameters(recurse=False):
        if not is_on_device(t):
            raise DeviceAuditError(
                f"{type(module).__name__} runs with its weights on the host (cpu), not on the lesson's device "
                f"({AUDIT_DEVICE}); on a GPU it would run on the CPU. Move the model with model.to(device) "
                "(device audit, P2L_DEVICE_AUDIT=1)."
            )
        return


def _is_audit_device(device: object) -> bool:
    if not isinstance(device, (str, int, torch.device)):  # None, a tensor...: what torch.device refuses
        return False
    try:
        device = torch.device(device)
    except (TypeError, RuntimeError):
        return False
    return device == AUDIT_DEVICE


def _mark(out: object) -> object:
    if type(out) is torch.Tensor or type(out) is torch.nn.Parameter:
        return out.as_subclass(DeviceTensor)
    if isinstance(out, (tuple, list)) and any(type(o) in (torch.Tensor, torch.nn.Parameter) for o in out):
        marked = [_mark(o) for o in out]
        if isinstance(out, tuple) and hasattr(out, "_fields"):  # named tuples (torch.max, torch.sort, ...)
            return cast("Callable[..., object]", type(out))(*marked)
        return type(out)(marked)
    return out


def _unmark(t: torch.Tensor) -> torch.Tensor:
    return t.as_subclass(torch.Tensor) if isinstance(t, DeviceTensor) else t


def _tensors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[torch.Tensor]:
    found = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (tuple, list)):
            found.extend(t for t in a if isinstance(t, torch.Tensor))
    return found


def _any_on_device(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    for a in (*args, *kwargs.values()) if kwargs else args:
        kind = type(a)
        if kind is DeviceTensor:
            return True
        if kind is list or kind is tuple:
            for b in a:
                if type(b) is DeviceTensor:
                    return True
    return False


def _where(t: torch.Tensor) -> str:
    return f"{'cpu:0 (the device)' if is_on_device(t) else 'cpu (the host)'} {tuple(t.shape)}"


def _name(func: object) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if module and not name.startswith("_TensorBase") else name


_TO: set[object] = {torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda}
_NUMPY: set[object] = {torch.Tensor.numpy, torch.Tensor.__array__}
_DEVICE_GET = ("device", "__get__")
_REPR: set[object] = {torch.Tensor.__repr__, torch.Tensor.__format__}
# Calls that may mix devices, as on CUDA: copies across devices, and questions about tensor types.
_CROSS_OK: set[object] = {
    torch.Tensor.copy_,
    torch.Tensor.__setitem__,
    torch._has_compatible_shallow_copy_type,
    ("data", "__set__"),
}


def _key(func: Callable[..., object]) -> object:
    """Attribute getters and setters arrive as fresh method-wrappers: name them by attribute."""
    owner = getattr(func, "__self__", None)
    if isinstance(owner, types.GetSetDescriptorType):
        return (owner.__name__, func.__name__)
    return func


def _deepcopy(self_: torch.Tensor, memo: dict[int, object]) -> DeviceTensor:
    """``copy.deepcopy`` of a device tensor (a parameter keeps being a parameter), on the device."""
    plain = self_.detach().as_subclass(torch.Tensor)
    copy = plain.clone().as_subclass(DeviceTensor)  # a leaf, like the original
    copy.requires_grad_(self_.requires_grad)
    if getattr(self_, "_is_param", False):
        copy._is_param = True
    if self_.grad is not None:
        copy.grad = _deepcopy(self_.grad, memo)
    memo[id(self_)] = copy
    return copy


class _AuditMode(TorchFunctionMode):
    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: tuple[type, ...],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:  # whatever the PyTorch call returns (PyTorch's protocol)
        kwargs = kwargs or {}
        if not _any_on_device(args, kwargs):  # the fast path: host tensors only (most calls in a lesson)
            if func in _TO:
                return self._to(func, args, kwargs)
            if "device" in kwargs and _is_audit_device(kwargs["device"]):
                out = func(*args, **kwargs)
                if isinstance(out, torch.Tensor) and out.is_leaf and out.requires_grad:
                    # A new leaf created on the device (requires_grad=True): keep it a leaf.
                    return out.detach().as_subclass(DeviceTensor).requires_grad_()
                return _mark(out)
            return func(*args, **kwargs)
        func_key = _key(func)
        if func_key == _DEVICE_GET:
            return AUDIT_DEVICE if is_on_device(args[0]) else func(*args, **kwargs)
        if func in _TO:
            return self._to(func, args, kwargs)
        tensors = _tensors(args, kwargs)
        on = [t for t in tensors if is_on_device(t)]
        if func in _NUMPY and on:
            raise DeviceAuditError(
                f"can't convert a tensor on the device ({AUDIT_DEVICE}) to NumPy, as on a GPU; "
                "move it to the host first with .cpu() (device audit, P2L_DEVICE_AUDIT=1)"
            )
        if func in _REPR and on:  # print as a plain tensor, as PyTorch prints a GPU tensor's values
            return func(_unmark(args[0]), *args[1:], **kwargs)
        if func is torch.Tensor.__deepcopy__ and on:
            return _deepcopy(args[0], args[1] if len(args) > 1 else kwargs["memo"])
        if on and func_key not in _CROSS_OK:
            off = [t for t in tensors if not is_on_device(t) and t.dim() > 0]
            if func is torch.Tensor.__getitem__ and is_on_device(args[0]):
                off = [t for t in off if t is args[0]]  # host indices into a device tensor are fine
            if off:
                raise DeviceAuditError(
                    f"{_name(func)} mixes tensors on the device and on the host: "
                    f"{', '.join(_where(t) for t in tensors)}. On a GPU this fails with "
                    "'Expected all tensors to be on the same device'. Move the model with model.to(device) "
                    "and every batch with x.to(device) (device audit, P2L_DEVICE_AUDIT=1)."
                )
        return _mark(func(*args, **kwargs))

    def _to(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self_ = args[0]
        if func is torch.Tensor.cpu:
            target = torch.device("cpu")
        elif func is torch.Tensor.cuda:
            target = torch.device("cuda")
        else:
            rest = args[1:]
            if rest and isinstance(rest[0], torch.Tensor):
                other = rest[0]
                target = AUDIT_DEVICE if is_on_device(other) else torch.device("cpu")
                kwargs = {**kwargs, "dtype": other.dtype}
                args = (self_,)
            else:
                device = torch._C._nn._parse_to(*rest, **kwargs)[0]
                target = device if device is not None else (AUDIT_DEVICE if is_on_device(self_) else None)
        if target is None:
            out = func(*args, **kwargs)
            return _mark(out) if is_on_device(self_) else out
        if target.type != "cpu":
            return func(*args, **kwargs)  # a real accelerator: let PyTorch say it is not there
        out = func(*args, **kwargs)
        if target == AUDIT_DEVICE:
            return out if is_on_device(out) else _mark(out)
        return _unmark(out)
