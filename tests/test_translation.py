"""course_utils.translation (lesson 02): models, budgets, accuracy by position, shapes on a track."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from course_utils import models, translation
from course_utils.shapes import ShapeParams, _render_shapes


def test_flat_net_parameter_count_is_the_dense_formula():
    net = translation.flat_net(1024, 6, 5)
    assert models.count_params(net) == 1024 * 6 + 6 + 6 * 5 + 5
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 5)


def test_conv_net_counts_and_shapes():
    net = translation.conv_net(5, in_channels=1, widths=(8, 16, 32))
    expected = (1 * 9 * 8 + 8) + (8 * 9 * 16 + 16) + (16 * 9 * 32 + 32) + (32 * 5 + 5)
    assert models.count_params(net) == expected
    assert net(torch.zeros(3, 1, 32, 32)).shape == (3, 5)
    assert net(torch.zeros(1, 1, 20, 28)).shape == (1, 5)  # global pooling: any input size


def test_conv_net_is_exactly_shift_invariant_for_shifts_by_the_pooling_grid():
    """Conv layers are equivariant and the global max forgets position: moving a pattern by a multiple of
    the total pooling stride (4 px), far enough from the border that no unit seeing it also sees the
    zero padding, leaves the logits unchanged."""
    torch.manual_seed(0)
    net = translation.conv_net(5).eval()
    x = torch.zeros(1, 1, 64, 64)
    x[..., 24:32, 20:26] = torch.rand(1, 1, 8, 6, generator=torch.Generator().manual_seed(1))
    moved = TF.affine(x, angle=0.0, translate=[8, 4], scale=1.0, shear=[0.0, 0.0])
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(moved))


@pytest.mark.parametrize("budget", [500, 6053, 65_925, 1_000_000])
def test_hidden_for_budget_is_the_closest_size(budget):
    h = translation.hidden_for_budget(1024, 5, budget)
    count = lambda k: 1024 * k + k + 5 * k + 5  # noqa: E731
    best = min(range(1, 2000), key=lambda k: abs(count(k) - budget))
    assert abs(count(h) - budget) == abs(count(best) - budget)


def test_accuracy_by_position_matches_a_numpy_reference():
    rng = np.random.default_rng(0)
    positions = rng.uniform(0, 32, 500)
    correct = rng.random(500) < positions / 32  # more often right further right
    edges = [0, 8, 16, 24, 32]
    centres, acc, counts = translation.accuracy_by_position(torch.from_numpy(correct), torch.from_numpy(positions), edges)
    assert np.allclose(centres, [4, 12, 20, 28])
    for i in range(4):
        inside = (positions >= edges[i]) & (positions < edges[i + 1])
        assert counts[i] == inside.sum()
        assert np.isclose(acc[i], correct[inside].mean())
    _, empty, n = translation.accuracy_by_position(torch.tensor([True]), torch.tensor([1.0]), [0, 2, 4])
    assert n.tolist() == [1, 0] and np.isnan(empty[1])
    with pytest.raises(ValueError, match="entries"):
        translation.accuracy_by_position(torch.tensor([True, False]), torch.tensor([1.0]), [0, 2])


def test_shape_track_moves_one_shape_and_keeps_everything_else():
    params = ShapeParams(noise=0.0, rotation=0.0)
    xs = [0.35, 0.5, 0.65]
    track = translation._shape_track(params, label=3, xs=xs)
    assert track.shape == (3, 1, 32, 32) and track.dtype == torch.uint8
    # Each image is exactly what the renderer draws for that label at that fixed position.
    for x, image in zip(xs, track):
        seed = next(s for s in range(10_000) if int(_render_shapes(1, translation._at(params, 0.5, 0.5), seed=s)["label"]) == 3)
        drawn = _render_shapes(1, translation._at(params, x, 0.5), seed=seed)
        assert int(drawn["label"]) == 3
        assert torch.equal(drawn["image"][0], image)
    # Same shape, same brightness: the pixel totals agree, the positions differ.
    assert torch.allclose(track.float().sum(dim=(1, 2, 3)), track[0].float().sum(), rtol=0.02)
    assert not torch.equal(track[0], track[1])
    with pytest.raises(ValueError, match="label"):
        translation._shape_track(params, label=7, xs=xs)


def test_track_picture_marks_the_training_positions():
    image = torch.full((1, 32, 32), 200, dtype=torch.uint8)
    picture = translation._track_picture(image, 16.0, (6.4, 16.0), scale=5)
    assert picture.shape == (32 * 5 + 12, 32 * 5, 3) and picture.dtype == np.uint8
    strip = picture[-12:]
    assert (picture[:-12] == 200).all()  # the shape image, enlarged 5 times
    assert (strip[2:8, 32:78] == (86, 180, 233)).all()  # trained centres 6.4..16 px, in sky blue
    assert (strip[2:8, 82:] == 255).all() and (strip[2:8, :32] == 255).all()
    assert (strip[:, 78:82] == 0).all()  # the current position (16 px) is a black tick
