# %% [markdown]
# # Exercise 06b · The recipe, scaled up
#
# In lesson 06b we trained plain and residual stacks side by side, opened up
# ResNet and EfficientNet-Lite0, and priced a depthwise separable convolution
# against a standard one. Here you build the two blocks those networks are made
# of, predict what the separable one saves, and write the gradient probe we
# used to look inside a deep network.
#
# | Function | Points |
# |---|---|
# | `residual_block(in_channels, out_channels, stride)` | 3 |
# | `depthwise_separable(in_channels, out_channels, stride)` | 2 |
# | `separable_cost_ratio(in_channels, out_channels, kernel_size)` | 2 |
# | `gradient_norms(model, x, y, loss_fn)` | 3 |
# | one question in your own words | 2 |
#
# Every self-check runs in a few seconds on a laptop CPU and downloads nothing.
# When your instructor grades the notebook, hidden checks test the same
# functions with other channel counts, strides, kernel sizes and models, so
# make them correct in general, not just for the examples shown.
#
# - Don't rename the functions or change their arguments.
# - Don't delete or copy the self-check cells.
# - Run the notebook top to bottom (*Kernel → Restart and run all*) before you hand it in.

# %%
import copy

import torch
from torch import nn

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · The residual block
#
# Write `residual_block(in_channels, out_channels, stride=1)` returning an
# `nn.Module` that behaves like torchvision's `BasicBlock` (the block of
# ResNet-18 and ResNet-34):
#
# - **main path:** a 3×3 convolution (stride `stride`, padding 1, no bias) →
#   `BatchNorm2d` → ReLU → a 3×3 convolution (stride 1, padding 1, no bias) →
#   `BatchNorm2d`;
# - **shortcut:** the input itself (identity) when `stride == 1` and
#   `in_channels == out_channels`; otherwise a 1×1 convolution (stride
#   `stride`, no bias) followed by `BatchNorm2d`, so that its output has the
#   main path's shape;
# - **output:** ReLU of main path + shortcut.
#
# You will need a small `nn.Module` subclass with `__init__` and `forward`
# (define it inside or outside the function, as you like).
#
# The checks do not look at how you name or order your layers. They copy the
# same seeded parameters into your block and into torchvision's `BasicBlock`
# (matching each layer by the role it plays: first 3×3 convolution, the batch
# norm after it, and so on), then compare the outputs in training and in
# evaluation mode, and the parameter counts.

# %% kind="solution" id="residual_block"
def residual_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    """A ResNet basic block: input (N, in_channels, H, W) float -> (N, out_channels, H', W').

    H' = (H - 1) // stride + 1, and the same for W'.
    """
    ### BEGIN SOLUTION
    class BasicBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(out_channels)
            self.shortcut = nn.Identity()
            if stride != 1 or in_channels != out_channels:
                self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                              nn.BatchNorm2d(out_channels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + self.shortcut(x))

    return BasicBlock()
    ### END SOLUTION


# %% [markdown]
# The reference in the checks is torchvision's own block, built by
# `cu.architectures.basic_block` (it passes the projection shortcut to
# torchvision's `BasicBlock` as its `downsample` argument). Printing it shows
# the layers you need:

# %%
cu.architectures.basic_block(16, 32, 2)

# %% kind="tests" id="test_residual_block" points=3
# Built while the ready-made blocks refuse to run: the block must be yours, not torchvision's or the course's.
library_blocks = ["course_utils.architectures.basic_block", "torchvision.models.resnet.BasicBlock.__init__",
                  "torchvision.models.resnet.Bottleneck.__init__"]
x = torch.randn(4, 16, 8, 8, generator=torch.Generator().manual_seed(1))
ref = cu.architectures.seeded(cu.architectures.basic_block(16, 16, 1), seed=2)
block = cu.architectures.copy_by_role(ref, cu.restrictions.call_without(library_blocks, residual_block, 16, 16, 1), x[:2])
cu.checks.check_equal(cu.models.count_params(residual_block(16, 16, 1)), cu.models.count_params(cu.architectures.basic_block(16, 16, 1)),
                      "parameters of residual_block(16, 16, 1)",
                      hint="same channels and stride 1: the shortcut is the identity and has no parameters")
