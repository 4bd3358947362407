"""The grading checks: a correct solution gets full marks, the untouched release
zero, and every plausible wrong answer in tests/wrong_answers/ loses the points
of the test cells it names (and only those).

The "perfect student" is the released notebook with every answer cell filled in
from the source notebook, so grading executes the complete solution (hidden
tests restored from the gradebook) top to bottom: this is also how the
notebooks in solutions/ are executed by the test suite.

Every assignment is graded twice: by the instructors' pipeline (``python -m
grader autograde``: sandboxes, the outside comparison, ``--jobs 2``), with the
full set of students, in one run for the whole course; and by plain ``nbgrader
autograde`` (what an instructor clicking "autograde" in formgrader runs), with
the perfect student and the untouched stub (in test_plain_nbgrader.py, a module of its
own so that the test workers run the two in parallel). The pipeline grades the solution
like a student before it grades anyone (and refuses the assignment if it loses
a point), so its perfect student is that verification run, not a second one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, record_runtime
from grader import pipeline, plan, repo_exercises, sandbox

ASSIGNMENTS = repo_exercises.assignments()


def _wrong_students(assignment: str) -> dict:
    return repo_exercises.wrong_students(assignment)


def _grade_ids(assignment: str) -> set[str]:
    return {
        c["metadata"]["nbgrader"]["grade_id"]
        for p in (ROOT / "exercises" / assignment).glob("*.ipynb")
        for c in json.loads(p.read_text(encoding="utf-8"))["cells"]
        if c.get("metadata", {}).get("nbgrader")
    }


def _submissions(assignment: str) -> dict[str, dict[str, dict]]:
    """``{student: {notebook name: notebook}}``: perfect, stub and each wrong student of ``assignment``."""
    return repo_exercises.course_submissions(assignment)


def _assert_grades(assignment: str, scores: dict, students: set[str]) -> None:
    graded = scores["perfect"]
    assert graded, "no autograded cells found"
    for cell, (score, max_score) in graded.items():
        assert score == max_score, f"the solution lost points in {cell}: {score}/{max_score}"
    if "stub" in scores:  # plain nbgrader grades one assignment's stub only (test_plain_nbgrader.py)
        assert set(scores["stub"]) >= set(graded)
        for cell, (score, max_score) in scores["stub"].items():
            assert score == 0, f"the untouched stub earned {score}/{max_score} in {cell}"
    for student, case in _wrong_students(assignment).items():
        if student not in students:
            continue
        for cell, (score, max_score) in scores[student].items():
            if cell in case["loses"]:
                assert score < max_score, f"wrong answer {student!r} kept full marks in {cell}"
            else:
                assert score == max_score, f"wrong answer {student!r} lost points in unrelated {cell}"


def _no_error_outputs(folder: Path) -> None:
    paths = list(folder.glob("*.ipynb"))
    assert paths, f"nothing was autograded in {folder}"
    for path in paths:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for out in cell.get("outputs", []):
                assert out["output_type"] != "error", f"{path.name} cell {cell.get('id')}: {out.get('ename')}"


def test_every_assignment_has_wrong_answers():
    missing = [a for a in ASSIGNMENTS if not _wrong_students(a)]
    assert not missing, f"add plausible wrong answers in tests/wrong_answers/ for {missing}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_wrong_answers_name_real_cells(assignment):
    ids = _grade_ids(assignment)
    for student, case in _wrong_students(assignment).items():
        unknown = (set(case["answers"]) | set(case["loses"])) - ids
        assert not unknown, f"{student}: no such cells {unknown}"


@pytest.fixture(scope="module")
def sandboxed_course(tmp_path_factory):
    """The whole course, every student of every assignment, graded in one ``autograde --jobs 2`` run."""
    if sandbox.check_sandbox() is not None:
        pytest.fail(f"the sandboxed grader needs bubblewrap: {sandbox.check_sandbox()} (.ci/run installs it)")
    root = tmp_path_factory.mktemp("course")
    # No "perfect" student: the pipeline grades the solution like a student itself (verified below).
    course = pipeline.Course(root)
    total = sum(
        course.add_assignment(a, repo_exercises.SOLUTIONS, {k: v for k, v in _submissions(a).items() if k != "perfect"})
        for a in ASSIGNMENTS
    )
    start = time.perf_counter()
    summary = pipeline.autograde(course, None, pipeline.RunOptions(jobs=2, log=lambda m: None))
    record_runtime(f"grading/whole course, sandboxed ({total} submissions, --jobs 2)", time.perf_counter() - start)
    return root, summary


@pytest.mark.grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_sandboxed_grades_right_wrong_and_untouched(assignment, sandboxed_course):
    root, summary = sandboxed_course
    assert assignment not in summary.refused, summary.refused.get(assignment)
    # Before grading anyone, the pipeline graded the solution exactly like a student and would have refused
    # the assignment had it lost a point: that run is the "perfect student" here (no need to run it twice).
    verified = plan.load_references(pipeline.Course(root), plan.build_plan(pipeline.Course(root), assignment))
    assert verified is True, "the solution was not verified on a student sandbox"
    scores = pipeline.Course(root).scores(assignment)
    errors = {k: v for k, v in summary.refused.items() if k.startswith(f"{assignment}/")}
    assert set(scores) == {"stub", *_wrong_students(assignment)}, f"not every submission was graded: {errors}"
    full_marks = {cell: (top, top) for cell, (_score, top) in scores["stub"].items()}
    _assert_grades(assignment, {"perfect": full_marks, **scores}, set(scores))
    assert list((root / "autograded" / "stub" / assignment).glob("*.ipynb")), "no graded notebook was written"


def _grade_alone(root: Path, assignment: str, students: set[str]) -> tuple[dict, pipeline.RunSummary, float]:
    """Grade ``students`` of ``assignment`` (of perfect, stub, wrong answers) in a fresh course with the production limits."""
    course = pipeline.Course(root)
    chosen = {k: v for k, v in _submissions(assignment).items() if k in students}
    course.add_assignment(assignment, repo_exercises.SOLUTIONS, chosen)
    start = time.perf_counter()
    # The limits `python -m grader autograde` uses (sandbox.Limits' defaults), two workers as in CI.
    summary = pipeline.autograde(course, [assignment], pipeline.RunOptions(jobs=2, log=lambda m: None))
    return course.scores(assignment), summary, time.perf_counter() - start


def _machine_idle_share(before: list[int], after: list[int]) -> float:
    """Share of all cores' time spent idle (idle + iowait) between two readings of /proc/stat's "cpu" line."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    return (delta[3] + delta[4]) / max(1, sum(delta[:8]))


