"""Lesson 01's widgets (pixels as tensors): a pixel inspector and a channel mixer, over `course_utils.pixels`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Change, Picture, array_png, finish

if TYPE_CHECKING:
    from course_utils.pixels import ImageLike

__all__ = ["pixel_inspector", "channel_mixer"]


def pixel_inspector(image: ImageLike, *, row: int | None = None, col: int | None = None, radius: int = 3) -> W.Box:
    """Move over a photo's rows and columns; read the pixel's RGB bytes and the matching tensor slice.

    A thin view over `course_utils.pixels` (`_neighbourhood`, `_mark_window`, `_window_html`).

    Args:
        image: a photo, (H, W, 3) uint8 (see `course_utils.pixels._as_hwc_uint8`).
        row, col: the first pixel shown (default: the middle).
        radius: pixels on each side of the inspected window.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-pixel-inspector``).

    Introduced in lesson 01.
    """
    from course_utils import pixels

    array = pixels._as_hwc_uint8(image)
    h, w = array.shape[:2]
    row = h // 2 if row is None else int(row)
    col = w // 2 if col is None else int(col)
    pixels._neighbourhood(array.shape, row, col, radius)  # validates the start
    row_slider = W.IntSlider(value=row, min=0, max=h - 1, description="row", continuous_update=True)
    col_slider = W.IntSlider(value=col, min=0, max=w - 1, description="column", continuous_update=True)
    photo = Picture("the photo, with the inspected window outlined")
    zoom = Picture("the inspected window, enlarged so that each pixel is a square")
    numbers = W.HTML()

    def update(_: object = None) -> None:
        window = pixels._neighbourhood(array.shape, row_slider.value, col_slider.value, radius)
        photo.show(array_png(pixels._mark_window(array, window)))
        zoom.show(array_png(array[window.top : window.bottom, window.left : window.right], scale=24))
        numbers.value = pixels._window_html(array, window)

    update()
    pictures = W.HBox([photo, zoom], layout=W.Layout(align_items="flex-start"))  # keep the zoom square
    box = W.VBox([W.HBox([row_slider, col_slider]), pictures, numbers])
    return finish(
        box,
        "p2l-pixel-inspector",
        pixels._figure_pixel_inspector(array, row, col, radius),
        alt=f"The photo with a small window framed around row {row}, column {col}, the window enlarged, "
        "and its red, green and blue values written in three grids.",
        update=update,
        controls=(row_slider, col_slider),
    )


def channel_mixer(image: ImageLike, gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> W.Box:
    """Scale a photo's red, green and blue channels, and see the gray image those weights make.

    A thin view over `course_utils.pixels._mix_channels` and `_weighted_gray`.

    Args:
        image: a photo, (H, W, 3) uint8.
        gains: the starting factors for red, green and blue (each 0 to 2).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-channel-mixer``).

    Introduced in lesson 01.
    """
    import numpy as np

    from course_utils import pixels

    array = pixels._as_hwc_uint8(image)
    sliders = [
        W.FloatSlider(value=float(g), min=0.0, max=2.0, step=0.05, description=f"{name} ×", continuous_update=True)
        for g, name in zip(gains, ("red", "green", "blue"))
    ]
    presets = {
        "all channels (1, 1, 1)": (1.0, 1.0, 1.0),
        "red only (1, 0, 0)": (1.0, 0.0, 0.0),
        "green only (0, 1, 0)": (0.0, 1.0, 0.0),
        "blue only (0, 0, 1)": (0.0, 0.0, 1.0),
        "BT.601 luma (0.299, 0.587, 0.114)": pixels.BT601_LUMA,
        "equal thirds": (1 / 3, 1 / 3, 1 / 3),
    }
    start = next((k for k, v in presets.items() if np.allclose(v, gains)), None)
    preset = W.Dropdown(options=list(presets), value=start, description="preset")
    mixed = Picture("the photo with each colour channel scaled by its gain")
    gray = Picture("the photo in gray, a weighted sum of its channels")
    caption = W.HTML()
    busy = {"setting": False}

    def update(_: object = None) -> None:
        if busy["setting"]:
            return
        g = [s.value for s in sliders]
        mixed.show(array_png(pixels._mix_channels(array, g)))
        total = sum(g)
        if total > 0:
            gray.show(array_png(pixels._weighted_gray(array, g)))
            weights = " + ".join(f"{v / total:.3f}·{c}" for v, c in zip(g, "RGB"))
            text = f"gray = {weights}"
        else:
            gray.show(array_png(np.zeros(array.shape[:2], dtype=np.uint8)))
            text = "all weights are 0: no gray image to make"
        means = pixels._mix_channels(array, g).reshape(-1, 3).mean(axis=0)
        caption.value = (
            f"<div style='font-family:monospace'>left: out[c] = gain[c] × x[c], gains = "
            f"[{g[0]:.2f}, {g[1]:.2f}, {g[2]:.2f}]; channel means now "
            f"[{means[0]:.0f}, {means[1]:.0f}, {means[2]:.0f}]<br>right: {text}</div>"
        )

    def choose(change: Change) -> None:
        if change["new"] is None:
            return
        busy["setting"] = True
        try:
            for s, v in zip(sliders, presets[change["new"]]):
                s.value = float(v)
        finally:
            busy["setting"] = False
        update()

    update()
    preset.observe(choose, names="value")
    box = W.VBox([W.HBox([W.VBox(sliders), preset]), W.HBox([mixed, gray]), caption])
    return finish(
        box,
        "p2l-channel-mixer",
        pixels._figure_channel_mixer(array, [s.value for s in sliders]),
        alt="The photo, the photo with its channels scaled by the chosen gains, and the gray image "
        "made by averaging the channels with those gains as weights.",
        update=update,
        controls=sliders,
    )
