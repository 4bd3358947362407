"""The mutation-testing harness (bench/mutants.py) without grading: regions, operators, sampling, the equivalents."""

from __future__ import annotations

import json
import textwrap

import pytest

from bench import mutants as mt

CELL = textwrap.dedent('''\
    def f(x, y, model, loader, device, dim=-1):
        """Docstring: 1 + 1 stays."""
        ### BEGIN SOLUTION
        if x < 3:
            raise ValueError(f"x must be at least {3 + 1}")
        model.eval()
        with torch.no_grad():
            z = x.to(device) + y * 2
        for xb in loader:
            z = z - xb[1 : x + 1]
        ok = bool(x) and not y
        return z.permute(2, 0, 1).sum(dim=dim)
        ### END SOLUTION
    ''')


def region(source: str = CELL, grade_id: str = "f") -> mt.Region:
    return mt.Region("ex99_demo", "ex99_demo.ipynb", grade_id, source, mt.solution_spans(source))


def changes(source: str = CELL, grade_id: str = "f") -> set[tuple[str, str, str]]:
    return {(m.operator, m.before, m.after) for m in mt.mutants(region(source, grade_id))}


def test_solution_spans_are_the_lines_between_the_markers():
    assert mt.solution_spans(CELL) == ((4, 12),)
    two = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n### BEGIN SOLUTION\nc = 3\nd = 4\n### END SOLUTION\n"
    assert mt.solution_spans(two) == ((2, 2), (6, 7))
    with pytest.raises(ValueError, match="never closed"):
        mt.solution_spans("### BEGIN SOLUTION\na = 1\n")
    with pytest.raises(ValueError, match="without"):
        mt.solution_spans("a = 1\n### END SOLUTION\n")


def test_every_operator_produces_the_expected_source():
    found = changes()
    expected = {
        ("cmp", "if x < 3:", "if (x >= 3):"),
        ("cmp", "if x < 3:", "if (x <= 3):"),
        ("const", "if x < 3:", "if x < 4:"),
        ("drop-call", "model.eval()", "pass"),
        ("drop-with", "with torch.no_grad():\nz = x.to(device) + y * 2", "z = x.to(device) + y * 2"),
        ("drop-method", "z = x.to(device) + y * 2", "z = x + y * 2"),
        ("arith", "z = x.to(device) + y * 2", "z = (x.to(device) - y * 2)"),
        ("arith", "z = x.to(device) + y * 2", "z = x.to(device) + (y / 2)"),
        ("const", "z = x.to(device) + y * 2", "z = x.to(device) + y * 1"),
        ("loop-once", "", "break"),
        ("arith", "z = z - xb[1 : x + 1]", "z = (xb[1:x + 1] - z)"),
        ("slice", "z = z - xb[1 : x + 1]", "z = z - xb[1 : (x + 1 + 1)]"),
        ("slice", "z = z - xb[1 : x + 1]", "z = z - xb[1 : (x + 1 - 1)]"),
        ("bool", "ok = bool(x) and not y", "ok = (bool(x) or not y)"),
        ("bool", "ok = bool(x) and not y", "ok = bool(x) and y"),
        ("dims", "return z.permute(2, 0, 1).sum(dim=dim)", "return z.permute(0, 2, 1).sum(dim=dim)"),
        ("dims", "return z.permute(2, 0, 1).sum(dim=dim)", "return z.permute(2, 0, 1).sum(dim=0)"),
        ("return-early", "", "return x"),
    }
    assert expected <= found, sorted(expected - found)


def test_the_mutated_cell_changes_only_the_mutated_span():
    m = next(m for m in mt.mutants(region()) if m.operator == "drop-method")
    assert m.source == CELL.replace("z = x.to(device) + y", "z = x + y")
    assert m.line == 8
    body = m.diff().splitlines()[2:]  # after the ---/+++ header
    assert [row for row in body if row[:1] in "-+"] == ["-        z = x.to(device) + y * 2", "+        z = x + y * 2"]


def test_nothing_outside_the_solution_or_inside_an_error_message_is_mutated():
    for m in mt.mutants(region()):
        assert "Docstring: 1 + 1 stays." in m.source
        assert "def f(x, y, model, loader, device, dim=-1):" in m.source
        assert 'raise ValueError(f"x must be at least {3 + 1}")' in m.source, m.diff()


def test_a_generator_returns_early_without_a_value_and_comprehension_filters_are_dropped():
    cell = (
        "def g(xs):\n    ### BEGIN SOLUTION\n    for x in xs:\n        yield x\n"
        "    return sum(v for v in xs if v.ok)\n    ### END SOLUTION"
    )
    found = changes(cell)
    assert ("return-early", "", "return") in found
    assert ("bool", "return sum(v for v in xs if v.ok)", "return sum(v for v in xs if True)") in found


def test_the_library_replacement_swaps_the_whole_solution_for_the_forbidden_call():
    cell = (
        "def stable_softmax(logits, dim=-1):\n    ### BEGIN SOLUTION\n    e = torch.exp(logits)\n"
        "    return e / e.sum(dim=dim, keepdim=True)\n    ### END SOLUTION"
    )
    library = [m for m in mt.mutants(region(cell, "stable_softmax")) if m.operator == "library"]
    assert len(library) == 1
    assert library[0].answer() == "def stable_softmax(logits, dim=-1):\n    return torch.softmax(logits, dim=dim)"


