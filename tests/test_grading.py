"""The grading checks: nbgrader gives a correct solution full marks, the untouched
release zero, and every plausible wrong answer in tests/wrong_answers/ loses the
points of the test cells it names (and only those).

The "perfect student" is the released notebook with every answer cell filled in
from the source notebook, so nbgrader executes the complete solution (hidden
tests restored from its gradebook) top to bottom: this is also how the
notebooks in solutions/ are executed by the test suite.
"""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from conftest import ROOT, record_runtime
from grader import course

ASSIGNMENTS = course.assignments()


def _wrong_students(assignment: str) -> dict:
    path = ROOT / "tests" / "wrong_answers" / f"{assignment}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"wrong_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STUDENTS


def test_every_assignment_has_wrong_answers():
    missing = [a for a in ASSIGNMENTS if not _wrong_students(a)]
    assert not missing, f"add plausible wrong answers in tests/wrong_answers/ for {missing}"


@pytest.mark.grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grades_right_wrong_and_untouched(assignment, tmp_path):
    notebooks = sorted((ROOT / "exercises" / assignment).glob("*.ipynb"))
    assert notebooks, f"no released notebook for {assignment}"
    wrong = _wrong_students(assignment)
    submissions: dict[str, dict] = {"perfect": {}, "stub": {}}
    for path in notebooks:
        released = json.loads(path.read_text(encoding="utf-8"))
        source = json.loads((ROOT / "solutions" / assignment / path.name).read_text(encoding="utf-8"))
        perfect = course.perfect_submission(released, source)
        submissions["perfect"][path.name] = perfect
        submissions["stub"][path.name] = released
        for student, case in wrong.items():
            nb = json.loads(json.dumps(perfect))
            for cell in nb["cells"]:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id in case["answers"]:
                    cell["source"] = case["answers"][grade_id]
            submissions.setdefault(student, {})[path.name] = nb
    for student, case in wrong.items():
        ids = {c["metadata"]["nbgrader"]["grade_id"] for p in notebooks for c in json.loads(p.read_text())["cells"]
               if c.get("metadata", {}).get("nbgrader")}
        unknown = (set(case["answers"]) | set(case["loses"])) - ids
        assert not unknown, f"{student}: no such cells {unknown}"

    start = time.perf_counter()
    scores = course.autograde_local(assignment, submissions, tmp_path)
    record_runtime(f"grading/{assignment} ({len(submissions)} submissions)", time.perf_counter() - start)

    graded = scores["perfect"]
    assert graded, "no autograded cells found"
    for cell, (score, max_score) in graded.items():
        assert score == max_score, f"the solution lost points in {cell}: {score}/{max_score}"
    assert set(scores["stub"]) >= set(graded)
    for cell, (score, max_score) in scores["stub"].items():
        assert score == 0, f"the untouched stub earned {score}/{max_score} in {cell}"
    for student, case in wrong.items():
        for cell, (score, max_score) in scores[student].items():
            if cell in case["loses"]:
                assert score < max_score, f"wrong answer {student!r} kept full marks in {cell}"
            else:
                assert score == max_score, f"wrong answer {student!r} lost points in unrelated {cell}"

    # The solution notebook ran without a single error output.
    for path in (tmp_path / "autograded" / "perfect" / assignment).glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            for out in cell.get("outputs", []):
                assert out["output_type"] != "error", f"{path.name} cell {cell.get('id')}: {out.get('ename')}"
