"""Procedurally drawn shapes: the course's own small, fully controllable dataset.

Every nuisance factor (position, scale, rotation, fill style, colour,
background texture, pixel noise) is a parameter, and an optional spurious
"scanner tag" can be made to agree with the label as often as you like
(lesson 08). All images of a call are drawn at once with tensor arithmetic:
10,000 images take well under a second on a laptop CPU.

Each shape is described by a signed distance function (SDF): negative inside,
positive outside, in units of the shape's radius. Coverage of a pixel is read
off the distance in pixels, which gives smooth (anti-aliased) edges.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

__all__ = ["SHAPE_CLASSES", "ShapeParams"]

#: Every class the renderer can draw, in label order.
SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star")


@dataclass(frozen=True)
class ShapeParams:
    """Nuisance factors of the shapes dataset (every range is sampled uniformly).

    Attributes:
        size: image height and width in pixels.
        classes: which shapes to draw; labels follow this order.
        x_range: range of the shape centre's x, as a fraction of the width.
        y_range: the same for y (0 is the top).
        scale_range: range of the shape radius, as a fraction of the size.
        rotation: maximum rotation in degrees (sampled in ``[-rotation, rotation]``).
        outline: probability that a shape is drawn as an outline, not filled.
        stroke_range: outline width range, as a fraction of the radius.
        color: draw RGB images with random colours (else 1-channel grayscale).
        texture: amplitude of a smooth random background texture (0 = flat).
        noise: standard deviation of Gaussian pixel noise (intensity in [0, 1]).
        tag_agreement: if not ``None``, stamp a "scanner tag" on every image;
            with this probability the tag equals the label, otherwise it is one
            of the other tags at random. ``1 / len(classes)`` makes it
            uncorrelated, ``0`` makes it always wrong.
        tag_style: ``"corner"`` (a bright mark on the top edge whose position
            encodes the tag) or ``"tint"`` (a background brightness offset).

    Introduced in lesson 02.
    """

    size: int = 32
    classes: tuple[str, ...] = SHAPE_CLASSES
    x_range: tuple[float, float] = (0.3, 0.7)
    y_range: tuple[float, float] = (0.3, 0.7)
    scale_range: tuple[float, float] = (0.2, 0.3)
    rotation: float = 30.0
    outline: float = 0.0
    stroke_range: tuple[float, float] = (0.25, 0.4)
    color: bool = False
    texture: float = 0.0
    noise: float = 0.03
    tag_agreement: float | None = None
    tag_style: str = "corner"

    def __post_init__(self) -> None:
        unknown = [c for c in self.classes if c not in SHAPE_CLASSES]
        if unknown or len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be two or more distinct names from {SHAPE_CLASSES}; got {self.classes!r}")
        if self.size < 8:
            raise ValueError(f"size must be at least 8 pixels; got {self.size}")
        for name in ("x_range", "y_range", "scale_range", "stroke_range"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi <= 1:
                raise ValueError(f"{name} must satisfy 0 <= low <= high <= 1; got {(lo, hi)}")
        for name in ("outline", "texture", "noise"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1; got {getattr(self, name)}")
        if self.tag_agreement is not None and not 0 <= self.tag_agreement <= 1:
            raise ValueError(f"tag_agreement must be None or between 0 and 1; got {self.tag_agreement}")
        if self.tag_style not in ("corner", "tint"):
            raise ValueError(f"tag_style must be 'corner' or 'tint'; got {self.tag_style!r}")
        if self.tag_agreement is not None and self.tag_style == "corner" and 4 * len(self.classes) + 1 > self.size:
            raise ValueError(f"{len(self.classes)} corner tags do not fit on a {self.size}-pixel edge")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _box(u: torch.Tensor, v: torch.Tensor, bx: float, by: float) -> torch.Tensor:
    qx, qy = u.abs() - bx, v.abs() - by
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    return outside + torch.maximum(qx, qy).clamp(max=0)


def _sdf(name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Signed distance (in radius units) of points (u, v) to a shape of radius 1."""
    if name == "circle":
        return torch.sqrt(u**2 + v**2) - 1.0
    if name == "square":
        return _box(u, v, 0.8, 0.8)
    if name == "cross":
        return torch.minimum(_box(u, v, 1.0, 0.3), _box(u, v, 0.3, 1.0))
    if name == "triangle":
        # Equilateral triangle with circumradius 1.25 (so its area is close to the others'),
        # pointing up (image y grows downwards).
        k, grow = math.sqrt(3.0), 1.25
        u, v = u / grow, v / grow
        half = k / 2  # half the side length
        x, y = u.abs() - half, -v + 0.5
        flip = (x + k * y) > 0
        x, y = torch.where(flip, (x - k * y) / 2, x), torch.where(flip, (-k * x - y) / 2, y)
        x = x - x.clamp(-2 * half, 0.0)
        return -torch.sqrt(x**2 + y**2) * torch.sign(y) * grow
    if name == "star":
        # Five points; the radial profile is exact at tips and notches, approximate between.
        r = torch.sqrt(u**2 + v**2)
        phi = torch.atan2(u, -v)
        spike = torch.cos(5 * phi).clamp(min=0) ** 2
        return (r - (0.5 + 0.6 * spike)) * 0.8
    raise ValueError(f"unknown shape {name!r}")


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _render_shapes(n: int, params: ShapeParams, seed: int = 0) -> dict[str, torch.Tensor]:
    """Draw ``n`` random shapes with the nuisance factors in ``params``.

    Args:
        n: number of images.
        params: the nuisance factors (see `ShapeParams`).
        seed: the same seed and params give the same images, bit for bit.

    Returns:
        A dict of tensors, one row per image: ``image`` (N, C, S, S) uint8 with
        C = 3 if ``params.color`` else 1; ``label`` (N,) int64 index into
        ``params.classes``; the sampled factors ``x``, ``y``, ``scale``,
        ``rotation`` (float32, pixels and degrees); ``style`` (N,) int64, 0 filled
        and 1 outline; ``tag`` (N,) int64, -1 when there is no tag.

    Introduced in lesson 02 (lesson 04 trains on it, lesson 08 adds the tag).
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of images; got {n}")
    gen = torch.Generator().manual_seed(seed)
    s, k = params.size, len(params.classes)
    label = torch.randint(0, k, (n,), generator=gen)
    cx = _uniform(gen, n, *params.x_range) * s
    cy = _uniform(gen, n, *params.y_range) * s
    radius = _uniform(gen, n, *params.scale_range) * s
    angle = _uniform(gen, n, -params.rotation, params.rotation)
    style = (torch.rand(n, generator=gen) < params.outline).long()
    stroke = _uniform(gen, n, *params.stroke_range) * radius  # pixels

    # Pixel centres, then each image's local frame: translate, rotate, scale.
    coords = torch.arange(s, dtype=torch.float32) + 0.5
    py, px = coords.view(1, s, 1), coords.view(1, 1, s)
    dx, dy = px - cx.view(n, 1, 1), py - cy.view(n, 1, 1)
    theta = torch.deg2rad(angle).view(n, 1, 1)
    cos, sin = torch.cos(theta), torch.sin(theta)
    r = radius.view(n, 1, 1)
    u, v = (cos * dx + sin * dy) / r, (-sin * dx + cos * dy) / r

    dist = torch.empty(n, s, s)
    for index, name in enumerate(params.classes):
        rows = label == index
        if rows.any():
            dist[rows] = _sdf(name, u[rows], v[rows]) * r[rows]  # pixels
    outline_dist = dist.abs() - stroke.view(n, 1, 1) / 2
    dist = torch.where(style.view(n, 1, 1).bool(), outline_dist, dist)
    coverage = (0.5 - dist).clamp(0, 1).unsqueeze(1)  # (N, 1, S, S), 1-pixel anti-aliasing

    channels = 3 if params.color else 1
    if params.color:
        background = _uniform(gen, n * 3, 0.0, 0.35).view(n, 3, 1, 1)
        foreground = _uniform(gen, n * 3, 0.55, 1.0).view(n, 3, 1, 1)
    else:
        background = _uniform(gen, n, 0.0, 0.3).view(n, 1, 1, 1)
        foreground = _uniform(gen, n, 0.7, 1.0).view(n, 1, 1, 1)
    image = background + (foreground - background) * coverage
    if params.texture > 0:
        coarse = torch.rand(n, channels, 5, 5, generator=gen) - 0.5
        smooth = torch.nn.functional.interpolate(coarse, size=(s, s), mode="bicubic", align_corners=False)
        image = image + params.texture * smooth * (1 - coverage)
    tag = torch.full((n,), -1, dtype=torch.long)
    if params.tag_agreement is not None:
        agree = torch.rand(n, generator=gen) < params.tag_agreement
        other = (label + torch.randint(1, k, (n,), generator=gen)) % k  # a different tag, uniformly
        tag = torch.where(agree, label, other)
        image = _stamp_tag(image, tag, k, params.tag_style)
    if params.noise > 0:
        image = image + params.noise * torch.randn(image.shape, generator=gen)
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    return {
        "image": pixels,
        "label": label,
        "x": cx,
        "y": cy,
        "scale": radius,
        "rotation": angle,
        "style": style,
        "tag": tag,
    }


def _stamp_tag(image: torch.Tensor, tag: torch.Tensor, k: int, style: str) -> torch.Tensor:
    """Add the spurious tag: a 3x3 mark on the top edge, or a background tint."""
    image = image.clone()
    if style == "corner":
        for t in range(k):
            rows = tag == t
            x0 = 1 + 4 * t
            image[rows, :, 1:4, x0 : x0 + 3] = 1.0
    else:
        image = image + (0.25 * (tag.float() + 1) / k).view(-1, 1, 1, 1)
    return image
