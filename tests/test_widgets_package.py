"""The widgets package: one module per lesson, a shared core, and lesson 04's two widgets run headless."""

from __future__ import annotations

import ast
import importlib
import io
import pkgutil
import re

import ipywidgets as W
import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image

import course_utils as cu
from conftest import ROOT, widgets_in
from course_utils import convolution, stages, widgets
from course_utils.widgets import _core

LESSON_MODULES = [m.name for m in pkgutil.iter_modules(widgets.__path__) if not m.name.startswith("_")]


@pytest.fixture
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append((a, k)))
    return calls


def test_package_exports_what_its_lesson_modules_export():
    exported = {}
    for name in LESSON_MODULES:
        module = importlib.import_module(f"course_utils.widgets.{name}")
        for factory in module.__all__:
            assert factory not in exported, f"{factory} is exported by both {exported[factory]} and {name}"
            exported[factory] = name
            assert getattr(widgets, factory) is getattr(module, factory)
    assert sorted(exported) == sorted(widgets.__all__)
    assert cu.widgets.Picture is _core.Picture and cu.widgets.png_bytes is _core.png_bytes
    assert cu.widgets.display_widget is _core.display_widget


@pytest.mark.parametrize("name", LESSON_MODULES)
def test_helpers_inside_a_lesson_module_are_private(name):
    tree = ast.parse((ROOT / "course_utils" / "widgets" / f"{name}.py").read_text(encoding="utf-8"))
    module = importlib.import_module(f"course_utils.widgets.{name}")
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {n for n in defined if not n.startswith("_")}
    assert public == set(module.__all__), f"{name}: public names {sorted(public)}, __all__ {module.__all__}"
    for factory in module.__all__:
        assert "Introduced in lesson" in (getattr(module, factory).__doc__ or "")


def test_finish_observes_adds_classes_and_displays_with_alt(shown):
    slider, text = W.IntSlider(description="n"), W.HTML()
    changes = []

    def update(change=None):
        changes.append(change["new"])
        text.value = str(slider.value)

    box = W.VBox([slider, text])
    fig = cu.viz.figure_images([[[0.0, 1.0], [1.0, 0.0]]])
    assert _core.finish(box, "p2l-test", fig, alt="A checkerboard.", update=update, controls=(slider,)) is box
    assert box._dom_classes == ("p2l-widget", "p2l-test")
    (bundle,), kwargs = shown[0]
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert kwargs["metadata"] == {"image/png": {"alt": "A checkerboard."}}
    slider.value = 7
    assert changes == [7] and text.value == "7"
    with pytest.raises(ValueError, match="alt"):
        _core.finish(W.VBox([]), "p2l-test", fig, alt=" ")


def test_array_png_round_trips_and_enlarges_with_square_pixels():
    img = np.random.default_rng(0).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(_core.array_png(img)))), img)
    big = np.asarray(Image.open(io.BytesIO(_core.array_png(img, scale=3))))
    assert np.array_equal(big, img.repeat(3, axis=0).repeat(3, axis=1))
    gray = img[:, :, 0]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(_core.array_png(gray)))), gray)
    wide = np.zeros((1, 2, 3), dtype=np.uint8)
    assert Image.open(io.BytesIO(_core.array_png(wide, min_size=100))).size == (100, 50)  # 2 px wide -> x50
    with pytest.raises(ValueError, match="uint8"):
        _core.array_png(img.astype(np.float32))


def test_probability_html_ranks_the_classes_and_reads_like_a_prediction():
    text = _core.probability_html(torch.tensor([0.05, 0.87, 0.08]), ["square", "circle", "cross"])
    assert "<b>circle</b>, 87% sure" in text
    assert text.index("circle") < text.index("cross") < text.index("square")
    assert [float(p) for p in re.findall(r"([\d.]+)%</span>", text)] == [87.0, 8.0, 5.0]
    with pytest.raises(ValueError, match="class names"):
        _core.probability_html(torch.tensor([0.5, 0.5]), ["a"])


def test_probability_html_lists_the_top_classes_only():
    probs = torch.softmax(torch.arange(1000.0), 0)
    text = _core.probability_html(probs, [f"class {i}" for i in range(1000)])
    assert re.findall(r"class \d+", text) == ["class 999", *(f"class {i}" for i in range(999, 989, -1))]


