"""README.md stays true: the course map lists every notebook with working links, runtimes and Colab links."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import ROOT
from grader import build, readme


def test_course_map_matches_the_notebooks():
    assert readme.main(["--check"]) == 0, "run `python -m grader.readme` (after `make test` has measured runtimes)"


def test_every_lesson_has_a_measured_runtime_and_colab_links():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split(readme.START, 1)[1].split(readme.END, 1)[0]
    lessons = sorted(p.name for p in (ROOT / "lessons").glob("*.ipynb"))
    for name in lessons:
        row = next((line for line in table.splitlines() if f"(lessons/{name})" in line), None)
        assert row is not None, f"{name} missing from the course map"
        assert re.search(r"\| \d+ s \|", row), f"{name} has no measured runtime in the README"
        assert re.search(r"\| \d+\.\d GB \|", row), f"{name} has no measured peak memory in the README"
        assert readme.colab_url(f"lessons/{name}") in row


def test_every_relative_link_in_the_readme_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)\)", text):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_readme_has_no_placeholders_left():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "PLACEHOLDER" not in text and "TODO" not in text


def _header(notebook: Path) -> str:
    return "".join(json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]["source"])


def test_lesson_headers_and_course_map_state_the_same_measured_runtime():
    """One source: lessons/runtimes.json feeds both the README's course map and each lesson's header."""
    recorded = build.lesson_runtimes()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for lesson in sorted((ROOT / "lessons").glob("*.ipynb")):
        assert lesson.stem in recorded, f"{lesson.name} has no measured runtime in lessons/runtimes.json"
        seconds = recorded[lesson.stem]
        source = (ROOT / "src" / "lessons" / f"{lesson.stem}.py").read_text(encoding="utf-8")
        assert source.count(build.RUNTIME_TOKEN) == 1, f"{lesson.stem}.py must state its runtime as {build.RUNTIME_TOKEN}"
        runtimes_said = re.findall(r"\*\*Runtime:\*\* about (\d+) s", _header(lesson))
        assert runtimes_said == [str(seconds)], f"{lesson.name}'s header says {runtimes_said}, the record {seconds} s"
        row = next(line for line in text.splitlines() if f"(lessons/{lesson.name})" in line)
        assert f"| {seconds} s |" in row, f"README says {row.split('|')[3].strip()} for {lesson.name}, the record {seconds} s"


def test_a_new_measurement_updates_record_readme_and_headers_together(tmp_path, monkeypatch):
    record = tmp_path / "runtimes.json"
    record.write_text((ROOT / "lessons" / "runtimes.json").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(build, "RUNTIMES", record)
    before = build.lesson_runtimes()
    readme.update_record({"lessons/04_cnn_classifier_end_to_end.ipynb": 37.6, "grading/ex04, plain nbgrader": 9.0})
    after = build.lesson_runtimes()
    assert after["04_cnn_classifier_end_to_end"] == 38
    assert {k: v for k, v in after.items() if not k.startswith("04")} == {
        k: v for k, v in before.items() if not k.startswith("04")
    }
    assert "| 38 s |" in next(r for r in readme.course_map().splitlines() if "04_cnn" in r)
    nb = build.build_notebook(ROOT / "src" / "lessons" / "04_cnn_classifier_end_to_end.py")
    assert "**Runtime:** about 38 s" in "".join(nb.cells[0].source)
