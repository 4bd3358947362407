"""Pixels as numbers: inspecting, mixing and resampling the channels of a photo.

The pure functions behind lesson 01's figures and its two widgets (the pixel
inspector and the channel mixer). Photos are (H, W, 3) uint8 NumPy arrays, as
`course_utils.data.load_photo` returns them; tensors in (3, H, W) layout are
accepted too. The widgets render with Pillow, not matplotlib, so that each
update takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from PIL import Image as PILImage

__all__ = [
    "BT601_LUMA",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageLike",
    "Window",
    "figure_channel_histograms",
    "figure_channels",
    "figure_resize",
    "zone_plate",
]

#: Per-channel mean and standard deviation of the ImageNet training images (RGB, pixels in [0, 1]),
#: as torchvision's ImageNet weights state them (``ResNet18_Weights.IMAGENET1K_V1.transforms()``).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: Luma weights of ITU-R Recommendation BT.601 (R, G, B): how bright each primary looks to us.
BT601_LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)

_MARK = (230, 159, 0)  # Okabe-Ito orange

#: What the helpers accept as a photo: an array, a tensor or a PIL image (see `_as_hwc_uint8`).
ImageLike: TypeAlias = "np.ndarray | torch.Tensor | PILImage.Image"


def _as_hwc_uint8(image: ImageLike) -> np.ndarray:
    """Any photo-like input as an (H, W, 3) uint8 array.

    Args:
        image: (H, W, 3) or (H, W) array (or PIL image), or a (3, H, W) / (1, H, W) / (H, W)
            tensor; uint8 in [0, 255] or float in [0, 1].

    Returns:
        A new (H, W, 3) uint8 array.

    Raises:
        ValueError: the input has another shape.

    Introduced in lesson 01.
    """
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 3 and t.shape[0] in (1, 3):
            t = t.permute(1, 2, 0)
        array = t.numpy()
    else:
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise ValueError(f"expected an (H, W, 3) or (H, W) image (or a (3, H, W) tensor); got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float64), 0, 1) * 255).round().astype(np.uint8)
    return np.array(array, dtype=np.uint8, order="C")


@dataclass(frozen=True)
class Window:
    """A rectangle of pixels around one pixel: rows ``top:bottom``, columns ``left:right``.

    Introduced in lesson 01.
    """

    row: int
    col: int
    top: int
    bottom: int
    left: int
    right: int


def _neighbourhood(shape: Sequence[int], row: int, col: int, radius: int = 3) -> Window:
    """The square window of pixels around (``row``, ``col``), cut off at the image border.

    Args:
        shape: the image's (H, W, ...) shape.
        row, col: the pixel in the middle (0-based, row 0 at the top).
        radius: pixels on each side; the window is at most (2r+1) x (2r+1).

    Returns:
        A `Window` whose slices select the neighbourhood: ``img[w.top:w.bottom, w.left:w.right]``.

    Raises:
        ValueError: the pixel lies outside the image, or the radius is negative.

    Introduced in lesson 01.
    """
    height, width = int(shape[0]), int(shape[1])
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"pixel ({row}, {col}) is outside an image of {height} rows and {width} columns")
    if radius < 0:
        raise ValueError(f"radius must be 0 or more; got {radius}")
    return Window(
        row, col, max(0, row - radius), min(height, row + radius + 1), max(0, col - radius), min(width, col + radius + 1)
    )


def _mark_window(image: np.ndarray, window: Window, *, thickness: int | None = None) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) uint8 with an orange frame drawn just outside ``window``.

    Args:
        image: a photo (see `_as_hwc_uint8`).
        window: the pixels to frame.
        thickness: frame width in pixels (default: 1/150 of the longer side, at least 2).

    Introduced in lesson 01.
    """
    out = _as_hwc_uint8(image)
    h, w = out.shape[:2]
    thickness = max(2, round(max(h, w) / 150)) if thickness is None else thickness
    top, bottom = max(0, window.top - thickness), min(h, window.bottom + thickness)
    left, right = max(0, window.left - thickness), min(w, window.right + thickness)
    colour = np.array(_MARK, dtype=np.uint8)
    out[top : window.top, left:right] = colour
    out[window.bottom : bottom, left:right] = colour
    out[top:bottom, left : window.left] = colour
    out[top:bottom, window.right : right] = colour
    return out


