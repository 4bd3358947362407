"""Transfer learning: labelled subsets, learning curves, stages of a backbone, patches.

The pieces lesson 07 needs around its experiments: a stratified subset with
``n`` labels per class (nested as ``n`` grows, so a curve compares like with
like), a loop that runs one strategy over labels-per-class and seeds, the
feature maps of a timm EfficientNet at increasing depth, grayscale images
turned into what an ImageNet backbone expects, and a photo cut into the
patches a vision transformer reads as tokens. The strategies themselves (linear
probe, fine-tuning, training from scratch) are written out in the lesson.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    import datasets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from course_utils.pixels import ImageLike

__all__ = [
    "figure_depth",
    "figure_learning_curves",
    "figure_patches",
    "figure_throughput",
    "learning_curve",
    "patchify",
    "per_class_subset",
    "photo_features",
    "results_table",
    "stage_outputs",
    "to_backbone_input",
]


def per_class_subset(labels: torch.Tensor, n_per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n_per_class`` examples of every class, drawn at random.

    For one ``seed`` the subsets are nested: the 3 examples per class drawn
    for ``n_per_class=3`` are the first 3 of the 10 drawn for ``n_per_class=10``.

    Args:
        labels: (N,) int64 class labels 0..K-1.
        n_per_class: examples to take from each class (at least 1).
        seed: which random draw; the same seed gives the same indices.

    Returns:
        (K * n_per_class,) int64 indices into ``labels``, grouped by class.

    Raises:
        ValueError: ``n_per_class`` < 1, or a class has fewer examples than asked for.

    Introduced in lesson 07.
    """
    labels = torch.as_tensor(labels).long().cpu()
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1; got {n_per_class}")
    counts = torch.bincount(labels)
    if int(counts.min()) < n_per_class:
        short = int(counts.argmin())
        raise ValueError(
            f"class {short} has only {int(counts[short])} examples but n_per_class={n_per_class} was asked for; "
            "use a smaller n_per_class"
        )
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for k in range(len(counts)):
        members = torch.nonzero(labels == k).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:n_per_class]])
    return torch.cat(chosen)


def learning_curve(
    run: Callable[[torch.Tensor, int], float],
    labels: torch.Tensor,
    labels_per_class: Sequence[int],
    seeds: Sequence[int] = (0, 1, 2),
    *,
    desc: str | None = None,
) -> np.ndarray:
    """Accuracy of one strategy for every (labels per class, seed) pair.

    Args:
        run: ``run(train_indices, seed) -> test accuracy``: trains on the
            training examples at ``train_indices`` and scores on a fixed test set.
        labels: (N,) labels of the training pool the indices point into.
        labels_per_class: e.g. ``(3, 10, 30)``.
        seeds: one labelled subset (and one initialisation) per seed.
        desc: label of the progress bar.

    Returns:
        (len(labels_per_class), len(seeds)) float array of accuracies in [0, 1].

    Introduced in lesson 07.
    """
    from tqdm.auto import tqdm

    results = np.zeros((len(labels_per_class), len(seeds)))
    jobs = [(i, j) for i in range(len(labels_per_class)) for j in range(len(seeds))]
    for i, j in tqdm(jobs, desc=desc, leave=False):
        idx = per_class_subset(labels, labels_per_class[i], seeds[j])
        results[i, j] = float(run(idx, seeds[j]))
    return results


