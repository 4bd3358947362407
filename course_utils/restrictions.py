"""Restrictions for exercises: run a student's function and fail if it reached a forbidden library route.

Some exercises ask a student to write what a library already has (a
convolution, a pooling, a softmax, an image shift, a FLOP count).
`call_without` runs the student's function and watches it at the two levels
every route to such a result must pass through:

1. **PyTorch's dispatcher** (entries ``"aten.<op>"``, e.g. ``"aten.convolution"``).
   A `TorchDispatchMode` is active for the duration of the call and records
   every ATen operator that runs. ``F.conv2d``, ``torch.conv2d``,
   ``nn.Conv2d``, ``torch.ops.aten.conv2d``, ``F.conv3d`` on an unsqueezed
   input and ``F.conv_transpose2d`` all end in ``aten.convolution``;
   ``torch.softmax``, ``Tensor.softmax`` and ``torch.special.softmax`` in
   ``aten._softmax``; torchvision's ``affine``/``rotate`` in
   ``aten.grid_sampler_2d``. Which Python name was used to get there does not
   matter.
2. **Python calls** (entries that are dotted paths, e.g.
   ``"course_utils.speed.random_translate"`` or
   ``"torchvision.transforms.v2.functional.affine"``). A profile hook
   (`sys.setprofile`) records every call whose code object is one of the
   forbidden functions' (for a class: any of its methods), or, for a built-in,
   that very built-in. Aliases (``from course_utils.speed import
   random_translate as rt``), wrappers and lambdas are caught, because the
   hook matches the code that runs, not the name used to reach it.

Forbidden calls are *recorded*, and the verdict is given after the function
returns, so a ``try``/``except`` around the forbidden call does not hide it.
`call_without` is used inside the actual-value expression of a test cell
(``cu.checks.check_close(cu.restrictions.call_without([...], f, x), ...)``),
so a forbidden call makes that value fail wherever the cell is judged.

What this guard cannot do, stated plainly: it runs in the student's process,
so code in that process can switch it off (rebinding
``cu.restrictions.call_without`` in an earlier cell, ``sys.setprofile(None)``,
popping the dispatch mode). It is what a student's own run uses (Colab, the
self-checks); a *graded* run does not rely on it. The grader reads each
``call_without`` list from the trusted test cell, runs the plain call instead,
and the sandbox watches the whole test cell for those routes from hooks set up
before any student code ran (``_prepare_watch`` in ``grader/_worker.py``): each
forbidden route the student's code reaches, and each attempt to remove or
bypass the watch (profile and trace hooks, dispatch-mode internals, PyTorch's
dispatch switched off, threads, processes, code compiled to pass for the test's
own), is written to the grader's
pipe the moment it happens, and the grader fails the cell. What remains
possible there is listed in that function's docstring; `grader.answer_scan`
(``python -m grader.answer_scan COURSE``) reads every answer cell *outside* the
sandbox and flags, for an instructor's review, answers that name a forbidden
route or use the tools needed to switch a guard off (``setprofile``,
``settrace``, dispatch-mode internals, threads, ``exec``/``eval``/``compile``,
``importlib``/``__import__``, ``inspect``, ``sys.modules``, ``globals()``,
``getattr``/``setattr`` on modules, ``ctypes``, ``course_utils.restrictions``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch._ops import OpOverload
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode

from course_utils.checks import CheckFailed

__all__ = ["call_without"]


def _resolve(dotted: str) -> Any:
    """The object a dotted path such as ``"torch.nn.Conv2d.forward"`` names."""
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
        return getattr(owner, parts[-1])
    raise ValueError(f"{dotted!r} is not a dotted path to a library function")


def _codes(obj: Any) -> set[types.CodeType]:
    """The code objects that run when ``obj`` (a function, method or class) is called."""
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        return {obj.__code__}
    if isinstance(obj, type):
        found: set[types.CodeType] = set()
        for value in vars(obj).values():
            if isinstance(value, (types.FunctionType, staticmethod, classmethod, property)):
                found |= _codes(value.fget if isinstance(value, property) else value)
        return found
    return set()


class _Watch(TorchDispatchMode):
    """Records the forbidden ATen operators that run while it is active."""

    def __init__(self, ops: dict[str, str]) -> None:
        super().__init__()
        self.ops = ops  # operator packet name -> the forbidden entry naming it
        self.hits: list[str] = []

    def __torch_dispatch__(
        self, func: OpOverload, types: Sequence[type], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> Any:  # whatever the operator returns (PyTorch's protocol)
        entry = self.ops.get(func.overloadpacket.__name__)
        if entry is not None and entry not in self.hits:
            self.hits.append(entry)
        return func(*args, **(kwargs or {}))


def _refuse(name: str, what: str) -> CheckFailed:
    return CheckFailed(
        f"{name}: expected your own computation, got a call to {what}.\n"
        f"Hint: this exercise asks you to write it yourself (loops, slicing, unfold, sums); don't call {what}."
    )


def call_without(forbidden: Sequence[str], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` and fail if it reached any route named in ``forbidden``.

    Args:
        forbidden: ATen operators as ``"aten.<name>"`` (e.g. ``"aten.convolution"``:
            every Python route to a convolution ends there), and dotted paths to
            Python or built-in functions, methods or classes (e.g.
            ``"course_utils.speed.random_translate"``, ``"torch.Tensor.softmax"``).
        fn: the student's function.
        *args: positional arguments for ``fn``.
        **kwargs: keyword arguments for ``fn``.

    Returns:
        What ``fn`` returns.

    Raises:
        CheckFailed: ``fn`` reached a forbidden route (the message names the
            first one), or switched the guard off.
        ValueError: a path in ``forbidden`` names nothing.

    Introduced in lesson 01's exercise.
    """
    name = getattr(fn, "__name__", "your function")
    ops: dict[str, str] = {}
    codes: dict[types.CodeType, str] = {}
    builtins: dict[int, str] = {}
    methods: dict[str, str] = {}  # built-in methods (torch.Tensor.softmax): matched by name on a bound method
    for entry in forbidden:
        if entry.startswith("aten."):
            ops.setdefault(entry.removeprefix("aten."), entry)
            continue
        obj = _resolve(entry)
        found = _codes(obj)
        if found:
            for code in found:
                codes.setdefault(code, entry)
        elif type(obj).__name__ in ("method_descriptor", "wrapper_descriptor"):
            methods.setdefault(obj.__name__, entry)
        else:
            builtins.setdefault(id(obj), entry)
    hits: list[str] = []

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call":
            entry = codes.get(frame.f_code)
        elif event == "c_call":
            entry = builtins.get(id(arg))
            if entry is None and methods and getattr(arg, "__self__", None) is not None:
                entry = methods.get(getattr(arg, "__name__", ""))
        else:
            return
        if entry is not None and entry not in hits:
            hits.append(entry)

    watch = _Watch(ops)
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(profile)
    threading.setprofile(profile)  # threads started during the call are watched for Python calls too
    mode_intact = profile_intact = False
    watch.__enter__()
    try:
        result = fn(*args, **kwargs)
    finally:
        profile_intact = sys.getprofile() is profile
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
        mode_intact = _get_current_dispatch_mode() is watch
        if mode_intact:  # a function that popped it has left nothing of ours to pop
            watch.__exit__(None, None, None)
    if hits or watch.hits:
        raise _refuse(name, (hits + watch.hits)[0])
    if not (mode_intact and profile_intact):
        raise CheckFailed(
            f"{name}: expected a function that leaves the grader's watchers in place, got one that removed "
            f"{'the dispatch mode' if not mode_intact else 'the profile hook'}.\n"
            "Hint: write the computation yourself; don't switch off the exercise's checks."
        )
    return result
