"""What to run for an assignment, and the reference run that records what every check expects.

:func:`build_plan` reads the solution notebooks (synced with nbgrader's gradebook) into a :class:`Plan`;
:func:`compute_references` runs the solution in a sandbox and keeps each check's expected value;
:func:`load_references` / :func:`save_references` cache them, keyed by the solution's hash.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader import byo
from grader import rewrite as rw
from grader import sandbox as sb
from grader.astutil import parse
from grader.hidden_tests import hidden_line_numbers
from grader.state import GRADER_VERSION, AssignmentError, Course, quiet_nbgrader, read_json, write_json
from grader.submission import perfect_submission, role_of


@dataclass
class NotebookPlan:
    name: str  # file stem
    source: list[dict]  # cells of solutions/<a>/<name>.ipynb
    release: list[dict]  # cells of the released notebook (from nbgrader, with checksums)
    metadata: dict
    tests: dict[str, rw.RewrittenCell]
    points: dict[str, float]
    references: dict[str, dict[str, list[dict]]] = field(default_factory=dict)  # grade_id -> check -> records
    hidden: dict[str, set[int]] = field(default_factory=dict)  # grade_id -> indices of checks in hidden tests


@dataclass
class Plan:
    assignment: str
    sha: str
    notebooks: list[NotebookPlan]
    preload: list[str]
    files: dict[str, bytes] = field(default_factory=dict)  # beside every notebook: see assignment_files


def _cells(nb: dict) -> list[dict]:
    out = []
    for cell in nb["cells"]:
        source = cell.get("source", "")
        out.append(
            {
                "cell_type": cell["cell_type"],
                "id": cell.get("id"),
                "metadata": cell.get("metadata", {}),
                "source": "".join(source) if isinstance(source, list) else source,
            }
        )
    return out


#: nbgrader's templates for ``### AUTOTEST`` lines: read from the assignment's source folder, else the course root.
AUTOTESTS = "autotests.yml"


def _autotest_templates(course: Course, assignment: str) -> list[Path]:
    return [p for p in (course.solutions / assignment / AUTOTESTS, course.root / AUTOTESTS) if p.is_file()]


@functools.cache
def ignored_patterns() -> tuple[str, ...]:
    """Names in an assignment folder that are not the assignment's: nbgrader's ``CourseDirectory.ignore`` as
    the course configures it (``grader/nbgrader_config.py``, read once per process: every submission asks),
    plus nbgrader's AUTOTEST templates."""
    from grader.nbgrader_setup import load_config

    return tuple(dict.fromkeys([*load_config(Path(".")).CourseDirectory.ignore, AUTOTESTS]))


def is_ignored(rel: Path) -> bool:
    """Whether a path inside an assignment folder (or a submission) is left out: any of its parts matches
    one of `ignored_patterns`."""
    import fnmatch

    return any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in ignored_patterns())


#: The most an assignment's own files (data, helper modules) may weigh: each notebook run carries a copy.
MAX_FILES_BYTES = 64 * 2**20


def assignment_files(course: Course, assignment: str) -> dict[str, bytes]:
    """Every file of the assignment's source folder but its notebooks (data, helper modules): nbgrader releases
    them with the notebooks and its autograde runs each notebook beside the source's copies, so the sandbox
    writes them beside every notebook it runs (the solution's reference run and each student's).

    Raises AssignmentError when they weigh more than MAX_FILES_BYTES."""
    folder = course.solutions / assignment
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or is_ignored(rel):
            continue
        if len(rel.parts) == 1 and path.suffix == ".ipynb":
            continue  # the graded notebooks themselves
        if not path.resolve().is_relative_to(folder.resolve()):
            raise AssignmentError(f"{assignment}: {rel} is a link to outside the assignment folder; copy the file in instead")
        files[rel.as_posix()] = path.read_bytes()
    total = sum(map(len, files.values()))
    if total > MAX_FILES_BYTES:
        raise AssignmentError(
            f"{assignment}: the files beside its notebooks weigh {total / 2**20:.0f} MB; the grader copies them into "
            f"every notebook's sandbox and takes at most {MAX_FILES_BYTES // 2**20} MB: put large data in the dataset "
            "cache (course_utils.data) instead"
        )
    return files


