"""What a network costs, layer by layer: parameters, FLOPs and activation memory.

The FLOPs are *measured*, not derived from formulas: PyTorch's
``torch.utils.flop_counter.FlopCounterMode`` watches one forward pass and
counts the floating-point operations of every matrix multiply and
convolution, attributed to the module that ran them. It counts **2 FLOPs per
multiply-add** (one multiply, one add) and ignores the cheap element-wise work
(bias additions, ReLU, pooling), so ``macs = flops // 2``. Lesson 06 derives
the same numbers by hand and checks them against this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from course_utils.models import _eval_mode

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch.utils.flop_counter import FlopCounterMode

__all__ = ["LayerCost", "cost_totals", "layer_costs", "measured_flops"]


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer (a leaf module) for one input image.

    Attributes:
        name: the module's path inside the model, e.g. ``"features.0"``.
        kind: the module's class name, e.g. ``"Conv2d"``.
        output_shape: shape of the layer's output for one image (no batch dimension).
        params: parameters held by this layer itself.
        flops: floating-point operations measured by ``FlopCounterMode`` (2 per multiply-add).
        bytes_per_value: size of one activation value (4 for float32).
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    flops: int
    bytes_per_value: int = 4

    @property
    def macs(self) -> int:
        """Multiply-adds: half the measured FLOPs."""
        return self.flops // 2

    @property
    def activations(self) -> int:
        """Numbers in this layer's output for one image."""
        return math.prod(self.output_shape)

    @property
    def activation_bytes(self) -> int:
        """Memory of this layer's output for one image."""
        return self.activations * self.bytes_per_value


def _check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(d) for d in input_shape)
    if len(shape) < 1 or any(d <= 0 for d in shape):
        raise ValueError(
            f"input_shape must be the shape of ONE input without the batch dimension, e.g. (3, 224, 224); got {tuple(input_shape)}"
        )
    return shape


def _device_and_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def _counted_forward(model: nn.Module, shape: tuple[int, ...]) -> FlopCounterMode:
    """One no-grad forward pass of a zero image of ``shape`` in eval mode under ``FlopCounterMode``.

    The model's train/eval mode is restored afterwards; returns the counter.
    """
    from torch.utils.flop_counter import FlopCounterMode

    device, dtype = _device_and_dtype(model)
    with _eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros((1, *shape), device=device, dtype=dtype))
    return counter