def results_table(labels_per_class: Sequence[int], results: Mapping[str, np.ndarray]) -> str:
    """A text table: one row per strategy, one column per labels-per-class, "mean ± std" in percent.

    Args:
        labels_per_class: the column headings, e.g. ``(3, 10, 30)``.
        results: strategy name -> (len(labels_per_class), seeds) accuracies in [0, 1];
            rows of NaN (not measured) print as "—".

    Returns:
        The table as a string, ready to ``print``.

    Introduced in lesson 07.
    """
    width = max(len(name) for name in results) + 2
    lines = [f"{'labels per class':<{width}}" + "".join(f"{n:>11}" for n in labels_per_class)]
    for name, acc in results.items():
        acc = np.asarray(acc, dtype=float) * 100
        cells = ["—" if np.isnan(row).any() else f"{row.mean():.0f} ± {row.std():.0f}" for row in acc]
        lines.append(f"{name:<{width}}" + "".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def stage_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Feature maps of a timm EfficientNet at increasing depth, for one batch.

    Runs ``conv_stem → bn1 → blocks[0] → ... → blocks[-1] → conv_head → bn2``
    (what ``model.forward_features`` does) and keeps every stage's output.

    Args:
        model: a timm EfficientNet (``conv_stem``, ``bn1``, ``blocks``,
            ``conv_head``, ``bn2``), e.g. ``cu.models.pretrained_backbone().model``.
        x: (N, 3, H, W) float, normalised as the model expects; run where the
            model is (a host batch is copied there).

    Returns:
        ``{"stem": ..., "block 0": ..., ..., "block 6": ..., "head": ...}``,
        each (N, C, h, w) on ``x``'s device; the last equals
        ``model.forward_features(x)``.

    Raises:
        TypeError: the model lacks those attributes.

    Introduced in lesson 07.
    """
    from course_utils.models import _eval_mode

    missing = [a for a in ("conv_stem", "bn1", "blocks", "conv_head", "bn2") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"stage_outputs needs a timm EfficientNet; this {type(model).__name__} has no {missing}")
    net: Any = model  # the timm attributes checked above; nn.Module's own types do not know them
    outputs = {}
    with _eval_mode(model), torch.no_grad():
        h = net.bn1(net.conv_stem(x.to(next(net.parameters()).device)))
        outputs["stem"] = h
        for i, block in enumerate(net.blocks):
            h = block(h)
            outputs[f"block {i}"] = h
        outputs["head"] = net.bn2(net.conv_head(h))
    return {name: maps.to(x.device) for name, maps in outputs.items()}


def to_backbone_input(
    images: torch.Tensor,
    size: int,
    mean: Sequence[float] = (0.5, 0.5, 0.5),
    std: Sequence[float] = (0.5, 0.5, 0.5),
) -> torch.Tensor:
    """Small grayscale or colour images made ready for an ImageNet backbone.

    Resizes (bilinear, antialiased when shrinking) to ``size`` x ``size``,
    repeats one channel three times, and normalises per channel.

    Args:
        images: (N, 1, H, W) or (N, 3, H, W), float in [0, 1] or uint8.
        size: output height and width in pixels.
        mean, std: per-channel normalisation of the backbone.

    Returns:
        (N, 3, size, size) float32.

    Raises:
        ValueError: not a batch of 1- or 3-channel images.

    Introduced in lesson 07.
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected a batch (N, 1 or 3, H, W); got shape {tuple(images.shape)}")
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-1])
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    mean_t = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x - mean_t) / std_t).contiguous()


def photo_features(
    model: nn.Module,
    transform: Callable[[torch.Tensor], torch.Tensor],
    photos: Sequence[ImageLike] | datasets.Dataset,
    *,
    batch_size: int = 64,
) -> torch.Tensor:
    """Pooled features of a timm model for photos of any size (a hub dataset's ``image`` column).

    Each photo goes through ``transform`` (e.g. ``cu.models.pretrained_backbone().transform``),
    then batches run through ``model.forward_features`` and
    ``model.forward_head(..., pre_logits=True)`` in eval mode, without gradients,
    on the model's device; every module gets its own mode back afterwards.

    Args:
        model: a timm classifier (EfficientNet, ResNet, ViT, ...).
        transform: one photo (PIL image or (H, W, 3) uint8 array) -> (3, S, S) float tensor.
        photos: a sequence of photos, or a ``datasets.Dataset`` with an ``image`` column.
        batch_size: photos per forward pass.

    Returns:
        (N, D) float features on the CPU, in the order of ``photos``.

    Introduced in lesson 07.
    """
    from tqdm.auto import tqdm

    from course_utils.models import _as_chw, _eval_mode

    device = next(model.parameters()).device
    net: Any = model  # a timm model: forward_features / forward_head are not nn.Module's
    chunks = []
    with _eval_mode(model), torch.no_grad():
        for start in tqdm(range(0, len(photos), batch_size), desc="features", leave=False):
            rows = photos[start : start + batch_size]
            rows = rows["image"] if isinstance(rows, dict) else rows  # a datasets.Dataset slice is a dict of columns
            batch = torch.stack([transform(_as_chw(p)) for p in rows]).to(device)
            chunks.append(net.forward_head(net.forward_features(batch), pre_logits=True).float().cpu())
    return torch.cat(chunks)


def patchify(image: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut one image into non-overlapping square patches, row by row.

    Args:
        image: (C, H, W), with H and W multiples of ``patch``.
        patch: side of a patch in pixels (16 for ViT-*/16).

    Returns:
        (H/patch * W/patch, C, patch, patch): patch ``i`` is row ``i // (W/patch)``,
        column ``i % (W/patch)`` of the grid.

    Raises:
        ValueError: the image is not (C, H, W) or its sides are not multiples of ``patch``.

    Introduced in lesson 07.
    """
    if image.ndim != 3:
        raise ValueError(f"expected one image (C, H, W); got shape {tuple(image.shape)}")
    c, h, w = image.shape
    if h % patch or w % patch:
        raise ValueError(f"image sides ({h}, {w}) must be multiples of the patch size {patch}; crop or resize first")
    grid = image.reshape(c, h // patch, patch, w // patch, patch)
    return grid.permute(1, 3, 0, 2, 4).reshape(-1, c, patch, patch)


# ----------------------------------------------------------------------------- figures


def figure_learning_curves(
    labels_per_class: Sequence[int],
    results: Mapping[str, np.ndarray],
    *,
    title: str,
    chance: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Accuracy against labels per class: mean over seeds, error bars of one standard deviation.

    Args:
        labels_per_class: the x values, e.g. ``(3, 10, 30)``.
        results: strategy name -> (len(labels_per_class), seeds) accuracies in [0, 1]
            (what `learning_curve` returns); a row of NaN means "not measured there".
        title: the panel's title.
        chance: draw a dotted line at this accuracy (e.g. 0.1 for ten classes).
        ax: draw into this matplotlib axis instead of a new figure.

    Returns:
        The matplotlib ``Figure``.

    Introduced in lesson 07.
    """
    from course_utils.viz import OKABE_ITO, _figure

    if ax is None:
        fig = _figure(figsize=(5, 3.6))
        ax = fig.subplots()
    else:
        fig = cast("Figure", ax.figure)  # the caller's axis sits on a Figure (not a SubFigure)
    markers = "osD^v"
    xs = np.asarray(labels_per_class)
    for k, (name, acc) in enumerate(results.items()):
        acc = np.asarray(acc, dtype=float) * 100
        if acc.shape[0] != len(xs):
            raise ValueError(f"{name}: {acc.shape[0]} rows of results for {len(xs)} x values")
        done = ~np.isnan(acc).any(axis=1)  # rows of NaN: not measured at that x
        ax.errorbar(xs[done], acc[done].mean(1), yerr=acc[done].std(1), marker=markers[k % len(markers)], capsize=3,
                    color=OKABE_ITO[k % len(OKABE_ITO)], label=name)  # fmt: skip
    if chance is not None:
        ax.axhline(chance * 100, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(list(labels_per_class), [str(n) for n in labels_per_class])
    ax.minorticks_off()
    ax.set(xlabel="labelled examples per class", ylabel="test accuracy (%)", title=title)
    ax.legend(fontsize=8)
    return fig


def _strongest_maps(maps: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` channels with the highest mean activation.

    Args:
        maps: (C, h, w) feature maps of one image.
        k: how many channels to pick (at most C).

    Returns:
        (k,) int64 channel indices, strongest first.

    Introduced in lesson 07.
    """
    means = maps.detach().float().mean(dim=(1, 2))
    return means.argsort(descending=True)[: min(k, len(means))]


def _stage_summary(name: str, maps: torch.Tensor, k: int) -> str:
    """One sentence about a stage's feature maps: how many, how big, which are shown.

    Args:
        name: the stage, e.g. ``"block 3"``.
        maps: (1, C, h, w) or (C, h, w) feature maps.
        k: how many of the strongest maps a figure shows.

    Introduced in lesson 07.
    """
    maps = maps[0] if maps.ndim == 4 else maps
    c, h, w = maps.shape
    shown = ", ".join(str(int(i)) for i in _strongest_maps(maps, k))
    return f"{name}: {c} feature maps of {h}×{w}; the {min(k, c)} strongest (channels {shown}) are shown."


def figure_depth(photo: ImageLike, stages: Mapping[str, torch.Tensor], *, k: int = 6, title: str) -> Figure:
    """A photo, then one row per stage: the ``k`` strongest feature maps at that depth.

    Args:
        photo: the input, (H, W, 3) uint8 array or (3, H, W) float in [0, 1].
        stages: stage name -> (1, C, h, w) or (C, h, w) feature maps (e.g. a
            selection from `stage_outputs`), shallow to deep.
        k: maps per row.
        title: the figure's title.

    Introduced in lesson 07.
    """
    from course_utils.viz import SEQUENTIAL, _figure, _to_numpy_image

    fig = _figure(figsize=(1.5 * (k + 1), 1.55 * len(stages) + 0.5))
    axes = fig.subplots(len(stages), k + 1, squeeze=False)
    image = _to_numpy_image(photo)
    for row, (name, maps) in enumerate(stages.items()):
        maps = maps[0] if maps.ndim == 4 else maps
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
        if row == 0:
            axes[row, 0].imshow(image)
            axes[row, 0].set_title("input", fontsize=9)
        else:
            axes[row, 0].axis("off")
        axes[row, 1].set_ylabel(f"{name}\n{maps.shape[0]}×{maps.shape[1]}×{maps.shape[2]}", fontsize=9)
        for col, c in enumerate(_strongest_maps(maps, k)):
            axes[row, col + 1].imshow(maps[c].detach().float().numpy(), cmap=SEQUENTIAL, interpolation="nearest")
            axes[row, col + 1].set_title(f"channel {int(c)}", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_throughput(sizes: Sequence[int], images_per_second: Sequence[float], *, title: str) -> Figure:
    """Bars of images per second at each input size, labelled with their values.

    Introduced in lesson 07.
    """
    from course_utils.viz import OKABE_ITO, _figure

    fig = _figure(figsize=(5, 3))
    ax = fig.subplots()
    labels = [f"{s}×{s}" for s in sizes]
    bars = ax.bar(labels, images_per_second, color=OKABE_ITO[0])
    ax.bar_label(bars, [f"{v:,.0f}" for v in images_per_second], fontsize=9)
    ax.set(xlabel="input size (pixels)", ylabel="images per second", title=title)
    ax.margins(y=0.15)
    return fig


def figure_patches(image: torch.Tensor, patch: int, *, title: str, gap: int = 2) -> Figure:
    """A photo as a grid of its ``patch`` x ``patch`` tokens, drawn with gaps between them.

    Args:
        image: (3, H, W) float in [0, 1], sides multiples of ``patch``.
        patch: patch side in pixels.
        title: the figure's title.
        gap: white pixels between neighbouring patches.

    Introduced in lesson 07.
    """
    from course_utils.viz import _figure

    patches = patchify(image, patch)
    rows, cols = image.shape[1] // patch, image.shape[2] // patch
    step = patch + gap
    canvas = torch.ones(image.shape[0], rows * step - gap, cols * step - gap)
    for i, p in enumerate(patches):
        r, c = divmod(i, cols)
        canvas[:, r * step : r * step + patch, c * step : c * step + patch] = p
    fig = _figure(figsize=(9, 4.6))
    ax_img, ax_grid = fig.subplots(1, 2)
    ax_img.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
    ax_img.set_title(f"the photo, {image.shape[2]}×{image.shape[1]} pixels")
    ax_grid.imshow(canvas.permute(1, 2, 0).clamp(0, 1).numpy())
    ax_grid.set_title(f"{rows}×{cols} = {rows * cols} patches of {patch}×{patch}")
    for ax in (ax_img, ax_grid):
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
