"""The widgets of lessons 01-03: classes, labelled controls, and every control changes what is shown.

The same contract the browser test checks in JupyterLab, here without a browser: each
factory displays a box with the course's CSS classes, every control has a description,
and changing any control changes an output (an image or a piece of HTML).
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pytest
import torch

from conftest import widgets_in
from course_utils import translation, widgets
from course_utils.shapes import ShapeParams


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append((a, k)))
    return shown


def _photo(h=40, w=60):
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _outputs(box):
    return [w.value for w in widgets_in(box) if isinstance(w, (W.Image, W.HTML))]


def _controls(box):
    return [w for w in widgets_in(box) if isinstance(w, (W.IntSlider, W.FloatSlider, W.Dropdown, W.FloatText))]


def _operate(control):
    if isinstance(control, W.Dropdown):
        values = [v for _, v in control.options] if isinstance(control.options[0], tuple) else list(control.options)
        control.value = next(v for v in values if v != control.value)
    elif isinstance(control, W.FloatText):
        control.value = control.value + 1
    else:
        control.value = min(control.max, control.value + 2 * control.step)


def _check_contract(box, name, shown):
    assert "p2l-widget" in box._dom_classes and f"p2l-{name}" in box._dom_classes
    (data,), kwargs = shown[-1]
    assert data["image/png"] and kwargs["metadata"]["image/png"]["alt"].strip()
    controls = _controls(box)
    assert controls
    for control in controls:
        assert control.description.strip(), f"{type(control).__name__} without a description"
        before = _outputs(box)
        _operate(control)
        assert _outputs(box) != before, f"operating {control.description!r} changed nothing"


def test_pixel_inspector(no_display):
    box = widgets.pixel_inspector(_photo(), row=10, col=20, radius=2)
    _check_contract(box, "pixel-inspector", no_display)


def test_channel_mixer(no_display):
    box = widgets.channel_mixer(_photo())
    _check_contract(box, "channel-mixer", no_display)


def test_channel_mixer_presets_set_the_sliders():
    box = widgets.channel_mixer(_photo())
    preset = next(w for w in widgets_in(box) if isinstance(w, W.Dropdown))
    preset.value = "green only (0, 1, 0)"
    assert [s.value for s in widgets_in(box) if isinstance(s, W.FloatSlider)] == [0.0, 1.0, 0.0]


def test_kernel_editor(no_display):
    box = widgets.kernel_editor({"a": _photo(), "b": _photo(30, 30)})
    _check_contract(box, "kernel-editor", no_display)


def test_kernel_editor_presets_fill_the_grid():
    from course_utils.convolution import KERNELS

    box = widgets.kernel_editor(_photo())
    preset = next(w for w in widgets_in(box) if isinstance(w, W.Dropdown) and w.description == "preset")
    preset.value = "emboss"
    cells = [w.value for w in widgets_in(box) if isinstance(w, W.FloatText)]
    assert cells == [float(v) for row in KERNELS["emboss"] for v in row]


def test_shift_explorer(no_display):
    torch.manual_seed(0)
    models = {"cnn": translation.conv_net(5), "flat": translation.flat_net(1024, 4, 5)}
    box = widgets.shift_explorer(models, ShapeParams(), train_range=(0.2, 0.5), start=10)
    _check_contract(box, "shift-explorer", no_display)
