"""The course as students meet it: every lesson run in JupyterLab in headless Chromium.

For each lesson we open it, run all cells from the Run menu, save, and check the
saved notebook: every code cell ran, in order, in one kernel; no cell errored;
`cu.setup()` reported; every figure carries alt text; it finished within the
time limit and its kernel's peak memory within 2 GB; axe-core finds no serious or critical accessibility violation in what
the lesson renders (markdown, outputs, widgets). Then every course widget (CSS class ``p2l-widget``) must be on the
page, and every control in it — slider, dropdown, button, checkbox, number
box — must change what the widget shows when operated. Screenshots of every
lesson and widget go to build/screenshots/ (the path is printed at the end).

One exercise is also done the way a student does it: type a correct answer
into the answer cell and see the self-check pass, type a wrong one and see a
failure that says what was expected.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, JupyterLab, LabPage, LabTab
from conftest import ROOT, record_runtime

LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
SCREENSHOTS = ROOT / "build" / "screenshots"
HARD_LIMIT_SECONDS = 120
#: Colab's free tier and an 8 GB laptop: a lesson's kernel stays within 2 GB.
MEMORY_LIMIT_MB = 2048

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab():
    server = JupyterLab(ROOT)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (.ci/run does), or set P2L_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def tab(lab, browser):
    """One JupyterLab tab for the whole module: each test opens its notebook in it (File → Open from Path)."""
    tab = LabTab(browser, lab)
    yield tab
    tab.close()


def _widget_factories_called(path: Path) -> int:
    """How many course widgets the lesson's code displays (calls of cu.widgets.<factory>)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return len(re.findall(r"\bcu\.widgets\.(?!display_widget|png_bytes)[a-z_]+\(", code))


def _check_saved_notebook(nb: dict) -> None:
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"not every cell ran, in order: {counts}"
    for cell in code:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"cell {cell['id']} raised {out.get('ename')}: {out.get('evalue')}"
            if "image/png" in out.get("data", {}):
                alt = out.get("metadata", {}).get("image/png", {}).get("alt", "")
                assert alt.strip(), f"cell {cell['id']} shows a figure without alt text"
    streams = "".join("".join(o.get("text", "")) for c in code for o in c.get("outputs", []) if o["output_type"] == "stream")
    assert "course_utils" in streams and "seed" in streams, "cu.setup() did not report from this kernel"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_in_the_browser(path: Path, lab, tab):
    rel = f"lessons/{path.name}"
    page = LabPage(tab, rel)
    try:
        lab.watch_children()
        seconds = page.run_all(timeout=HARD_LIMIT_SECONDS + 30)
        record_runtime(rel, seconds)
        page.screenshot(SCREENSHOTS / f"{path.stem}.png")
        errors = page.error_texts()
        assert not errors, f"error output on the page: {errors[0][:500]}"
        _check_saved_notebook(page.save())
        peak_mb = lab.kernel_peak_mb()
        record_runtime(f"memory/{rel}", peak_mb)
        assert seconds <= HARD_LIMIT_SECONDS, f"{path.name} took {seconds:.0f} s (hard limit {HARD_LIMIT_SECONDS} s)"
        assert 0 < peak_mb <= MEMORY_LIMIT_MB, f"{path.name} peaked at {peak_mb:.0f} MB (target: at most {MEMORY_LIMIT_MB} MB)"

        violations = page.accessibility_violations()
        assert not violations, f"axe-core finds serious or critical accessibility problems in the lesson: {violations}"

        expected = _widget_factories_called(path)
        widgets = page.widgets()
        assert len(widgets) >= expected, f"the lesson displays {expected} widget(s) but {len(widgets)} rendered"
        for i, widget in enumerate(widgets):
            widget.scroll_into_view_if_needed()
            assert widget.is_visible()
            classes = [c for c in (widget.get_attribute("class") or "").split() if c.startswith("p2l-") and c != "p2l-widget"]
            name = classes[0] if classes else f"widget{i}"
            widget.screenshot(path=str(SCREENSHOTS / f"{path.stem}-{i}-{name}.png"))
            controls = page.controls(widget)
            assert controls, f"{name} has no operable control"
            for kind, control in controls:
                label = control.get_attribute("aria-label") or control.get_attribute("title") or control.inner_text()[:30]
                assert page.reacts(widget, kind, control), f"{name}: operating the {kind} {label!r} changed nothing"
            widget.screenshot(path=str(SCREENSHOTS / f"{path.stem}-{i}-{name}-after.png"))
    except Exception:
        page.screenshot(SCREENSHOTS / f"FAILED-{path.stem}.png")
        raise
    finally:
        page.close()


