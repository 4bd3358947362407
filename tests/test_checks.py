"""Exercise self-checks: pass when right, fail with a helpful message when wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import checks
from course_utils.checks import CheckFailed


def test_close_values_pass_and_report_nothing(capsys):
    checks.check_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7]))
    checks.check_close(0.3, 0.1 + 0.2)
    checks.check_close(np.array([1.0]), torch.tensor([1.0]))
    assert capsys.readouterr().err == ""


def test_shape_mismatch_is_reported_first():
    with pytest.raises(CheckFailed, match=r"expected shape \(3, 4\), got shape \(4, 3\)"):
        checks.check_close(torch.zeros(4, 3), torch.zeros(3, 4), "to_tensor(img)")


def test_value_error_names_the_worst_index_and_hint():
    actual = torch.tensor([[0.0, 1.0], [2.0, 3.5]])
    with pytest.raises(CheckFailed) as info:
        checks.check_close(actual, torch.tensor([[0.0, 1.0], [2.0, 3.0]]), "f(x)", hint="divide by 255")
    message = str(info.value)
    assert "f(x)" in message and "(1, 1)" in message and "0.5" in message and "Hint: divide by 255" in message


def test_nan_and_non_tensors_are_explained():
    with pytest.raises(CheckFailed, match="NaN"):
        checks.check_close(torch.tensor([float("nan")]), torch.tensor([1.0]))
    with pytest.raises(CheckFailed, match="NoneType"):
        checks.check_close(None, torch.tensor([1.0]))
    with pytest.raises(CheckFailed, match="a number close to"):
        checks.check_close("1.0", 1.0)


def test_equal_dtype_shape_true_and_raises():
    checks.check_equal(torch.tensor([1, 2]), torch.tensor([1, 2]))
    checks.check_equal(3, 3)
    with pytest.raises(CheckFailed, match="1 of 2 entries"):
        checks.check_equal(torch.tensor([1, 3]), torch.tensor([1, 2]))
    with pytest.raises(CheckFailed, match="expected 3, got 4"):
        checks.check_equal(4, 3)
    checks.check_dtype(torch.zeros(1), torch.float32)
    with pytest.raises(CheckFailed, match="torch.uint8"):
        checks.check_dtype(torch.zeros(1, dtype=torch.uint8), torch.float32)
    checks.check_shape(torch.zeros(2, 3), (2, 3))
    with pytest.raises(CheckFailed):
        checks.check_shape([1, 2], (2,))
    checks.check_true(torch.tensor(True))
    with pytest.raises(CheckFailed):
        checks.check_true(False)
    with pytest.raises(CheckFailed):
        checks.check_true(torch.tensor([True, True]))
    checks.check_raises(lambda: int("x"), ValueError, match="invalid literal")
    with pytest.raises(CheckFailed, match="no error at all"):
        checks.check_raises(lambda: 1, ValueError)
    with pytest.raises(CheckFailed, match="a ValueError"):
        checks.check_raises(lambda: [][1], ValueError)


def test_failures_are_assertion_errors_for_nbgrader():
    assert issubclass(CheckFailed, AssertionError)


def test_passed_prints_one_line(capsys):
    checks.passed("to_tensor")
    assert capsys.readouterr().out == "✓ to_tensor\n"


def test_small_tensors_are_printed_in_full_when_they_differ():
    with pytest.raises(CheckFailed) as info:
        checks.check_equal(torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.tensor([[0, 1, 2], [3, 4, 6]]), "shift(x)")
    message = str(info.value)
    assert "1 of 6 entries differing" in message
    assert "yours:     [[0 1 2]\n" in message and "[3 4 5]]" in message
    assert "reference: [[0 1 2]\n" in message and "[3 4 6]]" in message
    with pytest.raises(CheckFailed) as info:
        checks.check_close(torch.tensor([0.25, 1.5], dtype=torch.bfloat16), torch.tensor([0.25, 1.0]), "f(x)")
    assert "yours:     [0.25 1.5 ]" in str(info.value) and "reference: [0.25 1.  ]" in str(info.value)


def test_large_tensors_are_summarised_not_printed():
    with pytest.raises(CheckFailed) as info:
        checks.check_equal(torch.zeros(21), torch.ones(21), "big")
    assert "21 of 21 entries differing" in str(info.value) and "yours:" not in str(info.value)
    with pytest.raises(CheckFailed) as info:
        checks.check_close(torch.zeros(5, 5), torch.ones(5, 5), "big")
    assert "largest error of 1" in str(info.value) and "reference:" not in str(info.value)


def test_check_true_says_what_was_checked_and_what_came_back():
    with pytest.raises(CheckFailed, match=r"speed is at most 500: expected this to hold \(True\), got False: it does not hold"):
        checks.check_true(False, "speed is at most 500")
    with pytest.raises(
        CheckFailed, match=r"returns a float: expected this to hold \(True\), got NoneType None, which is not a bool"
    ):
        checks.check_true(None, "returns a float")
    with pytest.raises(CheckFailed, match="a single true/false value"):
        checks.check_true(torch.tensor([True, False]), "all equal")
    checks.check_true(torch.tensor(True), "a one-element tensor")


def test_check_between_reports_the_measured_value():
    checks.check_between(0.5, 0.3, 1.0)
    checks.check_between(torch.tensor(1.0), 0.3, 1.0)
    checks.check_between(np.float32(0.3), 0.3, 1.0)
    with pytest.raises(checks.CheckFailed, match=r"(?s)expected a number from 0.6 to 1.02, got 0.4321.*Hint: time it"):
        checks.check_between(0.43214, 0.6, 1.02, "speed ratio", hint="time it")
    with pytest.raises(checks.CheckFailed, match="got 1.5"):
        checks.check_between(1.5, 0.6, 1.02)
    for not_a_number in (None, "0.5", True, torch.tensor([0.5, 0.5])):
        with pytest.raises(checks.CheckFailed, match="expected a number from 0.3 to 1"):
            checks.check_between(not_a_number, 0.3, 1.0)