cu.checks.check_close(block.eval()(x).detach(), ref.eval()(x).detach(), "residual_block(16, 16, 1) in eval mode",
                      atol=1e-5, hint="main path conv-BN-ReLU-conv-BN, add the input, then ReLU")
cu.checks.check_close(block.train()(x).detach(), ref.train()(x).detach(), "residual_block(16, 16, 1) in train mode", atol=1e-5)
ref = cu.architectures.seeded(cu.architectures.basic_block(16, 32, 2), seed=3)
block = cu.architectures.copy_by_role(ref, residual_block(16, 32, 2), x[:2])
cu.checks.check_equal(cu.models.count_params(residual_block(16, 32, 2)), cu.models.count_params(cu.architectures.basic_block(16, 32, 2)),
                      "parameters of residual_block(16, 32, 2)",
                      hint="the projection shortcut is a 1x1 conv (no bias) and a BatchNorm2d")
cu.checks.check_close(block.eval()(x).detach(), ref.eval()(x).detach(), "residual_block(16, 32, 2) in eval mode",
                      atol=1e-5, hint="stride 2 goes on the first 3x3 conv and on the 1x1 shortcut conv")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, size, seed in ((16, 32, 2, 8, 4), (8, 8, 2, 9, 5), (12, 24, 1, 7, 6), (6, 6, 1, 5, 7), (24, 8, 3, 10, 8)):
    xx = torch.randn(3, c_in, size, size, generator=torch.Generator().manual_seed(seed))
    ref = cu.architectures.seeded(cu.architectures.basic_block(c_in, c_out, stride), seed=seed)
    block = cu.architectures.copy_by_role(ref, cu.restrictions.call_without(library_blocks, residual_block, c_in, c_out, stride),
                                          xx[:2])
    cu.checks.check_equal(cu.models.count_params(residual_block(c_in, c_out, stride)),
                          cu.models.count_params(cu.architectures.basic_block(c_in, c_out, stride)),
                          f"parameters of residual_block({c_in}, {c_out}, {stride})",
                          hint="a shortcut projection is needed when the stride is not 1 OR the channels differ")
    cu.checks.check_close(block.train()(xx).detach(), ref.train()(xx).detach(),
                          f"residual_block({c_in}, {c_out}, {stride}) in train mode on {size}x{size} maps", atol=1e-5,
                          hint="conv-bn-relu-conv-bn, add the shortcut (a 1x1 conv with the stride and a batch norm when the shape changes), then relu")
    cu.checks.check_close(block.eval()(xx).detach(), ref.eval()(xx).detach(),
                          f"residual_block({c_in}, {c_out}, {stride}) in eval mode on {size}x{size} maps", atol=1e-5,
                          hint="use nn.BatchNorm2d modules, so eval mode switches them to their running statistics")
### END HIDDEN TESTS
cu.checks.passed("residual_block")

# %% [markdown]
# ## 2 · The depthwise separable convolution
#
# Write `depthwise_separable(in_channels, out_channels, stride=1)` returning an
# `nn.Sequential` of, in this order:
#
# 1. a **depthwise** 3×3 convolution: `in_channels` in and out,
#    `groups=in_channels` (each filter sees one channel), stride `stride`,
#    padding 1, no bias;
# 2. `BatchNorm2d`, then ReLU;
# 3. a **pointwise** 1×1 convolution from `in_channels` to `out_channels`, no bias;
# 4. `BatchNorm2d`, then ReLU.
#
# This is the block of MobileNet (Howard et al. 2017, arXiv:1704.04861, Fig. 3)
# and the first block of EfficientNet-Lite0.

