# %% [markdown]
# # 06b · The recipe, scaled up: residual networks and EfficientNet
#
# Lesson 04's classifier — convolution, batch norm, ReLU, pooling, a dense head —
# is the whole recipe. AlexNet and VGG (lesson 06) made it bigger. This lesson
# follows the two ideas that let it grow much further: the **shortcut
# connection** of ResNet, which made networks of fifty and more layers
# trainable, and the **depthwise separable convolution** and **compound
# scaling** of EfficientNet, which made them cheap. What the papers report
# carries its source; every result of this run is measured here, on this CPU.
#
# **In this lesson you will**
# 1. train plain and residual stacks of rising depth and watch the deep plain one fail on its own training set;
# 2. take apart the residual block: identity and projection shortcuts, batch norm's place, the bottleneck;
# 3. build ResNet-18 and ResNet-50, replay one stage by stage on a photo, and measure their cost against torchvision's numbers;
# 4. open the pretrained EfficientNet-Lite0, price its separable convolutions layer by layer,
#    measure the B0…B7 family, and put a decade of ImageNet networks on one chart.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests). No GPU,
# no internet.

# %%
from collections import OrderedDict

import pandas as pd
import timm
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.v2 as T
from torch import nn

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · Deeper is not automatically better
#
# VGG went from 11 to 19 layers and got better. Why not 56, or 152? He et al.
# tried (*Deep residual learning for image recognition*, CVPR 2016, Sec. 1 and
# Fig. 1): on CIFAR-10, a plain 56-layer network had a *higher training error*
# than a 20-layer one. That is not overfitting — overfitting is doing well on
# the training set and badly on new data. The deeper network was simply harder
# to optimise. They called it the **degradation problem**.
#
# We repeat the experiment in miniature. The data are Fashion-MNIST clothing
# photos (Xiao et al. 2017, arXiv:1708.07747), 12,000 of them, shrunk to 14×14
# so that a 56-layer network trains quickly on a CPU.

# %%
fashion = cu.data.load_fashion_mnist()
x_all, y_all = cu.data.to_tensors(fashion["train"])
x_train, y_train = F.avg_pool2d(x_all[:12000], 2), y_all[:12000]
x_train.shape, fashion["train"].features["label"].names[:4]

# %% [markdown]
# A *plain* block is two 3×3 convolutions, each followed by batch norm, with a
# ReLU between and after. A *residual* block is the same, except that its input
# is added back before the last ReLU: **out = relu(x + F(x))**. The path that
# carries x around the convolutions is the **shortcut**. That one `+ x` is the
# whole difference.

# %%
class Block(nn.Module):
    def __init__(self, width: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.conv1, self.bn1 = nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)

    def forward(self, x):
        f = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(x + f) if self.residual else F.relu(f)


block = Block(8, residual=True)
block(torch.randn(2, 8, 7, 7)).shape

# %% [markdown]
# `cu.architectures.depth_net(depth, residual)` stacks such blocks (its
# `StackBlock` is the class above): a stride-2 stem convolution (14×14 → 7×7, 8
# channels), (depth − 2) / 2 blocks, global average pooling and a linear layer.
# Depth counts weight layers, as He et al. count them: depth 20 is the stem,
# nine blocks of two convolutions, and the head.

# %%
depths = (4, 20, 56)
{d: cu.models.count_params(cu.architectures.depth_net(d, residual=True)) for d in depths}

# %% [markdown]
# Now the experiment: for each depth, a plain and a residual network, the same
# starting seed, the same 150 batches of 32 images, plain SGD with momentum and
# learning rate 0.1. Before training we record the gradient of every layer's
# weights on one batch; after it, the loss and accuracy on 2,000 of the
# *training* images.

# %%
with cu.env.timer() as clock:
    runs = cu.architectures.degradation_runs(x_train, y_train, depths, steps=150, batch_size=32, lr=0.1)
results = pd.DataFrame([{"network": r.label, "training loss": r.train_loss, "training accuracy": r.train_accuracy}
                        for r in runs]).set_index("network")  # fmt: skip
print(f"{len(runs)} networks trained for 150 steps each in {clock.seconds:.1f} s")
results.round(3)

# %%
cu.show(cu.architectures.figure_depth_summary(runs),
        alt="Training loss and training accuracy against depth 4, 20 and 56: the plain networks' loss rises and "
            "accuracy falls with depth, the residual networks stay better at 20 and 56 layers.")  # fmt: skip
loss = {r.label: r.train_loss for r in runs}
cu.expect(loss["plain-56"] > loss["plain-20"] > loss["plain-4"],
          "The plain networks train worse the deeper they are: 56 layers worse than 20, 20 worse than 4.", **loss)
