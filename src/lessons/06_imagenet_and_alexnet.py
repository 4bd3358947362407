# %% [markdown]
# # 06 · ImageNet and the 2012 earthquake
#
# Until 2012, the best systems for recognising objects in photos were built on
# features that people designed by hand, and the ImageNet challenge's best
# error fell by a couple of points a year. In 2012 a convolutional network that
# learned its own features from one large labelled dataset beat the best of
# those systems by about eleven points, and every winner after it was a deep
# network. This lesson takes that story apart — the dataset, the scoreboard,
# the network, and the tricks that made it trainable — and measures each piece
# on this machine.
#
# **In this lesson you will**
# 1. describe how ImageNet was built and browse the 1,000 classes of its challenge;
# 2. read the challenge's results by year and see how big the 2012 jump was;
# 3. count where AlexNet keeps its parameters and spends its arithmetic, and why it needed two GPUs;
# 4. test AlexNet's ingredients (ReLU, dropout, augmentation) and VGG's 3×3 idea in small experiments,
#    then score a real pretrained network with top-1 and top-5 — including a photo it cannot get right.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests;
# the two long cells print what they measured). No GPU and no internet needed.

# %%
import numpy as np
import pandas as pd
import torch
import torchvision
from torch import nn
from tqdm.auto import tqdm

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · ImageNet: a dataset built by a crowd
#
# ImageNet (Deng et al., *ImageNet: A large-scale hierarchical image
# database*, CVPR 2009) gives pictures to the nouns of WordNet, a lexical
# database in which every concept is a *synset*: a set of synonyms with an ID
# and a one-line definition. The builders did not draw or photograph anything.
# They collected candidate images by querying image search engines for each
# synset, then paid workers on Amazon Mechanical Turk to say whether each
# candidate really showed the concept, asking several workers per image and
# keeping the images they agreed on (Deng et al. 2009, Sec. 3). The full
# collection grew to 14,197,122 images in 21,841 synsets (image-net.org).
#
# We do not have the images offline, but the `timm` library ships the list of
# synsets with their WordNet definitions. Here are both the full list and the
# 1,000-class subset used by the challenge.

# %%
from timm.data import ImageNetInfo

full, challenge = ImageNetInfo("imagenet-22k"), ImageNetInfo("imagenet-1k")
full.num_classes(), challenge.num_classes()

# %% [markdown]
# Why a crowd? A back-of-envelope estimate shows the scale. The two numbers
# below are **our assumptions**, not measurements: a couple of seconds to judge
# one image, and three independent votes per image.

# %%
images = 14_197_122
seconds_per_look, votes = 2, 3  # assumptions, change them and rerun
hours = images * seconds_per_look * votes / 3600
working_years = hours / (40 * 48)  # 40-hour weeks, 48 weeks a year
f"{hours:,.0f} hours of looking: about {working_years:,.0f} working years for one person"

# %% [markdown]
# The ImageNet Large Scale Visual Recognition Challenge (ILSVRC) used a fixed
# subset: 1,000 synsets, with 1,281,167 training images, 50,000 validation
# images and 100,000 test images whose labels stayed secret (Russakovsky et al.,
# *ImageNet Large Scale Visual Recognition Challenge*, IJCV 2015, Table 2).
# torchvision carries the 1,000 class names in its weight metadata, so we can
# browse them offline. Each name below comes with its WordNet definition.

# %%
classes = cu.models.imagenet_classes()
definitions = challenge.label_descriptions(detailed=True)
rng = np.random.default_rng(6)
for i in sorted(rng.choice(len(classes), size=8, replace=False)):
    print(f"{i:4d}  {definitions[i][:100]}")

# %% [markdown]
# Search the list for a word. Change `word` and rerun: `"cat"`, `"car"`,
# `"fish"`, `"person"`. (`cu.imagenet.search_classes(word)` does the same.)

# %%
word = "dog"
hits = [(i, name) for i, name in enumerate(classes) if word in name.lower()]
len(hits), hits[:8]

# %% [markdown]
# A word search misses most dogs (the next cell counts how many of the breeds
# the word "dog" finds): breed names such as *beagle* do not contain "dog". The class list is sorted by WordNet ID (checked below), and the dog
# breeds have neighbouring IDs, so they form one block: classes 151 to 268. We
# take the block from Tsipras et al., who use it as the "dog" class of their
# Restricted ImageNet (*Robustness may be at odds with accuracy*, ICLR 2019;
# their `robustness` library lists "Dog (classes 151-268)"), because our offline
# list has no WordNet tree to test every class in between. What it can test is
# the block's edges: a dog at each end, and no dog just outside.

# %%
first, last = 151, 268  # the dog block, from the source above
wnids = challenge.label_names()
for i in (first - 1, first, last, last + 1):
    print(f"{i:4d}  {wnids[i]}  {definitions[i][:80]}")
is_dog = [" dog" in definitions[i].split(":", 1)[1] for i in (first - 1, first, last, last + 1)]
cu.expect(wnids == sorted(wnids) and is_dog == [False, True, True, False],
          "the list is sorted by WordNet ID; the block starts and ends with a dog, its neighbours are not dogs",
          is_dog=is_dog)
