"""The whole course graded: every exercise's solution, untouched stub and plausible wrong answers
(tests/wrong_answers/), by the sandboxed pipeline (``--jobs 2``, one run for the course) against plain
serial ``nbgrader autograde`` (one assignment after another), side by side in the same run.

The clock runs from "submissions are in submitted/" to "grades are in the gradebook", each side's one-time
setup included (for nbgrader ``generate_assignment``; for the pipeline the warm sandboxes, the reference run
and the verification of every solution). Both sides must give every submission the same grades, cell by
cell, except where plain nbgrader is fooled: a wrong answer that gets round a check running in the student's
own process (the write-it-yourself guard, a forged record) keeps points under plain nbgrader and loses
exactly its cells in the sandbox. Those cells are printed as a table; any other difference fails the run.
``P2L_BENCH_EXERCISES`` (comma-separated) limits the run to some exercises.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench import Row
from grader import pipeline, repo_exercises, sandbox


def _course(names: list[str]) -> dict[str, dict[str, dict[str, dict]]]:
    return {a: repo_exercises.course_submissions(a) for a in names}


def run_ours(subs: dict, root: Path, jobs: int) -> tuple[float, dict]:
    course = pipeline.Course(root)
    for assignment, students in subs.items():
        course.add_assignment(assignment, repo_exercises.SOLUTIONS, students)
    start = time.perf_counter()
    summary = pipeline.autograde(course, list(subs), pipeline.RunOptions(jobs=jobs, limits=sandbox.Limits(), log=lambda m: None))
    seconds = time.perf_counter() - start
    if summary.refused:
        raise AssertionError(f"the pipeline refused {summary.refused}")
    return seconds, {a: course.scores(a) for a in subs}


def run_baseline(subs: dict, root: Path) -> tuple[float, dict]:
    start, scores = time.perf_counter(), {}
    for assignment, students in subs.items():
        scores[assignment] = repo_exercises.autograde_local(assignment, students, root / assignment)
    return time.perf_counter() - start, scores


def compare(ours: dict, base: dict) -> tuple[list[tuple], list[tuple]]:
    """Cell-by-cell differences: those where nbgrader was fooled (the sandbox scores the cell as the wrong
    answer's case says it must: below full marks), and any other (a defect of one side)."""
    fooled, wrong = [], []
    for assignment in sorted(set(ours) | set(base)):
        cases = repo_exercises.wrong_students(assignment)
        students = set(ours.get(assignment, {})) | set(base.get(assignment, {}))
        for student in sorted(students):
            a, b = ours.get(assignment, {}).get(student, {}), base.get(assignment, {}).get(student, {})
            for cell in sorted(set(a) | set(b)):
                if a.get(cell) == b.get(cell):
                    continue
                row = (assignment, student, cell, *(s.get(cell, (float("nan"),))[0] for s in (b, a)))
                loses = cell in cases.get(student, {}).get("loses", [])
                caught = loses and cell in a and cell in b and a[cell][0] < a[cell][1] and b[cell][0] == b[cell][1]
                (fooled if caught else wrong).append(row)
    return fooled, wrong


def run() -> list[Row]:
    chosen = os.environ.get("P2L_BENCH_EXERCISES")
    names = chosen.split(",") if chosen else repo_exercises.assignments()
    subs = _course(names)
    n = sum(len(students) for students in subs.values())
    jobs = 2
    with (
        tempfile.TemporaryDirectory(prefix="p2l-bench-course-ours-") as a,
        tempfile.TemporaryDirectory(prefix="p2l-bench-course-nbgrader-") as b,
    ):
        load_start = os.getloadavg()[0]
        ours_s, ours_scores = run_ours(subs, Path(a), jobs)
        load_mid = os.getloadavg()[0]
        base_s, base_scores = run_baseline(subs, Path(b))
        load_end = os.getloadavg()[0]
    fooled, wrong = compare(ours_scores, base_scores)
    print(f"\ncells where plain nbgrader gave points that the sandbox withheld ({len(fooled)}; each a wrong answer's):")
    print(f"{'exercise':32} {'student':36} {'cell':28} {'nbgrader':>8} {'sandboxed':>9}")
    for row in fooled:
        print(f"{row[0]:32} {row[1]:36} {row[2]:28} {row[3]:8g} {row[4]:9g}")
    if wrong:
        raise AssertionError("the sandboxed pipeline and nbgrader disagree where they should not:\n" + "\n".join(map(str, wrong)))
    label = f"whole course: {len(subs)} exercises, {n} submissions (solution, stub, wrong answers)"
    return [
        Row(
            label,
            f"wall time, sandboxed --jobs {jobs} vs serial nbgrader (setup included)",
            ours_s,
            base_s,
            "s",
        ),
        Row(label, "throughput", n / ours_s * 60, n / base_s * 60, "subs/min", "≥ 4×"),
        Row(
            label,
            "1-min load average at start / between / end",
            load_start,
            None,
            f"(then {load_mid:.1f}, {load_end:.1f}) on {os.cpu_count()} cores",
        ),  # fmt: skip
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