cu.expect(loss["residual-56"] < loss["plain-56"] and loss["residual-20"] < loss["plain-20"],
          "At 20 and at 56 layers, the residual network reaches a lower training loss than the plain one.", **loss)
accuracy = {r.label: r.train_accuracy for r in runs}
cu.expect(accuracy["plain-56"] < accuracy["plain-20"] < accuracy["plain-4"]
          and accuracy["residual-20"] > accuracy["plain-20"] and accuracy["residual-56"] > accuracy["plain-56"],
          "the plain networks' accuracy falls with depth, the residual networks stay better at 20 and 56 layers", **accuracy)
cu.expect(min(loss["residual-20"], loss["residual-56"]) > min(loss["plain-4"], loss["residual-4"]) - 0.1,
          "no deeper network, residual or not, reached a clearly lower loss than the better 4-layer one", **loss)
{label: round(value, 3) for label, value in loss.items()}

# %% [markdown]
# The plain networks train worse the deeper they are: 56 layers worse than 20,
# 20 worse than 4. That is the degradation problem, on our own CPU. At 20 and
# at 56 layers, the residual network reaches a lower training loss than the
# plain one. (The cell above checks these sentences: it fails if a run ever
# contradicts them.) Note what this short run does *not* show: that depth pays.
# No deeper network, residual or not, reached a clearly lower loss than the
# better of the two 4-layer ones (compare the losses above). He et al.
# trained for 64,000 steps; with that budget their deeper residual networks did win (Sec. 4.2,
# Table 6). A short run measures how easy a network is to optimise, not how
# good it finally gets — and one short run is noisy: compare the two 4-layer
# networks, which differ by a single shortcut. Change `seed` in
# `degradation_runs` to see how much the numbers move.
#
# Why does the plain stack struggle? Look at the gradients at the start of
# training: how hard is each layer pushed by the first batch?

# %%
spread = {r.label: r.init_norms[0] / r.init_norms[-2] for r in runs}
cu.show(cu.architectures.figure_degradation(runs, 56),
        alt=f"Left: training loss over 150 steps for plain-56 and residual-56. Right: gradient norm per layer at "
            f"initialisation, on a log scale; the first layer's gradient is {spread['plain-56']:.0f} times the last "
            f"convolution's in the plain network and {spread['residual-56']:.0f} times in the residual one.")  # fmt: skip
cu.expect(spread["plain-56"] > 10 * spread["residual-56"],
          "In the plain 56-layer network the gradients are far more uneven across layers.", **spread)
cu.expect(spread["plain-56"] > spread["plain-20"] > 1,
          "In the plain networks the gradients grow on the way back to the input, the more so the deeper.", **spread)
{label: f"first layer's gradient = {s:.1f} × last convolution's" for label, s in spread.items()}

# %% [markdown]
# In the plain 56-layer network the gradients are far more uneven across
# layers: the numbers above compare the first convolution with the last one.
# With batch norm everywhere the gradients do not vanish: in the plain networks
# the gradients grow on the way back to the input, the more so the deeper. Each layer's update is
# scaled very differently, and the 27 blocks have to learn to pass useful
# signal through one another before they can learn anything else. In the
# residual network every block starts close to "pass the input through", and
# the gradient has a direct route back along the shortcuts.
#
# Pick a depth below to compare the plain and residual network at that depth;
# the smoothing slider sets how many steps the running loss averages.

# %%
explorer = cu.widgets.degradation_explorer(runs)

# %% [markdown]
# ## 2 · The residual block, in detail
#
# ### Only a correction to learn
#
# If a block's last batch norm has scale γ = 0, its branch F(x) is zero and the
# block returns relu(x) — for the non-negative inputs a ReLU network passes
# along, that is x itself. A residual network can therefore start as a stack of
# identities, and each block only has to learn a *correction* to its input.
# torchvision offers exactly this start (`zero_init_residual=True`, following
# Goyal et al. 2017, arXiv:1706.02677, Sec. 5.1). Checked:

# %%
block = Block(8, residual=True)
nn.init.zeros_(block.bn2.weight)  # γ = 0: the branch F(x) outputs zeros
x_pos = torch.rand(4, 8, 7, 7)  # non-negative, like the output of a previous ReLU
passed_through = torch.equal(block.train()(x_pos), x_pos)
cu.expect(passed_through, "with γ = 0 the residual block hands its input on unchanged")
passed_through

