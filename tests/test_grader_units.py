"""The grader's trusted parts, without sandboxes: test-cell rewriting, value decoding, judging,
notebook normalization, LMS collection and the command line."""

from __future__ import annotations

import base64
import json
import math
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from grader import collect, compare, rewrite, submission, wire
from grader.__main__ import _parser, main

EX00 = "ex00_example"


def _cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        {
            "cell_type": c["cell_type"],
            "id": c.get("id"),
            "metadata": c.get("metadata", {}),
            "source": "".join(c["source"]) if isinstance(c["source"], list) else c["source"],
        }
        for c in nb["cells"]
    ]


SOURCE = _cells(ROOT / "solutions" / EX00 / f"{EX00}.ipynb")
RELEASE = _cells(ROOT / "exercises" / EX00 / f"{EX00}.ipynb")
TEST_CELL = next(c["source"] for c in SOURCE if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_scale_pixels")


# ----------------------------------------------------------------------------- rewriting


def test_student_version_has_no_expected_values():
    r = rewrite.rewrite(TEST_CELL)
    assert [c.kind for c in r.checks] == ["dtype", "close", "close", "equal"]
    assert "scale_pixels(big)" in r.student_source and "scale_pixels(x)" in r.student_source
    for expected in ("0.2", "big.float() / 255", "torch.float32", "manual_seed(0)), 'the input"):
        assert expected not in r.student_source
    assert "big.float() / 255" in r.reference_source and "0.2" in r.reference_source
    assert r.checks[1].options["hint"].startswith("divide by 255") and r.passed_label == "scale_pixels"


def test_variables_feeding_only_expected_values_are_removed():
    r = rewrite.rewrite(
        "x = torch.ones(3)\nscale = 2\nref = x * scale\ncu.checks.check_close(f(x), ref, 'f')\ncu.checks.passed('f')"
    )
    assert "ref" not in r.student_source and "scale" not in r.student_source and "x = torch.ones(3)" in r.student_source
    assert "ref = x * scale" in r.reference_source


def test_unjudgeable_cells_are_refused():
    with pytest.raises(rewrite.RewriteError, match="assert"):
        rewrite.rewrite("assert f(1) == 2")
    with pytest.raises(rewrite.RewriteError, match="literal"):
        rewrite.rewrite("cu.checks.check_close(f(1), 2.0, 'f', atol=tol)")


def test_forbidden_routes_are_read_from_the_cell_and_the_student_runs_the_plain_call():
    r = rewrite.rewrite(
        'library = ["aten.convolution", "torch.nn.functional.conv2d"]\n'
        "cu.checks.check_close(cu.restrictions.call_without(['aten._softmax'], f, x, dim=1), y, 'f')\n"
        "out = cu.restrictions.call_without(library, g, x)\n"
        "cu.checks.check_equal(out, z, 'g')\ncu.checks.passed('fg')"
    )
    assert r.forbidden == ["aten._softmax", "aten.convolution", "torch.nn.functional.conv2d"]
    lines = r.student_source.splitlines()
    assert [lines[n - 1] for n in r.guarded_lines] == [
        "__p2l_record__(0, 'close', lambda: f(x, dim=1))",
        "out = g(x)",
    ]  # where the test cell's own call of a forbidden route counts as the answer's
    assert "call_without" not in r.student_source and "f(x, dim=1)" in r.student_source and "out = g(x)" in r.student_source
    assert "call_without(library, g, x)" in r.reference_source  # the solution's run keeps the in-process guard
    assert rewrite.rewrite("cu.checks.check_equal(f(1), 2, 'f')").forbidden == []
    for routes in ("routes", "['aten.a'] + more", "[name]"):  # not a literal list in the cell: refused
        with pytest.raises(rewrite.RewriteError, match="routes must be a list of strings"):
            rewrite.rewrite(f"cu.checks.check_equal(cu.restrictions.call_without({routes}, f, 1), 2, 'f')")


def test_a_watched_cell_passes_only_with_the_watch_in_place_and_nothing_reported():
    from grader.judge import guard_problem

    def events(*kinds, cell=3):
        return [{"event": "guard", "cell": cell, "kind": k, "route": r} for k, r in kinds]

    assert guard_problem(events(("on", ""), ("off", "")), 3) is None
    assert "called `aten.convolution`" in guard_problem(events(("on", ""), ("hit", "aten.convolution"), ("off", "")), 3)
    assert "used `sys.setprofile`" in guard_problem(events(("on", ""), ("tamper", "sys.setprofile"), ("off", "")), 3)
    assert "not in place" in guard_problem(events(("on", "")), 3)  # never closed intact
    assert "not in place" in guard_problem(events(("on", ""), ("removed", "")), 3)
    assert "not in place" in guard_problem([], 3)  # never opened
    assert "not in place" in guard_problem(events(("on", ""), ("off", ""), cell=2), 3)  # another cell's markers
    anywhere = events(("tamper", "sys.settrace"), cell=-1) + events(("on", ""), ("off", ""))
    assert "sys.settrace" in guard_problem(anywhere, 3)  # the audit hook reports outside any cell
    assert "could not watch" in guard_problem(events(("on", ""), ("broken", "x.y"), ("off", "")), 3)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "value",
    [
        torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7,
        torch.tensor([1.5, -2.25], dtype=torch.bfloat16),
        torch.tensor([True, False]),
        np.arange(5, dtype=np.int16),
        (1, 2.5, "three", None, True, [torch.zeros(2)], {"k": 3}),
        np.float32(0.25),
        torch.float16,
        10**40,
        complex(1, -2),
    ],
)
def test_values_round_trip_through_plain_json(value):
    data = json.loads(json.dumps(wire.encode(value, wire.Budget(1 << 20))))
    back = wire.decode(data)
    if isinstance(value, torch.Tensor):
        assert isinstance(back, torch.Tensor) and back.dtype == value.dtype and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert isinstance(back, np.ndarray) and np.array_equal(back, value)
    elif isinstance(value, tuple):
        assert back[:5] == value[:5] and torch.equal(back[5][0], value[5][0]) and back[6] == {"k": 3}
    else:
        assert back == value and type(back) is type(value)


def test_nan_survives():
    assert math.isnan(wire.decode(json.loads(json.dumps(wire.encode(float("nan"), wire.Budget(99))))))


@pytest.mark.parametrize(
    "forged",
    [
        {"tensor": "torch.float32", "np": "|O", "shape": [1], "b64": ""},
        {"tensor": "torch.float32", "np": "<f4", "shape": [3], "b64": base64.b64encode(b"\0" * 8).decode()},
        {"tensor": "torch.float32", "np": "<f4", "shape": [2**40], "b64": ""},
        {"tensor": "os.system", "np": "<f4", "shape": [0], "b64": ""},
        {"pickle": "gASV"},
        {"int": "1" * 5000},
        {"list": [{"list": [{"list": []}]}]} | {"x": 1},
        "a bare string",
    ],
)
def test_forged_records_are_rejected(forged):
    with pytest.raises(wire.DecodeError):
        wire.decode(forged)


def test_deep_nesting_is_rejected():
    deep = {"list": []}
    for _ in range(40):
        deep = {"list": [deep]}
    with pytest.raises(wire.DecodeError):
        wire.decode(deep)


# ----------------------------------------------------------------------------- judging


def _spec(kind, **options):
    return rewrite.CheckSpec(
        index=0, function=f"check_{kind}", kind=kind, line=1, name="f(x)", options=options, op=options.pop("op", None)
    )


def _rec(value):
    return {"check": 0, "actual": wire.encode(value, wire.Budget(1 << 20))}


def _ref(value):
    return {"expected": wire.encode(value, wire.Budget(1 << 20))}


def test_close_uses_the_tolerance_from_the_source():
    ref = _ref(torch.tensor([1.0, 2.0]))
    assert compare.judge(_spec("close", atol=1e-2), _rec(torch.tensor([1.005, 2.0])), ref).passed
    verdict = compare.judge(_spec("close", atol=1e-4, hint="divide"), _rec(torch.tensor([1.005, 2.0])), ref)
    assert not verdict.passed and "largest error" in verdict.message and "Hint: divide" in verdict.message


def test_judging_failures():
    assert not compare.judge(_spec("equal"), _rec(3), _ref(3.0)).passed  # int vs float, like check_equal
    assert not compare.judge(
        _spec("close"), {"check": 0, "actual_error": {"ename": "NameError", "evalue": "f"}}, _ref(1.0)
    ).passed
    assert not compare.judge(_spec("close"), None, _ref(1.0)).passed
    assert not compare.judge(_spec("close"), _rec(object()), _ref(1.0)).passed
    assert compare.judge(_spec("compare", op=">"), _rec(torch.tensor(0.9)), _ref(0.5)).passed
    assert not compare.judge(_spec("compare", op=">"), _rec(0.4), _ref(0.5)).passed
    assert compare.judge(_spec("compare", op="!="), _rec([2, 0, 1]), _ref([0, 1, 2])).passed
    assert not compare.judge(_spec("compare", op="!="), _rec([0, 1, 2]), _ref([0, 1, 2])).passed
    assert not compare.judge(_spec("compare", op="<"), _rec([0, 1]), _ref([0, 2])).passed
    shape = {"check": 0, "actual": {"kind": "tensor", "shape": [3, 2, 2], "dtype": "torch.float32"}}
    assert compare.judge(_spec("shape"), shape, _ref((3, 2, 2))).passed
    assert not compare.judge(_spec("shape"), shape, _ref((2, 2, 3))).passed


def test_between_reads_its_bounds_from_the_source_and_shows_the_value():
    r = rewrite.rewrite("cu.checks.check_between(speed(x) * 2, 0.6, 1.02, 'ratio', hint='time it')\ncu.checks.passed('s')")
    assert [(c.kind, c.options["low"], c.options["high"]) for c in r.checks] == [("between", 0.6, 1.02)]
    assert "0.6" not in r.student_source and "1.02" not in r.student_source
    with pytest.raises(rewrite.RewriteError, match="literal"):
        rewrite.rewrite("cu.checks.check_between(speed(x), low, 1.0, 'ratio')")
    spec = r.checks[0]
    assert compare.judge(spec, _rec(0.9), {}).passed
    assert compare.judge(spec, _rec(torch.tensor(1.0)), {}).passed
    verdict = compare.judge(spec, _rec(0.43214), {})
    assert not verdict.passed and "got 0.4321" in verdict.message and "Hint: time it" in verdict.message
    assert not compare.judge(spec, _rec("0.9"), {}).passed
    assert compare.check_reference(spec, _rec(0.9)).passed  # the solution's own run records no expected value
    assert not compare.check_reference(spec, _rec(1.5)).passed


def test_raises_needs_the_expected_type_and_message():
    ref = {"expected": {"type": "builtins.ValueError", "name": "ValueError"}}
    raised = {
        "check": 0,
        "actual": {
            "raised": True,
            "mro": ["builtins.ValueError", "builtins.Exception"],
            "ename": "ValueError",
            "message": "needs a uint8 tensor",
        },
    }
    assert compare.judge(_spec("raises", match="uint8"), raised, ref).passed
    assert not compare.judge(_spec("raises", match="float"), raised, ref).passed
    assert not compare.judge(_spec("raises"), {"check": 0, "actual": {"raised": False}}, ref).passed


# ----------------------------------------------------------------------------- notebooks


def _roles(norm):
    return [(r, g) for r, g in norm.roles]


def _student(**changes):
    cells = json.loads(json.dumps(RELEASE))
    for cell in cells:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "scale_pixels":
            cell["source"] = "def scale_pixels(x):\n    return x.float() / 255\n"
    return cells


def test_normalize_restores_deleted_and_drops_duplicated_tests():
    cells = _student()
    test = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_scale_pixels")
    deleted = [c for c in cells if c is not test]
    norm = submission.normalize(deleted, RELEASE, SOURCE)
    restored = [c for c, (role, g) in zip(norm.cells, norm.roles) if role == "test"]
    assert len(restored) == 1 and "BEGIN HIDDEN TESTS" in restored[0]["source"]
    assert "deleted" in norm.notes[0].text
    duplicated = cells + [dict(test, id="copy")]
    norm = submission.normalize(duplicated, RELEASE, SOURCE)
    assert [r for r, _g in norm.roles].count("test") == 1 and any("more than once" in n.text for n in norm.notes)


def test_normalize_matches_cells_without_metadata_by_content():
    stripped = [{"cell_type": c["cell_type"], "source": c["source"], "metadata": {}, "id": None} for c in _student()]
    stripped.insert(3, {"cell_type": "code", "source": "helper = 1", "metadata": {}, "id": None})
    norm = submission.normalize(stripped, RELEASE, SOURCE)
    answer = next(c for c, (r, g) in zip(norm.cells, norm.roles) if g == "scale_pixels")
    assert "x.float() / 255" in answer["source"]
    assert any(n.attention and "none of nbgrader's cell metadata" in n.text for n in norm.notes)
    assert "helper = 1" in [c["source"] for c in norm.cells]


@pytest.mark.parametrize(
    "data, reason",
    [
        (b'{"cells": [', "not valid notebook JSON"),
        (b"\xff\xfe\x00", "not a text file"),
        (b"[1, 2]", "not a notebook"),
        (b'{"nbformat": 9}', "unknown notebook format"),
    ],
)
def test_unreadable_files_say_why(data, reason):
    cells, notes = submission.read_notebook(data)
    assert cells is None and reason in notes[0].text and notes[0].attention


# ----------------------------------------------------------------------------- collect


@pytest.fixture()
def course(tmp_path):
    (tmp_path / "solutions" / EX00).mkdir(parents=True)
    (tmp_path / "solutions" / EX00 / f"{EX00}.ipynb").write_text("{}")
    return tmp_path


def _zip(path: Path, files: dict[str, tuple[bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in files.items():
            info = zipfile.ZipInfo(name, date_time=when)
            zf.writestr(info, data)
    return path


def test_collect_canvas_keeps_the_latest_and_reports_the_rest(course, tmp_path):
    download = _zip(
        tmp_path / "canvas.zip",
        {
            f"doejane_1001_5001_{EX00}.ipynb": (b"first", (2030, 1, 1, 9, 0, 0)),
            f"doejane_LATE_1001_5002_{EX00}-1.ipynb": (b"second", (2030, 1, 2, 9, 0, 0)),
            f"roebob_1002_5003_{EX00}.ipynb": (b"bob", (2030, 1, 1, 9, 0, 0)),
            "roebob_1002_5004_notes.txt": (b"?", (2030, 1, 1, 9, 0, 0)),
            f"nobody_1999_5005_{EX00}.ipynb": (b"who", (2030, 1, 1, 9, 0, 0)),
        },
    )
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,canvas_id,name\njdoe,1001,Jane Doe\nbroe,1002,Bob Roe\ncsmith,1003,Cy Smith\n")
    report = collect.collect(course, download, roster=roster)
    assert (course / "submitted" / "jdoe" / EX00 / f"{EX00}.ipynb").read_bytes() == b"second"
    assert (course / "submitted" / "broe" / EX00 / f"{EX00}.ipynb").read_bytes() == b"bob"
    assert "2030-01-02 09:00:00" in (course / "submitted" / "jdoe" / EX00 / "timestamp.txt").read_text()
    assert len(report.superseded) == 1 and "5001" in report.superseded[0]
    assert any("1999" in u for u in report.unknown_students)
    assert any("notes.txt" in u for u in report.unmatched_files)
    assert report.no_submission == ["csmith"]


def test_collect_moodle_and_plain_folders(course, tmp_path):
    moodle = tmp_path / "moodle"
    (moodle / "Jane Doe_4242_assignsubmission_file_").mkdir(parents=True)
    (moodle / "Jane Doe_4242_assignsubmission_file_" / f"{EX00}.ipynb").write_bytes(b"jane")
    collect.collect(course, moodle)
    assert (course / "submitted" / "4242" / EX00 / f"{EX00}.ipynb").read_bytes() == b"jane"
    plain = tmp_path / "plain" / "export"
    (plain / "alice" / "work").mkdir(parents=True)
    (plain / "alice" / "work" / "my notebook.ipynb").write_bytes(b"alice")
    report = collect.collect(course, tmp_path / "plain", assignment=EX00)
    assert (course / "submitted" / "alice" / EX00 / "my notebook.ipynb").read_bytes() == b"alice"
    assert report.collected == [f"alice/{EX00}: my notebook.ipynb"]


def test_collect_never_overwrites_silently(course, tmp_path):
    def download(data, day):
        return _zip(tmp_path / f"d{day}.zip", {f"a_7_{day}_{EX00}.ipynb": (data, (2030, 1, day, 9, 0, 0))})

    collect.collect(course, download(b"v2", 5))
    older = collect.collect(course, download(b"v1", 3))
    target = course / "submitted" / "7" / EX00 / f"{EX00}.ipynb"
    assert target.read_bytes() == b"v2" and len(older.older) == 1
    assert any(p.read_bytes() == b"v1" for p in (course / "collected").rglob(f"{EX00}.ipynb"))
    newer = collect.collect(course, download(b"v3", 9))
    assert target.read_bytes() == b"v3" and len(newer.replaced) == 1
    assert any(p.read_bytes() == b"v2" for p in (course / "collected").rglob(f"{EX00}.ipynb"))
    again = collect.collect(course, download(b"v3", 9))
    assert again.unchanged and not again.replaced
    dry = collect.collect(course, download(b"v4", 11), dry_run=True)
    assert dry.replaced and target.read_bytes() == b"v3"


# ----------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    "command, words",
    [
        ("collect", ["Canvas", "Moodle", "roster", "collected/", "--dry-run"]),
        ("autograde", ["sandbox", "--jobs", "--unsafe-no-sandbox", "kill -9", "--cell-timeout", "--memory"]),
        ("status", ["attention", "manual grading"]),
        ("feedback", ["--show-hidden-tests", "feedback/"]),
        ("release", ["--course-dir", "--check"]),
        ("export", ["one row per student", "pass rate", "--output"]),
        ("lint", ["CONTRIBUTING.md"]),
    ],
)
def test_every_command_explains_itself(command, words, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert word in text, f"`{command} --help` does not mention {word!r}"


def test_top_level_help_lists_the_commands():
    text = _parser().format_help()
    for command in ("collect", "autograde", "status", "feedback", "export", "lint", "release", "build"):
        assert command in text


def test_release_takes_a_course_folder_anywhere(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    import shutil

    shutil.copytree(ROOT / "solutions" / EX00, tmp_path / "solutions" / EX00)
    assert main(["release", "--check", "--course-dir", str(tmp_path)]) == 1  # nothing released yet
    assert main(["release", "--course-dir", str(tmp_path)]) == 0
    released = tmp_path / "exercises" / EX00 / f"{EX00}.ipynb"
    assert released.read_bytes() == (ROOT / "exercises" / EX00 / f"{EX00}.ipynb").read_bytes()
    assert main(["release", "--check", "--course-dir", str(tmp_path)]) == 0
    assert "released: exercises/" in capsys.readouterr().out
    assert main(["release", "--course-dir", str(tmp_path / "nowhere")]) == 2
    assert "no solutions/ folder" in capsys.readouterr().err


# ----------------------------------------------------------------------------- issue 16: wire and output safety


def test_hidden_line_numbers_and_unclosed_blocks():
    from grader.hidden_tests import hidden_line_numbers

    src = "a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3\n# BEGIN HIDDEN TESTS\nd = 4"
    assert hidden_line_numbers(src) == {2, 3, 4, 6, 7}
    assert hidden_line_numbers("x = 1") == set()


def test_student_html_is_reduced_to_text():
    from grader.judge import safe_bundle, sanitize_outputs
    from grader.sandbox import Limits

    banner = '<div class="alert alert-success">Score: 10 / 10</div><script>alert(1)</script><img src=x onerror="alert(2)">'
    assert safe_bundle({"text/html": banner, "text/plain": "<HTML object>"}) == {"text/plain": "<HTML object>"}
    assert safe_bundle({"text/html": banner}) == {"text/plain": "Score: 10 / 10"}
    assert safe_bundle({"image/svg+xml": "<svg onload=alert(1)/>", "application/javascript": "alert(1)"}) == {}
    assert safe_bundle({"image/png": "iVBORw0KGgo=", "text/plain": "fig"}) == {"image/png": "iVBORw0KGgo=", "text/plain": "fig"}
    assert safe_bundle({"image/png": "<script>"}) == {}
    outs = sanitize_outputs([{"output_type": "display_data", "data": {"text/html": banner}, "metadata": {}}], Limits())
    assert "<" not in json.dumps(outs) and "alert" not in json.dumps(outs)


def test_stream_parser_splits_frames_as_they_arrive():
    import struct

    from grader.sandbox import StreamParser, parse_child_stream

    def frame(obj):
        data = json.dumps(obj).encode()
        return b"J" + struct.pack(">Q", len(data)) + data

    stream = frame({"event": "start", "cell": 0}) + frame({"event": "end", "cell": 0})
    parser = StreamParser()
    got = []
    for i in range(len(stream)):  # one byte at a time
        got += parser.feed(stream[i : i + 1])
    assert got == [{"event": "start", "cell": 0}, {"event": "end", "cell": 0}] and parser.close() == []
    events, problems = parse_child_stream(stream + b"Jxx")
    assert len(events) == 2 and problems == ["the notebook's result stream ended mid-frame"]
    assert [p.kind for p in problems] == ["stream_cut"] and problems[0].shown_to_student
    events, problems = parse_child_stream(b"X" * 20 + stream)
    assert events == [] and problems == ["the notebook's result stream was corrupted"]
    assert [p.kind for p in problems] == ["stream_corrupted"]


# ----------------------------------------------------------------------------- the judge (grader/judge.py)


def _one_test_notebook(hidden: bool):
    """A plan for a notebook with one answer cell and one test cell of two checks (the second hidden if asked)."""
    import types

    from grader import plan

    def cell(source: str, **nbgrader) -> dict:
        return {"cell_type": "code", "source": source, "metadata": {"nbgrader": nbgrader}, "outputs": []}

    answer = cell("def double(x):\n    return 2 * x\n", grade_id="double", solution=True)
    test_source = 'cu.checks.check_equal(double(2), 4, "double(2)")\ncu.checks.check_equal(double(-3), -6, "double(-3)")\n'
    test = cell(test_source, grade_id="test_double", grade=True, points=2)
    cells = [answer, test]
    expected = {"0": [{"check": 0, "expected": {"int": "4"}}], "1": [{"check": 1, "expected": {"int": "-6"}}]}
    nb = plan.NotebookPlan(
        name="nb", source=cells, release=cells, metadata={}, tests={"test_double": rewrite.rewrite(test_source)},
        points={"test_double": 2.0}, references={"test_double": expected}, hidden={"test_double": {1}} if hidden else {},
    )  # fmt: skip
    job, where = plan.job_cells(cells, [("answer", "double"), ("test", "test_double")], nb, reference=False)
    return nb, types.SimpleNamespace(cells=cells, notes=[]), job, where


def _ran(*values: int | None):
    """What a sandbox would report: both cells ran, the test cell recording ``values`` (None: not recorded)."""
    from grader import sandbox

    records = [{"check": i, "actual": {"int": str(v)}} for i, v in enumerate(values) if v is not None]
    events = [{"event": "end", "cell": 0, "outputs": []}, {"event": "end", "cell": 1, "outputs": [], "records": records}]
    return sandbox.JobResult(status="exited", events=events)


def test_the_judge_scores_what_the_sandbox_recorded_and_nothing_else():
    import copy

    from grader import judge, sandbox

    limits = sandbox.Limits()
    nb, normalized, job, where = _one_test_notebook(hidden=False)
    right = judge.grade_notebook(nb, normalized, _ran(4, -6), job, where, limits).tests["test_double"]
    assert right["passed"], right
    wrong = judge.grade_notebook(nb, normalized, _ran(4, 6), job, where, limits).tests["test_double"]
    assert not wrong["passed"] and any("double(-3)" in m for m in wrong["messages"]), wrong
    short = judge.grade_notebook(nb, normalized, _ran(4, None), job, where, limits).tests["test_double"]
    assert not short["passed"] and any("did not run" in m for m in short["messages"]), short
    stopped = sandbox.JobResult(status="cell_timeout", events=[{"event": "end", "cell": 0, "outputs": []}])
    never = judge.grade_notebook(nb, normalized, stopped, job, where, limits).tests["test_double"]
    assert not never["passed"] and any("did not run" in m for m in never["messages"]), never
    # Pure: the same inputs give the same grade, and the inputs are left as they were.
    before = copy.deepcopy((nb, normalized.cells, job, where))
    again = judge.grade_notebook(nb, normalized, _ran(4, 6), job, where, limits)
    assert again.tests["test_double"] == wrong and (nb, normalized.cells, job, where) == before


def test_the_judge_tells_the_student_only_that_a_hidden_check_failed():
    from grader import judge, sandbox

    nb, normalized, job, where = _one_test_notebook(hidden=True)
    graded = judge.grade_notebook(nb, normalized, _ran(4, 6), job, where, sandbox.Limits())
    verdict = graded.tests["test_double"]
    assert not verdict["passed"] and any("expected -6, got 6" in m for m in verdict["messages"]), verdict  # instructor
    shown = json.dumps(graded.cells[1]["outputs"])  # what the graded notebook and the feedback show the student
    assert "double(-3) (hidden test): failed." in shown and "-6" not in shown and "got 6" not in shown, shown


def test_after_a_hidden_test_the_student_sees_no_output_value_or_message_of_their_code():
    """Student code that ran inside a hidden test can keep its inputs and show them later: printed by an
    answer cell, drawn in a figure, returned as the value a visible check prints, or raised in an error."""
    import types

    from grader import judge, plan, sandbox

    nb, _, _, _ = _one_test_notebook(hidden=True)
    later = {"cell_type": "code", "source": "print(kept)\nraise ValueError(kept)", "metadata": {}, "outputs": []}
    again_source = 'cu.checks.check_equal(double(5), 10, "double(5)")\n'
    meta = {"nbgrader": {"grade_id": "test_again", "grade": True, "points": 1}}
    again = {"cell_type": "code", "source": again_source, "metadata": meta, "outputs": []}
    nb.source = nb.release = [*nb.source, later, again]
    nb.tests["test_again"] = rewrite.rewrite(again_source)
    nb.points["test_again"] = 1.0
    nb.references["test_again"] = {"0": [{"check": 0, "expected": {"int": "10"}}]}
    roles = [("answer", "double"), ("test", "test_double"), ("answer", None), ("test", "test_again")]
    job, where = plan.job_cells(nb.source, roles, nb, reference=False)
    kept = "[8, 9, 10, 11]"  # the hidden test's input, as student code kept it
    events = [
        {"event": "end", "cell": 0, "outputs": []},
        {"event": "end", "cell": 1, "outputs": [], "records": [{"check": 0, "actual": {"int": "4"}}, {"check": 1, "actual": {"int": "-6"}}]},
        {"event": "end", "cell": 2, "error": {"ename": "ValueError", "evalue": kept}, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": kept},
            {"output_type": "display_data", "data": {"text/plain": kept}, "metadata": {}},
            {"output_type": "error", "ename": "ValueError", "evalue": kept, "traceback": [kept]},
        ]},
        {"event": "end", "cell": 3, "outputs": [{"output_type": "stream", "name": "stdout", "text": kept}],
         "records": [{"check": 0, "actual": {"str": kept}}]},
    ]  # fmt: skip
    normalized = types.SimpleNamespace(cells=nb.source, notes=[])
    graded = judge.grade_notebook(nb, normalized, sandbox.JobResult(status="exited", events=events), job, where, sandbox.Limits())
    shown = json.dumps([c.get("outputs", []) for c in graded.cells])  # the graded notebook, hence the feedback
    assert kept not in shown, shown
    assert judge.WITHHELD.strip() in shown and "ValueError" in shown
    assert not graded.tests["test_again"]["passed"] and "double(5): failed" in shown
    assert any(kept in m for m in graded.tests["test_again"]["messages"])  # the instructor's record has it
    assert kept in json.dumps(graded.withheld[2])  # and what the cell showed
    # Before any hidden test, a student sees what their code printed and what their value was.
    nb2, normalized2, job2, where2 = _one_test_notebook(hidden=False)
    shown2 = judge.grade_notebook(nb2, normalized2, _ran(4, 6), job2, where2, sandbox.Limits()).cells[1]["outputs"]
    assert "got 6" in json.dumps(shown2)


def test_a_failed_hidden_check_shows_its_hint_but_no_value():
    """Feedback that teaches: the author's hint for a hidden check reaches the student; its values do not."""
    from grader import judge, sandbox

    nb, normalized, job, where = _one_test_notebook(hidden=True)
    hinted = (
        'cu.checks.check_equal(double(2), 4, "double(2)")\n'
        'cu.checks.check_equal(double(-3), -6, "double(-3)", hint="negative numbers double too")\n'
    )
    nb.tests["test_double"] = rewrite.rewrite(hinted)
    graded = judge.grade_notebook(nb, normalized, _ran(4, 6), job, where, sandbox.Limits())
    shown = json.dumps(graded.cells[1]["outputs"])
    assert "double(-3) (hidden test): failed. Hint: negative numbers double too" in shown, shown
    assert "-6" not in shown and "got 6" not in shown, shown


def test_a_frame_says_its_kind_and_length():
    payload = json.dumps({"token": "t", "status": "exited"}).encode()
    data = wire.frame(wire.STATUS, payload)
    assert wire.frame_header(data[: wire.HEADER_BYTES]) == (wire.STATUS, len(payload))
    assert data[wire.HEADER_BYTES :] == payload
    assert len({wire.CELL, wire.EVENT, wire.STATUS, wire.PING, wire.PONG}) == 5, "two kinds share a byte"


def test_the_judge_reads_a_problem_by_its_kind_not_its_words():
    from grader import judge, sandbox

    nb, normalized, job, where = _one_test_notebook(hidden=False)
    result = _ran(4, -6)
    result.problems = [
        sandbox.Problem("survivors", "2 process(es) outlived it"),
        sandbox.Problem("output_limit", "survived corrupt invalid mid-frame"),  # the old word-matching would show this
    ]
    shown = [n["text"] for n in judge.grade_notebook(nb, normalized, result, job, where, sandbox.Limits()).notes]
    assert "2 process(es) outlived it" in shown and not any("mid-frame" in text for text in shown), shown
    with pytest.raises(ValueError, match="unknown problem kind"):
        sandbox.Problem("oops", "text")


def test_the_notes_cell_shows_a_students_file_name_as_text_not_html():
    """The autograder's notes quote submitted file names, which the student chose; formgrader renders the
    notes cell as HTML in the instructor's browser without sanitizing it (nbconvert's HTML exporter)."""
    import nbformat
    from nbconvert import HTMLExporter

    from grader import gradebook

    nb, _, _, _ = _one_test_notebook(hidden=False)
    hostile = "<img src=x onerror=alert(1)>[click](javascript:alert(2))**bold**.ipynb"
    grade = {"cells": nb.source, "notes": [{"text": f"the extra notebook '{hostile}' was not graded"}]}
    graded = gradebook.graded_notebook_json(nb, grade, [])
    notes = graded["cells"][0]
    assert notes["id"] == gradebook.NOTES_CELL_ID
    html, _ = HTMLExporter(sanitize_html=False).from_notebook_node(nbformat.from_dict(graded))
    body = html[html.index("Autograder notes") :]
    for bad in ("<img", 'href="javascript', "<strong>bold"):
        assert bad not in body, bad
    assert "&lt;img src=x onerror=alert(1)&gt;[click](javascript:alert(2))**bold**.ipynb" in body  # shown as typed


def test_notes_spell_out_what_a_submitted_file_name_hides(tmp_path):
    """`status` prints notes in the instructor's terminal: a file name's escape sequences must not reach it."""
    from grader import intake

    nb, _, _, _ = _one_test_notebook(hidden=False)
    plan_ = types.SimpleNamespace(notebooks=[nb])
    (tmp_path / "nb.ipynb").write_text("{}")
    (tmp_path / "x\x1b]0;owned\x07\u202e.ipynb").write_text("{}")
    (tmp_path / ("y" * 200 + ".txt")).write_text("")
    plan_.files = {}
    _, notes = intake.map_notebooks(plan_, tmp_path)
    notes += intake.files_beside(plan_, tmp_path)[1]
    text = " ".join(n["text"] for n in notes)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, text
    assert "x\\x1b]0;owned\\x07\\u202e.ipynb" in text and "y" * 200 not in text


def test_a_module_the_sandbox_cannot_import_says_what_to_do(tmp_path, monkeypatch):
    """The reference run of a solution that imports a package the sandbox does not see (an editable install,
    PYTHONPATH) is refused with what to do, not only 'No module named ...'."""
    from grader.plan import missing_module_hint

    (tmp_path / "helpers_p2l_test").mkdir()
    (tmp_path / "helpers_p2l_test" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, as through PYTHONPATH
    hint = missing_module_hint({"ename": "ModuleNotFoundError", "evalue": "No module named 'helpers_p2l_test.grading'"})
    assert "importable here" in hint and str(tmp_path) in hint and "pip install" in hint, hint
    absent = missing_module_hint({"ename": "ModuleNotFoundError", "evalue": "No module named 'no_such_module_p2l'"})
    assert "not installed" in absent, absent
    assert missing_module_hint({"ename": "ValueError", "evalue": "No module named 'x'"}) == ""


def test_the_cell_limit_follows_the_course_folder_s_own_nbgrader_config(tmp_path):
    """`--course-dir` elsewhere: a cell timeout set in that course's nbgrader_config.py is the one used."""
    from grader.__main__ import _default_cell_timeout

    assert _default_cell_timeout(tmp_path) == 120.0  # the course's own grader/nbgrader_config.py
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.ExecutePreprocessor.timeout = 33\n")
    assert _default_cell_timeout(tmp_path) == 33.0
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'x'\n")
    assert _default_cell_timeout(tmp_path) == 120.0  # sets no timeout: the course's default


def test_the_judge_reads_an_os_error_by_its_number_not_its_words():
    """A student cell's OSError gets its note from errno, whatever language the C library spoke."""
    from grader import judge, sandbox

    nb, normalized, job, where = _one_test_notebook(hidden=False)
    for evalue, said in (
        ("[Errno 30] Nur-Lese-Dateisystem: '/opt/x'", "tried to write outside its own folder"),
        ("[Errno 11] Ressource vorübergehend nicht verfügbar", "tried to start too many processes"),
        ("[Errno 12] Nicht genügend Hauptspeicher verfügbar", "ran out of memory"),
    ):
        events = [
            {"event": "end", "cell": 0, "outputs": [], "error": {"ename": "OSError", "evalue": evalue}},
            {"event": "end", "cell": 1, "outputs": [], "records": []},
        ]
        result = sandbox.JobResult(status="exited", events=events)
        notes = " ".join(n["text"] for n in judge.grade_notebook(nb, normalized, result, job, where, sandbox.Limits()).notes)
        assert said in notes, (evalue, notes)


def test_changes_to_the_grader_s_own_code_are_seen():
    """The notebook's process compares what recording relies on with a snapshot taken before student code ran."""
    import builtins

    from grader import _worker

    class Shell:
        def __init__(self):
            self.compile = object()

        def run_cell(self):
            return None

    shell = Shell()
    snapshot = _worker._integrity_snapshot(shell)
    assert _worker._integrity_changes(snapshot) == []
    measure, dumps, isinstance_ = _worker.Recorder._measure, json.dumps, builtins.isinstance
    try:
        _worker.Recorder._measure = lambda self, kind, thunk, budget: True  # the forging student in ex04's wrong answers
        json.dumps = lambda *a, **k: "{}"
        builtins.isinstance = lambda *a: True
        changed = _worker._integrity_changes(snapshot)
    finally:
        _worker.Recorder._measure, json.dumps, builtins.isinstance = measure, dumps, isinstance_
    assert {"Recorder._measure", "json.dumps", "builtins.isinstance"} <= set(changed)
    assert _worker._integrity_changes(snapshot) == []
    try:
        _worker.Recorder.__call__ = _worker.Recorder.__call__  # the same object again: no change
        _worker.CappedStream.shadow = 1  # a name added to a class
        shell.run_cell = lambda: None  # an instance attribute over a method
        changed = _worker._integrity_changes(snapshot)
    finally:
        del _worker.CappedStream.shadow, shell.run_cell
    assert changed == ["CappedStream (attributes added)", "the shell.run_cell"]


def test_gradebooks_opened_during_grading_share_one_engine_and_nothing_else_changes(tmp_path):
    """`gradebook.one_engine_per_database`: nbgrader's Gradebooks on one database share an engine inside the
    block (compiled SQL is kept per engine), each still commits to the file, and outside it nbgrader is as shipped."""
    import threading

    import nbgrader.api as nbgrader_api
    from nbgrader.api import Gradebook

    from grader.gradebook import one_engine_per_database
    from grader.state import quiet_nbgrader

    shipped = nbgrader_api.create_engine
    first = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with quiet_nbgrader(), one_engine_per_database():  # quiet_nbgrader: the environment nbgrader's alembic needs
        with Gradebook(first) as gb:
            engine = gb.engine
            gb.add_student("ada")
        with one_engine_per_database(), Gradebook(first) as gb:  # nested: the same table of engines
            assert gb.engine is engine
            assert [s.id for s in gb.students] == ["ada"]
        seen = []

        def elsewhere() -> None:
            with Gradebook(first) as gb:
                seen.append(gb.engine)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert seen == [engine]
    assert nbgrader_api.create_engine is shipped
    with quiet_nbgrader(), Gradebook(first) as gb:  # committed to the file: a plain Gradebook afterwards reads it
        assert gb.engine is not engine and [s.id for s in gb.students] == ["ada"]
    with pytest.raises(RuntimeError), one_engine_per_database():
        raise RuntimeError("grading stopped")
    assert nbgrader_api.create_engine is shipped
