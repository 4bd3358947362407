# %% [markdown]
# # Exercise 06 · ImageNet and AlexNet, by the numbers
#
# In lesson 06 we scored a pretrained network with top-1 and top-5, and we
# counted where AlexNet keeps its parameters and spends its arithmetic. Here you
# write those tools yourself: the metric the ImageNet challenge ranked entries
# by, and a cost counter that works out the parameters and multiply-adds of
# any network built from convolutions and dense layers.
#
# | Function | Points |
# |---|---|
# | `top_k_error(logits, labels, k)` | 3 |
# | `conv2d_cost(...)` | 2 |
# | `linear_cost(...)` | 1 |
# | `model_cost(model, input_shape)` | 3 |
# | one question in your own words | 2 |
#
# Every self-check runs in a few seconds on a laptop CPU and downloads nothing.
# When your instructor grades the notebook, hidden checks test the same
# functions on more cases (ties, other layer settings, other networks), so make
# them correct in general, not just for the examples shown.
#
# - Don't rename the functions or change their arguments.
# - Don't delete or copy the self-check cells.
# - Run the notebook top to bottom (*Kernel → Restart and run all*) before you hand it in.

# %%
import math

import torch
import torchvision
from torch import nn

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · Top-k error
#
# A classifier gives one score (logit) per class. Its prediction for an image
# is correct *at k* when the true label is among its k highest scores; the
# **top-k error** is the fraction of images where it is not. The ImageNet
# challenge ranked entries by top-5 error.
#
# One detail decides results when scores tie: **ties count against the
# prediction.** Count the *other* classes whose score is greater than **or
# equal to** the true label's score. The prediction is correct at k only when
# fewer than k classes do. So with scores `[2, 2, 1]` and true label 0, one
# other class (class 1) ties with it: correct at k = 2, wrong at k = 1. A
# model that gives every class the same score is then wrong at every k smaller
# than the number of classes, as it should be: it has said nothing.
#
# `torch.topk` does not follow this rule: among tied scores it picks some of
# them, in an order PyTorch does not promise. Compare scores directly instead.
#
# Write `top_k_error(logits, labels, k=5)`:
#
# - `logits`: a tensor of shape (N, K), float or integer; `labels`: (N,) class indices
#   of any integer dtype (int64, int32, uint8, ...).
# - Return the error as a Python `float` between 0 and 1.
# - If `k` is smaller than 1 or larger than the number of classes K, raise a
#   `ValueError` whose message mentions `k` and K.

# %% kind="solution" id="top_k_error"
def top_k_error(logits: torch.Tensor, labels: torch.Tensor, k: int = 5) -> float:
    """Fraction of examples whose true label is not among the k highest scores.

    Args:
        logits: (N, K) scores, float or integer.
        labels: (N,) class indices in [0, K), int64 or any other integer dtype.
        k: how many guesses count, 1 <= k <= K.

    Returns:
        The top-k error, a float in [0, 1]. Ties count against the prediction:
        an example is correct only if fewer than k other classes score at least
        as high as its true label.

    Raises:
        ValueError: k < 1 or k > K.
    """
    ### BEGIN SOLUTION
    logits = torch.as_tensor(logits)
    labels = torch.as_tensor(labels).long()
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"expected logits (N, K) and labels (N,); got {tuple(logits.shape)} and {tuple(labels.shape)}")
    num_classes = logits.shape[1]
    if not 1 <= k <= num_classes:
        raise ValueError(f"k must be between 1 and the number of classes K={num_classes}; got k={k}")
    label_scores = logits.gather(1, labels.view(-1, 1))
    rivals = (logits >= label_scores).sum(dim=1) - 1  # other classes scoring at least as high
    return float((rivals >= k).float().mean())
    ### END SOLUTION


# %% kind="tests" id="test_top_k_error" points=3
logits = torch.tensor([[0.1, 2.0, 0.3, 1.5], [3.0, 0.2, 0.1, 0.0], [0.0, 0.5, 1.0, 2.0]])
labels = torch.tensor([2, 0, 0])
cu.checks.check_close(top_k_error(logits, labels, k=1), 2 / 3, "top_k_error(logits, labels, k=1)",
                      hint="only the second example has its label as the highest score")
