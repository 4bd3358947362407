"""The recipe scaled up: plain and residual stacks, separable convolutions, network families.

Lesson 06b's measurements as pure functions: a plain or residual stack of a
chosen depth (`depth_net`), a short training run that records its loss
(`_train_steps`), the gradient norm of every weight layer (`gradient_norms`),
what a depthwise separable convolution saves (`_separable_macs`,
`separable_pairs`), the measured cost of architectures built on PyTorch's
``meta`` device (`measure`), and the published ImageNet accuracies the lesson
plots against those costs (`PUBLISHED`, each with its source).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Cost",
    "DepthRun",
    "PUBLISHED",
    "Published",
    "SeparablePair",
    "StackBlock",
    "basic_block",
    "copy_by_role",
    "degradation_runs",
    "depth_net",
    "figure_degradation",
    "figure_depth_summary",
    "figure_family",
    "figure_recipe",
    "gradient_norms",
    "measure",
    "seeded",
    "separable_block",
    "separable_pairs",
]


# ----------------------------------------------------------------------------- plain and residual stacks


class StackBlock(nn.Module):
    """Two 3x3 conv + batch-norm layers, with or without an identity shortcut around them.

    ``residual=True`` computes ``relu(x + bn(conv(relu(bn(conv(x))))))``: the
    block only learns a correction to its input. ``residual=False`` is the same
    block without the ``x +``. Channels and size are kept, so the shortcut is
    the identity.

    Introduced in lesson 06b.
    """

    def __init__(self, width: int, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, width, H, W) float -> the same shape."""
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + x if self.residual else out)


def depth_net(depth: int, residual: bool, *, width: int = 8, in_channels: int = 1, num_classes: int = 10) -> nn.Sequential:
    """A stack with ``depth`` weight layers: a stride-2 stem conv, (depth - 2) / 2 blocks, a linear head.

    Counted as He et al. (2016) count: every convolution and the final linear
    layer is one layer, so depth 20 is a stem, 9 blocks of two convolutions,
    and the head.

    Args:
        depth: weight layers, an even number >= 4.
        residual: identity shortcuts around every block (`StackBlock`).
        width: channels of every convolution.
        in_channels: channels of the input images.
        num_classes: logits out.

    Returns:
        ``nn.Sequential``: input (N, in_channels, H, W) float, output (N, num_classes).

    Raises:
        ValueError: ``depth`` is odd or below 4.

    Introduced in lesson 06b.
    """
    if depth < 4 or depth % 2:
        raise ValueError(f"depth counts the stem, two convolutions per block and the head: an even number >= 4; got {depth}")
    blocks = [StackBlock(width, residual) for _ in range((depth - 2) // 2)]
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes),
    )  # fmt: skip


@torch.no_grad()
def seeded(module: nn.Module, seed: int) -> nn.Module:
    """Fill every parameter and buffer of ``module`` from an explicitly seeded generator, in place.

    Weights get N(0, 1/fan_in) values; batch-norm scales land in [0.5, 1.5],
    shifts and running means in N(0, 0.1²), running variances in [0.5, 1.5],
    so that train and eval mode give different, well-scaled outputs. The same
    module structure and seed always give the same values.

    Args:
        module: any network (float parameters).
        seed: the generator's seed.

    Returns:
        ``module`` itself.

    Introduced in lesson 06b's exercise.
    """
    generator = torch.Generator().manual_seed(seed)
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            if sub.weight is not None and sub.bias is not None:  # None when affine=False
                sub.weight.copy_(0.5 + torch.rand(sub.weight.shape, generator=generator))
                sub.bias.copy_(0.1 * torch.randn(sub.bias.shape, generator=generator))
            if sub.running_mean is not None and sub.running_var is not None:  # None when track_running_stats=False
                sub.running_mean.copy_(0.1 * torch.randn(sub.running_mean.shape, generator=generator))
                sub.running_var.copy_(0.5 + torch.rand(sub.running_var.shape, generator=generator))
        else:
            for param in sub.parameters(recurse=False):
                fan_in = max(1, param[0].numel()) if param.dim() > 1 else 1
                param.copy_(torch.randn(param.shape, generator=generator) / fan_in**0.5)
    return module


