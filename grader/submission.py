"""Read a submitted notebook, whatever state it is in, and line it up with the assignment.

Students rename notebooks, delete, copy, move and retype cells, paste
everything into a fresh notebook (losing nbgrader's metadata), or hand in a
file that is not a notebook at all. :func:`read_notebook` turns any file into
cells or a plain-language reason; :func:`normalize` builds the notebook that is
actually graded:

* every test and locked cell comes from the assignment (hidden tests
  included), in its original place, exactly once;
* every answer cell is the student's, found by nbgrader's ``grade_id`` or, if
  the metadata is gone, by the functions it defines (written answers by their
  position after the question);
* the student's own extra cells stay after the cell they followed;
* each change is a :class:`Note` that ends up in the feedback and in ``status``.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from dataclasses import dataclass, field

from grader.astutil import parse

MAX_NOTEBOOK_BYTES = 64 * 2**20


@dataclass
class Note:
    text: str
    attention: bool = False  # the instructor should look at this submission


@dataclass
class Normalized:
    cells: list[dict]
    roles: list[tuple[str, str | None]]  # (role, grade_id): test | locked | answer | written | plain | extra
    notes: list[Note] = field(default_factory=list)


def _text(source) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


def read_notebook(data: bytes) -> tuple[list[dict] | None, list[Note]]:
    """Cells of a submitted file (nbformat 4 shape, sources as strings), or None and why not."""
    notes: list[Note] = []
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, [
            Note(
                f"the file is {len(data) / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB "
                "a notebook may have; it was not graded",
                True,
            )
        ]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [Note("the file is not a text file (not UTF-8), so it is not a notebook; it was not graded", True)]
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as err:
        where = f" (line {err.lineno}, column {err.colno})" if hasattr(err, "lineno") else ""
        return None, [
            Note(
                f"the file is not valid notebook JSON{where}: it may have been edited in a text editor "
                "or saved incompletely; it was not graded",
                True,
            )
        ]
    if not isinstance(nb, dict):
        return None, [Note("the file is JSON but not a notebook; it was not graded", True)]
    major = nb.get("nbformat")
    cells = nb.get("cells")
    if major == 3 or (cells is None and isinstance(nb.get("worksheets"), list)):
        try:
            import nbformat

            nb = json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
            cells = nb.get("cells")
            notes.append(Note("the notebook was in the old nbformat 3 format; it was converted"))
        except Exception:
            return None, [Note("the notebook is in the old nbformat 3 format and could not be converted", True)]
    elif major != 4:
        if not isinstance(cells, list):
            return None, [Note(f"the file has an unknown notebook format ({major!r}); it was not graded", True)]
        notes.append(Note(f"the notebook declared format {major!r}; it was read as format 4", True))
    if not isinstance(cells, list):
        return None, [Note("the notebook has no list of cells; it was not graded", True)]
    out = []
    dropped = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            dropped += 1
            continue
        source = _text(cell.get("source", ""))
        if source is None:
            dropped += 1
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        out.append(
            {
                "cell_type": cell["cell_type"],
                "source": source,
                "metadata": metadata,
                "id": cell.get("id") if isinstance(cell.get("id"), str) else None,
            }
        )
    if dropped:
        notes.append(Note(f"{dropped} damaged cell(s) could not be read and were left out", True))
    return out, notes


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def role_of(cell: dict) -> str:
    """The role of a cell of the *assignment* (release or source notebook)."""
    meta = _nbgrader(cell)
    if not meta:
        return "plain"
    if meta.get("solution"):
        return "written" if cell["cell_type"] == "markdown" else "answer"
    if meta.get("grade") and cell["cell_type"] == "code":
        return "test"
    if meta.get("locked") or meta.get("grade"):
        return "locked"
    return "plain"


def defined_names(source: str) -> set[str]:
    """Top-level functions, classes and assigned names of a code cell (empty if it does not parse)."""
    try:
        tree = parse(source)
    except SyntaxError:
        # Fall back to a pattern, so a cell with a syntax error still matches by its def line.
        return set(re.findall(r"^(?:def|class)\s+([A-Za-z_]\w*)", source, re.M))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def similarity(a: str, b: str) -> float:
    a, b = _squash(a), _squash(b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _code_cell(cell_id: str, source: str, metadata: dict) -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": metadata, "source": source, "outputs": [], "execution_count": None}


def _markdown_cell(cell_id: str, source: str, metadata: dict, cell_type: str = "markdown") -> dict:
    return {"cell_type": cell_type, "id": cell_id, "metadata": metadata, "source": source}


def normalize(student: list[dict], release: list[dict], source: list[dict]) -> Normalized:
    """Line a student's cells up with the assignment; see the module docstring.

    Args:
        student: cells from :func:`read_notebook`.
        release: cells of the released notebook (student version, nbgrader metadata with checksums).
        source: cells of the source notebook (test cells with hidden tests).
    """
    notes: list[Note] = []
    source_by_id = {_nbgrader(c).get("grade_id"): c for c in source if _nbgrader(c).get("grade_id")}
    roles = [role_of(c) for c in release]
    gid = [_nbgrader(c).get("grade_id") for c in release]
    known = {g: i for i, g in enumerate(gid) if g}
    match: dict[int, int] = {}  # release index -> student index
    used: set[int] = set()
    duplicates: list[str] = []
    dropped_copies: set[int] = set()
    has_metadata = any(_nbgrader(c).get("grade_id") for c in student)

    # A. nbgrader's grade_id, first occurrence wins.
    for s, cell in enumerate(student):
        g = _nbgrader(cell).get("grade_id")
        if g not in known:
            continue
        r = known[g]
        if r in match:
            duplicates.append(g)
            if roles[r] in ("test", "locked"):
                dropped_copies.add(s)  # a copied test cell must not run twice
            continue
        match[r] = s
        used.add(s)

    # B. content, for assignment cells still unmatched.
    def free(s: int) -> bool:
        return s not in used and s not in dropped_copies

    by_content: list[str] = []
    for r, role in enumerate(roles):
        if r in match or role not in ("answer", "test", "locked"):
            continue
        if role == "answer":
            names = defined_names(release[r]["source"]) - {"_"}
            found = [
                s
                for s, c in enumerate(student)
                if free(s) and c["cell_type"] == "code" and names and names <= defined_names(c["source"])
            ]
            found = found or [
                s
                for s, c in enumerate(student)
                if free(s) and c["cell_type"] == "code" and names and names & defined_names(c["source"])
            ]
        else:
            target = source_by_id.get(gid[r], release[r])["source"]
            scored = [
                (similarity(c["source"], release[r]["source"]) if c["cell_type"] == "code" else 0.0, s)
                for s, c in enumerate(student)
                if free(s)
            ]
            scored += [(similarity(c["source"], target), s) for s, c in enumerate(student) if free(s)]
            found = [s for score, s in sorted(scored, key=lambda x: (-x[0], x[1])) if score >= 0.6][:1]
        if found:
            match[r] = found[0]
            used.add(found[0])
            by_content.append(gid[r])
    # Plain cells (instructions, setup) by text; then written answers by position after their question.
    for r, role in enumerate(roles):
        if role != "plain" or r in match:
            continue
        want = release[r]
        for s, c in enumerate(student):
            if (
                free(s)
                and c["cell_type"] == want["cell_type"]
                and (
                    _squash(c["source"]) == _squash(want["source"])
                    or (c["cell_type"] == "code" and similarity(c["source"], want["source"]) >= 0.6)
                )
            ):
                match[r] = s
                used.add(s)
                break
    release_markdown = {_squash(c["source"]) for c in release if c["cell_type"] == "markdown"}
    for r, role in enumerate(roles):
        if role != "written" or r in match or r == 0 or (r - 1) not in match:
            continue
        s = match[r - 1] + 1
        if (
            s < len(student)
            and free(s)
            and student[s]["cell_type"] in ("markdown", "raw")
            and _squash(student[s]["source"]) not in release_markdown
        ):
            match[r] = s
            used.add(s)
            by_content.append(gid[r])

    # C. build the graded notebook in the assignment's order.
    cells: list[dict] = []
    out_roles: list[tuple[str, str | None]] = []
    extra_count = 0

    def add_extras(after: int | None, before: int | None) -> None:
        nonlocal extra_count
        lo = -1 if after is None else after
        for s in range(lo + 1, len(student) if before is None else before):
            if s in used or s in dropped_copies:
                continue
            c = student[s]
            if c["cell_type"] == "code" and _looks_like_test(c["source"], test_sources):
                # A stray copy of a test cell (its metadata lost): the real ones run from the assignment.
                dropped_copies.add(s)
                continue
            extra_count += 1
            cid = f"student-extra-{extra_count:03d}"
            if c["cell_type"] == "code":
                cells.append(_code_cell(cid, c["source"], {}))
            else:
                cells.append(_markdown_cell(cid, c["source"], {}, c["cell_type"]))
            out_roles.append(("extra", None))
            used.add(s)

    test_sources = [c["source"] for c, role in zip(release, roles) if role == "test"]
    order = [match[r] for r in sorted(match)]
    if order != sorted(order):
        notes.append(Note("some cells were not in the assignment's order; they were graded in the original order"))
    # Student cells before the first matched one stay at the top.
    first = min(match.values()) if match else None
    add_extras(None, first)
    restored_tests, edited_tests, retyped, missing_answers, restored_setup = [], [], [], [], []
    for r, cell in enumerate(release):
        role, g = roles[r], gid[r]
        cid = cell.get("id") or f"cell-{r:03d}"
        meta = json.loads(json.dumps(cell.get("metadata", {})))
        s = match.get(r)
        mine = student[s] if s is not None else None
        if role in ("test", "locked"):
            original = source_by_id.get(g, cell)
            if mine is None:
                restored_tests.append(g)
            else:
                if mine["cell_type"] != cell["cell_type"]:
                    retyped.append(g)
                elif _squash(mine["source"]) != _squash(cell["source"]) and _squash(mine["source"]) != _squash(
                    original["source"]
                ):
                    edited_tests.append(g)
            cells.append(
                _code_cell(cid, original["source"], meta)
                if cell["cell_type"] == "code"
                else _markdown_cell(cid, original["source"], meta)
            )
        elif role == "answer":
            if mine is None:
                missing_answers.append(g)
                text = cell["source"]
            else:
                text = mine["source"]
                if mine["cell_type"] != "code":
                    retyped.append(g)
            cells.append(_code_cell(cid, text, meta))
        elif role == "written":
            if mine is None:
                missing_answers.append(g)
            cells.append(_markdown_cell(cid, mine["source"] if mine is not None else cell["source"], meta))
        else:
            if mine is None and cell["cell_type"] == "code" and cell["source"].strip():
                restored_setup.append(cid)
            text = mine["source"] if mine is not None else cell["source"]
            cells.append(
                _code_cell(cid, text, {}) if cell["cell_type"] == "code" else _markdown_cell(cid, text, {}, cell["cell_type"])
            )
        out_roles.append((role, g))
        if s is not None:
            following = [match[q] for q in match if match[q] > s]
            add_extras(s, min(following) if following else None)
    add_extras(None, None)  # anything left (e.g. before a moved cell)

    if not has_metadata and any(g for g in gid):
        notes.append(
            Note(
                "the notebook had none of nbgrader's cell metadata (it was probably copied into a new "
                "notebook); answers were matched by the functions they define"
                + (f" ({', '.join(sorted(set(by_content)))})" if by_content else "")
                + " — please check the matching",
                True,
            )
        )
    elif by_content:
        notes.append(
            Note(
                f"cell(s) {', '.join(sorted(set(by_content)))} had lost their nbgrader metadata and were matched by content", True
            )
        )
    if restored_tests:
        notes.append(
            Note(f"test cell(s) {', '.join(restored_tests)} were missing (deleted?) and were put back from the assignment")
        )
    if edited_tests:
        notes.append(Note(f"test cell(s) {', '.join(edited_tests)} had been edited; the original tests were used"))
    if retyped:
        notes.append(Note(f"cell(s) {', '.join(retyped)} had their type changed; they were graded as the assignment's cell type"))
    if duplicates:
        notes.append(
            Note(
                f"cell(s) {', '.join(sorted(set(duplicates)))} appeared more than once; the first copy "
                "was graded and copies of test cells were removed"
            )
        )
    if missing_answers:
        notes.append(Note(f"answer cell(s) {', '.join(missing_answers)} were missing; they were graded as unanswered", True))
    if restored_setup:
        notes.append(Note("setup code cell(s) deleted from the notebook were put back from the assignment"))
    return Normalized(cells=cells, roles=out_roles, notes=notes)


def _looks_like_test(source: str, tests: list[str]) -> bool:
    return ("checks.check_" in source or "checks.passed(" in source) and any(similarity(source, test) >= 0.6 for test in tests)


def empty_submission(release: list[dict], source: list[dict]) -> Normalized:
    """The assignment as released (no answers), for a notebook that is missing or unreadable."""
    normalized = normalize([], release, source)
    normalized.notes = []
    return normalized


def _strip_solution_markers(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def perfect_submission(released: dict, source: dict) -> dict:
    """A released notebook with every answer cell filled in from the source: a student who got it all right."""
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: _strip_solution_markers("".join(c["source"]))
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    filled = json.loads(json.dumps(released))
    for cell in filled["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return filled
