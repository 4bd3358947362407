"""grader.answer_scan: the trusted-side review flags for answers that reach forbidden routes or tamper with the guard."""

from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import ROOT
from grader import answer_scan, repo_exercises

ASSIGNMENTS = repo_exercises.assignments()


def _wrong(assignment: str) -> dict:
    spec = importlib.util.spec_from_file_location(
        f"scan_wrong_{assignment}", ROOT / "tests" / "wrong_answers" / f"{assignment}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STUDENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solutions_raise_no_flag(assignment):
    for path in (ROOT / "solutions" / assignment).glob("*.ipynb"):
        flags = answer_scan.scan_notebook(json.loads(path.read_text(encoding="utf-8")))
        assert flags == [], flags


def test_the_routes_are_read_from_the_test_cells():
    nb = json.loads((ROOT / "solutions" / "ex05_training_fast" / "ex05_training_fast.ipynb").read_text(encoding="utf-8"))
    routes = answer_scan.forbidden_routes(nb)
    assert "course_utils.speed.random_translate" in routes["random_translate"]
    nb = json.loads(
        (ROOT / "solutions" / "ex06_imagenet_and_alexnet" / "ex06_imagenet_and_alexnet.ipynb").read_text(encoding="utf-8")
    )
    assert "torch.utils.flop_counter.FlopCounterMode" in answer_scan.forbidden_routes(nb)["model_cost"]


@pytest.mark.parametrize(
    ("assignment", "student", "cell", "reason"),
    [
        ("ex05_training_fast", "calls_the_course_helper", "random_translate", "course_utils.speed.random_translate"),
        ("ex06_imagenet_and_alexnet", "measured_not_computed", "model_cost", "course_utils.costs.measured_flops"),
        ("ex06_imagenet_and_alexnet", "flop_counter_directly", "model_cost", "FlopCounterMode"),
        ("ex03_convolution_and_pooling", "other_library_routes", "max_pool2d", "torch.ops"),
    ],
)
def test_wrong_answers_that_call_the_library_are_flagged(assignment, student, cell, reason):
    nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    routes = answer_scan.forbidden_routes(nb)
    source = _wrong(assignment)[student]["answers"][cell]
    name = source.split("def ", 1)[1].split("(", 1)[0]
    flags = answer_scan.scan_source(source, cell, routes[name])
    assert any(reason in f.reason for f in flags), flags


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\ndef f(x):\n    sys.setprofile(None)\n    return x\n", "profile hook"),
        ("def f(x):\n    from torch.utils import _python_dispatch\n    _python_dispatch._pop_mode()\n    return x\n", "dispatch"),
        ("cu.restrictions.call_without = lambda forbidden, fn, *a, **k: fn(*a, **k)\n", "rebinds a library attribute"),
        ("def f(x):\n    return getattr(F, 'con' + 'v2d')(x, x)\n", "computed attribute name"),
        ("def f(x):\n    exec(open('x').read())\n", "run time"),
        ("import importlib\ndef f(x):\n    return importlib.import_module('torch').conv2d\n", "computed name"),
        ("def f(x):\n    return sys.modules['torch'].conv2d\n", "sys.modules"),
        ("def f(:\n", "does not parse"),
        ("type(__p2l_record__)._measure = lambda *a: True\n", "the grader's own recorder"),
    ],
)
def test_tampering_tools_are_flagged(source, reason):
    flags = answer_scan.scan_source(source, "cell")
    assert any(reason in f.reason for f in flags), flags


def test_ordinary_code_is_not_flagged():
    source = (
        "def f(model, x):\n    model.eval()\n    with torch.no_grad():\n        out = model(x)\n"
        "    model.train(True)\n    return torch.compile(model) if False else out\n"
    )
    assert answer_scan.scan_source(source, "cell", {"course_utils.speed.random_translate"}) == []


def test_a_forbidden_call_in_another_thread_is_flagged():
    source = (
        "import threading\ndef conv2d(x, w):\n    out = []\n"
        "    t = threading.Thread(target=lambda: out.append(F.conv2d(x, w)))\n    t.start(); t.join()\n    return out[0]\n"
    )
    assert any("another thread" in f.reason for f in answer_scan.scan_source(source, "conv2d"))


def test_cells_the_student_added_are_scanned_too():
    path = ROOT / "solutions" / "ex03_convolution_and_pooling" / "ex03_convolution_and_pooling.ipynb"
    release = json.loads(path.read_text(encoding="utf-8"))
    submitted = json.loads(json.dumps(release))
    submitted["cells"].insert(
        3,
        {
            "cell_type": "code",
            "metadata": {},
            "id": "added",
            "outputs": [],
            "execution_count": None,
            "source": "import sys\nsys.setprofile(None)\n",
        },
    )
    flags = answer_scan.scan_notebook(submitted, reference=release)
    assert [f.cell for f in flags] == ["cell added"] and "profile hook" in flags[0].reason


def test_an_alias_of_a_forbidden_route_is_flagged():
    flags = answer_scan.scan_source("def conv2d(x, w):\n    return F.conv2d(x, w)\n", "conv2d", {"torch.nn.functional.conv2d"})
    assert [f.reason for f in flags] == ["names a forbidden route: torch.nn.functional.conv2d"]


def test_autograde_turns_flags_into_review_notes_and_leaves_honest_answers_alone():
    import json

    from conftest import ROOT
    from grader import intake, repo_exercises, submission

    flagged = 0
    for assignment in repo_exercises.assignments():
        for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
            source = json.loads(path.read_text(encoding="utf-8"))
            released = json.loads((ROOT / "exercises" / assignment / path.name).read_text(encoding="utf-8"))
            perfect = submission.perfect_submission(released, source)
            assert intake.review_notes(perfect["cells"], source["cells"]) == [], f"{assignment}: the solution is flagged"
            assert intake.review_notes(released["cells"], source["cells"]) == [], f"{assignment}: the stub is flagged"
            if assignment == "ex05_training_fast":
                cheat = json.loads(json.dumps(perfect))
                for cell in cheat["cells"]:
                    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "random_translate":
                        cell["source"] = (
                            "def random_translate(x, max_shift, generator=None):\n"
                            "    return cu.speed.random_translate(x, max_shift, generator=generator)\n"
                        )
                notes = intake.review_notes(cheat["cells"], source["cells"])
                assert notes and all(n.attention and n.text.startswith("for review: random_translate") for n in notes)
                flagged += 1
    assert flagged == 1