# %% kind="solution" id="depthwise_separable"
def depthwise_separable(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Depthwise 3x3 then pointwise 1x1, each followed by batch norm and ReLU.

    Input (N, in_channels, H, W) float -> (N, out_channels, H', W'), H' = (H - 1) // stride + 1.
    """
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels, bias=False),
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )
    ### END SOLUTION


# %% [markdown]
# The checks compare your block with `cu.architectures.separable_block`, which
# assembles the same layers from torchvision's `Conv2dNormActivation` parts, as
# torchvision's MobileNet does.

# %% kind="tests" id="test_depthwise_separable" points=2
library_blocks = ["course_utils.architectures.separable_block"]  # the course's block refuses to run: write yours
x = torch.randn(4, 32, 8, 8, generator=torch.Generator().manual_seed(11))
ref = cu.architectures.seeded(cu.architectures.separable_block(32, 64, 1), seed=12)
block = cu.architectures.copy_by_role(ref, cu.restrictions.call_without(library_blocks, depthwise_separable, 32, 64, 1), x[:2])
cu.checks.check_true(isinstance(depthwise_separable(32, 64, 1), nn.Sequential), "depthwise_separable returns an nn.Sequential")
cu.checks.check_equal(cu.models.count_params(depthwise_separable(32, 64, 1)), cu.models.count_params(cu.architectures.separable_block(32, 64, 1)),
                      "parameters of depthwise_separable(32, 64, 1)",
                      hint="the depthwise conv has in_channels filters of ONE channel each: groups=in_channels")
cu.checks.check_close(block.eval()(x).detach(), ref.eval()(x).detach(), "depthwise_separable(32, 64, 1) in eval mode", atol=1e-5)
cu.checks.check_close(block.train()(x).detach(), ref.train()(x).detach(), "depthwise_separable(32, 64, 1) in train mode", atol=1e-5)
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, size, seed in ((32, 64, 2, 8, 13), (5, 7, 1, 6, 14), (8, 8, 2, 9, 15), (16, 4, 3, 11, 16)):
    xx = torch.randn(3, c_in, size, size, generator=torch.Generator().manual_seed(seed))
    ref = cu.architectures.seeded(cu.architectures.separable_block(c_in, c_out, stride), seed=seed)
    block = cu.architectures.copy_by_role(ref, cu.restrictions.call_without(library_blocks, depthwise_separable, c_in, c_out, stride),
                                          xx[:2])
    cu.checks.check_equal(cu.models.count_params(depthwise_separable(c_in, c_out, stride)),
                          cu.models.count_params(cu.architectures.separable_block(c_in, c_out, stride)),
                          f"parameters of depthwise_separable({c_in}, {c_out}, {stride})",
                          hint="a depthwise 3x3 conv (groups=c_in, no bias), batch norm, ReLU, a 1x1 conv (no bias), batch norm, ReLU")
    cu.checks.check_close(block.train()(xx).detach(), ref.train()(xx).detach(),
                          f"depthwise_separable({c_in}, {c_out}, {stride}) in train mode on {size}x{size} maps", atol=1e-5,
                          hint="the stride belongs to the depthwise conv; the pointwise conv has stride 1")
    cu.checks.check_close(block.eval()(xx).detach(), ref.eval()(xx).detach(),
                          f"depthwise_separable({c_in}, {c_out}, {stride}) in eval mode on {size}x{size} maps", atol=1e-5,
                          hint="the stride belongs to the depthwise convolution, with padding 1")
### END HIDDEN TESTS
cu.checks.passed("depthwise_separable")

# %% [markdown]
# ## 3 · What the separable pair saves
#
# At every output position, a standard k×k convolution from C_in to C_out
# channels does one multiply-add per weight. The depthwise convolution (k×k per
# channel) and the pointwise one (1×1 from C_in to C_out) together do fewer.
#
# Write `separable_cost_ratio(in_channels, out_channels, kernel_size)` returning
# (as a Python `float`) the multiply-adds per output position of the depthwise
# + pointwise pair divided by those of the standard `kernel_size`×`kernel_size`
# convolution with the same channels. No biases. Work it out on paper first;
# the checks compare it with what `FlopCounterMode` measures on real layers.

# %% kind="solution" id="separable_cost_ratio"
def separable_cost_ratio(in_channels: int, out_channels: int, kernel_size: int) -> float:
    """(k²·C_in + C_in·C_out) / (k²·C_in·C_out) as a float."""
    ### BEGIN SOLUTION
    k2 = kernel_size * kernel_size
    return float((k2 * in_channels + in_channels * out_channels) / (k2 * in_channels * out_channels))
    ### END SOLUTION


# %% kind="tests" id="test_separable_cost_ratio" points=2
cu.checks.check_close(separable_cost_ratio(32, 64, 3), (9 * 32 + 32 * 64) / (9 * 32 * 64), "separable_cost_ratio(32, 64, 3)",
                      hint="depthwise: k*k per input channel; pointwise: C_in*C_out; standard: k*k*C_in*C_out")
cu.checks.check_close(separable_cost_ratio(16, 16, 3),
                      cu.costs.measured_flops(cu.architectures.separable_block(16, 16), (16, 8, 8))
                      / cu.costs.measured_flops(nn.Conv2d(16, 16, 3, padding=1, bias=False), (16, 8, 8)),
                      "separable_cost_ratio(16, 16, 3) against FlopCounterMode on real layers", rtol=1e-6)
### BEGIN HIDDEN TESTS
for c_in, c_out, k in ((3, 96, 5), (96, 24, 7), (320, 1280, 3), (7, 5, 1), (40, 40, 5)):
    cu.checks.check_close(cu.restrictions.call_without(["course_utils.costs.measured_flops", "course_utils.costs.layer_costs",
                                                        "torch.utils.flop_counter.FlopCounterMode"],
                                                       separable_cost_ratio, c_in, c_out, k),
                          cu.costs.measured_flops(nn.Sequential(nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False),
                                                                nn.Conv2d(c_in, c_out, 1, bias=False)), (c_in, 6, 6))
                          / cu.costs.measured_flops(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), (c_in, 6, 6)),
                          f"separable_cost_ratio({c_in}, {c_out}, {k}) against FlopCounterMode", rtol=1e-6,
                          hint="the ratio depends on all three arguments")
cu.checks.check_true(isinstance(separable_cost_ratio(8, 8, 3), float), "separable_cost_ratio returns a Python float",
                     hint="return a float, e.g. float(...) of the ratio")
### END HIDDEN TESTS
cu.checks.passed("separable_cost_ratio")

# %% [markdown]
# ## 4 · Gradient norms, without side effects
#
# In the lesson we looked at how strongly each layer's weights are pushed at the
# start of training. Write `gradient_norms(model, x, y, loss_fn)`:
#
# - run one forward pass on `x` **in training mode** (batch norm uses the
#   batch's statistics, as in training), compute `loss_fn(logits, y)`, and one
#   backward pass;
# - return a `list` of Python floats: the L2 norm of the gradient of the
#   `weight` of every `nn.Conv2d` and `nn.Linear`, in `model.modules()` order;
# - leave the model as you found it: every submodule back in the mode it was
#   in (a model may be in eval mode, or in train mode with a frozen, eval-mode
#   batch norm inside, as in lesson 07), every batch norm's running statistics
#   as they were (a forward pass in training mode updates them: save and
#   restore `model.buffers()`), and every parameter's `.grad` exactly as it
#   was (`None` stays `None`; an existing gradient keeps its values).
#
# `torch.autograd.grad(loss, tensors)` returns gradients without touching
# `.grad`; saving and restoring `.grad` works too.

# %% kind="solution" id="gradient_norms"
def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn) -> list[float]:
    """L2 norm of d loss / d weight for every Conv2d and Linear, in model.modules() order."""
    ### BEGIN SOLUTION
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.clone()) for b in model.buffers()]
    try:
        model.train()
        loss = loss_fn(model(x), y)
        grads = torch.autograd.grad(loss, [layer.weight for layer in layers])
    finally:
        for m, mode in modes:
            m.train(mode)
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
    return [float(g.norm()) for g in grads]
    ### END SOLUTION


# %% [markdown]
# The reference is the course's `cu.architectures.gradient_norms`, run on a copy
# of the same model.

# %% kind="tests" id="test_gradient_norms" points=3
gen = torch.Generator().manual_seed(21)
x, y = torch.randn(8, 1, 14, 14, generator=gen), torch.randint(0, 10, (8,), generator=gen)
net = cu.architectures.seeded(cu.architectures.depth_net(6, residual=True), seed=22).eval()
cu.checks.check_close(torch.tensor(cu.restrictions.call_without(["course_utils.architectures.gradient_norms"], gradient_norms,
                                                                 net, x, y, nn.functional.cross_entropy)),
                      torch.tensor(cu.architectures.gradient_norms(copy.deepcopy(net), x, y, nn.functional.cross_entropy)),
                      "gradient_norms(residual depth-6 net, ...)", rtol=1e-4,
                      hint="one norm per Conv2d/Linear weight, computed in train mode")
cu.checks.check_equal([m.training for m in net.modules()], [False] * len(list(net.modules())),
                      "every module's mode after gradient_norms on an eval-mode model", hint="restore the mode you found")
cu.checks.check_true(all(isinstance(v, float) for v in gradient_norms(net, x, y, nn.functional.cross_entropy)),
                     "gradient_norms returns Python floats", hint="float(g.norm()) for each gradient g")
cu.checks.check_true(all(p.grad is None for p in net.parameters()), "every .grad is still None after gradient_norms",
                     hint="use torch.autograd.grad, or save and restore each parameter's .grad")
### BEGIN HIDDEN TESTS
plain = cu.architectures.seeded(cu.architectures.depth_net(8, residual=False, width=4), seed=23).train()
plain[1].eval()  # a frozen batch norm inside a training model
for p in plain.parameters():
    p.grad = torch.full_like(p, 0.25)
course_norms = ["course_utils.architectures.gradient_norms"]
cu.checks.check_close(torch.tensor(cu.restrictions.call_without(course_norms, gradient_norms, plain, x, y,
                                                                 nn.functional.cross_entropy)),
                      torch.tensor(cu.architectures.gradient_norms(copy.deepcopy(plain), x, y, nn.functional.cross_entropy)),
                      "gradient_norms(plain depth-8 net with a frozen batch norm, ...)", rtol=1e-4,
                      hint="put the whole model in train mode for the forward pass, the frozen batch norm too")
cu.checks.check_equal([m.training for m in plain.modules()], [i != 2 for i in range(len(list(plain.modules())))],
                      "every module's mode after gradient_norms (train-mode model, one eval-mode batch norm)",
                      hint="save every submodule's mode, not only the top-level one")
cu.checks.check_true(all(bool((p.grad == 0.25).all()) for p in plain.parameters()),
                     "existing .grad values unchanged after gradient_norms",
                     hint="torch.autograd.grad leaves .grad alone; backward() adds to it")
stats_before = [b.clone() for b in net.buffers()]
gradient_norms(net, x, y, nn.functional.cross_entropy)
cu.checks.check_equal(sum(int(not torch.equal(b, s)) for b, s in zip(net.buffers(), stats_before)), 0,
                      "how many batch norm buffers (running mean, variance, batch count) gradient_norms changed",
                      hint="a forward pass in train mode updates the running statistics: clone model.buffers() first and copy them back")
mse = nn.Sequential(nn.Flatten(), nn.Linear(196, 16), nn.ReLU(), nn.Linear(16, 3, bias=False))
cu.architectures.seeded(mse, seed=24)
target = torch.randn(8, 3, generator=torch.Generator().manual_seed(25))
cu.checks.check_close(torch.tensor(gradient_norms(mse, x, target, nn.functional.mse_loss)),
                      torch.tensor(cu.architectures.gradient_norms(copy.deepcopy(mse), x, target, nn.functional.mse_loss)),
                      "gradient_norms with loss_fn=mse_loss on a dense network", rtol=1e-4,
                      hint="use the loss_fn you are given")
### END HIDDEN TESTS
cu.checks.passed("gradient_norms")

# %% [markdown]
# ## 5 · In your own words
#
# A 56-layer plain network can represent everything a 20-layer one can (extra
# layers could just copy their input), yet He et al. found, and we measured,
# that it trains *worse on its own training set*. Explain why that cannot be
# overfitting, and how an identity shortcut changes what the extra layers have
# to learn. Three to five sentences.

# %% [markdown] kind="written" id="q_why_shortcuts" points=2
# Overfitting means fitting the training set well and the test set badly; here
# the deeper plain network does worse on the training set itself, so the
# problem is optimisation, not generalisation. A stack of layers has to learn
# an identity mapping through many non-linear layers to "do nothing", and
# gradient descent does not find that easily within the same training budget.
# With a shortcut, each block computes x + F(x): doing nothing only needs F to
# be near zero, which is where small initial weights already start, so extra
# blocks cost little and can learn small corrections. The shortcut also gives
# the gradient a direct path back to early layers.
