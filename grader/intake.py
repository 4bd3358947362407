"""Which submitted file is which notebook: size limits, hashes, and notes for the reviewer.

Submissions come as folders of untrusted files (from nbgrader's exchange, an LMS download or by hand).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader import answer_scan
from grader.plan import Plan
from grader.submission import Note, defined_names, role_of

MAX_SUBMISSION_BYTES = 256 * 2**20

#: What nbgrader's collect puts beside a student's notebooks: when it was submitted, and its feedback key.
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def submission_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts)


def submission_sha(folder: Path) -> str:
    h = hashlib.sha256()
    for path in submission_files(folder):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest() if path.stat().st_size < MAX_SUBMISSION_BYTES else b"too-large")
    return h.hexdigest()


def map_notebooks(plan: Plan, folder: Path) -> tuple[dict[str, Path | None], list[dict]]:
    """Which submitted file is which assignment notebook (renamed copies are recognised)."""
    notes: list[dict] = []
    files = [p for p in submission_files(folder) if p.suffix.lower() == ".ipynb"]
    mapping: dict[str, Path | None] = {}
    left = list(files)
    for nb in plan.notebooks:
        exact = [p for p in left if p.name == f"{nb.name}.ipynb" and p.parent == folder]
        if exact:
            mapping[nb.name] = exact[0]
            left.remove(exact[0])
    for nb in plan.notebooks:
        if nb.name in mapping:
            continue
        ids = {c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb.release} - {None}
        answer_names = set()
        for cell in nb.release:
            if role_of(cell) == "answer":
                answer_names |= defined_names(cell["source"])

        def score(path: Path, ids=ids, answer_names=answer_names, nb=nb) -> float:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")[:MAX_SUBMISSION_BYTES]
            except OSError:
                return -1
            hits = sum(1 for g in ids if f'"{g}"' in text) + sum(1 for n in answer_names if f"def {n}" in text)
            name_bonus = 0.5 if nb.name.lower() in path.stem.lower() else 0
            return hits + name_bonus

        ranked = sorted(((score(p), str(p)) for p in left), reverse=True)
        if ranked and (ranked[0][0] > 0 or len(left) == 1):
            chosen = Path(ranked[0][1])
            mapping[nb.name] = chosen
            left.remove(chosen)
            notes.append(
                dict(
                    text=f"no file was named {nb.name}.ipynb; '{_shown(chosen, folder)}' was graded as that notebook",
                    attention=True,
                )
            )
        else:
            mapping[nb.name] = None
            notes.append(
                dict(text=f"the notebook {nb.name}.ipynb is missing from the submission; it scores zero", attention=True)
            )
    for path in left:
        notes.append(dict(text=f"the extra notebook '{_shown(path, folder)}' was not graded"))
    return mapping, notes


#: The most a student's own files beside the notebooks (a helper module, data they made) may weigh.
MAX_STUDENT_FILES_BYTES = 16 * 2**20


def files_beside(plan: Plan, folder: Path) -> tuple[dict[str, bytes], list[dict]]:
    """The files each notebook of this submission finds beside it, as nbgrader's autograde lays them out: the
    student's other files (not notebooks), then the assignment's own files over them (``plan.files``: a
    student cannot change the data or helpers the tests read). Notes say what was used and what was not."""
    from grader.plan import is_ignored

    used: dict[str, bytes] = {}
    replaced, skipped = [], []
    total = 0
    for path in submission_files(folder):
        rel = path.relative_to(folder)
        if path.suffix.lower() == ".ipynb" or (len(rel.parts) == 1 and path.name in EXCHANGE_FILES):
            continue
        if is_ignored(rel):
            continue
        if rel.as_posix() in plan.files:
            replaced.append(path)
            continue
        size = path.stat().st_size
        if total + size > MAX_STUDENT_FILES_BYTES:
            skipped.append(path)
            continue
        try:
            used[rel.as_posix()] = path.read_bytes()
        except OSError:
            skipped.append(path)
            continue
        total += size

    def listed(paths: list[Path]) -> str:
        return ", ".join(_shown(p, folder) for p in paths[:5]) + (" ..." if len(paths) > 5 else "")

    notes = []
    if used:
        notes.append(
            dict(text=f"the submission's other files were placed beside its notebooks: {listed([folder / r for r in used])}")
        )
    if replaced:
        notes.append(dict(text=f"the assignment's own copies were used instead of the submitted {listed(replaced)}"))
    if skipped:
        notes.append(
            dict(
                text=f"files left out (over {MAX_STUDENT_FILES_BYTES // 2**20} MB in all, or unreadable): {listed(skipped)}",
                attention=True,
            )
        )
    return {**used, **plan.files}, notes


def _shown(path: Path, folder: Path) -> str:
    """A submitted file's name as notes quote it: the student chose it, and `status` prints it in the
    instructor's terminal (the graded notebook escapes it as Markdown). Control and other invisible characters
    (a terminal's escape sequences, a right-to-left override) are spelled out; long names are cut."""
    name = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(path.relative_to(folder)))
    return name if len(name) <= 120 else name[:117] + "..."


def review_notes(student_cells: list[dict], source_cells: list[dict]) -> list[Note]:
    """The answer scan's flags (`grader.answer_scan`, read here in the trusted process, never run) as notes
    that ask the instructor to read the answer: a forbidden library route, or a tool that could switch the
    in-sandbox guard off. They change no score; `status` lists them."""
    flags = answer_scan.scan_notebook({"cells": student_cells}, reference={"cells": source_cells})
    return [Note(f"for review: {f.cell}, line {f.line}: {f.reason}", True) for f in flags]
