"""Sandboxed, parallel, tamper-proof autograding on top of nbgrader.

For each assignment:

1. **Prepare** (once per change of ``solutions/``): sync nbgrader's gradebook
   (``generate_assignment`` in a throwaway folder, writing only the course's
   ``gradebook.db``), rewrite every test cell (:mod:`grader.rewrite`), and run
   the solution in a sandbox to record the *expected* value of every check.
   The solution must pass its own checks, and must also get full marks when
   graded exactly like a student; otherwise the assignment is refused with the
   reason.
2. **Run** each submission's notebooks in warm sandboxes (:mod:`grader.sandbox`),
   ``--jobs`` at a time: the student's cells as written, the test cells
   rewritten to record actual values only.
3. **Judge** in this process (:mod:`grader.compare`): a test cell scores its
   points only if every check in it matches the reference.
4. **Record** with nbgrader's own ``autograde`` (without its execution step):
   the graded notebook, with the verdicts as the test cells' outputs, goes
   through nbgrader's sanitizing, ``SaveAutoGrades`` and late penalties, so the
   gradebook, ``autograded/``, ``feedback`` and ``export`` are nbgrader's.

State lives in ``grading/<assignment>/<student>/`` (``result.json`` after
step 3, ``state.json`` after step 4, both written atomically and keyed by hashes
of the submission and the reference): a re-run skips what is done, and after a
``kill -9`` it redoes only the unfinished step of the unfinished students.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader import answer_scan
from grader import byo
from grader import course as nbcourse
from grader import rewrite as rw
from grader import sandbox as sb
from grader.submission import Note, empty_submission, normalize, read_notebook, role_of

#: Bump when grading logic changes so that cached references and results are recomputed.
GRADER_VERSION = "1"
NOTES_CELL_ID = "grader-notes"
MAX_SUBMISSION_BYTES = 256 * 2**20


class AssignmentError(RuntimeError):
    """An assignment cannot be graded (its tests break a rule, or its solution fails them)."""


# ----------------------------------------------------------------------------- course layout


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


# ----------------------------------------------------------------------------- the plan of an assignment


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


HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def hidden_line_numbers(source: str) -> set[int]:
    """1-based numbers of the lines inside ``### BEGIN/END HIDDEN TESTS`` blocks (an unclosed block runs to the
    end of the cell), markers included."""
    out, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN in line:
            inside = True
        if inside:
            out.add(number)
        if HIDDEN_END in line:
            inside = False
    return out


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


def source_sha(course: Course, assignment: str) -> str:
    h = hashlib.sha256(f"p2l-grader {GRADER_VERSION}\n".encode())
    for path in sorted((course.solutions / assignment).glob("*.ipynb")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
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
            tmp_root = Path(tmp)
            (tmp_root / "solutions" / assignment).mkdir(parents=True)
            for path in (course.solutions / assignment).glob("*.ipynb"):
                shutil.copy2(path, tmp_root / "solutions" / assignment / path.name)
            with quiet_nbgrader():
                api = nbcourse.api(tmp_root, CourseDirectory__db_url=course.db_url)
                result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise AssignmentError(
                    f"nbgrader generate_assignment {assignment} failed:\n{result.get('log', '')}{result.get('error', '')}"
                )
            shutil.rmtree(release_dir, ignore_errors=True)
            release_dir.mkdir(parents=True)
            for path in (tmp_root / "exercises" / assignment).glob("*.ipynb"):
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
            tree = ast.parse(cell["source"])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def build_plan(course: Course, assignment: str, strict: bool = False) -> Plan:
    """Read and rewrite an assignment (no execution): raises AssignmentError listing every broken test cell.

    Test cells written nbgrader's way (bare ``assert``...) are planned by :mod:`grader.byo`, unless ``strict``."""
    sha = source_sha(course, assignment)
    release = sync_gradebook(course, assignment, sha)
    notebooks, problems, preload = [], [], set(sb.DEFAULT_PRELOAD)
    for path in sorted((course.solutions / assignment).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        source = _cells(nb)
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
        preload |= {n for n in _imports(source) if n.split(".")[0] not in ("os", "sys", "subprocess", "importlib")}
    if problems:
        raise AssignmentError(
            f"{assignment} cannot be autograded safely (run `python -m grader lint`):\n  " + "\n  ".join(problems)
        )
    return Plan(assignment=assignment, sha=sha, notebooks=notebooks, preload=sorted(preload))


def _job_cells(cells: list[dict], roles: list[tuple[str, str | None]], nb: NotebookPlan, reference: bool):
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
                }
            )
        else:
            job.append({"source": cell["source"], "test": False})
        where.append(i)
    return job, where