def _cpu_times() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.grading
def test_grades_do_not_depend_on_machine_load(sandboxed_course, tmp_path):
    """ex05 graded with two busy CPU-bound processes beside it gets exactly the grades of a quiet run.

    ex05 is the exercise whose hidden tests time things (images per second, judged as a ratio of two
    measurements taken side by side), so it is the one a loaded machine could mislead. The students whose
    grades a slow machine could change take part: the solution (which the pipeline grades like a student
    before anyone, under the same load, and refuses the assignment if it loses a point), the untouched stub, and
    the wrong answers that time the wrong thing, so honest work keeping full marks and wrong work losing
    exactly its cells are both compared (ex05's other wrong answers time nothing; a one-off run of the
    whole course beside two busy processes gave every student the quiet run's grades, see the README).
    Time limits are per cell and per notebook (wall time, 120 s and 900 s by default) and an exercise cell
    is meant to run in seconds, so two busy neighbours on a 2-core machine must not turn a slow cell
    into a zero.
    """
    assignment, timed = "ex05_training_fast", "test_images_per_second"
    students = {"stub"} | {s for s, case in _wrong_students(assignment).items() if timed in case["loses"]}
    assert len(students) >= 3, f"expected wrong answers of {assignment} that lose {timed}: {sorted(students)}"
    root, quiet_summary = sandboxed_course  # the quiet run: the whole course, graded above
    assert assignment not in quiet_summary.refused, quiet_summary.refused
    quiet = {k: v for k, v in pipeline.Course(root).scores(assignment).items() if k in students}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        times_before = _cpu_times()
        loaded, loaded_summary, loaded_seconds = _grade_alone(tmp_path / "loaded", assignment, students)
        idle = _machine_idle_share(times_before, _cpu_times())
        burnt = [_cpu_seconds(p.pid) for p in busy]
    finally:
        for p in busy:
            p.kill()
            p.wait()
    record_runtime(f"grading/{assignment}, {len(students)} students, beside two busy processes", loaded_seconds)
    # The load was real: both busy processes ran, and every core was busy while grading ran. (How much CPU the
    # two got depends on what else the machine runs, e.g. the other test worker: a third of a core each, or all.)
    assert min(burnt) >= 0.05 * loaded_seconds, f"a busy process barely ran: {burnt} s of CPU in {loaded_seconds:.0f} s"
    assert idle <= 0.1, f"the machine was idle {idle:.0%} of the time while {assignment} was graded beside two busy processes"
    assert assignment not in loaded_summary.refused, loaded_summary.refused
    # Under load too, the solution was graded like a student first and kept every point (else: refused above).
    course = pipeline.Course(tmp_path / "loaded")
    assert plan.load_references(course, plan.build_plan(course, assignment)) is True, "the solution was not verified under load"
    assert set(quiet) == set(loaded) and len(quiet) >= 3, (sorted(quiet), sorted(loaded))
    assert loaded == quiet, f"grades changed under load (loaded run {loaded_seconds:.0f} s)"
