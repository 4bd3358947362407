"""Widgets are displayed with a static picture (and its alt text) beside the live view."""

from __future__ import annotations

import base64

import ipywidgets as W
import pytest

from course_utils import viz, widgets


def test_bundle_holds_the_live_view_and_a_png_with_alt(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append((a, k)))
    slider = W.IntSlider(description="shift")
    fig = viz.figure_images([[[0.0, 1.0], [1.0, 0.0]]])
    widgets.display_widget(slider, fig, alt="A two-by-two checkerboard.")
    (data,), kwargs = shown[0]
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == slider.model_id
    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert kwargs["raw"] is True and kwargs["metadata"] == {"image/png": {"alt": "A two-by-two checkerboard."}}
    assert 'alt="A two-by-two checkerboard."' in data["text/html"]  # the fallback front ends render, with its alt


def test_alt_text_is_required():
    with pytest.raises(ValueError, match="alt"):
        widgets.display_widget(W.Button(description="go"), viz.figure_images([[[0.0]]]), alt="")