def _records_by_check(records) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if not isinstance(records, list):
        return out
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("check"), int):
            out.setdefault(str(record["check"]), []).append(record)
    return out


def _source_roles(cells: list[dict]) -> list[tuple[str, str | None]]:
    return [(role_of(c), c["metadata"].get("nbgrader", {}).get("grade_id")) for c in cells]


def compute_references(plan: Plan, worker: sb.Worker, log) -> None:
    """Run the solution (reference mode) in a sandbox; keep every check's expected value; verify them."""
    from grader.compare import check_reference

    for nb in plan.notebooks:
        roles = _source_roles(nb.source)
        job, _where = _job_cells(nb.source, roles, nb, reference=True)
        result = worker.run(nb.name, job)
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
                    )
                continue
            grade_id = cell["grade_id"]
            by_check = _records_by_check(end.get("records"))
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
    filled = nbcourse.perfect_submission(released, source)
    return filled["cells"]


# ----------------------------------------------------------------------------- grading one submission


@dataclass
class NotebookGrade:
    name: str
    file: str | None
    cells: list[dict]  # the graded notebook's cells, with outputs
    tests: dict[str, dict]  # grade_id -> {"passed": bool, "points": .., "messages": [...]}
    notes: list[dict]
    seconds: float = 0.0
    status: str = ""