cu.checks.check_close(top_k_error(logits, labels, k=3), 1 / 3, "top_k_error(logits, labels, k=3)",
                      hint="the third example's label has the lowest of four scores: it is 4th, outside the top 3")
cu.checks.check_close(top_k_error(logits, labels, k=4), 0.0, "top_k_error(logits, labels, k=4)",
                      hint="with k = K every label is among the top k")
cu.checks.check_raises(lambda: top_k_error(logits, labels, k=5), ValueError, "top_k_error with k=5 > 4 classes",
                       match="k", hint="check 1 <= k <= logits.shape[1] first and raise ValueError")
### BEGIN HIDDEN TESTS
tied = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
cu.checks.check_close(top_k_error(tied, torch.tensor([0, 1, 2]), k=2), 1.0, "three-way tie for first place, k=2",
                      hint="ties count against the prediction: two other classes score as high as each label")
cu.checks.check_close(top_k_error(tied, torch.tensor([0, 1, 2]), k=3), 0.0, "three-way tie for first place, k=3")
cu.checks.check_close(top_k_error(torch.tensor([[3, 3, 1], [0, 5, 5]]), torch.tensor([1, 2]), k=1), 1.0,
                      "integer logits with ties, k=1", hint="integer logits must work (no softmax needed)")
cu.checks.check_close(top_k_error(torch.tensor([[3, 3, 1], [0, 5, 5]]), torch.tensor([1, 2]), k=2), 0.0,
                      "integer logits with ties, k=2")
cu.checks.check_close(top_k_error(torch.tensor([[4, 9, 1, 7]]), torch.tensor([0]), k=2), 1.0,
                      "a batch of one, integer logits, k=2")
cu.checks.check_close(top_k_error(torch.tensor([[4.0, 9.0, 1.0, 7.0]]), torch.tensor([0]), k=3), 0.0,
                      "a batch of one, float logits, k=3")
rand_logits = torch.randn(300, 50, generator=torch.Generator().manual_seed(6))
rand_labels = torch.randint(0, 50, (300,), generator=torch.Generator().manual_seed(7))
cu.checks.check_close(top_k_error(rand_logits, rand_labels, k=5),
                      float((rand_logits.topk(5, dim=1).indices != rand_labels[:, None]).all(dim=1).float().mean()),
                      "top-5 error on 300 random examples (no ties)")
cu.checks.check_close(top_k_error(rand_logits, rand_labels, k=1),
                      float((rand_logits.argmax(dim=1) != rand_labels).float().mean()), "top-1 error on 300 random examples")
cu.checks.check_close(top_k_error(rand_logits, rand_labels.to(torch.int32), k=5),
                      float((rand_logits.topk(5, dim=1).indices != rand_labels[:, None]).all(dim=1).float().mean()),
                      "top-5 error on 300 random examples with int32 labels",
                      hint="labels may come in any integer dtype: convert them with .long() before indexing or gathering with them")
cu.checks.check_close(top_k_error(torch.tensor([[0.5, 2.0, 1.0], [3.0, 0.0, 1.0]]), torch.tensor([2, 0], dtype=torch.uint8), k=1), 0.5,
                      "top-1 error with uint8 labels", hint="labels may come in any integer dtype")
boosted = rand_logits.clone()
boosted[torch.arange(200), rand_labels[:200]] += 10  # two thirds right: reading the memory in the wrong order shows
columns = boosted.T.contiguous().T  # the same logits stored column by column: a non-contiguous view
cu.checks.check_close(top_k_error(columns, rand_labels, k=5),
                      float((boosted.topk(5, dim=1).indices != rand_labels[:, None]).all(dim=1).float().mean()),
                      "top-5 error of logits in a non-contiguous view", hint="topk and comparisons work on any strides; .view() does not")
