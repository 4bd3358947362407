"""Every exercise's test cells follow the rules the sandboxed grader depends on (CONTRIBUTING.md).

The first test is the one lesson authors meet: it lints every solutions/*/*.ipynb
and prints exactly what to change. The others pin down each rule.
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from grader import lint, rewrite

SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def test_solution_test_cells_follow_the_grading_rules():
    violations = lint.lint_all(SOLUTIONS, ROOT)
    assert not violations, "test cells break the grading rules (CONTRIBUTING.md):\n" + "\n".join(map(str, violations))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_every_test_cell_can_be_judged_outside_the_sandbox(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    tests = [
        c
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
        and not c["metadata"]["nbgrader"].get("solution")
        and c["cell_type"] == "code"
    ]
    assert tests, f"{path.name} has no autograded test cell"
    for cell in tests:
        rewritten = rewrite.rewrite("".join(cell["source"]))
        assert rewritten.checks
        assert "cu.checks.check_" not in rewritten.student_source  # nothing is judged inside the sandbox


GOOD = """x = torch.tensor([1, 2, 3])
g = torch.Generator().manual_seed(0)
big = torch.randn(4, 5, generator=g)
cu.checks.check_close(f(x), torch.tensor([2.0, 4.0, 6.0]), "f(x)", atol=1e-6, hint="double it")
cu.checks.check_true(acc(big) > 0.5, "accuracy")
cu.checks.check_raises(lambda: f(None), TypeError, "f(None)", match="tensor")
cu.checks.passed("f")
"""


def _messages(source: str) -> list[str]:
    return [message for _line, message in lint.lint_test_cell(source)]


def test_a_good_cell_passes():
    assert lint.lint_test_cell(GOOD) == []


@pytest.mark.parametrize(
    "bad, expected",
    [
        ("assert f(1) == 2\ncu.checks.passed('f')", "bare `assert`"),
        ("if f(1) != 2:\n    raise ValueError('no')\ncu.checks.passed('f')", "`raise`"),
        (
            "from course_utils.checks import check_close\ncheck_close(f(1), 2.0, 'f')\ncu.checks.passed('f')",
            "write `cu.checks.check_close(...)`",
        ),
        ("cu.checks.check_close(f(1), name='f')\ncu.checks.passed('f')", "needs the expected value"),
        ("tol = 1e-3\ncu.checks.check_close(f(1), 2.0, 'f', atol=tol)\ncu.checks.passed('f')", "`atol=` must be a literal"),
        (
            "ref = torch.ones(3)\ncu.checks.check_close(f(x), ref, 'f')\ncu.checks.passed('f')",
            "`ref` is only used to compute an expected value",
        ),
        ("x = torch.randn(3)\ncu.checks.check_close(f(x), x * 2, 'f')\ncu.checks.passed('f')", "global random state"),
        ("x = np.random.rand(3)\ncu.checks.check_close(f(x), x * 2, 'f')\ncu.checks.passed('f')", "NumPy's global"),
        ("x = random.random()\ncu.checks.check_close(f(x), x * 2, 'f')\ncu.checks.passed('f')", "Python's global"),
        ("w = torch.empty(3).uniform_()\ncu.checks.check_close(f(w), w * 2, 'f')\ncu.checks.passed('f')", "global random state"),
        ("cu.checks.check_true(torch.allclose(f(x), x * 2), 'f')\ncu.checks.passed('f')", "decided inside the student"),
        ("cu.checks.check_true(0 < f(x) < 1, 'f')\ncu.checks.passed('f')", "one comparison per check"),
        ("cu.checks.check_close(f(1), 2.0, 'f')", "end the cell with cu.checks.passed"),
        ("print(f(1))\ncu.checks.passed('f')", "no cu.checks calls"),
        ("cu.checks.check_everything(f(1))\ncu.checks.passed('f')", "not a check the grader knows"),
    ],
)
def test_each_rule_is_enforced(bad, expected):
    assert any(expected in m for m in _messages(bad)), _messages(bad)


def test_lint_reports_file_cell_and_line(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": "assert 1\ncu.checks.passed('x')",
                "outputs": [],
                "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": "test_x", "points": 1}},
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "ex.ipynb"
    path.write_text(json.dumps(nb))
    (v,) = [v for v in lint.lint_notebook(path) if "assert" in v.message]
    assert (v.cell, v.line) == ("test_x", 1) and str(v).startswith(str(path))
