"""Follow one image through a network, stage by stage (lesson 04's replay view).

`run_stages` runs any ``nn.Sequential`` layer by layer and keeps every
intermediate result with its name: the input, each convolution's feature maps,
the pooled maps, the flattened vector, the logits and (appended) the softmax
probabilities. The picture functions turn one stage into pixels quickly (NumPy,
no matplotlib) so a widget can redraw in milliseconds;
`_figure_stages` draws the whole pipeline as one matplotlib figure.

`drawing_to_image` and `_photo_to_image` turn a student's drawing or an
uploaded photo into a 32x32 input that looks like the training shapes: bright
shape, dark background, centred, at the training size.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.models import _eval_mode

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike
    from PIL.Image import Image as PILImage

__all__ = ["Stage", "drawing_to_image", "preset_drawing", "run_stages", "sequential_view"]


@dataclass
class Stage:
    """One step of the forward pass.

    Attributes:
        name: the layer's name in the model (``"conv1"``), or ``"input"`` / ``"softmax"``.
        layer: the layer's type (``"Conv2d"``), ``"input"`` or ``"softmax"``.
        output: what came out, for the whole batch, detached on the CPU:
            (N, C, H, W) feature maps or (N, D) vectors.
        params: the layer's parameter count (0 for input, softmax and
            parameter-free layers).
    """

    name: str
    layer: str
    output: torch.Tensor
    params: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example's output (without the batch dimension)."""
        return tuple(self.output.shape[1:])

    @property
    def kind(self) -> str:
        """``"maps"`` for (C, H, W) outputs, ``"probabilities"`` for the softmax, else ``"vector"``."""
        if self.layer == "softmax":
            return "probabilities"
        return "maps" if self.output.dim() == 4 else "vector"

    def describe(self) -> str:
        """One line: name, layer type, output shape, parameters."""
        shape = " × ".join(str(d) for d in self.shape)
        return f"{self.name} ({self.layer}): {shape} = {math.prod(self.shape):,} numbers, {self.params:,} parameters"