cu.checks.check_raises(lambda: top_k_error(rand_logits, rand_labels, k=0), ValueError, "top_k_error with k=0", match="k")
cu.checks.check_raises(lambda: top_k_error(rand_logits, rand_labels, k=51), ValueError, "top_k_error with k=51 > 50",
                       match="k")
### END HIDDEN TESTS
cu.checks.passed("top_k_error")

# %% [markdown]
# ## 2 · What one layer costs
#
# A convolution with `in_channels` inputs, `out_channels` filters of size
# kh × kw and `groups` groups has one kh × kw weight per (filter, input
# channel of its group) pair, plus one bias per filter when `bias=True`. Each
# filter reads only `in_channels / groups` channels: with `groups=2` the input
# and the filters are split in two halves that never meet, which is how
# AlexNet's two GPUs shared the work.
#
# Every output number of the layer costs one multiply-add per weight of its
# filter. Count **multiply-adds (MACs)** only: adding the bias is not counted,
# just as `FlopCounterMode` leaves it out (it reports 2 FLOPs per
# multiply-add).
#
# Write `conv2d_cost(in_channels, out_channels, kernel_size, out_height,
# out_width, bias=True, groups=1)` returning the tuple `(params, macs)` of two
# integers for one image. `kernel_size` is an int (square) or a pair
# `(kh, kw)`. Raise a `ValueError` if `groups` does not divide both channel
# counts.