def _short_source(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            line = line.strip()
            return line if len(line) <= 50 else line[:47] + "..."
    return "(empty)"


_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


#: What of a student's rich output reaches the graded notebook (and the feedback): text and raster images.
#: HTML, SVG, Markdown, LaTeX, JavaScript and widgets could run script or draw a fake verdict in the
#: instructor's formgrader and in the student's feedback page; they are reduced to text.
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment (tags, scripts and styles removed), for showing as plain text."""
    import re

    import bleach

    html = re.sub(r"(?is)<(script|style)\b.*?(</\1\s*>|$)", "", html)
    text = bleach.clean(html, tags=set(), attributes={}, strip=True, strip_comments=True)
    import html as html_lib

    return html_lib.unescape(text)


def safe_bundle(data: dict) -> dict:
    """Keep the safe MIME types of one output bundle; with none of them, the text of its HTML/Markdown."""
    out = {}
    for key, value in data.items():
        key = str(key)[:100]
        if key in SAFE_MIME and isinstance(value, str):
            if key.startswith("image/") and not _is_base64(value):
                continue
            out[key] = value
    if "text/plain" not in out:
        for key in ("text/html", "text/markdown", "text/latex"):
            if isinstance(data.get(key), str):
                out["text/plain"] = html_to_text(data[key])[:100_000]
                break
    return out


def _is_base64(value: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9+/=\s]*", value[:10_000]) is not None


def sanitize_outputs(outputs, limits: sb.Limits) -> list[dict]:
    """Valid nbformat outputs only, capped again here (the sandbox's own caps are not trusted)."""
    clean: list[dict] = []
    budget = limits.text_per_cell * 2 + limits.image_bytes
    if not isinstance(outputs, list):
        return clean
    for out in outputs[:200]:
        if not isinstance(out, dict) or out.get("output_type") not in _OUTPUT_TYPES:
            continue
        kind = out["output_type"]
        if kind == "stream":
            name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
            text = str(out.get("text", ""))[: limits.text_per_cell + 200]
            item = {"output_type": "stream", "name": name, "text": text}
            size = len(text)
        elif kind == "error":
            tb = out.get("traceback") if isinstance(out.get("traceback"), list) else []
            item = {
                "output_type": "error",
                "ename": str(out.get("ename", "Error"))[:200],
                "evalue": str(out.get("evalue", ""))[:5000],
                "traceback": [str(t)[:5000] for t in tb[:60]],
            }
            size = sum(len(t) for t in item["traceback"]) + len(item["evalue"])
        else:
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            data = safe_bundle(data)
            if not data:
                continue
            meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
            meta = {k: v for k, v in meta.items() if k in data and isinstance(v, dict)}
            item = {"output_type": kind, "data": data, "metadata": json.loads(json.dumps(meta, default=str))}
            if kind == "execute_result":
                count = out.get("execution_count")
                item["execution_count"] = count if isinstance(count, int) else None
            size = len(json.dumps(data))
        if size > budget:
            clean.append({"output_type": "stream", "name": "stdout", "text": "... output not kept (output limit)\n"})
            break
        budget -= size
        clean.append(item)
    return clean


def _status_note(result: sb.JobResult, cell_label: str | None, limits: sb.Limits) -> Note | None:
    where = f" in {cell_label}" if cell_label else ""
    status = result.status
    detail = result.detail
    if status == "not_run":
        return None
    if status == "exited":
        if any(e.get("event") == "finish" for e in result.events):
            return None
        if detail.get("signal"):
            sig = detail["signal"]
            name = {
                9: "SIGKILL",
                11: "SIGSEGV (a segmentation fault)",
                6: "SIGABRT",
                24: "SIGXCPU (CPU time limit)",
                25: "SIGXFSZ (file size limit)",
            }.get(sig, f"signal {sig}")
            return Note(
                f"the notebook's Python process crashed{where} ({name}); the cells after it did not run, "
                "answers checked before it keep their points",
                True,
            )
        return Note(
            f"the notebook's Python process exited{where} (for example `os._exit()`); the cells after it "
            "did not run, answers checked before it keep their points",
            True,
        )
    if status == "cell_timeout":
        return Note(
            f"a cell ran longer than the {limits.cell_seconds:g} s limit and could not be interrupted"
            f"{where}; the notebook was stopped there",
            True,
        )
    if status == "notebook_timeout":
        return Note(
            f"the notebook ran longer than the {limits.notebook_seconds:g} s limit for a whole notebook; it was stopped{where}",
            True,
        )
    if status == "output_limit":
        return Note(
            f"the notebook produced more output than the grader keeps ({limits.result_bytes // 2**20} MB); it was stopped{where}",
            True,
        )
    return Note(
        f"the sandbox stopped unexpectedly{where} ({status}: {'; '.join(result.problems) or 'no detail'}); "
        "the cells after it did not run",
        True,
    )


def grade_notebook(
    nb: NotebookPlan, normalized, result: sb.JobResult, job: list[dict], where: list[int], limits: sb.Limits
) -> NotebookGrade:
    """Turn one sandbox run into a graded notebook: outputs, verdicts and notes."""
    from grader.compare import judge

    cells = [dict(c) for c in normalized.cells]
    notes = [dict(text=n.text, attention=n.attention) for n in normalized.notes]
    starts = {e.get("cell") for e in result.events if e.get("event") == "start" and isinstance(e.get("cell"), int)}
    ends = {}
    for e in result.events:
        if e.get("event") == "end" and isinstance(e.get("cell"), int) and e["cell"] not in ends:
            ends[e["cell"]] = e
    stopped_at = next((i for i in range(len(job)) if i not in ends), None)
    if result.problems and stopped_at is None and result.status != "exited":
        stopped_at = len(job)
    label = None
    if stopped_at is not None and stopped_at < len(job):
        cell = cells[where[stopped_at]]
        label = f"cell {where[stopped_at] + 1} (`{_short_source(cell['source'])}`)"
    note = _status_note(result, label, limits)
    stop_reason = note.text if note else "the notebook stopped before this cell"
    if note:
        notes.append(dict(text=note.text, attention=note.attention))
    for problem in result.problems:
        if "survived" in problem or "corrupt" in problem or "invalid" in problem or "mid-frame" in problem:
            notes.append(dict(text=problem, attention=True))
    tests: dict[str, dict] = {}
    count = 0
    for index, job_cell in enumerate(job):
        cell = cells[where[index]]
        end = ends.get(index)
        outputs = sanitize_outputs(end.get("outputs"), limits) if end else []
        if end:
            count += 1
            cell["execution_count"] = count
        if not job_cell["test"]:
            cell["outputs"] = outputs
            if end and isinstance(end.get("error"), dict):
                ename = str(end["error"].get("ename"))
                snippet = f"cell {where[index] + 1} (`{_short_source(cell['source'])}`)"
                if ename == "CellTimeout":
                    notes.append(
                        dict(
                            text=f"{snippet} ran longer than the {limits.cell_seconds:g} s limit and was interrupted",
                            attention=True,
                        )
                    )
                elif ename == "MemoryError" or "can't allocate memory" in str(end["error"].get("evalue")):
                    notes.append(dict(text=f"{snippet} ran out of memory (limit {limits.memory_mb} MB)", attention=True))
                elif "Read-only file system" in str(end["error"].get("evalue")):
                    notes.append(
                        dict(
                            text=f"{snippet} tried to write outside its own folder (everything else, "
                            "including the dataset cache, is read-only while grading)",
                            attention=True,
                        )
                    )
                elif ename == "BlockingIOError" or "Resource temporarily unavailable" in str(end["error"].get("evalue")):
                    notes.append(
                        dict(text=f"{snippet} tried to start too many processes (limit {limits.processes})", attention=True)
                    )
            if any(
                "output truncated" in o.get("text", "") or "figure(s) were not kept" in o.get("text", "")
                for o in outputs
                if o["output_type"] == "stream"
            ):
                notes.append(dict(text=f"the output of cell {where[index] + 1} was too long and was truncated"))
            continue
        grade_id = job_cell["grade_id"]
        rewritten = nb.tests[grade_id]
        references = nb.references.get(grade_id, {})
        hidden = nb.hidden.get(grade_id, set())
        if byo.judged_where(rewritten) == "inside":
            tests[grade_id] = _grade_inside(nb, grade_id, cell, end, outputs, stop_reason, rewritten.inside_reason)
            continue
        messages: list[str] = []  # for the notebook and the feedback: no value computed in a hidden test
        detailed: list[str] = []  # for the instructor (result.json, state.json)
        passed_checks = 0
        total_checks = 0
        if end is None:
            verdicts_ok = False
            messages.append(f"This test cell did not run: {stop_reason}.")
        else:
            actual = _records_by_check(end.get("records"))
            error = end.get("error") if isinstance(end.get("error"), dict) else None
            for spec in rewritten.checks:
                refs = references.get(str(spec.index), [])
                got = actual.get(str(spec.index), [])
                secret = spec.index in hidden
                for j, ref in enumerate(refs):
                    total_checks += 1
                    if j >= len(got):
                        why = (
                            (f" (the test cell stopped earlier with {error.get('ename')}: {str(error.get('evalue'))[:300]})")
                            if error
                            else ""
                        )
                        detailed.append(f"{spec.name}: this check did not run{why}.")
                        messages.append(f"{spec.name} (hidden test): this check did not run." if secret else detailed[-1])
                        continue
                    verdict = judge(spec, got[j], ref)
                    if verdict.passed:
                        passed_checks += 1
                    else:
                        detailed.append(verdict.message)
                        messages.append(f"{spec.name} (hidden test): failed." if secret else verdict.message)
                if len(got) > len(refs):
                    total_checks += 1
                    detailed.append(f"{spec.name}: the check ran {len(got)} times instead of {len(refs)}.")
                    messages.append(detailed[-1])
            if error and not messages:
                detailed.append(f"The test cell raised {error.get('ename')}: {str(error.get('evalue'))[:500]}")
                messages.append(f"The test cell raised {error.get('ename')}." if hidden else detailed[-1])
            if byo.judged_where(rewritten) == "outside" and hasattr(rewritten, "judged") and not messages:
                if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
                    # nbgrader scores a test cell that wrote to stderr as failed; so does the outside judgement.
                    detailed.append("The test cell wrote to stderr (nbgrader scores that as a failure).")
                    messages.append(detailed[-1])
            verdicts_ok = not messages
        visible = [o for o in outputs if o["output_type"] in ("stream", "display_data")]
        if grade_id in nb.hidden and visible:
            # Whatever student code printed or showed while the hidden tests ran could reveal their inputs.
            visible = [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "(the output of this cell is not shown: it runs hidden tests)\n",
                }
            ]
        for o in visible:
            if o["output_type"] == "stream":
                o["name"] = "stdout"  # nbgrader scores any stderr in a test cell as a failure; the verdict decides
        if verdicts_ok:
            what = rewritten.passed_label or grade_id
            visible.append(
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": f"✓ {what} ({passed_checks} check{'s' if passed_checks != 1 else ''} passed)\n",
                }
            )
        else:
            first = messages[0] if messages else "failed"
            failed_n = total_checks - passed_checks if total_checks else 1
            header = (
                f"Autograder: {failed_n} of {total_checks} check(s) in this cell failed."
                if total_checks and end is not None
                else "Autograder: this test cell scores no points."
            )
            visible.append(
                {
                    "output_type": "error",
                    "ename": "CheckFailed" if end is not None else "NotRun",
                    "evalue": first,
                    "traceback": [header, *messages[:20]],
                }
            )
        cell["outputs"] = visible
        tests[grade_id] = {
            "passed": verdicts_ok,
            "points": nb.points.get(grade_id, 0.0),
            "messages": (detailed or messages)[:20],
            "judged": "outside",
        }
    return NotebookGrade(
        name=nb.name, file=None, cells=cells, tests=tests, notes=_dedupe(notes), seconds=result.seconds, status=result.status
    )


