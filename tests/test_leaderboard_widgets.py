"""Lesson 08's widgets: every control is labelled and changes what the widget shows."""

from __future__ import annotations

import ipywidgets as W
import pytest
import torch

from course_utils import fairness, widgets


@pytest.fixture
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append((a, k)))
    return calls


def _controls(box):
    out, stack = [], [box]
    while stack:
        w = stack.pop()
        if isinstance(w, W.Box):
            stack.extend(w.children)
        elif isinstance(w, (W.SelectionSlider, W.IntSlider, W.Dropdown)):
            out.append(w)
    return out


def _visible(box):
    out, stack = [], [box]
    while stack:
        w = stack.pop()
        if isinstance(w, W.Box):
            stack.extend(w.children)
        elif isinstance(w, (W.Image, W.HTML)):
            out.append(w.value)
    return out


def _strength_data():
    strengths = [0.5, 0.9, 0.99]
    curves = {"standard test": [0.98, 0.96, 0.99], "worst group": [0.97, 0.4, 0.01]}
    groups = [
        {"circle · tag A": 0.96, "circle · tag B": 0.97},
        {"circle · tag A": 0.99, "circle · tag B": 0.4},
        {"circle · tag A": 1.0, "circle · tag B": 0.01},
    ]
    return strengths, curves, groups


def test_shortcut_explorer_changes_with_the_slider(shown):
    strengths, curves, groups = _strength_data()
    box = widgets.shortcut_explorer(strengths, curves, groups, chance=0.5, start=0)
    assert {"p2l-widget", "p2l-shortcut-explorer"} <= set(box._dom_classes)
    (slider,) = _controls(box)
    picture = next(w for w in box.children if isinstance(w, widgets.Picture))
    summary = next(w for w in box.children if isinstance(w, W.HTML) and w is not picture)
    assert slider.description and slider.value == "50%"
    assert "agreeing in 50% of images: standard test <b>98%</b>, worst group <b>97%</b>" in summary.value
    assert "the worst group is <b>circle · tag A</b>" in summary.value  # 96% against tag B's 97%
    slider.value = "99%"
    assert "agreeing in 99% of images: standard test <b>99%</b>, worst group <b>1%</b>" in summary.value
    assert "the worst group is <b>circle · tag B</b>" in summary.value
    expected = widgets.Picture(picture.alt)
    expected.show(widgets.png_bytes(fairness._figure_correlation(strengths, curves, groups, 2, chance=0.5)))
    assert picture.value == expected.value  # the 99% figure
    (data,), kwargs = shown[0]
    assert "50%" in kwargs["metadata"]["image/png"]["alt"] and "circle · tag A at 96%" in kwargs["metadata"]["image/png"]["alt"]


def test_shortcut_explorer_rejects_mismatched_lengths(shown):
    strengths, curves, groups = _strength_data()
    with pytest.raises(ValueError, match="one entry per strength"):
        widgets.shortcut_explorer(strengths, curves, groups[:2])


def test_corruption_explorer_every_control_changes_the_output(shown):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, 2, 6, 3, 16, 16), dtype=torch.uint8, generator=gen)
    probs = torch.rand(2, 2, 6, 7, generator=gen).softmax(-1)
    names = [f"class {i}" for i in range(7)]
    box = widgets.corruption_explorer(images, probs, ["cat", "coffee"], ["contrast", "jpeg"], names,
                                      accepted={"cat": ("class 3",)}, start=(0, 0, 3))  # fmt: skip
    assert {"p2l-widget", "p2l-corruption-explorer"} <= set(box._dom_classes)
    controls = _controls(box)
    assert len(controls) == 3 and all(c.description for c in controls)
    for control in controls:
        before = _visible(box)
        if isinstance(control, W.IntSlider):
            control.value = control.value - 1
        else:
            control.value = next(v for _label, v in control.options if v != control.value)
        assert _visible(box) != before, f"{control.description} did not change the output"
    # Even at severity 0 (the same clean image for every kind) the kind shows in the picture's title.
    severity = next(c for c in controls if isinstance(c, W.IntSlider))
    kind = next(c for c in controls if c.description == "corruption")
    severity.value = 0
    before = _visible(box)
    kind.value = 1 - kind.value
    assert _visible(box) != before


def test_corruption_explorer_without_judgements_compares_with_the_clean_photo(shown):
    images = torch.zeros(1, 1, 6, 3, 8, 8, dtype=torch.uint8)
    probs = torch.zeros(1, 1, 6, 3)
    probs[0, 0, :, 0] = 0.9  # class a on the clean photo and at severities 1-2
    probs[0, 0, 3:] = torch.tensor([0.1, 0.8, 0.1])  # class b from severity 3
    box = widgets.corruption_explorer(images, probs, ["cat"], ["jpeg"], ["a", "b", "c"], start=(0, 0, 2))
    assert any("the same as on the clean photo" in str(v) for v in _visible(box))
    severity = next(c for c in _controls(box) if isinstance(c, W.IntSlider))
    severity.value = 3
    assert any("changed from the clean photo" in str(v) for v in _visible(box))
