"""A course folder as the grader sees it: its paths, atomic JSON state files, one grader at a time.

:class:`Course` is the one notion of a course folder in the grader: the pipeline grades one, the plain-nbgrader
helpers of :mod:`grader.repo_exercises` fill a throwaway one, and both reach nbgrader through it. Part of
the grading pipeline (:mod:`grader.pipeline` runs the steps; this module holds no grading logic).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.nbgrader_setup import grading_environment, load_config, temporary_environ

#: Bump when grading logic changes so that cached references and results are recomputed.
GRADER_VERSION = "3"  # 3: files beside the notebooks are placed in the sandbox; 2: the watch and the integrity check


class AssignmentError(RuntimeError):
    """An assignment cannot be graded (its tests break a rule, or its solution fails them)."""


#: nbgrader's folder settings (``CourseDirectory.*``) and the names this course gives them.
FOLDERS = {
    "source_directory": "solutions",
    "release_directory": "exercises",
    "submitted_directory": "submitted",
    "autograded_directory": "autograded",
    "feedback_directory": "feedback",
}
#: nbgrader's own names where they differ: a course folder laid out by plain nbgrader.
NBGRADER_NAMES = {"source_directory": "source", "release_directory": "release"}


def course_folders(root: Path) -> dict[str, str]:
    """The course folder's names for nbgrader's folders: what its own ``nbgrader_config.py`` sets (the file
    plain nbgrader reads there), else the course's (``solutions/``, ``exercises/``), else — when only
    nbgrader's default folder is there — nbgrader's (``source/``, ``release/``).

    Raises AssignmentError when that ``nbgrader_config.py`` cannot be read."""
    from traitlets.config.loader import PyFileConfigLoader

    names = dict(FOLDERS)
    own = root / "nbgrader_config.py"
    if own.is_file():
        try:
            config = PyFileConfigLoader(own.name, path=str(root)).load_config()
        except Exception as err:  # noqa: BLE001 - any error in the instructor's file: say which file
            raise AssignmentError(
                f"{own} cannot be read ({type(err).__name__}: {err}); fix it and run the command again"
            ) from err
        for key in FOLDERS:
            value = config.CourseDirectory.get(key)
            if isinstance(value, str) and value:
                names[key] = value
    source = "source_directory"
    if names[source] == FOLDERS[source] and not (root / FOLDERS[source]).is_dir() and (root / NBGRADER_NAMES[source]).is_dir():
        # A course laid out by plain nbgrader: its release goes where nbgrader puts it too.
        for key, theirs in NBGRADER_NAMES.items():
            if names[key] == FOLDERS[key] and not (root / FOLDERS[key]).is_dir():
                names[key] = theirs
    return names


@dataclass
class Course:
    """A course folder in nbgrader's layout (as ``grader/nbgrader_config.py`` names its folders, or as the
    folder's own ``nbgrader_config.py`` does: :func:`course_folders`).

    ``solutions/<assignment>/`` holds the source notebooks, ``exercises/<assignment>/`` the release,
    ``submitted/<student>/<assignment>/`` the submissions; nbgrader writes ``autograded/``, ``feedback/``
    and ``gradebook.db``, the grader its own state under ``grading/``.
    """

    root: Path

    @functools.cached_property
    def folders(self) -> dict[str, str]:
        return course_folders(self.root)

    @property
    def solutions(self) -> Path:
        return self.root / self.folders["source_directory"]

    @property
    def exercises(self) -> Path:
        return self.root / self.folders["release_directory"]

    @property
    def submitted(self) -> Path:
        return self.root / self.folders["submitted_directory"]

    @property
    def autograded(self) -> Path:
        return self.root / self.folders["autograded_directory"]

    @property
    def feedback(self) -> Path:
        return self.root / self.folders["feedback_directory"]

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def grading(self) -> Path:
        return self.root / "grading"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    def assignments(self) -> list[str]:
        if not self.solutions.is_dir():
            return []
        return sorted(p.name for p in self.solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def students(self, assignment: str) -> list[str]:
        if not self.submitted.is_dir():
            return []
        return sorted(
            p.name for p in self.submitted.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / assignment).is_dir()
        )

    def api(self, **overrides):
        """An ``NbGraderAPI`` for this course, configured by :func:`grader.nbgrader_setup.load_config`.

        ``overrides`` are extra settings, ``Section__name=value`` (e.g. ``CourseDirectory__db_url=...``).
        """
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        folders = {f"CourseDirectory__{key}": value for key, value in self.folders.items()}
        config = load_config(self.root, **{**folders, **overrides})
        coursedir = CourseDirectory(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)

    def add_assignment(self, assignment: str, solutions_from: Path, submissions: dict[str, dict[str, dict]] | None = None) -> int:
        """Add ``assignment`` to this course in nbgrader's layout: its source folder (notebooks and the files
        beside them), copied from ``solutions_from/<assignment>/`` into ``solutions/<assignment>/``, and each of ``submissions``
        written into ``submitted/<student>/<assignment>/``. None of these folders may exist yet.

        Args:
            assignment: the assignment name.
            solutions_from: a ``solutions/`` folder holding ``<assignment>/`` (another course's, or this repository's).
            submissions: ``{student_id: {notebook file name: notebook JSON}}`` (none: only the source notebooks).

        Returns:
            How many submissions were written.
        """
        submissions = submissions or {}
        (self.solutions / assignment).mkdir(parents=True)
        for path in sorted((solutions_from / assignment).rglob("*")):  # notebooks and the files beside them
            if path.is_file():
                target = self.solutions / assignment / path.relative_to(solutions_from / assignment)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        for student, notebooks in submissions.items():
            folder = self.submitted / student / assignment
            folder.mkdir(parents=True)
            for name, nb in notebooks.items():
                (folder / name).write_text(json.dumps(nb), encoding="utf-8")
        return len(submissions)

    def scores(self, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
        """``{student: {grade_id: (score, max_score)}}`` for every autograded cell of ``assignment`` in the gradebook."""
        from nbgrader.api import Gradebook

        out: dict[str, dict[str, tuple[float, float]]] = {}
        with Gradebook(self.db_url) as gb:
            for submission in gb.assignment_submissions(assignment):
                cells = out.setdefault(submission.student_id, {})
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.cell.cell_type == "code":  # written answers wait for a person
                            cells[grade.name] = (grade.score, grade.max_score)
        return out


def write_json(path: Path, data) -> None:
    """Write JSON atomically (a crash leaves the old file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def course_lock(course: Course):
    """One grading run per course at a time (released by the kernel even after ``kill -9``)."""
    course.grading.mkdir(parents=True, exist_ok=True)
    fh = open(course.grading / ".lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise RuntimeError(f"another grading run is using {course.root} right now") from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


@contextmanager
def quiet_nbgrader():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with temporary_environ(grading_environment()):
            yield