# %% kind="solution" id="conv2d_cost"
def conv2d_cost(in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], out_height: int,
                out_width: int, bias: bool = True, groups: int = 1) -> tuple[int, int]:
    """Parameters and multiply-adds of one Conv2d layer for one image.

    Args:
        in_channels, out_channels: channels in and out.
        kernel_size: kh = kw as one int, or (kh, kw).
        out_height, out_width: size of the output feature maps.
        bias: whether the layer has a bias per filter.
        groups: input and filters are split into this many independent groups.

    Returns:
        (params, macs), two ints; bias additions are not counted as MACs.

    Raises:
        ValueError: groups does not divide in_channels and out_channels.
    """
    ### BEGIN SOLUTION
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}")
    weights = out_channels * (in_channels // groups) * kh * kw
    params = weights + (out_channels if bias else 0)
    macs = weights * out_height * out_width
    return int(params), int(macs)
    ### END SOLUTION


# %% kind="tests" id="test_conv2d_cost" points=2
cu.checks.check_equal(conv2d_cost(3, 64, 11, 55, 55), (23296, 70276800), "conv2d_cost(3, 64, 11, 55, 55)",
                      hint="params = 64 * 3 * 11 * 11 + 64; each of the 64 * 55 * 55 outputs costs 3 * 11 * 11 multiply-adds")
cu.checks.check_equal(conv2d_cost(64, 192, 5, 27, 27)[0], sum(p.numel() for p in nn.Conv2d(64, 192, 5).parameters()),
                      "conv2d_cost(64, 192, 5, 27, 27) parameters", hint="compare with nn.Conv2d(64, 192, 5)")
cu.checks.check_equal(conv2d_cost(64, 192, 5, 27, 27)[1],
                      cu.costs.measured_flops(nn.Conv2d(64, 192, 5, padding=2), (64, 27, 27)) // 2,
                      "conv2d_cost(64, 192, 5, 27, 27) multiply-adds (FlopCounterMode / 2)")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(conv2d_cost(3, 64, 11, 55, 55, bias=False), (23232, 70276800), "conv2d_cost(..., bias=False)",
                      hint="without a bias there are no extra parameters, and the MACs do not change")
cu.checks.check_equal(cu.restrictions.call_without(["torch.utils.flop_counter.FlopCounterMode", "course_utils.costs.layer_costs",
                                                   "course_utils.costs.measured_flops"], conv2d_cost, 16, 32, (3, 5), 10, 12),
                      (32 * 16 * 15 + 32, 32 * 16 * 15 * 120),
                      "conv2d_cost with a (3, 5) kernel", hint="kernel_size may be a pair (kh, kw)")
cu.checks.check_equal(conv2d_cost(96, 256, 5, 27, 27, groups=2), (307456, 223948800),
                      "conv2d_cost(96, 256, 5, 27, 27, groups=2): AlexNet's second layer on two GPUs",
                      hint="with groups=g each filter reads in_channels // g channels")
cu.checks.check_equal(conv2d_cost(32, 32, 3, 8, 8, groups=32), (32 * 9 + 32, 32 * 9 * 64),
                      "a depthwise convolution (groups = channels)")
cu.checks.check_equal(conv2d_cost(3001, 5003, 11, 4999, 4999), (5003 * 3001 * 121 + 5003, 5003 * 3001 * 121 * 4999 * 4999),
                      "conv2d_cost(3001, 5003, 11, 4999, 4999): exact counts above 2**53",
                      hint="count with whole numbers (// not /): a float cannot hold every integer above 2**53, so the last digits go")
cu.checks.check_raises(lambda: conv2d_cost(6, 8, 3, 4, 4, groups=4), ValueError, "conv2d_cost with groups=4, 6 channels")
### END HIDDEN TESTS
cu.checks.passed("conv2d_cost")

# %% [markdown]
# A dense (`nn.Linear`) layer is simpler: one weight per (input, output)
# pair, one bias per output, and one multiply-add per weight for each input
# vector. Write `linear_cost(in_features, out_features, bias=True)` returning
# `(params, macs)` for one input vector.

# %% kind="solution" id="linear_cost"
def linear_cost(in_features: int, out_features: int, bias: bool = True) -> tuple[int, int]:
    """Parameters and multiply-adds of one Linear layer for one input vector.

    Returns:
        (params, macs), two ints; bias additions are not counted as MACs.
    """
    ### BEGIN SOLUTION
    weights = in_features * out_features
    return int(weights + (out_features if bias else 0)), int(weights)
    ### END SOLUTION


# %% kind="tests" id="test_linear_cost" points=1
cu.checks.check_equal(linear_cost(9216, 4096), (37752832, 37748736), "linear_cost(9216, 4096): AlexNet's first dense layer",
                      hint="params = 9216 * 4096 + 4096; MACs = 9216 * 4096")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(cu.restrictions.call_without(["torch.utils.flop_counter.FlopCounterMode", "course_utils.costs.layer_costs",
                                                   "course_utils.costs.measured_flops"], linear_cost, 4096, 1000, bias=False),
                      (4096000, 4096000), "linear_cost(4096, 1000, bias=False)",
                      hint="count them with arithmetic: in_features * out_features weights, one multiply-add each")
cu.checks.check_equal(linear_cost(37, 11)[0], sum(p.numel() for p in nn.Linear(37, 11).parameters()),
                      "linear_cost(37, 11) parameters, compared with nn.Linear(37, 11)")
cu.checks.check_equal(linear_cost(37, 11)[1], cu.costs.measured_flops(nn.Linear(37, 11), (37,)) // 2,
                      "linear_cost(37, 11) multiply-adds (FlopCounterMode / 2)")
### END HIDDEN TESTS
cu.checks.passed("linear_cost")

# %% [markdown]
# ## 3 · A whole network
#
# Now add up a network. Write `model_cost(model, input_shape)`:
#
# - `model` is an `nn.Sequential` whose items are layers or nested
#   `nn.Sequential`s; `input_shape` is the shape of **one** input without the
#   batch dimension, e.g. `(3, 224, 224)`.
# - Return `(params, macs)` summed over every `nn.Conv2d` and `nn.Linear`
#   layer, using your `conv2d_cost` and `linear_cost`, for one input. Every
#   other layer (ReLU, pooling, dropout, flatten, normalisation without
#   parameters) counts zero.
# - A convolution's cost depends on the size of its *output* maps, which
#   depends on everything before it (strides, padding, pooling). Let PyTorch
#   work it out: run the model once on `torch.zeros(1, *input_shape)` and
#   record what each layer produced, either by walking the `nn.Sequential`
#   yourself or with a forward hook (`layer.register_forward_hook(fn)` calls
#   `fn(layer, inputs, output)` after the layer runs; remove the hooks
#   afterwards). Read each layer's settings from its attributes:
#   `in_channels`, `out_channels`, `kernel_size`, `groups`, `bias`,
#   `in_features`, `out_features`. A `Linear` that receives more than a vector
#   per input, (1, ..., in_features), works once for every position before the
#   last axis, so its multiply-adds count that many times.

# %% kind="solution" id="model_cost"
def model_cost(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """Parameters and multiply-adds of the Conv2d and Linear layers of ``model`` for one input.

    Args:
        model: an nn.Sequential of layers (nested nn.Sequentials allowed).
        input_shape: the shape of one input without the batch dimension, e.g. (3, 224, 224).

    Returns:
        (params, macs), two ints.
    """
    ### BEGIN SOLUTION
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    outputs = {}

    def remember(layer, inputs, output):
        outputs[layer] = tuple(output.shape)

    handles = [layer.register_forward_hook(remember) for layer in layers]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    params = macs = 0
    for layer in layers:
        shape = outputs[layer]
        has_bias = layer.bias is not None
        if isinstance(layer, nn.Conv2d):
            p, m = conv2d_cost(layer.in_channels, layer.out_channels, layer.kernel_size, shape[-2], shape[-1],
                               bias=has_bias, groups=layer.groups)
        else:
            p, m = linear_cost(layer.in_features, layer.out_features, bias=has_bias)
            m *= math.prod(shape[1:-1])  # one vector per position if the input had extra dimensions
        params, macs = params + p, macs + m
    return params, macs
    ### END SOLUTION


# %% [markdown]
# The checks compare your totals with two references: the number of
# parameters PyTorch holds (`cu.models.count_params`) and the multiply-adds
# `FlopCounterMode` measures in one forward pass (`cu.costs.measured_flops(...)
# // 2`). The second network is torchvision's AlexNet rearranged as one
# `nn.Sequential` (its `forward` flattens between `avgpool` and `classifier`).

# %% kind="tests" id="test_model_cost" points=3
tiny = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
cu.checks.check_equal(cu.restrictions.call_without(["course_utils.costs.measured_flops", "course_utils.costs.layer_costs",
                                                   "course_utils.costs.cost_totals", "course_utils.speed.training_step_flops",
                                                   "torch.utils.flop_counter.FlopCounterMode"], model_cost, tiny, (3, 32, 32)),
                      (cu.models.count_params(tiny), cu.costs.measured_flops(tiny, (3, 32, 32)) // 2),
                      "model_cost(tiny, (3, 32, 32))", hint="sum conv2d_cost and linear_cost over the layers; "
                      "the conv's output maps are 32x32 (padding 1)")
alexnet = torchvision.models.alexnet(weights=None)
alexnet_seq = nn.Sequential(alexnet.features, alexnet.avgpool, nn.Flatten(), alexnet.classifier)
cu.checks.check_equal(model_cost(alexnet_seq, (3, 224, 224)),
                      (cu.models.count_params(alexnet_seq), cu.costs.measured_flops(alexnet_seq, (3, 224, 224)) // 2),
                      "model_cost(AlexNet, (3, 224, 224))",
                      hint="about 61 million parameters and 0.71 billion multiply-adds; use each conv's OUTPUT size")
### BEGIN HIDDEN TESTS
paper = cu.imagenet.alexnet_2012()
cu.checks.check_equal(model_cost(paper, (3, 227, 227)),
                      (cu.models.count_params(paper), cu.costs.measured_flops(paper, (3, 227, 227)) // 2),
                      "model_cost(the 2012 two-GPU AlexNet with groups=2, (3, 227, 227))",
                      hint="pass each layer's groups to conv2d_cost")
odd = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, groups=4, bias=False), nn.ReLU(),
                    nn.Sequential(nn.Conv2d(16, 16, (3, 1), padding=(1, 0), groups=16), nn.ReLU()),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5, bias=False))
cu.checks.check_equal(model_cost(odd, (8, 15, 15)), (cu.models.count_params(odd), cu.costs.measured_flops(odd, (8, 15, 15)) // 2),
                      "model_cost with strided, grouped, rectangular and bias-free layers")
library_costs = ["torch.utils.flop_counter.FlopCounterMode", "course_utils.speed.training_step_flops",
                 "course_utils.costs.cost_totals", "course_utils.costs.layer_costs", "course_utils.costs.measured_flops"]
prelu = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2), nn.PReLU(6), nn.Flatten(), nn.Linear(6 * 4 * 4, 7))
cu.checks.check_equal(cu.restrictions.call_without(library_costs, model_cost, prelu, (3, 9, 9)),
                      (6 * 3 * 9 + 6 + 96 * 7 + 7, 6 * 3 * 9 * 16 + 96 * 7),
                      "model_cost of Conv2d(3, 6, 3, stride=2), PReLU(6), Flatten, Linear(96, 7) on (3, 9, 9)",
                      hint="only nn.Conv2d and nn.Linear layers count, through your conv2d_cost and linear_cost: "
                           "PReLU's 6 parameters are not part of the total")
cu.checks.check_equal(model_cost(alexnet_seq, (3, 256, 256)),
                      (cu.models.count_params(alexnet_seq), cu.costs.measured_flops(alexnet_seq, (3, 256, 256)) // 2),
                      "model_cost(AlexNet, (3, 256, 256))", hint="the convolutions cost more on a larger image")
wide = nn.Sequential(nn.Conv2d(3, 4, 3, padding=(0, 2)), nn.ReLU(), nn.Conv2d(4, 6, (2, 3), stride=(1, 2)))
cu.checks.check_equal(model_cost(wide, (3, 11, 30)), (cu.models.count_params(wide), cu.costs.measured_flops(wide, (3, 11, 30)) // 2),
                      "model_cost on a (3, 11, 30) input: feature maps taller than wide are not square",
                      hint="a conv's output is (N, C, height, width): pass shape[-2] as the height and shape[-1] as the width")
per_position = nn.Sequential(nn.Conv2d(2, 5, 3), nn.Linear(6, 4))
cu.checks.check_equal(model_cost(per_position, (2, 9, 8)),
                      (cu.models.count_params(per_position), cu.costs.measured_flops(per_position, (2, 9, 8)) // 2),
                      "model_cost of a Linear applied to (1, 5, 7, 6) feature maps",
                      hint="a Linear on (1, ..., in_features) runs once for every position before the last axis: 5 * 7 times here")
hooked = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
hooked_cost = model_cost(hooked, (1, 6, 6))
cu.checks.check_equal(sum(len(m._forward_hooks) for m in hooked.modules()), 0, "forward hooks left on the model after model_cost",
                      hint="remove every hook you registered (handle.remove(), in a finally block) so the model is left as it was")
### END HIDDEN TESTS
cu.checks.passed("model_cost")

# %% [markdown]
# ## 4 · In your own words
#
# In 2012 one entry to the ImageNet challenge cut the best top-5 error from
# about 26% to about 15%. Why did that one result change how the field worked,
# and not just the leaderboard? Mention at least two of: what made the result
# possible, what it showed about hand-designed features, and what other people
# did with it afterwards. Four to six sentences.

# %% [markdown] kind="written" id="q_why_2012" points=2
# Until 2012 the best systems were pipelines of hand-designed features (SIFT,
# Fisher vectors) fed to linear classifiers, and each year they improved by a
# point or two. AlexNet learned its features from the pixels and beat the
# runner-up by about 11 points, a margin the old approach could not explain
# away. It became possible because three things arrived together: a labelled
# dataset large enough for a 60-million-parameter network (ImageNet), cheap
# parallel compute (two gaming GPUs), and training tricks that made a deep
# network trainable and less prone to overfitting (ReLU, dropout, augmentation).
# The result convinced researchers to drop feature engineering for learned
# features: every later winner was a deeper CNN, the features of trained
# ImageNet networks were reused for other tasks (transfer learning), and GPU
# hardware and software for deep learning grew into an industry.
