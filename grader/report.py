"""What the instructor reads: ``status``, ``export`` (CSV) and ``feedback`` (nbgrader's HTML)."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.intake import submission_sha
from grader.plan import source_sha
from grader.state import Course, quiet_nbgrader, read_json


@dataclass
class StudentStatus:
    student: str
    state: str  # graded | not graded | changed since grading | solution changed
    score: float | None = None
    max_score: float | None = None
    attention: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manual: int = 0  # cells waiting for a person


def assignment_status(course: Course, assignment: str, students: list[str] | None = None) -> list[StudentStatus]:
    ref = read_json(course.grading / assignment / "reference.json") or {}
    try:
        current = source_sha(course, assignment)
    except OSError:
        current = None
    out = []
    for student in course.students(assignment):
        if students and student not in students:
            continue
        state = read_json(course.grading / assignment / student / "state.json")
        folder = course.submitted / student / assignment
        if not state:
            out.append(StudentStatus(student, "not graded"))
            continue
        status = StudentStatus(student, "graded")
        if state.get("submission") != submission_sha(folder):
            status.state = "changed since grading"
        elif current is not None and state.get("reference") != current:
            status.state = "solution changed since grading"
        elif ref.get("sha") and ref.get("sha") != state.get("reference"):
            status.state = "solution changed since grading"
        scores = state.get("scores") or {}
        status.score, status.max_score = scores.get("total"), scores.get("max")
        for note in state.get("notes", []):
            (status.attention if note.get("attention") else status.notes).append(note["text"])
        status.manual = sum(1 for c in (scores.get("cells") or {}).values() if c.get("needs_manual"))
        out.append(status)
    return out


def format_status(course: Course, assignments: list[str], students: list[str] | None = None, verbose: bool = False) -> str:
    lines = []
    for assignment in assignments:
        refused = read_json(course.grading / assignment / "refused.json")
        rows = assignment_status(course, assignment, students)
        graded = [r for r in rows if r.state == "graded"]
        pending = [r for r in rows if r.state != "graded"]
        attention = [r for r in graded if r.attention]
        manual = [r for r in graded if r.manual]
        lines.append(
            f"{assignment}: {len(rows)} submitted · {len(graded)} graded · {len(pending)} to grade · "
            f"{len(attention)} need attention · {len(manual)} need manual grading"
        )
        if refused:
            lines.append(f"  NOT GRADABLE: {refused.get('reason', '')}")
        for cell, reason in _judged_inside(course, assignment).items():
            lines.append(f"  {cell}: judged inside the sandbox with nbgrader's own rule ({reason})")
        for r in attention:
            lines.append(f"  ! {r.student}  {_score(r)}")
            lines += [f"      - {text}" for text in r.attention]
        if pending:
            lines.append(
                "  to grade (run `python -m grader autograde`): " + ", ".join(f"{r.student} ({r.state})" for r in pending)
            )
        if manual:
            lines.append(
                "  manual grading waiting (nbgrader formgrader): " + ", ".join(f"{r.student} ({r.manual})" for r in manual)
            )
        if verbose:
            for r in graded:
                if not r.attention:
                    lines.append(f"    {r.student}  {_score(r)}" + (f"  ({'; '.join(r.notes)})" if r.notes else ""))
    return "\n".join(lines) if lines else "no assignments"


def _judged_inside(course: Course, assignment: str) -> dict[str, str]:
    """``{notebook/cell: why}`` for test cells judged inside the sandbox (nbgrader-style tests, grader.byo):
    a student's code could fake their pass, so the instructor is told which ones they are."""
    out: dict[str, str] = {}
    for student in course.students(assignment):
        state = read_json(course.grading / assignment / student / "state.json") or {}
        for notebook, tests in (state.get("tests") or {}).items():
            for grade_id, test in (tests or {}).items():
                if isinstance(test, dict) and test.get("judged") == "inside":
                    out.setdefault(f"{notebook}/{grade_id}", str(test.get("judged_reason", ""))[:200])
        if out:
            break  # every submission of an assignment is judged by the same plan
    return out


def _score(r: StudentStatus) -> str:
    if r.score is None:
        return ""
    return f"{r.score:g}/{r.max_score:g}"