def _leaf_layers(model: nn.Sequential, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """(name, layer) in execution order; nested ``nn.Sequential`` blocks are opened up."""
    layers = []
    for name, child in model.named_children():
        full = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            layers.extend(_leaf_layers(child, prefix=f"{full}."))
        else:
            layers.append((full, child))
    return layers


@torch.no_grad()
def sequential_view(model: nn.Module, x: torch.Tensor) -> nn.Sequential:
    """An ``nn.Sequential`` over ``model``'s top-level children, if running them in order is the model.

    Many classic networks (torchvision's ResNet, VGG and AlexNet, timm's
    EfficientNet) are *Sequential-like*: their ``forward`` applies their
    children one after another, with at most a flatten before the first dense
    layer. This builds that chain (inserting an ``nn.Flatten`` named
    ``"flatten"`` where a ``Linear`` meets feature maps) and checks, on ``x``
    in eval mode, that it gives the same output as ``model`` itself. The
    layers are shared with ``model``, not copied. An ``nn.Sequential`` is
    returned as it is.

    Args:
        model: the network.
        x: an example batch (N, C, H, W) the model accepts.

    Returns:
        The chain as an ``nn.Sequential``.

    Raises:
        TypeError: running the children in order does not reproduce ``model(x)``;
            the message says to pass an ``nn.Sequential`` instead.

    Introduced in lesson 06b.
    """
    if isinstance(model, nn.Sequential):
        return model
    from collections import OrderedDict

    layers: list[tuple[str, nn.Module]] = []
    with _eval_mode(model):
        out = x
        try:
            for name, child in model.named_children():
                if isinstance(child, nn.Linear) and out.dim() > 2:
                    layers.append(("flatten", nn.Flatten()))
                    out = out.flatten(1)
                out = child(out)
                layers.append((name, child))
            same = isinstance(out, torch.Tensor) and torch.allclose(out, model(x), rtol=1e-4, atol=1e-5)
        except Exception:
            same = False
    if not same:
        raise TypeError(
            f"{type(model).__name__}'s forward does more than apply its children one after another, so it cannot be "
            "replayed stage by stage. Build the stages as an nn.Sequential yourself and pass that."
        )
    chain = nn.Sequential(OrderedDict(layers))
    chain.training = model.training
    return chain


@torch.no_grad()
def run_stages(model: nn.Module, x: torch.Tensor, *, softmax: bool = True) -> list[Stage]:
    """Run ``model`` one layer at a time and keep every intermediate output.

    Args:
        model: an ``nn.Sequential`` (nested ``nn.Sequential`` blocks are fine)
            whose layers are applied one after another, or a Sequential-like
            network such as torchvision's ResNet (see `sequential_view`).
            Blocks that are not ``nn.Sequential`` (a ResNet ``BasicBlock``)
            are one stage each.
        x: a batch (N, C, H, W) float, or one image (C, H, W).
        softmax: append a ``"softmax"`` stage holding the class probabilities
            when the last output is (N, K) logits.

    Returns:
        The stages in order, starting with ``"input"``. The model runs in eval
        mode without gradients; its train/eval mode is restored afterwards.

    Raises:
        TypeError: ``model`` is neither an ``nn.Sequential`` nor Sequential-like; the message says what to pass.
        ValueError: ``x`` is not an image tensor, or a layer fails (the message names it).

    Introduced in lesson 04.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"run_stages needs a network (an nn.Sequential or a Sequential-like module); got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
        raise ValueError(f"x must be an image tensor (C, H, W) or a batch (N, C, H, W); got {_describe(x)}")
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    if not isinstance(model, nn.Sequential):
        try:
            model = sequential_view(model, x.to(device))
        except TypeError as err:
            raise TypeError(
                f"run_stages needs an nn.Sequential (layers applied one after another); got {type(model).__name__}. {err}"
            ) from err
    stages = [Stage("input", "input", x.detach().cpu())]
    out = x.to(device)
    with _eval_mode(model):
        for name, layer in _leaf_layers(model):
            try:
                out = layer(out)
            except Exception as err:
                raise ValueError(
                    f"layer {name} ({type(layer).__name__}) failed on an input of shape {tuple(out.shape)}: {err}"
                ) from err
            params = sum(p.numel() for p in layer.parameters())
            stages.append(Stage(name, type(layer).__name__, out.detach().cpu(), params))
    if softmax and out.dim() == 2:
        stages.append(Stage("softmax", "softmax", out.detach().cpu().softmax(dim=-1)))
    return stages


def _explain_stage(stage: Stage, *, last: bool = False) -> str:
    """One plain sentence on what this stage did to the signal.

    Args:
        stage: from `run_stages`.
        last: this is the layer that produces the logits.

    Introduced in lesson 04.
    """
    shape = " × ".join(str(d) for d in stage.shape)
    kind = stage.layer
    if stage.name == "input":
        return f"The image as the network receives it: {shape} numbers between 0 and 1."
    if kind == "softmax":
        return "Softmax: exponentiate every logit and divide by the sum, giving probabilities that add up to 1."
    if kind == "Conv2d":
        return (f"{stage.shape[0]} filters slide over the previous maps; each map lights up where its filter's "
                f"pattern appears. Output {shape}.")  # fmt: skip
    if kind in ("BasicBlock", "Bottleneck"):
        return (f"A residual block: its convolutions compute a correction that is added to the block's input (the "
                f"shortcut), then a ReLU. Output {shape}.")  # fmt: skip
    if kind in ("InvertedResidual", "DepthwiseSeparableConv"):
        return (f"An EfficientNet block: depthwise convolutions filter each map on its own, 1x1 convolutions mix "
                f"the maps. Output {shape}.")  # fmt: skip
    if kind == "Normalize":
        return f"Each colour channel is shifted and scaled to the statistics the network was trained with. Output {shape}."
    if kind.startswith("BatchNorm"):
        return f"Batch norm re-centres and rescales every map with statistics learned in training. Output {shape}."
    if kind in ("ReLU", "GELU", "LeakyReLU", "SiLU"):
        return f"{kind} lets positive evidence through and silences (most) negative values. Output {shape}."
    if "AdaptiveAvgPool" in kind or kind == "SelectAdaptivePool2d":
        return f"Global average pooling keeps one number per map: its mean over all positions. Output {shape}."
    if "Pool" in kind:
        return f"Pooling keeps the strongest response in each window, so the maps shrink. Output {shape}."
    if kind == "Flatten":
        return f"Flatten lays the whole stack out as one vector of {math.prod(stage.shape):,} numbers, row by row."
    if kind == "Linear" and last:
        return f"The last linear layer gives one score (a logit) per class: {shape} numbers."
    if kind == "Linear":
        return f"Every output is a weighted sum of all the inputs plus a bias. Output {shape}."
    if kind == "Dropout":
        return "Dropout does nothing at prediction time (it only drops values while training)."
    return f"{kind} turns the previous output into {shape} numbers."


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return type(value).__name__


# ----------------------------------------------------------------------------- pictures (fast: NumPy + Pillow)


def _colormap(values: np.ndarray, cmap: str = "cividis") -> np.ndarray:
    """Values in [0, 1] (any shape) → uint8 RGB (shape + (3,)); NaN becomes light gray."""
    import matplotlib

    rgb = matplotlib.colormaps[cmap](np.nan_to_num(values, nan=0.0))[..., :3]
    rgb[np.isnan(values)] = 0.93
    return (rgb * 255).round().astype(np.uint8)


def _stretch(maps: np.ndarray) -> np.ndarray:
    """Stretch each (H, W) map of a (C, H, W) stack to [0, 1] on its own range (flat maps become 0)."""
    lo = maps.min(axis=(1, 2), keepdims=True)
    hi = maps.max(axis=(1, 2), keepdims=True)
    return (maps - lo) / np.where(hi - lo > 1e-12, hi - lo, 1.0)


def _tile(maps: np.ndarray, ncols: int, gap: int = 1) -> np.ndarray:
    """(C, H, W) → one (rows*(H+gap)-gap, cols*(W+gap)-gap) mosaic; gaps are NaN."""
    c, h, w = maps.shape
    ncols = max(1, min(ncols, c))
    nrows = math.ceil(c / ncols)
    canvas = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for i in range(c):
        r, k = divmod(i, ncols)
        canvas[r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = maps[i]
    return canvas


def _stage_picture(stage: Stage, index: int = 0, *, max_maps: int = 16, width: int = 32) -> np.ndarray:
    """One example's output at one stage as an RGB picture (before enlarging).

    Feature maps are tiled in a grid (each stretched to its own range, cividis
    colours); the input is shown in gray as it is; a vector is wrapped into
    rows of ``width`` values (one common range, so bright means large).

    Args:
        stage: from `run_stages`.
        index: which example of the batch.
        max_maps: show at most this many feature maps.
        width: values per row when a vector is wrapped.

    Returns:
        (H, W, 3) uint8.

    Introduced in lesson 04.
    """
    out = stage.output[index].float().numpy()
    if stage.name == "input":
        img = out.clip(0, 1)
        img = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img[:3]
        return (np.moveaxis(img, 0, -1) * 255).round().astype(np.uint8)
    if out.ndim == 3:
        maps = _stretch(out[:max_maps])
        return _colormap(_tile(maps, ncols=min(8, math.ceil(math.sqrt(len(maps) * 2)))))
    values = out.reshape(-1)
    lo, hi = float(values.min()), float(values.max())
    scaled = (values - lo) / (hi - lo if hi - lo > 1e-12 else 1.0)
    if stage.kind == "probabilities":
        scaled = values  # probabilities already live in [0, 1]
    width = min(width, len(values))
    rows = math.ceil(len(values) / width)
    grid = np.full(rows * width, np.nan)
    grid[: len(values)] = scaled
    return _colormap(grid.reshape(rows, width))


def _stage_strip_html(stages: Sequence[Stage], current: int) -> str:
    """The stage names in a row, arrows between them, the current one highlighted and the rest dimmed.

    Introduced in lesson 04.
    """
    parts = []
    for i, stage in enumerate(stages):
        name = html.escape(stage.name)
        if i == current:
            parts.append(f"<b style='background:#E69F00;color:black;padding:0 3px'>{name}</b>")
        elif i < current:
            parts.append(f"<span>{name}</span>")
        else:
            parts.append(f"<span style='color:#888'>{name}</span>")
    return "<div style='line-height:1.8'>" + " → ".join(parts) + "</div>"


def _figure_stages(
    stages: Sequence[Stage],
    class_names: Sequence[str] | None = None,
    *,
    names: Sequence[str] | None = None,
    index: int = 0,
    max_maps: int = 8,
    title: str | None = None,
) -> Figure:
    """The whole pipeline for one example: one row per stage, with shapes.

    Args:
        stages: from `run_stages`.
        class_names: label the logits and probabilities rows.
        names: which stages to draw (default: all).
        index: which example of the batch.
        max_maps: feature maps drawn per row.
        title: a title over the figure.

    Returns:
        A matplotlib ``Figure``.

    Introduced in lesson 04.
    """
    from matplotlib.figure import Figure

    chosen = [s for s in stages if names is None or s.name in names]
    if not chosen:
        raise ValueError(f"none of {list(names or [])} is a stage; stages are {[s.name for s in stages]}")
    fig = Figure(figsize=(9, 1.05 * len(chosen) + (0.4 if title else 0)))
    grid = fig.add_gridspec(len(chosen), max_maps + 3)
    for row, stage in enumerate(chosen):
        label_ax = fig.add_subplot(grid[row, :3])
        label_ax.axis("off")
        shape = " × ".join(str(d) for d in stage.shape)
        label_ax.text(0, 0.5, f"{stage.name}\n{stage.layer} → {shape}", va="center", fontsize=9)
        out = stage.output[index].float()
        if stage.kind == "maps" and stage.name != "input":
            for k in range(min(max_maps, out.shape[0])):
                ax = fig.add_subplot(grid[row, 3 + k])
                ax.imshow(out[k].numpy(), cmap="cividis", interpolation="nearest")
                ax.set_xticks([]), ax.set_yticks([])
        elif stage.name == "input":
            ax = fig.add_subplot(grid[row, 3])
            img = out.clamp(0, 1)
            ax.imshow(img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy(), cmap="gray",
                      vmin=0, vmax=1, interpolation="nearest")  # fmt: skip
            ax.set_xticks([]), ax.set_yticks([])
        elif class_names is not None and out.numel() == len(class_names) <= 20:
            ax = fig.add_subplot(grid[row, 3:])
            values = out.numpy() * (100 if stage.kind == "probabilities" else 1)
            ax.bar(range(len(values)), values, color="#0072B2")
            ax.set_xticks(range(len(values)), class_names, fontsize=8)
            ax.set_ylabel("%" if stage.kind == "probabilities" else "logit", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
        else:
            ax = fig.add_subplot(grid[row, 3:])
            ax.imshow(_stage_picture(stage, index, width=64), interpolation="nearest", aspect="auto")
            ax.set_xticks([]), ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def _figure_sketch_pad(cells: np.ndarray, image: torch.Tensor, probs: torch.Tensor, class_names: Sequence[str]) -> Figure:
    """The sketch pad's first state as one figure: the drawing, the network's input, its probabilities.

    Args:
        cells: (grid, grid) array, 1 where a cell is switched on (`preset_drawing`).
        image: (1, size, size) float image in [0, 1], what the network receives (`drawing_to_image`).
        probs: (K,) class probabilities for ``image`` (from `course_utils.train.predict`).
        class_names: one name per probability.

    Returns:
        A matplotlib ``Figure``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 2.6))
    ax_draw, ax_in, ax_p = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    ax_draw.imshow(cells, cmap="gray_r", vmin=0, vmax=1)
    ax_draw.set_title("your drawing (cells)")
    ax_in.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax_in.set_title("what the network sees")
    for ax in (ax_draw, ax_in):
        ax.set_xticks([]), ax.set_yticks([])
    order = probs.argsort(descending=True)
    ax_p.barh(range(len(probs)), probs[order].numpy() * 100, color="#0072B2")
    ax_p.set_yticks(range(len(probs)), [class_names[i] for i in order])
    ax_p.invert_yaxis()
    ax_p.set(xlim=(0, 100), xlabel="probability (%)", title="prediction")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the student's own input


