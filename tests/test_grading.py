"""The two-sided grading check: nbgrader gives a correct solution full marks and the untouched release zero.

The "perfect student" is the released notebook with every answer cell filled in
from the source notebook, so nbgrader executes the complete solution (hidden
tests restored from its gradebook) top to bottom: this is also how the
notebooks in solutions/ are executed by the test suite.
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, record_runtime
from grader import course

ASSIGNMENTS = course.assignments()


@pytest.mark.grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_and_stub_zero(assignment, tmp_path):
    import time

    notebooks = sorted((ROOT / "exercises" / assignment).glob("*.ipynb"))
    assert notebooks, f"no released notebook for {assignment}"
    perfect, stub = {}, {}
    for path in notebooks:
        released = json.loads(path.read_text(encoding="utf-8"))
        source = json.loads((ROOT / "solutions" / assignment / path.name).read_text(encoding="utf-8"))
        perfect[path.name] = course.perfect_submission(released, source)
        stub[path.name] = released
    start = time.perf_counter()
    scores = course.autograde_local(assignment, {"perfect": perfect, "stub": stub}, tmp_path)
    record_runtime(f"grading/{assignment} (2 submissions)", time.perf_counter() - start)

    graded = scores["perfect"]
    assert graded, "no autograded cells found"
    for cell, (score, max_score) in graded.items():
        assert score == max_score, f"solution lost points in {cell}: {score}/{max_score}"
    for cell, (score, max_score) in scores["stub"].items():
        assert score == 0, f"the untouched stub earned {score}/{max_score} in {cell}"
    assert set(scores["stub"]) >= set(graded)

    # The solution notebook ran without a single error output.
    for path in (tmp_path / "autograded" / "perfect" / assignment).glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            for out in cell.get("outputs", []):
                assert out["output_type"] != "error", f"{path.name} cell {cell.get('id')}: {out.get('ename')}"
