"""README.md stays true: the course map lists every notebook with working links, runtimes and Colab links."""

from __future__ import annotations

import re

from conftest import ROOT
from grader import readme


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
        assert readme.colab_url(f"lessons/{name}") in row


def test_every_relative_link_in_the_readme_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)\)", text):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_readme_has_no_placeholders_left():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "PLACEHOLDER" not in text and "TODO" not in text