def preset_drawing(name: str, grid: int = 10) -> np.ndarray:
    """A shape drawn on a ``grid`` x ``grid`` pad of on/off cells, as a starting point to edit.

    Args:
        name: one of the course's shapes (``"circle"``, ``"square"``, ``"triangle"``,
            ``"cross"``, ``"star"``) or ``"blank"``.
        grid: cells per side.

    Returns:
        (grid, grid) int array of 0/1.

    Introduced in lesson 04.
    """
    from course_utils.shapes import SHAPE_CLASSES, _sdf

    if name == "blank":
        return np.zeros((grid, grid), dtype=int)
    if name not in SHAPE_CLASSES:
        raise ValueError(f"unknown shape {name!r}; choose 'blank' or one of {SHAPE_CLASSES}")
    centres = (torch.arange(grid, dtype=torch.float32) + 0.5 - grid / 2) / (0.42 * grid)
    v, u = torch.meshgrid(centres, centres, indexing="ij")
    return (_sdf(name, u, v) <= 0).int().numpy()


def _place(content: torch.Tensor, size: int, extent: float, background: float, foreground: float,
           noise: float = 0.0) -> torch.Tensor:  # fmt: skip
    """Crop (H, W) intensities in [0, 1] to their bounding box, scale the box to ``extent`` of the
    image, smooth its outline, centre it, map 0 → background and 1 → foreground, and add
    pixel noise (from a fixed seed). Returns (1, size, size)."""
    mask = content > 0.5
    if not bool(mask.any()):
        return torch.full((1, size, size), background)
    rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
    box = content[int(rows[0]) : int(rows[-1]) + 1, int(cols[0]) : int(cols[-1]) + 1].float()
    h, w = box.shape
    target = max(2, round(extent * size))
    factor = target / max(h, w)
    new_h, new_w = max(1, round(h * factor)), max(1, round(w * factor))
    # Upsample 4x smoothly and cut at one half: staircase edges become straight and round ones round.
    # Averaging the 4x4 sub-pixels back down then gives soft, anti-aliased edges like the training shapes.
    fine = F.interpolate(box[None, None], size=(4 * new_h, 4 * new_w), mode="bilinear", align_corners=False)
    resized = F.avg_pool2d((fine > 0.5).float(), 4)[0, 0]
    canvas = torch.zeros(size, size)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    image = background + (foreground - background) * canvas
    if noise > 0:
        image = image + noise * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))
    return image.clamp(0, 1).unsqueeze(0)


