"""The drawn shapes: deterministic, fast, the factors do what they say."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.shapes import SHAPE_CLASSES, ShapeParams, _render_shapes, _sdf


def test_same_seed_same_images_other_seed_other_images():
    a = _render_shapes(64, ShapeParams(), seed=3)
    b = _render_shapes(64, ShapeParams(), seed=3)
    c = _render_shapes(64, ShapeParams(), seed=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["image"], c["image"])


def test_shapes_dtypes_and_ranges():
    p = ShapeParams(size=32, x_range=(0.4, 0.6), scale_range=(0.2, 0.25), rotation=10)
    d = _render_shapes(500, p, seed=0)
    assert d["image"].shape == (500, 1, 32, 32) and d["image"].dtype == torch.uint8
    assert d["label"].min() >= 0 and d["label"].max() < len(SHAPE_CLASSES)
    assert (d["x"] >= 0.4 * 32).all() and (d["x"] <= 0.6 * 32).all()
    assert (d["scale"] >= 0.2 * 32 - 1e-4).all() and (d["scale"] <= 0.25 * 32 + 1e-4).all()
    assert d["rotation"].abs().max() <= 10
    assert (d["tag"] == -1).all() and (d["style"] == 0).all()


def test_colour_gives_three_channels():
    assert _render_shapes(4, ShapeParams(color=True))["image"].shape == (4, 3, 32, 32)


@pytest.mark.parametrize("name", SHAPE_CLASSES)
def test_sdf_is_negative_at_the_centre_and_positive_far_away(name):
    u = torch.tensor([0.0, 3.0, -3.0, 0.0])
    v = torch.tensor([0.0, 0.0, 0.0, 3.0])
    d = _sdf(name, u, v)
    assert d[0] < 0 and (d[1:] > 0).all()


def test_circle_sdf_is_exact():
    angle = torch.linspace(0, 2 * math.pi, 17)
    for radius in (0.3, 1.0, 2.0):
        d = _sdf("circle", radius * torch.cos(angle), radius * torch.sin(angle))
        assert torch.allclose(d, torch.full_like(d, radius - 1.0), atol=1e-6)


def test_circle_area_matches_pi_r_squared():
    # A filled, noise-free circle's pixel coverage adds up to its area.
    p = ShapeParams(
        classes=("circle", "square"), noise=0.0, rotation=0, scale_range=(0.3, 0.3), x_range=(0.5, 0.5), y_range=(0.5, 0.5)
    )
    d = _render_shapes(40, p, seed=1)
    circles = d["image"][d["label"] == 0].float() / 255
    background = circles[:, 0, 0, 0].view(-1, 1, 1, 1)
    foreground = circles.amax(dim=(1, 2, 3), keepdim=True)
    coverage = ((circles - background) / (foreground - background)).sum(dim=(1, 2, 3))
    area = math.pi * (0.3 * 32) ** 2
    assert torch.allclose(coverage, torch.full_like(coverage, area), rtol=0.03)


def test_tag_agreement_is_respected_and_uncorrelated_at_one_over_k():
    k = len(SHAPE_CLASSES)
    agree = _render_shapes(4000, ShapeParams(tag_agreement=0.9), seed=0)
    rate = (agree["tag"] == agree["label"]).float().mean()
    assert abs(rate - 0.9) < 0.02
    never = _render_shapes(1000, ShapeParams(tag_agreement=0.0), seed=0)
    assert (never["tag"] != never["label"]).all()
    chance = _render_shapes(4000, ShapeParams(tag_agreement=1 / k), seed=0)
    assert abs((chance["tag"] == chance["label"]).float().mean() - 1 / k) < 0.02


def test_corner_tag_is_stamped_where_it_says():
    d = _render_shapes(50, ShapeParams(tag_agreement=0.5, noise=0.0), seed=0)
    for image, tag in zip(d["image"], d["tag"]):
        x0 = 1 + 4 * int(tag)
        assert (image[:, 1:4, x0 : x0 + 3] == 255).all()


def test_outline_probability_sets_the_style_group():
    d = _render_shapes(2000, ShapeParams(outline=0.25), seed=0)
    assert abs(d["style"].float().mean() - 0.25) < 0.03


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classes": ("circle", "hexagon")}, "classes"),
        ({"classes": ("circle",)}, "classes"),
        ({"x_range": (0.8, 0.2)}, "x_range"),
        ({"noise": 2.0}, "noise"),
        ({"tag_agreement": 1.5}, "tag_agreement"),
        ({"tag_style": "sticker"}, "tag_style"),
        ({"size": 4}, "size"),
    ],
)
def test_bad_parameters_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShapeParams(**kwargs)
