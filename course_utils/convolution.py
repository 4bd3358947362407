"""Convolution and pooling: classic kernels, receptive fields, and feature maps at increasing depth.

The pure functions behind lesson 03: a library of classic 3x3 kernels, one
kernel applied to a photo and turned into something we can look at, a
brute-force receptive field (by autograd, to check the formula against), the
(kernel, stride) list of a network's convolutions, feature maps at several
depths of a network, and the figures and widget views of the lesson.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from course_utils.pixels import ImageLike

#: A 2-D kernel as the helpers accept it: a tensor, an array or nested lists of numbers.
KernelLike: TypeAlias = "torch.Tensor | np.ndarray | Sequence[Sequence[float]]"

__all__ = [
    "KERNELS",
    "KernelLike",
    "conv_layers",
    "depth_feature_maps",
    "figure_depth_maps",
    "figure_kernels",
    "figure_receptive_fields",
    "figure_strides",
    "filter_gray",
    "gray",
    "kernel",
    "receptive_field_bruteforce",
]

#: Classic 3x3 kernels (row 0 is the top row). Sources: Sobel and Feldman's operator
#: (1968, described in Gonzalez & Woods, *Digital Image Processing*, ch. 3); the others are standard.
KERNELS: dict[str, tuple[tuple[float, ...], ...]] = {
    "identity": ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
    "box blur": ((1 / 9, 1 / 9, 1 / 9), (1 / 9, 1 / 9, 1 / 9), (1 / 9, 1 / 9, 1 / 9)),
    "Gaussian blur": ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16)),
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
    "Sobel x (vertical edges)": ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
    "Sobel y (horizontal edges)": ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
    "outline (Laplacian)": ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
    "emboss": ((-2, -1, 0), (-1, 1, 1), (0, 1, 2)),
}


def kernel(name: str) -> torch.Tensor:
    """One of `KERNELS` as a (3, 3) float32 tensor.

    Raises:
        ValueError: an unknown name; the message lists the known ones.

    Introduced in lesson 03.
    """
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {list(KERNELS)}")
    return torch.tensor(KERNELS[name], dtype=torch.float32)


def gray(image: ImageLike) -> torch.Tensor:
    """A photo as one (H, W) float32 channel in [0, 1] (BT.601 luma weights).

    Args:
        image: (H, W, 3) uint8 array (as `course_utils.data.load_photo` returns) or (3, H, W) tensor in [0, 1].

    Introduced in lesson 03.
    """
    from course_utils.pixels import BT601_LUMA, _as_hwc_uint8

    array = _as_hwc_uint8(image).astype(np.float32) / 255
    return torch.from_numpy(array @ np.asarray(BT601_LUMA, dtype=np.float32))


def _fit_within(gray: torch.Tensor, size: int) -> torch.Tensor:
    """A (H, W) image shrunk (with antialiasing) so that its longer side is at most ``size`` pixels.

    Lesson 03's kernel editor filters photos of this size, so that it redraws quickly.
    """
    import torchvision.transforms.v2.functional as TF

    h, w = gray.shape
    if max(h, w) <= size:
        return gray
    scale = size / max(h, w)
    return TF.resize(gray[None], [round(h * scale), round(w * scale)], antialias=True)[0].clamp(0, 1)


def filter_gray(image: torch.Tensor, weights: KernelLike) -> torch.Tensor:
    """Slide one kernel over a gray image (cross-correlation, like ``F.conv2d``), keeping the size.

    The border is padded by repeating the edge pixels, so that a blur does not
    darken the frame.

    Args:
        image: (H, W) float tensor.
        weights: (kh, kw) kernel with odd sides (tensor, array or nested lists).

    Returns:
        (H, W) float32 response.

    Raises:
        ValueError: the kernel is not 2-D with odd sides.

    Introduced in lesson 03.
    """
    k = torch.as_tensor(np.asarray(weights, dtype=np.float32))
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(f"the kernel must be 2-D with odd sides (3x3, 5x5, ...); got shape {tuple(k.shape)}")
    ph, pw = k.shape[0] // 2, k.shape[1] // 2
    x = torch.as_tensor(image, dtype=torch.float32)[None, None]
    x = F.pad(x, (pw, pw, ph, ph), mode="replicate")
    return F.conv2d(x, k[None, None])[0, 0]


def _response_image(response: torch.Tensor, weights: KernelLike) -> np.ndarray:
    """Turn a filter response into a picture (H, W) uint8.

    A kernel whose weights sum to zero (an edge detector) gives signed
    responses: zero is drawn mid-gray, and the scale is set so that the
    strongest 0.5% of responses (either sign) saturate to black or white — a
    few extreme pixels would otherwise leave every edge faint. Any other kernel
    gives a brightness, clipped to [0, 1].

    Introduced in lesson 03.
    """
    r = torch.as_tensor(response, dtype=torch.float32)
    total = float(np.asarray(weights, dtype=np.float64).sum())
    if abs(total) < 1e-6:
        magnitude = r.abs().flatten()
        limit = float(torch.quantile(magnitude[:: max(1, magnitude.numel() // 1_000_000)], 0.995))
        limit = limit or float(magnitude.max()) or 1.0
        r = 0.5 + 0.5 * r / limit
    return (r.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _kernel_html(weights: KernelLike, response: torch.Tensor) -> str:
    """One line describing a kernel and its response (the kernel editor's caption).

    Introduced in lesson 03.
    """
    w = np.asarray(weights, dtype=np.float64)
    r = torch.as_tensor(response)
    total = w.sum()
    if abs(total) < 1e-6:
        note = (
            "weights sum to 0: flat regions give 0, shown mid-gray; only changes (edges) show up, "
            "scaled so the strongest 0.5% saturate"
        )
    else:
        note = f"weights sum to {total:.3g}: a flat region's brightness is multiplied by {total:.3g}; shown clipped to [0, 1]"
    return (
        f"<div style='font-size:13px'>{note}.<br>response range [{float(r.min()):.3f}, {float(r.max()):.3f}] "
        f"on a photo in [0, 1].</div>"
    )


def _check_layers(layers: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    checked = []
    for item in layers:
        try:
            k, s = item
        except (TypeError, ValueError):
            raise ValueError(f"each layer must be a (kernel_size, stride) pair; got {item!r}") from None
        if int(k) != k or int(s) != s or k < 1 or s < 1:
            raise ValueError(f"kernel_size and stride must be positive whole numbers; got {item!r}")
        checked.append((int(k), int(s)))
    return checked


def receptive_field_bruteforce(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field of a stack of layers, measured rather than computed by a formula.

    We build the stack in 1-D with all-ones kernels and no padding, take the
    first output unit of the last layer, and ask autograd which input pixels
    its value depends on: the span of non-zero gradient is the receptive field.
    (Per axis; a square kernel's field is that span squared.)

    Args:
        layers: (kernel_size, stride) pairs, first layer first; a pooling layer is a pair too.

    Returns:
        The receptive field's side, in input pixels (1 for no layers).

    Raises:
        ValueError: a malformed layer, or a stack needing an input over 10 million pixels.

    Introduced in lesson 03.
    """
    layers = _check_layers(layers)
    if not layers:
        return 1
    # A generous input length: long enough for the last layer to have at least one output.
    length, jump = 1, 1
    for k, s in layers:
        length += k * jump
        jump *= s
    if length > 10_000_000:
        raise ValueError(f"this stack needs an input of {length:,} pixels; too large to measure by brute force")
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    h = x
    for k, s in layers:
        h = F.conv1d(h, torch.ones(1, 1, k, dtype=torch.float64), stride=s)
    h[0, 0, 0].backward()
    touched = torch.nonzero(cast(torch.Tensor, x.grad)[0, 0]).flatten()
    return int(touched.max() - touched.min() + 1)


def conv_layers(model: nn.Module) -> list[tuple[str, int, int]]:
    """Every convolution and pooling layer of ``model`` that looks at a neighbourhood, in registration order.

    1x1 convolutions are skipped (they mix channels, not neighbours). For a
    network that is a chain (like EfficientNet), registration order is the order
    the data flows.

    Returns:
        ``(name, kernel_size, stride)`` for each layer (height direction).

    Introduced in lesson 03.
    """
    found = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size != (1, 1):
            found.append((name, module.kernel_size[0], module.stride[0]))
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            s = module.stride if isinstance(module.stride, int) else module.stride[0]
            found.append((name, k, s))
    return found


@torch.no_grad()
def depth_feature_maps(model: nn.Module, x: torch.Tensor, modules: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    """The outputs of several layers of ``model`` for one input batch, caught with forward hooks.

    Args:
        model: any network (put in eval mode by the caller).
        x: its input, (N, C, H, W).
        modules: name -> a sub-module of ``model`` whose output to keep.

    Returns:
        name -> that module's output (N, C', H', W'), in the order given.

    Introduced in lesson 03.
    """
    caught: dict[str, torch.Tensor] = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, name=name: caught.__setitem__(name, out.detach()))
               for name, m in modules.items()]  # fmt: skip
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: caught[name] for name in modules}


