"""The judge: from what a sandbox recorded to points, in the trusted process.

:func:`grade_notebook` is a pure function of the notebook's plan, the sandbox's job result and the
reference records: it runs nothing and touches no file. Student outputs pass :func:`sanitize_outputs`
(no HTML or script survives) before anything shows them.
"""

from __future__ import annotations

import errno
import json
import re
from dataclasses import dataclass, field

from grader import byo
from grader import sandbox as sb
from grader.plan import NotebookPlan, records_by_check
from grader.submission import Note


@dataclass
class NotebookGrade:
    name: str
    file: str | None
    cells: list[dict]  # the graded notebook's cells, with outputs
    tests: dict[str, dict]  # grade_id -> {"passed": bool, "points": .., "messages": [...]}
    notes: list[dict]
    seconds: float = 0.0
    status: str = ""
    #: Outputs of cells that ran after a hidden test, as the sandbox reported them (sanitized): for the
    #: instructor's record (result.json) only; the graded notebook and the feedback show a note instead.
    withheld: dict[int, list[dict]] = field(default_factory=dict)


def _short_source(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            line = line.strip()
            return line if len(line) <= 50 else line[:47] + "..."
    return "(empty)"


_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")

#: What of a student's rich output reaches the graded notebook (and the feedback): text and raster images.
#: HTML, SVG, Markdown, LaTeX, JavaScript and widgets could run script or draw a fake verdict in the
#: instructor's formgrader and in the student's feedback page; they are reduced to text.
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment (tags, scripts and styles removed), for showing as plain text."""
    import re

    import bleach

    html = re.sub(r"(?is)<(script|style)\b.*?(</\1\s*>|$)", "", html)
    text = bleach.clean(html, tags=set(), attributes={}, strip=True, strip_comments=True)
    import html as html_lib

    return html_lib.unescape(text)


def safe_bundle(data: dict) -> dict:
    """Keep the safe MIME types of one output bundle; with none of them, the text of its HTML/Markdown."""
    out = {}
    for key, value in data.items():
        key = str(key)[:100]
        if key in SAFE_MIME and isinstance(value, str):
            if key.startswith("image/") and not _is_base64(value):
                continue
            out[key] = value
    if "text/plain" not in out:
        for key in ("text/html", "text/markdown", "text/latex"):
            if isinstance(data.get(key), str):
                out["text/plain"] = html_to_text(data[key])[:100_000]
                break
    return out


def _is_base64(value: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9+/=\s]*", value[:10_000]) is not None


def sanitize_outputs(outputs, limits: sb.Limits) -> list[dict]:
    """Valid nbformat outputs only, capped again here (the sandbox's own caps are not trusted)."""
    clean: list[dict] = []
    budget = limits.text_per_cell * 2 + limits.image_bytes
    if not isinstance(outputs, list):
        return clean
    for out in outputs[:200]:
        if not isinstance(out, dict) or out.get("output_type") not in _OUTPUT_TYPES:
            continue
        kind = out["output_type"]
        if kind == "stream":
            name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
            text = str(out.get("text", ""))[: limits.text_per_cell + 200]
            item = {"output_type": "stream", "name": name, "text": text}
            size = len(text)
        elif kind == "error":
            tb = out.get("traceback") if isinstance(out.get("traceback"), list) else []
            item = {
                "output_type": "error",
                "ename": str(out.get("ename", "Error"))[:200],
                "evalue": str(out.get("evalue", ""))[:5000],
                "traceback": [str(t)[:5000] for t in tb[:60]],
            }
            size = sum(len(t) for t in item["traceback"]) + len(item["evalue"])
        else:
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            data = safe_bundle(data)
            if not data:
                continue
            meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
            meta = {k: v for k, v in meta.items() if k in data and isinstance(v, dict)}
            item = {"output_type": kind, "data": data, "metadata": json.loads(json.dumps(meta, default=str))}
            if kind == "execute_result":
                count = out.get("execution_count")
                item["execution_count"] = count if isinstance(count, int) else None
            size = len(json.dumps(data))
        if size > budget:
            clean.append({"output_type": "stream", "name": "stdout", "text": "... output not kept (output limit)\n"})
            break
        budget -= size
        clean.append(item)
    return clean


def _status_note(result: sb.JobResult, cell_label: str | None, limits: sb.Limits) -> Note | None:
    where = f" in {cell_label}" if cell_label else ""
    status = result.status
    detail = result.detail
    if status == "not_run":
        return None
    if status == "exited":
        if any(e.get("event") == "finish" for e in result.events):
            return None
        if detail.get("signal"):
            sig = detail["signal"]
            name = {
                9: "SIGKILL",
                11: "SIGSEGV (a segmentation fault)",
                6: "SIGABRT",
                24: "SIGXCPU (CPU time limit)",
                25: "SIGXFSZ (file size limit)",
            }.get(sig, f"signal {sig}")
            return Note(
                f"the notebook's Python process crashed{where} ({name}); the cells after it did not run, "
                "answers checked before it keep their points",
                True,
            )
        return Note(
            f"the notebook's Python process exited{where} (for example `os._exit()`); the cells after it "
            "did not run, answers checked before it keep their points",
            True,
        )
    if status == "cell_timeout":
        return Note(
            f"a cell ran longer than the {limits.cell_seconds:g} s limit and could not be interrupted"
            f"{where}; the notebook was stopped there",
            True,
        )
    if status == "notebook_timeout":
        return Note(
            f"the notebook ran longer than the {limits.notebook_seconds:g} s limit for a whole notebook; it was stopped{where}",
            True,
        )
    if status == "output_limit":
        return Note(
            f"the notebook produced more output than the grader keeps ({limits.result_bytes // 2**20} MB); it was stopped{where}",
            True,
        )
    return Note(
        f"the sandbox stopped unexpectedly{where} ({status}: {'; '.join(result.problems) or 'no detail'}); "
        "the cells after it did not run",
        True,
    )


AFTER_HIDDEN = " (shown without values: it ran after hidden tests, whose inputs student code could have kept)"
WITHHELD = "(the output of this cell is not shown: it ran after hidden tests, whose inputs it could reveal)\n"


def _errno(evalue: str) -> int | None:
    """The errno of an OSError's message (``"[Errno 30] Read-only file system: ..."``), if it has one."""
    found = re.match(r"\[Errno (\d+)\]", evalue)
    return int(found.group(1)) if found else None


def _withheld(outputs: list[dict]) -> list[dict]:
    """What is shown of a cell that ran after a hidden test: a note, and the name of an error it raised
    (never its message or traceback, which student code chooses)."""
    out: list[dict] = [{"output_type": "stream", "name": "stdout", "text": WITHHELD}]
    for o in outputs:
        if o.get("output_type") == "error":
            out.append({"output_type": "error", "ename": byo.shown_exception_name(o.get("ename")), "evalue": "", "traceback": []})
    return out


WATCH_HINT = "Hint: this exercise asks you to write it yourself (loops, slicing, unfold, sums)."


def guard_problem(events: list[dict], cell: int) -> str | None:
    """Why a test cell that forbids library routes fails on what the sandbox's watch reported; None if it passes.

    The watch (``_prepare_watch`` in the worker) writes a ``guard`` event the moment the student's code reaches
    a forbidden route (``hit``) or a tool that could switch the watch off (``tamper``), and ``on``/``off`` around
    the cell. A cell passes only with both markers and nothing else: events are never taken back, and a watch
    that did not start or end intact is a failure, not a pass.
    """
    seen = [e for e in events if e.get("event") == "guard" and e.get("cell") in (cell, -1)]
    kinds = {str(e.get("kind")) for e in seen}

    def routes(kind: str) -> str:
        names = sorted({str(e.get("route"))[:120] for e in seen if e.get("kind") == kind})
        return ", ".join(f"`{n}`" for n in names[:3]) + (" …" if len(names) > 3 else "")

    if "hit" in kinds:
        return f"expected your own computation; while this test cell ran, your code called {routes('hit')}. {WATCH_HINT}"
    if "tamper" in kinds:
        return (
            f"while this test cell ran, your code used {routes('tamper')}, which the grader does not allow in a "
            "function it must watch (it can hide which library functions were called). Write the computation "
            "yourself, without changing the interpreter's hooks, threads or processes."
        )
    if "broken" in kinds:
        return f"the grader could not watch this test cell ({routes('broken')}); ask your instructor."
    if "on" not in kinds or "off" not in kinds or "removed" in kinds:
        return (
            "the grader's watch of which library functions your code calls was not in place for the whole test "
            "cell, so it cannot be scored. Write the computation yourself, without changing the grader's hooks."
        )
    return None


def grade_notebook(
    nb: NotebookPlan, normalized, result: sb.JobResult, job: list[dict], where: list[int], limits: sb.Limits
) -> NotebookGrade:
    """Turn one sandbox run into a graded notebook: outputs, verdicts and notes."""
    from grader.compare import judge

    cells = [dict(c) for c in normalized.cells]
    notes = [dict(text=n.text, attention=n.attention) for n in normalized.notes]
    ends = {}
    for e in result.events:
        if e.get("event") == "end" and isinstance(e.get("cell"), int) and e["cell"] not in ends:
            ends[e["cell"]] = e
    stopped_at = next((i for i in range(len(job)) if i not in ends), None)
    if result.problems and stopped_at is None and result.status != "exited":
        stopped_at = len(job)
    label = None
    if stopped_at is not None and stopped_at < len(job):
        cell = cells[where[stopped_at]]
        label = f"cell {where[stopped_at] + 1} (`{_short_source(cell['source'])}`)"
    note = _status_note(result, label, limits)
    stop_reason = note.text if note else "the notebook stopped before this cell"
    if note:
        notes.append(dict(text=note.text, attention=note.attention))
    for problem in result.problems:
        if problem.shown_to_student:
            notes.append(dict(text=str(problem), attention=True))
    tests: dict[str, dict] = {}
    count = 0
    withheld: dict[int, list[dict]] = {}
    after_hidden = False  # student code that ran in a hidden test could have kept its inputs to show later
    # The first change the notebook made to the grader's own code (report_integrity in grader/_worker.py): no test
    # cell from there on is scored.
    changed_at = next((e for e in result.events if e.get("event") == "integrity"), None)
    for index, job_cell in enumerate(job):
        cell = cells[where[index]]
        end = ends.get(index)
        outputs = sanitize_outputs(end.get("outputs"), limits) if end else []
        quiet = after_hidden  # then only our own words reach the student: no output, value or message of its code
        shown = outputs
        if quiet and outputs:
            withheld[where[index]] = outputs
            shown = _withheld(outputs)
        if job_cell["test"] and job_cell["grade_id"] in nb.hidden:
            after_hidden = True
        if end:
            count += 1
            cell["execution_count"] = count
        if not job_cell["test"]:
            cell["outputs"] = shown
            if end and isinstance(end.get("error"), dict):
                ename, evalue = str(end["error"].get("ename")), str(end["error"].get("evalue"))
                code = _errno(evalue)  # an OSError's number, not its (locale-dependent) words
                snippet = f"cell {where[index] + 1} (`{_short_source(cell['source'])}`)"
                if ename == "CellTimeout":
                    notes.append(
                        dict(
                            text=f"{snippet} ran longer than the {limits.cell_seconds:g} s limit and was interrupted",
                            attention=True,
                        )
                    )
                elif ename == "MemoryError" or code == errno.ENOMEM or "can't allocate memory" in evalue:  # (torch's words)
                    notes.append(dict(text=f"{snippet} ran out of memory (limit {limits.memory_mb} MB)", attention=True))
                elif code == errno.EROFS:
                    notes.append(
                        dict(
                            text=f"{snippet} tried to write outside its own folder (everything else, "
                            "including the dataset cache, is read-only while grading)",
                            attention=True,
                        )
                    )
                elif ename == "BlockingIOError" or code == errno.EAGAIN:
                    notes.append(
                        dict(text=f"{snippet} tried to start too many processes (limit {limits.processes})", attention=True)
                    )
            if end and end.get("truncated") is True:
                notes.append(dict(text=f"the output of cell {where[index] + 1} was too long and was truncated"))
            continue
        grade_id = job_cell["grade_id"]
        rewritten = nb.tests[grade_id]
        references = nb.references.get(grade_id, {})
        hidden = nb.hidden.get(grade_id, set())
        if byo.judged_where(rewritten) == "inside":
            tests[grade_id] = _grade_inside(nb, grade_id, cell, end, outputs, stop_reason, rewritten.inside_reason, quiet)
            continue
        messages: list[str] = []  # for the notebook and the feedback: no value computed in a hidden test
        detailed: list[str] = []  # for the instructor (result.json, state.json)
        passed_checks = 0
        total_checks = 0
        if end is None:
            verdicts_ok = False
            messages.append(f"This test cell did not run: {stop_reason}.")
        else:
            actual = records_by_check(end.get("records"))
            error = end.get("error") if isinstance(end.get("error"), dict) else None
            for spec in rewritten.checks:
                refs = references.get(str(spec.index), [])
                got = actual.get(str(spec.index), [])
                secret = spec.index in hidden
                for j, ref in enumerate(refs):
                    total_checks += 1
                    if j >= len(got):
                        why = (
                            (f" (the test cell stopped earlier with {error.get('ename')}: {str(error.get('evalue'))[:300]})")
                            if error
                            else ""
                        )
                        detailed.append(f"{spec.name}: this check did not run{why}.")
                        messages.append(
                            f"{spec.name} (hidden test): this check did not run."
                            if secret
                            else f"{spec.name}: this check did not run{AFTER_HIDDEN}."
                            if quiet
                            else detailed[-1]
                        )
                        continue
                    verdict = judge(spec, got[j], ref)
                    if verdict.passed:
                        passed_checks += 1
                    else:
                        detailed.append(verdict.message)
                        # The hint is the exercise author's literal (read from the trusted source): it says what
                        # was expected in words, never the reference value.
                        hint = f" Hint: {spec.options['hint']}" if spec.options.get("hint") else ""
                        messages.append(
                            f"{spec.name} (hidden test): failed.{hint}"
                            if secret
                            else f"{spec.name}: failed{AFTER_HIDDEN}.{hint}"
                            if quiet
                            else verdict.message
                        )
                if len(got) > len(refs):
                    total_checks += 1
                    detailed.append(f"{spec.name}: the check ran {len(got)} times instead of {len(refs)}.")
                    messages.append(detailed[-1])
            if error and not messages:
                detailed.append(f"The test cell raised {error.get('ename')}: {str(error.get('evalue'))[:500]}")
                messages.append(
                    f"The test cell raised {byo.shown_exception_name(error.get('ename'))}." if hidden or quiet else detailed[-1]
                )
            if byo.judged_where(rewritten) == "outside" and hasattr(rewritten, "judged") and not messages:
                if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
                    # nbgrader scores a test cell that wrote to stderr as failed; so does the outside judgement.
                    detailed.append("The test cell wrote to stderr (nbgrader scores that as a failure).")
                    messages.append(detailed[-1])
            if changed_at is not None and isinstance(changed_at.get("cell"), int) and changed_at["cell"] <= index:
                names = [str(n)[:80] for n in changed_at.get("changed") or []][:5]
                detailed.append(f"The grader's own code was changed by the notebook before this test ended: {names}.")
                messages.append(
                    "This test cannot be scored: code in this notebook changed the grader's own functions or "
                    "Python's built-ins, which decide how results are recorded. Remove that code."
                )
            if job_cell.get("forbid"):
                problem = guard_problem(result.events, index)
                if problem:
                    detailed.append(problem)
                    messages.append(problem)
            verdicts_ok = not messages
        visible = [o for o in shown if o["output_type"] in ("stream", "display_data")]
        if grade_id in nb.hidden and visible:
            # Whatever student code printed or showed while the hidden tests ran could reveal their inputs.
            visible = [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "(the output of this cell is not shown: it runs hidden tests)\n",
                }
            ]
        for o in visible:
            if o["output_type"] == "stream":
                o["name"] = "stdout"  # nbgrader scores any stderr in a test cell as a failure; the verdict decides
        if verdicts_ok:
            what = rewritten.passed_label or grade_id
            visible.append(
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": f"✓ {what} ({passed_checks} check{'s' if passed_checks != 1 else ''} passed)\n",
                }
            )
        else:
            first = messages[0] if messages else "failed"
            failed_n = total_checks - passed_checks if total_checks else 1
            header = (
                f"Autograder: {failed_n} of {total_checks} check(s) in this cell failed."
                if total_checks and end is not None
                else "Autograder: this test cell scores no points."
            )
            visible.append(
                {
                    "output_type": "error",
                    "ename": "CheckFailed" if end is not None else "NotRun",
                    "evalue": first,
                    "traceback": [header, *messages[:20]],
                }
            )
        cell["outputs"] = visible
        tests[grade_id] = {
            "passed": verdicts_ok,
            "points": nb.points.get(grade_id, 0.0),
            "messages": (detailed or messages)[:20],
            "judged": "outside",
        }
    return NotebookGrade(
        name=nb.name,
        file=None,
        cells=cells,
        tests=tests,
        notes=_dedupe(notes),
        seconds=result.seconds,
        status=result.status,
        withheld=withheld,
    )


def _grade_inside(
    nb: NotebookPlan, grade_id: str, cell: dict, end, outputs: list[dict], stop_reason: str, reason: str, quiet: bool
) -> dict:
    """An nbgrader-style test cell judged inside the sandbox: its outputs as nbgrader scores them, labelled.

    A hidden test, or a cell run after one (``quiet``), shows only what nbgrader scores, none of its code's words."""
    points = nb.points.get(grade_id, 0.0)
    secret = grade_id in nb.hidden or quiet
    if end is None:
        shown = [
            {
                "output_type": "error",
                "ename": "NotRun",
                "evalue": f"This test cell did not run: {stop_reason}.",
                "traceback": ["Autograder: this test cell scores no points."],
            }
        ]
    else:
        shown = byo.inside_outputs(outputs, secret)
    shown.insert(0, byo.note_output(reason))
    cell["outputs"] = shown
    score = byo.nbgrader_score(shown, points, grade_id, cell["source"])
    messages = []
    for o in shown:
        if o["output_type"] == "error":
            messages.append(f"{o['ename']}: {o['evalue']}"[:500] if o["ename"] != "NotRun" else o["evalue"])
        elif o["output_type"] == "stream" and o["name"] == "stderr":
            messages.append("the cell wrote to stderr (nbgrader scores that as a failure)")
    if score < points and not messages:
        messages.append(f"partial credit: {score:g} of {points:g}")
    return {
        "passed": score >= points,
        "points": points,
        "score": score,
        "messages": messages[:20],
        "judged": "inside",
        "judged_reason": reason,
    }


def _dedupe(notes: list[dict]) -> list[dict]:
    seen, out = set(), []
    for note in notes:
        if note["text"] not in seen:
            seen.add(note["text"])
            out.append(note)
    return out
