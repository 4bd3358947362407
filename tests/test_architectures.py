"""cu.architectures (lesson 06b) against references: torchvision, timm, FlopCounterMode, plain autograd."""

from __future__ import annotations

import copy

import ipywidgets as W
import pytest
import timm
import torch
import torchvision
from torch import nn

import course_utils as cu
from conftest import widgets_in
from course_utils import architectures as arch
from course_utils import stages, widgets


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- plain and residual stacks


@pytest.mark.parametrize("depth", [4, 6, 20])
def test_depth_net_counts_weight_layers_like_he_et_al(depth):
    for residual in (False, True):
        net = arch.depth_net(depth, residual, width=8)
        layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert len(layers) == depth
        assert net(torch.zeros(2, 1, 14, 14)).shape == (2, 10)


def test_depth_net_rejects_odd_or_tiny_depths():
    for depth in (3, 2, 21):
        with pytest.raises(ValueError, match="even number"):
            arch.depth_net(depth, True)


def test_stack_block_adds_its_input_only_when_residual():
    torch.manual_seed(0)
    plain = arch.StackBlock(4, residual=False).eval()
    residual = copy.deepcopy(plain)
    residual.residual = True
    x = torch.randn(2, 4, 5, 5, generator=_gen(1))
    branch = plain.bn2(plain.conv2(torch.relu(plain.bn1(plain.conv1(x)))))
    torch.testing.assert_close(plain(x), torch.relu(branch))
    torch.testing.assert_close(residual(x), torch.relu(branch + x))


def _reference_norms(model, x, y, loss_fn):
    """Gradient norms the long way: train mode, loss.backward(), read .grad."""
    model = copy.deepcopy(model).train()
    model.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()
    return [float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("start_training", [True, False])
def test_gradient_norms_match_backward_and_leave_the_model_alone(start_training):
    net = arch.seeded(arch.depth_net(8, residual=False, width=4), seed=3).train(start_training)
    net[1].train(not start_training)  # one module in the other mode
    for p in net.parameters():
        p.grad = torch.full_like(p, 0.5)
    x, y = torch.randn(6, 1, 14, 14, generator=_gen(4)), torch.randint(0, 10, (6,), generator=_gen(5))
    modes = [m.training for m in net.modules()]
    buffers = [b.clone() for b in net.buffers()]
    assert len(buffers) > 0
    norms = arch.gradient_norms(net, x, y)
    assert all(torch.equal(b, saved) for b, saved in zip(net.buffers(), buffers, strict=True))
    assert norms == pytest.approx(_reference_norms(net, x, y, nn.functional.cross_entropy), rel=1e-5)
    assert [m.training for m in net.modules()] == modes
    assert all(bool((p.grad == 0.5).all()) for p in net.parameters())
    mse = nn.Sequential(nn.Flatten(), nn.Linear(196, 3))
    target = torch.randn(6, 3, generator=_gen(6))
    assert arch.gradient_norms(mse, x, target, nn.functional.mse_loss) == pytest.approx(
        _reference_norms(mse, x, target, nn.functional.mse_loss), rel=1e-5
    )


def test_gradient_norms_needs_weight_layers():
    with pytest.raises(ValueError, match="Conv2d or nn.Linear"):
        arch.gradient_norms(nn.Sequential(nn.Flatten()), torch.zeros(1, 3), torch.zeros(1, dtype=torch.long))


def test_degradation_runs_train_every_pair_on_the_same_batches():
    x, y = torch.rand(64, 1, 14, 14, generator=_gen(7)), torch.randint(0, 10, (64,), generator=_gen(8))
    runs = arch.degradation_runs(x, y, (4, 6), steps=3, batch_size=8, sample=32, progress=False)
    assert [r.label for r in runs] == ["plain-4", "residual-4", "plain-6", "residual-6"]
    for run in runs:
        assert len(run.losses) == 3 and len(run.init_norms) == run.depth
        assert 0 <= run.train_accuracy <= 1 and run.train_loss > 0
    again = arch.degradation_runs(x, y, (4,), steps=3, batch_size=8, sample=32, progress=False)
    assert again[0].losses == runs[0].losses  # seeded: the same run twice
    # Same seed, same batches: the plain and residual nets differ only by the shortcut of their one block.
    assert runs[0].losses[0] != runs[1].losses[0]
    assert runs[0].running_loss(2)[:3] == pytest.approx(
        [runs[0].losses[0], sum(runs[0].losses[:2]) / 2, sum(runs[0].losses[1:3]) / 2]
    )


# ----------------------------------------------------------------------------- seeded parameters, matched by role


def test_seeded_is_deterministic_and_sets_batch_norm_statistics():
    a, b = arch.seeded(arch.basic_block(4, 8, 2), 5), arch.seeded(arch.basic_block(4, 8, 2), 5)
    for (name, ta), tb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(ta, tb), name
    assert float(a.bn1.running_var.min()) >= 0.5 and float(a.bn1.weight.detach().min()) >= 0.5
    c = arch.seeded(arch.basic_block(4, 8, 2), 6)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_seeded_accepts_batch_norm_without_weights_or_statistics():
    """affine=False has no weight/bias and track_running_stats=False no running statistics (they are None)."""
    no_affine = arch.seeded(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3, affine=False)), 0)
    assert no_affine[1].weight is None and float(no_affine[1].running_var.min()) >= 0.5
    no_stats = arch.seeded(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3, track_running_stats=False)), 0)
    assert no_stats[1].running_mean is None and float(no_stats[1].weight.detach().min()) >= 0.5


