"""nbgrader's bookkeeping: the graded notebook goes through nbgrader's own ``autograde`` (without its
execution step), so the gradebook, ``autograded/``, feedback and export are nbgrader's.
`one_engine_per_database` (around a whole grading run) spares nbgrader compiling its SQL again and again.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from grader.plan import NotebookPlan, Plan
from grader.state import Course, quiet_nbgrader

NOTES_CELL_ID = "grader-notes"


_engines_lock = threading.Lock()
_engine_users = 0
_engines: dict[tuple, Any] = {}
_create_engine: Any = None


@contextmanager
def one_engine_per_database() -> Iterator[None]:
    """Inside this block, every nbgrader ``Gradebook`` opened on the same database shares one SQLAlchemy engine.

    nbgrader opens a new ``Gradebook``, and with it a new engine, about ten times for each submission it
    records (the autograde converter and each of its preprocessors open their own). SQLAlchemy keeps
    compiled SQL per engine, so every new engine compiles nbgrader's statements again: sharing it makes a
    submission's bookkeeping about a quarter cheaper (bench: "nbgrader bookkeeping without execution").
    Nothing else changes: ``Gradebook.close()`` still disposes the engine's connections (a disposed engine
    opens new ones on its next use), every transaction still commits to the database file, and the
    engines are disposed when the outermost block ends. Nested and concurrent blocks share one table.
    """
    global _engine_users, _create_engine
    import nbgrader.api as nbgrader_api

    with _engines_lock:
        if _engine_users == 0:
            _create_engine = nbgrader_api.create_engine

            def create_engine(url: Any, *args: Any, **kwargs: Any) -> Any:
                key = (str(url), args, tuple(sorted(kwargs.items())))
                with _engines_lock:
                    if key not in _engines:
                        _engines[key] = _create_engine(url, *args, **kwargs)
                    return _engines[key]

            nbgrader_api.create_engine = create_engine
        _engine_users += 1
    try:
        yield
    finally:
        with _engines_lock:
            _engine_users -= 1
            if _engine_users == 0:
                nbgrader_api.create_engine = _create_engine
                for engine in _engines.values():
                    engine.dispose()
                _engines.clear()


def _as_markdown_text(text: str) -> str:
    """``text`` shown as itself in Markdown: no HTML tag, entity, link, image or emphasis of its own.

    Notes quote what a student chose (a submitted file's name, ``<img src=x onerror=...>.ipynb``), and
    formgrader and nbgrader's feedback render this cell as HTML in the instructor's browser.
    """
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", html.escape(text, quote=False))


def graded_notebook_json(nb: NotebookPlan, grade: dict, extra_notes: list[dict]) -> dict:
    """The nbformat notebook handed to nbgrader: outputs in place, notes on top."""
    cells = [dict(c) for c in grade["cells"]]
    notes = extra_notes + grade["notes"]
    if notes:
        lines = ["**Autograder notes** (from the sandboxed grader):", ""]
        lines += [f"- {_as_markdown_text(n['text'][0].upper() + n['text'][1:])}." if n["text"] else "-" for n in notes]
        cells.insert(0, {"cell_type": "markdown", "id": NOTES_CELL_ID, "metadata": {}, "source": "\n".join(lines)})
    out = {"cells": [], "metadata": nb.metadata or {}, "nbformat": 4, "nbformat_minor": 5}
    sanitizer = None
    for cell in cells:
        c = {
            "cell_type": cell["cell_type"],
            "id": cell.get("id") or "cell",
            "metadata": cell.get("metadata", {}),
            "source": cell["source"],
        }
        locked = isinstance(c["metadata"], dict) and (c["metadata"].get("nbgrader") or {}).get("locked")
        if cell["cell_type"] != "code" and c["id"] != NOTES_CELL_ID and not locked:
            # The student's own Markdown (written answers, added cells): no raw HTML, which formgrader would
            # render in the instructor's Jupyter session. nbconvert's sanitizer escapes what is not allowed.
            if sanitizer is None:
                from nbconvert.preprocessors.sanitize import SanitizeHTML

                sanitizer = SanitizeHTML()
            c["source"] = sanitizer.sanitize_html_tags(str(c["source"]))
        if cell["cell_type"] == "code":
            c["outputs"] = cell.get("outputs", [])
            c["execution_count"] = cell.get("execution_count")
        out["cells"].append(c)
    ids = set()
    for i, c in enumerate(out["cells"]):
        if c["id"] in ids:
            c["id"] = f"cell-dup-{i:03d}"
        ids.add(c["id"])
    return out


def record_with_nbgrader(course: Course, plan: Plan, student: str, result: dict, timestamp: str | None) -> dict:
    """nbgrader's autograde, minus execution, on the graded notebooks; returns the scores from the gradebook."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    stage_root = course.grading / ".nbgrader-in"
    batch = stage_root / f"{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(batch, ignore_errors=True)
    folder = batch / student / plan.assignment
    folder.mkdir(parents=True)
    try:
        by_name = {g["name"]: g for g in result["notebooks"]}
        for nb in plan.notebooks:
            grade = by_name[nb.name]
            (folder / f"{nb.name}.ipynb").write_text(
                json.dumps(graded_notebook_json(nb, grade, result.get("notes", [])), indent=1), encoding="utf-8"
            )
        if timestamp:
            (folder / "timestamp.txt").write_text(timestamp, encoding="utf-8")
        # nbgrader's exchange files its feedback under a key it wrote beside the submission.
        secret = course.submitted / student / plan.assignment / "submission_secret.txt"
        if secret.is_file() and secret.stat().st_size < 1024:
            (folder / secret.name).write_text(secret.read_text(encoding="utf-8", errors="replace"), encoding="utf-8")
        with quiet_nbgrader():
            api = course.api(
                CourseDirectory__submitted_directory=str(batch.relative_to(course.root)),
                Autograde__sanitize_preprocessors=[DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata],
                Autograde__autograde_preprocessors=[
                    IgnorePattern,
                    ClearMetadataPreprocessor,
                    LimitOutput,
                    SaveAutoGrades,
                    AssignLatePenalties,
                    CheckCellMetadata,
                ],
            )
            out = api.autograde(plan.assignment, student, force=True, create=True)
        if not out["success"]:
            raise RuntimeError(
                f"nbgrader could not record {plan.assignment}/{student}:\n{out.get('log', '')[-3000:]}{out.get('error', '')}"
            )
    finally:
        shutil.rmtree(batch, ignore_errors=True)
    return student_scores(course, plan.assignment, student)


def student_scores(course: Course, assignment: str, student: str) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        warnings.simplefilter("ignore")
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        cells = {}
        for notebook in sub.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = {
                    "score": grade.score,
                    "max": grade.max_score,
                    "auto": grade.auto_score,
                    "manual": grade.manual_score,
                    "type": grade.cell.cell_type,
                    "needs_manual": bool(grade.needs_manual_grade),
                }
        return {"total": sub.score, "max": sub.max_score, "late_penalty": sub.late_submission_penalty, "cells": cells}