def _cell_index(nb_path: Path, grade_id: str) -> int:
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    return next(i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _first_answer(nb_path: Path) -> str:
    """The grade id of the exercise's first code cell for the student to write (where Run All stops)."""
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    meta = [c.get("metadata", {}).get("nbgrader", {}) for c in cells if c["cell_type"] == "code"]
    return next(m["grade_id"] for m in meta if m.get("solution"))


#: A student's first, wrong attempt and the fix, per exercise: (grade id, wrong source, right source).
STUDENT_ATTEMPTS = {
    "ex00_example": (
        "scale_pixels",
        "def scale_pixels(x):\n    return x // 255\n",
        "def scale_pixels(x):\n    return x.float() / 255\n",
    ),
    # Lesson 07's pitfall: requires_grad set right, but frozen batch norm still in train mode.
    "ex07_transfer_learning": (
        "freeze",
        "def freeze(model, trainable=()):\n"
        "    for name, p in model.named_parameters():\n"
        "        p.requires_grad_(name.startswith(tuple(trainable)))\n"
        "    return model\n",
        "def freeze(model, trainable=()):\n"
        "    for name, p in model.named_parameters():\n"
        "        p.requires_grad_(name.startswith(tuple(trainable)))\n"
        "    def keep_eval(module, args):\n"
        "        if not any(p.requires_grad for p in module.parameters()):\n"
        "            module.eval()\n"
        "    for m in model.modules():\n"
        "        if isinstance(m, nn.BatchNorm2d):\n"
        "            m.register_forward_pre_hook(keep_eval)\n"
        "    return model\n",
    ),
}


@pytest.mark.parametrize("exercise", list(STUDENT_ATTEMPTS))
def test_a_student_does_an_exercise(exercise, tab):
    """Run All on the release, see the stub fail, type a wrong answer and get a useful hint, then pass."""
    rel = f"exercises/{exercise}/{exercise}.ipynb"
    grade_id, wrong, right = STUDENT_ATTEMPTS[exercise]
    answer = _cell_index(ROOT / rel, grade_id)
    check = _cell_index(ROOT / rel, f"test_{grade_id}")
    page = LabPage(tab, rel)
    try:
        page.run_all()
        first = _first_answer(ROOT / rel)  # its stub, or the self-check calling it, raises
        stub = page.cell_output_text(_cell_index(ROOT / rel, first)) + page.cell_output_text(
            _cell_index(ROOT / rel, f"test_{first}")
        )
        assert "NotImplementedError" in stub, f"the first stub ({first}) did not raise: {stub[:400]}"

        page.set_cell_source(answer, wrong)
        page.run_cell(answer)
        page.run_cell(check)
        failure = page.cell_output_text(check)
        assert "expected" in failure and "Hint:" in failure, f"unhelpful failure message: {failure[:400]}"

        page.set_cell_source(answer, right)
        page.run_cell(answer)
        page.run_cell(check)
        success = page.cell_output_text(check)
        assert f"✓ {grade_id}" in success and "Error" not in success, f"the right answer did not pass: {success[:400]}"
        page.screenshot(SCREENSHOTS / f"{exercise}-student-passes.png")
    finally:
        page.close()