class _ShortcutFirst(nn.Module):
    """A correct basic block written differently: shortcut first, everything in Sequentials."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.path = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        return torch.relu(self.skip(x) + self.path(x))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_copy_by_role_matches_layers_whatever_their_names_and_order(mode):
    x = torch.randn(3, 6, 9, 9, generator=_gen(9))
    ref = arch.seeded(
        torchvision.models.resnet.BasicBlock(
            6, 12, 2, downsample=nn.Sequential(nn.Conv2d(6, 12, 1, 2, bias=False), nn.BatchNorm2d(12))
        ),
        10,
    )
    mine = arch.copy_by_role(ref, _ShortcutFirst(6, 12, 2), x[:2])
    getattr(ref, mode)(), getattr(mine, mode)()
    torch.testing.assert_close(mine(x), ref(x))


def test_copy_by_role_gives_a_wrong_design_its_own_values():
    x = torch.randn(3, 8, 6, 6, generator=_gen(11))
    ref = arch.seeded(arch.separable_block(8, 16), 12)
    full = nn.Sequential(
        nn.Conv2d(8, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
    )  # no groups
    arch.copy_by_role(ref, full, x[:2])
    assert torch.equal(full[3].weight, ref[1][0].weight)  # the pointwise layer matches
    assert not torch.allclose(full.eval()(x), ref.eval()(x))


def test_basic_block_is_torchvisions_resnet_block():
    resnet18 = torchvision.models.resnet18(weights=None)
    for mine, theirs in ((arch.basic_block(64, 64), resnet18.layer1[0]), (arch.basic_block(64, 128, 2), resnet18.layer2[0])):
        assert [tuple(p.shape) for p in mine.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
        assert (mine.downsample is None) == (theirs.downsample is None)


def test_separable_block_has_the_mobilenet_layers():
    block = arch.separable_block(32, 64, 2)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.groups, c.kernel_size, c.stride, c.bias is None) for c in convs] == [
        (32, (3, 3), (2, 2), True),
        (1, (1, 1), (1, 1), True),
    ]
    assert cu.models.count_params(block) == 32 * 9 + 2 * 32 + 32 * 64 + 2 * 64


# ----------------------------------------------------------------------------- costs


@pytest.mark.parametrize("c_in,c_out,k,hw", [(32, 64, 3, 8), (3, 16, 5, 7), (96, 24, 7, 5), (8, 8, 1, 4)])
def test_separable_macs_match_flop_counter(c_in, c_out, k, hw):
    standard = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    pair = nn.Sequential(nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False), nn.Conv2d(c_in, c_out, 1, bias=False))
    assert arch._separable_macs(c_in, c_out, k, hw, hw) == (
        cu.costs.measured_flops(standard, (c_in, hw, hw)) // 2,
        cu.costs.measured_flops(pair, (c_in, hw, hw)) // 2,
    )


def test_separable_pairs_of_efficientnet_lite0():
    with torch.device("meta"):
        lite0 = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    pairs = arch.separable_pairs(lite0, (3, 224, 224))
    depthwise = [m for m in lite0.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(pairs) == len(depthwise) == 16
    for p in pairs:
        assert p.ratio == pytest.approx(1 / p.out_channels + 1 / p.kernel_size**2)
    assert pairs[0].depthwise == "blocks.0.0.conv_dw" and pairs[0].pointwise == "blocks.0.0.conv_pw"
    assert pairs[1].pointwise.endswith("conv_pwl")  # MBConv: the projection follows the depthwise layer


@pytest.mark.parametrize(
    "name,weights",
    [
        ("resnet18", "ResNet18_Weights"),
        ("resnet50", "ResNet50_Weights"),
        ("alexnet", "AlexNet_Weights"),
        ("vgg16", "VGG16_Weights"),
    ],
)
def test_measure_matches_torchvision_metadata(name, weights):
    meta = getattr(torchvision.models, weights).IMAGENET1K_V1.meta
    cost = arch.measure(name)
    assert cost.params == meta["num_params"] and cost.resolution == 224
    assert cost.macs / 1e9 == pytest.approx(meta["_ops"], abs=0.01)


def test_measure_timm_efficientnets_at_their_own_resolution():
    b0, b3 = arch.measure("tf_efficientnet_b0"), arch.measure("tf_efficientnet_b3")
    assert b0.params == torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["num_params"]
    assert (b0.resolution, b3.resolution) == (224, 300)
    assert b0.macs / 1e9 == pytest.approx(torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["_ops"], abs=0.01)
    with torch.device("meta"):
        deit = timm.create_model("deit_tiny_patch16_224", pretrained=False)
    assert arch.measure("deit_tiny_patch16_224").params == cu.models.count_params(deit)


def test_published_accuracies_come_from_their_sources():
    by_label = {p.label: p for p in arch.PUBLISHED}
    assert (
        by_label["ResNet-50"].top1 == torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    )
    assert by_label["AlexNet"].top1 == 56.522
    for pub in arch.PUBLISHED:
        assert pub.source and 50 < pub.top1 < 90
    assert {"AlexNet", "VGG-16", "ResNet-18", "ResNet-50", "EfficientNet-B0", "EfficientNet-Lite0", "DeiT-Ti (ViT)"} == set(
        by_label
    )


def test_figures_draw(monkeypatch):
    x, y = torch.rand(32, 1, 14, 14, generator=_gen(13)), torch.randint(0, 10, (32,), generator=_gen(14))
    runs = arch.degradation_runs(x, y, (4, 6), steps=2, batch_size=8, sample=16, progress=False)
    for fig in (
        arch.figure_degradation(runs),
        arch.figure_degradation(runs, 6),
        arch.figure_depth_summary(runs),
        arch.figure_family([arch.Cost("tf_efficientnet_b0", 5, 10, 224), arch.Cost("tf_efficientnet_b1", 7, 20, 240)]),
        arch.figure_recipe([(arch.PUBLISHED[0], arch.Cost("alexnet", 61_000_000, 714_000_000, 224))]),
    ):
        assert fig.axes
    with pytest.raises(ValueError, match="no run at depth 8"):
        arch.figure_degradation(runs, 8)


# ----------------------------------------------------------------------------- the replay on Sequential-like networks


def test_sequential_view_of_a_resnet_reproduces_it():
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    x = torch.rand(1, 3, 64, 64, generator=_gen(15))
    chain = stages.sequential_view(resnet, x)
    assert list(dict(chain.named_children()))[-2:] == ["flatten", "fc"]
    torch.testing.assert_close(chain(x), resnet(x))
    run = stages.run_stages(resnet, x)
    torch.testing.assert_close(run[-2].output, resnet(x))
    assert [s.layer for s in run].count("BasicBlock") == 8
    assert "residual block" in stages._explain_stage(next(s for s in run if s.layer == "BasicBlock"))


def test_sequential_view_refuses_a_network_with_its_own_forward():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    with pytest.raises(TypeError, match="nn.Sequential"):
        stages.run_stages(Twice(), torch.zeros(1, 1, 8, 8))


# ----------------------------------------------------------------------------- the widget


@pytest.fixture
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append((a, k)))
    return calls


def test_degradation_explorer_changes_with_each_control(shown):
    x, y = torch.rand(32, 1, 14, 14, generator=_gen(16)), torch.randint(0, 10, (32,), generator=_gen(17))
    runs = arch.degradation_runs(x, y, (4, 6), steps=4, batch_size=8, sample=16, progress=False)
    box = widgets.degradation_explorer(runs)
    assert {"p2l-widget", "p2l-degradation"} <= set(box._dom_classes)
    depth, smooth = widgets_in(box, (W.SelectionSlider, W.IntSlider))
    assert depth.description == "depth" and smooth.description == "smoothing" and depth.value == 4
    picture = widgets_in(box, (widgets.Picture,))[0]
    summary = next(w for w in widgets_in(box, (W.HTML,)) if not isinstance(w, widgets.Picture))
    first = (summary.value, picture.value)
    assert f"plain loss {runs[0].train_loss:.2f}" in summary.value
    depth.value = 6  # the slider starts at the shallowest and steps deeper
    assert summary.value != first[0] and picture.value != first[1]
    before = picture.value
    smooth.value = 2
    assert picture.value != before
    (data,), kwargs = shown[0]
    assert "image/png" in data and "depth 4" in kwargs["metadata"]["image/png"]["alt"]