def _grade_inside(nb: NotebookPlan, grade_id: str, cell: dict, end, outputs: list[dict], stop_reason: str, reason: str) -> dict:
    """An nbgrader-style test cell judged inside the sandbox: its outputs as nbgrader scores them, labelled."""
    points = nb.points.get(grade_id, 0.0)
    secret = grade_id in nb.hidden
    if end is None:
        shown = [
            {
                "output_type": "error",
                "ename": "NotRun",
                "evalue": f"This test cell did not run: {stop_reason}.",
                "traceback": ["Autograder: this test cell scores no points."],
            }
        ]
    else:
        shown = byo.inside_outputs(outputs, secret)
    shown.insert(0, byo.note_output(reason))
    cell["outputs"] = shown
    score = byo.nbgrader_score(shown, points, grade_id, cell["source"])
    messages = []
    for o in shown:
        if o["output_type"] == "error":
            messages.append(f"{o['ename']}: {o['evalue']}"[:500] if o["ename"] != "NotRun" else o["evalue"])
        elif o["output_type"] == "stream" and o["name"] == "stderr":
            messages.append("the cell wrote to stderr (nbgrader scores that as a failure)")
    if score < points and not messages:
        messages.append(f"partial credit: {score:g} of {points:g}")
    return {
        "passed": score >= points,
        "points": points,
        "score": score,
        "messages": messages[:20],
        "judged": "inside",
        "judged_reason": reason,
    }


def _dedupe(notes: list[dict]) -> list[dict]:
    seen, out = set(), []
    for note in notes:
        if note["text"] not in seen:
            seen.add(note["text"])
            out.append(note)
    return out


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
    others = [p for p in submission_files(folder) if p.suffix.lower() != ".ipynb" and p.name not in EXCHANGE_FILES]
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
        from grader.submission import defined_names

        for cell in nb.release:
            if role_of(cell) == "answer":
                answer_names |= defined_names(cell["source"])

        def score(path: Path) -> float:
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
                    text=f"no file was named {nb.name}.ipynb; '{chosen.relative_to(folder)}' was graded as that notebook",
                    attention=True,
                )
            )
        else:
            mapping[nb.name] = None
            notes.append(
                dict(text=f"the notebook {nb.name}.ipynb is missing from the submission; it scores zero", attention=True)
            )
    for path in left:
        notes.append(dict(text=f"the extra notebook '{path.relative_to(folder)}' was not graded"))
    if others:
        names = ", ".join(str(p.relative_to(folder)) for p in others[:5])
        notes.append(dict(text=f"other files in the submission were ignored: {names}" + (" ..." if len(others) > 5 else "")))
    return mapping, notes


def review_notes(student_cells: list[dict], source_cells: list[dict]) -> list[Note]:
    """The answer scan's flags (`grader.answer_scan`, read here in the trusted process, never run) as notes
    that ask the instructor to read the answer: a forbidden library route, or a tool that could switch the
    in-sandbox guard off. They change no score; `status` lists them."""
    flags = answer_scan.scan_notebook({"cells": student_cells}, reference={"cells": source_cells})
    return [Note(f"for review: {f.cell}, line {f.line}: {f.reason}", True) for f in flags]


def grade_submission(plan: Plan, folder: Path, worker: sb.Worker) -> dict:
    """Run and judge every notebook of one student's submission; returns the result record (plain JSON)."""
    mapping, sub_notes = map_notebooks(plan, folder)
    graded = []
    for nb in plan.notebooks:
        path = mapping.get(nb.name)
        student_cells, read_notes = (None, [])
        if path is not None:
            try:
                data = path.read_bytes()
            except OSError as err:
                data, read_notes = None, [Note(f"the file could not be read ({err})", True)]
            if data is not None:
                student_cells, read_notes = read_notebook(data)
        if student_cells is None:
            normalized = empty_submission(nb.release, nb.source)
            normalized.notes = list(read_notes)
            if path is not None:
                normalized.notes.append(
                    Note(
                        "it was graded as if no answers had been written; the original file is "
                        f"kept in submitted/ for manual review",
                        True,
                    )
                )
        else:
            normalized = normalize(student_cells, nb.release, nb.source)
            normalized.notes[:0] = read_notes
            normalized.notes += review_notes(student_cells, nb.source)
        job, where = _job_cells(normalized.cells, normalized.roles, nb, reference=False)
        if path is None or student_cells is None:
            # Nothing of the student's to run: every test cell fails without starting a sandbox.
            result = sb.JobResult(status="not_run", events=[], detail={})
        else:
            result = worker.run(nb.name, job)
            if result.status in ("worker_died", "host_timeout") and not result.events:
                result = worker.run(nb.name, job)  # one retry on a fresh sandbox (infrastructure hiccup)
        grade = grade_notebook(nb, normalized, result, job, where, worker.limits)
        if result.status == "not_run":
            why = "the notebook is missing" if path is None else "the file could not be read as a notebook"
            for cell in grade.cells:
                for out in cell.get("outputs", []):
                    if out.get("ename") == "NotRun":
                        out["evalue"] = f"This test cell did not run: {why} (see the notes)."
                        out["traceback"] = ["Autograder: this test cell scores no points.", out["evalue"]]
            for test in grade.tests.values():
                test["messages"] = [f"This test cell did not run: {why}."]
        grade.file = str(path.relative_to(folder)) if path is not None else None
        graded.append(grade)
    return {
        "notebooks": [g.__dict__ for g in graded],
        "notes": sub_notes,
    }


# ----------------------------------------------------------------------------- nbgrader's bookkeeping


def graded_notebook_json(nb: NotebookPlan, grade: dict, extra_notes: list[dict]) -> dict:
    """The nbformat notebook handed to nbgrader: outputs in place, notes on top."""
    cells = [dict(c) for c in grade["cells"]]
    notes = extra_notes + grade["notes"]
    if notes:
        lines = ["**Autograder notes** (from the sandboxed grader):", ""]
        lines += [f"- {n['text'][0].upper() + n['text'][1:]}." if n["text"] else "-" for n in notes]
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


# ----------------------------------------------------------------------------- the run


@dataclass
class RunOptions:
    jobs: int = 2
    limits: sb.Limits = field(default_factory=sb.Limits)
    sandboxed: bool = True
    force: bool = False
    students: list[str] | None = None
    log: object = None
    strict: bool = False  # refuse nbgrader-style test cells (bare assert...) instead of judging them (grader.byo)


@dataclass
class RunSummary:
    graded: list[tuple[str, str]] = field(default_factory=list)  # executed and recorded now
    recorded_only: list[tuple[str, str]] = field(default_factory=list)  # executed earlier, recorded now
    up_to_date: list[tuple[str, str]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # assignment -> reason
    executed_notebooks: int = 0
    seconds: float = 0.0
    #: Where the time went: preparing (gradebook sync, rewriting), recording references (incl. starting that
    #: sandbox), waiting for the warm workers, each notebook's sandbox run, each nbgrader recording.
    timings: dict[str, list[float]] = field(default_factory=dict)

    def time(self, what: str, seconds: float) -> None:
        self.timings.setdefault(what, []).append(seconds)


def _timestamp(folder: Path) -> str | None:
    path = folder / "timestamp.txt"
    try:
        return path.read_text(encoding="utf-8").strip()[:100] or None
    except OSError:
        return None


def autograde(course: Course, assignments: list[str] | None, options: RunOptions) -> RunSummary:
    """Grade every submission of ``assignments`` (default: all) that is not graded yet; see the module docstring."""
    log = options.log or (lambda message: print(message, file=sys.stderr, flush=True))
    started = time.monotonic()
    summary = RunSummary()
    names = assignments or course.assignments()
    with course_lock(course):
        # Job folders of a run that was killed (nothing in them is needed: results are in grading/<a>/<s>/).
        shutil.rmtree(course.grading / ".work", ignore_errors=True)
        shutil.rmtree(course.grading / ".nbgrader-in", ignore_errors=True)
        plans: dict[str, Plan] = {}
        prepared = time.monotonic()
        for name in names:
            if not (course.solutions / name).is_dir():
                summary.refused[name] = f"no folder solutions/{name}"
                continue
            try:
                plans[name] = build_plan(course, name, strict=options.strict)
            except AssignmentError as err:
                _refuse(course, summary, name, str(err), log)
        todo: list[tuple[Plan, str, str, bool]] = []  # plan, student, submission sha, needs execution
        for name, plan in plans.items():
            students = course.students(name)
            if options.students:
                students = [s for s in students if s in options.students]
            for student in students:
                folder = course.submitted / student / name
                sha = submission_sha(folder)
                state = read_json(course.grading / name / student / "state.json") or {}
                done = (
                    state.get("submission") == sha
                    and state.get("reference") == plan.sha
                    and (course.autograded / student / name).is_dir()
                )
                if done and not options.force:
                    summary.up_to_date.append((name, student))
                    continue
                result = read_json(course.grading / name / student / "result.json") or {}
                fresh = result.get("submission") == sha and result.get("reference") == plan.sha
                todo.append((plan, student, sha, options.force or not fresh))
        summary.time("prepare", time.monotonic() - prepared)
        verified = {name: load_references(course, plan) for name, plan in plans.items()}
        stale_refs = [plan for name, plan in plans.items() if verified[name] is None]
        for name, plan in plans.items():
            if verified[name]:
                (course.grading / plan.assignment / "refused.json").unlink(missing_ok=True)
        needs_workers = bool(stale_refs) or any(run for *_x, run in todo)
        if not needs_workers and not todo:
            summary.seconds = time.monotonic() - started
            return summary
        preload = sorted(set().union(*(set(p.preload) for p in plans.values()))) if plans else list(sb.DEFAULT_PRELOAD)
        hide = [course.root, nbcourse.ROOT]
        pool = _start_workers(options, hide, preload, log, course.grading / ".work") if any(run for *_x, run in todo) else None
        try:
            if stale_refs:
                _record_references(course, stale_refs, options, hide, preload, summary, log)
                todo = [t for t in todo if t[0].assignment not in summary.refused]
            sb.share_cache()
            unverified = [p for p in plans.values() if not verified[p.assignment] and p.assignment not in summary.refused]
            summary.executed_notebooks += _run_all(course, todo, pool, summary, log, unverified)
        finally:
            if pool is not None:
                for worker in pool.workers:
                    worker.stop()
    summary.seconds = time.monotonic() - started
    return summary


def _record_references(course: Course, plans: list[Plan], options: RunOptions, hide, preload, summary: RunSummary, log) -> None:
    """Run each solution in a trusted sandbox (it may fill the dataset cache), record and verify its values."""
    started = time.monotonic()
    worker = sb.Worker(
        99,
        limits=options.limits,
        hide=hide,
        preload=preload,
        sandboxed=options.sandboxed,
        writable_cache=True,
        trusted=True,
        workdir=course.grading / ".work",
    )
    log(f"recording reference values for {', '.join(p.assignment for p in plans)} ...")
    try:
        worker.start()
        for plan in plans:
            try:
                compute_references(plan, worker, log)
                save_references(course, plan, verified=False)
            except AssignmentError as err:
                _refuse(course, summary, plan.assignment, str(err), log)
    finally:
        worker.stop()
        summary.time("references", time.monotonic() - started)


def _refuse(course: Course, summary: RunSummary, assignment: str, reason: str, log) -> None:
    summary.refused[assignment] = reason
    write_json(course.grading / assignment / "refused.json", {"reason": reason, "at": time.time()})
    log(f"REFUSED {reason}")


def verify_solution(plan: Plan, worker: sb.Worker) -> None:
    """Grade the solution exactly like a student: it must get every point, or the rewrite changed the tests."""
    for nb in plan.notebooks:
        cells = perfect_cells(nb)
        normalized = normalize(cells, nb.release, nb.source)
        job, where = _job_cells(normalized.cells, normalized.roles, nb, reference=False)
        result = worker.run(nb.name, job)
        grade = grade_notebook(nb, normalized, result, job, where, worker.limits)
        failed = {g: t["messages"] for g, t in grade.tests.items() if not t["passed"]}
        if failed:
            raise AssignmentError(
                f"{plan.assignment}/{nb.name}: the solution loses points when graded like a student, so a test "
                "cell depends on something the grader removes (a shared random generator or a variable used "
                "only for an expected value?):\n  " + "\n  ".join(f"{g}: {m[:2]}" for g, m in failed.items())
            )


class _Pool:
    """Worker sandboxes started in the background while references are recorded."""

    def __init__(self, workers: list[sb.Worker], threads: list[threading.Thread], errors: list):
        self.workers, self.threads, self.errors = workers, threads, errors


def _start_workers(options: RunOptions, hide, preload, log, workdir: Path) -> _Pool:
    workers = [
        sb.Worker(i, limits=options.limits, hide=hide, preload=preload, sandboxed=options.sandboxed, workdir=workdir)
        for i in range(max(1, options.jobs))
    ]
    errors: list = []

    def boot(worker: sb.Worker) -> None:
        try:
            worker.wait_ready()
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    for worker in workers:  # spawned from this (long-lived) thread, see Worker.spawn
        try:
            worker.spawn()
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=boot, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    return _Pool(workers, threads, errors)


def _run_all(course: Course, todo, pool: _Pool | None, summary: RunSummary, log, unverified: list[Plan]) -> int:
    """Execute (in parallel) and record (serially, in this thread) every pending submission.

    Assignments whose references are not verified yet are first checked on a student worker (same uid,
    limits and read-only view as a student): the solution must get full marks there.
    """
    tasks: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()
    executed = 0
    to_record = []
    for plan, student, sha, run in todo:
        if run:
            tasks.put((plan, student, sha))
        else:
            to_record.append((plan, student, sha))
    n_run = tasks.qsize()
    if n_run and pool:
        waited = time.monotonic()
        for t in pool.threads:
            t.join()
        summary.time("wait for workers", time.monotonic() - waited)
        if pool.errors and len(pool.errors) == len(pool.workers):
            raise pool.errors[0]
        _verify_all(
            [plan for plan in unverified if any(p is plan and run for p, _s, _h, run in todo)],
            [w for w in pool.workers if w.alive()],
            course,
            summary,
            log,
        )
        if any(p.assignment in summary.refused for p in unverified):
            keep = []
            for item in todo:
                if item[0].assignment in summary.refused:
                    continue
                keep.append(item)
            todo = keep
            tasks = queue.Queue()
            to_record = []
            for plan, student, sha, run in todo:
                (tasks.put((plan, student, sha)) if run else to_record.append((plan, student, sha)))
            n_run = tasks.qsize()

        def serve(worker: sb.Worker) -> None:
            try:
                while True:
                    try:
                        plan, student, sha = tasks.get_nowait()
                    except queue.Empty:
                        return
                    folder = course.submitted / student / plan.assignment
                    try:
                        result = grade_submission(plan, folder, worker)
                        result.update(submission=sha, reference=plan.sha, graded_at=time.time(), grader=GRADER_VERSION)
                        write_json(course.grading / plan.assignment / student / "result.json", result)
                        done.put((plan, student, sha, None))
                    except Exception as err:  # noqa: BLE001 - reported per student, never stops the others
                        done.put((plan, student, sha, err))
            finally:
                worker.stop()

        live = [w for w in pool.workers if w.alive()]
        if not live:
            raise sb.WorkerError(f"no grading sandbox could be started: {pool.errors[0] if pool.errors else '?'}")
        threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in live]
        for t in threads:
            t.start()
    else:
        threads = []
    received = 0
    total = n_run + len(to_record)
    for plan, student, sha in to_record:
        _record(course, plan, student, sha, summary, log, executed=False)
        received += 1
    while received < total:
        plan, student, sha, err = done.get()
        received += 1
        executed += 1
        if err is not None:
            log(f"ERROR grading {plan.assignment}/{student}: {type(err).__name__}: {err}")
            summary.refused.setdefault(f"{plan.assignment}/{student}", f"{type(err).__name__}: {err}")
            continue
        _record(course, plan, student, sha, summary, log, executed=True)
        log(f"[{received}/{total}] {plan.assignment}/{student}")
    for t in threads:
        t.join()
    return sum(len(plan.notebooks) for plan, _s, _h, run in todo if run)


