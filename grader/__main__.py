"""Instructor tools of Pixels to Labels: ``python -m grader COMMAND``.

Authoring:
  build      rebuild lessons/ and solutions/ notebooks from src/ (--check: only report)
  release    regenerate exercises/ from solutions/ with nbgrader (--check: only report)
  lint       check exercise test cells against the grading rules

Grading (nbgrader's course layout under the course folder, default: this repository):
  collect    bring an LMS download (zip or folder) into submitted/<student>/<assignment>/
  autograde  run every new or changed submission in a sandbox and record the grades in gradebook.db
  status     what is graded, what is waiting, and what needs your attention (and why)
  feedback   write each student's feedback HTML into feedback/ (nbgrader's generate_feedback)
  export     write grades.csv (a row per student, a column per exercise and graded cell) and pass rates

Run `python -m grader COMMAND --help` for the options of each command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

COURSE_HELP = (
    "the course folder in nbgrader's layout: solutions/ (source), exercises/ (release), submitted/, "
    "autograded/, feedback/, gradebook.db, grading/ (default: the repository root)"
)


def _course(args):
    from grader.repo_exercises import ROOT
    from grader.state import Course

    return Course(Path(args.course_dir).resolve() if args.course_dir else ROOT)


def _default_cell_timeout(root: Path) -> float:
    """The per-cell limit: ``ExecutePreprocessor.timeout`` from the course folder's own ``nbgrader_config.py``
    if it sets one (what plain nbgrader run there would use), else from ``grader/nbgrader_config.py``, else 120 s."""
    from traitlets.config.loader import PyFileConfigLoader

    from grader.nbgrader_setup import CONFIG_FILE

    for folder in (root, CONFIG_FILE.parent):
        if not (folder / CONFIG_FILE.name).is_file():
            continue
        try:
            timeout = PyFileConfigLoader(CONFIG_FILE.name, path=str(folder)).load_config().ExecutePreprocessor.get("timeout")
        except Exception:  # noqa: BLE001 - an unreadable config falls back to the next one
            continue
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            return float(timeout)
    return 120.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    for name, text in (
        ("build", "rebuild lessons/ and solutions/ notebooks from src/"),
        ("release", "regenerate exercises/ from solutions/ with nbgrader"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
        if name == "release":
            p.add_argument("--course-dir", help=COURSE_HELP)

    p = sub.add_parser(
        "lint",
        help="check exercise test cells against the grading rules",
        formatter_class=raw,
        description="Check that every test cell of every solutions/*/*.ipynb follows the rules the "
        "sandboxed grader relies on (CONTRIBUTING.md, 'Rules for test cells').\n"
        "Exit status 1 if any cell breaks one; each problem says what to change.",
    )
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="source notebooks to check (default: all)")

    p = sub.add_parser(
        "collect",
        help="import submissions from an LMS download",
        formatter_class=raw,
        description="""\
Copy submissions from an LMS download (a .zip file or a folder) into
submitted/<student>/<assignment>/<notebook>.ipynb (+ timestamp.txt), the
layout nbgrader and `autograde` read.

File names understood:
  Canvas   name_userid_submissionid_original.ipynb  (name_LATE_userid_... too)
  Moodle   Full Name_12345_assignsubmission_file_/original.ipynb
  plain    studentid/.../original.ipynb  (one folder per student)

Without a roster the student id is the LMS user id (Canvas, Moodle) or the
folder name. A roster CSV with columns student_id and lms_id (or canvas_id /
moodle_id / id) maps LMS ids to your student ids; people not on it are
reported, not collected. The assignment is found from the notebook's file name
(Canvas '-1' re-submission suffixes and '(1)'/'-Copy1' are ignored) unless
--assignment says it.

Of several copies the latest is kept (Canvas submission id, else file time).
Nothing is replaced silently: a newer submission moves the one already in
submitted/ to collected/<student>/<assignment>/<time>/ first; an older one is
saved there and not installed. The report lists every file and what happened.""",
    )
    p.add_argument("path", type=Path, help="the LMS download: a .zip file or a folder")
    p.add_argument("--assignment", "-a", help="put every file into this assignment (default: from file names)")
    p.add_argument("--roster", type=Path, help="CSV with student_id and lms_id columns")
    p.add_argument("--dry-run", action="store_true", help="report what would happen; write nothing")
    p.add_argument("--course-dir", help=COURSE_HELP)

    p = sub.add_parser(
        "autograde",
        help="grade new and changed submissions in sandboxes",
        formatter_class=raw,
        description="""\
Grade every submission in submitted/ that is new or changed since it was last
graded, and record the grades in nbgrader's gradebook.db (autograded/ holds
the graded notebooks; `feedback` and `export` read them).

How: each notebook runs in its own bubblewrap sandbox (no network, read-only
system, no view of the gradebook, the solutions, the hidden tests or other
submissions; limits on time, memory, processes and output). The test cells are
rewritten to record the student's values only; those values are compared with
the solution's *outside* the sandbox, so nothing a notebook does to its own
Python can forge a pass. A test cell scores its points only if every check in
it passes. Answers before a crash keep their points. Each problem (renamed or
missing notebook, deleted or edited test cells, a crash, a timeout, too much
output, ...) is explained in the feedback and listed by `status`.

Re-running is safe: finished students are skipped, and after an interruption
(even kill -9) only unfinished work is redone. Before the first student, the
solution is run the same way to record the expected values; an assignment
whose solution does not get full marks is refused with the reason.""",
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignments to grade (default: all)")
    p.add_argument("--student", "-s", action="append", dest="students", metavar="ID", help="grade only this student (repeatable)")
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="notebooks run in parallel, one warm sandbox each, 1 CPU thread each (default: %(default)s, "
        "the number of CPU cores; each sandbox needs about 1 GB of RAM)",
    )
    p.add_argument("--force", action="store_true", help="regrade everything, even submissions already graded")
    p.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wall time per cell before it is interrupted (default: nbgrader's ExecutePreprocessor.timeout "
        "from the course folder's nbgrader_config.py if it sets one, else from grader/nbgrader_config.py)",
    )
    p.add_argument(
        "--notebook-timeout", type=float, default=900.0, metavar="SECONDS", help="wall time per notebook (default: %(default)s)"
    )
    p.add_argument(
        "--memory",
        type=int,
        default=3072,
        metavar="MB",
        help="memory a notebook may allocate beyond the preloaded libraries (default: %(default)s)",
    )
    p.add_argument(
        "--processes", type=int, default=128, metavar="N", help="processes and threads per sandbox (default: %(default)s)"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse assignments whose test cells use bare assert/raise/try (nbgrader's style) instead of "
        "judging them (see INSTRUCTORS.md, 'Bring your own nbgrader assignment')",
    )
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without a sandbox where bubblewrap is unavailable (macOS, Windows): student code then "
        "runs as you and can read the gradebook and solutions; only for notebooks you trust",
    )
    p.add_argument("--course-dir", help=COURSE_HELP)

    p = sub.add_parser(
        "status",
        help="what is graded and what needs attention",
        formatter_class=raw,
        description="For each assignment: how many submissions, how many graded, which are waiting "
        "(new, changed since grading, or the solution changed), which need your attention "
        "and why (crash, timeout, renamed or unreadable notebook, cells matched by content, "
        "...), and which wait for manual grading of written answers.",
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--student", "-s", action="append", dest="students", metavar="ID", help="only this student")
    p.add_argument("--verbose", "-v", action="store_true", help="list every graded student with their score")
    p.add_argument("--course-dir", help=COURSE_HELP)

    p = sub.add_parser(
        "feedback",
        help="write feedback HTML for graded submissions",
        formatter_class=raw,
        description="Run nbgrader's generate_feedback for every graded submission: "
        "feedback/<student>/<assignment>/<notebook>.html shows the student's notebook with "
        "each test cell's verdict, the autograder's notes, scores and comments.",
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--student", "-s", action="append", dest="students", metavar="ID", help="only this student")
    p.add_argument(
        "--show-hidden-tests",
        action="store_true",
        help="include the hidden tests' code in the feedback (default: removed; their verdicts stay, "
        "without the values they computed)",
    )
    p.add_argument("--hide-hidden-tests", action="store_true", help="the default (kept so older scripts keep working)")
    p.add_argument("--course-dir", help=COURSE_HELP)

    p = sub.add_parser(
        "export",
        help="write grades as CSV",
        formatter_class=raw,
        description="Write a CSV with one row per student: the total of each assignment (after late "
        "penalties) and the score of each graded cell (written answers once graded by "
        "hand). A second CSV gives, per graded cell, how many submissions got full marks "
        "(the pass rate) and the mean fraction of points.",
    )
    p.add_argument("--output", "-o", type=Path, default=Path("grades.csv"), help="default: %(default)s")
    p.add_argument(
        "--pass-rates", type=Path, default=None, help="per-cell pass rates CSV (default: next to --output, *_pass_rates.csv)"
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--course-dir", help=COURSE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    if args.command == "build":
        from grader import build

        return build.main(["--check"] if args.check else [])
    if args.command == "release":
        from grader import repo_exercises

        course = _course(args)
        root = course.root
        if not course.solutions.is_dir():
            print(
                f"release: no {course.solutions.name}/ folder in {root} (give the course folder with --course-dir)",
                file=sys.stderr,
            )
            return 2
        stale = repo_exercises.release(check=args.check, root=root)
        for path in stale:
            print(("out of date: " if args.check else "released: ") + str(path.relative_to(root)))
        leaks = repo_exercises.release_leaks(course.exercises, course.solutions)
        for problem in leaks:
            print("LEAK: " + problem, file=sys.stderr)
        if leaks or (args.check and stale):
            return 1
        return 0
    if args.command == "lint":
        from grader import lint

        return lint.main(args.notebooks)
    if args.command == "collect":
        from grader import collect

        course = _course(args)
        try:
            report = collect.collect(course.root, args.path, args.assignment, args.roster, args.dry_run)
        except ValueError as err:
            print(f"collect: {err}", file=sys.stderr)
            return 2
        for line in report.lines():
            print(line)
        return 0
    if args.command == "autograde":
        return _autograde(args)
    if args.command == "status":
        from grader import report

        course = _course(args)
        print(report.format_status(course, args.assignments or course.assignments(), args.students, args.verbose))
        return 0
    if args.command == "feedback":
        from grader import report

        course = _course(args)
        results = report.feedback(
            course,
            args.assignments or course.assignments(),
            args.students,
            show_hidden_tests=args.show_hidden_tests and not args.hide_hidden_tests,
        )
        failed = [r for r in results if not r[2]]
        print(f"feedback written for {len(results) - len(failed)} submission(s) in {course.feedback}")
        for assignment, student, _ok, message in failed:
            print(f"FAILED {assignment}/{student}: {message}", file=sys.stderr)
        return 1 if failed else 0
    if args.command == "export":
        from grader import report

        course = _course(args)
        rates = args.pass_rates or args.output.with_name(args.output.stem + "_pass_rates.csv")
        n_students, n_columns = report.export(course, args.output, rates, args.assignments or None)
        print(f"wrote {args.output} ({n_students} students, {n_columns} columns) and {rates}")
        return 0
    return 2


def _autograde(args) -> int:
    from grader import pipeline, sandbox

    course = _course(args)
    reason = sandbox.check_sandbox()
    sandboxed = True
    if reason is not None:
        if not args.unsafe_no_sandbox:
            print(
                f"autograde: refusing to run student code without a sandbox: {reason}.\n"
                f"{sandbox.MISSING_WITHOUT_SANDBOX}\n"
                "Grade on Linux with bubblewrap, or pass --unsafe-no-sandbox for notebooks you trust.",
                file=sys.stderr,
            )
            return 2
        print(f"WARNING: grading WITHOUT a sandbox ({reason}). {sandbox.MISSING_WITHOUT_SANDBOX}", file=sys.stderr)
        sandboxed = False
    elif args.unsafe_no_sandbox:
        print("note: a sandbox is available here, so --unsafe-no-sandbox is ignored", file=sys.stderr)
    limits = sandbox.Limits(
        cell_seconds=args.cell_timeout or _default_cell_timeout(course.root),
        notebook_seconds=args.notebook_timeout,
        memory_mb=args.memory,
        processes=args.processes,
    )
    options = pipeline.RunOptions(
        jobs=max(1, args.jobs),
        limits=limits,
        sandboxed=sandboxed,
        force=args.force,
        students=args.students,
        strict=args.strict,
    )
    try:
        summary = pipeline.autograde(course, args.assignments or None, options)
    except RuntimeError as err:
        print(f"autograde: {err}", file=sys.stderr)
        return 2
    print(
        f"graded {len(summary.graded)} submission(s) ({summary.executed_notebooks} notebook runs), "
        f"recorded {len(summary.recorded_only)} finished earlier, {len(summary.up_to_date)} already up to date, "
        f"in {summary.seconds:.0f} s"
    )
    for name, reason in summary.refused.items():
        print(f"NOT GRADED {name}: {reason}", file=sys.stderr)
    print("run `python -m grader status` for what needs attention")
    return 1 if summary.refused else 0


if __name__ == "__main__":
    sys.exit(main())