# %% [markdown]
# A plain block cannot do that: with γ = 0 it outputs zeros, and to pass its
# input along it would have to *learn* the identity through two convolutions
# and two ReLUs.
#
# ### Identity and projection shortcuts
#
# x + F(x) needs F(x) to have x's shape. When a block halves the map size
# (stride 2) or changes the number of channels, ResNet puts a 1×1 convolution
# with that stride, and a batch norm, on the shortcut: a **projection** (He et
# al. 2016, Sec. 3.3, option B). `cu.architectures.basic_block` builds
# torchvision's `BasicBlock` with the right shortcut; the exercise asks you to
# write it.

# %%
same = cu.architectures.basic_block(64, 64, stride=1)
down = cu.architectures.basic_block(64, 128, stride=2)
x64 = torch.randn(1, 64, 56, 56)
(tuple(same(x64).shape), cu.models.count_params(same)), (tuple(down(x64).shape), cu.models.count_params(down), down.downsample)

# %% [markdown]
# ### Batch norm's place
#
# Batch norm sits after each convolution and *before* the addition, so the
# branch is normalised but the shortcut is not. Lesson 04 introduced batch norm;
# one detail matters for every network from here on. In training mode it
# normalises with the statistics of the current batch and updates a running
# average of them; in evaluation mode it uses those running averages. The same
# block gives different outputs in the two modes:

# %%
bn = nn.BatchNorm2d(3)
batch = 5 + 2 * torch.randn(16, 3, 8, 8)  # mean 5, standard deviation 2
with torch.no_grad():
    train_out = bn.train()(batch)
    eval_out = bn.eval()(batch)
cu.expect(torch.allclose(bn.running_mean, 0.1 * batch.mean((0, 2, 3))) and eval_out.mean() > 3 and abs(train_out.mean()) < 0.01,
          "the running mean moved 10% of the way towards the batch's mean of about 5, so evaluation mode does not "
          "yet centre the data", running_mean=bn.running_mean, eval_mean=eval_out.mean())
{"running mean after one batch": bn.running_mean.tolist(), "train-mode output mean": round(train_out.mean().item(), 3),
 "eval-mode output mean": round(eval_out.mean().item(), 3)}  # fmt: skip

# %% [markdown]
# The running mean moved 10% of the way (PyTorch's default momentum 0.1) from 0
# towards the batch's mean of about 5, so evaluation mode does not yet centre
# the data. That is why we call `model.eval()` before predicting, and why
# lesson 07 takes care to keep a frozen network's batch norm in eval mode.
#
# ### The bottleneck block
#
# ResNet-50 and deeper use a cheaper block on 256 or more channels: a 1×1
# convolution squeezes the channels by 4, a 3×3 convolution works on the thin
# version, and a second 1×1 convolution widens it back (He et al. 2016, Sec.
# 4.1, Fig. 5). Compare it with two 3×3 convolutions on all 256 channels:

# %%
bottleneck = torchvision.models.resnet.Bottleneck(256, 64)  # 256 -> 64 -> 64 -> 256
two_3x3 = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1, bias=False), nn.Conv2d(256, 256, 3, padding=1, bias=False))
x256 = (256, 56, 56)
block_costs = {name: (cu.models.count_params(m), cu.costs.measured_flops(m, x256) / 2)
               for name, m in (("bottleneck", bottleneck), ("two 3x3 convs", two_3x3))}  # fmt: skip
fewer = [block_costs["two 3x3 convs"][i] / block_costs["bottleneck"][i] for i in (0, 1)]
cu.expect(all(15 < r < 19 for r in fewer), "About 17 times fewer parameters and multiply-adds",
          parameters=fewer[0], macs=fewer[1])
{name: (p, f"{m / 1e9:.2f} billion MACs") for name, (p, m) in block_costs.items()}

# %% [markdown]
# About 17 times fewer parameters and multiply-adds, for a block that is three
# layers deep instead of two. That is how ResNet-50 has 50 layers at about twice
# ResNet-18's arithmetic, as the next section measures.
#
# ## 3 · ResNet-18 and ResNet-50, built and costed
#
# torchvision builds both. On PyTorch's `meta` device a network has shapes but no
# memory, so building it and counting its arithmetic takes no time and no
# weights. torchvision's weight metadata publishes each network's parameter
# count and its multiply-adds (under `_ops`, in billions, which torchvision
# calls GFLOPS); we check our measurements against them.

# %%
rows = []
for arch, weights in (("resnet18", torchvision.models.ResNet18_Weights.IMAGENET1K_V1),
                      ("resnet50", torchvision.models.ResNet50_Weights.IMAGENET1K_V1)):  # fmt: skip
    cost = cu.architectures.measure(arch)
    rows.append({"network": arch, "parameters (measured)": cost.params, "parameters (torchvision)": weights.meta["num_params"],
                 "GMACs (measured)": round(cost.macs / 1e9, 3), "GMACs (torchvision)": weights.meta["_ops"]})  # fmt: skip
