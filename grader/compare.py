"""Judge recorded values against the references, in the grader's own (trusted) process.

The comparison is ``course_utils.checks`` itself, called here on decoded plain
data with the tolerances read from the test cell's source — so a student sees
the same messages as in their notebook, and nothing in their process can change
the verdict.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import torch

from course_utils import checks
from grader.rewrite import EXPECTED_PARAM, CheckSpec
from grader.wire import DecodeError, Opaque, decode

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


@dataclass
class Verdict:
    passed: bool
    message: str


def _error_text(info) -> str:
    if not isinstance(info, dict):
        return "an error"
    return f"{str(info.get('ename', 'Error'))[:80]}: {str(info.get('evalue', ''))[:500]}"


def _shape_text(desc: dict) -> str:
    if desc.get("kind") == "tensor":
        return f"a tensor of shape {tuple(desc.get('shape', []))} and dtype {desc.get('dtype')}"
    if desc.get("kind") == "ndarray":
        return f"a NumPy array of shape {tuple(desc.get('shape', []))} and dtype {desc.get('dtype')}"
    return f"{str(desc.get('type', 'object'))[:60]} {str(desc.get('repr', ''))[:80]}"


def _fail(spec: CheckSpec, expected: str, got: str) -> Verdict:
    message = f"{spec.name}: expected {expected}, got {got}."
    if spec.options.get("hint"):
        message += f"\nHint: {spec.options['hint']}"
    return Verdict(False, message)


def judge(spec: CheckSpec, actual: dict | None, reference: dict) -> Verdict:
    """Compare one recorded actual value with the reference record of the same check."""
    if actual is None:
        return Verdict(False, f"{spec.name}: this check did not run.")
    if spec.kind == "assert":  # an nbgrader-style assert (grader.byo)
        from grader import byo

        return byo.judge(spec, actual, reference)
    if "actual_error" in actual:
        return Verdict(False, f"{spec.name}: computing the value raised {_error_text(actual['actual_error'])}")
    if "actual" not in actual:
        return Verdict(False, f"{spec.name}: no value was recorded.")
    try:
        return _judge(spec, actual["actual"], reference.get("expected"))
    except DecodeError as err:
        return Verdict(False, f"{spec.name}: the recorded value could not be read ({err}).")
    except checks.CheckFailed as err:
        return Verdict(False, str(err))
    except Exception as err:  # noqa: BLE001 - a comparison that cannot be made is a failed check
        return Verdict(False, f"{spec.name}: the value could not be compared ({type(err).__name__}: {err}).")


def _judge(spec: CheckSpec, got, expected_rec) -> Verdict:
    hint = spec.options.get("hint")
    if spec.kind == "raises":
        if not isinstance(got, dict) or not isinstance(expected_rec, dict):
            raise DecodeError("bad exception record")
        wanted = str(expected_rec.get("name", "exception"))
        if not got.get("raised"):
            return _fail(spec, f"a {wanted}", "no error at all")
        mro = [str(x) for x in got.get("mro", [])][:20]
        message = str(got.get("message", ""))
        if expected_rec.get("type") not in mro:
            return _fail(spec, f"a {wanted}", f"a {str(got.get('ename', '?'))[:80]}: {message[:300]}")
        match = spec.options.get("match")
        if match is not None and str(match).lower() not in message.lower():
            return _fail(spec, f"a {wanted} mentioning {match!r}", f"the message {message[:300]!r}")
        return Verdict(True, "")
    if spec.kind == "shape":
        if not isinstance(got, dict):
            raise DecodeError("bad shape record")
        shape = tuple(decode(expected_rec))
        if got.get("kind") not in ("tensor", "ndarray"):
            return _fail(spec, f"a tensor of shape {shape}", _shape_text(got))
        actual_shape = tuple(int(d) for d in got.get("shape", []))
        if actual_shape != shape:
            return _fail(spec, f"shape {shape}", f"shape {actual_shape}")
        return Verdict(True, "")
    if spec.kind == "dtype":
        if not isinstance(got, dict) or not isinstance(expected_rec, dict):
            raise DecodeError("bad dtype record")
        wanted = str(expected_rec.get("dtype"))
        if got.get("kind") != "tensor":
            return _fail(spec, f"a tensor of dtype {wanted}", _shape_text(got))
        if str(got.get("dtype")) != wanted:
            return _fail(spec, f"dtype {wanted}", f"dtype {got.get('dtype')}")
        return Verdict(True, "")
    value = decode(got)
    if isinstance(value, Opaque) and spec.kind != "true":
        return _fail(spec, "plain data (a tensor, an array, a number or a string)", f"{value.type_name} {value!r}")
    if spec.kind == "close":
        checks.check_close(
            value,
            decode(expected_rec),
            spec.name,
            atol=spec.options.get("atol", 1e-5),
            rtol=spec.options.get("rtol", 1e-4),
            hint=hint,
        )
    elif spec.kind == "equal":
        checks.check_equal(value, decode(expected_rec), spec.name, hint=hint)
    elif spec.kind == "true":
        checks.check_true(value, spec.name, hint=hint)
    elif spec.kind == "between":
        checks.check_between(value, spec.options["low"], spec.options["high"], spec.name, hint=hint)
    elif spec.kind == "compare":
        expected = decode(expected_rec)
        plain = (list, tuple, str)
        if spec.op in ("==", "!=") and isinstance(value, plain) and isinstance(expected, plain):
            # Lists, tuples and strings compare as wholes (e.g. "the shuffled order != range(N)").
            if not OPS[spec.op](value, expected):
                return _fail(spec, f"a value {spec.op} {_short(expected)}", _short(value))
            return Verdict(True, "")
        for side in (value, expected):
            if not isinstance(side, (bool, int, float, np.number, np.bool_, torch.Tensor, np.ndarray)):
                return _fail(spec, f"a number {spec.op} {expected!r}", f"{type(side).__name__} {side!r}"[:200])
        result = OPS[spec.op](value, expected)
        if isinstance(result, (torch.Tensor, np.ndarray)):
            if result.size == 1 if isinstance(result, np.ndarray) else result.numel() == 1:
                result = bool(result.item())
            else:
                return _fail(spec, "a single number", f"{_describe(value)}")
        if not bool(result):
            return _fail(spec, f"a value {spec.op} {_short(expected)}", _short(value))
    else:
        raise DecodeError(f"unknown check kind {spec.kind}")
    return Verdict(True, "")


def _short(value) -> str:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return _short(value)


def check_reference(spec: CheckSpec, record: dict) -> Verdict:
    """Does the solution pass its own check (its actual against its expected)?"""
    if spec.kind == "assert":
        from grader import byo

        return byo.check_reference(spec, record)
    if "expected_error" in record:
        return Verdict(False, f"{spec.name}: computing the expected value raised {_error_text(record['expected_error'])}")
    # check_true and check_between have no expected value (a comparison inside check_true does).
    has_expected = spec.function in EXPECTED_PARAM or spec.kind == "compare"
    if "expected" not in record and has_expected:
        return Verdict(False, f"{spec.name}: no expected value was recorded")
    return judge(spec, record, record)
