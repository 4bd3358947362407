"""Lesson 07's widget: every control is labelled and changes what the widget shows."""

from __future__ import annotations

import ipywidgets as W
import pytest
import torch

from conftest import widgets_in
from course_utils import transfer, widgets


@pytest.fixture
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append((a, k)))
    return calls


def _data():
    g = torch.Generator().manual_seed(0)
    photos = {name: torch.rand(3, 16, 16, generator=g) for name in ("cat", "coffee")}
    stages = {
        name: {"stem": torch.rand(1, 6, 8, 8, generator=g), "block 3": torch.rand(1, 10, 2, 2, generator=g)} for name in photos
    }
    return photos, stages


def test_depth_explorer_changes_with_each_control(shown):
    photos, stages = _data()
    box = widgets.depth_explorer(photos, stages, k=4)
    assert {"p2l-widget", "p2l-depth-explorer"} <= set(box._dom_classes)
    photo, depth = widgets_in(box, (W.Dropdown, W.SelectionSlider))
    assert photo.description == "photo" and depth.description == "depth"
    picture = widgets_in(box, (widgets.Picture,))[0]
    summary = next(w for w in widgets_in(box, (W.HTML,)) if not isinstance(w, widgets.Picture))
    assert 'alt="the photo and the strongest feature maps' in picture.value
    first = (summary.value, picture.value)
    assert transfer._stage_summary("stem", stages["cat"]["stem"], 4) in summary.value
    depth.value = "block 3"
    assert summary.value != first[0] and picture.value != first[1]
    assert "10 feature maps of 2×2" in summary.value
    before = picture.value
    photo.value = "coffee"
    assert picture.value != before
    assert transfer._stage_summary("block 3", stages["coffee"]["block 3"], 4) in summary.value
    (data,), kwargs = shown[0]
    assert "image/png" in data and "cat" in kwargs["metadata"]["image/png"]["alt"]


def test_depth_explorer_rejects_mismatched_inputs(shown):
    photos, stages = _data()
    del stages["coffee"]
    with pytest.raises(ValueError, match="same photos"):
        widgets.depth_explorer(photos, stages)