breeds = last - first + 1
cu.expect(breeds > len(classes) / 10, "more than a tenth of the challenge is dog breeds", breeds=breeds)
dog_word_hits = sum(first <= i <= last for i, name in enumerate(classes) if "dog" in name.lower())
cu.expect(dog_word_hits < breeds / 2, 'a search for the word "dog" misses most dogs', found=dog_word_hits, breeds=breeds)
f"classes {first} to {last} are dog breeds: {breeds} of the {len(classes):,} classes; the word 'dog' finds {dog_word_hits} of them"

# %% [markdown]
# More than a tenth of the challenge is telling dog breeds apart. That choice,
# made by the dataset's designers, shapes what every network trained on it is
# good at — and, as we see in section 5, what it cannot say at all.
#
# ## 2 · The challenge, year by year
#
# Entries submitted five guesses per test image. An image counted as correct
# when the true label was among the five, because a photo often shows several
# objects while only one is labelled (Russakovsky et al. 2015, Sec. 4.1). The
# **top-5 error** is the fraction of images where none of the five guesses was
# right. The results live in a small table kept in the course package, one
# source per row; the figure below is drawn from it.

# %%
results = cu.imagenet.ilsvrc_results()
pd.DataFrame([vars(r) for r in results]).drop(columns=["entry", "source"])

# %%
by_role = {(r.year, r.role): r.top5_error for r in results}
winners = sorted((r for r in results if r.role == "winner"), key=lambda r: r.year)
human = next(r for r in results if r.role == "human")
cu.show(
    cu.imagenet.figure_ilsvrc(results),
    alt="Bar chart of the winning top-5 error per ILSVRC year: "
    + ", ".join(f"{r.year} {r.top5_error:g}%" for r in winners)
    + f". In 2012 the runner-up's {by_role[2012, 'runner-up']:g}% stands beside AlexNet's {by_role[2012, 'winner']:g}%; "
    f"a dashed line marks one trained person at {human.top5_error:g}%.",
)
(f"2010→2011: the winning error fell by {by_role[2010, 'winner'] - by_role[2011, 'winner']:.1f} points; "
 f"2012: the winner beat the runner-up by {by_role[2012, 'runner-up'] - by_role[2012, 'winner']:.1f} points")

# %% [markdown]
# The 2010 and 2011 winners, and the 2012 runner-up, were pipelines of
# hand-designed descriptors (SIFT, LBP, Fisher vectors) feeding linear
# classifiers. SuperVision — Krizhevsky, Sutskever and Hinton's network, now
# called AlexNet — reached 15.3% (16.4% using only the challenge's training
# images) against 26.2% for the next team (ILSVRC 2012 results page;
# Krizhevsky et al., *ImageNet classification with deep convolutional neural
# networks*, NeurIPS 2012). Every winner after that was a deeper convolutional
# network.
#
# The dashed line needs care. One researcher, Andrej Karpathy, trained himself
# on the 1,000 classes and then labelled 1,500 test images with 5.1% top-5 error
# (Russakovsky et al. 2015, Sec. 6.4). It is one careful person on one sample,
# not "human ability". The rows marked *approximate* in the table were checked
# only against secondary accounts of the results pages.
#
# ## 3 · AlexNet, layer by layer
#
# torchvision builds AlexNet in one line. We never train it here — an untrained
# copy has exactly the same shape and cost. torchvision's version follows
# Krizhevsky's later single-GPU variant (*One weird trick for parallelizing
# convolutional neural networks*, arXiv:1404.5997, 2014), with 64, 192, 384,
# 256 and 256 filters where the 2012 paper had 96, 256, 384, 384 and 256.

# %%
alexnet = torchvision.models.alexnet(weights=None)
alexnet

# %% [markdown]
# Counting by hand first. The first layer has 64 filters, each 11×11 over 3
# colour channels, plus one bias per filter. Lesson 03's output-size formula
# gives its map size; every output number costs one multiply-add (MAC) per
# filter weight.

# %%
conv1 = alexnet.features[0]
weights = conv1.out_channels * conv1.in_channels * conv1.kernel_size[0] * conv1.kernel_size[1]
side = (224 + 2 * conv1.padding[0] - conv1.kernel_size[0]) // conv1.stride[0] + 1
macs = weights * side * side
weights + conv1.out_channels, cu.models.count_params(conv1), side, f"{macs:,} MACs"

# %% [markdown]
# PyTorch can measure the same thing: `torch.utils.flop_counter.FlopCounterMode`
# watches a forward pass and counts the arithmetic of every convolution and
# matrix multiply. It counts **2 FLOPs per multiply-add** (a multiply and an
# add), so its number is twice ours. The course follows that convention: a
# FLOP count is twice the number of multiply-adds (MACs). Watch out when you
# compare with published tables, which often say "FLOPs" and mean multiply-adds:
# torchvision's documentation lists AlexNet at 0.71 "GFLOPS" (its weights'
# metadata, `AlexNet_Weights.IMAGENET1K_V1.meta["_ops"]`), which is the
# multiply-add count, half of what `FlopCounterMode` reports (checked below).

# %%
from torch.utils.flop_counter import FlopCounterMode

with FlopCounterMode(display=False) as counter:
    conv1(torch.zeros(1, 3, 224, 224))
