"""Which pixels does a classifier read? Saliency maps and Grad-CAM.

* A saliency map (Simonyan, Vedaldi and Zisserman 2014, "Deep inside
  convolutional networks", ICLR workshop) is the size of the gradient of one
  class's logit with respect to every input pixel: where a small change of the
  input would change the score most.
* Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: visual explanations from deep
  networks via gradient-based localization", ICCV) weighs the feature maps of a
  convolutional layer by the average gradient of the class logit with respect
  to each map, keeps the positive part, and upsamples it to the image.

Both are computed in eval mode, leave the model's mode as it was and never
touch its parameters' ``.grad``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from course_utils.models import _eval_mode
from course_utils.train import _device_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_explanations", "grad_cam", "saliency_map"]


def _targets(target: int | torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(target, device=device).long()
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"target must be one class index or one per image, shape ({n},); got shape {tuple(t.shape)}")
    return t


def _check_images(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        got = f"shape {tuple(x.shape)} and dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a float batch of images (N, C, H, W); got {got}. Add a batch dimension with x[None].")


def saliency_map(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """|d logit_target / d x|, maximised over colour channels.

    Args:
        model: a classifier returning (N, K) logits.
        x: (N, C, H, W) float images (not modified), on the host or the
            model's device (they are run where the model is).
        target: the class to explain: one index for all images or (N,) int64.

    Returns:
        (N, H, W) float32, non-negative, on ``x``'s device.

    Introduced in lesson 08.
    """
    _check_images(x)
    with _eval_mode(model):
        xg = x.detach().to(_device_of(model)).clone().requires_grad_(True)
        logits = model(xg)
        t = _targets(target, len(x), logits.device)
        (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), xg)
    return grad.abs().amax(dim=1).to(x.device)


def grad_cam(model: nn.Module, layer: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Grad-CAM heat maps of ``layer`` for class ``target``, upsampled to the image.

    Args:
        model: a classifier returning (N, K) logits.
        layer: a module inside ``model`` whose output is (N, K', h, w) feature
            maps (for the course's CNN: ``model.relu2``).
        x: (N, C, H, W) float images, on the host or the model's device (they
            are run where the model is; the maps come back on ``x``'s device).
        target: one class index or (N,) int64.

    Returns:
        (N, H, W) float32, non-negative: ReLU(sum_k alpha_k A_k) with alpha_k the
        spatial mean of d logit / d A_k, bilinearly upsampled to H x W.

    Introduced in lesson 08.
    """
    _check_images(x)
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        with _eval_mode(model):
            logits = model(x.detach().to(_device_of(model)))
            if not captured or captured[-1].ndim != 4:
                raise ValueError("layer must be a module of the model that outputs (N, K, h, w) feature maps")
            maps = captured[-1]
            t = _targets(target, len(x), logits.device)
            (grads,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), maps)
    finally:
        handle.remove()
    alpha = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((alpha * maps).sum(dim=1, keepdim=True)).detach()
    cam = nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return cam[:, 0].to(x.device)


def _mass_share(maps: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Share of each map's total inside ``region``: (N, H, W), (H, W) bool -> (N,) in [0, 1].

    Introduced in lesson 08.
    """
    maps = maps.clamp(min=0)
    total = maps.sum(dim=(1, 2)).clamp(min=1e-12)
    return (maps * region.to(maps.dtype)).sum(dim=(1, 2)) / total


def figure_explanations(images: torch.Tensor, maps: Mapping[str, torch.Tensor], titles: Sequence[str], *,
                        title: str, size: float = 1.5) -> Figure:  # fmt: skip
    """Images in the first row, one row of heat maps per explanation method.

    Args:
        images: (N, C, H, W) float in [0, 1].
        maps: ``{row name: (N, H, W) map}``; each map is stretched to its own
            maximum and drawn in ``cividis`` over a faint copy of the image.
        titles: one title per image.
        title: the figure title.

    Introduced in lesson 08.
    """
    from course_utils.viz import _figure, _to_numpy_image

    n, rows = len(images), 1 + len(maps)
    fig = _figure(figsize=(size * n + 1.2, size * rows + 0.5))
    axes = fig.subplots(rows, n, squeeze=False)
    for j in range(n):
        img = _to_numpy_image(images[j])
        gray = img if img.ndim == 2 else img.mean(-1)
        axes[0, j].imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        axes[0, j].set_title(titles[j], fontsize=8)
        for i, m in enumerate(maps.values(), start=1):
            heat = m[j].detach().cpu().float().numpy()
            heat = heat / max(float(heat.max()), 1e-12)
            axes[i, j].imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes[i, j].imshow(heat, cmap="cividis", alpha=0.75, vmin=0, vmax=1, interpolation="nearest")
    for i, name in enumerate(["image", *maps], start=0):
        axes[i, 0].set_ylabel(name, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
