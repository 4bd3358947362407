"""The whole course graded: every exercise's solution, untouched stub and plausible wrong answers
(tests/wrong_answers/), by the sandboxed pipeline (``--jobs 2``, one run for the course) against plain
serial ``nbgrader autograde`` (one assignment after another), side by side in the same run.

The clock runs from "submissions are in submitted/" to "grades are in the gradebook", each side's one-time
setup included (for nbgrader ``generate_assignment``; for the pipeline the warm sandboxes, the reference run
and the verification of every solution). Both sides must give every submission the same grades.
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
    for assignment in subs:
        if ours_scores[assignment] != base_scores[assignment]:
            raise AssertionError(f"{assignment}: the sandboxed pipeline and nbgrader disagree on the grades")
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
