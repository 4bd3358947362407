"""The sandboxed grader against broken and hostile submissions (tests/grader_corpus/).

One module-wide course holds ex00_example and ex99_corpus (ex00 plus a second
question) and every corpus case as a student; a single ``autograde --jobs 2``
run grades them all through the real pipeline (sandboxes, outside comparison,
nbgrader's gradebook). Each case must get its exact grade and its reason; the
attacks must leave the host and the other students untouched; a re-run must
change nothing; a ``kill -9`` in the middle of a run must lose nothing and
grade nothing twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, record_runtime
from grader import gradebook, pipeline, plan, report, sandbox
from grader_corpus.cases import CASES, CORPUS, EX00, Context, answered, corpus_source, insert_after, one

# Without bubblewrap these tests cannot run: a student's laptop skips them, CI (CI=true) fails loudly,
# as the grading tests do, so a missing sandbox can never pass unnoticed.
if sandbox.check_sandbox() is not None and os.environ.get("CI"):
    pytest.fail(f"the robustness tests need the sandbox: {sandbox.check_sandbox()} (.ci/run installs bubblewrap)",
                pytrace=False)  # fmt: skip
pytestmark = pytest.mark.skipif(sandbox.check_sandbox() is not None, reason="needs bubblewrap (Linux)")

LIMITS = sandbox.Limits(
    cell_seconds=8,
    notebook_seconds=90,
    grace_seconds=8,
    memory_mb=1024,
    processes=64,
    images=10,
    image_bytes=2_000_000,
    text_per_cell=20_000,
)


@dataclass
class Run:
    root: Path
    course: pipeline.Course
    summary: pipeline.RunSummary
    seconds: float
    connections: list
    marker: Path
    scores: dict


class Listener:
    """A TCP server on the host's loopback: a sandbox must never reach it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, addr = self.sock.accept()
                self.connections.append(addr)
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def make_course(root: Path) -> pipeline.Course:
    (root / "solutions" / EX00).mkdir(parents=True)
    shutil.copy2(ROOT / "solutions" / EX00 / f"{EX00}.ipynb", root / "solutions" / EX00)
    (root / "solutions" / CORPUS).mkdir(parents=True)
    (root / "solutions" / CORPUS / f"{CORPUS}.ipynb").write_text(json.dumps(corpus_source(), indent=1))
    return pipeline.Course(root)


def submit(course: pipeline.Course, student: str, assignment: str, files: dict[str, bytes], when: str) -> None:
    folder = course.submitted / student / assignment
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "timestamp.txt").write_text(when)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("course")
    marker = tmp_path_factory.mktemp("marker")
    course = make_course(root)
    releases = {a: plan.sync_gradebook(course, a, plan.source_sha(course, a))[a] for a in (EX00, CORPUS)}
    listener = Listener()
    ctx = Context(release=releases, course_root=root, listener_port=listener.port, marker_dir=marker)
    for case in CASES:
        submit(course, case.student, case.assignment, case.build(ctx), "2030-01-01 10:00:00 UTC")
    start = time.monotonic()
    summary = pipeline.autograde(course, None, pipeline.RunOptions(jobs=2, limits=LIMITS, log=lambda m: None))
    seconds = time.monotonic() - start
    listener.close()
    record_runtime(f"grading/sandboxed corpus ({len(CASES)} submissions, --jobs 2)", seconds)
    scores = {a: course.scores(a) for a in (EX00, CORPUS)}
    return Run(root, course, summary, seconds, listener.connections, marker, scores)


def _state(run: Run, case) -> dict:
    return json.loads((run.root / "grading" / case.assignment / case.student / "state.json").read_text())


def _autograded(run: Run, student: str, assignment: str = CORPUS) -> dict:
    return json.loads((run.root / "autograded" / student / assignment / f"{assignment}.ipynb").read_text())


def _outputs_text(nb: dict) -> str:
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
    return "".join(parts)


def _instructor_outputs_text(run: Run, student: str, assignment: str = CORPUS) -> str:
    """What the student's cells printed, as the instructor's record has it: the graded notebook's outputs and
    those withheld from it (cells that ran after a hidden test; `result.json`)."""
    result = json.loads((run.root / "grading" / assignment / student / "result.json").read_text())
    withheld = [{"outputs": outs} for nb in result["notebooks"] for outs in nb.get("withheld", {}).values()]
    return _outputs_text(_autograded(run, student, assignment)) + _outputs_text({"cells": withheld})


def test_every_submission_was_graded(run):
    assert not run.summary.refused, run.summary.refused
    assert sorted(s for _a, s in run.summary.graded) == sorted(c.student for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.student)
def test_case_grade_and_reason(run, case):
    graded = run.scores[case.assignment][case.student]
    for cell, expected in case.expect.items():
        score, max_score = graded[cell]
        assert score == expected, f"{case.student}/{cell}: {score}/{max_score}, expected {expected} ({case.why})"
    state = _state(run, case)
    text = " ".join(n["text"] for n in state["notes"]).lower()
    for word in case.notes:
        assert any(w in text for w in word.split("|")), f"{case.student}: no note mentions {word!r}; notes: {text!r}"
    if case.attention is not None:
        assert any(n["attention"] for n in state["notes"]) == case.attention, state["notes"]
    if case.notes and (run.root / "autograded" / case.student / case.assignment).is_dir():
        # The reason reaches the student: the graded notebook (and so the feedback) starts with the notes.
        first = _autograded(run, case.student, case.assignment)["cells"][0]
        assert first["id"] == gradebook.NOTES_CELL_ID
        said = re.sub(r"\\(.)", r"\1", "".join(first["source"])).lower()  # as Markdown shows it
        assert any(w in said for w in case.notes[0].split("|")), said


def test_status_explains_who_needs_attention(run):
    text = report.format_status(run.course, [CORPUS])
    for case in CASES:
        if case.assignment == CORPUS and case.attention:
            assert f"! {case.student}" in text, f"{case.student} not flagged in status"
    assert "could not be interrupted" in text and "sigsegv" in text.lower()
    assert "0 to grade" in text


def test_sandbox_saw_nothing_and_reached_nothing(run):
    out = _instructor_outputs_text(run, "probe_secrets")
    probe = json.loads(next(line for line in out.splitlines() if line.startswith("PROBE "))[6:])
    assert probe["readable"] == [], probe  # gradebook, solutions, grading/, submitted/, ../, /etc/shadow, ~/.ssh
    assert probe["writable"] == [], probe
    assert probe["network"] == [], probe
    assert probe["uid"] != 0 and probe["capeff"] == "0000000000000000" and probe["setuid0"] is False
    assert run.connections == [], "a sandbox connected to the host's loopback"
    assert not (run.root / "HACKED").exists() and not (run.marker / "HACKED").exists()


def test_planted_files_reach_no_one(run):
    assert list(run.marker.iterdir()) == []
    assert not (run.root / "submitted" / "PLANTED.py").exists()
    assert not list(run.root.rglob("sitecustomize.py")) and not list(run.root.rglob("00-evil.py"))
    for victim in ("z_victim1", "z_victim2", "z_victim3"):
        assert "contamination: []" in _instructor_outputs_text(run, victim)


def test_solutions_and_sources_untouched(run):
    assert json.loads((run.root / "solutions" / CORPUS / f"{CORPUS}.ipynb").read_text()) == corpus_source()
    assert (run.root / "solutions" / EX00 / f"{EX00}.ipynb").read_bytes() == (
        ROOT / "solutions" / EX00 / f"{EX00}.ipynb"
    ).read_bytes()


def test_outputs_are_bounded(run):
    flood = (run.root / "autograded" / "print_flood" / CORPUS / f"{CORPUS}.ipynb").stat().st_size
    figures_nb = _autograded(run, "figures")
    images = sum(1 for c in figures_nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    assert flood < 500_000, f"200,000 printed lines made a {flood}-byte notebook"
    assert images <= LIMITS.images


def test_no_sandbox_process_survives(run):
    assert _sandbox_processes(run.root) == []


def test_rerun_changes_nothing(run):
    before = {p: p.stat().st_mtime_ns for p in (run.root / "autograded").rglob("*.ipynb")}
    summary = pipeline.autograde(run.course, None, pipeline.RunOptions(jobs=2, limits=LIMITS, log=lambda m: None))
    assert summary.executed_notebooks == 0 and summary.graded == [] and summary.recorded_only == []
    assert len(summary.up_to_date) == len(CASES)
    assert {a: run.course.scores(a) for a in (EX00, CORPUS)} == run.scores
    assert {p: p.stat().st_mtime_ns for p in (run.root / "autograded").rglob("*.ipynb")} == before


def test_feedback_and_export(run, tmp_path):
    results = report.feedback(run.course, [CORPUS], ["os_exit", "perfect"])
    assert [r[2] for r in results] == [True, True]
    html = (run.root / "feedback" / "os_exit" / CORPUS / f"{CORPUS}.html").read_text()
    assert "Autograder notes" in html and "os._exit()" in html
    n_students, _ = report.export(run.course, tmp_path / "grades.csv", tmp_path / "rates.csv")
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert n_students == len(CASES) and len(rows) == len(CASES) + 1
    header = rows[0].split(",")
    assert f"{CORPUS}:{CORPUS}/test_flip_h" in header and EX00 in header
    perfect = dict(zip(header, next(r for r in rows if r.startswith("perfect,")).split(",")))
    assert float(perfect[f"{CORPUS}:{CORPUS}/test_scale_pixels"]) == 2.0
    rates = (tmp_path / "rates.csv").read_text()
    assert f"{CORPUS},{CORPUS}/test_flip_h,1.0" in rates


def _sandbox_processes(root: Path) -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(root) in cmd and "bwrap" in cmd:
                out.append(cmd[:80])
    return out


def test_kill_9_midway_loses_nothing_and_grades_nothing_twice(run, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(run.root, root)
    course = pipeline.Course(root)
    releases = {CORPUS: json.loads((root / "grading" / CORPUS / "release" / f"{CORPUS}.ipynb").read_text())}
    ctx = Context(release=releases, course_root=root, listener_port=1, marker_dir=tmp_path)
    late = [f"late{i}" for i in range(8)]
    slow = "import time\ntime.sleep(1.5)"
    for i, student in enumerate(late):
        nb = answered(ctx, CORPUS, {} if i % 2 == 0 else {"flip_h": "def flip_h(x):\n    return x\n"})
        submit(course, student, CORPUS, one(insert_after(nb, "flip_h", slow), CORPUS), "2030-01-02 10:00:00 UTC")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "autograde", CORPUS, "--course-dir", str(root), "--jobs", "2", "--cell-timeout", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        done = [s for s in late if (root / "grading" / CORPUS / s / "state.json").exists()]
        if len(done) >= 2:
            break
        assert proc.poll() is None, "the grading run ended before it could be killed"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    recorded = {
        s: (root / "grading" / CORPUS / s / "state.json").read_bytes()
        for s in late
        if (root / "grading" / CORPUS / s / "state.json").exists()
    }
    executed = {
        s: json.loads((root / "grading" / CORPUS / s / "result.json").read_text())["graded_at"]
        for s in late
        if (root / "grading" / CORPUS / s / "result.json").exists()
    }
    assert 2 <= len(recorded) < len(late), "the kill did not land mid-run"
    for _ in range(100):  # --die-with-parent: the sandboxes go with the grader
        if not _sandbox_processes(root):
            break
        time.sleep(0.1)
    assert _sandbox_processes(root) == []

    summary = pipeline.autograde(course, [CORPUS], pipeline.RunOptions(jobs=1, limits=LIMITS, log=lambda m: None))
    regraded = {s for _a, s in summary.graded}
    assert regraded == set(late) - set(executed), "students executed before the kill were executed again"
    assert {s for _a, s in summary.recorded_only} == set(executed) - set(recorded)
    for student, data in recorded.items():
        assert (root / "grading" / CORPUS / student / "state.json").read_bytes() == data
    for student, when in executed.items():
        assert json.loads((root / "grading" / CORPUS / student / "result.json").read_text())["graded_at"] == when
    scores = course.scores(CORPUS)
    for i, student in enumerate(late):
        assert scores[student]["test_scale_pixels"] == (2.0, 2.0)
        assert scores[student]["test_flip_h"] == ((1.0, 1.0) if i % 2 == 0 else (0.0, 1.0))
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        students = [s.student_id for s in gb.assignment_submissions(CORPUS)]
    assert sorted(students) == sorted(set(students)), "a student was recorded twice"
    assert set(late) <= set(students)


def test_without_sandbox_refuses_unless_told(run, tmp_path, monkeypatch, capsys):
    from grader.__main__ import main

    root = tmp_path / "course"
    shutil.copytree(run.root, root)
    monkeypatch.setenv("P2L_BWRAP", "")  # as on a machine without bubblewrap
    before = sorted(p.name for p in (root / "autograded").iterdir())
    ctx = Context(
        release={CORPUS: json.loads((root / "grading" / CORPUS / "release" / f"{CORPUS}.ipynb").read_text())},
        course_root=root,
        listener_port=1,
        marker_dir=tmp_path,
    )
    submit(pipeline.Course(root), "trusted", CORPUS, one(answered(ctx, CORPUS), CORPUS), "2030-01-03 10:00:00 UTC")
    assert main(["autograde", "--course-dir", str(root)]) == 2
    refused = capsys.readouterr().err
    assert "--unsafe-no-sandbox" in refused and "bubblewrap is not installed" in refused
    assert "read the gradebook" in refused
    assert sorted(p.name for p in (root / "autograded").iterdir()) == before
    assert (
        main(["autograde", CORPUS, "--course-dir", str(root), "--unsafe-no-sandbox", "--student", "trusted", "--jobs", "1"]) == 0
    )
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    assert pipeline.Course(root).scores(CORPUS)["trusted"]["test_scale_pixels"] == (2.0, 2.0)


# ----------------------------------------------------------------------------- issue 16: nothing hidden leaks

HIDDEN_TEXT = ("arange", "randint", "[8, 9, 10, 11]", "[[0, 1, 2, 3]", "BEGIN HIDDEN", "LEAKED [", "ARGUMENT [")


def _feedback_html(run: Run, student: str) -> str:
    return (run.root / "feedback" / student / CORPUS / f"{CORPUS}.html").read_text()


def test_student_code_never_sees_or_returns_hidden_tests(run):
    nb = _autograded(run, "peek_hidden")
    out = _outputs_text(nb)
    peek = next(line for line in out.splitlines() if line.startswith("PEEK"))
    assert "arange" not in peek and "BEGIN" not in peek, peek  # no job file with the test cells in the sandbox
    assert "ARGUMENT [1, 2, 3]" not in out and "ARGUMENT" not in out  # printed during a cell with hidden tests
    assert "not shown: it runs hidden tests" in out
    lines = next(line for line in _instructor_outputs_text(run, "peek_linecache").splitlines() if line.startswith("LINES"))
    assert "scale_pixels(" in lines, lines  # the probe sees the student's own cells, so it did read the cache
    assert "randint" not in lines and "check_close" not in lines and "__p2l_record__" not in lines, lines
    leak = _autograded(run, "leak_in_error")
    flip = next(c for c in leak["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_flip_h")
    text = json.dumps(flip["outputs"])
    assert "LEAKED" not in text and "[8, 9, 10, 11]" not in text and "hidden test" in text
    # The instructor still gets the details.
    assert "LEAKED" in json.dumps(_state(run, next(c for c in CASES if c.student == "leak_in_error"))["tests"])
    # Kept during the hidden tests, then printed, drawn and raised in a later cell: the student sees a note;
    # the instructor's record has what the cell showed.
    kept = _autograded(run, "kept_for_later")
    shown = json.dumps([c.get("outputs", []) for c in kept["cells"]])
    for text in ("[8, 9, 10, 11]", "[[0, 1, 2, 3]", "Kept8910", "image/png"):
        assert text not in shown, text
    assert "ran after hidden tests" in shown
    assert "KEPT [[1, 2, 3], [[0, 1, 2, 3]" in _instructor_outputs_text(run, "kept_for_later")


def test_feedback_hides_hidden_tests_by_default_and_never_loses_earlier_output(run, monkeypatch):
    students = ["perfect", "peek_hidden", "leak_in_error", "kept_for_later", "marker_text", "html_banner"]
    results = report.feedback(run.course, [CORPUS], students)
    assert [r[2] for r in results] == [True] * len(students), results
    for student in students:
        html = _feedback_html(run, student)
        for text in HIDDEN_TEXT:
            if not (student == "marker_text" and text == "BEGIN HIDDEN"):  # the student's own text stays
                assert text not in html, (student, text)
        assert "hidden tests: not shown" in html
    assert "my own marker text" in _feedback_html(run, "marker_text")  # the student's marker cell is untouched
    shown = report.feedback(run.course, [CORPUS], ["perfect"], show_hidden_tests=True)
    assert shown[0][2] and "arange" in _feedback_html(run, "perfect")
    before = _feedback_html(run, "perfect")

    class Broken:
        def generate_feedback(self, *args, **kwargs):
            raise RuntimeError("nbgrader failed")

    monkeypatch.setattr(pipeline.Course, "api", lambda self, **kw: Broken())
    failed = report.feedback(run.course, [CORPUS], ["perfect"])
    assert failed[0][2] is False and "nbgrader failed" in failed[0][3]
    assert _feedback_html(run, "perfect") == before, "a failed step deleted earlier feedback"
    assert not list((run.root / "grading").glob(".feedback-staging-*"))


def test_nbgrader_s_own_feedback_hides_hidden_tests_too(run):
    """formgrader's "Generate Feedback" button and `nbgrader generate_feedback` use nbgrader's configuration
    (grader/nbgrader_config.py), not `python -m grader feedback`: they must hide the hidden tests as well."""
    from grader.state import quiet_nbgrader

    with quiet_nbgrader():
        result = run.course.api().generate_feedback(CORPUS, "leak_in_error", force=True)
    assert result.get("success"), result
    html = _feedback_html(run, "leak_in_error")
    for text in HIDDEN_TEXT:
        assert text not in html, text
    assert "hidden tests: not shown" in html


def test_no_student_html_or_script_survives(run):
    from nbformat.sign import NotebookNotary

    nb = _autograded(run, "html_banner")
    result = json.loads((run.root / "grading" / CORPUS / "html_banner" / "result.json").read_text())
    # The graded notebook, and the instructor's record of outputs withheld from it (the banner cell runs after
    # a hidden test): the student's code may say anything, but no HTML or SVG is kept.
    raw = json.dumps([c.get("outputs", []) for c in nb["cells"]]) + json.dumps(result["notebooks"][0]["withheld"])
    for bad in ("<script", "onerror", "<svg", "alert alert-success", "text/html", "image/svg+xml"):
        assert bad not in raw, bad
    assert "Score: 10 / 10" not in raw and "<IPython.core.display.HTML object>" in raw  # its text/plain stays
    marker = _autograded(run, "marker_text")
    md = next(c for c in marker["cells"] if c["cell_type"] == "markdown" and "my notes" in "".join(c["source"]))
    assert "<script>" not in "".join(md["source"])
    import nbformat

    assert not NotebookNotary().check_signature(nbformat.reads(json.dumps(nb), as_version=4))
    report.feedback(run.course, [CORPUS], ["html_banner", "marker_text"])
    for student in ("html_banner", "marker_text"):
        html = _feedback_html(run, student)
        # Raw tags only: the student's code, shown highlighted and escaped, may mention anything.
        for tag in ("<script>document", "<script>alert", "<img src=x", "<svg onload", '<div class="alert alert-success"'):
            assert tag not in html, (student, tag)


def test_killing_the_supervisor_gives_one_grade_every_time():
    """A cell that kills the per-notebook supervisor: the cells after it never run, however fast the kill lands."""
    worker = sandbox.Worker(7, limits=LIMITS, hide=[ROOT], preload=["numpy"])
    cells = [
        {"source": "x = 1", "test": False},
        {"source": "def f():\n    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 2", "test": False},
        {"source": "y = f()\nprint('recorded', y)", "test": True},
        {"source": "print('after')", "test": False},
        {"source": "print('after again')", "test": True},
    ]
    seen = set()
    try:
        for _ in range(4):  # each run restarts the sandbox (the kill took its supervisor)
            result = worker.run("kill", cells)
            ends = tuple(sorted(e["cell"] for e in result.events if e.get("event") == "end"))
            seen.add((ends, result.status))
    finally:
        worker.stop()
    assert seen == {((0, 1), "worker_died")}, seen


# ----------------------------------------------------------------------------- issue 16: an allow-list sandbox

READ_PROBE = r"""
import json, os
out = {}
for path in __PATHS__:
    try:
        out[path] = open(path).read()[:100] if os.path.isfile(path) else sorted(os.listdir(path))
    except Exception as err:
        out[path] = type(err).__name__
print("READ " + json.dumps(out))
"""


def _read_in_sandbox(paths: list[str], python: str = sys.executable, env: dict | None = None, extra: str = "") -> dict:
    """Run READ_PROBE (then ``extra``) in a fresh sandboxed worker started by ``python`` (whose environment the
    view is built from)."""
    code = READ_PROBE.replace("__PATHS__", repr(paths)) + extra
    script = (
        "import json, sys\nfrom grader import sandbox\n"
        f"w = sandbox.Worker(5, limits=sandbox.Limits(cell_seconds=30), hide=[], preload=['numpy'])\n"
        f"r = w.run('probe', [{{'source': {code!r} + '\\nimport sys, torch, course_utils\\nprint(\"PREFIX\", sys.prefix)',"
        " 'test': False}])\nw.stop()\n"
        "print(json.dumps({'status': r.status, 'problems': r.problems, 'events': r.events}))\n"
    )
    proc = subprocess.run(
        [python, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    end = next(e for e in result["events"] if e.get("event") == "end")
    assert end["error"] is None, (end["error"], result)
    text = "".join(o.get("text", "") for o in end["outputs"])
    read = json.loads(next(line for line in text.splitlines() if line.startswith("READ "))[5:])
    prefix = next(line for line in text.splitlines() if line.startswith("PREFIX "))[7:]
    return {"read": read, "prefix": prefix, "text": text}


def test_a_checkout_elsewhere_on_disk_is_not_readable(tmp_path):
    """Solutions with hidden tests in a folder the old deny-list did not know (/opt, /srv, /work, ...)."""
    secrets = []
    for top in ("/opt", "/srv", "/usr/local/src", "/usr/src"):
        if not os.access(top, os.W_OK):
            continue
        folder = Path(tempfile.mkdtemp(prefix="p2l-checkout-", dir=top))
        (folder / "solutions").mkdir()
        (folder / "solutions" / "ex.ipynb").write_text("### BEGIN HIDDEN TESTS secret")
        secrets.append(folder)
    try:
        assert secrets
        paths = [str(f / "solutions" / "ex.ipynb") for f in secrets] + [str(f) for f in secrets]
        paths += [str(ROOT / "solutions"), str(ROOT / "grader"), "/etc/shadow", "/var/log", "/opt", "/srv", "/usr/local/src"]
        paths += [str(p / "solutions") for p in ROOT.parent.glob("*") if (p / "solutions").is_dir()][:3]
        read = _read_in_sandbox(paths + ["/root", "/home", "/"])["read"]
        for path in paths:
            assert read[path] in ("FileNotFoundError", "PermissionError"), (path, read[path])
        # Home folders show only the way to what the worker needs (a Python under ~/.pyenv, the dataset cache).
        allowed = {*sandbox.python_view(), *([sandbox.data_cache()] if sandbox.data_cache() else [])}
        for top in ("/root", "/home"):
            if isinstance(read[top], list):
                for name in read[top]:
                    assert any(sandbox._under(p, Path(top) / name) for p in allowed), (top, name)
        # The root holds the system folders plus only the first step of the way to each bound folder (a
        # checkout at /check/work/main makes /check appear, holding nothing but that way).
        ways = {p.parts[1] for p in allowed if len(p.parts) > 1}
        system = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys", "var", "dev", "proc", "tmp", "run"}
        assert set(read["/"]) <= system | ways | {"root", "home"}, (sorted(set(read["/"]) - system - ways), allowed)
    finally:
        for folder in secrets:
            shutil.rmtree(folder, ignore_errors=True)


def test_a_venv_under_tmp_works(tmp_path):
    """The worker's Python may live anywhere, /tmp included (a hardlinked copy of this venv there)."""
    venv = Path(tempfile.mkdtemp(prefix="p2l-venv-", dir="/tmp")) / "venv"
    try:
        subprocess.run(["cp", "-al", sys.prefix, str(venv)], check=True)
        out = _read_in_sandbox(["/tmp"], python=str(venv / "bin" / "python"))
        assert out["prefix"] == str(venv)
    finally:
        shutil.rmtree(venv.parent, ignore_errors=True)


def test_a_user_site_install_imports_in_the_sandbox(tmp_path):
    """A package installed with ``pip install --user`` for the grader's Python imports in the sandbox too
    (the worker runs ``python -I``, which skips the user site): a copy of this venv that reads the user site,
    and a module in a user base under /tmp."""
    venv = Path(tempfile.mkdtemp(prefix="p2l-venv-", dir="/tmp")) / "venv"
    try:
        subprocess.run(["cp", "-al", sys.prefix, str(venv)], check=True)
        config = venv / "pyvenv.cfg"
        text = config.read_text().replace("include-system-site-packages = false", "include-system-site-packages = true")
        config.unlink()  # a hard link to this venv's own file: write a new one
        config.write_text(text)
        base = venv.parent / "userbase"
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        (base / "lib" / version / "site-packages").mkdir(parents=True)
        (base / "lib" / version / "site-packages" / "p2l_user_probe.py").write_text("ANSWER = 42\n")
        out = _read_in_sandbox(["/tmp"], python=str(venv / "bin" / "python"), env={"PYTHONUSERBASE": str(base)},
                               extra="\nimport p2l_user_probe\nprint('USER', p2l_user_probe.ANSWER)")  # fmt: skip
        assert "USER 42" in out["text"]
    finally:
        shutil.rmtree(venv.parent, ignore_errors=True)


def test_feedback_page_runs_no_student_script_in_a_browser(run, tmp_path):
    """The feedback page in headless Chromium: no student script runs, no fake banner is drawn (and the same
    detector does catch both on a page that carries the student's HTML unsanitized)."""
    playwright = pytest.importorskip("playwright.sync_api")
    from browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    report.feedback(run.course, [CORPUS], ["html_banner"])
    control = tmp_path / "control.html"
    control.write_text(
        "<html><head><title>feedback</title></head><body>"
        + '<div class="alert alert-success" style="font-size:40px">Score: 10 / 10 (all tests passed)</div>'
        + '<script>document.title = "PWNED"</script><img src=x onerror="alert(1)"></body></html>'
    )

    def visit(browser, path: Path) -> tuple[list[str], str, int]:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.route("http*://**", lambda route: route.abort())  # offline: the template's CDN links go nowhere
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(1000)
        banners = page.locator("div.alert-success", has_text="Score: 10 / 10").count()
        title = page.title()
        page.close()
        return dialogs, title, banners

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            assert visit(browser, control) == (["1"], "PWNED", 1)  # the detector works
            dialogs, title, banners = visit(browser, run.root / "feedback" / "html_banner" / CORPUS / f"{CORPUS}.html")
        finally:
            browser.close()
    assert dialogs == [] and title != "PWNED" and banners == 0


def test_formgrader_runs_no_student_html_in_the_instructor_s_browser(run):
    """formgrader (nbgrader's grading pages, inside the instructor's logged-in Jupyter) renders the graded
    notebooks with its own exporter: the banner student's outputs and Markdown, and a submitted file named as
    HTML (quoted in the notes), run no script there and draw no fake banner."""
    playwright = pytest.importorskip("playwright.sync_api")
    from nbgrader.api import Gradebook

    from browser import CHROMIUM, CHROMIUM_ARGS, JupyterLab
    from grader.nbgrader_setup import CONFIG_FILE

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    # The graded course, served the way INSTRUCTORS.md sets formgrader up: the course's nbgrader configuration.
    config = CONFIG_FILE.read_text(encoding="utf-8") + "\nc.CourseDirectory.root = __import__('os').getcwd()\n"
    lab = JupyterLab(run.root, folders=("solutions", "submitted", "autograded"), files={"nbgrader_config.py": config})
    try:
        shutil.copy2(run.root / "gradebook.db", lab.root / "gradebook.db")
        with Gradebook(f"sqlite:///{lab.root / 'gradebook.db'}") as gb:
            ids = {s: gb.find_submission_notebook(CORPUS, CORPUS, s).id for s in ("html_banner", "html_file_name", "marker_text")}
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for student, submission in ids.items():
                    page = browser.new_page()
                    dialogs: list[str] = []
                    page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
                    page.goto(f"http://127.0.0.1:{lab.port}/formgrader/submissions/{submission}/?token={lab.token}")
                    page.locator(".cell").first.wait_for(timeout=60_000)  # the notebook is on the page
                    page.wait_for_timeout(1000)
                    text = page.inner_text("body")
                    assert dialogs == [] and page.title() != "PWNED", (student, dialogs, page.title())
                    assert page.locator("img[src='x']").count() == 0, student
                    assert page.locator("div.alert-success", has_text="Score: 10 / 10").count() == 0, student
                    if student == "html_file_name":  # the name is there, as text
                        assert "<img src=x onerror=alert(3)>" in text and "was graded as that notebook" in text, text[:2000]
                    page.close()
            finally:
                browser.close()
    finally:
        lab.stop()