resnets = pd.DataFrame(rows).set_index("network")
cu.expect(all((resnets["parameters (measured)"] == resnets["parameters (torchvision)"])
              & ((resnets["GMACs (measured)"] - resnets["GMACs (torchvision)"]).abs() < 0.01)),
          "Our measurements match torchvision's published parameters exactly and its multiply-adds to 0.01 billion.")
arithmetic = resnets.loc["resnet50", "GMACs (measured)"] / resnets.loc["resnet18", "GMACs (measured)"]
cu.expect(1.8 < arithmetic < 2.5, "ResNet-50 has 50 layers at about twice ResNet-18's arithmetic", ratio=arithmetic)
cu.expect(round(resnets.loc["resnet18", "GMACs (measured)"], 1) == 1.8 and round(resnets.loc["resnet50", "GMACs (measured)"], 1) == 4.1,
          "ResNet-18 and ResNet-50 cost 1.8 and 4.1 billion multiply-adds per image", gmacs=resnets["GMACs (measured)"].tolist())
resnets

# %% [markdown]
# Our measurements match torchvision's published parameters exactly and its
# multiply-adds to 0.01 billion. Where do ResNet-18's parameters sit? It has a
# stem (a 7×7 convolution with stride 2, then max pooling), four stages of two
# basic blocks each, and a dense layer. Each stage halves the maps and doubles
# the channels:

# %%
def per_part(model, input_shape=(3, 224, 224)):
    """{top-level part (conv1, ..., layer1 to layer4, fc): (output shape, parameters, multiply-adds)}."""
    parts = {}
    for c in cu.costs.layer_costs(model, input_shape):
        top = c.name.split(".")[0]
        _, params, macs = parts.get(top, (None, 0, 0))
        parts[top] = (c.output_shape, params + c.params, macs + c.macs)
    return parts


resnet18 = torchvision.models.resnet18(weights=None)
per_stage = per_part(resnet18)
stages = [per_stage[f"layer{i}"] for i in (1, 2, 3, 4)]
stage_macs, stage_params = [m for _, _, m in stages], [p for _, p, _ in stages]
cu.expect(max(stage_macs) < 1.3 * min(stage_macs) and stage_params == sorted(stage_params) and stage_params[3] > 3 * stage_params[2] / 2,
          "each stage does about the same arithmetic, while the parameters pile up in the late stages",
          stage_macs=stage_macs, stage_params=stage_params)
pd.DataFrame([{"stage": k, "output": "×".join(map(str, s)), "parameters": p, "MMACs": round(m / 1e6, 1)}
              for k, (s, p, m) in per_stage.items()]).set_index("stage")  # fmt: skip

# %% [markdown]
# The pattern of lesson 06 again, rebalanced: each stage does about the same
# arithmetic (half the positions, twice the channels), while the parameters pile
# up in the late stages. There is no big dense layer any more: global average
# pooling reduces 512 maps of 7×7 to 512 numbers, and one linear layer maps them
# to 1,000 classes.
#
# ResNet-50 does not spread its arithmetic as evenly. Its stages hold 3, 4, 6
# and 3 bottleneck blocks (He et al. 2016, Table 1), and the third, with the most
# blocks, costs the most. We count it on the `meta` device:

# %%
with torch.device("meta"):
    resnet50_meta = torchvision.models.resnet50()
parts50 = per_part(resnet50_meta)
stage_macs50 = {f"layer{i}": parts50[f"layer{i}"][2] for i in (1, 2, 3, 4)}
heaviest, lightest = max(stage_macs50, key=stage_macs50.get), min(stage_macs50, key=stage_macs50.get)
cu.expect(heaviest == "layer3" and lightest == "layer1" and 1.8 < stage_macs50["layer3"] / stage_macs50["layer1"] < 2.6,
          "ResNet-50's third stage does about twice the arithmetic of its first", stage_macs=stage_macs50)
{stage: f"{macs / 1e9:.2f} billion MACs" for stage, macs in stage_macs50.items()}

# %% [markdown]
# ResNet-50's third stage does about twice the arithmetic of its first, and
# the other two lie in between: deeper stages cost more where they hold more
# blocks.
#
# ### Replay: a photo through ResNet-18
#
# Lesson 04's replay view works on ResNet-18 too: a torchvision ResNet applies
# its parts one after another (with a flatten before the last layer), and
# `cu.stages.sequential_view` checks that and lays them out as a sequence. We
# put the ImageNet normalisation in front. The network is **untrained** (we have
# no offline ResNet weights), so watch the shapes and how the maps shrink and
# multiply — not the prediction, which spreads over all 1,000 classes with none
# getting even 1%.

