"""Sandboxed, parallel, tamper-proof autograding on top of nbgrader.

For each assignment:

1. **Prepare** (once per change of ``solutions/``): sync nbgrader's gradebook
   (``generate_assignment`` in a throwaway folder, writing only the course's
   ``gradebook.db``), rewrite every test cell as nbgrader recorded it there
   (its ``### AUTOTEST`` lines made into asserts; :mod:`grader.rewrite`), and run
   the solution in a sandbox to record the *expected* value of every check.
   The solution must pass its own checks, and must also get full marks when
   graded exactly like a student; otherwise the assignment is refused with the
   reason.
2. **Run** each submission's notebooks in warm sandboxes (:mod:`grader.sandbox`),
   ``--jobs`` at a time: the student's cells as written, the test cells
   rewritten to record actual values only.
3. **Judge** in this process (:mod:`grader.judge`, :mod:`grader.compare`): a test cell scores its
   points only if every check in it matches the reference.
4. **Record** with nbgrader's own ``autograde`` (without its execution step):
   the graded notebook, with the verdicts as the test cells' outputs, goes
   through nbgrader's sanitizing, ``SaveAutoGrades`` and late penalties, so the
   gradebook, ``autograded/``, ``feedback`` and ``export`` are nbgrader's.

One module per job: :mod:`grader.state` (the course folder, atomic JSON state, the course lock),
:mod:`grader.plan` (step 1: what to run, the reference run and its cache), :mod:`grader.intake`
(which submitted file is which notebook), :mod:`grader.judge` (step 3, a pure function of what the
sandbox recorded), :mod:`grader.gradebook` (step 4, nbgrader's bookkeeping), :mod:`grader.hidden_tests`
(what feedback leaves out); this module schedules the
steps over the workers and keeps the state that makes a re-run safe.

State lives in ``grading/<assignment>/<student>/`` (``result.json`` after
step 3, ``state.json`` after step 4, both written atomically and keyed by hashes
of the submission and the reference): a re-run skips what is done, and after a
``kill -9`` it redoes only the unfinished step of the unfinished students.
"""

from __future__ import annotations

import queue
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import repo_exercises
from grader import sandbox as sb
from grader.gradebook import one_engine_per_database, record_with_nbgrader
from grader.intake import files_beside, map_notebooks, review_notes, submission_sha
from grader.judge import grade_notebook
from grader.plan import Plan, build_plan, compute_references, job_cells, load_references, perfect_cells, save_references
from grader.state import GRADER_VERSION, AssignmentError, Course, course_lock, read_json, write_json
from grader.submission import Note, empty_submission, normalize, read_notebook


def grade_submission(plan: Plan, folder: Path, worker: sb.Worker) -> dict:
    """Run and judge every notebook of one student's submission; returns the result record (plain JSON)."""
    mapping, sub_notes = map_notebooks(plan, folder)
    files, file_notes = files_beside(plan, folder)
    sub_notes += file_notes
    graded = []
    for nb in plan.notebooks:
        path = mapping.get(nb.name)
        student_cells, read_notes = (None, [])
        if path is not None:
            try:
                data = path.read_bytes()
            except OSError as err:
                data, read_notes = None, [Note(f"the file could not be read ({err})", True)]
            if data is not None:
                student_cells, read_notes = read_notebook(data)
        if student_cells is None:
            normalized = empty_submission(nb.release, nb.source)
            normalized.notes = list(read_notes)
            if path is not None:
                normalized.notes.append(
                    Note(
                        "it was graded as if no answers had been written; the original file is "
                        "kept in submitted/ for manual review",
                        True,
                    )
                )
        else:
            normalized = normalize(student_cells, nb.release, nb.source)
            normalized.notes[:0] = read_notes
            normalized.notes += review_notes(student_cells, nb.source)
        job, where = job_cells(normalized.cells, normalized.roles, nb, reference=False)
        if path is None or student_cells is None:
            # Nothing of the student's to run: every test cell fails without starting a sandbox.
            result = sb.JobResult(status="not_run", events=[], detail={})
        else:
            result = worker.run(nb.name, job, files)
            if result.status in ("worker_died", "host_timeout") and not result.events:
                result = worker.run(nb.name, job, files)  # one retry on a fresh sandbox (infrastructure hiccup)
        grade = grade_notebook(nb, normalized, result, job, where, worker.limits)
        if result.status == "not_run":
            why = "the notebook is missing" if path is None else "the file could not be read as a notebook"
            for cell in grade.cells:
                for out in cell.get("outputs", []):
                    if out.get("ename") == "NotRun":
                        out["evalue"] = f"This test cell did not run: {why} (see the notes)."
                        out["traceback"] = ["Autograder: this test cell scores no points.", out["evalue"]]
            for test in grade.tests.values():
                test["messages"] = [f"This test cell did not run: {why}."]
        grade.file = str(path.relative_to(folder)) if path is not None else None
        graded.append(grade)
    return {
        "notebooks": [g.__dict__ for g in graded],
        "notes": sub_notes,
    }