def _execution_roles(module: nn.Module, example: torch.Tensor) -> dict[str, nn.Module]:
    """Name each Conv2d and BatchNorm2d by the role it plays when ``module`` runs on ``example``.

    Convolutions are numbered in execution order separately per kernel size
    (``"conv3x3#0"``, ``"conv3x3#1"``, ``"conv1x1#0"``); a batch norm takes the
    role of the convolution that ran last before it (``"bn after conv3x3#0"``).
    """
    from course_utils.models import _eval_mode

    order: list[nn.Module] = []
    handles = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.modules.batchnorm._BatchNorm))]  # fmt: skip
    try:
        with _eval_mode(module), torch.no_grad():
            module(example)
    finally:
        for handle in handles:
            handle.remove()
    roles: dict[str, nn.Module] = {}
    counts: dict[str, int] = {}
    last_conv = "input"
    for m in dict.fromkeys(order):
        if isinstance(m, nn.Conv2d):
            kind = "conv{}x{}".format(*m.kernel_size)
            last_conv = f"{kind}#{counts.get(kind, 0)}"
            counts[kind] = counts.get(kind, 0) + 1
            roles[last_conv] = m
        else:
            roles[f"bn after {last_conv}"] = m
    return roles


@torch.no_grad()
def copy_by_role(source: nn.Module, target: nn.Module, example: torch.Tensor, *, seed: int = 0) -> nn.Module:
    """Give ``target`` the parameters of ``source`` layer by layer, matched by what each layer does.

    Two implementations of the same block may name and order their layers
    differently (the shortcut defined first or last, ``nn.Sequential`` or
    attributes). Running both on ``example`` tells which convolution runs
    first, which batch norm follows which convolution, and which convolution
    is the 1x1 shortcut; layers in the same role get the same values. A
    target layer with no counterpart of the same shape (a wrong design) gets
    values from a generator seeded with ``seed`` instead, and every other
    parameter is left alone. Batch-norm running statistics are copied too.

    Args:
        source: the reference (e.g. torchvision's ``BasicBlock``), already filled (see `seeded`).
        target: the implementation to fill, in place.
        example: one input batch both accept, e.g. (2, C, 8, 8).

    Returns:
        ``target``.

    Introduced in lesson 06b's exercise.
    """
    mine, theirs = _execution_roles(source, example), _execution_roles(target, example)
    fallback = torch.Generator().manual_seed(seed)
    for role, layer in theirs.items():
        match = mine.get(role)
        for name, value in layer.state_dict().items():
            ref = match.state_dict().get(name) if match is not None else None
            if ref is not None and ref.shape == value.shape:
                value.copy_(ref)
            elif value.is_floating_point():
                value.copy_(0.5 + torch.rand(value.shape, generator=fallback))
    return target


def basic_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    """torchvision's ResNet ``BasicBlock``, with the 1x1 projection shortcut when the shape changes.

    The shortcut is the identity when ``stride == 1`` and the channel counts
    match; otherwise a 1x1 convolution (stride ``stride``, no bias) and a
    ``BatchNorm2d``, exactly as torchvision's ResNet builds it.

    Returns:
        A module: input (N, in_channels, H, W) float -> (N, out_channels, H', W').

    Introduced in lesson 06b.
    """
    from torchvision.models.resnet import BasicBlock, conv1x1

    needs_projection = stride != 1 or in_channels != out_channels
    downsample = (
        nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)) if needs_projection else None
    )
    return BasicBlock(in_channels, out_channels, stride, downsample=downsample)


def separable_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """MobileNet's depthwise separable block from torchvision's ``Conv2dNormActivation`` parts.

    A depthwise 3x3 convolution (``groups=in_channels``), batch norm and ReLU,
    then a pointwise 1x1 convolution, batch norm and ReLU; no biases.

    Introduced in lesson 06b's exercise.
    """
    from torchvision.ops import Conv2dNormActivation

    return nn.Sequential(
        Conv2dNormActivation(in_channels, in_channels, 3, stride=stride, groups=in_channels),
        Conv2dNormActivation(in_channels, out_channels, 1),
    )


