"""Autograding speed: the sandboxed pipeline (``--jobs 2``) against plain serial ``nbgrader autograde``.

Both grade the same synthetic submissions of ex00 (which imports torch through
course_utils) from scratch, in the same run, each in its own throwaway course:
the clock runs from "submissions are in submitted/" to "grades are in the
gradebook", including each side's one-time setup (nbgrader's
``generate_assignment``; for us also the warm sandboxes and the reference run).
``P2L_BENCH_SUBMISSIONS`` changes the number of submissions (default 40).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench import Row
from grader import pipeline, repo_exercises, sandbox, submission

ASSIGNMENT = "ex00_example"
WRONG = [
    "def scale_pixels(x):\n    return (x // 255).float()\n",
    "def scale_pixels(x):\n    out = x.to(torch.float32).div_(255)\n    x.zero_()\n    return out\n",
    "def scale_pixels(x):\n    return x / 255\n",
]


def submissions(n: int) -> dict[str, dict[str, dict]]:
    """``n`` students: three in four right, the others one of three plausible wrong answers."""
    name = f"{ASSIGNMENT}.ipynb"
    released = json.loads((repo_exercises.EXERCISES / ASSIGNMENT / name).read_text(encoding="utf-8"))
    source = json.loads((repo_exercises.SOLUTIONS / ASSIGNMENT / name).read_text(encoding="utf-8"))
    perfect = submission.perfect_submission(released, source)
    out = {}
    for i in range(n):
        nb = json.loads(json.dumps(perfect))
        if i % 4 == 3:
            for cell in nb["cells"]:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "scale_pixels":
                    cell["source"] = WRONG[(i // 4) % len(WRONG)]
        out[f"student{i:03d}"] = {name: nb}
    return out


def run_ours(subs: dict, root: Path, jobs: int) -> tuple[float, pipeline.RunSummary, dict]:
    course = pipeline.Course(root)
    course.add_assignment(ASSIGNMENT, repo_exercises.SOLUTIONS, subs)
    start = time.perf_counter()
    summary = pipeline.autograde(
        course, [ASSIGNMENT], pipeline.RunOptions(jobs=jobs, limits=sandbox.Limits(), log=lambda m: None)
    )
    seconds = time.perf_counter() - start
    return seconds, summary, course.scores(ASSIGNMENT)


def run_baseline(subs: dict, root: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    scores = repo_exercises.autograde_local(ASSIGNMENT, subs, root)
    return time.perf_counter() - start, scores


def run() -> list[Row]:
    n = int(os.environ.get("P2L_BENCH_SUBMISSIONS", "40"))
    jobs = 2
    subs = submissions(n)
    with (
        tempfile.TemporaryDirectory(prefix="p2l-bench-ours-") as a,
        tempfile.TemporaryDirectory(prefix="p2l-bench-nbgrader-") as b,
    ):
        load_ours = os.getloadavg()[0]
        ours_s, summary, ours_scores = run_ours(subs, Path(a), jobs)
        load_mid = os.getloadavg()[0]
        base_s, base_scores = run_baseline(subs, Path(b))
        load_end = os.getloadavg()[0]
    if ours_scores != base_scores:
        raise AssertionError("the sandboxed pipeline and nbgrader disagree on the grades")
    t = summary.timings
    runs = t.get("notebook run", [0.0])
    records = t.get("record", [0.0])
    setup = sum(t.get("prepare", [])) + sum(t.get("references", [])) + sum(t.get("wait for workers", []))
    label = f"autograde {n} × ex00 (torch)"
    return [
        Row(
            label, f"throughput, sandboxed --jobs {jobs} vs serial nbgrader", n / ours_s * 60, n / base_s * 60, "subs/min", "≥ 2×"
        ),
        Row(label, "wall time, setup included", ours_s, base_s, "s"),
        Row(label, "per submission, amortised", ours_s / n, base_s / n, "s"),
        Row(label, "per notebook: sandbox run (median; nbgrader: full autograde)", statistics.median(runs), base_s / n, "s"),
        Row(label, "per submission: nbgrader bookkeeping without execution (median)", statistics.median(records), None, "s"),
        Row(label, "one-time: gradebook sync + reference run + warm sandboxes", setup, None, "s"),
        Row(
            label,
            "1-min load average at start / between / end",
            load_ours,
            None,
            f"(then {load_mid:.1f}, {load_end:.1f}) on {os.cpu_count()} cores",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
