"""Build the committed notebooks from their jupytext sources in ``src/``.

Lessons and exercise solutions are written as diffable ``py:percent`` files:

* ``src/lessons/NN_name.py``     → ``lessons/NN_name.ipynb``
* ``src/solutions/exNN_name.py`` → ``solutions/exNN_name/exNN_name.ipynb`` (the nbgrader source)

Exercise cells are marked in the cell header with a short ``kind``, turned here
into nbgrader's cell metadata (what its "Create Assignment" toolbar would
write)::

    # %% kind="solution" id="to_tensor"            a function the student writes
    # %% kind="tests" id="test_to_tensor" points=3  self-checks (+ hidden tests)
    # %% [markdown] kind="written" id="q_equiv" points=2   a manually graded answer
    # %% kind="locked" id="setup"                   a read-only cell

The build is deterministic: stable cell ids, a fixed ``python3`` kernelspec,
no outputs; every notebook gets the same Colab bootstrap cell right after its
title. CI rebuilds everything and fails if a committed file would change.

A lesson states its runtime under its objectives as ``{{runtime}}``; the build
writes the measured seconds from ``lessons/runtimes.json`` there, the same
record the README's course map is drawn from (``python -m grader.readme``
refreshes both after the browser tests have measured a run).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

#: Where the Colab bootstrap installs the course from. Change it here (one place) in a fork.
COURSE_REPO = "https://github.com/pixels-to-labels/pixels-to-labels"

BOOTSTRAP_ID = "colab-bootstrap"
BOOTSTRAP = f'''\
# Setup: on Colab (or any machine without the course installed) this installs it; elsewhere it does nothing.
import importlib, importlib.util, subprocess, sys
COURSE_REPO = "{COURSE_REPO}"  # your fork? change it here
if importlib.util.find_spec("course_utils") is None:
    print("Installing the course package and what this runtime lacks (about a minute)...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"git+{{COURSE_REPO}}"], check=True)
    importlib.invalidate_caches()'''

#: The one record of measured lesson runtimes (seconds per lesson stem); see grader/readme.py.
RUNTIMES = ROOT / "lessons" / "runtimes.json"
RUNTIME_TOKEN = "{{runtime}}"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}

NBGRADER_KINDS = {
    "solution": {"solution": True, "grade": False, "locked": False},
    "tests": {"solution": False, "grade": True, "locked": True},
    "written": {"solution": True, "grade": True, "locked": False},
    "locked": {"solution": False, "grade": False, "locked": True},
}
_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class BuildError(ValueError):
    """A source file breaks a convention; the message names the file and cell."""


def _cell_id(stem: str, index: int) -> str:
    return f"{stem[:40]}-{index:03d}"


def _nbgrader_metadata(cell, where: str) -> dict | None:
    meta = cell.metadata
    kind = meta.pop("kind", None)
    grade_id, points = meta.pop("id", None), meta.pop("points", None)
    if kind is None:
        if grade_id is not None or points is not None:
            raise BuildError(f"{where}: 'id'/'points' given without a kind")
        return None
    if kind not in NBGRADER_KINDS:
        raise BuildError(f"{where}: unknown kind {kind!r}; use one of {sorted(NBGRADER_KINDS)}")
    if not grade_id or not _ID.match(str(grade_id)):
        raise BuildError(f'{where}: kind={kind!r} needs id="..." (letters, digits, - and _)')
    expected_type = "markdown" if kind == "written" else "code"
    if cell.cell_type != expected_type:
        raise BuildError(f"{where}: kind={kind!r} must be a {expected_type} cell")
    info = {"grade_id": str(grade_id), **NBGRADER_KINDS[kind], "schema_version": 3}
    if info["grade"]:
        if not isinstance(points, (int, float)) or points <= 0:
            raise BuildError(f"{where}: a graded cell needs points=N (N > 0)")
        info["points"] = points
    elif points is not None:
        raise BuildError(f"{where}: points given to an ungraded {kind!r} cell")
    return info


def lesson_runtimes() -> dict[str, int]:
    """Measured seconds per lesson stem, from lessons/runtimes.json (empty if there is none yet)."""
    if not RUNTIMES.exists():
        return {}
    return {stem: int(seconds) for stem, seconds in json.loads(RUNTIMES.read_text(encoding="utf-8"))["seconds"].items()}


def runtime_text(stem: str) -> str:
    """What a lesson's header says for ``{{runtime}}``: "about 21 s", or that it is not measured yet."""
    seconds = lesson_runtimes().get(stem)
    return f"about {seconds} s" if seconds is not None else "not measured yet"


#: In every built notebook's metadata (beside ``generated_from``): where to make a change so that it stays.
GENERATED_NOTE = "Do not edit: `make notebooks` writes this notebook from the source file named above; edit that, then run it."


def build_notebook(source: Path) -> nbformat.NotebookNode:
    """Read one py:percent source and return the notebook to commit."""
    source = Path(source).resolve()
    nb = jupytext.read(source, fmt="py:percent")
    stem = source.stem
    is_lesson = source.parent == SRC / "lessons"
    cells = []
    for index, cell in enumerate(nb.cells):
        where = f"{source.relative_to(ROOT)} cell {index}"
        info = _nbgrader_metadata(cell, where)
        metadata = {"nbgrader": info} if info else {}
        text = cell.source
        if RUNTIME_TOKEN in text:
            if not (is_lesson and index == 0 and cell.cell_type == "markdown"):
                raise BuildError(f"{where}: {RUNTIME_TOKEN} belongs in a lesson's first (title) cell only")
            text = text.replace(RUNTIME_TOKEN, runtime_text(stem))
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(text, metadata=metadata)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(text, metadata=metadata)
        else:
            raise BuildError(f"{where}: unsupported cell type {cell.cell_type}")
        new["id"] = info["grade_id"] if info else _cell_id(stem, index)
        cells.append(new)
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.startswith("# "):
        raise BuildError(f"{source.relative_to(ROOT)}: the first cell must be a markdown title ('# ...')")
    bootstrap = nbformat.v4.new_code_cell(BOOTSTRAP)
    bootstrap["id"] = BOOTSTRAP_ID
    cells.insert(1, bootstrap)
    ids = [c["id"] for c in cells]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise BuildError(f"{source.relative_to(ROOT)}: duplicate cell ids {duplicates}")
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": LANGUAGE_INFO,
        "p2l": {"generated_from": str(source.relative_to(ROOT)), "note": GENERATED_NOTE},
    }
    out.nbformat, out.nbformat_minor = 4, 5
    nbformat.validate(out)
    return out


def targets() -> dict[Path, Path]:
    """Map every source file to the notebook it builds."""
    mapping = {}
    for source in sorted((SRC / "lessons").glob("*.py")):
        mapping[source] = ROOT / "lessons" / f"{source.stem}.ipynb"
    for source in sorted((SRC / "solutions").glob("*.py")):
        mapping[source] = ROOT / "solutions" / source.stem / f"{source.stem}.ipynb"
    return mapping


def render(nb: nbformat.NotebookNode) -> str:
    """The exact text written to disk (nbformat's layout, trailing newline)."""
    return nbformat.writes(nb) + "\n"


def build(check: bool = False) -> list[Path]:
    """Build every notebook; with ``check``, write nothing and return those that differ."""
    stale = []
    for source, target in targets().items():
        text = render(build_notebook(source))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            stale.append(target)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv or [])
    stale = build(check=check)
    for path in stale:
        print(("out of date: " if check else "built: ") + str(path.relative_to(ROOT)))
    if check and stale:
        print("run `make notebooks` and commit the result", file=sys.stderr)
        return 1
    return 0