# ----------------------------------------------------------------------------- figures


def _figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def figure_kernels(image: torch.Tensor, names: Sequence[str], *, ncols: int = 4) -> Figure:
    """A gray photo filtered by each named kernel of `KERNELS`, with the kernel's numbers in the title.

    Introduced in lesson 03.
    """
    n = len(names)
    nrows = -(-n // ncols)
    fig = _figure(figsize=(3.3 * ncols, 3.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        k = kernel(name)
        ax.imshow(_response_image(filter_gray(image, k), k), cmap="gray", vmin=0, vmax=255)
        rows = "\n".join(" ".join(f"{v:5.2g}" for v in row) for row in k.tolist())
        ax.set_title(f"{name}\n{rows}", fontsize=8, family="monospace")
    fig.tight_layout()
    return fig


def _figure_kernel_editor(image: torch.Tensor, weights: KernelLike, *, title: str) -> Figure:
    """Static picture of the kernel editor: the gray photo, the kernel's numbers, the filtered photo.

    Introduced in lesson 03.
    """
    w = np.asarray(weights, dtype=np.float64)
    fig = _figure(figsize=(11, 3.6))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.45, 1]})
    axes[0].imshow(torch.as_tensor(image).numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("photo (gray)")
    limit = float(np.abs(w).max()) or 1.0
    axes[1].imshow(w, cmap="PuOr", vmin=-limit, vmax=limit)
    for (i, j), v in np.ndenumerate(w):
        axes[1].text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=10,
                     color="white" if abs(v) > 0.6 * limit else "black")  # fmt: skip
    axes[1].set_title("kernel")
    axes[2].imshow(_response_image(filter_gray(image, w), w), cmap="gray", vmin=0, vmax=255)
    axes[2].set_title("filtered")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_strides(settings: Sequence[tuple[int, int, int, int]], *, ncols: int = 2) -> Figure:
    """Where a kernel lands along one row, for several (size, kernel_size, stride, padding) settings.

    In each panel, every output position is one strip of coloured cells (the
    input cells it covers); padded cells are hatched zeros. The title gives the
    output size.

    Introduced in lesson 03.
    """
    from course_utils.viz import OKABE_ITO

    nrows = -(-len(settings) // ncols)
    fig = _figure(figsize=(6.2 * ncols, 2.6 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (size, kernel_size, stride, padding) in zip(axes.flat, settings):
        total = size + 2 * padding
        outputs = (total - kernel_size) // stride + 1
        for i in range(total):
            pad = i < padding or i >= padding + size
            ax.add_patch(_rect(i, 0, hatch="//" if pad else None, face="white", edge="black"))
            ax.text(i + 0.5, 0.5, "0" if pad else str(i - padding), ha="center", va="center", fontsize=7)
        for o in range(outputs):
            for i in range(o * stride, o * stride + kernel_size):
                ax.add_patch(_rect(i, o + 1.3, face=OKABE_ITO[o % 2], edge="white"))
            ax.text(-0.3, o + 1.8, f"out {o}", ha="right", va="center", fontsize=7)
        ax.set_xlim(-2.2, max(s[0] + 2 * s[3] for s in settings) + 0.2)
        ax.set_ylim(max((s[0] + 2 * s[3] - s[1]) // s[2] + 1 for s in settings) + 1.5, -0.2)
        ax.set_title(f"n = {size}, k = {kernel_size}, s = {stride}, p = {padding}  →  {outputs} outputs", fontsize=9)
    fig.tight_layout()
    return fig


def _rect(x: float, y: float, *, face: str, edge: str, hatch: str | None = None) -> Rectangle:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1, 1, facecolor=face, edgecolor=edge, hatch=hatch, linewidth=0.8)


def figure_receptive_fields(image: ImageLike, fields: Mapping[str, int], *, centre: tuple[int, int] | None = None) -> Figure:
    """Nested squares on a photo: the input pixels one unit of each layer can see.

    Args:
        image: the photo (H, W, 3) uint8 or (H, W) gray.
        fields: layer name -> receptive field side in pixels, smallest first.
        centre: (row, col) of the unit's centre; default the middle of the image.

    Introduced in lesson 03.
    """
    from matplotlib.patches import Rectangle

    from course_utils.pixels import _as_hwc_uint8
    from course_utils.viz import OKABE_ITO

    array = _as_hwc_uint8(image)
    h, w = array.shape[:2]
    cy, cx = centre if centre is not None else (h // 2, w // 2)
    fig = _figure(figsize=(7.5, 7.5 * h / w + 0.6))
    ax = fig.subplots()
    ax.imshow(array)
    colours = [c for c in OKABE_ITO if c != "#000000"]
    for i, (name, side) in enumerate(fields.items()):
        colour = colours[i % len(colours)]
        ax.add_patch(Rectangle((cx - side / 2, cy - side / 2), side, side, fill=False, edgecolor=colour, linewidth=2,
                               label=f"{name}: {side}×{side} px"))  # fmt: skip
    ax.set(xlim=(-0.5, w - 0.5), ylim=(h - 0.5, -0.5), title="What one unit sees, layer by layer")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def figure_depth_maps(maps: Mapping[str, torch.Tensor], *, per_stage: int = 6, fields: Mapping[str, int] | None = None) -> Figure:
    """For each stage, the ``per_stage`` feature maps with the strongest mean response (first image).

    Args:
        maps: stage name -> (N, C, H, W) output.
        per_stage: maps drawn per stage (one row each).
        fields: stage name -> receptive field side, added to the row's label.

    Introduced in lesson 03.
    """
    fig = _figure(figsize=(1.8 * per_stage + 1.8, 1.9 * len(maps)))
    axes = fig.subplots(len(maps), per_stage, squeeze=False)
    for row, (name, m) in enumerate(maps.items()):
        m = m[0].float()
        order = m.mean(dim=(1, 2)).argsort(descending=True)[:per_stage]
        for col, channel in enumerate(order.tolist()):
            ax = axes[row, col]
            ax.imshow(m[channel].numpy(), cmap="cividis", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"map {channel}", fontsize=7)
        label = f"{name}\n{m.shape[0]} maps, {m.shape[1]}×{m.shape[2]}"
        if fields is not None and name in fields:
            label += f"\nsees {fields[name]}×{fields[name]} px"
        axes[row, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig
