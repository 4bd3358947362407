"""Bring your own nbgrader assignment (grader.byo): test cells written the way nbgrader's documentation
writes them are graded in the sandbox with the same scores as plain ``nbgrader autograde``.

The assignment below is written for this test in the styles of nbgrader's documentation and of its own
test notebooks (``nbgrader/tests/apps/files/*.ipynb`` in jupyter/nbgrader, read at commit
207a8e544968092c93af807cce6f002552c628fa: ``assert a == 1`` after a solution cell, ``print("Success!")``
as a test, hidden tests, ``try/except/else``, ``del``-and-restore to check that one function calls another),
plus NumPy's assertions, a helper function in a test cell and partial credit. Nothing is copied from nbgrader.

Every student is graded twice: by plain nbgrader (a kernel, no sandbox) and by ``python -m grader
autograde``; the test prints the comparison table and asserts equality cell by cell for every honest
student, and that a cheat who redefines ``np.allclose``/``AssertionError`` and prints a fake success loses
the cells judged outside.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from grader import byo, compare, pipeline, plan, rewrite, sandbox, state, submission
from grader.nbgrader_setup import grading_environment, temporary_environ
from grader.wire import decode

ASSIGNMENT = "ps1"
NOTEBOOK = "problem1"


# ----------------------------------------------------------------------------- the assignment


def _code(source: str, grade_id: str | None = None, *, grade: bool = False, solution: bool = False, points=None, locked=False):
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": grade_id or f"c{abs(hash(source)) % 10**8}",
        "metadata": {},
        "outputs": [],
        "source": source,
    }
    if grade_id:
        meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
        if grade:
            meta["points"] = points
        cell["metadata"]["nbgrader"] = meta
    return cell


def _markdown(source: str):
    return {"cell_type": "markdown", "id": f"m{abs(hash(source)) % 10**8}", "metadata": {}, "source": source}


ANSWERS = {
    "set_a": "a = 1\n",
    "squares": (
        "def squares(n):\n"
        '    """The squares of 1..n; a ValueError for n < 1."""\n'
        "    if n < 1:\n"
        '        raise ValueError("n must be at least 1")\n'
        "    return [i ** 2 for i in range(1, n + 1)]\n"
    ),
    "sum_of_squares": "def sum_of_squares(n):\n    return sum(squares(n))\n",
    "normalize": "def normalize(x):\n    return x / np.linalg.norm(x)\n",
}

TESTS = {
    # nbgrader's own test notebooks: a test that only prints, and a bare assert on a variable.
    "foo": ('print("Success!")\n', 1),
    "bar": ("assert a == 1\n", 1),
    "correct_squares": (
        '"""Check that squares returns the correct output for several inputs"""\n'
        "assert squares(1) == [1]\n"
        "assert squares(2) == [1, 4]\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert squares(10) == [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]\n"
        "assert squares(11) == [i ** 2 for i in range(1, 12)]\n"
        "### END HIDDEN TESTS\n",
        1,
    ),
    "squares_invalid_input": (
        '"""Check that squares raises an error for invalid inputs"""\n'
        'try:\n    squares(0)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError("did not raise")\n\n'
        'try:\n    squares(-4)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError("did not raise")\n',
        1,
    ),
    # A value the sandbox cannot record as plain data (a set): moved inside after the reference run.
    "squares_as_set": ("assert set(squares(3)) == {1, 4, 9}\n", 1),
    "correct_sum_of_squares": (
        "assert sum_of_squares(1) == 1\nassert sum_of_squares(2) == 5\n"
        "### BEGIN HIDDEN TESTS\nassert sum_of_squares(10) == 385\n### END HIDDEN TESTS\n",
        0.5,
    ),
    "sum_of_squares_uses_squares": (
        '"""Check that sum_of_squares relies on squares."""\n'
        "orig_squares = squares\ndel squares\ntry:\n    sum_of_squares(1)\nexcept NameError:\n    pass\n"
        'else:\n    raise AssertionError("sum_of_squares does not use squares")\nfinally:\n    squares = orig_squares\n',
        0.5,
    ),
    "normalize_values": (
        "assert np.allclose(normalize(np.array([3.0, 4.0])), [0.6, 0.8])\n"
        "assert isinstance(normalize(np.ones(3)), np.ndarray)\n"
        "np.testing.assert_allclose(np.linalg.norm(normalize(np.arange(1.0, 6.0))), 1.0, rtol=1e-7)\n",
        2,
    ),
    "helper_in_test": (
        "def check(n):\n    assert sum_of_squares(n) == sum(i * i for i in range(1, n + 1)), n\n\n"
        "for n in range(1, 8):\n    check(n)\n",
        1,
    ),
    "partial_credit": (
        "score = 0\nif squares(3) == [1, 4, 9]:\n    score += 1\nif sum_of_squares(3) == 14:\n    score += 1\nscore\n",
        2,
    ),
}


def source_notebook() -> dict:
    cells = [
        _markdown("# Problem set 1\nWrite the functions below; the cells after each one test it."),
        _code("import numpy as np\n", "imports", locked=True),
    ]
    order = [
        ("set_a", ["foo", "bar"]),
        ("squares", ["correct_squares", "squares_invalid_input", "squares_as_set"]),
        ("sum_of_squares", ["correct_sum_of_squares", "sum_of_squares_uses_squares", "helper_in_test"]),
        ("normalize", ["normalize_values", "partial_credit"]),
    ]
    for answer, tests in order:
        body = ANSWERS[answer]
        cells.append(_code(f"### BEGIN SOLUTION\n{body}### END SOLUTION\n", answer, solution=True))
        for grade_id in tests:
            source, points = TESTS[grade_id]
            cells.append(_code(source, grade_id, grade=True, points=points, locked=True))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


#: Wrong answers (cell -> source) and the cells each one must lose. "several" makes four independent
#: mistakes at once (each touches other cells), to keep the number of notebook runs small.
WRONG = {
    "off_by_one": (
        {"squares": "def squares(n):\n    if n < 1:\n        raise ValueError('n')\n    return [i ** 2 for i in range(n)]\n"},
        {"correct_squares", "squares_as_set", "correct_sum_of_squares", "helper_in_test", "partial_credit"},
    ),
    "several": (
        {
            "set_a": "import sys\na = 2\nprint('Success!', file=sys.stdout)\n",
            "squares": "def squares(n):\n    return [i ** 2 for i in range(1, n + 1)]\n",
            "sum_of_squares": "def sum_of_squares(n):\n    return sum(squares(n)) + 1\n",
            "normalize": "def normalize(x):\n    return list(x / np.linalg.norm(x))\n",
        },
        {"bar", "squares_invalid_input", "correct_sum_of_squares", "helper_in_test", "partial_credit", "normalize_values"},
    ),
    "reimplements": (
        {"sum_of_squares": "def sum_of_squares(n):\n    return sum(i * i for i in range(1, n + 1))\n"},
        {"sum_of_squares_uses_squares"},
    ),
}
#: Tries to fake the outside-judged cells: wrong answers, then redefines what the tests call and prints a pass.
CHEAT = {
    "set_a": (
        "class Liar:\n    def __eq__(self, other):\n        return True\n\n"
        "a = Liar()\nclass AssertionError(Exception):\n    pass\n"
    ),
    "normalize": (
        "def normalize(x):\n    return x\n"
        "np.allclose = lambda *args, **kwargs: True\n"
        "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
        "isinstance = lambda *args: True\n"
        "print('✓ normalize_values (3 checks passed)')\n"
    ),
}
CHEAT_LOSES = {"bar", "normalize_values"}


def _students(source: dict, release: dict) -> dict[str, dict]:
    perfect = submission.perfect_submission(release, source)
    out = {"perfect": perfect, "stub": release}
    for student, (answers, _loses) in {**WRONG, "cheat": (CHEAT, CHEAT_LOSES)}.items():
        nb = json.loads(json.dumps(perfect))
        for cell in nb["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell["source"] = answers[grade_id]
        out[student] = nb
    return out


def _write_course(root, source: dict, students: dict[str, dict] | None, solutions: bool = True) -> None:
    if solutions:
        (root / "solutions" / ASSIGNMENT).mkdir(parents=True)
        (root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_text(json.dumps(source), encoding="utf-8")
    for student, nb in (students or {}).items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{NOTEBOOK}.ipynb").write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Plain nbgrader and the sandboxed grader, on the same students."""
    if sandbox.check_sandbox() is not None:
        pytest.fail(f"the sandboxed grader needs bubblewrap: {sandbox.check_sandbox()}")
    source = source_notebook()
    import time

    started = time.perf_counter()
    plain_root = tmp_path_factory.mktemp("plain")
    _write_course(plain_root, source, None)
    with temporary_environ(grading_environment()):
        api = state.Course(plain_root).api()
        result = api.generate_assignment(ASSIGNMENT, force=True, create=True)
        assert result["success"], result.get("log")
        # The release, as nbgrader makes it: the stub every student starts from.
        release = json.loads((plain_root / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text(encoding="utf-8"))
        students = _students(source, release)
        _write_course(plain_root, source, students, solutions=False)
        for student in students:
            out = api.autograde(ASSIGNMENT, student, force=True, create=True)
            assert out["success"], out.get("log")
    plain = state.Course(plain_root).scores(ASSIGNMENT)
    print(f"\nplain nbgrader: {time.perf_counter() - started:.1f} s for {len(students)} students")
    started = time.perf_counter()

    box_root = tmp_path_factory.mktemp("sandboxed")
    _write_course(box_root, source, students)
    summary = pipeline.autograde(pipeline.Course(box_root), None, pipeline.RunOptions(jobs=2, log=lambda m: None))
    assert not summary.refused, summary.refused
    boxed = state.Course(box_root).scores(ASSIGNMENT)
    print(f"sandboxed grader: {time.perf_counter() - started:.1f} s for {len(students) - 1} students + the solution")
    return plain, boxed, box_root, source


def _where(box_root) -> dict[str, str]:
    state = json.loads((box_root / "grading" / ASSIGNMENT / "stub" / "state.json").read_text(encoding="utf-8"))
    return {g: t.get("judged", "outside") for g, t in state["tests"][NOTEBOOK].items()}


@pytest.mark.grading
def test_honest_scores_equal_plain_nbgrader_cell_by_cell(graded):
    plain, boxed, box_root, _source = graded
    where = _where(box_root)
    honest = ["perfect", "stub", *WRONG]
    rows = [f"{'student':16} {'cell':30} {'nbgrader':>9} {'sandboxed':>9}  judged"]
    mismatches = []
    for student in honest:
        assert set(plain[student]) == set(boxed[student]) == set(TESTS), student
        for cell in TESTS:
            p, b = plain[student][cell][0], boxed[student][cell][0]
            rows.append(f"{student:16} {cell:30} {p:9g} {b:9g}  {where[cell]}")
            if p != b:
                mismatches.append((student, cell, p, b))
    print("\n" + "\n".join(rows))
    assert not mismatches, mismatches
    # The table covers both kinds of judgement, and the full and empty ends.
    assert {"outside", "inside"} <= set(where.values())
    assert all(boxed["perfect"][c][0] == TESTS[c][1] for c in TESTS)
    # The stub (nbgrader's "raise NotImplementedError()") still passes the print-only cell, in both graders.
    assert boxed["stub"]["foo"][0] == 1 and sum(s for s, _m in boxed["stub"].values()) == 1


@pytest.mark.grading
def test_which_cells_are_judged_where(graded):
    _plain, _boxed, box_root, _source = graded
    where = _where(box_root)
    outside = {"bar", "correct_squares", "squares_invalid_input", "correct_sum_of_squares", "normalize_values"}
    assert {c for c, w in where.items() if w == "outside"} == outside
    assert {c for c, w in where.items() if w == "inside"} == set(TESTS) - outside
    graded_nb = json.loads((box_root / "autograded" / "stub" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text(encoding="utf-8"))
    for cell in graded_nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in TESTS:
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o["output_type"] == "stream")
            assert (byo.INSIDE_LABEL in text) == (where[grade_id] == "inside"), grade_id
    from grader import report

    status = report.format_status(pipeline.Course(box_root), [ASSIGNMENT])
    assert byo.INSIDE_LABEL in status and "helper_in_test" in status and "partial_credit" in status
    assert "squares_as_set: judged inside the sandbox" in status and "not plain data" in status
    # The feedback says it on each such cell, and shows no hidden test's expected value or input.
    results = report.feedback(pipeline.Course(box_root), [ASSIGNMENT], ["off_by_one"])
    assert [ok for *_x, ok, _m in results] == [True], results
    html = (box_root / "feedback" / "off_by_one" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
    assert html.count(byo.INSIDE_LABEL) == sum(1 for w in where.values() if w == "inside")
    for secret in ("== 385", "squares(10)", "squares(11)", "range(1, 12)"):
        assert secret not in html, secret


@pytest.mark.grading
def test_wrong_answers_lose_exactly_their_cells(graded):
    _plain, boxed, _root, _source = graded
    for student, (_answers, loses) in WRONG.items():
        lost = {c for c, (score, top) in boxed[student].items() if score < top}
        assert lost == loses, (student, lost)
    # Partial credit, as nbgrader gives it (the cell's result is the score).
    assert boxed["off_by_one"]["partial_credit"][0] == 0
    assert boxed["several"]["partial_credit"][0] == 1  # squares(3) right, sum_of_squares(3) wrong: 1 of 2
    assert boxed["reimplements"]["partial_credit"][0] == 2


@pytest.mark.grading
def test_a_cheat_cannot_fake_outside_judged_asserts(graded):
    plain, boxed, _root, _source = graded
    lost = {c for c, (score, top) in boxed["cheat"].items() if score < top}
    assert lost == CHEAT_LOSES, lost
    # Plain nbgrader is fooled by the same notebook: an object equal to anything, a fake np.allclose.
    fooled = {c for c in CHEAT_LOSES if plain["cheat"][c][0] == plain["cheat"][c][1]}
    assert fooled == CHEAT_LOSES, plain["cheat"]


@pytest.mark.grading
def test_strict_refuses_nbgrader_style_tests(tmp_path):
    _write_course(tmp_path, source_notebook(), None)
    with pytest.raises(state.AssignmentError, match="bare `assert`"):
        plan.build_plan(pipeline.Course(tmp_path), ASSIGNMENT, strict=True)
    built = plan.build_plan(pipeline.Course(tmp_path), ASSIGNMENT)
    assert {g for g, t in built.notebooks[0].tests.items() if byo.judged_where(t) == "inside"} == {
        "foo",
        "sum_of_squares_uses_squares",
        "helper_in_test",
        "partial_credit",
    }


# ----------------------------------------------------------------------------- nbgrader's own test notebooks

#: nbgrader's test notebooks, as the installed nbgrader ships them (nbgrader/tests/apps/files; read at test time,
#: nothing copied into this repository): assignment -> (the source notebook, the submitted notebooks).
#: Its autograde tests use "submitted-changed" as a working answer; the AUTOTEST notebooks need its autotests.yml.
NBGRADER_SETS = {
    "submitted": (
        "submitted-changed",
        ["submitted-unchanged", "submitted-changed", "submitted-cheat-attempt", "submitted-cheat-attempt-alternative",
         "submitted-grade-cell-changed", "submitted-locked-cell-changed"],
    ),
    "autotest_simple": ("autotest-simple", ["autotest-simple-unchanged", "autotest-simple-changed"]),
    "autotest_hidden": (
        "autotest-hidden",
        ["autotest-hidden-unchanged", "autotest-hidden-changed-right", "autotest-hidden-changed-wrong"],
    ),
    "autotest_multi": ("autotest-multi", ["autotest-multi-unchanged", "autotest-multi-changed"]),
    "autotest_hashed": ("autotest-hashed", ["autotest-hashed-unchanged", "autotest-hashed-changed"]),
    "relative_file": ("open_relative_file", ["open_relative_file"]),
    "with_output": ("test-with-output", ["test-with-output"]),
}  # fmt: skip
#: Files beside an assignment's source notebook (nbgrader's autograde copies them beside every submission's).
NBGRADER_FILES = {"relative_file": ["data.txt"]}


def _nbgrader_course(root, files, solutions: bool = True, students: bool = True) -> None:
    import shutil

    shutil.copy(files / "autotests.yml", root / "autotests.yml")
    for assignment, (source, submitted) in NBGRADER_SETS.items():
        if solutions:
            (root / "solutions" / assignment).mkdir(parents=True, exist_ok=True)
            shutil.copy(files / f"{source}.ipynb", root / "solutions" / assignment / "p1.ipynb")
            for name in NBGRADER_FILES.get(assignment, []):
                shutil.copy(files / name, root / "solutions" / assignment / name)
        for student in submitted if students else []:
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(files / f"{student}.ipynb", folder / "p1.ipynb")


@pytest.mark.grading
def test_nbgrader_s_own_test_notebooks_score_alike(tmp_path):
    """nbgrader's own test notebooks (print-only and assert tests, hidden tests, AUTOTEST directives with plain
    and hashed templates, cheat attempts, edited grade and locked cells, a test that reads a data file beside
    the notebook, a solution saved with its outputs and written answers), graded by plain nbgrader and by the
    sandboxed grader: the same score in every autograded cell."""
    import nbgrader

    if sandbox.check_sandbox() is not None:
        pytest.fail(f"the sandboxed grader needs bubblewrap: {sandbox.check_sandbox()}")
    files = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
    plain_root, box_root = tmp_path / "plain", tmp_path / "sandboxed"
    plain_root.mkdir(), box_root.mkdir()
    _nbgrader_course(plain_root, files, students=False)
    with temporary_environ(grading_environment()):
        api = state.Course(plain_root).api()
        for assignment in NBGRADER_SETS:
            result = api.generate_assignment(assignment, force=True, create=True)
            assert result["success"], result.get("log")
        _nbgrader_course(plain_root, files, solutions=False)
        for assignment, (_source, submitted) in NBGRADER_SETS.items():
            for student in submitted:
                out = api.autograde(assignment, student, force=True, create=True)
                assert out["success"], out.get("log")
    _nbgrader_course(box_root, files)
    summary = pipeline.autograde(pipeline.Course(box_root), None, pipeline.RunOptions(jobs=2, log=lambda m: None))
    assert not summary.refused, summary.refused
    rows, mismatches, cells = [f"{'assignment':16} {'student':36} {'cell':22} {'nbgrader':>9} {'sandboxed':>9}"], [], 0
    for assignment, (_source, submitted) in NBGRADER_SETS.items():
        plain, boxed = state.Course(plain_root).scores(assignment), state.Course(box_root).scores(assignment)
        for student in submitted:
            assert set(plain[student]) == set(boxed[student]), (assignment, student)
            for cell, (p, _top) in plain[student].items():
                b = boxed[student][cell][0]
                rows.append(f"{assignment:16} {student:36} {cell:22} {p:9g} {b:9g}")
                cells += 1
                if p != b:
                    mismatches.append((assignment, student, cell, p, b))
    print("\n" + "\n".join(rows))
    assert not mismatches, mismatches
    # Both ends occur: untouched stubs lose the AUTOTEST cells, working answers keep them.
    hidden = state.Course(box_root).scores("autotest_hidden")
    assert (
        hidden["autotest-hidden-unchanged"]["test_hidden"][0] == 0
        and hidden["autotest-hidden-changed-right"]["test_hidden"][0] == 1
    )
    assert cells >= 20, cells
    assert state.Course(box_root).scores("relative_file")["open_relative_file"]["open_file"] == (10, 10)


# ----------------------------------------------------------------------------- the transform (no sandbox)

CTX = byo.Context(aliases={"np": "numpy", "math": "math", "torch": "torch"}, rebound={"f", "g", "a", "squares"})


def _plan(source: str) -> rewrite.RewrittenCell:
    return byo.plan_cell(source, CTX)


def _run(cell: rewrite.RewrittenCell, namespace: dict, reference: bool) -> list[dict]:
    """Run a rewritten cell with the worker's recorder (in this process) and JSON round-trip the records."""
    from grader import _worker

    recorder = _worker.Recorder(1 << 20)
    import math

    ns = {"np": np, "math": math, **namespace, "__p2l_record__": recorder}
    exec(compile(cell.reference_source if reference else cell.student_source, "<cell>", "exec"), ns)  # noqa: S102
    return json.loads(json.dumps(recorder.records))


def _verdicts(source: str, student_ns: dict, solution_ns: dict) -> list[bool]:
    cell = _plan(source)
    assert byo.judged_where(cell) == "outside", cell.inside_reason
    refs = {r["check"]: r for r in _run(cell, solution_ns, True)}
    got = {r["check"]: r for r in _run(cell, student_ns, False)}
    return [compare.judge(spec, got.get(spec.index), refs[spec.index]).passed for spec in cell.checks]


def test_expected_values_never_reach_the_student_version():
    cell = _plan("assert squares(10) == [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]\nexpected = 385\nassert f(10) == expected\n")
    assert "100" not in cell.student_source and "385" not in cell.student_source
    assert "385" in cell.reference_source and [c.kind for c in cell.checks] == ["assert", "assert"]


def test_assert_shapes_judged_like_python():
    sol = {"f": lambda x: x * 2, "g": lambda: None, "squares": lambda n: [i * i for i in range(1, n + 1)]}
    ok = _verdicts(
        "assert f(2) == 4\nassert f(2) != 5\nassert 3 < f(2) <= 4\nassert g() is None\nassert 4 in [f(2)]\n"
        "assert not f(0)\nassert f(1) == 2 and f(3) == 6\nassert np.allclose(f(np.arange(3.0)), [0, 2, 4])\n"
        "assert isinstance(squares(2), list)\nassert math.isclose(f(0.1), 0.2)\nassert len(squares(4)) == 4\n"
        "np.testing.assert_array_equal(f(np.arange(3)), np.arange(0, 6, 2))\n",
        sol,
        sol,
    )
    assert ok == [True] * 13
    wrong = {"f": lambda x: x * 3, "g": lambda: 0, "squares": lambda n: tuple(range(n))}
    got = _verdicts(
        "assert f(2) == 4\nassert g() is None\nassert isinstance(squares(2), list)\nassert np.allclose(f(np.arange(3.0)), [0, 2, 4])\n",
        wrong,
        sol,
    )
    assert got == [False, False, False, False]
    # A value that raises fails, as the assert would; an array compared with == fails as `assert` does.
    raising = {"f": lambda x: 1 / 0, "g": lambda: np.arange(3)}
    assert _verdicts("assert f(1) == 2\nassert g() == np.arange(3)\n", raising, {"f": lambda x: 2, "g": lambda: 1}) == [
        False,
        False,
    ]


def test_raises_form():
    src = "try:\n    squares(0)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError('no')\n"

    def raises_value(n):
        raise ValueError("n")

    def raises_type(n):
        raise TypeError("n")

    assert _verdicts(src, {"squares": raises_value}, {"squares": raises_value}) == [True]
    assert _verdicts(src, {"squares": lambda n: []}, {"squares": raises_value}) == [False]
    assert _verdicts(src, {"squares": raises_type}, {"squares": raises_value}) == [False]


def test_a_fake_comparison_in_the_student_process_changes_nothing():
    class Liar:
        def __eq__(self, other):
            return True

        def __bool__(self):
            return True

    fake_np = type("np", (), {"allclose": staticmethod(lambda *a, **k: True)})
    sol = {"f": lambda x: x * 2}
    assert _verdicts("assert f(2) == 4\n", {"f": lambda x: Liar()}, sol) == [False]
    assert _verdicts("assert np.allclose(f(2), 4)\n", {"f": lambda x: 5, "np": fake_np}, {**sol}) == [False]


@pytest.mark.parametrize(
    "source, reason",
    [
        ("assert f(1) == 1 or f(2) == 2", "`or`"),
        ("for i in range(3):\n    assert f(i) == i", "cannot record"),
        ("assert f(1) == 1\nprint('done')", "after the first check"),
        ("assert f(1) is g(1)", "`is`"),
        ("assert [f(i) == i for i in range(3)] == [True] * 3", "compares inside"),
        ("x = f(1)\nassert any(x == y for y in [1, 2])", "compares inside"),
        (
            "orig = f\ndel f\ntry:\n    g(1)\nexcept NameError:\n    pass\nelse:\n    raise AssertionError\nfinally:\n    f = orig",
            "cannot record",
        ),
        ("print('Success!')", "no assertion"),
    ],
)
def test_cells_judged_inside_say_why(source, reason):
    cell = _plan(source)
    assert byo.judged_where(cell) == "inside" and reason in cell.inside_reason
    assert cell.student_source == source and not cell.checks
    with pytest.raises(rewrite.RewriteError, match="judged inside"):
        byo.plan_cell(source, CTX, strict=True)


def test_trusted_values_are_only_deterministic_data():
    # An input the student's code also receives is computed in the student's process (it may be changed there).
    cell = _plan("x = np.arange(3)\nassert np.allclose(f(x), x * 2)\n")
    assert "x = np.arange(3)" in cell.student_source and cell.checks[0].students == ["f(x)", "x"]
    # A random expected value is never trusted; builtins a notebook redefines are not either.
    ctx = byo.Context(aliases={"np": "numpy"}, rebound={"len"})
    assert not byo._is_trusted(ast.parse("np.random.rand(3)", mode="eval").body, ctx, set())
    assert not byo._is_trusted(ast.parse("len([1])", mode="eval").body, ctx, set())
    assert byo._is_trusted(ast.parse("[i ** 2 for i in range(3)]", mode="eval").body, ctx, set())
    # Drawn from the global random state: a value of the student's process (its state is the student's).
    assert _plan("assert np.all(np.random.rand(3) < f(3))").checks[0].students == ["np.random.rand(3)", "f(3)"]


def test_a_test_variable_another_cell_reads_stays_in_the_student_version():
    cells = [
        {"cell_type": "code", "metadata": {}, "source": "import numpy as np"},
        {
            "cell_type": "code",
            "metadata": {"nbgrader": {"grade": True, "grade_id": "t", "points": 1}},
            "source": "expected = 5\nassert f(1) == expected",
        },
        {"cell_type": "code", "metadata": {}, "source": "print(expected)"},
    ]
    ctx = byo.context(cells)
    assert ctx.aliases == {"np": "numpy"}
    cell = byo.plan_cell(cells[1]["source"], ctx)
    assert "expected = 5" in cell.student_source and cell.checks[0].students == ["f(1)", "expected"]
    alone = byo.plan_cell(cells[1]["source"], byo.context(cells[:2]))
    assert "expected" not in alone.student_source


def test_opaque_reference_values_move_a_cell_inside():
    record = {"check": 0, "actual": {"tuple": [{"opaque": "Model", "repr": "Model()"}]}, "expected": {"tuple": []}}
    assert byo.opaque_in_reference(record)
    assert not byo.opaque_in_reference({"check": 0, "actual": {"tuple": [1.0]}, "expected": {"tuple": []}})
    assert decode({"tuple": [1.0]}) == (1.0,)


def test_nbgrader_partial_credit_rule():
    result = {"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": "1"}, "metadata": {}}
    assert byo.nbgrader_score([result], 2, "c", "") == 1
    assert byo.nbgrader_score([{"output_type": "stream", "name": "stderr", "text": "w"}], 2, "c", "") == 0
    assert byo.nbgrader_score([{"output_type": "stream", "name": "stdout", "text": "ok"}], 2, "c", "") == 2
    hidden = byo.inside_outputs(
        [
            {"output_type": "stream", "name": "stdout", "text": "secret input 42"},
            {"output_type": "error", "ename": "AssertionError", "evalue": "42 != 43", "traceback": ["42"]},
        ],
        hidden=True,
    )
    assert "42" not in json.dumps(hidden) and byo.nbgrader_score(hidden, 1, "c", "") == 0


def test_strict_is_an_autograde_option():
    from grader.__main__ import _parser

    assert _parser().parse_args(["autograde", "--strict"]).strict is True
    assert _parser().parse_args(["autograde"]).strict is False
    assert pipeline.RunOptions().strict is False


# ----------------------------------------------------------------------------- files beside the notebooks

FILES_SOURCE = {
    "cells": [
        _code('import helpers\nrows = open("data/table.csv").read().split()\n', "setup", locked=True),
        _code(
            "def total():\n    ### BEGIN SOLUTION\n    return sum(int(r) for r in rows) + helpers.OFFSET\n    ### END SOLUTION\n",
            "total",
            solution=True,
        ),
        _code("assert total() == 106\n", "test_total", grade=True, points=1, locked=True),
        _code("def seven():\n    ### BEGIN SOLUTION\n    return 7\n    ### END SOLUTION\n", "seven", solution=True),
        _code("assert seven() == 7\n", "test_seven", grade=True, points=1, locked=True),
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}
#: The assignment's own files: a data file in a subfolder and a helper module the setup cell imports.
FILES_ASSIGNMENT = {"data/table.csv": "1 2 3\n", "helpers.py": "OFFSET = 100\n"}
#: student -> (answers, files submitted beside the notebook, points expected in test_total and test_seven).
FILES_STUDENTS = {
    "honest": ({}, {}, (1, 1)),
    # Their own module beside the notebook, imported by their answer: placed, as nbgrader places it.
    "own_module": ({"seven": "import mine\n\ndef seven():\n    return mine.SEVEN\n"}, {"mine.py": "SEVEN = 7\n"}, (1, 1)),
    # Changed copies of the assignment's files: the assignment's own are used (their total is still 106).
    "changed_the_data": ({}, {"data/table.csv": "100 200 300\n", "helpers.py": "OFFSET = 0\n"}, (1, 1)),
    # An answer that needs a file nobody sent loses that cell only.
    "missing_module": ({"seven": "import not_sent\n\ndef seven():\n    return not_sent.SEVEN\n"}, {}, (1, 0)),
}


@pytest.mark.grading
def test_files_beside_the_notebooks_are_laid_out_as_nbgrader_does(tmp_path):
    """An assignment with a data file and a helper module beside its notebook: nbgrader releases them and its
    autograde runs every submission beside the source's copies (a student's own extra files stay, their changed
    copies of the assignment's files do not). The sandboxed grader: the same scores as plain nbgrader."""
    if sandbox.check_sandbox() is not None:
        pytest.fail(f"the sandboxed grader needs bubblewrap: {sandbox.check_sandbox()}")
    roots = {"plain": tmp_path / "plain", "sandboxed": tmp_path / "sandboxed"}
    for root in roots.values():
        folder = root / "solutions" / "files"
        folder.mkdir(parents=True)
        (folder / "lab.ipynb").write_text(json.dumps(FILES_SOURCE), encoding="utf-8")
        for rel, text in FILES_ASSIGNMENT.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    with temporary_environ(grading_environment()):
        api = state.Course(roots["plain"]).api()
        assert api.generate_assignment("files", force=True, create=True)["success"]
        released = roots["plain"] / "exercises" / "files"
        assert {p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()} == {
            "lab.ipynb",
            *FILES_ASSIGNMENT,
        }
        release = json.loads((released / "lab.ipynb").read_text(encoding="utf-8"))
        for root in roots.values():
            for student, (answers, files, _points) in FILES_STUDENTS.items():
                nb = submission.perfect_submission(release, FILES_SOURCE)
                for cell in nb["cells"]:
                    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    cell["source"] = answers.get(grade_id, cell["source"])
                folder = root / "submitted" / student / "files"
                folder.mkdir(parents=True)
                (folder / "lab.ipynb").write_text(json.dumps(nb), encoding="utf-8")
                for rel, text in files.items():
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    (folder / rel).write_text(text)
        for student in FILES_STUDENTS:
            assert api.autograde("files", student, force=True, create=True)["success"]
    # The grader's own release hands out the same files, and calls none of them a leak.
    from grader import repo_exercises

    box = state.Course(roots["sandboxed"])
    repo_exercises.release(root=box.root)
    assert {p.relative_to(box.exercises).as_posix() for p in box.exercises.rglob("*") if p.is_file()} == {
        f"files/{rel}" for rel in ("lab.ipynb", *FILES_ASSIGNMENT)
    }
    assert repo_exercises.release_leaks(box.exercises, box.solutions) == []
    (box.exercises / "files" / "helpers.py").write_text("OFFSET = 0\n")
    assert len(repo_exercises.release_leaks(box.exercises, box.solutions)) == 1
    summary = pipeline.autograde(pipeline.Course(roots["sandboxed"]), None, pipeline.RunOptions(jobs=2, log=lambda m: None))
    assert not summary.refused, summary.refused
    plain, boxed = state.Course(roots["plain"]).scores("files"), state.Course(roots["sandboxed"]).scores("files")
    for student, (_answers, _files, (total, seven)) in FILES_STUDENTS.items():
        expected = {"test_total": (total, 1), "test_seven": (seven, 1)}
        assert plain[student] == expected, ("plain nbgrader", student, plain[student])
        assert boxed[student] == expected, ("sandboxed", student, boxed[student])
    notes = json.dumps(json.loads((roots["sandboxed"] / "grading" / "files" / "own_module" / "result.json").read_text()))
    assert "mine.py" in notes, notes
    notes = json.dumps(json.loads((roots["sandboxed"] / "grading" / "files" / "changed_the_data" / "result.json").read_text()))
    assert "own copies were used instead" in notes and "helpers.py" in notes, notes


# ----------------------------------------------------------------------------- a course laid out by plain nbgrader


@pytest.mark.grading
def test_a_course_in_nbgrader_s_own_layout_works_with_every_command(tmp_path, capsys):
    """A course folder elsewhere, laid out as plain nbgrader lays one out (``source/``, ``release/``) and with
    its own ``nbgrader_config.py`` renaming two more folders: release, collect, autograde, status, feedback and
    export with ``--course-dir`` all use its folders."""
    from grader.__main__ import main

    if sandbox.check_sandbox() is not None:
        pytest.fail(f"the sandboxed grader needs bubblewrap: {sandbox.check_sandbox()}")
    root = tmp_path / "my course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_text(json.dumps(source_notebook()), encoding="utf-8")
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.submitted_directory = "handed_in"\nc.CourseDirectory.feedback_directory = "returned"\n'
    )
    course = state.Course(root)
    assert (course.solutions.name, course.exercises.name, course.submitted.name) == ("source", "release", "handed_in")
    assert main(["release", "--course-dir", str(root)]) == 0
    release = json.loads((root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text(encoding="utf-8"))
    download = tmp_path / "download"
    for student, nb in {"alice": submission.perfect_submission(release, source_notebook()), "bob": release}.items():
        (download / student).mkdir(parents=True)
        (download / student / f"{NOTEBOOK}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert main(["collect", str(download), "--course-dir", str(root)]) == 0
    assert sorted(p.name for p in (root / "handed_in").iterdir()) == ["alice", "bob"]
    assert main(["autograde", "--course-dir", str(root), "--jobs", "2"]) == 0
    scores = course.scores(ASSIGNMENT)
    total = {student: sum(s for s, _ in cells.values()) for student, cells in scores.items()}
    assert all(s == top for s, top in scores["alice"].values()) and total["bob"] < total["alice"], scores
    capsys.readouterr()
    assert main(["status", "--course-dir", str(root)]) == 0
    assert f"{ASSIGNMENT}: 2 submitted · 2 graded · 0 to grade" in capsys.readouterr().out
    assert main(["feedback", "--course-dir", str(root)]) == 0
    assert (root / "returned" / "alice" / ASSIGNMENT / f"{NOTEBOOK}.html").is_file()
    assert not (root / "feedback").exists() and not (root / "submitted").exists() and not (root / "solutions").exists()
    out = tmp_path / "grades.csv"
    assert main(["export", "--course-dir", str(root), "--output", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert (
        rows[0].startswith("student") and any(r.startswith("alice,") for r in rows) and any(r.startswith("bob,") for r in rows)
    ), rows
