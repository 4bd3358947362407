"""Lesson 06b's widget (the recipe, scaled up): plain against residual depth, over `course_utils.architectures`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Picture, finish, png_bytes

if TYPE_CHECKING:
    from course_utils.architectures import DepthRun

__all__ = ["degradation_explorer"]


def degradation_explorer(runs: Sequence[DepthRun], *, start: int | None = None, window: int = 25) -> W.Box:
    """Pick a depth; see the plain and the residual net's training loss and their gradient norms at that depth.

    A thin view over `course_utils.architectures.figure_degradation`; every
    network was trained beforehand (`course_utils.architectures.degradation_runs`).

    Args:
        runs: a list of `course_utils.architectures.DepthRun`.
        start: the depth shown first (default: the shallowest; the slider steps deeper).
        window: steps averaged in the running loss shown first.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-degradation``).

    Introduced in lesson 06b.
    """
    from course_utils import architectures as arch

    depths = sorted({r.depth for r in runs})
    if not depths:
        raise ValueError("runs is empty: train some networks with cu.architectures.degradation_runs first")
    start = depths[0] if start is None else start  # step right to go deeper
    depth = W.SelectionSlider(options=depths, value=start, description="depth", continuous_update=False)
    smooth = W.IntSlider(value=window, min=1, max=100, description="smoothing", continuous_update=False,
                         tooltip="steps averaged in the running loss")  # fmt: skip
    picture = Picture("training loss against step and gradient norm per layer, plain against residual, at the chosen depth")
    summary = W.HTML()

    def describe(d: int) -> str:
        plain, residual = arch._pick(runs, d, False), arch._pick(runs, d, True)
        return (f"depth {d}: after training, plain loss {plain.train_loss:.2f} (accuracy {plain.train_accuracy:.0%}), "
                f"residual loss {residual.train_loss:.2f} (accuracy {residual.train_accuracy:.0%}) on training images")  # fmt: skip

    def update(_: object = None) -> None:
        picture.show(png_bytes(arch.figure_degradation(runs, depth.value, window=smooth.value)))
        summary.value = f"<div style='font-size:13px'>{describe(depth.value)}</div>"

    update()
    box = W.VBox([W.HBox([depth, smooth]), summary, picture])
    return finish(box, "p2l-degradation", arch.figure_degradation(runs, start, window=window),
                  alt=f"Training loss against step and gradient norm per layer at initialisation for the plain and "
                  f"the residual network of depth {start}; {describe(start)}.",
                  update=update, controls=(depth, smooth))  # fmt: skip