def measured_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one forward pass on one input, measured by ``FlopCounterMode``.

    Args:
        model: any module.
        input_shape: the shape of one input, without the batch dimension, e.g. ``(3, 224, 224)``.

    Returns:
        Total FLOPs (2 per multiply-add; element-wise work is not counted).

    Introduced in lesson 06.
    """
    return int(_counted_forward(model, _check_input_shape(input_shape)).get_total_flops())


def layer_costs(model: nn.Module, input_shape: Sequence[int]) -> list[LayerCost]:
    """Parameters, measured FLOPs and output size of every leaf layer, in execution order.

    One forward pass on a zero image records each leaf module's output shape
    (forward hooks) and its FLOPs (``FlopCounterMode``, which attributes work
    to the module that ran it).

    Args:
        model: any module (e.g. ``torchvision.models.alexnet(weights=None)``).
        input_shape: the shape of one input, without the batch dimension, e.g. ``(3, 224, 224)``.

    Returns:
        One `LayerCost` per leaf module that ran (modules without children),
        in the order they ran. Summing ``params`` gives the model's parameter
        count when every parameter sits in a leaf module.

    Raises:
        ValueError: ``input_shape`` includes a batch dimension of 0 or negative sizes.

    Introduced in lesson 06.
    """
    shape = _check_input_shape(input_shape)
    names = {module: name for name, module in model.named_modules()}
    order: list[tuple[str, nn.Module, tuple[int, ...]]] = []

    def hook(module: nn.Module, _inputs: tuple[object, ...], output: object) -> None:
        if isinstance(output, torch.Tensor):
            order.append((names[module], module, tuple(output.shape[1:])))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        counter = _counted_forward(model, shape)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    value_bytes = _device_and_dtype(model)[1].itemsize
    prefix = type(model).__name__
    costs = []
    for name, module, out_shape in order:
        key = f"{prefix}.{name}" if name else prefix
        flops = sum(counts.get(key, {}).values())
        params = sum(p.numel() for p in module.parameters(recurse=False))
        costs.append(LayerCost(name or prefix, type(module).__name__, out_shape, int(params), int(flops), value_bytes))
    return costs


def cost_totals(costs: Sequence[LayerCost]) -> dict[str, int]:
    """Totals over layers: parameters, FLOPs, multiply-adds, activations, and the share of each kind.

    Returns:
        ``{"params", "flops", "macs", "activations", "activation_bytes"}`` and,
        per layer kind (``"Conv2d"``, ``"Linear"``, ...), ``"params:<kind>"``
        and ``"flops:<kind>"``.

    Introduced in lesson 06.
    """
    totals = {
        "params": sum(c.params for c in costs),
        "flops": sum(c.flops for c in costs),
        "macs": sum(c.macs for c in costs),
        "activations": sum(c.activations for c in costs),
        "activation_bytes": sum(c.activation_bytes for c in costs),
    }
    for c in costs:
        totals[f"params:{c.kind}"] = totals.get(f"params:{c.kind}", 0) + c.params
        totals[f"flops:{c.kind}"] = totals.get(f"flops:{c.kind}", 0) + c.flops
    return totals


def _costly(costs: Sequence[LayerCost]) -> list[LayerCost]:
    return [c for c in costs if c.params or c.flops]


def _percent(share: float) -> str:
    """A share as a percentage, with two decimals when it would otherwise round to 0.0%."""
    return f"{share:.2%}" if 0 < share < 0.001 else f"{share:.1%}"


def _layer_summary(costs: Sequence[LayerCost], name: str) -> str:
    """One line saying what one layer costs and its share of the whole model.

    Raises:
        ValueError: ``name`` is not one of the layers; the message lists them.

    Introduced in lesson 06.
    """
    by_name = {c.name: c for c in costs}
    if name not in by_name:
        raise ValueError(f"no layer named {name!r}; choose one of {[c.name for c in costs]}")
    c = by_name[name]
    totals = cost_totals(costs)
    p_share = c.params / totals["params"] if totals["params"] else 0.0
    f_share = c.flops / totals["flops"] if totals["flops"] else 0.0
    shape = "×".join(str(d) for d in c.output_shape)
    return (
        f"{c.name} ({c.kind}): {c.params:,} parameters ({_percent(p_share)} of all), "
        f"{c.flops / 1e6:,.1f} MFLOPs ({_percent(f_share)} of all), output {shape} "
        f"= {c.activation_bytes / 1024:,.0f} KiB per image"
    )


def _figure_layer_costs(costs: Sequence[LayerCost], highlight: str | None = None, *, title: str | None = None) -> Figure:
    """Two bar charts side by side: each layer's share of the parameters and of the FLOPs.

    Only layers with parameters or FLOPs are drawn (ReLU, pooling and dropout
    cost neither in this accounting).

    Args:
        costs: from `layer_costs`.
        highlight: a layer name to draw in a contrasting colour.
        title: the figure title.

    Introduced in lesson 06.
    """
    from matplotlib.patches import Patch

    from course_utils.viz import OKABE_ITO, _figure

    rows = _costly(costs)
    if not rows:
        raise ValueError("no layer has parameters or FLOPs to draw")
    totals = cost_totals(rows)
    labels = [f"{c.name} ({c.kind})" for c in rows]
    kind_colour = {"Conv2d": OKABE_ITO[0], "Linear": OKABE_ITO[1]}
    fig = _figure(figsize=(9.5, 0.34 * len(rows) + 1.8))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, what in ((axes[0], "params", "parameters"), (axes[1], "flops", "FLOPs")):
        shares = [100 * getattr(c, key) / max(totals[key], 1) for c in rows]
        colours = [OKABE_ITO[4] if c.name == highlight else kind_colour.get(c.kind, OKABE_ITO[7]) for c in rows]
        bars = ax.barh(range(len(rows)), shares, color=colours)
        for bar, c in zip(bars, rows):
            if c.name == highlight:
                bar.set_edgecolor("black")
                bar.set_linewidth(1.5)
                bar.set_hatch("xx")
        for i, s in enumerate(shares):
            ax.text(s + 1, i, f"{s:.2f}%" if 0 < s < 0.1 else f"{s:.1f}%", va="center", fontsize=8,
                    fontweight="bold" if rows[i].name == highlight else "normal")  # fmt: skip
        ax.set(xlim=(0, 112), xlabel=f"share of all {what} (%)", title=f"Where the {what} live")
    axes[0].set_yticks(range(len(rows)), labels)
    for tick, c in zip(axes[0].get_yticklabels(), rows):
        if c.name == highlight:
            tick.set_fontweight("bold")
    axes[0].invert_yaxis()
    handles = [
        Patch(color=col, label={"Conv2d": "convolution", "Linear": "dense"}[k])
        for k, col in kind_colour.items()
        if any(c.kind == k for c in rows)
    ]
    if highlight:
        handles.append(Patch(facecolor=OKABE_ITO[4], edgecolor="black", hatch="xx", label=f"selected: {highlight}"))
    axes[1].legend(handles=handles, loc="lower right", frameon=False, fontsize=8)
    fig.suptitle(title or "What each layer costs, for one input")
    fig.tight_layout()
    return fig
