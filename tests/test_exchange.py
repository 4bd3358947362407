"""The JupyterHub route, end to end: nbgrader's exchange in, the sandboxed grader, feedback out.

On a JupyterHub students fetch and submit through nbgrader's exchange (the
Assignment List extension runs the same ``nbgrader fetch_assignment`` /
``submit`` / ``fetch_feedback`` commands), and the instructor releases, collects
and returns feedback with ``nbgrader release_assignment`` / ``collect`` /
``release_feedback``. Here every one of those steps runs for real, with the
course's nbgrader configuration, in a course folder outside this repository:

- the instructor generates and releases ex00 into an exchange folder;
- two students, each in their own home folder, fetch it, edit it and submit
  (Bob twice: the later submission must be the one graded);
- the instructor collects, grades with ``python -m grader autograde`` (the
  sandbox), writes feedback with ``python -m grader feedback`` and releases it;
- each student fetches feedback for their own submission only.

Students are told apart the way a container-per-user hub does it: every
container's account is ``jovyan`` and ``JUPYTERHUB_USER`` names the student
(nbgrader's ``get_username``). All commands run as this machine's user: the
exchange's Unix permissions between real accounts are nbgrader's and the hub's
business and are not tested here; what the course adds (the grader between
collect and release_feedback) is.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from grader import sandbox, state, submission
from grader.nbgrader_setup import grading_environment

ASSIGNMENT = "ex00_example"
COURSE_ID = "pixels-to-labels"
#: Run nbgrader as student ``argv[1]`` of a container-per-user hub (account "jovyan", JUPYTERHUB_USER set).
AS_HUB_USER = (
    "import sys, nbgrader.utils as u\n"
    "u.get_osusername = lambda: 'jovyan'\n"
    "from nbgrader.apps.nbgraderapp import main\n"
    "sys.argv = ['nbgrader'] + sys.argv[1:]\n"
    "main()\n"
)

pytestmark = pytest.mark.grading


def _run(args: list[str], cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env={**grading_environment(), **(env or {})},
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"{' '.join(args[:4])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def _nbgrader(cwd: Path, *args: str) -> str:
    return _run([sys.executable, "-m", "nbgrader", *args], cwd)


def _student(name: str, home: Path, exchange: Path, *args: str) -> str:
    flags = [f"--Exchange.root={exchange}", f"--CourseDirectory.course_id={COURSE_ID}"]
    return _run([sys.executable, "-c", AS_HUB_USER, *args, *flags], home,
                env={"HOME": str(home), "JUPYTERHUB_USER": name})  # fmt: skip


def _answer(notebook: Path, answers: dict[str, str]) -> None:
    """Edit the fetched notebook as the student would: replace answer cells by grade id."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    notebook.write_text(json.dumps(nb), encoding="utf-8")


def test_release_fetch_submit_collect_grade_and_return_feedback_through_the_exchange(tmp_path):
    if sandbox.check_sandbox() is not None:
        pytest.fail(f"the sandboxed grader needs bubblewrap: {sandbox.check_sandbox()} (.ci/run installs it)")
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    homes = {name: tmp_path / "home" / name for name in ("alice", "bob")}
    for folder in (exchange, *homes.values()):
        folder.mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    # The course's own nbgrader configuration, plus where this hub keeps its exchange.
    config = (ROOT / "grader" / "nbgrader_config.py").read_text(encoding="utf-8")
    (course / "nbgrader_config.py").write_text(config + f"\nc.Exchange.root = {str(exchange)!r}\n", encoding="utf-8")

    # Instructor: generate the student version and release it into the exchange.
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    _nbgrader(course, "release_assignment", ASSIGNMENT)

    source = json.loads((course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8"))
    right = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
             for c in submission.perfect_submission(source, source)["cells"]
             if c.get("metadata", {}).get("nbgrader", {}).get("solution")}  # fmt: skip
    wrong = {"scale_pixels": "def scale_pixels(x):\n    return (x // 255).float()\n"}

    # Students: fetch, edit, submit. Alice gets it right; Bob submits a right answer, then changes it to a wrong one.
    for name, home in homes.items():
        _student(name, home, exchange, "fetch_assignment", ASSIGNMENT)
    notebook = {name: home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" for name, home in homes.items()}
    assert all(path.exists() for path in notebook.values()), "fetch_assignment did not deliver the notebook"
    _answer(notebook["alice"], right)
    _student("alice", homes["alice"], exchange, "submit", ASSIGNMENT)
    _answer(notebook["bob"], right)
    _student("bob", homes["bob"], exchange, "submit", ASSIGNMENT)
    _answer(notebook["bob"], wrong)
    _student("bob", homes["bob"], exchange, "submit", ASSIGNMENT)
    inbound = sorted(p.name.split("+")[0] for p in (exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == ["alice", "bob", "bob"], inbound

    # Instructor: collect (nbgrader keeps each student's latest), grade in the sandbox, write and release feedback.
    _nbgrader(course, "collect", ASSIGNMENT)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]
    grade = [sys.executable, "-m", "grader"]
    out = _run([*grade, "autograde", "--course-dir", str(course), "--jobs", "2"], ROOT)
    scores = state.Course(course).scores(ASSIGNMENT)
    assert set(scores) == {"alice", "bob"}, out
    assert all(score == top for score, top in scores["alice"].values()), scores["alice"]
    assert scores["bob"]["test_scale_pixels"][0] < scores["bob"]["test_scale_pixels"][1], (
        "Bob's later (wrong) submission was not the one graded"
    )
    _run([*grade, "feedback", "--course-dir", str(course)], ROOT)
    _nbgrader(course, "release_feedback", ASSIGNMENT)

    # Students: each fetches the feedback of their own submission, and only that.
    for name, home in homes.items():
        _student(name, home, exchange, "fetch_feedback", ASSIGNMENT)
        pages = sorted((home / ASSIGNMENT / "feedback").glob("*/*.html"))
        assert pages, f"{name} received no feedback"
        text = pages[-1].read_text(encoding="utf-8")
        assert ASSIGNMENT in text
        others = [n for n in homes if n != name]
        assert not any(f"/{other}/" in text for other in others), f"{name}'s feedback mentions another student"
    # What each student reads: their own score on the autograded cell, and no note about exchange files.
    for name, expected in (("alice", "Test cell (Score: 2.0 / 2.0)"), ("bob", "Test cell (Score: 0.0 / 2.0)")):
        page = sorted((homes[name] / ASSIGNMENT / "feedback").glob("*/*.html"))[-1].read_text(encoding="utf-8")
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", page, flags=re.S)))
        assert expected in text, f"{name}'s feedback does not say {expected!r}"
        assert "submission_secret" not in text and "timestamp.txt" not in text
    assert scores["alice"]["test_scale_pixels"] == (2.0, 2.0) and scores["bob"]["test_scale_pixels"] == (0.0, 2.0)