def test_mutants_that_do_not_compile_or_do_not_change_the_code_are_invalid(monkeypatch):
    monkeypatch.setattr(
        mt,
        "_mutations",
        lambda r: [
            ("const", 4, CELL.replace("if x < 3:", "if x < 3")),  # syntax error
            ("cmp", 4, CELL.replace("if x < 3:", "if (x < 3):")),  # same AST
            ("cmp", 4, CELL.replace("if x < 3:", "if x <= 3:")),
            ("cmp", 4, CELL.replace("if x < 3:", "if x <= 3:")),  # duplicate: dropped
        ],
    )
    found = mt.mutants(region())
    assert sorted((m.after, m.valid, m.why_invalid) for m in found) == [
        ("if (x < 3):", False, "same code as the solution"),
        ("if x < 3", False, "does not compile"),
        ("if x <= 3:", True, ""),
    ]


def test_the_solution_regions_of_the_course_are_found():
    regions = mt.find_regions()
    ids = {r.grade_id for r in regions}
    assert {"scale_pixels", "conv2d", "train_one_epoch", "freeze", "train_without_shortcut"} <= ids
    scale = next(r for r in regions if r.grade_id == "scale_pixels")
    lines = scale.source.splitlines()
    assert [lines[i - 1].strip() for a, b in scale.spans for i in range(a, b + 1)] == ["return x.to(torch.float32) / 255"]
    for r in regions:
        assert all(mt.BEGIN not in m.answer() and mt.END not in m.answer() for m in mt.mutants(r))
    assert set(mt.LIBRARY) <= ids, "a LIBRARY entry names no graded function"
    for grade_id in mt.LIBRARY:
        r = next(r for r in regions if r.grade_id == grade_id)
        assert [m for m in mt.mutants(r) if m.operator == "library" and m.valid], grade_id


def test_find_regions_reads_answer_cells_only(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "code", "source": CELL, "metadata": {"nbgrader": {"solution": True, "grade_id": "f"}}},
            {
                "cell_type": "code",
                "source": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                "metadata": {"nbgrader": {"solution": False, "grade": True, "grade_id": "t"}},
            },
            {"cell_type": "code", "source": "y = 2", "metadata": {"nbgrader": {"solution": True, "grade_id": "g"}}},
        ]
    }
    (tmp_path / "ex99_demo").mkdir()
    (tmp_path / "ex99_demo" / "ex99_demo.ipynb").write_text(json.dumps(nb))
    regions = mt.find_regions(tmp_path)
    assert [(r.assignment, r.grade_id, r.spans) for r in regions] == [("ex99_demo", "f", ((4, 12),))]
    assert mt.find_regions(tmp_path, exercises=["ex01"]) == []


def test_sampling_is_deterministic_and_keeps_the_library_replacement():
    cell = (
        "def conv2d(x, weight, bias=None, stride=1, padding=0):\n    ### BEGIN SOLUTION\n"
        "    a = x + 1 - 2 * 3\n    b = a < 4 or a > 5\n    return a * b\n    ### END SOLUTION"
    )
    every = mt.mutants(region(cell, "conv2d"))
    assert len(every) > 8
    first = mt.sample(every, 5, seed=0)
    assert [m.key for m in first] == [m.key for m in mt.sample(mt.mutants(region(cell, "conv2d")), 5, seed=0)]
    assert len(first) == 5 and any(m.operator == "library" for m in first)
    assert [m.key for m in first] == [m.key for m in every if m in first], "the sample keeps the source order"
    assert [m.key for m in mt.sample(every, 5, seed=1)] != [m.key for m in first]
    assert mt.sample(every, None, seed=0) == every


def test_known_equivalent_mutants_match_by_function_and_changed_lines(tmp_path):
    path = tmp_path / "eq.yaml"
    path.write_text(
        textwrap.dedent("""\
        - function: f
          operator: drop-method
          before: "z = x.to(device)   +  y * 2"
          after: z = x + y * 2
          reason: the tests run on the CPU only
        - function: f
          before: model.eval()
          after: pass
          reason: f has no dropout or batch norm
        """)
    )
    entries = mt.load_equivalents(path)
    found = {m.operator: m for m in mt.mutants(region())}
    assert mt.equivalent_reason(found["drop-method"], entries) == "the tests run on the CPU only"
    assert mt.equivalent_reason(found["drop-call"], entries) == "f has no dropout or batch norm"  # any operator
    assert mt.equivalent_reason(found["loop-once"], entries) is None
    other = mt.Mutant("ex99_demo", "g", "drop-call", 6, CELL, found["drop-call"].source)
    assert mt.equivalent_reason(other, entries) is None  # another function
    path.write_text("- function: f\n  before: a\n  after: b\n  reason: ' '\n")
    with pytest.raises(ValueError, match="gives no reason"):
        mt.load_equivalents(path)
    path.write_text("- function: f\n  before: a\n")
    with pytest.raises(ValueError, match=r"lacks \['after', 'reason'\]"):
        mt.load_equivalents(path)


def test_the_committed_equivalents_file_is_valid():
    for entry in mt.load_equivalents():
        assert entry["function"] in {r.grade_id for r in mt.find_regions()}, entry


def test_the_table_leaves_equivalent_and_invalid_mutants_out_of_the_rate():
    found = mt.mutants(region())

    def batch(statuses):
        return mt.Batch("ex99_demo", outcomes=[mt.Outcome(m, s) for m, s in zip(found, statuses)])

    text, met = mt.table([batch(["killed"] * 19 + ["survived", "equivalent", "invalid"])])
    assert met and "| **all** | 22 | 1 | 19 | 1 | 1 | **95.0%** |" in text
    text, met = mt.table([batch(["killed"] * 18 + ["survived"])])
    assert not met and "94.7%" in text
    _text, met = mt.table([batch(["killed"] * 40), batch(["killed"] * 5 + ["survived"])])
    assert not met, "every exercise must meet the target, not only the total"
