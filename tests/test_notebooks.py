"""Committed notebooks are clean, built from src/, and released by nbgrader.

Lessons are executed top to bottom in a real browser (tests/test_browser.py);
solution notebooks are executed by nbgrader in the grading checks
(tests/test_grading.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT
from grader import build, repo_exercises

LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
COMMITTED = LESSONS + SOLUTIONS + EXERCISES


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_exercise_is_released_and_linked_from_its_lesson():
    released = {p.relative_to(ROOT / "exercises") for p in EXERCISES}
    sources = {p.relative_to(ROOT / "solutions") for p in SOLUTIONS}
    assert sources and released == sources, f"solutions without a release or the reverse: {released ^ sources}"
    linked = set()
    for lesson in LESSONS:
        text = "".join("".join(c["source"]) for c in _cells(lesson) if c["cell_type"] == "markdown")
        for target in re.findall(r"\]\(\.\./exercises/([^)]+\.ipynb)\)", text):
            assert (ROOT / "exercises" / target).exists(), f"{lesson.name} links to a missing exercise {target}"
            linked.add(Path(target))
    assert linked == released, f"exercises no lesson links to: {released - linked}"


def test_notebooks_are_built_from_src():
    stale = build.build(check=True)
    assert not stale, f"out of date (run `make notebooks`): {[str(p.relative_to(ROOT)) for p in stale]}"


def test_every_notebook_has_a_source():
    built = set(build.targets().values())
    strays = [p for p in LESSONS + SOLUTIONS if p not in built]
    assert not strays, f"notebooks without a src/ file: {strays}"


def test_exercises_are_regenerated_by_nbgrader():
    stale = repo_exercises.release(check=True)
    assert not stale, f"exercises/ differs from a fresh nbgrader release (run `make release`): {stale}"


def test_exercises_leak_no_solutions_or_hidden_tests():
    assert repo_exercises.release_leaks() == []


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebook_is_clean(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    ids = [c["id"] for c in nb["cells"]]
    assert len(ids) == len(set(ids)), "duplicate cell ids"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {cell['id']} has outputs"
            assert cell["execution_count"] is None, f"cell {cell['id']} has an execution count"
    # The same Colab bootstrap cell right after the title.
    assert nb["cells"][1]["id"] == build.BOOTSTRAP_ID
    assert "".join(nb["cells"][1]["source"]) == build.BOOTSTRAP


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_has_one_title_and_ordered_headings(path: Path):
    levels = []
    for cell in _cells(path):
        if cell["cell_type"] != "markdown":
            continue
        in_code = False
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("```"):
                in_code = not in_code
            m = re.match(r"^(#{1,6}) ", line)
            if m and not in_code:
                levels.append(len(m.group(1)))
    assert levels and levels[0] == 1 and levels.count(1) == 1, f"expected exactly one H1, first; got {levels}"
    for prev, cur in zip(levels, levels[1:]):
        assert cur <= prev + 1, f"heading level jumps from {prev} to {cur}"


#: Words an author leaves as a marker to fill in later: none may reach a student.
PLACEHOLDER = re.compile(r"\b(TODO|FIXME|TBD|XXX|PLACEHOLDER|RUNTIME(_\d+)?|[A-Z]+_STORY)\b")


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_prose_has_no_placeholders(path: Path):
    for cell in _cells(path):
        if cell["cell_type"] == "markdown":
            found = PLACEHOLDER.search("".join(cell["source"]))
            assert not found, f"cell {cell.get('id')} still says {found.group(0)!r}: write the text it stands for"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_check_your_understanding_question_has_an_answer_to_reveal(path: Path):
    text = "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")
    assert "## Check your understanding" in text, f"{path.name} has no 'Check your understanding' section"
    section = text.split("## Check your understanding", 1)[1]
    section = re.split(r"\n\*\*(Exercise|Next)|\nThis is the last", section)[0]
    questions = re.findall(r"^\d+\. ", section, flags=re.M)
    answers = re.findall(r"<details><summary>Answer</summary>(.*?)</details>", section, flags=re.S)
    assert questions, f"{path.name}: no numbered questions"
    assert len(answers) == len(questions), f"{path.name}: {len(questions)} questions but {len(answers)} answers"
    assert all(len(a.split()) >= 8 for a in answers), f"{path.name}: an answer is (nearly) empty"
    blocks = re.findall(r"^\d+\. .*?(?=^\d+\. |\Z)", section, flags=re.M | re.S)
    assert all(b.count("<details>") == 1 for b in blocks), f"{path.name}: each answer must follow its own question"


def test_generated_files_are_marked_as_generated():
    import subprocess

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: .gitattributes is read by git")
    for path in [*LESSONS, *SOLUTIONS, *EXERCISES, ROOT / "lessons" / "runtimes.json"]:
        out = subprocess.run(["git", "check-attr", "linguist-generated", "--", str(path.relative_to(ROOT))],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert out.strip().endswith(": set") or out.strip().endswith(": true"), f"{path.name} is not marked as generated: {out}"


def test_every_built_notebook_names_its_source_and_says_not_to_edit_it():
    """Whoever opens a generated notebook (in JupyterLab's metadata editor, or its JSON) finds where to edit."""
    from grader.build import GENERATED_NOTE

    for path in [*LESSONS, *SOLUTIONS, *EXERCISES]:
        marker = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("p2l", {})
        source = ROOT / str(marker.get("generated_from", ""))
        assert marker.get("note") == GENERATED_NOTE, f"{path.relative_to(ROOT)} does not say it is generated"
        assert source.is_file() and source.stem in path.stem, f"{path.relative_to(ROOT)} names {source} as its source"
