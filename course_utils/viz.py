"""Figures: image grids, training curves, confusion matrices, feature maps, filters.

Each figure is built by a pure function that returns a matplotlib ``Figure``
(easy to test, easy to tweak), and shown by `show`, which displays it as a PNG
with alt text in its display metadata (screen readers announce it) and closes
it. ``cu.show_images(...)`` and friends do both in one call. Colours follow the
Okabe-Ito palette, which stays distinguishable with common colour-vision
deficiencies; heat maps use ``cividis``.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from course_utils.pixels import ImageLike
    from course_utils.train import History

__all__ = [
    "DIVERGING",
    "OKABE_ITO",
    "SEQUENTIAL",
    "figure_images",
    "show",
    "show_confusion",
    "show_filters",
    "show_history",
    "show_images",
]

#: Okabe & Ito (2008) colour-blind-safe qualitative palette.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Colour maps the course uses for magnitudes (perceptually uniform, colour-blind safe) and for signed values.
SEQUENTIAL = "cividis"
DIVERGING = "PuOr"


def _setup_style() -> None:
    """Course defaults for matplotlib: colour-blind-safe colours, readable sizes.

    Introduced in lesson 00.
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=OKABE_ITO),
            "image.cmap": SEQUENTIAL,
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.grid": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
        }
    )


def _figure(*args: Any, **kwargs: Any) -> Figure:
    """A figure that is not registered with pyplot, so nothing is shown twice."""
    from matplotlib.figure import Figure

    return Figure(*args, **kwargs)


def _png_with_alt(png: bytes, alt: str) -> dict[str, str]:
    """A display bundle for a PNG that every front end shows with its alt text.

    ``image/png`` (with the alt text in the output's metadata, the notebook
    format's place for it) for static viewers, plus the same picture as an
    HTML ``<img alt=...>``, which JupyterLab and Colab prefer: their PNG
    renderer drops the metadata's alt text, so a screen reader would find none.

    Introduced in lesson 00.
    """
    data = base64.b64encode(png).decode("ascii")
    return {
        "image/png": data,
        "text/html": f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}"/>',
        "text/plain": f"[figure] {alt}",
    }


def show(fig: Figure, alt: str, *, caption: str | None = None) -> None:
    """Display ``fig`` as a PNG with alt text, then close it.

    Args:
        fig: a matplotlib ``Figure``.
        alt: what the figure shows, for readers who cannot see it (required).
        caption: an optional line printed under the figure.

    Raises:
        ValueError: ``alt`` is empty.

    Introduced in lesson 01.
    """
    if not alt or not alt.strip():
        raise ValueError("every figure needs alt text: say in one sentence what it shows")
    from IPython.display import display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    display(_png_with_alt(buffer.getvalue(), alt), raw=True, metadata={"image/png": {"alt": alt}})
    if caption:
        print(caption)
    try:  # figures made through pyplot must be closed too
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:
        pass