@dataclass
class RunOptions:
    jobs: int = 2
    limits: sb.Limits = field(default_factory=sb.Limits)
    sandboxed: bool = True
    force: bool = False
    students: list[str] | None = None
    log: object = None
    strict: bool = False  # refuse nbgrader-style test cells (bare assert...) instead of judging them (grader.byo)


@dataclass
class RunSummary:
    graded: list[tuple[str, str]] = field(default_factory=list)  # executed and recorded now
    recorded_only: list[tuple[str, str]] = field(default_factory=list)  # executed earlier, recorded now
    up_to_date: list[tuple[str, str]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # assignment -> reason
    executed_notebooks: int = 0
    seconds: float = 0.0
    #: Where the time went: preparing (gradebook sync, rewriting), recording references (incl. starting that
    #: sandbox), waiting for the warm workers, each notebook's sandbox run, each nbgrader recording.
    timings: dict[str, list[float]] = field(default_factory=dict)

    def time(self, what: str, seconds: float) -> None:
        self.timings.setdefault(what, []).append(seconds)


def _timestamp(folder: Path) -> str | None:
    path = folder / "timestamp.txt"
    try:
        return path.read_text(encoding="utf-8").strip()[:100] or None
    except OSError:
        return None


def autograde(course: Course, assignments: list[str] | None, options: RunOptions) -> RunSummary:
    """Grade every submission of ``assignments`` (default: all) that is not graded yet; see the module docstring."""
    log = options.log or (lambda message: print(message, file=sys.stderr, flush=True))
    started = time.monotonic()
    summary = RunSummary()
    names = assignments or course.assignments()
    with course_lock(course), one_engine_per_database():
        # Job folders of a run that was killed (nothing in them is needed: results are in grading/<a>/<s>/).
        shutil.rmtree(course.grading / ".work", ignore_errors=True)
        shutil.rmtree(course.grading / ".nbgrader-in", ignore_errors=True)
        plans: dict[str, Plan] = {}
        prepared = time.monotonic()
        for name in names:
            if not (course.solutions / name).is_dir():
                summary.refused[name] = f"no folder solutions/{name}"
                continue
            try:
                plans[name] = build_plan(course, name, strict=options.strict)
            except AssignmentError as err:
                _refuse(course, summary, name, str(err), log)
        todo: list[tuple[Plan, str, str, bool]] = []  # plan, student, submission sha, needs execution
        for name, plan in plans.items():
            students = course.students(name)
            if options.students:
                students = [s for s in students if s in options.students]
            for student in students:
                folder = course.submitted / student / name
                sha = submission_sha(folder)
                state = read_json(course.grading / name / student / "state.json") or {}
                done = (
                    state.get("submission") == sha
                    and state.get("reference") == plan.sha
                    and (course.autograded / student / name).is_dir()
                )
                if done and not options.force:
                    summary.up_to_date.append((name, student))
                    continue
                result = read_json(course.grading / name / student / "result.json") or {}
                fresh = result.get("submission") == sha and result.get("reference") == plan.sha
                todo.append((plan, student, sha, options.force or not fresh))
        summary.time("prepare", time.monotonic() - prepared)
        verified = {name: load_references(course, plan) for name, plan in plans.items()}
        stale_refs = [plan for name, plan in plans.items() if verified[name] is None]
        for name, plan in plans.items():
            if verified[name]:
                (course.grading / plan.assignment / "refused.json").unlink(missing_ok=True)
        needs_workers = bool(stale_refs) or any(run for *_x, run in todo)
        if not needs_workers and not todo:
            summary.seconds = time.monotonic() - started
            return summary
        preload = sorted(set().union(*(set(p.preload) for p in plans.values()))) if plans else list(sb.DEFAULT_PRELOAD)
        hide = [course.root, repo_exercises.ROOT]
        pool = _start_workers(options, hide, preload, log, course.grading / ".work") if any(run for *_x, run in todo) else None
        try:
            if stale_refs:
                _record_references(course, stale_refs, options, hide, preload, summary, log)
                todo = [t for t in todo if t[0].assignment not in summary.refused]
            sb.share_cache()
            unverified = [p for p in plans.values() if not verified[p.assignment] and p.assignment not in summary.refused]
            summary.executed_notebooks += _run_all(course, todo, pool, summary, log, unverified)
        finally:
            if pool is not None:
                for worker in pool.workers:
                    worker.stop()
    summary.seconds = time.monotonic() - started
    return summary


def _record_references(course: Course, plans: list[Plan], options: RunOptions, hide, preload, summary: RunSummary, log) -> None:
    """Run each solution in a trusted sandbox (it may fill the dataset cache), record and verify its values."""
    started = time.monotonic()
    worker = sb.Worker(
        99,
        limits=options.limits,
        hide=hide,
        preload=preload,
        sandboxed=options.sandboxed,
        writable_cache=True,
        trusted=True,
        workdir=course.grading / ".work",
    )
    log(f"recording reference values for {', '.join(p.assignment for p in plans)} ...")
    try:
        worker.start()
        for plan in plans:
            try:
                compute_references(plan, worker, log)
                save_references(course, plan, verified=False)
            except AssignmentError as err:
                _refuse(course, summary, plan.assignment, str(err), log)
    finally:
        worker.stop()
        summary.time("references", time.monotonic() - started)


def _refuse(course: Course, summary: RunSummary, assignment: str, reason: str, log) -> None:
    summary.refused[assignment] = reason
    write_json(course.grading / assignment / "refused.json", {"reason": reason, "at": time.time()})
    log(f"REFUSED {reason}")


def verify_solution(plan: Plan, worker: sb.Worker) -> None:
    """Grade the solution exactly like a student: it must get every point, or the rewrite changed the tests."""
    for nb in plan.notebooks:
        cells = perfect_cells(nb)
        normalized = normalize(cells, nb.release, nb.source)
        job, where = job_cells(normalized.cells, normalized.roles, nb, reference=False)
        result = worker.run(nb.name, job, plan.files)
        grade = grade_notebook(nb, normalized, result, job, where, worker.limits)
        failed = {g: t["messages"] for g, t in grade.tests.items() if not t["passed"]}
        if failed:
            raise AssignmentError(
                f"{plan.assignment}/{nb.name}: the solution loses points when graded like a student, so a test "
                "cell depends on something the grader removes (a shared random generator or a variable used "
                "only for an expected value?):\n  " + "\n  ".join(f"{g}: {m[:2]}" for g, m in failed.items())
            )


class _Pool:
    """Worker sandboxes started in the background while references are recorded."""

    def __init__(self, workers: list[sb.Worker], threads: list[threading.Thread], errors: list):
        self.workers, self.threads, self.errors = workers, threads, errors


def _start_workers(options: RunOptions, hide, preload, log, workdir: Path) -> _Pool:
    workers = [
        sb.Worker(i, limits=options.limits, hide=hide, preload=preload, sandboxed=options.sandboxed, workdir=workdir)
        for i in range(max(1, options.jobs))
    ]
    errors: list = []

    def boot(worker: sb.Worker) -> None:
        try:
            worker.wait_ready()
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    for worker in workers:  # spawned from this (long-lived) thread, see Worker.spawn
        try:
            worker.spawn()
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=boot, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    return _Pool(workers, threads, errors)


def _run_all(course: Course, todo, pool: _Pool | None, summary: RunSummary, log, unverified: list[Plan]) -> int:
    """Execute (in parallel) and record (serially, in this thread) every pending submission.

    Assignments whose references are not verified yet are first checked on a student worker (same uid,
    limits and read-only view as a student): the solution must get full marks there.
    """
    tasks: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()
    executed = 0
    to_record = []
    for plan, student, sha, run in todo:
        if run:
            tasks.put((plan, student, sha))
        else:
            to_record.append((plan, student, sha))
    n_run = tasks.qsize()
    if n_run and pool:
        waited = time.monotonic()
        for t in pool.threads:
            t.join()
        summary.time("wait for workers", time.monotonic() - waited)
        if pool.errors and len(pool.errors) == len(pool.workers):
            raise pool.errors[0]
        _verify_all(
            [plan for plan in unverified if any(p is plan and run for p, _s, _h, run in todo)],
            [w for w in pool.workers if w.alive()],
            course,
            summary,
            log,
        )
        if any(p.assignment in summary.refused for p in unverified):
            keep = []
            for item in todo:
                if item[0].assignment in summary.refused:
                    continue
                keep.append(item)
            todo = keep
            tasks = queue.Queue()
            to_record = []
            for plan, student, sha, run in todo:
                (tasks.put((plan, student, sha)) if run else to_record.append((plan, student, sha)))
            n_run = tasks.qsize()

        def serve(worker: sb.Worker) -> None:
            try:
                while True:
                    try:
                        plan, student, sha = tasks.get_nowait()
                    except queue.Empty:
                        return
                    folder = course.submitted / student / plan.assignment
                    try:
                        result = grade_submission(plan, folder, worker)
                        result.update(submission=sha, reference=plan.sha, graded_at=time.time(), grader=GRADER_VERSION)
                        write_json(course.grading / plan.assignment / student / "result.json", result)
                        done.put((plan, student, sha, None))
                    except Exception as err:  # noqa: BLE001 - reported per student, never stops the others
                        done.put((plan, student, sha, err))
            finally:
                worker.stop()

        live = [w for w in pool.workers if w.alive()]
        if not live:
            raise sb.WorkerError(f"no grading sandbox could be started: {pool.errors[0] if pool.errors else '?'}")
        threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in live]
        for t in threads:
            t.start()
    else:
        threads = []
    received = 0
    total = n_run + len(to_record)
    for plan, student, sha in to_record:
        _record(course, plan, student, sha, summary, log, executed=False)
        received += 1
    while received < total:
        plan, student, sha, err = done.get()
        received += 1
        executed += 1
        if err is not None:
            log(f"ERROR grading {plan.assignment}/{student}: {type(err).__name__}: {err}")
            summary.refused.setdefault(f"{plan.assignment}/{student}", f"{type(err).__name__}: {err}")
            continue
        _record(course, plan, student, sha, summary, log, executed=True)
        log(f"[{received}/{total}] {plan.assignment}/{student}")
    for t in threads:
        t.join()
    return sum(len(plan.notebooks) for plan, _s, _h, run in todo if run)


