"""Lesson 09's widget: every control is labelled and changes what the widget shows."""

from __future__ import annotations

import ipywidgets as W
import pytest

from course_utils import distributed, widgets


@pytest.fixture
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append((a, k)))
    return calls


def test_scaling_explorer_changes_with_each_control(shown):
    box = widgets.scaling_explorer(num_params=25.6e6, bandwidth_gb_per_s=50.0, compute_ms=100.0, latency_us=10.0, max_workers=64)
    assert {"p2l-widget", "p2l-scaling"} <= set(box._dom_classes)
    sliders = [w for w in box.children if isinstance(w, W.FloatLogSlider)]
    summary = next(w for w in box.children if isinstance(w, W.HTML) and not isinstance(w, widgets.Picture))
    picture = next(w for w in box.children if isinstance(w, widgets.Picture))
    assert [s.description for s in sliders] == [
        "parameters",
        "link bandwidth (GB/s)",
        "compute per step (ms)",
        "latency per step (µs)",
    ]
    assert distributed._efficiency_summary(0.1, 25.6e6, 50.0, 8, latency_s=1e-5) in summary.value
    for slider, value in zip(sliders, (1e9, 1.0, 10.0, 1000.0)):
        before = (summary.value, picture.value)
        slider.value = value
        assert summary.value != before[0] and picture.value != before[1], slider.description
    assert distributed._efficiency_summary(0.01, 1e9, 1.0, 8, latency_s=1e-3) in summary.value
    (bundle,), kwargs = shown[0]
    assert "image/png" in bundle and kwargs["metadata"]["image/png"]["alt"].startswith("Predicted speed-up")