# %%
photo = T.Resize(224, antialias=True)(torch.from_numpy(cu.data.load_photo("cat")).permute(2, 0, 1))
photo = T.CenterCrop(224)(photo).float() / 255
resnet18.eval()
replayable = nn.Sequential(OrderedDict(
    [("normalize", T.Normalize(cu.pixels.IMAGENET_MEAN, cu.pixels.IMAGENET_STD))]
    + list(cu.stages.sequential_view(resnet18, torch.zeros(1, 3, 224, 224)).named_children())))  # fmt: skip
stages18 = cu.stages.run_stages(replayable, photo)
for stage in stages18[:6]:
    print(stage.describe())
untrained_probs = stages18[-1].output  # the last stage is the softmax
cu.expect(float(untrained_probs.max()) < 0.01, "the prediction spreads over all 1,000 classes with none getting even 1%",
          largest=float(untrained_probs.max()))

# %%
coffee = T.Resize(224, antialias=True)(torch.from_numpy(cu.data.load_photo("coffee")).permute(2, 0, 1))
coffee = T.CenterCrop(224)(coffee).float() / 255
replay = cu.widgets.replay_view(replayable, {"cat (untrained ResNet-18)": photo, "coffee (untrained ResNet-18)": coffee},
                                cu.models.imagenet_classes(), max_maps=16)

# %% [markdown]
# ResNet-50 is laid out the same way: a stem, four stages, pooling and one
# dense layer. Its stages are made of bottleneck blocks, whose last 1×1
# convolution widens the maps by 4, so each stage hands on the same map size as
# ResNet-18's with four times the channels. Replay the same photos through it
# and compare the shapes (also untrained):

# %%
resnet50 = torchvision.models.resnet50(weights=None).eval()
replayable50 = nn.Sequential(OrderedDict(
    [("normalize", T.Normalize(cu.pixels.IMAGENET_MEAN, cu.pixels.IMAGENET_STD))]
    + list(cu.stages.sequential_view(resnet50, torch.zeros(1, 3, 224, 224)).named_children())))  # fmt: skip
# What each part hands on (the replay shows every block; a stage's output is its last block's).
shapes18 = {st.name.split(".")[0]: st.shape for st in stages18}
stages50 = cu.stages.run_stages(replayable50, photo)
shapes50 = {st.name.split(".")[0]: st.shape for st in stages50}
cu.expect(all(shapes50[f"layer{i}"] == (4 * shapes18[f"layer{i}"][0], *shapes18[f"layer{i}"][1:]) for i in (1, 2, 3, 4)),
          "each stage hands on the same map size as ResNet-18's with four times the channels",
          resnet18={k: v for k, v in shapes18.items() if k.startswith("layer")},
          resnet50={k: v for k, v in shapes50.items() if k.startswith("layer")})
top50 = int(stages50[-1].output[0].argmax())
print(f"untrained ResNet-18's largest probability for the cat photo: {float(untrained_probs.max()):.1%}; "
      f"untrained ResNet-50's: {float(stages50[-1].output[0, top50]):.1%} ({cu.models.imagenet_classes()[top50]})")
pd.DataFrame({"ResNet-18": {k: "×".join(map(str, v)) for k, v in shapes18.items()},
              "ResNet-50": {k: "×".join(map(str, v)) for k, v in shapes50.items()}})  # fmt: skip

# %% [markdown]
# The line above the table compares the two untrained predictions. ResNet-50's
# can look far more confident than ResNet-18's: with random weights the signal
# grows through its 16 bottleneck blocks, and softmax turns large logits into a
# near-certain pick. It is still a guess that means nothing, since these
# weights have learnt nothing; confidence is not correctness (lesson 08).

# %%
replay50 = cu.widgets.replay_view(replayable50, {"cat (untrained ResNet-50)": photo, "coffee (untrained ResNet-50)": coffee},
                                  cu.models.imagenet_classes(), max_maps=16)

# %% [markdown]
# ## 4 · EfficientNet-Lite0, opened up
#
# The course's pretrained network has been EfficientNet-Lite0 since lesson 06.
# Time to look inside it, with its real ImageNet weights.

# %%
backbone = cu.models.pretrained_backbone(device)
lite0 = backbone.model
top = backbone.classify(cu.data.load_photo("cat"), k=1)[0][0]
kinds = pd.Series([type(b).__name__ for stage in lite0.blocks for b in stage]).value_counts()
cu.expect(kinds.get("InvertedResidual", 0) > kinds.sum() / 2,
          "Most of Lite0's blocks are inverted residuals", kinds=kinds.to_dict())
