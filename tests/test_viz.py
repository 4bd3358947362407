"""Figures: right content, alt text always, nothing shown twice."""

from __future__ import annotations

import base64

import pytest
import torch

import course_utils as cu
from course_utils import viz


def test_confusion_matrix_matches_a_loop():
    preds = torch.tensor([0, 1, 1, 2, 2, 2, 0])
    labels = torch.tensor([0, 1, 2, 2, 2, 1, 1])
    cm = viz._confusion_matrix(preds, labels, 3)
    loop = torch.zeros(3, 3, dtype=torch.long)
    for p, t in zip(preds, labels):
        loop[t, p] += 1
    assert torch.equal(cm, loop)


def test_image_grid_layout_and_titles():
    fig = viz.figure_images(torch.rand(10, 3, 8, 8), [str(i) for i in range(10)], ncols=4)
    axes = fig.get_axes()
    assert len(axes) == 12  # 3 rows x 4 columns, two left empty
    assert [ax.get_title() for ax in axes[:10]] == [str(i) for i in range(10)]
    with pytest.raises(ValueError, match="titles"):
        viz.figure_images(torch.rand(3, 1, 4, 4), ["a"])


def test_images_in_every_layout_display_the_same_pixels():
    chw = torch.rand(3, 5, 6)
    a = viz._to_numpy_image(chw)
    b = viz._to_numpy_image(chw.permute(1, 2, 0).numpy())
    c = viz._to_numpy_image((chw * 255).round().to(torch.uint8))
    assert a.shape == b.shape == c.shape == (5, 6, 3)
    assert (abs(a - b) < 1e-7).all() and (abs(a - c) < 1 / 255).all()


def test_show_requires_alt_text_and_attaches_it(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append((obj, kw)))
    fig = viz.figure_images(torch.rand(2, 1, 4, 4))
    with pytest.raises(ValueError, match="alt text"):
        viz.show(fig, alt=" ")
    viz.show(fig, alt='Two "noise" images.')
    data, kwargs = shown[0]
    assert kwargs == {"raw": True, "metadata": {"image/png": {"alt": 'Two "noise" images.'}}}
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # JupyterLab and Colab show the HTML version (their PNG renderer drops the alt text): same picture, alt escaped.
    assert data["text/html"] == f'<img src="data:image/png;base64,{data["image/png"]}" alt="Two &quot;noise&quot; images."/>'


def test_history_and_confusion_figures(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(kw["metadata"]["image/png"]["alt"]))
    h = cu.train.History(train_loss=[1.0, 0.5], train_acc=[0.5, 0.9], val_loss=[1.1, 0.6], val_acc=[0.4, 0.8],
                         seconds=[1.0, 1.0], images=[10, 10])  # fmt: skip
    cu.show_history(h)
    cm = cu.show_confusion(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), ["a", "b"])
    assert torch.equal(cm, torch.tensor([[1, 1], [0, 1]]))
    alts = shown
    assert "80.0%" in alts[0] and "a taken for b" in alts[1]


def test_palette_is_set_by_setup_style():
    import matplotlib as mpl

    viz._setup_style()
    colours = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
    assert colours[:3] == list(viz.OKABE_ITO[:3])
