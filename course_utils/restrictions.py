"""Restrictions for exercises: run a student's function while some library functions refuse to run.

Some exercises ask a student to write what a library already has (a
convolution, a pooling). `call_without` runs the student's function with the
library versions replaced by functions that fail with a clear message, then
puts everything back. It is used *inside* the actual-value expression of a
test cell (``cu.checks.check_close(cu.restrictions.call_without([...], f, x), ...)``),
so a forbidden call makes that value fail, wherever the cell is judged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from course_utils.checks import CheckFailed

__all__ = ["call_without"]

_MISSING = object()


def _resolve(dotted: str) -> tuple[Any, str]:
    """The object holding the last attribute of a dotted path, and that attribute's name."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        if not hasattr(owner, parts[-1]):
            raise ValueError(f"{dotted!r} names nothing that exists")
        return owner, parts[-1]
    raise ValueError(f"{dotted!r} is not a dotted path to a library function")


def call_without(forbidden: Sequence[str], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` while the library functions named in ``forbidden`` refuse to run.

    Args:
        forbidden: dotted paths such as ``"torch.nn.functional.conv2d"`` or
            ``"torch.nn.Conv2d.forward"``.
        fn: the student's function.

    Returns:
        What ``fn`` returns.

    Raises:
        CheckFailed: ``fn`` called one of the forbidden functions; the message names it.
        ValueError: a path in ``forbidden`` names nothing.

    Introduced in lesson 03's exercise.
    """
    saved = []
    name = getattr(fn, "__name__", "your function")
    try:
        for dotted in forbidden:
            owner, attr = _resolve(dotted)

            def refuse(*_a: Any, _what: str = dotted, **_k: Any) -> Any:
                raise CheckFailed(
                    f"{name}: expected your own computation, got a call to {_what}.\n"
                    f"Hint: this exercise asks you to write it yourself (loops, unfold, sums); don't call {_what}."
                )

            own = vars(owner).get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
            saved.append((owner, attr, own, getattr(owner, attr)))
            setattr(owner, attr, refuse)
        return fn(*args, **kwargs)
    finally:
        for owner, attr, own, original in reversed(saved):
            if own is _MISSING:
                try:
                    delattr(owner, attr)  # it was inherited: remove our shadowing copy
                except AttributeError:
                    setattr(owner, attr, original)
            else:
                setattr(owner, attr, original)