print(f"the cat photo: {top[0]} ({top[1]:.0%}); {cu.models.count_params(lite0):,} parameters")
kinds

# %% [markdown]
# ### Depthwise separable convolution
#
# A standard k×k convolution from C_in to C_out channels does k²·C_in·C_out
# multiply-adds at every output position: every filter reads every channel.
# MobileNet split that in two (Howard et al. 2017, arXiv:1704.04861, Sec. 3.1):
# a **depthwise** k×k convolution filters each channel on its own (`groups =
# C_in`, k²·C_in), then a **pointwise** 1×1 convolution mixes the channels
# (C_in·C_out). The ratio is 1/C_out + 1/k² — for 3×3 kernels and many channels,
# about 1/9. EfficientNet's first block is exactly such a pair:

# %%
lite0.blocks[0][0]

# %% [markdown]
# `cu.architectures.separable_pairs` finds every depthwise convolution in the
# network, measures it and the 1×1 convolution after it (with `FlopCounterMode`),
# and prices the standard convolution the pair replaces, with the same channels
# and output size.

# %%
pairs = cu.architectures.separable_pairs(lite0, (3, 224, 224))
table = pd.DataFrame([{"depthwise": p.depthwise, "k": p.kernel_size, "C_in → C_out": f"{p.in_channels} → {p.out_channels}",
                       "maps": "×".join(map(str, p.output_hw)), "pair MMACs": round(p.macs / 1e6, 1),
                       "standard MMACs": round(p.standard_macs / 1e6, 1), "ratio": round(p.ratio, 3),
                       "1/C_out + 1/k²": round(1 / p.out_channels + 1 / p.kernel_size**2, 3)} for p in pairs])  # fmt: skip
cu.expect(all(abs(p.ratio - (1 / p.out_channels + 1 / p.kernel_size**2)) < 1e-9 for p in pairs),
          "Every measured ratio equals the formula 1/C_out + 1/k².")
table

# %% [markdown]
# Every measured ratio equals the formula 1/C_out + 1/k². The 5×5 layers save even
# more than the 3×3 ones (1/25 instead of 1/9 in the second term). Summed over
# the network:

# %%
pair_macs, standard_macs = sum(p.macs for p in pairs), sum(p.standard_macs for p in pairs)
f"the {len(pairs)} separable pairs: {pair_macs / 1e9:.3f} billion MACs instead of {standard_macs / 1e9:.2f} billion — {standard_macs / pair_macs:.1f}x less"

# %% [markdown]
# ### The inverted residual (MBConv) block
#
# Most of Lite0's blocks are MobileNetV2's **inverted residual** (Sandler et al.
# 2018, arXiv:1801.04381, Sec. 3.3): a 1×1 convolution *expands* the channels
# (by 6), a depthwise convolution filters the wide version, and a 1×1
# convolution *projects* back to few channels, with no activation after it. When
# the shapes allow, a shortcut adds the block's input — but between the thin
# ends, the opposite of ResNet's bottleneck, whose shortcut joins the wide ends.

# %%
mbconv = lite0.blocks[1][1]
print(mbconv)
f"has a shortcut: {mbconv.has_skip}; channels {mbconv.conv_pw.in_channels} → {mbconv.conv_pw.out_channels} → {mbconv.conv_pwl.out_channels}"

# %% [markdown]
# ### What "Lite" removes
#
# Google's Lite versions were made for phone accelerators, which run
# quantised integer arithmetic: they drop the squeeze-and-excitation units and
# replace the swish activation with ReLU6 (EfficientNet-Lite README,
# github.com/tensorflow/tpu, models/official/efficientnet/lite). We check that
# against the two architectures timm builds: B0 and Lite0.

# %%
with torch.device("meta"):
    b0 = timm.create_model("tf_efficientnet_b0", pretrained=False)


def inventory(model: nn.Module) -> dict:
    names = [type(m).__name__ for m in model.modules()]
    return {"squeeze-excite units": names.count("SqueezeExcite"), "SiLU (swish)": names.count("SiLU"),
            "ReLU6": names.count("ReLU6"), "parameters": cu.models.count_params(model)}  # fmt: skip


lite, full = inventory(lite0), inventory(b0)
cu.expect(lite["squeeze-excite units"] == lite["SiLU (swish)"] == 0 < full["squeeze-excite units"]
          and lite["parameters"] < full["parameters"],
          "Lite0 has no squeeze-excitation units and no swish, where B0 has both, and fewer parameters.")
