"""Keep README.md's course map true: `python -m grader.readme` rewrites it from the notebooks.

Titles come from each lesson's H1, links from the files that exist, the Colab
links from the one repository URL in `grader/build.py`, and runtimes from
`lessons/runtimes.json`: the one record of measured runtimes, which the build
also writes into each lesson's header. Running this module first copies the
last measured run (`build/notebook-runtimes.json`, written by the browser
tests) into that record (lessons not measured this time keep their old
value), then rewrites the README's course map and rebuilds the notebooks, so
README and headers cannot disagree. To refresh: run the browser tests, then
`python -m grader.readme`, then commit README.md, lessons/runtimes.json and
lessons/*.ipynb.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from grader import build
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


def update_record(measured: dict[str, float]) -> dict[str, int]:
    """Copy measured lesson runtimes (``lessons/<file>.ipynb`` -> seconds) into lessons/runtimes.json.

    Entries that are not lessons (grading runs) are ignored; lessons not measured keep their value.
    """
    record = (
        json.loads(build.RUNTIMES.read_text(encoding="utf-8"))
        if build.RUNTIMES.exists()
        else {
            "about": "Seconds for Run All of each lesson in JupyterLab on a 2-core CPU, and the kernel's peak memory "
            "(MB), measured by tests/test_browser.py. Written by `python -m grader.readme` from build/notebook-runtimes.json; "
            "read by `python -m grader build` into each lesson's header and by the README's course map. "
            "Do not edit by hand.",
            "seconds": {},
            "peak_mb": {},
        }
    )
    for name, value in measured.items():
        m = re.fullmatch(r"(memory/)?lessons/(\w+)\.ipynb", name)
        if m and (ROOT / name.removeprefix("memory/")).exists():
            if m.group(1):  # the kernel's peak memory in MB, measured in the same run
                record.setdefault("peak_mb", {})[m.group(2)] = round(value)
            else:
                record["seconds"][m.group(2)] = round(value)
    build.RUNTIMES.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return record["seconds"]


def course_map() -> str:
    """The course-map table (Markdown) for the notebooks that exist now, runtimes from lessons/runtimes.json."""
    runtimes = build.lesson_runtimes()
    peaks = json.loads(build.RUNTIMES.read_text(encoding="utf-8")).get("peak_mb", {}) if build.RUNTIMES.exists() else {}
    badge = "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    rows = [
        "| # | Lesson | CPU runtime | Peak memory | Exercise | Colab |",
        "|---|---|---:|---:|---|---|",
    ]
    for lesson in sorted((ROOT / "lessons").glob("*.ipynb")):
        number = lesson.stem.split("_", 1)[0]
        rel = f"lessons/{lesson.name}"
        seconds = runtimes.get(lesson.stem)
        runtime = f"{seconds:d} s" if seconds is not None else "not measured"
        memory = f"{peaks[lesson.stem] / 1024:.1f} GB" if lesson.stem in peaks else "not measured"
        exercise = _exercise_for(lesson.stem)
        ex_cell = "—"
        colab = f"{badge}({colab_url(rel)})"
        if exercise is not None:
            ex_rel = exercise.relative_to(ROOT).as_posix()
            ex_cell = f"[{exercise.stem}]({ex_rel})"
            colab += f" [exercise]({colab_url(ex_rel)})"
        rows.append(f"| {number} | [{_title(lesson)}]({rel}) | {runtime} | {memory} | {ex_cell} | {colab} |")
    return "\n".join(rows)


def render(readme_text: str) -> str:
    if START not in readme_text or END not in readme_text:
        raise ValueError(f"README.md needs the markers {START} and {END} around the course map")
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{course_map()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    text = README.read_text(encoding="utf-8")
    check = "--check" in (argv or [])
    if check:  # compare with the record as it is; measure nothing, write nothing
        if render(text) != text:
            print("README.md's course map is out of date: run `python -m grader.readme`", file=sys.stderr)
            return 1
        return 0
    if RUNTIMES.exists():
        update_record(json.loads(RUNTIMES.read_text(encoding="utf-8")))
    README.write_text(render(text), encoding="utf-8")
    for path in build.build():  # the lesson headers state the same record
        print(f"built: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
