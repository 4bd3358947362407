"""Common image corruptions at five severities, in the spirit of ImageNet-C.

Hendrycks and Dietterich (2019, "Benchmarking neural network robustness to
common corruptions and perturbations", ICLR) corrupt the ImageNet validation
images with 15 corruptions at 5 severities each and measure how accuracy falls.
We use six everyday ones. Noise, blur, contrast and JPEG take ImageNet-C's
severity values (blur scaled from their 224-pixel images to the image's size);
brightness is a multiplicative factor and rotation is not part of ImageNet-C.
Each operation is torchvision's (``torchvision.transforms.v2.functional``)
except Gaussian noise, which is drawn here so that a ``torch.Generator`` makes
it reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from course_utils.models import Pretrained

__all__ = [
    "CORRUPTIONS",
    "PARAMETER_NAMES",
    "classify_corrupted",
    "corrupt",
    "figure_corruption_grid",
    "figure_severity_curves",
    "photo_crops",
]

#: kind -> the parameter at severities 1..5 (severity 0 is the clean image).
CORRUPTIONS: dict[str, tuple[float, ...]] = {
    "brightness": (1.25, 1.5, 1.75, 2.0, 2.5),  # brightness factor
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # contrast factor (ImageNet-C)
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # noise std in [0, 1] units (ImageNet-C)
    "gaussian_blur": (1, 2, 3, 4, 6),  # blur sigma in pixels of a 224-pixel image (ImageNet-C)
    "jpeg": (25, 18, 15, 10, 7),  # JPEG quality (ImageNet-C)
    "rotate": (10, 20, 30, 45, 60),  # degrees, counter-clockwise
}

#: What the number in `CORRUPTIONS` means, for tables and titles.
PARAMETER_NAMES: dict[str, str] = {
    "brightness": "factor",
    "contrast": "factor",
    "gaussian_noise": "sigma",
    "gaussian_blur": "sigma at 224 px",
    "jpeg": "quality",
    "rotate": "degrees",
}

_MAX_SEVERITY = 5


def _check_severity(kind: str, severity: int) -> None:
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption kind {kind!r}; choose one of {list(CORRUPTIONS)}")
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 0 <= severity <= _MAX_SEVERITY:
        raise ValueError(f"severity must be an integer from 0 (clean) to {_MAX_SEVERITY}; got {severity!r}")


def corruption_parameter(kind: str, severity: int) -> float:
    """The parameter `corrupt` uses for ``kind`` at ``severity`` (1-5).

    Introduced in lesson 08.
    """
    _check_severity(kind, severity)
    if severity == 0:
        raise ValueError("severity 0 is the clean image: it has no parameter")
    return CORRUPTIONS[kind][severity - 1]


def corrupt(x: torch.Tensor, kind: str, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Corrupt images: ``kind`` in `CORRUPTIONS`, ``severity`` from 0 (clean) to 5.

    Args:
        x: (C, H, W) or (N, C, H, W) float images in [0, 1] (not modified).
        kind: ``"brightness"``, ``"contrast"``, ``"gaussian_noise"``,
            ``"gaussian_blur"``, ``"jpeg"`` or ``"rotate"``.
        severity: 0 returns an unchanged copy; 1-5 use the parameters in `CORRUPTIONS`.
        generator: random generator for the noise (default: the global one).

    Returns:
        A new float tensor of the same shape, values in [0, 1].

    Raises:
        ValueError: an unknown kind, a severity outside 0-5, or images that are
            not a float tensor of 3 or 4 dimensions.

    Introduced in lesson 08.
    """
    import torchvision.transforms.v2.functional as F

    _check_severity(kind, severity)
    if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4) or not x.is_floating_point():
        got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be float images in [0, 1], shape (C, H, W) or (N, C, H, W); got {got}")
    if severity == 0:
        return x.clone()
    p = CORRUPTIONS[kind][severity - 1]
    if kind == "brightness":
        out = F.adjust_brightness(x, p)
    elif kind == "contrast":
        out = F.adjust_contrast(x, p)
    elif kind == "gaussian_noise":
        out = x + p * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    elif kind == "gaussian_blur":
        sigma = p * min(x.shape[-2:]) / 224
        k = 2 * math.ceil(3 * sigma) + 1
        out = F.gaussian_blur(x, [k, k], [sigma, sigma])
    elif kind == "jpeg":
        pixels = (x.clamp(0, 1) * 255).round().to(torch.uint8)
        out = F.jpeg(pixels, int(p)).to(x.dtype) / 255
    else:  # rotate
        out = F.rotate(x, float(p), interpolation=F.InterpolationMode.BILINEAR)
    return out.clamp(0, 1)


def photo_crops(bundle: Pretrained, photos: Sequence[np.ndarray]) -> torch.Tensor:
    """Photos as the pretrained model sees them, before normalisation: (N, 3, 224, 224) in [0, 1].

    Args:
        bundle: a `course_utils.models.Pretrained` (its transform resizes,
            crops and normalises; the normalisation is undone here).
        photos: (H, W, 3) uint8 arrays.

    Introduced in lesson 08.
    """
    batch = bundle.preprocess(list(photos))
    mean = torch.tensor(bundle.mean).view(1, 3, 1, 1)
    std = torch.tensor(bundle.std).view(1, 3, 1, 1)
    return (batch * std + mean).clamp(0, 1)


def classify_corrupted(bundle: Pretrained, crops: torch.Tensor, kinds: Sequence[str], *, seed: int = 0,
                       batch_size: int | None = None, progress: bool = True) -> dict[str, torch.Tensor]:  # fmt: skip
    """Run the pretrained model on every photo x corruption x severity.

    The photos are corrupted together and classified together: one forward
    pass for the clean photos, then one per corruption and severity over all
    photos (split into passes of ``batch_size`` only if it is smaller than the
    number of photos), in eval mode and under ``torch.inference_mode()``.

    Args:
        bundle: a `course_utils.models.Pretrained`.
        crops: (P, 3, 224, 224) photos in [0, 1] (see `photo_crops`).
        kinds: corruption kinds to apply.
        seed: seeds the noise.
        batch_size: at most this many images per forward pass (default: all P photos at once).
        progress: show a progress bar.

    Returns:
        ``{"probs": (P, len(kinds), 6, 1000) float32 softmax probabilities,
        "images": (P, len(kinds), 6, 3, 224, 224) uint8 corrupted crops}``;
        index 0 along the severity axis is the clean photo.

    Introduced in lesson 08.
    """
    import os

    from tqdm.auto import tqdm

    from course_utils.models import _eval_mode

    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of images (or None for all photos); got {batch_size!r}")
    gen = torch.Generator().manual_seed(seed)
    p, k, s = len(crops), len(kinds), _MAX_SEVERITY + 1
    mean = torch.tensor(bundle.mean).view(1, 3, 1, 1)
    std = torch.tensor(bundle.std).view(1, 3, 1, 1)
    device = next(bundle.model.parameters()).device
    images = torch.empty(p, k, s, *crops.shape[1:], dtype=torch.uint8)
    quiet = not progress or os.environ.get("TQDM_DISABLE", "") not in ("", "0")

    def classify(pixels: torch.Tensor) -> torch.Tensor:
        """(P, 3, H, W) uint8 -> (P, classes) probabilities, as the model sees exactly these pixels.

        The batch is laid out channels-last: on a CPU, convolutions (the depthwise
        ones of EfficientNet above all) then run about a third faster, with the same
        results up to rounding.
        """
        chunks = [bundle.model(((xb.float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
                               .to(device)).softmax(-1).float().cpu()
                  for xb in pixels.split(batch_size or len(pixels))]  # fmt: skip
        return torch.cat(chunks)

    results: dict[tuple[int, int], torch.Tensor] = {}
    with _eval_mode(bundle.model), torch.inference_mode():
        clean = (crops * 255).round().to(torch.uint8)
        images[:, :, 0] = clean[:, None]  # severity 0: the clean photo, once per kind
        clean_probs = classify(clean)
        steps = [(i, sev) for i in range(k) for sev in range(1, s)]
        bar = tqdm(steps, desc="pretrained model on corrupted photos", disable=True if quiet else None, leave=False)
        for i, sev in bar:
            pixels = (corrupt(crops, kinds[i], sev, gen) * 255).round().to(torch.uint8)
            images[:, i, sev] = pixels
            results[i, sev] = classify(pixels)
    # Built outside inference mode, so that the caller gets ordinary tensors.
    probs = torch.stack([torch.stack([clean_probs] + [results[i, sev] for sev in range(1, s)], dim=1)
                         for i in range(k)], dim=1)  # fmt: skip
    return {"probs": probs, "images": images}


def figure_corruption_grid(image: torch.Tensor, kinds: Sequence[str], *, title: str, size: float = 1.3,
                           generator: torch.Generator | None = None) -> Figure:  # fmt: skip
    """One image under every corruption (rows) at severities 0-5 (columns).

    Args:
        image: (C, H, W) float in [0, 1].
        kinds: corruption kinds, one row each.

    Introduced in lesson 08.
    """
    from course_utils.viz import _figure, _to_numpy_image

    fig = _figure(figsize=(size * (_MAX_SEVERITY + 1) + 1.0, size * len(kinds) + 0.6))
    axes = fig.subplots(len(kinds), _MAX_SEVERITY + 1, squeeze=False)
    for i, kind in enumerate(kinds):
        for sev in range(_MAX_SEVERITY + 1):
            ax = axes[i, sev]
            img = _to_numpy_image(corrupt(image, kind, sev, generator))
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("clean" if sev == 0 else f"severity {sev}", fontsize=8)
            if sev == 0:
                ax.set_ylabel(kind.replace("_", " "), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_severity_curves(curves: Mapping[str, Sequence[float]], *, title: str, ylabel: str,
                           chance: float | None = None, ax_titles: Sequence[str] | None = None,
                           extra: Mapping[str, Sequence[float]] | None = None, extra_ylabel: str | None = None) -> Figure:  # fmt: skip
    """A metric (in [0, 1]) against severity 0-5, one line per corruption kind.

    Args:
        curves: ``{kind: value at severities 0..5}``.
        title: the figure title.
        ylabel: what the values are.
        chance: a dashed chance line.
        extra: a second panel with another metric, same layout.
        extra_ylabel: its label.
        ax_titles: titles of the one or two panels.

    Introduced in lesson 08.
    """
    from course_utils.viz import OKABE_ITO, _figure

    panels = [curves] + ([extra] if extra is not None else [])
    labels = [ylabel] + ([extra_ylabel or ""] if extra is not None else [])
    fig = _figure(figsize=(5.2 * len(panels) + 1.6, 3.6))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    markers = "osD^v<>"
    for j, (ax, data) in enumerate(zip(axes, panels)):
        for i, (kind, ys) in enumerate(data.items()):
            ax.plot(range(len(ys)), 100 * np.asarray(ys, dtype=float), marker=markers[i % len(markers)],
                    color=OKABE_ITO[i % len(OKABE_ITO)], label=kind.replace("_", " "))  # fmt: skip
        if chance is not None:
            ax.axhline(100 * chance, color="black", linestyle="--", linewidth=1, label="chance")
        ax.set(xlabel="severity (0 = clean)", ylabel=labels[j], ylim=(0, 105), xticks=range(_MAX_SEVERITY + 1))
        if ax_titles:
            ax.set_title(ax_titles[j], fontsize=10)
    axes[-1].legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.0, 0.0))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _figure_corrupted_prediction(image: torch.Tensor, probs: torch.Tensor, class_names: Sequence[str], *, title: str,
                                 accepted: Sequence[str] = (), k: int = 5,
                                 mark_label: str = "counts as right") -> Figure:  # fmt: skip
    """A (corrupted) photo next to the model's top-``k`` classes.

    Args:
        image: (3, H, W) uint8 or float in [0, 1].
        probs: (K,) class probabilities.
        class_names: the K class names.
        title: the figure title (say which corruption and severity).
        accepted: class names that count as right for this photo; their bars
            are drawn in a second colour and marked with a check mark.
        k: how many classes to show.
        mark_label: what the check mark means, shown in the panel title.

    Introduced in lesson 08.
    """
    from course_utils.viz import OKABE_ITO, _figure, _to_numpy_image

    probs = torch.as_tensor(probs).detach().float().flatten()
    k = min(k, len(probs))
    top = probs.topk(k)
    fig = _figure(figsize=(8.2, 3.2))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.35]})
    ax.imshow(_to_numpy_image(image), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    names = [class_names[int(i)] for i in top.indices]
    ok = [n in set(accepted) for n in names]
    colors = [OKABE_ITO[2] if good else OKABE_ITO[0] for good in ok]
    bars = bx.barh(range(k), 100 * top.values.numpy(), color=colors)
    bx.bar_label(bars, labels=[f"{100 * float(v):.0f}%" for v in top.values], fontsize=8, padding=2)
    bx.set_yticks(range(k), [("✓ " if good else "") + n for n, good in zip(names, ok)])
    bx.invert_yaxis()
    bx.set(xlim=(0, 112), xlabel="probability (%)", title=f"top-{k} classes (✓ = {mark_label})")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