def test_probability_html_in_class_order_with_a_title_and_the_truth():
    probs = torch.tensor([0.1, 0.7, 0.2])
    text = _core.probability_html(probs, ["a", "b", "c"], top=None, ranked=False, title="CNN", truth=2)
    assert "<b>CNN</b> says <b>b</b>, 70% sure ✗ (it is a c)" in text
    assert [float(p) for p in re.findall(r"([\d.]+)%</span>", text)] == [10.0, 70.0, 20.0]
    assert "<b>b</b>, 70% sure ✓" in _core.probability_html(probs, ["a", "b", "c"], truth=1)


def test_probability_html_escapes_class_names_and_the_title():
    text = _core.probability_html(torch.tensor([0.9, 0.1]), ["<cat>", "a & b"], title="<i>net</i>", truth=1)
    assert "<cat>" not in text and "<i>net</i>" not in text and "a & b" not in text
    assert "&lt;cat&gt;" in text and "&lt;i&gt;net&lt;/i&gt;" in text and "(it is a a &amp; b)" in text


def test_replay_view_redraws_each_stage(shown):
    torch.manual_seed(0)
    model = cu.models.small_cnn(5)
    image = torch.rand(1, 32, 32, generator=torch.Generator().manual_seed(1))
    box = widgets.replay_view(model, {"noise": image, "dark": image * 0.2}, list("abcde"))
    assert {"p2l-widget", "p2l-replay"} <= set(box._dom_classes)
    slider = widgets_in(box, (W.IntSlider,))[0]
    picture = widgets_in(box, (widgets.Picture,))[0]
    assert slider.max == len(stages.run_stages(model, image)) - 1
    before = picture.value
    slider.value = 1
    assert picture.value != before
    slider.value = slider.max  # the last stage shows the probabilities of the model's own forward pass
    expected = cu.predict(model, image[None])[0]
    probabilities = [w for w in widgets_in(box, (W.HTML,)) if "%" in w.value and not isinstance(w, widgets.Picture)]
    assert probabilities and _core.probability_html(expected, list("abcde")) in probabilities[0].value
    (bundle,), kwargs = shown[0]
    assert kwargs["metadata"]["image/png"]["alt"].startswith("The input 'noise' followed through the network")


def test_sketch_pad_classifies_the_drawing(shown):
    torch.manual_seed(0)
    names = ["circle", "square", "triangle"]
    model = cu.models.small_cnn(len(names))
    box = widgets.sketch_pad(model, names, grid=8, start="square")
    assert {"p2l-widget", "p2l-sketch-pad"} <= set(box._dom_classes)
    cells = widgets_in(box, (W.ToggleButton,))
    assert len(cells) == 64
    drawn = np.array([[int(b.value) for b in cells[r * 8 : (r + 1) * 8]] for r in range(8)])
    np.testing.assert_array_equal(drawn, stages.preset_drawing("square", 8))
    probs_html = next(w for w in widgets_in(box, (W.HTML,)) if "square" in w.value and not isinstance(w, widgets.Picture))
    off = next(b for b in cells if b.value)
    off.value = False
    drawn[divmod(cells.index(off), 8)] = 0
    expected = cu.predict(model, stages.drawing_to_image(drawn, size=32)[None])[0]
    assert probs_html.value == _core.probability_html(expected, names)
    assert shown[0][1]["metadata"]["image/png"]["alt"].startswith("A square drawn on a 8-by-8 grid")


def test_figure_sketch_pad_orders_the_bars_by_probability():
    probs = torch.tensor([0.1, 0.6, 0.3])
    image = stages.drawing_to_image(stages.preset_drawing("circle", 10), size=32)
    fig = stages._figure_sketch_pad(stages.preset_drawing("circle", 10), image, probs, ["a", "b", "c"])
    bars = fig.axes[2]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["b", "c", "a"]
    assert [p.get_width() for p in bars.patches] == pytest.approx([60.0, 30.0, 10.0], abs=1e-4)


def test_fit_within_matches_torchvision_and_keeps_small_images():
    gray = torch.rand(90, 60, generator=torch.Generator().manual_seed(2))
    small = convolution._fit_within(gray, 30)
    assert small.shape == (30, 20)
    torch.testing.assert_close(small, TF.resize(gray[None], [30, 20], antialias=True)[0].clamp(0, 1))
    assert convolution._fit_within(gray, 90) is gray