cu.expect(counter.get_total_flops() == 2 * macs, "FlopCounterMode counts 2 FLOPs per multiply-add: twice ours",
          counted=counter.get_total_flops(), macs=macs)
counter.get_total_flops(), 2 * macs

# %% [markdown]
# `cu.costs.layer_costs` does this for every layer at once: forward hooks record
# each layer's output shape, and `FlopCounterMode` attributes the FLOPs to the
# layer that ran them. The table keeps the layers that create new numbers.

# %%
costs = cu.costs.layer_costs(alexnet, (3, 224, 224))
table = pd.DataFrame(
    {"layer": c.name, "kind": c.kind, "output": "×".join(map(str, c.output_shape)), "parameters": c.params,
     "MFLOPs": round(c.flops / 1e6, 1), "output KiB / image": round(c.activation_bytes / 1024, 1)}
    for c in costs if c.kind in ("Conv2d", "Linear", "MaxPool2d", "AdaptiveAvgPool2d")
)  # fmt: skip
table

# %%
totals = cu.costs.cost_totals(costs)
dense_params = totals["params:Linear"] / totals["params"]
conv_flops = totals["flops:Conv2d"] / totals["flops"]
print(f"{totals['params']:,} parameters, {totals['macs'] / 1e9:.2f} billion multiply-adds per 224×224 image")
print(f"the 3 dense layers hold {dense_params:.1%} of the parameters but do {1 - conv_flops:.1%} of the arithmetic;")
print(f"the 5 convolutions hold {1 - dense_params:.1%} of the parameters and do {conv_flops:.1%} of the arithmetic")
first_dense = alexnet.classifier[1]
cu.expect(dense_params > 0.9 and conv_flops > 0.9 and cu.models.count_params(first_dense) > totals["params"] / 2,
          "the dense layers hold most parameters, the convolutions do most arithmetic; the first dense layer holds "
          "more than half of all the parameters", dense_params=dense_params, conv_flops=conv_flops)
torchvision_gflops = torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta["_ops"]
cu.expect(abs(totals["macs"] / 1e9 - torchvision_gflops) < 0.01, "torchvision's AlexNet 'GFLOPS' are multiply-adds",
          our_macs=totals["macs"] / 1e9, torchvision=torchvision_gflops)

# %% [markdown]
# The split is lopsided for a simple reason. A filter's weights are reused at
# every position of its map (55×55 = 3,025 positions in the first layer), so a
# convolution does a lot of arithmetic with few weights. A dense weight is used
# once per image, so the dense layers hold many weights and do comparatively
# little with them. The first dense layer alone, 9,216 inputs by 4,096 outputs,
# holds more than half of all the parameters.
#
# Pick a layer below to see its share of each.

# %%
explorer = cu.widgets.layer_cost_explorer(costs, start="classifier.1", title="torchvision AlexNet, one 224×224 image")

# %% [markdown]
# ### Why two GPUs?
#
# The 2012 network was trained on two NVIDIA GTX 580 cards with 3 GB of memory
# each, for five to six days (Krizhevsky et al. 2012, Sec. 1). Half of every
# layer's filters lived on each card, and the halves talked to each other only
# at layer 3 and at the dense layers (Sec. 3.2). In PyTorch that split is a
# *grouped* convolution: `groups=2` cuts the input channels and the filters into
# two halves that never meet. `cu.imagenet.alexnet_2012()` builds the paper's
# layout (227×227 input, which makes the first layer's 55×55 maps come out
# exactly).

# %%
paper = cu.imagenet.alexnet_2012()
paper_costs = cu.costs.layer_costs(paper, (3, 227, 227))
split = paper.conv2
whole = nn.Conv2d(split.in_channels, split.out_channels, split.kernel_size)
cu.expect(round(cu.models.count_params(paper) / 1e6) == 61, 'the "60 million parameters" of the paper\'s abstract (≈61 M)',
          params=cu.models.count_params(paper))
print(f"2012 AlexNet: {cu.models.count_params(paper):,} parameters, "
      f"{cu.costs.cost_totals(paper_costs)['macs'] / 1e9:.2f} billion MACs per image")
f"layer 2 with groups=2: {cu.models.count_params(split):,} parameters; without the split: {cu.models.count_params(whole):,}"

# %% [markdown]
# That is the "60 million parameters" of the paper's abstract (the line above
# checks that our count rounds to 61 million). Now the memory.
# Training keeps, per parameter, the weight, its gradient and a momentum buffer
# (stochastic gradient descent with momentum, as in the paper). It also keeps
# what each layer needs for the backward pass: mostly the layers' outputs, for
# every image of the batch. We measure that last part directly — autograd's
# `saved_tensors_hooks` shows every tensor it keeps — for one image, then scale
# to the paper's batch of 128 (Sec. 5).