def export(course: Course, out: Path, rates: Path | None = None, assignments: list[str] | None = None) -> tuple[int, int]:
    """Write one row per student (a column per exercise and per graded cell), and per-cell pass rates.

    Returns:
        (number of students, number of columns).
    """
    from nbgrader.api import Gradebook, MissingEntry

    assignments = assignments or course.assignments()
    with Gradebook(course.db_url) as gb:
        students = sorted({s.id for s in gb.students} | {s for a in assignments for s in course.students(a)})
        columns: list[tuple[str, str | None, float]] = []  # (assignment, cell or None, max)
        for assignment in assignments:
            try:
                a = gb.find_assignment(assignment)
            except MissingEntry:
                continue
            columns.append((assignment, None, a.max_score))
            for notebook in a.notebooks:
                for cell in notebook.grade_cells:
                    columns.append((assignment, f"{notebook.name}/{cell.name}", cell.max_score))
        table: dict[str, dict[str, object]] = {s: {} for s in students}
        stats: dict[tuple[str, str], list[float]] = {}
        for assignment in {c[0] for c in columns}:
            for sub in gb.assignment_submissions(assignment):
                row = table.setdefault(sub.student_id, {})
                row[assignment] = sub.score
                for notebook in sub.notebooks:
                    for grade in notebook.grades:
                        key = f"{notebook.name}/{grade.name}"
                        pending = grade.needs_manual_grade and grade.manual_score is None
                        row[f"{assignment}:{key}"] = "" if pending else grade.score
                        if not pending:
                            stats.setdefault((assignment, key), []).append(float(grade.score) / float(grade.max_score or 1))
        header = ["student_id"] + [a if c is None else f"{a}:{c}" for a, c, _m in columns]
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for student in sorted(table):
                row = table[student]
                writer.writerow([student] + [row.get(h, "") for h in header[1:]])
        if rates is not None:
            with open(rates, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["assignment", "cell", "max_points", "graded", "full_marks", "pass_rate", "mean_fraction"])
                for a, c, m in columns:
                    if c is None:
                        continue
                    values = stats.get((a, c), [])
                    full = sum(1 for v in values if v >= 1.0 - 1e-9)
                    writer.writerow(
                        [
                            a,
                            c,
                            m,
                            len(values),
                            full,
                            f"{full / len(values):.3f}" if values else "",
                            f"{sum(values) / len(values):.3f}" if values else "",
                        ]
                    )
        return len(table), len(header)


def feedback(
    course: Course, assignments: list[str], students: list[str] | None = None, show_hidden_tests: bool = False
) -> list[tuple[str, str, bool, str]]:
    """nbgrader's ``generate_feedback`` for every graded submission; returns (assignment, student, ok, message).

    The course's nbgrader configuration (``grader/nbgrader_config.py``, the one nbgrader's own feedback uses
    too) removes hidden tests from the feedback and sends Markdown and outputs through nbconvert's HTML
    sanitizer (the graded notebooks hold no student HTML to begin with, see ``judge.safe_bundle``);
    ``show_hidden_tests`` leaves the hidden tests in. Every HTML page is written to a staging folder first and
    moved into ``feedback/<student>/<assignment>/`` only when it succeeded, so a failure never deletes
    feedback written earlier.
    """
    from grader.hidden_tests import HideHiddenTests
    from grader.nbgrader_setup import load_config

    out = []
    staging_rel = Path("grading") / f".feedback-staging-{os.getpid()}"
    staging = course.root / staging_rel
    shutil.rmtree(staging, ignore_errors=True)
    overrides: dict = {"CourseDirectory__feedback_directory": str(staging_rel)}
    if show_hidden_tests:
        configured = load_config(course.root).GenerateFeedback.preprocessors
        overrides["GenerateFeedback__preprocessors"] = [p for p in configured if p is not HideHiddenTests]
    try:
        with quiet_nbgrader():
            api = course.api(**overrides)
            for assignment in assignments:
                for student in course.students(assignment):
                    if students and student not in students:
                        continue
                    if not (course.autograded / student / assignment).is_dir():
                        continue
                    try:
                        result = api.generate_feedback(assignment, student, force=True)
                    except Exception as err:  # noqa: BLE001 - one student's failure never stops the others
                        result = {"success": False, "error": f"{type(err).__name__}: {err}"}
                    ok = bool(result.get("success")) and (staging / student / assignment).is_dir()
                    if ok:
                        _swap_in(staging / student / assignment, course.feedback / student / assignment)
                    message = "" if ok else str(result.get("error") or result.get("log", "") or "no output")[-500:]
                    out.append((assignment, student, ok, message))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` (a folder) by ``new``; the old one is removed only once the new one is in place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    try:
        shutil.move(str(new), str(target))
    except BaseException:
        if old.exists() and not target.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def print_lines(lines) -> None:
    for line in lines:
        print(line, file=sys.stdout)
