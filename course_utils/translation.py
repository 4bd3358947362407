"""Moving an image: what a shift does to a flat pixel vector, to a convolution, and to two classifiers.

The pure functions behind lesson 02: the two small models it compares (a
flat network and a convolutional one with the same number of parameters),
accuracy measured by where a shape sits, a shape drawn at any position with
everything else held fixed, and the pictures and figure of the shift widget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from course_utils.shapes import ShapeParams, _render_shapes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "accuracy_by_position",
    "conv_net",
    "figure_accuracy_by_position",
    "figure_equivariance",
    "figure_flat_drift",
    "figure_weight_counts",
    "flat_net",
    "hidden_for_budget",
]


def flat_net(in_features: int, hidden: int, classes: int) -> nn.Sequential:
    """A flat network: flatten every pixel into one vector, one hidden dense layer, then the logits.

    Input (N, C, H, W) float with C*H*W == ``in_features``; output (N, ``classes``) logits.

    Introduced in lesson 02.
    """
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def conv_net(classes: int, in_channels: int = 1, widths: Sequence[int] = (8, 16, 32)) -> nn.Sequential:
    """A small fully convolutional classifier: 3x3 conv blocks, a global max pool, one dense layer.

    Every block but the last halves the resolution with a 2x2 max pool; the
    global max pool then keeps, for each feature map, its strongest response
    wherever it is, so the head never sees positions.

    Args:
        classes: outputs.
        in_channels: 1 for grayscale, 3 for colour.
        widths: feature maps per block.

    Returns:
        ``nn.Sequential``: input (N, C, H, W) float, output (N, classes) logits.

    Introduced in lesson 02.
    """
    layers: list[nn.Module] = []
    channels = [in_channels, *widths]
    for i, (c_in, c_out) in enumerate(zip(channels, channels[1:])):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(channels[-1], classes)]
    return nn.Sequential(*layers)


def hidden_for_budget(in_features: int, classes: int, budget: int) -> int:
    """Hidden units of a `flat_net` whose parameter count is closest to ``budget``.

    A flat net with h hidden units has in*h + h + h*classes + classes parameters.

    Introduced in lesson 02.
    """
    per_unit = in_features + 1 + classes
    best = max(1, round((budget - classes) / per_unit))
    return min((h for h in (best - 1, best, best + 1) if h >= 1), key=lambda h: abs(h * per_unit + classes - budget))


def accuracy_by_position(
    correct: torch.Tensor, positions: torch.Tensor, edges: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy within bins of a position.

    Args:
        correct: (N,) bool, whether each prediction was right.
        positions: (N,) float, e.g. each shape's centre x in pixels.
        edges: bin edges, increasing (a value equal to the last edge falls in the last bin).

    Returns:
        ``(centres, accuracy, counts)``: one entry per bin; accuracy is NaN in an empty bin.

    Introduced in lesson 02.
    """
    ok = torch.as_tensor(correct).bool().flatten().numpy()
    pos = torch.as_tensor(positions).float().flatten().numpy()
    if ok.shape != pos.shape:
        raise ValueError(f"correct has {ok.shape[0]} entries but positions has {pos.shape[0]}")
    bins = np.asarray(edges, dtype=np.float64)
    index = np.clip(np.searchsorted(bins, pos, side="right") - 1, 0, len(bins) - 2)
    inside = (pos >= bins[0]) & (pos <= bins[-1])
    counts = np.bincount(index[inside], minlength=len(bins) - 1)
    hits = np.bincount(index[inside], weights=ok[inside].astype(np.float64), minlength=len(bins) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return (bins[:-1] + bins[1:]) / 2, accuracy, counts


def _shape_track(params: ShapeParams, label: int, xs: Sequence[float], *, y: float = 0.5) -> torch.Tensor:
    """One shape drawn at several horizontal positions, everything else (size, angle, colours, noise) fixed.

    The renderer draws the label first from its seed, so we take the first seed
    that gives ``label``; every other random draw then repeats exactly for each x.

    Args:
        params: the dataset's nuisance factors (position ranges are replaced).
        label: index into ``params.classes``.
        xs: centre x positions, as fractions of the width.
        y: centre y, as a fraction of the height.

    Returns:
        (len(xs), C, S, S) uint8.

    Introduced in lesson 02.
    """
    if not 0 <= label < len(params.classes):
        raise ValueError(f"label must be between 0 and {len(params.classes) - 1}; got {label}")
    seed = next(s for s in range(10_000) if int(_render_shapes(1, _at(params, 0.5, y), seed=s)["label"]) == label)
    return torch.cat([_render_shapes(1, _at(params, float(x), y), seed=seed)["image"] for x in xs])


def _at(params: ShapeParams, x: float, y: float) -> ShapeParams:
    return ShapeParams(**{**params.as_dict(), "x_range": (x, x), "y_range": (y, y)})


# ----------------------------------------------------------------------------- pictures and figures


def _figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def figure_weight_counts(in_features: int, hidden_sizes: Sequence[int], *, reference: tuple[str, float] | None = None) -> Figure:
    """Weights of a dense first layer on ``in_features`` inputs, for several hidden sizes (log scale).

    Args:
        in_features: inputs of the layer (e.g. 224*224*3).
        hidden_sizes: numbers of hidden units to draw.
        reference: an optional (label, parameter count) drawn as a horizontal line.

    Introduced in lesson 02.
    """
    from course_utils.viz import OKABE_ITO

    counts = [in_features * h + h for h in hidden_sizes]
    fig = _figure(figsize=(7, 3.6))
    ax = fig.subplots()
    bars = ax.bar([str(h) for h in hidden_sizes], counts, color=OKABE_ITO[0])
    ax.set_yscale("log")
    for bar, n in zip(bars, counts):
        ax.text(bar.get_x() + bar.get_width() / 2, n * 1.15, f"{n / 1e6:,.1f} M", ha="center", fontsize=9)
    if reference is not None:
        ax.axhline(reference[1], color=OKABE_ITO[3], linestyle="--")
        ax.text(-0.4, reference[1] * 1.15, reference[0], color=OKABE_ITO[3], fontsize=9)
    ax.set(xlabel="hidden units in the first dense layer", ylabel="weights + biases (log scale)",
           title=f"One dense layer on {in_features:,} inputs", ylim=(min(counts) / 3, max(counts) * 4))  # fmt: skip
    fig.tight_layout()
    return fig


def figure_flat_drift(shifts: Sequence[int], curves: Mapping[str, Sequence[float]], *, ylabel: str, title: str) -> Figure:
    """Distance between an image's flat vector and that of the same image shifted, against the shift.

    Introduced in lesson 02.
    """
    fig = _figure(figsize=(6.5, 3.4))
    ax = fig.subplots()
    for (name, values), marker in zip(curves.items(), "os^D"):
        ax.plot(list(shifts), list(values), marker=marker, label=name)
    ax.set(xlabel="shift to the right (pixels)", ylabel=ylabel, title=title)
    ax.set_xticks(list(shifts))
    ax.legend()
    fig.tight_layout()
    return fig


def figure_equivariance(panels: Mapping[str, torch.Tensor], *, title: str) -> Figure:
    """A row of single-channel maps, each stretched to its own range (signed maps centred on zero).

    Introduced in lesson 02.
    """
    fig = _figure(figsize=(3.0 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, m) in zip(axes, panels.items()):
        m = torch.as_tensor(m).detach().float().squeeze()
        if m.ndim == 3:  # an RGB image
            ax.imshow(m.permute(1, 2, 0).clamp(0, 1).numpy())
        else:
            limit = float(m.abs().max()) or 1.0
            shown = ax.imshow(m.numpy(), cmap="PuOr", vmin=-limit, vmax=limit)
            fig.colorbar(shown, ax=ax, fraction=0.035, pad=0.02)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_accuracy_by_position(
    centres: np.ndarray, accuracies: Mapping[str, np.ndarray], *, train_range: tuple[float, float], chance: float, title: str
) -> Figure:
    """Test accuracy against the shape's horizontal position, one line per model, the training range shaded.

    Introduced in lesson 02.
    """
    from course_utils.viz import OKABE_ITO

    fig = _figure(figsize=(7.5, 3.8))
    ax = fig.subplots()
    ax.axvspan(*train_range, color=OKABE_ITO[5], alpha=0.18, label="positions seen in training")
    for (name, acc), marker in zip(accuracies.items(), "os^D"):
        ax.plot(centres, np.asarray(acc) * 100, marker=marker, label=name)
    ax.axhline(chance * 100, color="gray", linestyle=":", label="chance")
    ax.set(xlabel="shape centre x (pixels from the left edge)", ylabel="test accuracy (%)", ylim=(0, 102), title=title)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def _track_picture(image: torch.Tensor, x: float, train_range: tuple[float, float], *, scale: int = 5) -> np.ndarray:
    """The widget's picture: the shape enlarged, over a strip marking the trained positions and the current one.

    Args:
        image: (1, S, S) or (3, S, S) uint8 shape image.
        x: the shape's centre x in pixels.
        train_range: centre x positions (pixels) seen in training.
        scale: enlargement factor.

    Returns:
        (S*scale + 12, S*scale, 3) uint8.

    Introduced in lesson 02.
    """
    img = torch.as_tensor(image)
    if img.shape[0] == 1:
        img = img.expand(3, -1, -1)
    big = img.permute(1, 2, 0).numpy().repeat(scale, 0).repeat(scale, 1)
    width = big.shape[1]
    strip = np.full((12, width, 3), 255, dtype=np.uint8)
    lo, hi = (int(round(v * scale)) for v in train_range)
    strip[2:8, lo:hi] = (86, 180, 233)  # Okabe-Ito sky blue: trained positions
    centre = int(round(x * scale))
    strip[:, max(0, centre - 2) : centre + 2] = (0, 0, 0)
    return np.concatenate([big, strip], axis=0)


def _figure_shift_explorer(
    picture: np.ndarray, predictions: Mapping[str, torch.Tensor], classes: Sequence[str], *, truth: int, title: str
) -> Figure:
    """Static picture of the shift widget: the shape, then each model's probabilities as bars.

    Introduced in lesson 02.
    """
    from course_utils.viz import OKABE_ITO

    fig = _figure(figsize=(3.2 + 3.2 * len(predictions), 3.2))
    axes = fig.subplots(1, 1 + len(predictions), gridspec_kw={"width_ratios": [1] + [1.1] * len(predictions)})
    axes[0].imshow(picture, interpolation="nearest")
    axes[0].axis("off")
    axes[0].set_title(title, fontsize=9)
    for ax, (name, probs) in zip(axes[1:], predictions.items()):
        probs = torch.as_tensor(probs).float().flatten()
        best = int(probs.argmax())
        colours = [OKABE_ITO[0] if i == best else "#999999" for i in range(len(classes))]
        ax.barh(range(len(classes)), probs.numpy() * 100, color=colours)
        ax.set_yticks(range(len(classes)), list(classes))
        ax.invert_yaxis()
        ax.set(xlim=(0, 100), xlabel="probability (%)")
        mark = "✓" if best == truth else "✗"
        ax.set_title(f"{name}: {classes[best]} {float(probs[best]):.0%} {mark}", fontsize=9)
    fig.tight_layout()
    return fig