def _weight_layers(model: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def gradient_norms(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[float]:
    """L2 norm of the loss gradient of every Conv2d and Linear weight, in ``model.modules()`` order.

    One forward and backward pass on ``(x, y)`` in training mode (batch norm
    uses the batch's statistics, as during training). Afterwards every
    submodule is back in the mode it was in, every buffer (batch norm's
    running statistics) holds its old values, and every parameter's ``.grad``
    is exactly as it was: the gradients are taken with
    ``torch.autograd.grad``, never accumulated into ``.grad``.

    Args:
        model: any network.
        x: a batch of inputs.
        y: its labels.
        loss_fn: ``loss_fn(logits, y)``; default cross-entropy.

    Returns:
        One float per weight layer, first layer first.

    Raises:
        ValueError: the model has no Conv2d or Linear layer.

    Introduced in lesson 06b's exercise.
    """
    from course_utils.models import _train_mode

    layers = _weight_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d or nn.Linear layer to measure")
    buffers = [(b, b.detach().clone()) for b in model.buffers()]  # batch norm's running statistics
    try:
        with _train_mode(model):
            loss = (loss_fn or F.cross_entropy)(model(x), y)
            grads = torch.autograd.grad(loss, [layer.weight for layer in layers])
    finally:
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
    return [float(g.norm()) for g in grads]


def _train_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int, batch_size: int = 32, lr: float = 0.1,
                 seed: int = 0) -> list[float]:  # fmt: skip
    """Train with SGD (momentum 0.9) on random batches; the loss of every step.

    Args:
        model: the network (trained in place, left in train mode).
        x, y: the training set, (N, C, H, W) float and (N,) int64.
        steps: optimiser steps.
        batch_size: images per step, drawn at random (with replacement) from a seeded generator.
        lr: the learning rate, constant.
        seed: seeds the batches.

    Returns:
        ``steps`` floats: each step's training loss, before its update.

    Introduced in lesson 06b.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for _ in range(steps):
        i = torch.randint(0, len(x), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(x[i]), y[i])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@dataclass
class DepthRun:
    """One network of the degradation experiment.

    Attributes:
        depth: weight layers.
        residual: with identity shortcuts.
        init_norms: gradient norm of every weight layer at initialisation, first layer first.
        losses: training loss of every step.
        train_loss: loss on a fixed sample of the training set after training (eval mode).
        train_accuracy: accuracy on that sample.
    """

    depth: int
    residual: bool
    init_norms: list[float]
    losses: list[float]
    train_loss: float
    train_accuracy: float

    @property
    def label(self) -> str:
        """``"plain-20"`` or ``"residual-20"``."""
        return f"{'residual' if self.residual else 'plain'}-{self.depth}"

    def running_loss(self, window: int = 25) -> list[float]:
        """The step losses averaged over a sliding window (shorter at the start)."""
        out, total = [], 0.0
        for i, value in enumerate(self.losses):
            total += value - (self.losses[i - window] if i >= window else 0.0)
            out.append(total / min(i + 1, window))
        return out


def degradation_runs(x: torch.Tensor, y: torch.Tensor, depths: Sequence[int], *, steps: int, batch_size: int = 32,
                     lr: float = 0.1, width: int = 8, sample: int = 2000, seed: int = 0,
                     progress: bool = True) -> list[DepthRun]:  # fmt: skip
    """Train a plain and a residual `depth_net` of every depth on the same batches.

    Every network starts from ``torch.manual_seed(seed)`` and sees the same
    sequence of batches. Before training, the gradient norms of one batch of
    ``batch_size`` are recorded; after it, the loss and accuracy on the first
    ``sample`` training images (eval mode).

    Returns:
        One `DepthRun` per (depth, plain/residual), plain first at each depth.

    Introduced in lesson 06b.
    """
    from tqdm.auto import tqdm

    runs = []
    jobs = [(d, r) for d in depths for r in (False, True)]
    for depth, residual in tqdm(jobs, desc="plain and residual nets", disable=not progress, leave=False):
        torch.manual_seed(seed)
        model = depth_net(depth, residual, width=width, in_channels=x.shape[1], num_classes=int(y.max()) + 1)
        model.train()
        norms = gradient_norms(model, x[:batch_size], y[:batch_size])
        losses = _train_steps(model, x, y, steps=steps, batch_size=batch_size, lr=lr, seed=seed)
        model.eval()
        with torch.no_grad():
            logits = model(x[:sample])
        runs.append(DepthRun(depth, residual, norms, losses, float(F.cross_entropy(logits, y[:sample])),
                             float((logits.argmax(1) == y[:sample]).float().mean())))  # fmt: skip
    return runs


def _pick(runs: Sequence[DepthRun], depth: int | None, residual: bool) -> DepthRun:
    for run in runs:
        if run.depth == depth and run.residual == residual:
            return run
    raise ValueError(f"no run at depth {depth}; depths are {sorted({r.depth for r in runs})}")


def figure_degradation(runs: Sequence[DepthRun], depth: int | None = None, *, window: int = 25) -> Figure:
    """Left: running training loss against step; right: gradient norm per layer at initialisation.

    Args:
        runs: from `degradation_runs`.
        depth: draw only this depth's plain and residual nets (default: every run).
        window: steps averaged in the running loss.

    Introduced in lesson 06b.
    """
    from course_utils.viz import OKABE_ITO, _figure

    chosen = [r for r in runs if depth is None or r.depth == depth]
    if not chosen:
        _pick(runs, depth, False)
    depths = sorted({r.depth for r in runs})
    fig = _figure(figsize=(10, 3.6))
    left, right = fig.subplots(1, 2)
    for run in chosen:
        colour = OKABE_ITO[depths.index(run.depth) % len(OKABE_ITO)]
        style = "-" if run.residual else "--"
        left.plot(range(1, len(run.losses) + 1), run.running_loss(window), style, color=colour, label=run.label)
        right.semilogy(range(1, len(run.init_norms) + 1), run.init_norms, style, color=colour, marker=".", label=run.label)
    left.set(xlabel="training step", ylabel=f"training loss (mean of {window} steps)", title="Training loss")
    right.set(xlabel="weight layer (input side → output side)", ylabel="gradient norm (log scale)",
              title="Gradient norms at initialisation")  # fmt: skip
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figure_depth_summary(runs: Sequence[DepthRun]) -> Figure:
    """Training loss and training accuracy after training, against depth, plain and residual.

    Introduced in lesson 06b.
    """
    from course_utils.viz import OKABE_ITO, _figure

    fig = _figure(figsize=(9, 3.2))
    axes = fig.subplots(1, 2)
    for residual, colour, style in ((False, OKABE_ITO[5], "--o"), (True, OKABE_ITO[2], "-o")):
        rows = sorted((r for r in runs if r.residual == residual), key=lambda r: r.depth)
        depths = [r.depth for r in rows]
        axes[0].plot(depths, [r.train_loss for r in rows], style, color=colour, label="residual" if residual else "plain")
        axes[1].plot(depths, [100 * r.train_accuracy for r in rows], style, color=colour,
                     label="residual" if residual else "plain")  # fmt: skip
    axes[0].set(xlabel="depth (weight layers)", ylabel="training loss", title="Loss on the training set")
    axes[1].set(xlabel="depth (weight layers)", ylabel="training accuracy (%)", title="Accuracy on the training set")
    for ax in axes:
        ax.set_xticks(sorted({r.depth for r in runs}))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- separable convolutions


def _separable_macs(in_channels: int, out_channels: int, kernel_size: int, height: int, width: int) -> tuple[int, int]:
    """Multiply-adds of a standard k x k convolution and of a depthwise + pointwise pair, same channels.

    Args:
        in_channels, out_channels: channels in and out.
        kernel_size: k of the k x k kernel.
        height, width: size of the output maps.

    Returns:
        ``(standard, separable)``: ``k²·C_in·C_out·H·W`` and ``(k²·C_in + C_in·C_out)·H·W``.

    Introduced in lesson 06b.
    """
    positions = height * width
    standard = kernel_size**2 * in_channels * out_channels * positions
    separable = (kernel_size**2 * in_channels + in_channels * out_channels) * positions
    return standard, separable


@dataclass(frozen=True)
class SeparablePair:
    """A depthwise convolution and the pointwise convolution after it, in a real network.

    Attributes:
        depthwise, pointwise: the two layers' names in the model.
        in_channels, out_channels: channels into the depthwise and out of the pointwise layer.
        kernel_size: the depthwise kernel (k of k x k).
        output_hw: size of the depthwise layer's output maps.
        macs: the pair's multiply-adds, measured by ``FlopCounterMode``.
        standard_macs: a standard k x k convolution from ``in_channels`` to
            ``out_channels`` with the same output size.
    """

    depthwise: str
    pointwise: str
    in_channels: int
    out_channels: int
    kernel_size: int
    output_hw: tuple[int, int]
    macs: int
    standard_macs: int

    @property
    def ratio(self) -> float:
        """The pair's cost as a fraction of the standard convolution's."""
        return self.macs / self.standard_macs


def separable_pairs(model: nn.Module, input_shape: Sequence[int]) -> list[SeparablePair]:
    """Every depthwise convolution of ``model`` with the pointwise (1x1) convolution that follows it.

    Costs are measured (`course_utils.costs.layer_costs`); the standard
    convolution it replaces is priced with `_separable_macs`.

    Introduced in lesson 06b.
    """
    from course_utils.costs import layer_costs

    costs = layer_costs(model, input_shape)
    modules = dict(model.named_modules())
    convs = [(c, modules[c.name]) for c in costs if isinstance(modules.get(c.name), nn.Conv2d)]
    pairs = []
    for (cost, conv), (next_cost, after) in zip(convs, convs[1:]):
        depthwise = conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
        if depthwise and after.kernel_size == (1, 1) and after.groups == 1:
            k, hw = conv.kernel_size[0], (cost.output_shape[-2], cost.output_shape[-1])
            standard, _ = _separable_macs(conv.in_channels, after.out_channels, k, *hw)
            pairs.append(SeparablePair(cost.name, next_cost.name, conv.in_channels, after.out_channels, k, hw,
                                       cost.macs + next_cost.macs, standard))  # fmt: skip
    return pairs


# ----------------------------------------------------------------------------- costs of whole architectures


@dataclass(frozen=True)
class Cost:
    """Parameters and multiply-adds of one architecture at one input size, measured.

    Attributes:
        name: the architecture.
        params: parameters.
        macs: multiply-adds for one image (``FlopCounterMode`` FLOPs / 2).
        resolution: input height and width.
    """

    name: str
    params: int
    macs: int
    resolution: int


def _build(name: str) -> tuple[nn.Module, int]:
    import timm
    import torchvision

    if hasattr(torchvision.models, name) and not name.startswith("_"):
        return getattr(torchvision.models, name)(weights=None), 224
    model = timm.create_model(name, pretrained=False)
    cfg = cast("dict[str, Any]", model.pretrained_cfg)  # a plain dict attribute timm sets on its models
    return model, int(cfg["input_size"][-1])


def measure(name: str, resolution: int | None = None) -> Cost:
    """Build an architecture on the ``meta`` device (shapes, no memory, no weights) and measure it.

    Args:
        name: a torchvision builder (``"resnet18"``, ``"vgg16"``, ...) or a timm
            model name (``"tf_efficientnet_b3"``, ``"deit_tiny_patch16_224"``).
        resolution: input size; default 224 for torchvision, timm's configured size otherwise.

    Returns:
        A `Cost`.

    Introduced in lesson 06b.
    """
    from course_utils.costs import measured_flops
    from course_utils.models import count_params

    with torch.device("meta"):
        model, native = _build(name)
    size = resolution or native
    return Cost(name, count_params(model), measured_flops(model, (3, size, size)) // 2, size)


@dataclass(frozen=True)
class Published:
    """A published ImageNet-1k top-1 accuracy, with where it comes from.

    Attributes:
        label: the network's usual name.
        arch: what `measure` builds.
        year: year of the architecture's paper.
        top1: single-crop top-1 accuracy on the ImageNet validation set, %.
        source: where the number is published.
    """

    label: str
    arch: str
    year: int
    top1: float
    source: str


def _torchvision_top1(weights: str) -> float:
    import torchvision

    enum_name, member = weights.split(".")
    return float(getattr(torchvision.models, enum_name)[member].meta["_metrics"]["ImageNet-1K"]["acc@1"])


def _published() -> tuple[Published, ...]:
    tv = "torchvision weight metadata ({})"
    rows = [
        ("AlexNet", "alexnet", 2012, "AlexNet_Weights.IMAGENET1K_V1"),
        ("VGG-16", "vgg16", 2014, "VGG16_Weights.IMAGENET1K_V1"),
        ("ResNet-18", "resnet18", 2015, "ResNet18_Weights.IMAGENET1K_V1"),
        ("ResNet-50", "resnet50", 2015, "ResNet50_Weights.IMAGENET1K_V1"),
        ("EfficientNet-B0", "efficientnet_b0", 2019, "EfficientNet_B0_Weights.IMAGENET1K_V1"),
    ]
    out = [Published(label, arch, year, _torchvision_top1(w), tv.format(w)) for label, arch, year, w in rows]
    out.append(Published("EfficientNet-Lite0", "tf_efficientnet_lite0", 2020, 75.1,
                         "Google's EfficientNet-Lite README, github.com/tensorflow/tpu, "
                         "models/official/efficientnet/lite (the weights this course ships)"))  # fmt: skip
    out.append(Published("DeiT-Ti (ViT)", "deit_tiny_patch16_224", 2021, 72.2,
                         "Touvron et al., Training data-efficient image transformers, ICML 2021, Table 1"))  # fmt: skip
    return tuple(out)


#: The networks of lesson 06b's chart, with their published ImageNet top-1.
PUBLISHED: tuple[Published, ...] = _published()


def figure_recipe(rows: Sequence[tuple[Published, Cost]]) -> Figure:
    """ImageNet top-1 against measured multiply-adds (left) and parameters (right), log scales.

    Introduced in lesson 06b.
    """
    from course_utils.viz import OKABE_ITO, _figure

    fig = _figure(figsize=(10, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, label in ((axes[0], "macs", "multiply-adds per 224-px image (billions, log scale)"),
                           (axes[1], "params", "parameters (millions, log scale)")):  # fmt: skip
        for i, (pub, cost) in enumerate(rows):
            value = getattr(cost, key) / (1e9 if key == "macs" else 1e6)
            ax.scatter(value, pub.top1, s=50, color=OKABE_ITO[i % len(OKABE_ITO)], zorder=3)
            ax.annotate(f"{pub.label} ({pub.year})", (value, pub.top1), textcoords="offset points", xytext=(6, -3),
                        fontsize=8)  # fmt: skip
        ax.set_xscale("log")
        ax.set(xlabel=label)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set(ylabel="ImageNet top-1 accuracy (%, published)")
    fig.suptitle("A decade of the recipe: accuracy against cost")
    fig.tight_layout()
    return fig


def figure_family(costs: Sequence[Cost], top1: Sequence[float] | None = None) -> Figure:
    """The EfficientNet family: multiply-adds, parameters and input resolution per member.

    Introduced in lesson 06b.
    """
    from course_utils.viz import OKABE_ITO, _figure

    names = [c.name.replace("tf_efficientnet_", "").upper() for c in costs]
    fig = _figure(figsize=(10, 3.2))
    axes = fig.subplots(1, 3)
    axes[0].bar(names, [c.macs / 1e9 for c in costs], color=OKABE_ITO[0])
    axes[0].set(ylabel="billions of multiply-adds", title="Arithmetic per image", yscale="log")
    axes[1].bar(names, [c.params / 1e6 for c in costs], color=OKABE_ITO[1])
    axes[1].set(ylabel="millions of parameters", title="Parameters", yscale="log")
    axes[2].bar(names, [c.resolution for c in costs], color=OKABE_ITO[2])
    axes[2].set(ylabel="pixels", title="Input resolution")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig
