"""Lesson 06's widgets (ImageNet and AlexNet): top-k guesses and layer costs, over `course_utils.imagenet` and `course_utils.costs`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Picture, finish, png_bytes

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from course_utils.costs import LayerCost
    from course_utils.pixels import ImageLike

__all__ = ["topk_explorer", "layer_cost_explorer"]


def topk_explorer(
    photos: Mapping[str, ImageLike],
    probs: torch.Tensor,
    class_names: Sequence[str],
    *,
    k: int = 5,
    max_k: int = 10,
    start: str | None = None,
) -> W.Box:
    """Pick a photo and k; see the photo beside the pretrained model's top-k classes.

    A thin view over `course_utils.imagenet._figure_topk` and
    `course_utils.imagenet._topk_rows`; every prediction was computed
    beforehand, so an update only redraws a figure.

    Args:
        photos: ``{name: (H, W, 3) uint8 photo}``, in the order of the rows of ``probs``.
        probs: (P, C) class probabilities, one row per photo.
        class_names: the C class names.
        k: the k shown first; max_k: the slider's upper end.
        start: the photo shown first (default: the first).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-topk``).

    Introduced in lesson 06.
    """
    from course_utils import imagenet

    names = list(photos)
    if len(names) != len(probs):
        raise ValueError(f"got {len(names)} photos but {len(probs)} rows of probabilities")
    start = start or names[0]
    photo = W.Dropdown(options=names, value=start, description="photo")
    k_slider = W.IntSlider(value=k, min=1, max=max_k, description="k (guesses)", continuous_update=False)
    picture = Picture("the photo and the network's top-k guesses")
    summary = W.HTML()

    def figure(name: str, kk: int) -> Figure:
        return imagenet._figure_topk(photos[name], probs[names.index(name)], class_names, kk,
                                     title=f"{name}: the model's top-{kk} of {len(class_names):,} classes")  # fmt: skip

    def describe(name: str, kk: int) -> str:
        rows = imagenet._topk_rows(probs[names.index(name)], class_names, kk)
        covered = sum(p for _, _, p in rows)
        return (f"top-1 <b>{rows[0][1]}</b> ({rows[0][2]:.0%}); the top {kk} together hold {covered:.0%} "
                f"of the probability")  # fmt: skip

    def update(_: object = None) -> None:
        picture.show(png_bytes(figure(photo.value, k_slider.value)))
        summary.value = f"<div style='font-size:13px'>{describe(photo.value, k_slider.value)}</div>"

    update()
    box = W.VBox([W.HBox([photo, k_slider]), summary, picture])
    text = describe(start, k).replace("<b>", "").replace("</b>", "")
    return finish(box, "p2l-topk", figure(start, k),
                  alt=f"The {start} photo beside bars of the model's {k} most likely ImageNet classes: {text}.",
                  update=update, controls=(photo, k_slider))  # fmt: skip


def layer_cost_explorer(costs: Sequence[LayerCost], *, start: str | None = None, title: str | None = None) -> W.Box:
    """Pick a layer of a network; see its share of the parameters and of the FLOPs.

    A thin view over `course_utils.costs._figure_layer_costs` and
    `course_utils.costs._layer_summary`.

    Args:
        costs: a list of `course_utils.costs.LayerCost` (from `course_utils.costs.layer_costs`).
        start: the layer selected first (default: the first layer with parameters).
        title: the figure title.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-layer-costs``).

    Introduced in lesson 06.
    """
    from course_utils import costs as cost_module

    names = [c.name for c in costs if c.params or c.flops]
    if not names:
        raise ValueError("no layer has parameters or FLOPs to explore")
    start = start or names[0]
    layer = W.Dropdown(options=names, value=start, description="layer")
    picture = Picture("parameters and multiply-adds of each layer, the chosen one highlighted")
    summary = W.HTML()

    def update(_: object = None) -> None:
        picture.show(png_bytes(cost_module._figure_layer_costs(costs, highlight=layer.value, title=title)))
        summary.value = f"<div style='font-size:13px'>{cost_module._layer_summary(costs, layer.value)}</div>"

    update()
    box = W.VBox([layer, summary, picture])
    return finish(box, "p2l-layer-costs", cost_module._figure_layer_costs(costs, highlight=start, title=title),
                  alt=f"Two bar charts of each layer's share of all parameters and of all FLOPs, with {start} "
                  f"highlighted: {cost_module._layer_summary(costs, start)}.",
                  update=update, controls=(layer,))  # fmt: skip
