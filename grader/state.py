"""A course folder as the grader sees it: its paths, atomic JSON state files, one grader at a time.

Part of the grading pipeline (:mod:`grader.pipeline` runs the steps; this module holds no grading logic).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader import course as nbcourse

#: Bump when grading logic changes so that cached references and results are recomputed.
GRADER_VERSION = "1"


class AssignmentError(RuntimeError):
    """An assignment cannot be graded (its tests break a rule, or its solution fails them)."""


@dataclass
class Course:
    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

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
        return nbcourse.api(self.root, **overrides)


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
        with nbcourse._environ(nbcourse.grading_environment()):
            yield
