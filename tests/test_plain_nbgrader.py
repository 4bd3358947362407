"""Every assignment graded by plain ``nbgrader autograde`` (what an instructor clicking "autograde" in
formgrader runs): the solution gets full marks, the untouched stub zero, and no cell of the solution errs.

The instructors' sandboxed pipeline grades the same assignments, with every wrong answer, in
test_grading.py; this module is separate so that the test workers run the two side by side.
"""

from __future__ import annotations

import time

import pytest
from test_grading import ASSIGNMENTS, _assert_grades, _no_error_outputs, _submissions

from conftest import record_runtime
from grader import course


@pytest.mark.grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plain_nbgrader_grades_the_solution_and_the_stub(assignment, tmp_path):
    submissions = {k: v for k, v in _submissions(assignment).items() if k in ("perfect", "stub")}
    start = time.perf_counter()
    scores = course.autograde_local(assignment, submissions, tmp_path)
    seconds = time.perf_counter() - start
    record_runtime(f"grading/{assignment}, plain nbgrader ({len(submissions)} submissions)", seconds)
    # Each notebook (and nbgrader's set-up) within the hard limit of 120 s per notebook.
    assert seconds <= 120 * len(submissions), f"grading {assignment}'s solution and stub took {seconds:.0f} s"
    _assert_grades(assignment, scores, set())
    _no_error_outputs(tmp_path / "autograded" / "perfect" / assignment)
