"""Every assignment graded by plain ``nbgrader autograde`` (what an instructor clicking "autograde" in
formgrader runs): the solution gets full marks and no cell of it errs; ex00's untouched stub gets zero.

The instructors' sandboxed pipeline grades the same assignments, with every wrong answer and every
untouched stub, in test_grading.py, and test_byo.py shows that it scores honest work exactly as plain
nbgrader does, cell by cell. So plain nbgrader grades the stub of one assignment only (each stub costs as
much as a solution: its setup cells run in full). This module is separate so that the test workers run the
two pipelines side by side.
"""

from __future__ import annotations

import time

import pytest
from test_grading import ASSIGNMENTS, _assert_grades, _no_error_outputs, _submissions

from conftest import record_runtime
from grader import repo_exercises


@pytest.mark.grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plain_nbgrader_grades_the_solution(assignment, tmp_path):
    wanted = ("perfect", "stub") if assignment == ASSIGNMENTS[0] else ("perfect",)
    submissions = {k: v for k, v in _submissions(assignment).items() if k in wanted}
    start = time.perf_counter()
    scores = repo_exercises.autograde_local(assignment, submissions, tmp_path)
    seconds = time.perf_counter() - start
    record_runtime(f"grading/{assignment}, plain nbgrader ({len(submissions)} submissions)", seconds)
    # Each notebook (and nbgrader's set-up) within the hard limit of 120 s per notebook.
    assert seconds <= 120 * len(submissions), f"grading {assignment}'s {' and '.join(submissions)} took {seconds:.0f} s"
    _assert_grades(assignment, scores, set())
    _no_error_outputs(tmp_path / "autograded" / "perfect" / assignment)