pd.DataFrame({"EfficientNet-B0": full, "EfficientNet-Lite0": lite})

# %% [markdown]
# ### Compound scaling: B0 to B7
#
# Tan and Le (*EfficientNet*, ICML 2019, Sec. 3.3) found B0 by an architecture
# search, then scaled it up in three directions at once, with one knob φ: depth
# by 1.2^φ, width (channels) by 1.1^φ and input resolution by 1.15^φ. These
# were chosen so that 1.2 × 1.1² × 1.15² ≈ 2: each step of φ roughly doubles
# the arithmetic. We measure the family timm builds (no weights, on the meta
# device):

# %%
with cu.env.timer() as clock:
    family = [cu.architectures.measure(f"tf_efficientnet_b{i}") for i in range(8)]
print(f"8 architectures built and measured in {clock.seconds:.1f} s")
growth = [b.macs / a.macs for a, b in zip(family, family[1:])]
cu.show(cu.architectures.figure_family(family),
        alt="Three bar charts for EfficientNet B0 to B7: multiply-adds rise from "
            f"{family[0].macs / 1e9:.2f} to {family[-1].macs / 1e9:.1f} billion, parameters from "
            f"{family[0].params / 1e6:.1f} to {family[-1].params / 1e6:.1f} million, resolution from "
            f"{family[0].resolution} to {family[-1].resolution} pixels.")  # fmt: skip
pd.DataFrame([{"model": f.name, "resolution": f.resolution, "parameters (M)": round(f.params / 1e6, 1),
               "GMACs": round(f.macs / 1e9, 2)} for f in family]).set_index("model")  # fmt: skip

# %%
cu.expect(min(growth) < 2 < max(growth), "the measured steps spread around 2", growth=growth)
f"each step multiplies the arithmetic by {min(growth):.1f} to {max(growth):.1f} (B0 → B7: {family[-1].macs / family[0].macs:.0f}x)"

# %% [markdown]
# The released models do not follow φ exactly (the paper's Table 2 lists
# hand-picked resolutions, and channel counts are rounded to multiples of 8),
# so the measured steps spread around 2 rather than sitting on it.
#
# ## 5 · A decade of the same recipe
#
# Finally, one chart: the published ImageNet top-1 accuracy of each network
# against what we measure it to cost — multiply-adds per 224×224 image and
# parameters, both on log scales. Every accuracy carries its source.

# %%
chart = [(pub, cu.architectures.measure(pub.arch, 224)) for pub in cu.architectures.PUBLISHED]
cu.show(cu.architectures.figure_recipe(chart),
        alt="Two scatter plots of published ImageNet top-1 accuracy against measured multiply-adds and against "
            "parameters, log scales: " + "; ".join(f"{p.label} {p.top1:.1f}% at {c.macs / 1e9:.2f} GMACs and "
                                                 f"{c.params / 1e6:.1f} M parameters" for p, c in chart) + ".")  # fmt: skip
pd.DataFrame([{"network": p.label, "year": p.year, "top-1 %": p.top1, "GMACs": round(c.macs / 1e9, 2),
               "parameters (M)": round(c.params / 1e6, 1), "source of top-1": p.source} for p, c in chart])  # fmt: skip

# %% [markdown]
# Read it from the bottom left. AlexNet and VGG-16 spent their parameters in
# dense layers and their arithmetic in big convolutions. ResNet-18 beats
# AlexNet's accuracy by about 13 points with a fifth of its parameters, and
# ResNet-50 beats VGG-16 with about a quarter of its arithmetic. EfficientNet-B0
# and Lite0 go further with depthwise separable blocks: within about a point
# of ResNet-50's accuracy for a tenth of its multiply-adds. The vision transformer
# DeiT-Ti, with no convolutions at all, sits near ResNet-18 with fewer
# parameters but more arithmetic than EfficientNet. Each step kept the recipe —
# stacked layers of learned filters, normalisation, a pooled head — and spent
# the budget more carefully.
#
# A caution on the x-axis: multiply-adds are not seconds. A depthwise
# convolution does little arithmetic per byte it reads, so on many chips it
# runs far below their peak; measure speed on the device you care about
# (lesson 05).

# %%
macs = {p.label: c.macs for p, c in chart}
params = {p.label: c.params for p, c in chart}
top1 = {p.label: p.top1 for p in cu.architectures.PUBLISHED}
cu.expect(top1["ResNet-18"] - top1["AlexNet"] > 12 and params["ResNet-18"] < params["AlexNet"] / 5,
          "ResNet-18 beats AlexNet's accuracy by about 13 points with a fifth of its parameters.")
