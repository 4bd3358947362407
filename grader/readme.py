"""Keep README.md's course map true: `python -m grader.readme` rewrites it from the notebooks.

Titles come from each lesson's H1, links from the files that exist, runtimes
from the last measured run (`build/notebook-runtimes.json`, written by the
browser tests), and the Colab links from the one repository URL in
`grader/build.py`. Runtimes already in the README are kept for lessons that
were not measured this time.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from grader.build import COURSE_REPO

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RUNTIMES = ROOT / "build" / "notebook-runtimes.json"
START, END = "<!-- course-map:start -->", "<!-- course-map:end -->"


def colab_url(path: str) -> str:
    """The Open-in-Colab address of a notebook in the course repository."""
    repo = COURSE_REPO.removeprefix("https://github.com/").rstrip("/")
    return f"https://colab.research.google.com/github/{repo}/blob/main/{path}"


def _title(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0]
    return re.sub(r"^#\s*(\d+[a-z]?\s*·\s*)?", "", first).strip()


def _exercise_for(stem: str) -> Path | None:
    number = stem.split("_", 1)[0]
    found = sorted((ROOT / "exercises").glob(f"ex{number}_*/*.ipynb"))
    return found[0] if found else None


def _old_runtimes(text: str) -> dict[str, str]:
    keep = {}
    for line in text.splitlines():
        m = re.match(r"\| (\d\d[a-z]?) \|.*\| ([0-9]+ s) \|", line)
        if m:
            keep[m.group(1)] = m.group(2)
    return keep


def course_map(readme_text: str, measured: dict[str, float]) -> str:
    """The course-map table (Markdown) for the notebooks that exist now.

    ``measured`` maps ``lessons/<file>`` to seconds; lessons missing from it keep
    the runtime the README already states.
    """
    old = _old_runtimes(readme_text)
    badge = "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    rows = [
        "| # | Lesson | CPU runtime | Exercise | Colab |",
        "|---|---|---:|---|---|",
    ]
    for lesson in sorted((ROOT / "lessons").glob("*.ipynb")):
        number = lesson.stem.split("_", 1)[0]
        rel = f"lessons/{lesson.name}"
        seconds = measured.get(rel)
        runtime = f"{round(seconds):d} s" if seconds is not None else old.get(number, "not measured")
        exercise = _exercise_for(lesson.stem)
        ex_cell = "—"
        colab = f"{badge}({colab_url(rel)})"
        if exercise is not None:
            ex_rel = exercise.relative_to(ROOT).as_posix()
            ex_cell = f"[{exercise.stem}]({ex_rel})"
            colab += f" [exercise]({colab_url(ex_rel)})"
        rows.append(f"| {number} | [{_title(lesson)}]({rel}) | {runtime} | {ex_cell} | {colab} |")
    return "\n".join(rows)


def render(readme_text: str, measured: dict[str, float]) -> str:
    if START not in readme_text or END not in readme_text:
        raise ValueError(f"README.md needs the markers {START} and {END} around the course map")
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{course_map(readme_text, measured)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    text = README.read_text(encoding="utf-8")
    check = "--check" in (argv or [])
    # --check compares with the runtimes the README states; a rewrite takes the last measured ones.
    measured = {} if check or not RUNTIMES.exists() else json.loads(RUNTIMES.read_text())
    new = render(text, measured)
    if check:
        if new != text:
            print("README.md's course map is out of date: run `python -m grader.readme`", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