def drawing_to_image(cells: ArrayLike, *, size: int = 32, extent: float = 0.55) -> torch.Tensor:
    """A drawing on a coarse grid of on/off cells → one input image like the training shapes.

    The drawn cells are cropped to their bounding box, smoothly resized so
    the larger side spans ``extent`` of the image (the shapes the network
    learned from span about half of it), centred, and drawn bright on a dark
    background.

    Args:
        cells: (G, G) array-like of 0/1 (or bool): 1 where the student drew.
        size: output height and width.
        extent: fraction of the image the drawing's larger side spans.

    Returns:
        (1, size, size) float32 in [0, 1]; an empty drawing gives a blank image.

    Raises:
        ValueError: ``cells`` is not 2-D.

    Introduced in lesson 04.
    """
    grid = torch.as_tensor(np.asarray(cells, dtype=np.float32))
    if grid.dim() != 2:
        raise ValueError(f"cells must be a 2-D grid of 0/1 values; got shape {tuple(grid.shape)}")
    return _place(grid.clamp(0, 1), size, extent, background=0.15, foreground=0.85)


def _photo_to_image(photo: np.ndarray | PILImage, *, size: int = 32, extent: float = 0.55) -> torch.Tensor:
    """A photo or scan of a drawn shape → one input image like the training shapes.

    Converts to gray, makes the shape the bright part (a dark shape on light
    paper is inverted, judged by the border), stretches the contrast, then
    crops, resizes and centres it as `drawing_to_image` does.

    Args:
        photo: (H, W), (H, W, 3) or (H, W, 4) uint8 array, or a PIL image.
        size: output height and width.
        extent: fraction of the image the shape's larger side spans.

    Returns:
        (1, size, size) float32 in [0, 1].

    Raises:
        ValueError: the array is not an image.

    Introduced in lesson 04.
    """
    array = np.asarray(photo)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = array[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if array.ndim != 2 or min(array.shape) < 2:
        raise ValueError(f"expected a photo as an (H, W) or (H, W, 3) array; got shape {array.shape}")
    gray = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    gray = gray / 255 if gray.max() > 1 else gray
    border = torch.cat([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).median()
    if border > gray.median() or border > 0.5:
        gray = 1 - gray
        border = 1 - border
    lo, hi = float(border), float(gray.max())
    gray = ((gray - lo) / (hi - lo if hi - lo > 1e-6 else 1.0)).clamp(0, 1)
    return _place(gray, size, extent, background=0.15, foreground=0.85)