def _verify_all(plans: list[Plan], workers: list[sb.Worker], course: Course, summary: RunSummary, log) -> None:
    """Verify each solution on a student worker, the workers sharing the plans out (one verification each at a time)."""
    pending: queue.Queue = queue.Queue()
    for plan in plans:
        pending.put(plan)
    outcomes: queue.Queue = queue.Queue()

    def check(worker: sb.Worker) -> None:
        while True:
            try:
                plan = pending.get_nowait()
            except queue.Empty:
                return
            try:
                verify_solution(plan, worker)
                outcomes.put((plan, None))
            except AssignmentError as err:
                outcomes.put((plan, err))

    threads = [threading.Thread(target=check, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while not outcomes.empty():  # recorded here, in the calling thread: one writer for the course's files
        plan, err = outcomes.get()
        if err is None:
            save_references(course, plan, verified=True)
            (course.grading / plan.assignment / "refused.json").unlink(missing_ok=True)
            log(f"  {plan.assignment}: the solution gets full marks when graded like a student")
        else:
            _refuse(course, summary, plan.assignment, str(err), log)


def _record(course: Course, plan: Plan, student: str, sha: str, summary: RunSummary, log, executed: bool) -> None:
    started = time.monotonic()
    result = read_json(course.grading / plan.assignment / student / "result.json")
    folder = course.submitted / student / plan.assignment
    scores = record_with_nbgrader(course, plan, student, result, _timestamp(folder))
    summary.time("record", time.monotonic() - started)
    if executed:
        for grade in result["notebooks"]:
            summary.time("notebook run", grade.get("seconds", 0.0))
    write_json(
        course.grading / plan.assignment / student / "state.json",
        {
            "submission": sha,
            "reference": plan.sha,
            "recorded_at": time.time(),
            "scores": scores,
            "notes": result.get("notes", []) + [n for g in result["notebooks"] for n in g["notes"]],
            "tests": {g["name"]: g["tests"] for g in result["notebooks"]},
            "files": {g["name"]: g["file"] for g in result["notebooks"]},
        },
    )
    (summary.graded if executed else summary.recorded_only).append((plan.assignment, student))
