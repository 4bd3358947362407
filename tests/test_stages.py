"""Lesson 04's replay: every stage of a Sequential, its pictures, and the student's own input."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils import stages


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return cu.models.small_cnn(5)


def test_run_stages_names_shapes_and_outputs_match_the_model():
    model = _model()
    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    result = stages.run_stages(model, x)
    names = [s.name for s in result]
    assert names == ["input", "conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2",
                     "flatten", "fc1", "relu3", "fc2", "softmax"]  # fmt: skip
    shapes = {s.name: s.shape for s in result}
    assert shapes["conv1"] == (16, 32, 32) and shapes["pool1"] == (16, 16, 16)
    assert shapes["pool2"] == (32, 8, 8) and shapes["flatten"] == (2048,) and shapes["fc2"] == (5,)
    model.eval()
    with torch.no_grad():
        logits = model(x)
        pooled = model[:8](x)
    torch.testing.assert_close(result[-2].output, logits)
    torch.testing.assert_close(result[-1].output, logits.softmax(-1))
    torch.testing.assert_close(result[8].output, pooled)
    params = {s.name: s.params for s in result}
    assert params["conv1"] == 1 * 16 * 9 and params["fc1"] == 2048 * 64 + 64 and params["relu1"] == 0
    assert sum(params.values()) == cu.models.count_params(model)
    assert [s.kind for s in result][:2] == ["maps", "maps"] and result[9].kind == "vector"
    assert result[-1].kind == "probabilities"


def test_run_stages_opens_nested_blocks_and_restores_the_mode():
    model = nn.Sequential(OrderedDict(
        block=nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU()),
        head=nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3)),
    ))  # fmt: skip
    model.train()
    result = stages.run_stages(model, torch.rand(1, 4, 4))  # one image, no batch dimension
    assert [s.name for s in result] == ["input", "block.0", "block.1", "head.0", "head.1", "softmax"]
    assert model.training is True
    assert stages.run_stages(model, torch.rand(2, 1, 4, 4), softmax=False)[-1].name == "head.1"


def test_run_stages_explains_what_it_needs():
    with pytest.raises(TypeError, match="nn.Sequential"):
        stages.run_stages(nn.Linear(3, 2), torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="image tensor"):
        stages.run_stages(_model(), torch.rand(32, 32))
    broken = nn.Sequential(nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ValueError, match=r"layer 1 \(Linear\)"):
        stages.run_stages(broken, torch.rand(1, 1, 4, 4))


def test_stage_picture_tiles_stretched_maps():
    maps = torch.arange(2 * 2 * 3, dtype=torch.float32).view(1, 2, 2, 3)
    stage = stages.Stage("conv", "Conv2d", maps)
    picture = stages._stage_picture(stage)
    # Two 2x3 maps side by side with a one-pixel gap; each stretched to [0, 1] on its own.
    assert picture.shape == (2, 7, 3) and picture.dtype == np.uint8
    expected = stages._colormap(np.array([[0, 0.2, 0.4, np.nan, 0, 0.2, 0.4], [0.6, 0.8, 1.0, np.nan, 0.6, 0.8, 1.0]]))
    assert np.array_equal(picture, expected)


def test_stage_picture_of_the_input_is_the_image_itself():
    x = torch.rand(1, 1, 5, 5)
    picture = stages._stage_picture(stages.Stage("input", "input", x))
    assert picture.shape == (5, 5, 3)
    assert np.array_equal(picture[..., 0], (x[0, 0].numpy() * 255).round().astype(np.uint8))


def test_stage_picture_wraps_vectors():
    v = torch.linspace(-1, 1, 10).view(1, 10)
    picture = stages._stage_picture(stages.Stage("flatten", "Flatten", v), width=4)
    assert picture.shape == (3, 4, 3)
    grid = np.full(12, np.nan)
    grid[:10] = np.linspace(0, 1, 10)
    assert np.array_equal(picture, stages._colormap(grid.reshape(3, 4)))


def test_stage_strip_marks_the_current_stage():
    result = stages.run_stages(_model(), torch.rand(1, 1, 32, 32))
    strip = stages._stage_strip_html(result, 3)
    assert strip.count("→") == len(result) - 1
    assert "<b style='background:#E69F00;color:black;padding:0 3px'>relu1</b>" in strip


def test_figure_stages_draws_one_row_per_chosen_stage():
    result = stages.run_stages(_model(), torch.rand(1, 1, 32, 32))
    fig = stages._figure_stages(result, ["circle", "square", "triangle", "cross", "star"],
                               names=["input", "conv1", "flatten", "softmax"], max_maps=4)  # fmt: skip
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert [label.split("\n")[0] for label in labels] == ["input", "conv1", "flatten", "softmax"]
    # rows: label + image; label + 4 maps; label + strip; label + bars
    assert len(fig.axes) == 2 + 5 + 2 + 2
    with pytest.raises(ValueError, match="stage"):
        stages._figure_stages(result, names=["nope"])


def _square_cells(grid: int = 12, lo: int = 2, hi: int = 8) -> np.ndarray:
    cells = np.zeros((grid, grid), dtype=int)
    cells[lo:hi, lo:hi] = 1
    return cells


def test_drawing_is_centred_and_scaled_like_the_training_shapes():
    image = stages.drawing_to_image(_square_cells(), size=32, extent=0.5)
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert float(image[0, 0, 0]) == pytest.approx(0.15) and float(image[0, 16, 16]) == pytest.approx(0.85)
    rows = (image[0] > 0.5).any(dim=1).nonzero().flatten()
    cols = (image[0] > 0.5).any(dim=0).nonzero().flatten()
    assert (int(rows[0]), int(rows[-1])) == (8, 23) and (int(cols[0]), int(cols[-1])) == (8, 23)  # 16 px, centred
    assert torch.equal(stages.drawing_to_image(np.zeros((12, 12))), torch.full((1, 32, 32), 0.15))
    with pytest.raises(ValueError, match="2-D"):
        stages.drawing_to_image(np.zeros(12))


def test_a_photo_of_a_dark_shape_on_paper_becomes_a_bright_shape_on_dark():
    paper = np.full((60, 80, 3), 240, dtype=np.uint8)
    paper[10:40, 20:50] = 20  # a dark square drawn with a pen
    image = stages._photo_to_image(paper, extent=0.5)
    drawn = stages.drawing_to_image(_square_cells(12, 2, 8), extent=0.5)
    torch.testing.assert_close(image, drawn, atol=0.02, rtol=0)
    # Already bright-on-dark: kept as it is.
    torch.testing.assert_close(stages._photo_to_image(255 - paper, extent=0.5), drawn, atol=0.02, rtol=0)
    with pytest.raises(ValueError, match="photo"):
        stages._photo_to_image(np.zeros((4, 4, 7)))
