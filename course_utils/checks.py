"""Self-checks for the exercises: assertions whose failure says what was expected,
what came back, and a hint.

They work anywhere (Colab included): nothing here needs nbgrader. A failed
check raises `CheckFailed` (an ``AssertionError``), which is what marks a grade
cell as failed when an instructor autogrades. Checks print one ``✓`` line to
stdout on success and never write to stderr (nbgrader scores any stderr output
as a failure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np
import torch

__all__ = [
    "CheckFailed", "check_between", "check_close", "check_dtype", "check_equal", "check_raises", "check_shape", "check_true",
    "passed",
]  # fmt: skip


class CheckFailed(AssertionError):
    """A self-check failed; the message says what was expected and what to try."""


_SHOW_AT_MOST = 20  # tensors with at most this many entries are printed in full when a check fails


def _fail(name: str, expected: str, got: str, hint: str | None, detail: str = "") -> NoReturn:
    message = f"{name}: expected {expected}, got {got}.{detail}"
    if hint:
        message += f"\nHint: {hint}"
    raise CheckFailed(message)


def _both(actual: torch.Tensor, expected: torch.Tensor) -> str:
    """Both tensors, printed in full, when they are small enough to read ('' otherwise)."""
    if max(actual.numel(), expected.numel()) > _SHOW_AT_MOST:
        return ""

    def text(t: torch.Tensor, prefix: str) -> str:
        return np.array2string((t.double() if t.is_floating_point() else t).numpy(), prefix=prefix)

    with np.printoptions(precision=6, suppress=True):
        yours, reference = text(actual, "  yours:     "), text(expected, "  reference: ")
    return f"\n  yours:     {yours}\n  reference: {reference}"


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 80 else text[:77] + '...'}"


def _as_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return None


def check_shape(value: Any, shape: tuple[int, ...], name: str = "result", hint: str | None = None) -> None:
    """Fail unless ``value`` is a tensor/array of exactly ``shape``.

    Introduced in lesson 01's exercise.
    """
    t = _as_tensor(value)
    if t is None:
        _fail(name, f"a tensor of shape {tuple(shape)}", _describe(value), hint or "return a torch.Tensor")
    if tuple(t.shape) != tuple(shape):
        _fail(name, f"shape {tuple(shape)}", f"shape {tuple(t.shape)}", hint)


def check_dtype(value: Any, dtype: torch.dtype, name: str = "result", hint: str | None = None) -> None:
    """Fail unless ``value`` is a tensor of ``dtype``.

    Introduced in lesson 00's exercise.
    """
    if not isinstance(value, torch.Tensor):
        _fail(name, f"a tensor of dtype {dtype}", _describe(value), hint or "return a torch.Tensor")
    if value.dtype != dtype:
        _fail(name, f"dtype {dtype}", f"dtype {value.dtype}", hint or f"convert with .to({dtype})")


def check_close(
    actual: Any,
    expected: Any,
    name: str = "result",
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str | None = None,
) -> None:
    """Fail unless ``actual`` matches ``expected`` (shape first, then values).

    Works for tensors, arrays and plain numbers. The message reports the
    largest error, where it is, and both values there; for tensors of at most
    ``_SHOW_AT_MOST`` entries it prints both tensors in full.

    Introduced in lesson 00's exercise.
    """
    exp = _as_tensor(expected)
    if exp is None:  # a plain number
        if not isinstance(actual, (int, float, np.number)) and _as_tensor(actual) is None:
            _fail(name, f"a number close to {expected!r}", _describe(actual), hint)
        got = float(actual.item()) if hasattr(actual, "item") else float(actual)
        if not np.isclose(got, float(expected), atol=atol, rtol=rtol):
            _fail(name, f"{expected!r} (within {atol:g})", f"{got!r}", hint)
        return
    act = _as_tensor(actual)
    if act is None:
        _fail(name, f"a tensor of shape {tuple(exp.shape)}", _describe(actual), hint or "return a torch.Tensor")
    if tuple(act.shape) != tuple(exp.shape):
        _fail(name, f"shape {tuple(exp.shape)}", f"shape {tuple(act.shape)}", hint)
    a, e = act.double(), exp.double()
    if torch.isnan(a).any() and not torch.isnan(e).any():
        _fail(name, "finite values", f"{int(torch.isnan(a).sum())} NaN value(s)", hint or "look for 0/0 or log(0)")
    if not torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True):
        err = (a - e).abs().nan_to_num(nan=float("inf"))
        where = tuple(int(i) for i in np.unravel_index(int(err.argmax()), tuple(err.shape))) if err.ndim else ()
        _fail(
            name,
            f"values within {atol:g} of the reference",
            f"a largest error of {float(err.max()):.3g} at index {where} "
            f"(yours {float(a[where]):.6g}, reference {float(e[where]):.6g})",
            hint,
            _both(act, exp),
        )


def check_equal(actual: Any, expected: Any, name: str = "result", hint: str | None = None) -> None:
    """Fail unless ``actual == expected`` (exact; tensors element-wise, with shapes).

    For tensors of at most ``_SHOW_AT_MOST`` entries a failure prints both in full.

    Introduced in lesson 00's exercise.
    """
    exp = _as_tensor(expected)
    if exp is not None:
        act = _as_tensor(actual)
        if act is None:
            _fail(name, f"a tensor of shape {tuple(exp.shape)}", _describe(actual), hint)
        if tuple(act.shape) != tuple(exp.shape):
            _fail(name, f"shape {tuple(exp.shape)}", f"shape {tuple(act.shape)}", hint)
        if not torch.equal(act, exp.to(act.dtype)):
            wrong = int(torch.ne(act, exp.to(act.dtype)).sum())
            _fail(
                name,
                "exactly the reference values",
                f"{wrong} of {act.numel()} entries differing",
                hint,
                _both(act, exp.to(act.dtype)),
            )
        return
    if type(actual) is not type(expected) and not (isinstance(actual, (int, np.integer)) and isinstance(expected, int)):
        _fail(name, _describe(expected), _describe(actual), hint)
    if actual != expected:
        _fail(name, repr(expected), repr(actual), hint)


def check_raises(
    fn: Callable[[], Any],
    exception: type[BaseException] = ValueError,
    name: str = "call",
    *,
    match: str | None = None,
    hint: str | None = None,
) -> None:
    """Fail unless ``fn()`` raises ``exception`` (whose message contains ``match``).

    Introduced in lesson 01's exercise.
    """
    try:
        fn()
    except exception as err:
        if match is not None and match.lower() not in str(err).lower():
            _fail(name, f"a {exception.__name__} mentioning {match!r}", f"the message {str(err)!r}", hint)
        return
    except Exception as err:  # a different error
        _fail(name, f"a {exception.__name__}", f"a {type(err).__name__}: {err}", hint)
    _fail(name, f"a {exception.__name__}", "no error at all", hint)


def check_true(value: Any, name: str = "condition", hint: str | None = None) -> None:
    """Fail unless ``value`` is true (a bool, or a one-element tensor that is true).

    ``name`` says what was checked; a failure says what came back (False, or a
    value that is not a bool at all).

    Introduced in lesson 02's exercise.
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            _fail(name, "a single true/false value", _describe(value), hint)
        value = bool(value.item())
    if value is not True and not (isinstance(value, (bool, np.bool_)) and bool(value)):
        if isinstance(value, (bool, np.bool_)):
            _fail(name, "this to hold (True)", "False: it does not hold", hint)
        _fail(name, "this to hold (True)", f"{_describe(value)}, which is not a bool", hint)


def check_between(value: Any, low: float, high: float, name: str = "value", hint: str | None = None) -> None:
    """Fail unless ``low <= value <= high``; a failure says the value that came back.

    For measured quantities (a speed, an accuracy) whose exact value depends on
    the machine or the data, so the student sees how far off they are.

    Introduced in lesson 05's exercise.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _fail(name, f"a number from {low:g} to {high:g}", _describe(value), hint)
    if not low <= float(value) <= high:
        _fail(name, f"a number from {low:g} to {high:g}", f"{float(value):.4g}", hint)


def passed(what: str) -> None:
    """Print the one-line success message of a self-check.

    Introduced in lesson 00's exercise.
    """
    print(f"✓ {what}")
