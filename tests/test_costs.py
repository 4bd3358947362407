"""course_utils.costs: per-layer parameters, FLOPs and activation sizes, checked against PyTorch and known counts."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from course_utils import costs, imagenet
from course_utils.models import count_params


def _reference_flops(model: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


@pytest.fixture(scope="module")
def alexnet():
    torch.manual_seed(0)
    return torchvision.models.alexnet(weights=None)


def test_alexnet_totals_match_torch_and_flop_counter(alexnet):
    layers = costs.layer_costs(alexnet, (3, 224, 224))
    totals = costs.cost_totals(layers)
    assert totals["params"] == count_params(alexnet) == 61_100_840
    assert totals["flops"] == _reference_flops(alexnet.eval(), torch.zeros(1, 3, 224, 224))
    assert totals["macs"] == totals["flops"] // 2
    # Hand count of the first layer: 64 filters of 3x11x11 (+64 biases), 55x55 outputs each.
    first = layers[0]
    assert (first.name, first.kind, first.output_shape) == ("features.0", "Conv2d", (64, 55, 55))
    assert first.params == 64 * 3 * 11 * 11 + 64
    assert first.macs == 64 * 3 * 11 * 11 * 55 * 55
    assert first.activation_bytes == 64 * 55 * 55 * 4


def test_layers_follow_execution_order_and_shapes_match_a_real_forward(alexnet):
    layers = costs.layer_costs(alexnet, (3, 224, 224))
    leaves = [name for name, m in alexnet.named_modules() if not list(m.children())]
    assert [c.name for c in layers] == leaves  # AlexNet runs its leaves in definition order
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        feats = alexnet.features(x)
    by_name = {c.name: c for c in layers}
    assert by_name["features.12"].output_shape == tuple(feats.shape[1:])
    assert by_name["classifier.6"].output_shape == (1000,)
    # Dense layers: one multiply-add per weight.
    assert by_name["classifier.1"].macs == 9216 * 4096


def test_share_of_dense_parameters_and_conv_flops(alexnet):
    totals = costs.cost_totals(costs.layer_costs(alexnet, (3, 224, 224)))
    assert totals["params:Linear"] + totals["params:Conv2d"] == totals["params"]
    assert totals["params:Linear"] / totals["params"] > 0.95
    assert totals["flops:Conv2d"] / totals["flops"] > 0.9


def test_grouped_strided_and_bias_free_layers():
    model = nn.Sequential(
        nn.Conv2d(8, 16, 3, stride=2, groups=4, bias=False), nn.ReLU(),
        nn.Conv2d(16, 16, (3, 1), padding=(1, 0), groups=16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5),
    )  # fmt: skip
    layers = costs.layer_costs(model, (8, 15, 15))
    assert layers[0].output_shape == (16, 7, 7)
    assert layers[0].params == 16 * 2 * 9 and layers[0].macs == 16 * 2 * 9 * 49
    assert layers[2].params == 16 * 3 + 16 and layers[2].macs == 16 * 3 * 49
    assert costs.cost_totals(layers)["params"] == count_params(model)
    assert costs.cost_totals(layers)["flops"] == _reference_flops(model, torch.zeros(1, 8, 15, 15))


def test_measured_flops_matches_reference_and_restores_training_mode():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).train()
    assert costs.measured_flops(model, (3, 8, 8)) == 2 * (4 * 3 * 9 * 36 + 144 * 2)
    assert model.training


def test_meta_device_models_are_measured_without_memory():
    with torch.device("meta"):
        vgg = torchvision.models.vgg16()
    assert count_params(vgg) == 138_357_544  # Simonyan & Zisserman 2015, Table 2: 138 M
    assert costs.measured_flops(vgg, (3, 224, 224)) == 30_940_528_640


def test_paper_alexnet_has_the_published_layer_sizes():
    model = imagenet.alexnet_2012()
    layers = {c.name: c for c in costs.layer_costs(model, (3, 227, 227))}
    assert layers["conv1"].output_shape == (96, 55, 55)
    assert layers["pool5"].output_shape == (256, 6, 6)
    # Krizhevsky et al. 2012, Sec. 3.5: kernels of 11x11x3, 5x5x48, 3x3x256, 3x3x192, 3x3x192.
    assert model.conv2.weight.shape == (256, 48, 5, 5)
    assert model.conv3.weight.shape == (384, 256, 3, 3)
    assert model.conv4.weight.shape == (384, 192, 3, 3)
    assert model.conv5.weight.shape == (256, 192, 3, 3)
    assert count_params(model) == sum(
        [96 * 363 + 96, 256 * 48 * 25 + 256, 384 * 256 * 9 + 384, 384 * 192 * 9 + 384, 256 * 192 * 9 + 256,
         9216 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 1000 + 1000]
    )  # fmt: skip
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 227, 227)).shape == (1, 1000)


def test_layer_summary_and_errors(alexnet):
    layers = costs.layer_costs(alexnet, (3, 224, 224))
    text = costs._layer_summary(layers, "classifier.1")
    assert "37,752,832 parameters" in text and "Linear" in text
    share = 37_752_832 / 61_100_840
    assert f"{share:.1%}" in text
    assert "23,296 parameters (0.04% of all)" in costs._layer_summary(layers, "features.0")
    with pytest.raises(ValueError, match="no layer named"):
        costs._layer_summary(layers, "features.99")
    with pytest.raises(ValueError, match="without the batch dimension"):
        costs.layer_costs(alexnet, (0, 3, 224, 224))


def test_figure_layer_costs_draws_one_bar_per_costly_layer(alexnet):
    layers = costs.layer_costs(alexnet, (3, 224, 224))
    fig = costs._figure_layer_costs(layers, highlight="features.3")
    ax_params, ax_flops = fig.axes
    costly = [c for c in layers if c.params or c.flops]
    assert len(ax_params.patches) == len(ax_flops.patches) == len(costly) == 8
    heights = [p.get_width() for p in ax_params.patches]
    assert math.isclose(sum(heights), 100, rel_tol=1e-6)
    assert ax_params.get_title() and ax_flops.get_xlabel()
