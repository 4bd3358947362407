"""Training fast: augmentation on the device, honest timing, FLOPs and peak speed (lesson 05).

Everything here works on whole batches that already live on the device, so
no image ever goes back through Python one at a time:

* `random_flip`, `random_translate` and `flip_and_translate` augment a batch
  with one random choice per image (``fit(..., augment=flip_and_translate(2))``);
* `training_step_flops` counts the floating-point operations of one training
  step with ``torch.utils.flop_counter.FlopCounterMode``, and `matmul_gflops`
  measures what this machine's matrix multiply reaches, so a training speed
  can be read as a fraction of the peak;
* `tutorial_net` is the network of PyTorch's CIFAR-10 tutorial, and
  `fast_cifar_net` a small VGG-style network in the spirit of the airbench
  CIFAR-10 speed records (Jordan 2024, arXiv:2404.00498);
* `images_to_tensors` turns a hub dataset of photos (an ``Image`` column) into
  one uint8 tensor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.train import synchronize

if TYPE_CHECKING:
    import datasets

__all__ = [
    "Scale",
    "fast_cifar_net",
    "flip_and_translate",
    "images_to_tensors",
    "pool_first_cnn",
    "random_flip",
    "random_translate",
]


def _check_batch(x: torch.Tensor, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{what} expects a batch of images (N, C, H, W); got {got}")


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2, on the device the batch lives on.

    Args:
        x: (N, C, H, W) batch.
        generator: a ``torch.Generator`` on ``x``'s device, for repeatable draws.

    Returns:
        A new (N, C, H, W) tensor; ``x`` is not modified.

    Introduced in lesson 05.
    """
    _check_batch(x, "random_flip")
    flip = torch.rand(len(x), generator=generator, device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_translate(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by its own random whole-pixel offset, filling the uncovered border with zeros.

    Every image gets an independent (dy, dx), each uniform in
    ``[-max_shift, max_shift]``; all its channels move together. One gather
    does the whole batch: pad by ``max_shift``, then read each image's window.

    Args:
        x: (N, C, H, W) batch, any dtype.
        max_shift: the largest shift in pixels (0 returns a copy).
        generator: a ``torch.Generator`` on ``x``'s device, for repeatable draws.

    Returns:
        A new (N, C, H, W) tensor of ``x``'s dtype on ``x``'s device.

    Raises:
        ValueError: ``x`` is not 4-D or ``max_shift`` is negative.

    Introduced in lesson 05.
    """
    _check_batch(x, "random_translate")
    if max_shift < 0:
        raise ValueError(f"max_shift must be 0 or more pixels; got {max_shift}")
    if max_shift == 0:
        return x.clone()
    n, _, h, w = x.shape
    s = int(max_shift)
    offsets = torch.randint(0, 2 * s + 1, (2, n), generator=generator, device=x.device)
    padded = F.pad(x, (s, s, s, s))
    rows = offsets[0].view(n, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    cols = offsets[1].view(n, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) -> (N, C, H, W)


def flip_and_translate(max_shift: int = 2, *, flip: bool = True) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """An ``augment`` function for `course_utils.train.fit`: random flips and shifts on the device.

    Args:
        max_shift: largest shift in pixels (0 for none).
        flip: also mirror half of the images left-right (leave it off for
            digits and other classes a mirror would change).

    Introduced in lesson 05.
    """

    def augment(xb: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if flip:
            xb = random_flip(xb, generator)
        return random_translate(xb, max_shift, generator) if max_shift else xb

    return augment


def training_step_flops(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> int:
    """Floating-point operations of one training step (forward and backward) on the batch ``x``.

    Counted by ``torch.utils.flop_counter.FlopCounterMode``: 2 per
    multiply-add of every matrix multiply and convolution, in the forward
    pass and in the backward pass (gradients of inputs and of weights);
    element-wise work (ReLU, pooling, normalisation, the optimizer) is not
    counted. Gradients are cleared again afterwards.

    Introduced in lesson 05.
    """
    from torch.utils.flop_counter import FlopCounterMode

    loss_fn = loss_fn or nn.CrossEntropyLoss()
    with FlopCounterMode(display=False) as counter:
        loss_fn(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def matmul_gflops(size: int = 1024, *, seconds: float = 1.0, dtype: torch.dtype = torch.float32,
                  device: torch.device | str = "cpu") -> float:  # fmt: skip
    """The speed of a large matrix multiply here, in GFLOP/s: a practical peak to compare against.

    Multiplies two ``size`` x ``size`` matrices over and over for about
    ``seconds`` (after one warm-up product) and counts 2·size³ operations per
    product.

    Introduced in lesson 05.
    """
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    synchronize(device)
    count, start = 0, time.perf_counter()
    while True:
        a @ b
        count += 1
        if count % 4 == 0:
            synchronize(device)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return 2 * size**3 * count / elapsed / 1e9


def pool_first_cnn(num_classes: int = 10, in_channels: int = 1, *, image_size: int = 28,
                   widths: tuple[int, int] = (16, 32), hidden: int | None = 64) -> nn.Sequential:  # fmt: skip
    """Lesson 05's fast CNN: two blocks of conv 3x3 → max-pool 2 → batch norm → ReLU, then a small head.

    The same layers as `course_utils.models.small_cnn` with the pooling moved
    before the normalisation and the activation (as airbench does): the
    element-wise layers then see a quarter of the values, which saves time
    wherever memory traffic, not arithmetic, is the bottleneck (a CPU).

    Args:
        num_classes: outputs.
        in_channels: 1 for grayscale, 3 for colour.
        image_size: input height and width (divisible by 4).
        widths: feature maps in the two blocks.
        hidden: units of the hidden dense layer (``None``: one linear layer).

    Introduced in lesson 05.
    """
    if image_size % 4:
        raise ValueError(f"image_size must be divisible by 4 (two 2x2 poolings); got {image_size}")
    (w1, w2), side = widths, image_size // 4
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, w1, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(w1), nn.ReLU(),
        nn.Conv2d(w1, w2, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(w2), nn.ReLU(),
        nn.Flatten(),
    ]  # fmt: skip
    if hidden:
        layers += [nn.Linear(w2 * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
    else:
        layers.append(nn.Linear(w2 * side * side, num_classes))
    return nn.Sequential(*layers)


def tutorial_net(num_classes: int = 10, in_channels: int = 3) -> nn.Sequential:
    """The small network of PyTorch's "Training a Classifier" (CIFAR-10) tutorial, for 32x32 images.

    conv 5x5 (6 maps) → ReLU → max-pool → conv 5x5 (16 maps) → ReLU → max-pool →
    120 → 84 → ``num_classes``, as in
    https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html
    (written here as an ``nn.Sequential``).

    Introduced in lesson 05.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


def fast_cifar_net(num_classes: int = 10, widths: tuple[int, int, int] = (64, 256, 256)) -> nn.Sequential:
    """A small VGG-style network for 32x32 colour images, in the spirit of airbench.

    A 2x2 stem convolution, then three blocks of (conv 3x3 → max-pool 2 →
    batch norm → GELU → conv 3x3 → batch norm → GELU), then a 3x3 max-pool,
    one linear layer and a fixed 1/9 scale on the logits. The layout follows the airbench94 network (Keller
    Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU",
    arXiv:2404.00498), without its other tricks (whitening initialisation,
    Lookahead, test-time augmentation), so expect fewer points per second.

    Introduced in lesson 05.
    """

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c_out), nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU(),
        ]  # fmt: skip

    stem = 24
    layers: list[nn.Module] = [nn.Conv2d(3, stem, 2, padding=0, bias=True), nn.GELU()]
    c = stem
    for width in widths:
        layers += block(c, width)
        c = width
    layers += [nn.MaxPool2d(3), nn.Flatten(), nn.Linear(c, num_classes, bias=False), Scale(1 / 9)]
    return nn.Sequential(*layers)


class Scale(nn.Module):
    """Multiply by a fixed number (airbench scales its logits by 1/9).

    Introduced in lesson 05.
    """

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


def images_to_tensors(split: datasets.Dataset, *, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A split with an ``Image`` column (photos, e.g. CIFAR-10 from the hub) as one uint8 tensor.

    Args:
        split: a ``datasets.Dataset`` with ``image`` (PIL images) and ``label``.
        size: resize every photo to ``size`` x ``size`` first (needed when
            their sizes differ).

    Returns:
        ``(x, y)``: x (N, 3, H, W) uint8, y (N,) int64. Keep x as uint8 on the
        device (4x less memory) and convert batches to float there.

    Raises:
        ValueError: the photos differ in size and no ``size`` was given.

    Introduced in lesson 05.
    """
    from PIL import Image

    images = []
    for img in split["image"]:
        img = img.convert("RGB")
        if size is not None and img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        images.append(np.asarray(img, dtype=np.uint8))
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise ValueError(f"the photos have {len(shapes)} different sizes; pass size=... to resize them")
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    y = torch.as_tensor(np.asarray(split["label"], dtype=np.int64))
    return x, y