# %%
def saved_for_backward(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Bytes autograd keeps for the backward pass of one input, parameters excluded."""
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(torch.zeros(1, *input_shape))
    return sum(kept.values())


# %%
GiB = 2**30
batch = 128
state = 3 * 4 * cu.models.count_params(paper)  # weight + gradient + momentum, 4 bytes each
activations = batch * saved_for_backward(paper, (3, 227, 227))
print(f"weights, gradients, momentum: {state / GiB:.2f} GiB")
print(f"kept for backward, {batch} images: {activations / GiB:.2f} GiB")
share_of_card = (state + activations) / (3 * GiB)
cu.expect(0.55 < share_of_card < 0.8, "training fills about two thirds of one 3 GiB card", share=share_of_card)
f"total {(state + activations) / GiB:.2f} GiB on one card ({share_of_card:.0%} of it), " \
f"{(state + activations) / 2 / GiB:.2f} GiB on each of two (3 GiB each)"

# %% [markdown]
# By this count (PyTorch today, not the 2012 code) training fills about two
# thirds of one 3 GiB card before anything else: the scratch space that fast
# convolution code needs, the next batches of images already being loaded, the
# framework itself. The authors wrote that one card's 3 GB limited the size of
# network they could train, so they spread the network over two (Sec. 3.2).
# Splitting every layer halves both the weights and the stored activations on
# each card, at the price of sending data between the cards at the layers that
# read both halves.
#
# ## 4 · The ingredients, one experiment each
#
# AlexNet's paper lists what made a network this big trainable and accurate.
# We test three of them on real handwritten digits from the course's offline
# MNIST subset: small enough to train quickly on a CPU, real enough to show the effect
# — or its absence.

# %%
digits = cu.data.load_digits("mnist5k")
x_train, y_train = cu.data.to_tensors(digits["train"])
x_test, y_test = cu.data.to_tensors(digits["test"])
x_train.shape, x_test.shape

# %% [markdown]
# ### 4.1 ReLU instead of tanh
#
# tanh squashes every input into (−1, 1), and its slope falls towards zero for
# large inputs: a *saturated* unit passes almost no gradient back. ReLU, max(0,
# x), has slope 1 for every positive input. The paper measured a four-layer
# convolutional network with ReLUs reaching 25% training error on CIFAR-10 six
# times faster than the same network with tanh (Krizhevsky et al. 2012, Sec.
# 3.1, Fig. 1).
#
# We rebuild the paper's conditions on a small network: inputs are raw pixel
# values (0–255) minus the mean image, AlexNet's only preprocessing (Sec. 2),
# and weights start from a Gaussian with standard deviation 0.01 (Sec. 5).

# %%
raw = x_train * 255
raw = raw - raw.mean(dim=0)  # centred raw pixel values


def deep_mlp(activation: type[nn.Module]) -> nn.Sequential:
    """784 -> 4 hidden layers of 256 -> 10, weights from N(0, 0.01^2), zero biases."""
    layers, width = [nn.Flatten()], 784
    for _ in range(4):
        layers += [nn.Linear(width, 256), activation()]
        width = 256
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)
    return model


# %% [markdown]
# Before training, how many tanh units in the first layer are already
# saturated (slope below 0.1)?

# %%
torch.manual_seed(0)
z = deep_mlp(nn.Tanh)[:2](raw[:512])  # the first layer's inputs to tanh
slope = 1 - torch.tanh(z) ** 2
saturated = (slope < 0.1).float().mean().item()
cu.expect(saturated > 0.8, "nearly all of the tanh units start saturated", saturated=saturated)
f"first-layer pre-activations have std {z.std():.1f}; {saturated:.0%} of tanh units have slope < 0.1"

# %% [markdown]
# Now the race. Each run trains with SGD and momentum 0.9 on batches of 64 and
# records the running training error (mean of the last 25 batches). It stops
# when that reaches 10%, after 600 steps, or when the loss stops being a finite
# number (the learning rate was too high and training blew up). Like the paper,
# we give each activation its own best learning rate, from three tries.

# %%
def race(activation, lr, targets=(0.25, 0.10), max_steps=600, batch=64):
    """Train deep_mlp; return ({target: first step the running error reached it}, running errors)."""
    torch.manual_seed(0)
    model = deep_mlp(activation)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    order = torch.Generator().manual_seed(0)
    errors, running, reached = [], [], {}
    while True:  # epochs; every way out is a return below
        for idx in torch.randperm(len(raw), generator=order).split(batch):
            logits = model(raw[idx])
            loss = nn.functional.cross_entropy(logits, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            errors.append((logits.argmax(1) != y_train[idx]).float().mean().item())
            running.append(sum(errors[-25:]) / len(errors[-25:]))
            for t in targets:
                if t not in reached and len(errors) >= 25 and running[-1] <= t:
                    reached[t] = len(errors)
            blew_up = not torch.isfinite(loss)
            if blew_up or len(errors) >= max_steps or len(reached) == len(targets):
                return reached, running


# %%
with cu.env.timer() as clock:
    runs = {(name, lr): race(act, lr) for name, act in (("ReLU", nn.ReLU), ("tanh", nn.Tanh))
            for lr in tqdm((0.01, 0.02, 0.05), desc=name, leave=False)}  # fmt: skip
rows = [{"activation": name, "learning rate": lr, "steps to 25%": reached.get(0.25), "steps to 10%": reached.get(0.10),
         "steps run": len(running), "final running error": round(running[-1], 3)}
        for (name, lr), (reached, running) in runs.items()]  # fmt: skip
print(f"6 runs in {clock.seconds:.1f} s")
pd.DataFrame(rows)

# %%
def best(name, target):
    """The fewest steps any learning rate needed to reach `target` (None if none did), and that rate."""
    options = [(reached[target], lr) for (n, lr), (reached, _) in runs.items() if n == name and target in reached]
    return min(options) if options else (None, None)


step_ratios = []
for target in (0.25, 0.10):
    (relu_steps, relu_lr), (tanh_steps, tanh_lr) = best("ReLU", target), best("tanh", target)
    step_ratios.append(tanh_steps / relu_steps if relu_steps and tanh_steps else float("nan"))
    ratio = f"tanh needed {step_ratios[-1]:.1f}x as many steps" if relu_steps and tanh_steps else "no ratio: one never got there"
    print(f"to {target:.0%} training error: ReLU {relu_steps} steps (lr {relu_lr}), tanh {tanh_steps} steps (lr {tanh_lr}): {ratio}")
cu.expect(all(1.5 <= r <= 3.0 for r in step_ratios),
          "tanh needed one and a half to three times as many steps as ReLU ... smaller than the paper's six-fold",
          tanh_over_relu_at_25=step_ratios[0], tanh_over_relu_at_10=step_ratios[1])


# %%
def figure_race(runs, *, title="Running training error, best learning rate for each activation"):
    """Running training error against step for the best run of each activation."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.4))
    ax = fig.subplots()
    for name, style in (("ReLU", "-"), ("tanh", "--")):
        lr = best(name, 0.10)[1] or best(name, 0.25)[1] or 0.01
        ax.plot(np.arange(1, len(runs[name, lr][1]) + 1), 100 * np.array(runs[name, lr][1]), style, label=f"{name} (lr {lr})")
    for level, style in ((25, "-"), (10, ":")):
        ax.axhline(level, color="gray", linewidth=0.8, linestyle=style)
        ax.text(ax.get_xlim()[1], level + 1.5, f"{level}% ", ha="right", color="gray", fontsize=8)
    ax.set(xlabel="training step (batch of 64)", ylabel="running training error (%)", ylim=(0, 100), title=title)
    ax.legend()
    fig.tight_layout()
    return fig


cu.show(figure_race(runs), alt="Two curves of running training error against training step: the ReLU network's "
        "error falls below the 25% and 10% lines in fewer steps than the tanh network's.")  # fmt: skip

# %% [markdown]
# Nearly all of the tanh units start saturated, and it shows: with the best
# learning rate for each, tanh needed one and a half to three times as many
# steps as ReLU to reach each threshold (the printout above has the exact
# ratios; they move a little with the CPU and its number of threads, because
# floating-point sums come out differently). That is a real speed-up, though
# smaller than the paper's six-fold on CIFAR-10 with a convolutional network.
# The size of the effect depends on the data, the depth and the starting
# weights. Try it: start the weights from PyTorch's default initialisation
# (delete the two `nn.init` lines) and scale the pixels to [0, 1], so that the
# tanh units are no longer saturated, and see how much of ReLU's lead is left. Modern
# networks avoid the problem in other ways too (careful initialisation, batch
# normalisation), but ReLU-like activations stayed.
#
# ### 4.2 Dropout and 4.3 augmentation
#
# A network with tens of millions of weights and only a million or so images
# can memorise its training set. The paper fought this in two ways (Sec. 4):
#
# - **dropout**: during training, each unit of the first two dense layers is
#   switched off with probability 0.5, a new random half every step, so no unit
#   can rely on particular partners (Hinton et al., arXiv:1207.0580, 2012). At
#   test time all units work together.
# - **augmentation**: train on random 224×224 crops of the 256×256 images and on
#   their mirror images, with small random colour shifts; at test time, average
#   the predictions for the centre crop, the four corner crops and their mirror
#   images (Sec. 4.1).
#
# We build a small AlexNet-shaped network for 24×24 crops of digits and train
# it on only 100 digits per class, so that it overfits. Mirror images would turn
# some digits into other symbols, so we only crop.

# %%
per_class = 100
keep = torch.cat([torch.nonzero(y_train == c)[:per_class, 0] for c in range(10)])
small_x, small_y = x_train[keep], y_train[keep]


def centre_crop(x: torch.Tensor, size: int = 24) -> torch.Tensor:
    top = (x.shape[-1] - size) // 2
    return x[..., top:top + size, top:top + size]


def random_crop(x: torch.Tensor, generator: torch.Generator, size: int = 24) -> torch.Tensor:
    """A different random size×size window of each image in the batch (N, C, H, W)."""
    n, c, h, w = x.shape
    top = torch.randint(0, h - size + 1, (n, 1, 1, 1), generator=generator, device=x.device)
    left = torch.randint(0, w - size + 1, (n, 1, 1, 1), generator=generator, device=x.device)
    offsets = torch.arange(size, device=x.device)
    rows, cols = top + offsets.view(1, 1, size, 1), left + offsets.view(1, 1, 1, size)
    index = (rows * w + cols).expand(n, c, size, size).reshape(n, c, -1)
    return x.reshape(n, c, -1).gather(2, index).view(n, c, size, size)


small_x.shape, random_crop(small_x[:4], torch.Generator().manual_seed(0)).shape

# %%
def mini_alexnet(p_drop: float) -> nn.Sequential:
    """AlexNet's recipe in miniature: conv-ReLU-pool twice, then three dense layers, dropout before the first two."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 24 -> 12
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 12 -> 6
        nn.Flatten(),
        nn.Dropout(p_drop), nn.Linear(16 * 6 * 6, 256), nn.ReLU(),
        nn.Dropout(p_drop), nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )  # fmt: skip


def train_and_score(p_drop: float, augment: bool, epochs: int = 20) -> dict:
    """Train on the 1,000 small digits; accuracy on them and on the 1,000 test digits (centre crops)."""
    torch.manual_seed(0)
    model = mini_alexnet(p_drop).to(device)
    data = (small_x, small_y) if augment else (centre_crop(small_x), small_y)
    cu.fit(model, data, epochs=epochs, batch_size=100, augment=random_crop if augment else None,
           progress=False, verbose=False)  # fmt: skip
    train = cu.evaluate(model, (centre_crop(small_x), small_y))["accuracy"]
    test = cu.evaluate(model, (centre_crop(x_test), y_test))["accuracy"]
    return {"dropout": p_drop, "random crops": augment, "train acc": train, "test acc": test, "gap": train - test}


# %%
with cu.env.timer() as clock:
    settings = [(0.0, False), (0.5, False), (0.0, True)]
    scores = pd.DataFrame([train_and_score(p, a) for p, a in tqdm(settings, desc="trainings", leave=False)])
print(f"{len(settings)} trainings of 20 epochs on 1,000 digits in {clock.seconds:.1f} s")
plain, dropout, crops = (scores.iloc[i] for i in range(3))
cu.expect(plain["train acc"] > 0.97 and plain["gap"] > 0.03,
          "the network fits its 1,000 training digits almost perfectly and does several points worse on the test digits",
          train=plain["train acc"], gap=plain["gap"])
cu.expect(all(r["gap"] < plain["gap"] and r["test acc"] > plain["test acc"] + 0.005 for r in (dropout, crops)),
          "Dropout and random crops each ... the gap narrows and, here, the test accuracy rises",
          gaps=scores["gap"].round(4).tolist(), test=scores["test acc"].round(4).tolist())
scores.round(3)

# %% [markdown]
# Read the last two columns. Without help the network fits its 1,000 training
# digits almost perfectly and does several points worse on the test digits:
# that gap is overfitting. Dropout and random crops each make the training set
# harder to memorise, so the gap narrows and, here, the test accuracy rises by
# more than half a point. With 1,000 test digits one digit is 0.1 points, so
# differences below about half a point are noise. Try both at once by adding `(0.5, True)` to
# `settings`, and see whether a network this small, trained for only 20
# epochs, still gains from that much regularisation. The authors report the same pattern
# on a far larger scale: without augmentation, and again without dropout, their
# network overfitted substantially, and dropout roughly doubled the number of
# steps needed to converge (Sec. 4.1, 4.2).
#
# ### 4.4 VGG: the same recipe, only 3×3
#
# Two years later Simonyan and Zisserman kept AlexNet's plan — convolutions
# with ReLU, max pooling, three dense layers — and made it uniform: every
# convolution is 3×3 with stride 1 and padding 1, every pooling 2×2 with stride
# 2, and depth grows to 16 or 19 weight layers (*Very deep convolutional
# networks for large-scale image recognition*, ICLR 2015, Sec. 2). torchvision
# builds VGG-16; on PyTorch's `meta` device it has shapes but no memory, so
# building and measuring it needs no weights and little time.

# %%
with torch.device("meta"):
    vgg16 = torchvision.models.vgg16()
recipe = " ".join("conv" if isinstance(m, nn.Conv2d) else "| pool |" for m in vgg16.features if not isinstance(m, nn.ReLU))
vgg_macs = cu.costs.measured_flops(vgg16, (3, 224, 224)) // 2
print(recipe)
print(f"VGG-16: {cu.models.count_params(vgg16):,} parameters, {vgg_macs / 1e9:.1f} billion MACs per image")
f"compared with torchvision's AlexNet: {cu.models.count_params(vgg16) / totals['params']:.1f}x the parameters, {vgg_macs / totals['macs']:.0f}x the arithmetic"

# %% [markdown]
# Why only 3×3? A stack of small filters sees as far as one big filter. We can
# measure what an output pixel depends on: put a 15×15 input through a stack
# of 3×3 convolutions and ask autograd which input pixels affect the centre
# output.

# %%
def receptive_field(depth: int, size: int = 15) -> int:
    """Width of the input region that one centre output of `depth` stacked 3x3 convolutions depends on."""
    stack = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1, bias=False) for _ in range(depth)])
    for conv in stack:
        nn.init.constant_(conv.weight, 1.0)  # positive weights: no accidental cancellation
    image = torch.zeros(1, 1, size, size, requires_grad=True)
    stack(image)[0, 0, size // 2, size // 2].backward()
    return int((image.grad[0, 0].abs().sum(dim=0) > 0).sum())


fields = {depth: receptive_field(depth) for depth in (1, 2, 3)}
cu.expect(fields == {1: 3, 2: 5, 3: 7}, "two 3x3 layers see a 5x5 region and three see 7x7", fields=fields)
fields

# %% [markdown]
# Two 3×3 layers see a 5×5 region and three see 7×7. With C channels in and
# out, three 3×3 layers have 3 × 9C² = 27C² weights where one 7×7 layer has
# 49C², 81% more (Simonyan & Zisserman 2015, Sec. 2.3) — and the stack puts
# three ReLUs in the path instead of one.

# %%
C = 256
three_3x3 = nn.Sequential(*[nn.Conv2d(C, C, 3, padding=1, bias=False) for _ in range(3)])
one_7x7 = nn.Conv2d(C, C, 7, padding=3, bias=False)
cu.expect(cu.models.count_params(one_7x7) / cu.models.count_params(three_3x3) - 1 > 0.8, "49C² is 81% more than 27C²")
cu.models.count_params(three_3x3), cu.models.count_params(one_7x7)

# %% [markdown]
# ## 5 · Top-1, top-5 and the fixed label list
#
# Time for a real ImageNet network. The course ships EfficientNet-Lite0 with
# ImageNet weights (4.7 M parameters, loaded offline). It gives each of the
# eight gallery photos a probability for each of the 1,000 classes; we show the
# five highest.

# %%
backbone = cu.models.pretrained_backbone(device)
lite0_params = cu.models.count_params(backbone.model)
cu.expect(round(lite0_params / 1e6, 1) == 4.7, "EfficientNet-Lite0: 4.7 M parameters", params=lite0_params)
photos = {name: cu.data.load_photo(name) for name in cu.data.PHOTOS}
names = list(photos)
with cu.env.timer() as clock, torch.no_grad():
    probs = backbone.model(backbone.preprocess(list(photos.values())).to(device)).softmax(dim=1).cpu()
f"{len(photos)} photos classified in {clock.seconds:.2f} s"

# %%
top1 = {name: backbone.classes[int(probs[i].argmax())] for i, name in enumerate(names)}
cu.show(
    cu.imagenet.figure_gallery_topk(photos, probs, backbone.classes, k=5),
    alt="Eight photos, each beside bars of its five most likely ImageNet classes; the top guesses are "
    + "; ".join(f"{name}: {top1[name]} ({float(probs[i].max()):.0%})" for i, name in enumerate(names)) + ".",
)

# %% [markdown]
# Where a photo has an obvious ImageNet class, we can say whether the network
# got it at top-1 and at top-5. The labels below are ours, taken from the
# photos' descriptions (Chelsea the cat is a tabby; Grace Hopper wears a naval
# uniform). The rank of a label is one plus the number of classes the network
# put above it.

# %%
our_labels = {"cat": "tabby", "coffee": "espresso", "hopper": "military uniform"}
rows = []
for name, label in our_labels.items():
    p = probs[names.index(name)]
    rank = int((p > p[backbone.classes.index(label)]).sum()) + 1
    rows.append({"photo": name, "our label": label, "top-1 guess": top1[name], "rank of our label": rank,
                 "right at top-1": rank == 1, "right at top-5": rank <= 5})  # fmt: skip
near_misses = {row["photo"]: (row["right at top-1"], row["right at top-5"]) for row in rows}
hopper_top2 = {backbone.classes[int(i)] for i in probs[names.index("hopper")].topk(2).indices}
cu.expect(near_misses["cat"] == near_misses["hopper"] == (False, True) and top1["cat"] in ("tiger cat", "Egyptian cat")
          and hopper_top2 == {"academic gown", "mortarboard"},
          "the cat and Grace Hopper are near misses: wrong at top-1, right at top-5; the cat's first guess is another "
          "cat class; Hopper's first two guesses are an academic gown and cap", rows=rows, hopper_top2=hopper_top2)
pd.DataFrame(rows)

# %% [markdown]
# The cat shows why the challenge used five guesses: its first guess is another
# cat class, because *tabby*, *tiger cat* and *Egyptian cat* are separate classes,
# and telling them apart from one photo is hard even for people. For Grace Hopper the network's first guesses are other
# formal clothes (an academic gown and cap), and the uniform still makes its
# five. Top-5 forgives both near misses; top-1 forgives neither.
#
# ### The photo with no right answer
#
# The astronaut's top guesses are objects (the figure above lists them), and the
# first is a kind of helmet, probably prompted by the space helmet she holds.
# The network is not
# broken: there is no class it could have picked for her. The 1,000 classes
# were chosen by the challenge's designers, and they include almost no people.
# Search them:

# %%
astronaut_top = [backbone.classes[int(i)] for i in probs[names.index("astronaut")].topk(5).indices]
cu.expect("helmet" in astronaut_top[0] and float(probs[names.index("astronaut")].max()) < 0.5,
          "the astronaut's first guess is a kind of helmet, with a small share of the probability",
          top5=astronaut_top, p=float(probs[names.index("astronaut")].max()))
cu.expect((top1["flower"], top1["temple"]) == ("daisy", "palace"), "the network names the nearest thing it knows — "
          "daisy, palace", flower=top1["flower"], temple=top1["temple"])
found = {word: [name for name in backbone.classes if word in name.lower()]
         for word in ("astronaut", "person", "woman", "space", "diver", "dahlia", "pagoda")}  # fmt: skip
cu.expect(not any(found[w] for w in ("astronaut", "person", "woman", "dahlia", "pagoda"))
          and found["space"] == ["space bar", "space heater", "space shuttle"],
          "no astronaut, person, woman, dahlia or pagoda; the only space classes are a space bar, a heater and a shuttle",
          found=str(found))
found

# %% [markdown]
# No astronaut, no person, no woman; the only space classes are a shuttle, a
# keyboard's space bar and a heater (the cell checks all of this). The flower (a dahlia) and the tower (a
# pagoda) have no class either, so the network names the nearest thing it
# knows — *daisy*, *palace*. Softmax always spreads 100% over the 1,000
# classes: there is no "none of these" answer, so the network has to give
# *something*. For the astronaut its first guess gets only a small share (the
# figure shows how much), a hint that nothing fits; but softmax scores are not
# calibrated, and a low top probability is no reliable "none of these" either. A
# classifier can only say what its label list lets it say; lesson 08 returns to
# what else the list leaves out.
#
# Explore the predictions: pick a photo and the number of guesses k.

# %%
viewer = cu.widgets.topk_explorer(photos, probs, backbone.classes, k=5, start="astronaut")

# %% [markdown]
# ## Summary
#
# - ImageNet paired WordNet's nouns with web images checked by crowd workers:
#   14 million images in 21,841 synsets. Its challenge used 1,000 classes and
#   about 1.28 million training images, and scored entries by top-5 error.
# - In 2012 AlexNet won with 15.3% top-5 error against 26.2% for the runner-up;
#   every later winner was a deeper CNN, and by 2015 the winner was below one
#   trained person's 5.1%.
# - AlexNet's ≈61 M parameters sit mostly in its three dense layers, while its
#   arithmetic happens in the five convolutions. By our count, weights, gradients,
#   momentum and stored activations for a batch of 128 fill about two thirds of a
#   3 GB card before any working space; the authors found one card too small for
#   the network they wanted and split each layer over two (grouped convolutions).
# - In our experiments ReLU trained faster than tanh under the paper's
#   conditions, and dropout and random crops narrowed the gap between training
#   and test accuracy. VGG kept the recipe and used only 3×3 filters: the same
#   view as bigger filters with fewer weights and more non-linearities.
# - A classifier can only answer with the labels it was given: top-5 forgives
#   near misses, but nothing helps when the right label is not in the list.
#
# ## Check your understanding
#
# 1. Why did the challenge count a prediction as correct when the label was among five guesses? Find a
#    photo in section 5 where top-1 and top-5 disagree.
#
#    <details><summary>Answer</summary>
#
#    Many ImageNet photos show several objects, and some classes are near-duplicates
#    (*tabby*, *tiger cat*, *Egyptian cat*), so a single guess punishes reasonable answers.
#    In section 5's table, the cat and Grace Hopper are wrong at top-1 but right at top-5
#    (the lesson checks this for its run).
#    </details>
#
# 2. The first dense layer of AlexNet holds more parameters than all five convolutions together, yet does
#    far less arithmetic. Explain both facts with one multiplication each.
#
#    <details><summary>Answer</summary>
#
#    The first dense layer has 9,216 × 4,096 ≈ 37.7 million weights, and each is used once
#    per image: about 37.7 million multiply-adds. The first convolution has only 64 × 3 × 11
#    × 11 = 23,232 weights, but each is used at 55 × 55 = 3,025 positions: about 70 million
#    multiply-adds.
#    </details>
#
# 3. What does `groups=2` change in a convolution, and how does it relate to the two GPUs?
#
#    <details><summary>Answer</summary>
#
#    `groups=2` splits the input channels and the filters into two halves, and each half of
#    the filters reads only its own half of the channels: half the weights and half the
#    arithmetic of the full layer. In 2012 each half lived on one GPU, so those layers needed
#    no data from the other card.
#    </details>
#
# 4. Three stacked 3×3 convolutions see a 7×7 region. How many weights do they need with 64 channels,
#    compared with one 7×7 layer?
#
#    <details><summary>Answer</summary>
#
#    Three 3×3 layers: 3 × 9 × 64 × 64 = 110,592 weights. One 7×7 layer: 49 × 64 × 64 =
#    200,704 weights, 81% more (biases aside).
#    </details>
#
# 5. The network's top guess for the astronaut is an object, with a low probability. What would you need to
#    change for it to answer "person" — the network, the data, or the label list?
#
#    <details><summary>Answer</summary>
#
#    The label list (and with it the data): "person" is not among the 1,000 classes, so no
#    network trained on them can answer it. Add the class with labelled photos and train at
#    least a new head on them; the network's features may well be good enough already.
#    </details>
#
# **Exercise:** [ex06 · ImageNet and AlexNet, by the numbers](../exercises/ex06_imagenet_and_alexnet/ex06_imagenet_and_alexnet.ipynb)
# — implement top-k error and a parameter and multiply-add counter.
#
# **Next:** [06b · The recipe, scaled up](06b_the_recipe_scaled_up.ipynb), then [07 · Transfer learning](07_transfer_learning.ipynb).