def _verify_all(plans: list[Plan], workers: list[sb.Worker], course: Course, summary: RunSummary, log) -> None:
    """Verify each solution on a student worker, the workers sharing the plans out (one verification each at a time)."""
    pending: queue.Queue = queue.Queue()
    for plan in plans:
        pending.put(plan)
    outcomes: queue.Queue = queue.Queue()

    def check(worker: sb.Worker) -> None:
        while True:
            try:
                plan = pending.get_nowait()
            except queue.Empty:
                return
            try:
                verify_solution(plan, worker)
                outcomes.put((plan, None))
            except AssignmentError as err:
                outcomes.put((plan, err))

    threads = [threading.Thread(target=check, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while not outcomes.empty():  # recorded here, in the calling thread: one writer for the course's files
        plan, err = outcomes.get()
        if err is None:
            save_references(course, plan, verified=True)
            (course.grading / plan.assignment / "refused.json").unlink(missing_ok=True)
            log(f"  {plan.assignment}: the solution gets full marks when graded like a student")
        else:
            _refuse(course, summary, plan.assignment, str(err), log)


def _record(course: Course, plan: Plan, student: str, sha: str, summary: RunSummary, log, executed: bool) -> None:
    started = time.monotonic()
    result = read_json(course.grading / plan.assignment / student / "result.json")
    folder = course.submitted / student / plan.assignment
    scores = record_with_nbgrader(course, plan, student, result, _timestamp(folder))
    summary.time("record", time.monotonic() - started)
    if executed:
        for grade in result["notebooks"]:
            summary.time("notebook run", grade.get("seconds", 0.0))
    write_json(
        course.grading / plan.assignment / student / "state.json",
        {
            "submission": sha,
            "reference": plan.sha,
            "recorded_at": time.time(),
            "scores": scores,
            "notes": result.get("notes", []) + [n for g in result["notebooks"] for n in g["notes"]],
            "tests": {g["name"]: g["tests"] for g in result["notebooks"]},
            "files": {g["name"]: g["file"] for g in result["notebooks"]},
        },
    )
    (summary.graded if executed else summary.recorded_only).append((plan.assignment, student))
