"""Lesson 03's widget (convolution and pooling): a 3x3 kernel editor, over `course_utils.convolution`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Change, Picture, array_png, finish

if TYPE_CHECKING:
    from course_utils.pixels import ImageLike

__all__ = ["kernel_editor"]


def kernel_editor(photos: ImageLike | dict[str, ImageLike], *, preset: str = "Sobel x (vertical edges)") -> W.Box:
    """Edit a 3x3 kernel (or pick a classic one) and see it filter a photo live.

    A thin view over `course_utils.convolution` (`KERNELS`, `filter_gray`,
    `_response_image`, `_kernel_html`).

    Args:
        photos: one photo, (H, W, 3) uint8, or a dict name -> photo to choose from.
        preset: the kernel shown first, a key of `course_utils.convolution.KERNELS`.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-kernel-editor``).

    Introduced in lesson 03.
    """
    import torch

    from course_utils import convolution

    if not isinstance(photos, dict):
        photos = {"photo": photos}
    grays = {name: convolution._fit_within(convolution.gray(p), 360) for name, p in photos.items()}
    start = convolution.kernel(preset)
    cells = [
        [W.FloatText(value=float(start[i, j]), step=0.5, description=f"w[{i},{j}]",
                     style={"description_width": "48px"}, layout=W.Layout(width="135px"))
         for j in range(3)]
        for i in range(3)
    ]  # fmt: skip
    presets = W.Dropdown(options=list(convolution.KERNELS), value=preset, description="preset")
    photo = W.Dropdown(options=list(grays), value=next(iter(grays)), description="photo")
    original, filtered = Picture("the photo in gray"), Picture("the photo filtered by the kernel")
    caption = W.HTML()
    busy = {"setting": False}
    shown: dict[str, bytes] = {}  # PNGs of the unfiltered photos, made once

    def weights() -> list[list[float]]:
        return [[float(c.value) for c in row] for row in cells]

    def update(_: object = None) -> None:
        if busy["setting"]:
            return
        gray, w = grays[photo.value], weights()
        response = convolution.filter_gray(gray, w)
        if photo.value not in shown:
            shown[photo.value] = array_png((gray * 255).round().to(torch.uint8).numpy())
        original.show(shown[photo.value])
        filtered.show(array_png(convolution._response_image(response, w)))
        caption.value = convolution._kernel_html(w, response)

    def choose(change: Change) -> None:
        busy["setting"] = True
        try:
            for row, values in zip(cells, convolution.KERNELS[change["new"]]):
                for cell, v in zip(row, values):
                    cell.value = round(float(v), 4)
        finally:
            busy["setting"] = False
        update()

    update()
    presets.observe(choose, names="value")
    grid = W.VBox([W.HBox(row) for row in cells])
    box = W.VBox([W.HBox([W.VBox([presets, photo]), grid]), W.HBox([original, filtered]), caption])
    first = next(iter(grays))
    return finish(
        box,
        "p2l-kernel-editor",
        convolution._figure_kernel_editor(grays[first], weights(), title=f"{preset} on the {first} photo"),
        alt=f"The {first} photo in gray and the same photo filtered with the {preset} kernel, "
        "whose nine weights are written beside it.",
        update=update,
        controls=[*(cell for row in cells for cell in row), photo],
    )
