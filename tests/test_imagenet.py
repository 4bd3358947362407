"""course_utils.imagenet: the cited results table, class search, top-k rows and figures; lesson 06's widgets."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pytest
import torch

from conftest import widgets_in
from course_utils import costs, imagenet, models, widgets


def test_results_table_has_a_source_for_every_row_and_the_2012_gap():
    results = imagenet.ilsvrc_results()
    assert all(r.source for r in results)
    winners = {r.year: r for r in results if r.role == "winner"}
    assert sorted(winners) == list(range(2010, 2018))
    # ILSVRC2012 results page: SuperVision 0.15315, ISI 0.26172.
    assert winners[2012].top5_error == 15.3
    runner_up = next(r for r in results if r.year == 2012 and r.role == "runner-up")
    assert runner_up.top5_error == 26.2 and runner_up.method == "hand-engineered"
    # Russakovsky et al. 2015, Sec. 6.4: one trained annotator, 5.1%.
    assert [r.top5_error for r in results if r.role == "human"] == [5.1]
    # Every winner from 2012 on was a deep CNN, and the errors fall year on year.
    errors = [winners[y].top5_error for y in sorted(winners)]
    assert errors == sorted(errors, reverse=True)
    assert all(winners[y].method == "deep CNN" for y in range(2012, 2018))


def test_results_table_rejects_malformed_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("year,team,top5_error_pct\n2012,X,15.3\n")
    with pytest.raises(ValueError, match="lacks the column"):
        imagenet.ilsvrc_results(bad)
    header = imagenet.RESULTS_CSV.read_text().splitlines()[0]
    bad.write_text(header + "\n2012,X,e,fifteen,winner,deep CNN,no,somewhere\n")
    with pytest.raises(ValueError, match="line 2"):
        imagenet.ilsvrc_results(bad)
    bad.write_text(header + "\n2012,X,e,15.3,champion,deep CNN,no,somewhere\n")
    with pytest.raises(ValueError, match="role must be one of"):
        imagenet.ilsvrc_results(bad)


def test_figure_ilsvrc_draws_every_winner_and_runner_up():
    results = imagenet.ilsvrc_results()
    fig = imagenet.figure_ilsvrc(results)
    (ax,) = fig.axes
    n_bars = sum(r.role in ("winner", "runner-up") for r in results)
    assert len(ax.patches) == n_bars
    assert sorted(round(p.get_height(), 2) for p in ax.patches) == sorted(
        r.top5_error for r in results if r.role in ("winner", "runner-up")
    )
    assert ax.get_title() and ax.get_ylabel() and ax.get_xlabel()


def test_search_classes_is_a_case_insensitive_substring_search():
    classes = models.imagenet_classes()
    assert len(classes) == 1000
    hits = imagenet.search_classes("SPACE")
    assert [name for _, name in hits] == ["space bar", "space heater", "space shuttle"]
    assert all(classes[i] == name for i, name in hits)
    assert imagenet.search_classes("astronaut") == []
    assert imagenet.search_classes("b", ["A", "ab", "B"]) == [(1, "ab"), (2, "B")]
    with pytest.raises(ValueError, match="give a word"):
        imagenet.search_classes("  ")


def test_topk_rows_follow_torch_topk():
    probs = torch.softmax(torch.randn(20, generator=torch.Generator().manual_seed(0)), dim=0)
    names = [f"c{i}" for i in range(20)]
    rows = imagenet._topk_rows(probs, names, k=4)
    top = probs.topk(4)
    assert [i for i, _, _ in rows] == top.indices.tolist()
    assert [n for _, n, _ in rows] == [names[i] for i in top.indices]
    assert np.allclose([p for _, _, p in rows], top.values.numpy())
    with pytest.raises(ValueError, match="k must be between 1"):
        imagenet._topk_rows(probs, names, k=21)
    with pytest.raises(ValueError, match="one vector"):
        imagenet._topk_rows(probs[None], names, k=2)


def test_topk_figures_have_one_bar_per_guess():
    names = [f"class {i}" for i in range(12)]
    probs = torch.softmax(torch.randn(3, 12, generator=torch.Generator().manual_seed(1)), dim=1)
    photo = np.zeros((20, 30, 3), dtype=np.uint8)
    fig = imagenet._figure_topk(photo, probs[0], names, k=3)
    assert len(fig.axes[1].patches) == 3
    grid = imagenet.figure_gallery_topk({"a": photo, "b": photo, "c": photo}, probs, names, k=5)
    assert sum(len(ax.patches) for ax in grid.axes) == 15
    with pytest.raises(ValueError, match="expected probs"):
        imagenet.figure_gallery_topk({"a": photo}, probs, names)


# ----------------------------------------------------------------------------- widgets


@pytest.fixture()
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append((a, k)))
    return calls


def _visible(box):
    return [w.value for w in widgets_in(box) if isinstance(w, (W.Image, W.HTML))]


def _check_widget(box, css, shown):
    assert "p2l-widget" in box._dom_classes and css in box._dom_classes
    (data,), kwargs = shown[-1]
    assert data["image/png"] and kwargs["metadata"]["image/png"]["alt"].strip()
    controls = [w for w in widgets_in(box) if isinstance(w, (W.Dropdown, W.IntSlider))]
    assert controls and all(c.description for c in controls)
    for control in controls:
        before = _visible(box)
        if isinstance(control, W.Dropdown):
            control.value = next(v for v in control.options if v != control.value)
        else:
            control.value = min(control.max, control.value + 1) if control.value < control.max else control.min
        assert _visible(box) != before, f"changing {control.description} changed nothing visible"


def test_topk_explorer_contract(shown):
    names = [f"class {i}" for i in range(30)]
    probs = torch.softmax(torch.randn(2, 30, generator=torch.Generator().manual_seed(2)), dim=1)
    photos = {"one": np.zeros((16, 16, 3), np.uint8), "two": np.full((16, 16, 3), 200, np.uint8)}
    box = widgets.topk_explorer(photos, probs, names, k=5)
    _check_widget(box, "p2l-topk", shown)
    with pytest.raises(ValueError, match="rows of probabilities"):
        widgets.topk_explorer(photos, probs[:1], names)


def test_layer_cost_explorer_contract(shown):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 36, 3))
    box = widgets.layer_cost_explorer(costs.layer_costs(model, (3, 8, 8)))
    _check_widget(box, "p2l-layer-costs", shown)