def source_sha(course: Course, assignment: str, files: dict[str, bytes] | None = None) -> str:
    """The hash of what grading an assignment depends on; ``files``: its `assignment_files`, if already read."""
    h = hashlib.sha256(f"p2l-grader {GRADER_VERSION}\n".encode())
    for path in [*sorted((course.solutions / assignment).glob("*.ipynb")), *_autotest_templates(course, assignment)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for rel, data in (assignment_files(course, assignment) if files is None else files).items():
        h.update(b"file\0" + rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def sync_gradebook(course: Course, assignment: str, sha: str) -> dict[str, dict]:
    """Put the assignment (source cells, hidden tests, points) into the course gradebook; return the release.

    nbgrader's ``generate_assignment`` runs in a throwaway course folder whose
    gradebook *is* the course's, so nothing in ``exercises/`` is touched.
    """
    state_dir = course.grading / assignment
    release_dir = state_dir / "release"
    stamp = read_json(state_dir / "gradebook-sync.json") or {}
    if stamp.get("sha") != sha or not course.gradebook.exists() or not release_dir.is_dir():
        with tempfile.TemporaryDirectory(prefix="p2l-sync-") as tmp:
            scratch = Course(Path(tmp))
            scratch.add_assignment(assignment, course.solutions)
            for template in _autotest_templates(course, assignment):  # where nbgrader looks for them
                inside = template.parent == course.solutions / assignment
                shutil.copy2(template, (scratch.solutions / assignment if inside else scratch.root) / template.name)
            with quiet_nbgrader():
                api = scratch.api(CourseDirectory__db_url=course.db_url)
                result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise AssignmentError(
                    f"nbgrader generate_assignment {assignment} failed:\n{result.get('log', '')}{result.get('error', '')}"
                )
            shutil.rmtree(release_dir, ignore_errors=True)
            release_dir.mkdir(parents=True)
            for path in (scratch.exercises / assignment).glob("*.ipynb"):
                shutil.copy2(path, release_dir / path.name)
        write_json(state_dir / "gradebook-sync.json", {"sha": sha})
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(release_dir.glob("*.ipynb"))}


def _imports(cells: list[dict]) -> set[str]:
    import ast

    names = set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = parse(cell["source"])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def _recorded_tests(course: Course, assignment: str, notebook: str) -> dict[str, str]:
    """The test cells as nbgrader recorded them in the gradebook: what its ``autograde`` runs.

    Usually the source's own text; nbgrader's ``### AUTOTEST`` lines are turned into asserts there (from
    ``autotests.yml``), and a plan made from the source text would run only comments.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with quiet_nbgrader(), Gradebook(course.db_url) as gb:
        try:
            cells = gb.find_notebook(notebook, assignment).source_cells
        except MissingEntry:
            return {}
        return {c.name: c.source for c in cells if c.cell_type == "code"}


def build_plan(course: Course, assignment: str, strict: bool = False) -> Plan:
    """Read and rewrite an assignment (no execution): raises AssignmentError listing every broken test cell.

    Test cells written nbgrader's way (bare ``assert``...) are planned by :mod:`grader.byo`, unless ``strict``."""
    files = assignment_files(course, assignment)
    sha = source_sha(course, assignment, files)
    release = sync_gradebook(course, assignment, sha)
    notebooks, problems, imported = [], [], set()
    for path in sorted((course.solutions / assignment).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        source = _cells(nb)
        recorded = _recorded_tests(course, assignment, path.stem)
        for cell in source:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if role_of(cell) == "test" and grade_id in recorded:
                cell["source"] = recorded[grade_id]
        tests, points, hidden = {}, {}, {}
        ctx = byo.context(source)
        for cell in source:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade"):
                points[meta["grade_id"]] = float(meta.get("points", 0))
            if role_of(cell) == "test":
                try:
                    try:
                        tests[meta["grade_id"]] = rw.rewrite(cell["source"])
                    except rw.RewriteError:
                        if strict or not byo.is_nbgrader_style(cell["source"]):
                            raise
                        tests[meta["grade_id"]] = byo.plan_cell(cell["source"], ctx)
                    lines = hidden_line_numbers(cell["source"])
                    if lines:
                        hidden[meta["grade_id"]] = {c.index for c in tests[meta["grade_id"]].checks if c.line in lines}
                        if byo.judged_where(tests[meta["grade_id"]]) == "inside":
                            hidden[meta["grade_id"]].add(-1)
                except rw.RewriteError as err:
                    problems.append(f"{path.name}, test cell {meta['grade_id']}: {err}")
        if path.stem not in release:
            problems.append(f"{path.name}: nbgrader did not release it")
            continue
        notebooks.append(
            NotebookPlan(
                name=path.stem,
                source=source,
                release=_cells(release[path.stem]),
                metadata=nb.get("metadata", {}),
                tests=tests,
                points=points,
                hidden=hidden,
            )
        )
        imported |= {n for n in _imports(source) if n.split(".")[0] not in ("os", "sys", "subprocess", "importlib")}
    if problems:
        raise AssignmentError(
            f"{assignment} cannot be autograded safely (run `python -m grader lint`):\n  " + "\n  ".join(problems)
        )
    # The course's stack when the assignment uses it (its students' notebooks will too); else only what the
    # assignment imports and the worker needs itself: an nbgrader assignment on plain Python or numpy does not
    # make each worker import torchvision, matplotlib and every course_utils module (2.6 s a worker).
    uses_the_stack = {n.split(".")[0] for n in imported} & sb.STACK_ROOTS
    preload = imported | set(sb.DEFAULT_PRELOAD if uses_the_stack else sb.WORKER_PRELOAD)
    return Plan(assignment=assignment, sha=sha, notebooks=notebooks, preload=sorted(preload), files=files)


def job_cells(cells: list[dict], roles: list[tuple[str, str | None]], nb: NotebookPlan, reference: bool):
    """The code cells to run, with test cells replaced by their rewritten versions; and their positions."""
    job, where = [], []
    for i, (cell, (role, grade_id)) in enumerate(zip(cells, roles)):
        if cell["cell_type"] != "code":
            continue
        if role == "test" and grade_id in nb.tests:
            rewritten = nb.tests[grade_id]
            job.append(
                {
                    "source": rewritten.reference_source if reference else rewritten.student_source,
                    "test": True,
                    "grade_id": grade_id,
                    # The routes the sandbox watches this cell for (the reference run keeps call_without itself).
                    "forbid": [] if reference else list(getattr(rewritten, "forbidden", [])),
                    "guarded_lines": [] if reference else list(getattr(rewritten, "guarded_lines", [])),
                }
            )
        else:
            job.append({"source": cell["source"], "test": False})
        where.append(i)
    return job, where


def records_by_check(records) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if not isinstance(records, list):
        return out
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("check"), int):
            out.setdefault(str(record["check"]), []).append(record)
    return out


def _source_roles(cells: list[dict]) -> list[tuple[str, str | None]]:
    return [(role_of(c), c["metadata"].get("nbgrader", {}).get("grade_id")) for c in cells]


def missing_module_hint(error: dict) -> str:
    """What to do when the solution cannot import a module in the sandbox (empty for any other error).

    The sandbox sees only the Python environment's own folders (and ``course_utils``): a package installed
    with ``pip install -e`` or found through ``PYTHONPATH`` lives elsewhere and is not there.
    """
    import importlib.util
    import re

    found = re.match(r"No module named '([\w.]+)'", str(error.get("evalue", "")))
    if error.get("ename") != "ModuleNotFoundError" or not found:
        return ""
    top = found.group(1).split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return f" ({top} is not installed: install it into the environment that runs the grader, then grade again)"
    where = spec.origin or ", ".join(spec.submodule_search_locations or []) or "outside the environment"
    return (
        f" ({top} is importable here, from {where}, but not in the sandbox, which sees only the Python "
        "environment's own folders: install it there with `pip install` (not `pip install -e` or PYTHONPATH), "
        "then grade again)"
    )


def compute_references(plan: Plan, worker: sb.Worker, log) -> None:
    """Run the solution (reference mode) in a sandbox; keep every check's expected value; verify them."""
    from grader.compare import check_reference

    for nb in plan.notebooks:
        roles = _source_roles(nb.source)
        job, _where = job_cells(nb.source, roles, nb, reference=True)
        result = worker.run(nb.name, job, plan.files)
        ends = {e.get("cell"): e for e in result.events if e.get("event") == "end"}
        failures = []
        for index, cell in enumerate(job):
            end = ends.get(index)
            if end is None:
                failures.append(
                    f"cell {index + 1} of the solution did not finish ({result.status}; "
                    f"{'; '.join(result.problems) or 'no output'})"
                )
                break
            if not cell["test"]:
                if end.get("error"):
                    failures.append(
                        f"a cell of the solution raised {end['error'].get('ename')}: {str(end['error'].get('evalue'))[:300]}"
                        + missing_module_hint(end["error"])
                    )
                continue
            grade_id = cell["grade_id"]
            by_check = records_by_check(end.get("records"))
            opaque = [
                spec.statement
                for spec in nb.tests[grade_id].checks
                if spec.kind == byo.KIND and any(byo.opaque_in_reference(r) for r in by_check.get(str(spec.index), []))
            ]
            if opaque and not end.get("error"):
                # The solution's values are not plain data: judge this cell inside, as written, rather than blind.
                reason = f"the solution's values in `{opaque[0][:60]}` are not plain data"
                nb.references[grade_id] = {byo.INSIDE_KEY: reason}
                nb.tests[grade_id] = byo.inside_cell(_test_source(nb, grade_id), reason)
                nb.hidden.get(grade_id, set()).add(-1)
                continue
            if end.get("error"):
                failures.append(
                    f"test cell {grade_id} raised {end['error'].get('ename')} on the solution: "
                    f"{str(end['error'].get('evalue'))[:300]}"
                )
            for spec in nb.tests[grade_id].checks:
                recs = by_check.get(str(spec.index), [])
                if not recs:
                    failures.append(f"{grade_id}: check {spec.name!r} did not run on the solution")
                for rec in recs:
                    verdict = check_reference(spec, rec)
                    if not verdict.passed:
                        failures.append(f"{grade_id}: the solution fails its own check: {verdict.message}")
            nb.references[grade_id] = {k: [{"expected": r.get("expected")} for r in v] for k, v in by_check.items()}
        if failures:
            raise AssignmentError(f"{plan.assignment}/{nb.name}: the reference run failed:\n  " + "\n  ".join(failures))
        log(
            f"  {plan.assignment}/{nb.name}: recorded the expected values of "
            f"{sum(len(t.checks) for t in nb.tests.values())} checks in {result.seconds:.1f} s"
        )


def _test_source(nb: NotebookPlan, grade_id: str) -> str:
    return next(c["source"] for c in nb.source if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _reference_file(course: Course, plan: Plan) -> Path:
    return course.grading / plan.assignment / "reference.json"


def load_references(course: Course, plan: Plan) -> bool | None:
    """Load the recorded expected values: None if there are none for this solution, else whether they were
    verified (the solution graded like a student got full marks)."""
    data = read_json(_reference_file(course, plan))
    if not data or data.get("sha") != plan.sha:
        return None
    for nb in plan.notebooks:
        refs = data.get("notebooks", {}).get(nb.name)
        if refs is None:
            return None
        nb.references = refs
        for grade_id, ref in refs.items():
            if isinstance(ref, dict) and byo.INSIDE_KEY in ref and grade_id in nb.tests:
                nb.tests[grade_id] = byo.inside_cell(_test_source(nb, grade_id), str(ref[byo.INSIDE_KEY]))
                if grade_id in nb.hidden:
                    nb.hidden[grade_id].add(-1)
    return data.get("verified") is True


def save_references(course: Course, plan: Plan, verified: bool) -> None:
    write_json(
        _reference_file(course, plan),
        {"sha": plan.sha, "verified": verified, "notebooks": {nb.name: nb.references for nb in plan.notebooks}},
    )


def perfect_cells(nb: NotebookPlan) -> list[dict]:
    """The released notebook with every answer filled in from the solution (what a perfect student hands in)."""
    released = {"cells": [{**c, "outputs": [], "execution_count": None} if c["cell_type"] == "code" else c for c in nb.release]}
    source = {"cells": nb.source}
    filled = perfect_submission(released, source)
    return filled["cells"]