cu.expect(top1["ResNet-50"] > top1["VGG-16"] and macs["ResNet-50"] < macs["VGG-16"] / 3.5,
          "ResNet-50 beats VGG-16 with about a quarter of its arithmetic.")
cu.expect(all(abs(top1[k] - top1["ResNet-50"]) < 1.6 and macs[k] < macs["ResNet-50"] / 10
              for k in ("EfficientNet-B0", "EfficientNet-Lite0")),
          "EfficientNet-B0 and Lite0: within about a point of ResNet-50's accuracy for a tenth of its multiply-adds.")
cu.expect(abs(top1["DeiT-Ti (ViT)"] - top1["ResNet-18"]) < 3 and params["DeiT-Ti (ViT)"] < params["ResNet-18"]
          and macs["DeiT-Ti (ViT)"] > macs["EfficientNet-B0"],
          "DeiT-Ti sits near ResNet-18 with fewer parameters but more arithmetic than EfficientNet.")
{name: f"{top1[name]:.1f}% top-1, {params[name] / 1e6:.1f} M parameters, {macs[name] / 1e9:.2f} G multiply-adds" for name in params}

# %% [markdown]
# ## Summary
#
# - Stacking more plain layers made networks *harder to train*, not just larger:
#   here, as in He et al. 2016, the deeper plain stacks reached a higher loss on
#   their own training set. Residual blocks, out = relu(x + F(x)), removed the
#   problem: each block starts near the identity and learns a correction.
# - A projection shortcut (1×1 convolution and batch norm) is used when a block
#   changes the map size or the channels; the bottleneck block does ResNet-50's
#   depth at a fraction of the cost.
# - ResNet-18 and ResNet-50 cost 1.8 and 4.1 billion multiply-adds per image, as
#   measured here and published by torchvision. ResNet-18 spreads its arithmetic
#   evenly over its four stages; ResNet-50's third stage, with the most blocks,
#   does about twice the work of its first.
# - EfficientNet replaces most standard convolutions with depthwise separable
#   ones (1/C_out + 1/k² of the cost) inside inverted residual blocks, and grows
#   depth, width and resolution together. Lite0 drops squeeze-excitation and swish.
#
# ## Check your understanding
#
# 1. The 56-layer plain network had a higher *training* loss than the 20-layer one. Why does that rule out
#    overfitting as the explanation?
#
#    <details><summary>Answer</summary>Overfitting means fitting the training set well and new data badly. The deep plain network fits its own training set worse than the shallow one, so the problem is optimisation: training fails to find weights that the deeper network could represent.</details>
# 2. A block maps 128 channels at 28×28 to 256 channels at 14×14. What does its shortcut have to be, and how
#    many parameters does it add?
#
#    <details><summary>Answer</summary>The shapes differ, so the identity cannot be added: the shortcut is a projection, a 1×1 convolution with stride 2 from 128 to 256 channels and no bias, followed by batch norm: 128 × 256 = 32,768 weights plus 2 × 256 = 512 batch-norm parameters, 33,280 in all.</details>
# 3. A depthwise separable pair goes from 96 to 24 channels with a 5×5 kernel. What fraction of a standard
#    5×5 convolution's arithmetic does it do?
#
#    <details><summary>Answer</summary>(25 × 96 + 96 × 24) / (25 × 96 × 24) = 1/24 + 1/25, about 0.082: roughly a twelfth of the standard convolution's multiply-adds.</details>
# 4. Why do we call `model.eval()` before predicting with a network that contains batch norm?
#
#    <details><summary>Answer</summary>In train mode batch norm normalises with the statistics of the current batch (and updates its running ones), so a prediction would depend on the other images in the batch. Eval mode uses the running statistics learned in training: the same image always gets the same answer.</details>
# 5. EfficientNet-B0 does a tenth of ResNet-50's multiply-adds. Would you expect it to be ten times faster on
#    this CPU? What would you measure?
#
#    <details><summary>Answer</summary>Not necessarily: depthwise convolutions do little arithmetic per byte they move, so memory traffic and per-layer overheads, not multiply-adds, limit them on a CPU. Measure images per second of both networks side by side on the same machine, after a warm-up, at the batch size you would use.</details>
#
# **Exercise:** [ex06b · The recipe, scaled up](../exercises/ex06b_the_recipe_scaled_up/ex06b_the_recipe_scaled_up.ipynb)
# — build a residual block and a depthwise separable block, predict what separable convolutions save, and
# measure gradient norms without side effects.
#
# **Next:** [07 · Transfer learning](07_transfer_learning.ipynb).