def _to_numpy_image(image: ImageLike) -> np.ndarray:
    """(C, H, W) or (H, W, C) or (H, W) tensor/array → (H, W) or (H, W, 3) for imshow."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if image.dtype == torch.uint8:
            image = image.float() / 255
        image = image.numpy()
    image = np.asarray(image)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image


def figure_images(
    images: Sequence[ImageLike] | torch.Tensor | np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    size: float = 1.4,
    title: str | None = None,
    cmap: str = "gray",
    normalize: bool = False,
) -> Figure:
    """A grid of images.

    Args:
        images: a batch (N, C, H, W) / (N, H, W) tensor or array, or a list of
            (C, H, W), (H, W, C) or (H, W) images; floats in [0, 1] or uint8.
        titles: one short title per image.
        ncols: images per row.
        size: inches per image.
        title: a title over the whole grid.
        cmap: colour map for one-channel images.
        normalize: stretch each image to its own min..max (for feature maps).

    Returns:
        A matplotlib ``Figure``.

    Introduced in lesson 01.
    """
    images = list(images)
    n = len(images)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = _figure(figsize=(size * ncols, size * nrows + (0.4 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = _to_numpy_image(images[i])
        if normalize:
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo + 1e-12)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, vmin=0 if img.ndim == 2 and not normalize else None,
                  vmax=1 if img.ndim == 2 and not normalize else None, interpolation="nearest")  # fmt: skip
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(
    images: Sequence[ImageLike] | torch.Tensor | np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    alt: str | None = None,
    **kwargs: Any,
) -> None:
    """Show a grid of images (see `figure_images`) with alt text.

    Introduced in lesson 00.
    """
    images = list(images)
    if alt is None:
        alt = f"A grid of {len(images)} images"
        if titles is not None:
            shown = ", ".join(str(t) for t in list(titles)[:12])
            alt += f" titled {shown}" + ("…" if len(titles) > 12 else "")
        alt += "."
    show(figure_images(images, titles, **kwargs), alt=alt)


def _figure_history(history: History, *, title: str = "Training curves") -> Figure:
    """Loss and accuracy per epoch, training and validation.

    Args:
        history: a `course_utils.train.History`.

    Introduced in lesson 04.
    """
    fig = _figure(figsize=(9, 3.2))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.arange(1, history.epochs + 1)
    ax_loss.plot(epochs, history.train_loss, "o-", label="train")
    ax_acc.plot(epochs, np.array(history.train_acc) * 100, "o-", label="train")
    if history.val_loss:
        ax_loss.plot(epochs, history.val_loss, "s--", label="validation")
        ax_acc.plot(epochs, np.array(history.val_acc) * 100, "s--", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_history(history: History, *, alt: str | None = None, **kwargs: Any) -> None:
    """Show training curves (see `_figure_history`).

    Introduced in lesson 04.
    """
    if alt is None:
        alt = (
            f"Two line charts over {history.epochs} epochs: loss falls to {history.train_loss[-1]:.3f} and "
            f"training accuracy reaches {history.train_acc[-1]:.1%}"
            + (f"; validation accuracy ends at {history.val_acc[-1]:.1%}." if history.val_acc else ".")
        )
    show(_figure_history(history, **kwargs), alt=alt)


def _confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts (K, K): row = true class, column = predicted class.

    Introduced in lesson 04.
    """
    preds, labels = torch.as_tensor(preds).long().flatten(), torch.as_tensor(labels).long().flatten()
    if preds.shape != labels.shape:
        raise ValueError(f"preds {tuple(preds.shape)} and labels {tuple(labels.shape)} differ in shape")
    return torch.bincount(labels * num_classes + preds, minlength=num_classes**2).view(num_classes, num_classes)


def _figure_confusion(cm: torch.Tensor, class_names: Sequence[str], *, title: str = "Confusion matrix") -> Figure:
    """A confusion matrix as a heat map with counts in the cells.

    Introduced in lesson 04.
    """
    cm = torch.as_tensor(cm)
    k = len(class_names)
    fig = _figure(figsize=(0.6 * k + 2.5, 0.6 * k + 2))
    ax = fig.subplots()
    ax.imshow(cm.numpy(), cmap=SEQUENTIAL)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    threshold = cm.max().item() / 2
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                    color="black" if cm[i, j] > threshold else "white")  # fmt: skip
    fig.tight_layout()
    return fig


def show_confusion(
    preds: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], *, alt: str | None = None, **kwargs: Any
) -> torch.Tensor:
    """Show the confusion matrix of ``preds`` against ``labels``; return the counts.

    Introduced in lesson 04.
    """
    cm = _confusion_matrix(preds, labels, len(class_names))
    if alt is None:
        off = cm.clone()
        off.fill_diagonal_(0)
        worst = divmod(int(off.argmax()), len(class_names))
        alt = (
            f"Confusion matrix over {len(class_names)} classes, {int(cm.trace())} of {int(cm.sum())} correct; "
            f"the most frequent mistake is {class_names[worst[0]]} taken for {class_names[worst[1]]} "
            f"({int(off.max())} times)."
        )
    show(_figure_confusion(cm, class_names, **kwargs), alt=alt)
    return cm


def _figure_filters(weight: torch.Tensor, *, ncols: int = 8, title: str | None = None) -> Figure:
    """Convolution filters (K, C, kh, kw): RGB if C == 3, else the first input channel.

    Introduced in lesson 07.
    """
    w = torch.as_tensor(weight).detach().cpu().float()
    if w.shape[1] == 3:
        lo, hi = w.amin(dim=(1, 2, 3), keepdim=True), w.amax(dim=(1, 2, 3), keepdim=True)
        images = list((w - lo) / (hi - lo + 1e-12))
        return figure_images(images, ncols=ncols, title=title, size=0.9)
    return figure_images(list(w[:, 0]), ncols=ncols, title=title, size=0.9, cmap=DIVERGING, normalize=True)


def show_filters(weight: torch.Tensor, *, alt: str | None = None, **kwargs: Any) -> None:
    """Show convolution filters (see `_figure_filters`).

    Introduced in lesson 03.
    """
    k, c, kh, kw = torch.as_tensor(weight).shape
    alt = alt or f"{k} learned {kh}x{kw} convolution filters over {c} input channel(s), drawn as small images."
    show(_figure_filters(weight, **kwargs), alt=alt)
