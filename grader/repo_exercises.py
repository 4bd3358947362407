"""This repository's own exercises: releasing them, checking the release, and the test students that grade them.

Named for what it knows that no other grader module does: where *this repository* keeps its exercises
(:data:`SOLUTIONS`, :data:`EXERCISES`, the plausible wrong answers in :data:`WRONG_ANSWERS`). A course folder
in general is :class:`grader.state.Course`, and nbgrader's configuration and environment are
:mod:`grader.nbgrader_setup`; plain ``exercises`` would read as the ``exercises/`` folder itself.

Releasing runs nbgrader's own ``generate_assignment`` (through its Python API,
one process for every assignment) in a throwaway course folder, then copies
only the student notebooks into ``exercises/``. Nothing else from the source
folders reaches students, and no gradebook is left behind.

The tests and benchmarks grade the exercises with students made from them (:func:`course_submissions`:
the perfect one, the untouched stub, the wrong answers), with plain nbgrader in a throwaway course
folder (:func:`autograde_local`) to compare the sandboxed grader with.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import tempfile
from pathlib import Path

from grader.nbgrader_setup import grading_environment, temporary_environ
from grader.state import Course
from grader.submission import perfect_submission

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
WRONG_ANSWERS = ROOT / "tests" / "wrong_answers"

#: Markers that must never reach a student's copy.
SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def assignments(solutions: Path = SOLUTIONS) -> list[str]:
    """Every assignment (a folder of ``solutions/`` holding a notebook), in order."""
    return sorted(p.name for p in solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def generate_release(dest: Path, names: list[str] | None = None, solutions: Path = SOLUTIONS) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` and write the student notebooks under ``dest``.

    Returns:
        The files written: ``dest/<assignment>/<notebook>.ipynb`` and the files released beside them.

    Raises:
        RuntimeError: nbgrader failed; its log is in the message.
    """
    names = names or assignments(solutions)
    written = []
    with tempfile.TemporaryDirectory(prefix="p2l-release-") as tmp:
        course = Course(Path(tmp))
        for name in names:
            course.add_assignment(name, solutions)
        with temporary_environ(grading_environment()):
            nbgrader = course.api()
            for name in names:
                result = nbgrader.generate_assignment(name, force=True, create=True)
                if not result["success"]:
                    raise RuntimeError(
                        f"nbgrader generate_assignment {name} failed:\n{result.get('log', '')}{result.get('error', '')}"
                    )
        for name in names:
            target = dest / name
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted(p for p in (course.exercises / name).rglob("*") if p.is_file()):
                out = target / path.relative_to(course.exercises / name)
                out.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix != ".ipynb":  # a data file or helper module released with the notebooks
                    shutil.copy2(path, out)
                    written.append(out)
                    continue
                text = path.read_text(encoding="utf-8")
                if not text.endswith("\n"):
                    text += "\n"
                out.write_text(text, encoding="utf-8")
                written.append(out)
    return written


def release(check: bool = False, root: Path = ROOT) -> list[Path]:
    """Regenerate ``exercises/`` from ``solutions/`` of the course folder ``root``; with ``check``, write nothing
    and return what differs.

    Returns:
        Paths under ``exercises/`` that were (or would be) created, changed or removed.
    """
    course = Course(root)
    exercises = course.exercises
    with tempfile.TemporaryDirectory(prefix="p2l-exercises-") as tmp:
        fresh_root = Path(tmp)
        generate_release(fresh_root, solutions=course.solutions)
        fresh = {p.relative_to(fresh_root) for p in fresh_root.rglob("*") if p.is_file()}
        current = {p.relative_to(exercises) for p in exercises.rglob("*") if p.is_file()} if exercises.exists() else set()
        differ = sorted(
            rel
            for rel in fresh | current
            if rel not in fresh or rel not in current or (fresh_root / rel).read_bytes() != (exercises / rel).read_bytes()
        )
        if not check:
            for rel in differ:
                target = exercises / rel
                if rel in fresh:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(fresh_root / rel, target)
                else:
                    target.unlink()
        return [exercises / rel for rel in differ]


def _solution_lines(source_nb: dict) -> set[str]:
    """Substantive lines inside solution regions of a source notebook."""
    lines: set[str] = set()
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        inside = cell["cell_type"] == "markdown"  # a written answer is all solution
        for line in text.splitlines():
            stripped = line.strip()
            if "BEGIN SOLUTION" in stripped:
                inside = True
                continue
            if "END SOLUTION" in stripped:
                inside = False
                continue
            if inside and len(stripped) >= 12 and not stripped.startswith("#"):
                lines.add(stripped)
    return lines


def _hidden_lines(source_nb: dict) -> set[str]:
    lines: set[str] = set()
    for cell in source_nb["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        inside = False
        for line in text.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 12:
                lines.add(line.strip())
    return lines


def release_leaks(exercises: Path = EXERCISES, solutions: Path = SOLUTIONS) -> list[str]:
    """What in ``exercises/`` should not be there: solution code, hidden tests, stray files (a file other than a
    notebook that is not the source folder's own copy, which nbgrader releases with the notebooks)."""
    problems = []
    for path in sorted(exercises.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            source = solutions / path.relative_to(exercises)
            if not source.is_file() or source.read_bytes() != path.read_bytes():
                problems.append(
                    f"{path.relative_to(exercises)}: not a notebook, and not a file of the assignment's source folder"
                )
    for path in sorted(exercises.glob("*/*.ipynb")):
        released = json.loads(path.read_text(encoding="utf-8"))
        text = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in released["cells"])
        for marker in SECRET_MARKERS:
            if marker in text:
                problems.append(f"{path.relative_to(exercises)}: contains {marker!r}")
        source = solutions / path.parent.name / path.name
        if not source.exists():
            problems.append(f"{path.relative_to(exercises)}: no source notebook in solutions/")
            continue
        source_nb = json.loads(source.read_text(encoding="utf-8"))
        released_lines = {line.strip() for line in text.splitlines()}
        for line in sorted(_solution_lines(source_nb) & released_lines):
            problems.append(f"{path.relative_to(exercises)}: solution line released: {line!r}")
        for line in sorted(_hidden_lines(source_nb) & released_lines):
            if not re.match(r"^(import|from) ", line):
                problems.append(f"{path.relative_to(exercises)}: hidden-test line released: {line!r}")
    return problems


def autograde_local(
    assignment: str, submissions: dict[str, dict[str, dict]], workdir: Path
) -> dict[str, dict[str, tuple[float, float]]]:
    """Autograde notebooks with plain nbgrader in a throwaway course (no sandbox: trusted notebooks only).

    Args:
        assignment: the assignment name (a folder of ``solutions/``).
        submissions: ``{student_id: {notebook file name: notebook JSON}}``.
        workdir: an empty folder for the course.

    Returns:
        ``{student: {grade_id: (score, max_score)}}`` for autograded cells.
    """
    course = Course(workdir)
    course.add_assignment(assignment, SOLUTIONS, submissions)
    with temporary_environ(grading_environment()):
        nbgrader = course.api()
        result = nbgrader.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {assignment} failed:\n{result.get('log', '')}{result.get('error', '')}")
        for student in submissions:
            result = nbgrader.autograde(assignment, student, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"autograde {assignment}/{student} failed:\n{result.get('log', '')}{result.get('error', '')}")
    return course.scores(assignment)


def wrong_students(assignment: str, folder: Path = WRONG_ANSWERS) -> dict[str, dict]:
    """The plausible wrong answers of ``assignment`` (``folder/<assignment>.py``'s ``STUDENTS``):
    ``{student: {"answers": {grade_id: source}, "loses": [grade_id, ...]}}``; empty if it has none."""
    path = folder / f"{assignment}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"wrong_{assignment}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.STUDENTS)


def course_submissions(assignment: str) -> dict[str, dict[str, dict]]:
    """``{student: {notebook name: notebook}}``: the perfect student (the released notebook with the
    solution's answers), the untouched stub, and each wrong student of ``assignment``."""
    notebooks = sorted((EXERCISES / assignment).glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no released notebook for {assignment} in {EXERCISES}: run `python -m grader release`")
    wrong = wrong_students(assignment)
    submissions: dict[str, dict] = {"perfect": {}, "stub": {}}
    for path in notebooks:
        released = json.loads(path.read_text(encoding="utf-8"))
        source = json.loads((SOLUTIONS / assignment / path.name).read_text(encoding="utf-8"))
        perfect = perfect_submission(released, source)
        submissions["perfect"][path.name] = perfect
        submissions["stub"][path.name] = released
        for student, case in wrong.items():
            nb = json.loads(json.dumps(perfect))
            for cell in nb["cells"]:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id in case["answers"]:
                    cell["source"] = case["answers"][grade_id]
            submissions.setdefault(student, {})[path.name] = nb
    return submissions