def _mix_channels(image: ImageLike, gains: Sequence[float]) -> np.ndarray:
    """Scale each colour channel: out[..., c] = gains[c] * image[..., c], clipped to 0..255.

    Args:
        image: a photo (see `_as_hwc_uint8`).
        gains: three non-negative factors for red, green and blue.

    Returns:
        (H, W, 3) uint8.

    Raises:
        ValueError: not three gains, or a negative one.

    Introduced in lesson 01.
    """
    g = np.asarray(gains, dtype=np.float64)
    if g.shape != (3,) or (g < 0).any():
        raise ValueError(f"gains must be three non-negative numbers (red, green, blue); got {g.tolist()}")
    out = _as_hwc_uint8(image).astype(np.float64) * g
    return np.clip(out, 0, 255).round().astype(np.uint8)


def _weighted_gray(image: ImageLike, weights: Sequence[float]) -> np.ndarray:
    """A gray image as a weighted average of the channels: sum_c w_c * image_c / sum_c w_c.

    Args:
        image: a photo (see `_as_hwc_uint8`).
        weights: three non-negative weights, not all zero.

    Returns:
        (H, W) uint8.

    Raises:
        ValueError: not three weights, a negative one, or all zero.

    Introduced in lesson 01.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (3,) or (w < 0).any() or w.sum() == 0:
        raise ValueError(f"weights must be three non-negative numbers, not all zero; got {w.tolist()}")
    gray = _as_hwc_uint8(image).astype(np.float64) @ (w / w.sum())
    return np.clip(gray, 0, 255).round().astype(np.uint8)


def zone_plate(size: int = 256, cycles_at_edge: float = 0.5) -> np.ndarray:
    """A zone plate: rings whose spatial frequency grows linearly from the centre.

    The local frequency at distance r from the centre is ``cycles_at_edge * r / (size / 2)``
    cycles per pixel, so every frequency up to ``cycles_at_edge`` appears once.
    Resampling it shows aliasing at a glance: rings that are too fine for the
    new pixel grid come back as false, coarser rings.

    Args:
        size: height and width in pixels.
        cycles_at_edge: the frequency at the middle of each edge (0.5 = one
            cycle every two pixels, the finest a grid can hold).

    Returns:
        (size, size) float64 in [0, 1].

    Introduced in lesson 01.
    """
    if size < 2:
        raise ValueError(f"size must be at least 2 pixels; got {size}")
    centre = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    r2 = (yy - centre) ** 2 + (xx - centre) ** 2
    # phase = pi * k * r^2 has local frequency k * r (cycles per pixel); pick k to reach cycles_at_edge.
    k = cycles_at_edge / (size / 2)
    return 0.5 + 0.5 * np.cos(np.pi * k * r2)


def _window_html(image: ImageLike, window: Window) -> str:
    """An HTML view of one window: the pixel's RGB bytes, its tensor values, and each channel's numbers.

    Introduced in lesson 01.
    """
    array = _as_hwc_uint8(image)
    r, c = window.row, window.col
    rgb = array[r, c]
    floats = ", ".join(f"{v / 255:.3f}" for v in rgb)
    head = (
        f"<div style='font-family:monospace;line-height:1.5'>"
        f"img[{r}, {c}] = [{rgb[0]}, {rgb[1]}, {rgb[2]}] &nbsp;(uint8, H×W×C)<br>"
        f"x[:, {r}, {c}] = [{floats}] &nbsp;(float32, C×H×W, /255)<br>"
        f"tensor slice x[:, {window.top}:{window.bottom}, {window.left}:{window.right}] × 255:</div>"
    )
    tables = []
    for channel, name in enumerate(("red", "green", "blue")):
        rows = []
        for i in range(window.top, window.bottom):
            cells = []
            for j in range(window.left, window.right):
                v = int(array[i, j, channel])
                shade = [0, 0, 0]
                shade[channel] = v
                ink = "#000" if v > 140 else "#fff"
                border = "outline:2px solid #E69F00;" if (i, j) == (r, c) else ""
                cells.append(
                    f"<td style='background:rgb({shade[0]},{shade[1]},{shade[2]});color:{ink};"
                    f"{border}padding:1px 3px;text-align:right'>{v}</td>"
                )
            rows.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(
            f"<div style='display:inline-block;margin-right:10px'><b>x[{channel}] {name}</b>"
            f"<table style='font-family:monospace;font-size:11px;border-collapse:collapse'>{''.join(rows)}</table></div>"
        )
    return head + "".join(tables)


# ----------------------------------------------------------------------------- figures


def _figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _figure_pixel_inspector(image: ImageLike, row: int, col: int, radius: int = 3) -> Figure:
    """The photo with one window framed, the window enlarged, and its numbers per channel.

    Args:
        image: a photo (see `_as_hwc_uint8`).
        row, col: the pixel in the middle of the window.
        radius: pixels on each side of it.

    Returns:
        A matplotlib ``Figure``.

    Introduced in lesson 01.
    """
    array = _as_hwc_uint8(image)
    window = _neighbourhood(array.shape, row, col, radius)
    patch = array[window.top : window.bottom, window.left : window.right]
    fig = _figure(figsize=(12, 3.4))
    axes = fig.subplots(1, 5, gridspec_kw={"width_ratios": [1.6, 1, 1, 1, 1]})
    axes[0].imshow(_mark_window(array, window))
    axes[0].set(title=f"photo, pixel (row {row}, col {col})", xlabel="column", ylabel="row")
    axes[1].imshow(
        patch, interpolation="nearest", extent=(window.left - 0.5, window.right - 0.5, window.bottom - 0.5, window.top - 0.5)
    )
    axes[1].set(title="the window, enlarged", xlabel="column", ylabel="row")
    for channel, name in enumerate(("red", "green", "blue")):
        ax = axes[2 + channel]
        values = patch[:, :, channel]
        ax.imshow(values, cmap="gray", vmin=0, vmax=255, interpolation="nearest",
                  extent=(window.left - 0.5, window.right - 0.5, window.bottom - 0.5, window.top - 0.5))  # fmt: skip
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = int(values[i, j])
                ax.text(window.left + j, window.top + i, str(v), ha="center", va="center", fontsize=6.5,
                        color="black" if v > 140 else "white")  # fmt: skip
        ax.set(title=f"x[{channel}] ({name})", xlabel="column")
    for ax in axes[1:]:
        ax.set_xticks(range(window.left, window.right, 2))
        ax.set_yticks(range(window.top, window.bottom, 2))
    fig.suptitle(f"img[{row}, {col}] = {array[row, col].tolist()}  →  x[:, {row}, {col}] = "
                 f"{[round(v / 255, 3) for v in array[row, col].tolist()]}")  # fmt: skip
    fig.tight_layout()
    return fig


def figure_channels(image: ImageLike) -> Figure:
    """The photo and its red, green and blue channels, each drawn as a gray image with a colour bar.

    Introduced in lesson 01.
    """
    array = _as_hwc_uint8(image)
    fig = _figure(figsize=(13, 3.0))
    axes = fig.subplots(1, 4)
    axes[0].imshow(array)
    axes[0].set_title(f"photo {array.shape[0]}×{array.shape[1]}×3")
    for channel, name in enumerate(("red", "green", "blue")):
        shown = axes[1 + channel].imshow(array[:, :, channel], cmap="gray", vmin=0, vmax=255)
        axes[1 + channel].set_title(f"channel {channel}: {name} (mean {array[:, :, channel].mean():.0f})")
        fig.colorbar(shown, ax=axes[1 + channel], fraction=0.035, pad=0.02)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


#: Okabe-Ito vermillion, bluish green and blue: a colour-blind-safe stand-in for red, green and blue.
_CHANNEL_COLOURS = ("#D55E00", "#009E73", "#0072B2")


def _level_bins(values: np.ndarray, per_bin: int = 4) -> np.ndarray | int:
    """Histogram edges that hold whole quantisation levels (no comb pattern from 8-bit pixels)."""
    levels = np.unique(values)
    if len(levels) < 2:
        return 10
    step = float(np.diff(levels).min())
    if step <= 0 or (levels[-1] - levels[0]) / step > 4096:  # not quantised: plain bins
        return 64
    return np.arange(levels[0] - step / 2, levels[-1] + step * per_bin, step * per_bin)


def figure_channel_histograms(
    before: torch.Tensor, after: torch.Tensor, *, titles: Sequence[str] = ("pixels in [0, 1]", "after normalising")
) -> Figure:
    """Per-channel histograms of two (3, H, W) tensors side by side (e.g. before and after normalising).

    Introduced in lesson 01.
    """
    fig = _figure(figsize=(10, 3.2))
    axes = fig.subplots(1, 2)
    for ax, data, title in zip(axes, (before, after), titles):
        data = torch.as_tensor(data).detach().double()
        for c, (name, colour) in enumerate(zip(("red", "green", "blue"), _CHANNEL_COLOURS)):
            values = data[c].flatten().numpy()
            ax.hist(values, bins=_level_bins(values), histtype="step", linewidth=1.5, label=name, color=colour)
        ax.set(title=title, xlabel="value", ylabel="pixels")
    axes[0].legend()
    fig.tight_layout()
    return fig


def _figure_channel_mixer(image: ImageLike, gains: Sequence[float]) -> Figure:
    """The photo, the photo with its channels scaled by ``gains``, and the gray image weighted by them.

    Introduced in lesson 01.
    """
    array = _as_hwc_uint8(image)
    fig = _figure(figsize=(11, 3.0))
    axes = fig.subplots(1, 3)
    g = [round(float(v), 3) for v in gains]
    axes[0].imshow(array)
    axes[0].set_title("original")
    axes[1].imshow(_mix_channels(array, gains))
    axes[1].set_title(f"channels × {g}")
    if sum(g) > 0:
        axes[2].imshow(_weighted_gray(array, gains), cmap="gray", vmin=0, vmax=255)
        axes[2].set_title("gray = weighted average")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def figure_resize(
    originals: Sequence[np.ndarray],
    factor: int,
    names: Sequence[str],
    crops: Sequence[tuple[int, int, int, int] | None] | None = None,
) -> Figure:
    """Each image shrunk ``factor`` times, without and with antialiasing, shown enlarged side by side.

    Args:
        originals: images, (H, W) or (H, W, 3), uint8 or float in [0, 1].
        factor: how many times smaller the result is on each side.
        names: a title for each row.
        crops: for each image, an optional (top, left, height, width) region of
            the *small* image to enlarge (``None``: all of it).

    Returns:
        A matplotlib ``Figure`` with one row per image: original, bilinear
        without antialiasing, bilinear with antialiasing.

    Introduced in lesson 01.
    """
    import torchvision.transforms.v2.functional as TF

    rows = len(originals)
    fig = _figure(figsize=(11, 3.4 * rows))
    axes = fig.subplots(rows, 3, squeeze=False)
    for i, (image, name) in enumerate(zip(originals, names)):
        x = torch.from_numpy(_as_hwc_uint8(image)).permute(2, 0, 1)
        h, w = x.shape[1:]
        size = [h // factor, w // factor]
        small = {
            "no antialiasing": TF.resize(x, size, interpolation=TF.InterpolationMode.BILINEAR, antialias=False),
            "antialias=True": TF.resize(x, size, interpolation=TF.InterpolationMode.BILINEAR, antialias=True),
        }
        crop = crops[i] if crops is not None else None
        big = x
        if crop is not None:
            top, left, ch, cw = crop
            big = x[:, top * factor : (top + ch) * factor, left * factor : (left + cw) * factor]
        axes[i, 0].imshow(big.permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[i, 0].set_title(f"{name}: original {h}×{w}" + (" (crop)" if crop else ""))
        for j, (label, s) in enumerate(small.items(), start=1):
            if crop is not None:
                s = s[:, top : top + ch, left : left + cw]
            axes[i, j].imshow(s.permute(1, 2, 0).numpy(), interpolation="nearest")
            axes[i, j].set_title(f"{factor}× smaller, {label}")
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
