"""Lesson 02's widget (why flat networks fail): one shape slid across the image, several classifiers' predictions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Picture, array_png, finish, probability_html

if TYPE_CHECKING:
    from torch import nn

    from course_utils.shapes import ShapeParams

__all__ = ["shift_explorer"]


def shift_explorer(
    models: Mapping[str, nn.Module],
    params: ShapeParams,
    *,
    train_range: tuple[float, float],
    x_pixels: tuple[int, int] | None = None,
    start: int | None = None,
) -> W.Box:
    """Slide one shape across the image and watch several classifiers' predictions side by side.

    Every position of every class is drawn and classified once when the widget
    is built; moving the slider only swaps pictures and text.

    Args:
        models: display name -> trained classifier (input (N, C, S, S) float in [0, 1]).
        params: the `course_utils.shapes.ShapeParams` the models were trained on.
        train_range: the shape centres seen in training, as fractions of the width.
        x_pixels: (first, last) centre x offered by the slider, in pixels
            (default: from 15% to 85% of the width).
        start: the slider's first position (default: the middle of the training range).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-shift-explorer``).

    Raises:
        ValueError: no models, or ``start`` outside the slider's range.

    Introduced in lesson 02.
    """
    from course_utils import translation
    from course_utils.train import predict

    size = params.size
    lo, hi = x_pixels if x_pixels is not None else (round(0.15 * size), round(0.85 * size))
    positions = list(range(lo, hi + 1))
    range_px = (train_range[0] * size, train_range[1] * size)
    start = int(round(sum(range_px) / 2)) if start is None else int(start)
    if not lo <= start <= hi:
        raise ValueError(f"start={start} is outside the slider's range of centres, {lo} to {hi} pixels")
    if not models:
        raise ValueError("pass at least one model: {'name': trained classifier}")
    classes = list(params.classes)
    tracks, probs = {}, {}
    for label in range(len(classes)):
        images = translation._shape_track(params, label, [(x + 0.5) / size for x in positions])
        tracks[label] = images
        probs[label] = {name: predict(m, images) for name, m in models.items()}  # predict runs without gradients

    shape = W.Dropdown(options=[(c, i) for i, c in enumerate(classes)], value=0, description="shape")
    slider = W.IntSlider(value=start, min=lo, max=hi, description="centre x (px)", continuous_update=True,
                         style={"description_width": "90px"})  # fmt: skip
    picture = Picture("the shape at the chosen position, and what each network makes of it")
    where = W.HTML()
    panels = [W.HTML() for _ in models]

    def update(_: object = None) -> None:
        label, i = shape.value, positions.index(slider.value)
        picture.show(array_png(translation._track_picture(tracks[label][i], slider.value + 0.5, range_px)))
        inside = range_px[0] <= slider.value + 0.5 <= range_px[1]
        where.value = (
            f"<div style='font-size:13px'>centre x = {slider.value + 0.5:.1f} px: "
            f"<b>{'inside' if inside else 'outside'}</b> the training positions "
            f"({range_px[0]:.1f}–{range_px[1]:.1f} px, blue bar)</div>"
        )
        for panel, name in zip(panels, models):
            panel.value = probability_html(probs[label][name][i], classes, top=None, ranked=False, title=name, truth=label)

    update()
    box = W.VBox([W.HBox([shape, slider]), where, W.HBox([picture, *panels], layout=W.Layout(align_items="flex-start"))])
    i = positions.index(start)
    return finish(
        box,
        "p2l-shift-explorer",
        translation._figure_shift_explorer(
            translation._track_picture(tracks[0][i], start + 0.5, range_px),
            {name: probs[0][name][i] for name in models},
            classes,
            truth=0,
            title=f"{classes[0]} at x = {start + 0.5:.1f} px",
        ),
        alt=f"A {classes[0]} drawn at x = {start + 0.5:.1f} pixels, "
        f"{'inside' if range_px[0] <= start + 0.5 <= range_px[1] else 'outside'} the training positions, "
        "and each model's class probabilities as bars.",
        update=update,
        controls=(shape, slider),
    )
