"""Lesson 07's widget (transfer learning): a pretrained backbone's feature maps by depth, over `course_utils.transfer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Picture, finish, png_bytes

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

__all__ = ["depth_explorer"]


def depth_explorer(
    photos: Mapping[str, torch.Tensor],
    stages: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    k: int = 8,
    start: tuple[str, str] | None = None,
) -> W.Box:
    """Pick a photo and a depth of the pretrained backbone; see that stage's strongest feature maps.

    A thin view over `course_utils.transfer` (`figure_depth`, `_stage_summary`);
    every stage output was computed beforehand, so interaction only redraws.

    Args:
        photos: photo name -> (3, H, W) float image in [0, 1] (what the network saw).
        stages: photo name -> ``{stage name: (1, C, h, w) maps}`` (see
            `course_utils.transfer.stage_outputs`), shallow to deep.
        k: feature maps shown per stage.
        start: the (photo, stage) shown first (default: the first photo's stem).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-depth-explorer``).

    Raises:
        ValueError: ``photos`` and ``stages`` name different photos.

    Introduced in lesson 07.
    """
    from course_utils import transfer

    if set(photos) != set(stages) or not photos:
        raise ValueError(f"photos {sorted(photos)} and stages {sorted(stages)} must name the same photos")
    names = list(photos)
    depths = list(stages[names[0]])
    photo0, depth0 = start or (names[0], depths[0])
    photo = W.Dropdown(options=names, value=photo0, description="photo")
    depth = W.SelectionSlider(options=depths, value=depth0, description="depth", continuous_update=False,
                              layout=W.Layout(width="420px"))  # fmt: skip
    picture = Picture("the photo and the strongest feature maps at the chosen depth")
    summary = W.HTML()

    def figure(name: str, stage: str) -> Figure:
        return transfer.figure_depth(photos[name], {stage: stages[name][stage]}, k=k, title=f"{name}, {stage}")

    def update(_: object = None) -> None:
        picture.show(png_bytes(figure(photo.value, depth.value)))
        text = transfer._stage_summary(depth.value, stages[photo.value][depth.value], k)
        summary.value = f"<div style='font-size:13px'>{text}</div>"

    update()
    box = W.VBox([W.HBox([photo, depth]), summary, picture])
    return finish(box, "p2l-depth-explorer", figure(photo0, depth0),
                  alt=f"The {photo0} photo beside its {k} strongest feature maps at the {depth0} of the pretrained "
                  f"backbone; {transfer._stage_summary(depth0, stages[photo0][depth0], k)}",
                  update=update, controls=(photo, depth))  # fmt: skip
