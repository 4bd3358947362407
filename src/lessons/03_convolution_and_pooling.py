# %% [markdown]
# # 03 · Convolution and pooling
#
# Lesson 02 showed that a dense layer wastes its weights on pixels and loses track
# of a pattern as soon as it moves. A convolution fixes both with one idea: a small
# pattern detector, a *filter* of a few weights, slid over every position of the
# image. This lesson builds it by hand, runs the classic filters on a real photo,
# and follows what happens when we stack many of them.
#
# **In this lesson you will**
# 1. compute a convolution by hand (with loops, then with `unfold`) and match `torch.nn.functional.conv2d`;
# 2. apply classic kernels — edges, blur, sharpen, emboss — to a real photo, and edit your own;
# 3. predict output sizes from kernel size, stride and padding, and see what max pooling keeps;
# 4. compute how far each layer of a deep network "sees", and look at a pretrained network's feature maps from edges to object parts.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests).
# No GPU, no internet.

# %%
import time

import torch
import torchvision
from torch.nn import functional as F

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · One pattern detector, slid everywhere
#
# Take a tiny gray image, dark on the left and bright on the right, and a 3×3
# filter (also called a *kernel*) whose left column is −1 and right column +1. Lay
# the filter on a 3×3 window of the image, multiply the overlapping numbers pairwise
# and add them up: one output number. A flat window gives 0 (the −1s and +1s
# cancel); a window across the dark-to-bright edge gives a large value.

# %%
image = torch.zeros(5, 7)
image[:, 4:] = 1.0  # dark columns 0-3, bright columns 4-6
kernel = torch.tensor([[-1.0, 0.0, 1.0],
                       [-1.0, 0.0, 1.0],
                       [-1.0, 0.0, 1.0]])  # fmt: skip
flat_window, edge_window = (image[0:3, 0:3] * kernel).sum().item(), (image[0:3, 2:5] * kernel).sum().item()
cu.expect(flat_window == 0 and edge_window == 3, "a flat window gives 0; a window across the edge a large value")
flat_window, edge_window

# %% [markdown]
# Sliding the window over every position, one step at a time, gives a whole map of
# answers to "is there a dark-to-bright edge here?": the **feature map**. A 5×7
# image has 3×5 positions where a 3×3 window fits.

# %%
out = torch.zeros(3, 5)
for i in range(3):
    for j in range(5):
        out[i, j] = (image[i : i + 3, j : j + 3] * kernel).sum()
out

# %% [markdown]
# The same nine weights are used at every position. That is the whole trick:
# the detector is learned once and reused everywhere, so a pattern found at one
# place is found at any other (lesson 02's equivariance), and the layer has only
# nine weights, whatever the size of the image.
#
# PyTorch computes exactly this with `F.conv2d`, which takes a batch of images
# (N, C, H, W) and a stack of filters (K, C, kh, kw):

# %%
by_torch = F.conv2d(image[None, None], kernel[None, None])[0, 0]
cu.expect(torch.equal(by_torch, out), "PyTorch computes exactly this")
by_torch

# %% [markdown]
# **A note on names.** In mathematics a *convolution* flips the kernel
# (left↔right, top↔bottom) before sliding it; sliding it unflipped is a
# *cross-correlation*. Deep-learning libraries compute the unflipped version and
# call it convolution anyway (the PyTorch documentation of `nn.Conv2d` says so).
# For learned filters the difference is irrelevant — the network simply learns the
# flipped weights — but it matters when you copy a kernel from an image-processing
# book: flipping our edge kernel turns every answer into its negative.

# %%
flipped = F.conv2d(image[None, None], kernel.flip(0, 1)[None, None])[0, 0]
cu.expect(torch.equal(flipped, -out), "flipping our edge kernel turns every answer into its negative")
flipped

# %% [markdown]
# ## 2 · Convolution by hand: loops, then unfold
#
# A real layer has C input channels and K filters, each filter a (C, kh, kw) block:
# at each position it multiplies the window of *all* channels and sums everything
# to one number. K filters give K feature maps. We write it with loops over
# positions, then check it against PyTorch on a crop of the cat photo.

# %%
def conv2d_loops(x, w):
    """x: (C, H, W), w: (K, C, kh, kw) -> (K, H - kh + 1, W - kw + 1); no padding, stride 1."""
    k, _, kh, kw = w.shape
    out = torch.zeros(k, x.shape[1] - kh + 1, x.shape[2] - kw + 1)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            window = x[:, i : i + kh, j : j + kw]  # (C, kh, kw)
            out[:, i, j] = (window * w).sum(dim=(1, 2, 3))  # one number per filter
    return out


cat = torch.from_numpy(cu.data.load_photo("cat")).permute(2, 0, 1).float() / 255
x = cat[:, 100:164, 150:214]  # a 64x64 crop around the left eye
w = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(0))
loop_gap = (conv2d_loops(x, w) - F.conv2d(x[None], w)[0]).abs().max().item()
cu.expect(0 < loop_gap < 2e-5, "the two agree to rounding error: a few millionths, not zero", gap=loop_gap)
loop_gap

# %% [markdown]
# The two agree to rounding error: a few millionths, not zero, because they add
# the same 27 products in a different order, and float addition rounds after
# every step. Loops in Python are slow, though: one Python
# step per output position. The standard trick is to cut out every window *first*
# (`Tensor.unfold` makes them as a view, without copying) and then do all the
# multiply-and-sum work in one call. Each window is a (C, kh, kw) block at position
# (i, j); `einsum` multiplies it with each filter and sums over c, a and b.

# %%
def conv2d_unfold(x, w):
    """The same convolution: all windows at once, then one einsum."""
    _, _, kh, kw = w.shape
    windows = x.unfold(1, kh, 1).unfold(2, kw, 1)  # (C, H', W', kh, kw)
    return torch.einsum("cijab,kcab->kij", windows, w)


unfold_gap = (conv2d_unfold(x, w) - F.conv2d(x[None], w)[0]).abs().max().item()
cu.expect(unfold_gap < 1e-4, "unfold + einsum matches F.conv2d to rounding error", gap=unfold_gap)
x.unfold(1, 3, 1).unfold(2, 3, 1).shape, unfold_gap

# %% [markdown]
# How much does the trick buy? We time the three versions on the same crop, each
# after one untimed call (the first call of a PyTorch operation sets things up).

# %%
def seconds(fn, repeats=3):
    """The best of ``repeats`` timed calls (after one warm-up): a busy moment can only slow a call down."""
    fn()  # warm-up, not timed
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


timings = {"loops": seconds(lambda: conv2d_loops(x, w), 1), "unfold + einsum": seconds(lambda: conv2d_unfold(x, w), 20),
           "F.conv2d": seconds(lambda: F.conv2d(x[None], w), 20)}  # fmt: skip
cu.expect(timings["loops"] > 50 * max(timings["unfold + einsum"], timings["F.conv2d"]),
          "the loops are by far the slowest", timings=timings)
{name: f"{t * 1000:.2f} ms" + (f", {timings['loops'] / t:,.0f}× faster than loops" if name != "loops" else "")
 for name, t in timings.items()}  # fmt: skip

# %% [markdown]
# The loop version spends its time in Python, one small step per position;
# `unfold` hands all the arithmetic to PyTorch in one call; `F.conv2d` calls hand-tuned
# convolution kernels (on a CPU, PyTorch usually takes them from Intel's oneDNN
# library, formerly MKL-DNN; `torch.backends.mkldnn.is_available()` tells whether
# your build includes it). Which of those two wins on an image this
# small depends on the machine (its cores, its vector units, the fixed cost of a
# call), so read the numbers above, then time a batch of 64 images to see which
# one scales. The answers agree to rounding error; the speeds do not.
# (In the exercise you write a full `conv2d` with batches, stride, padding and a
# bias.)

# %% [markdown]
# ## 3 · Classic kernels on a real photo
#
# Long before neural networks, image processing used hand-made 3×3 kernels. Each
# answers a local question about the pixels around a point. Edge detectors such as
# the Sobel kernels (Sobel and Feldman, 1968; see Gonzalez and Woods, *Digital
# Image Processing*, chapter 3) weigh the centre row or column twice. Kernels whose
# weights sum to zero (edges, outline) return zero on flat regions, so we draw
# zero as mid-gray; the others return a brightness. (`cu.convolution.filter_gray`
# pads the border by repeating the edge pixels, so that a blur does not darken
# the frame; `F.conv2d` pads with zeros.)

# %%
gray = cu.convolution.gray(cu.data.load_photo("cat"))
cu.show(cu.convolution.figure_kernels(gray, list(cu.convolution.KERNELS)),
        alt="The cat photo filtered by eight 3 by 3 kernels: identity, box blur and Gaussian blur (softer), "
            "sharpen (crisper), Sobel x (vertical edges light up), Sobel y (horizontal edges), outline and emboss.")

# %% [markdown]
# Sobel x measures how brightness changes from left to right, so it responds to
# vertical contours; Sobel y to horizontal ones. Look for the sides of the eyes
# and of the nose in the first, and for the whiskers, the eyelids and the mouth
# in the second. Blur averages
# neighbours; sharpen adds back the difference between a pixel and its
# neighbours. A CNN's first layer learns kernels much like these on its own, as we
# will see in section 7.
#
# **Edit your own kernel.** Pick a preset or type any nine weights (press Enter
# after each). Things to try: make a kernel whose weights sum to 2 (the photo gets
# brighter); turn Sobel x into Sobel y; build a diagonal-edge detector.

# %%
editor = cu.widgets.kernel_editor({name: cu.data.load_photo(name) for name in ("cat", "coffee", "temple", "rocket")})

# %% [markdown]
# ## 4 · Stride, padding and the output size
#
# Two settings control where the filter lands. **Padding** `p` adds `p` rows and
# columns of zeros around the image, so that windows can be centred on the border
# pixels too. **Stride** `s` moves the window `s` pixels at a time instead of one.
# Along one axis of `n` pixels, a kernel of size `k` then fits at
#
# $$ n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1 $$
#
# positions. The drawings show it for a row of 7 or 8 pixels; each coloured strip
# is one placement of a 3-pixel kernel, and hatched cells are padding.

# %%
cu.show(cu.convolution.figure_strides([(7, 3, 1, 0), (7, 3, 1, 1), (7, 3, 2, 1), (8, 3, 2, 0)]),
        alt="Four diagrams of a 3-pixel kernel sliding along a row: 7 pixels, stride 1, no padding gives 5 outputs; "
            "with padding 1 gives 7; stride 2 with padding 1 gives 4; 8 pixels with stride 2 and no padding gives 3, "
            "the last pixel never covered.")

# %% [markdown]
# Two cases are worth remembering. With `k = 3, s = 1, p = 1` the output has the
# same size as the input ("same" padding), which is why 3×3 convolutions usually
# come with padding 1. And when the kernel does not fit evenly, the floor simply
# drops the leftover pixels at the end (the bottom-right drawing). We check the
# formula against the shapes PyTorch produces for a few settings:

# %%
def output_size(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1


settings = [(7, 3, 1, 0), (7, 3, 1, 1), (7, 3, 2, 1), (8, 3, 2, 0), (224, 11, 4, 2), (224, 7, 2, 3), (31, 5, 3, 2)]
checked = [(n, k, s, p, output_size(n, k, s, p), F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1])
           for n, k, s, p in settings]  # fmt: skip
cu.expect(all(ours == torch_says for *_, ours, torch_says in checked), "the formula matches PyTorch's shapes")
checked

# %% [markdown]
# (224, 11, 4, 2) is AlexNet's first layer: an 11×11 kernel with stride 4 turns
# 224 pixels into 55 positions per axis (Krizhevsky, Sutskever and Hinton, 2012;
# torchvision's implementation uses padding 2).

# %% [markdown]
# ## 5 · Max pooling: what it keeps
#
# A **max pooling** layer splits each feature map into small windows, usually 2×2
# with stride 2, and keeps only the largest value of each. It has no weights. It
# halves the height and width, and it keeps the answer "did the detector fire
# *somewhere* in this window?" while forgetting exactly where.

# %%
fmap = torch.tensor([[1.0, 3.0, 0.0, 0.0],
                     [2.0, 9.0, 0.0, 1.0],
                     [0.0, 0.0, 4.0, 0.0],
                     [5.0, 0.0, 0.0, 2.0]])  # fmt: skip
max_pooled, avg_pooled = F.max_pool2d(fmap[None, None], 2)[0, 0], F.avg_pool2d(fmap[None, None], 2)[0, 0]
cu.expect(max_pooled[0, 0] == 9 and avg_pooled[0, 0] == 3.75, "the 9 survives max pooling; average dilutes it to 3.75")
max_pooled, avg_pooled

# %% [markdown]
# The strong 9 survives max pooling intact; average pooling would dilute it to
# 3.75. On a real edge map this matters: thin edges are strong in one pixel and
# zero next to it. We pool the Sobel edge strength of the cat twice, by max and by
# average.

# %%
gx = cu.convolution.filter_gray(gray, cu.convolution.kernel("Sobel x (vertical edges)"))
gy = cu.convolution.filter_gray(gray, cu.convolution.kernel("Sobel y (horizontal edges)"))
edges = (gx**2 + gy**2).sqrt()[None, None]  # (1, 1, 300, 451) edge strength
pooled = {"edge strength 300×451": edges, "max pool 2×2, twice": F.max_pool2d(F.max_pool2d(edges, 2), 2),
          "average pool 2×2, twice": F.avg_pool2d(F.avg_pool2d(edges, 2), 2)}  # fmt: skip
cu.show_images([m[0, 0] / edges.max() for m in pooled.values()], list(pooled), ncols=3, size=3.6,
               alt="Three edge maps of the cat: the full-size Sobel edge strength, the same after two rounds of 2 by 2 "
                   "max pooling, where the whiskers and contours stay bright, and after two rounds of average "
                   "pooling, where they fade.")
peaks = {name: m.max().item() for name, m in pooled.items()}
cu.expect(peaks["max pool 2×2, twice"] == peaks["edge strength 300×451"]
          and peaks["average pool 2×2, twice"] < 0.8 * peaks["edge strength 300×451"],
          "max pooling keeps the strongest edges at full strength; average pooling smears them out", peaks=peaks)
{name: round(peak, 2) for name, peak in peaks.items()}

# %% [markdown]
# After max pooling the strongest edges keep their full value on a map sixteen
# times smaller; average pooling smears them out, and its peak falls below 80% of
# the original (the numbers above). Look for the whiskers in the middle panel. Because pooling forgets the exact
# position within each window, it also makes the map tolerant of small shifts. We
# measure how much the edge map changes when the photo moves one pixel to the
# right, before and after pooling.

# %%
def change(a, b):
    return ((a - b).norm() / a.norm()).item()


shifted = F.pad(edges, (1, 0, 0, 0))[..., :-1]  # the edge map of the photo moved 1 px right
shift_changes = {"no pooling": change(edges, shifted),
                 "max pool 4×4": change(F.max_pool2d(edges, 4), F.max_pool2d(shifted, 4))}  # fmt: skip
cu.expect(0.4 < shift_changes["no pooling"] < 0.6 and 0.12 < shift_changes["max pool 4×4"] < 0.22,
          "about half of its own size without pooling, only about a sixth after 4×4 max pooling", changes=shift_changes)
{name: round(c, 3) for name, c in shift_changes.items()}

# %% [markdown]
# Moving the photo by one pixel changes the full-size edge map by about half of its
# own size (thin edges land on different pixels), but the 4×4 max-pooled map by
# only about a sixth.

# %% [markdown]
# ## 6 · Receptive fields grow with depth
#
# A unit of a first 3×3 layer sees 3×3 pixels: its **receptive field**. A unit of
# a second 3×3 layer sees 3×3 units of the first, which together see 5×5 pixels.
# Strides make fields grow faster: after a 2×2 pooling with stride 2, each step in
# the next layer moves 2 pixels in the input. Going through the layers in order,
# with `r` the field and `j` the distance in input pixels between neighbouring
# units (the *jump*):
#
# $$ r \leftarrow r + (k - 1)\,j, \qquad j \leftarrow j \cdot s $$
#
# starting from r = 1, j = 1. We describe a stack as a list of (kernel size,
# stride) pairs — a pooling layer is a pair too. Our example is VGG-16 (Simonyan
# and Zisserman, *Very Deep Convolutional Networks for Large-Scale Image
# Recognition*, ICLR 2015): thirteen 3×3 convolutions in five blocks, each block
# ending in a 2×2 max pooling with stride 2. We build it from torchvision on the
# `meta` device (shapes only, no weights, no memory) and let
# `cu.convolution.conv_layers` list its layers that look at neighbours.

# %%
with torch.device("meta"):
    vgg16 = torchvision.models.vgg16(weights=None)
layers = cu.convolution.conv_layers(vgg16)  # (name, kernel size, stride), in order
fields, r, j = {}, 1, 1
for name, k, s in layers:
    r, j = r + (k - 1) * j, j * s
    fields[name] = r
cu.expect(len(layers) == 18 and r == 212, "13 convolutions and 5 poolings; after the five blocks a unit sees 212×212",
          layers=len(layers), field=r)
len(layers), fields

# %% [markdown]
# Each 3×3 convolution adds 2 × j pixels; each pooling adds j and doubles j. After
# the five blocks a unit sees 212×212 pixels.
#
# A formula deserves a check by brute force. `cu.convolution.receptive_field_bruteforce`
# builds the stack for real (in one dimension, with all-ones kernels), takes the
# first output unit of the last layer, and asks autograd which input pixels its
# value depends on. It agrees with the formula after every layer:

# %%
pairs = [(k, s) for _, k, s in layers]
agrees = [cu.convolution.receptive_field_bruteforce(pairs[: i + 1]) for i in range(len(pairs))] == list(fields.values())
cu.expect(agrees, "brute force agrees with the formula after every layer")
agrees

# %% [markdown]
# Drawn on the photo at its real pixel size, the field after the first layer and
# after each block's pooling: one unit of the first layer sees a speck of fur; one
# unit after the last block sees the whole eye and a large part of the face.

# %%
pools = [name for name, k, s in layers if s == 2]
block_ends = {"first conv": fields[layers[0][0]], **{f"after block {b}": fields[name] for b, name in enumerate(pools, 1)}}
cu.show(cu.convolution.figure_receptive_fields(cu.data.load_photo("cat"), block_ends, centre=(112, 162)),
        alt="The cat photo with nested squares centred on its left eye: the receptive fields of VGG-16, from 3 by 3 "
            f"pixels for the first convolution to {block_ends['after block 5']} by {block_ends['after block 5']} "
            "pixels after the fifth block, which covers the eye and a large part of the face.")
block_ends

# %% [markdown]
# Real networks grow their fields much further. `cu.convolution.conv_layers` lists
# every convolution of a model that looks at neighbours (1×1 convolutions only mix
# channels). We run the same recurrence through the pretrained EfficientNet-Lite0
# and note the field at the end of each stage:

# %%
net = cu.models.pretrained_backbone()
stage_fields, r, j = {}, 1, 1
for name, k, s in cu.convolution.conv_layers(net.model):  # e.g. ("blocks.2.0.conv_dw", 5, 2)
    r, j = r + (k - 1) * j, j * s
    stage = "stem" if name.startswith("conv_stem") else ".".join(name.split(".")[:2])
    stage_fields[stage] = (r, j)
cu.expect(r > 224 and j == 32, "by the last stage a unit's field is wider than the 224-pixel input; the jump is 32",
          field=r, jump=j)
stage_fields

# %% [markdown]
# By the last stage a single unit's field (the first number) is wider than the
# 224-pixel input: it can take the whole photo into account. The second number,
# the jump, is also the downsampling factor: 224 / 32 = 7 positions per axis in
# the last feature maps.

# %% [markdown]
# ## 7 · Edges → textures → parts → objects
#
# What do the layers of a trained network respond to? Zeiler and Fergus
# (*Visualizing and Understanding Convolutional Networks*, ECCV 2014) projected
# unit activations back to pixels and found a hierarchy: first-layer units respond
# to edges and colour blobs, the next layers to corners and textures, deeper ones
# to object parts (eyes, wheels, faces) and whole objects. We cannot repeat their
# method in a few lines, but we can look at the feature maps of our pretrained
# network as the cat passes through it.
#
# First, the stem's 32 learned 3×3 filters over the RGB channels. Look for ones
# that resemble the hand-made edge and colour-difference kernels of section 3: a
# light-to-dark change in one direction, or one colour against another.

# %%
cu.show_filters(net.model.conv_stem.weight, ncols=16,
                alt="The 32 learned 3 by 3 RGB filters of EfficientNet-Lite0's first layer, drawn as tiny colour "
                    "patches; many show a light-to-dark edge in one direction or a colour contrast.")

# %% [markdown]
# Now the feature maps. We catch the output of the stem and of four later stages
# with forward hooks, and for each show the six maps with the strongest mean
# response (brighter = stronger).

# %%
cat_input = net.preprocess(cu.data.load_photo("cat"))  # (1, 3, 224, 224), normalised as in training
stages = {"stem": net.model.bn1, "blocks.1": net.model.blocks[1], "blocks.2": net.model.blocks[2],
          "blocks.4": net.model.blocks[4], "blocks.6": net.model.blocks[6]}  # fmt: skip
maps = cu.convolution.depth_feature_maps(net.model, cat_input, stages)
cu.expect([m.shape[-1] for m in maps.values()] == [112, 56, 28, 14, 7], "the maps get coarser: 112 → 56 → 28 → 14 → 7")
{name: tuple(m.shape[1:]) for name, m in maps.items()}

# %%
cu.show(cu.convolution.figure_depth_maps(maps, fields={k: v[0] for k, v in stage_fields.items()}),
        alt="Five rows of six feature maps of the cat at increasing depth: at 112 by 112 the maps look like edge "
            "drawings of the cat's face; at 56 and 28 pixels they respond to fur texture and the eye region; at 14 "
            "and 7 pixels they are coarse blobs over the eyes, nose and face.")

# %% [markdown]
# With every stage the maps get coarser (112 → 56 → 28 → 14 → 7 positions, checked
# above) while each position sees a larger field. Look at the rows from top to
# bottom: do the early maps still read as the photo seen through edge filters,
# and do the later ones light up on larger regions — fur texture, then areas such
# as the eyes, then coarse blobs over the face? That is the hierarchy Zeiler and
# Fergus describe: every layer combines the previous layer's answers over a
# neighbourhood into answers about bigger, more abstract patterns.

# %% [markdown]
# ## Summary
#
# - A convolution slides one small filter over every position: the same few
#   weights detect one pattern anywhere. Deep-learning "convolution" does not flip
#   the kernel (strictly, it is cross-correlation).
# - By hand: loops over positions, or `unfold` all windows and multiply once; both
#   match `F.conv2d`, and both are far faster than the loops.
# - Classic kernels blur, sharpen, emboss and find edges; a CNN learns its own.
# - Output size per axis: ⌊(n + 2p − k) / s⌋ + 1.
# - Max pooling keeps the strongest response per window, shrinks the map, and
#   tolerates small shifts.
# - Receptive fields grow with depth (r ← r + (k − 1)·j, j ← j·s), so deep units
#   see large regions and respond to parts and objects rather than edges.
#
# ## Check your understanding
#
# 1. A 3×3 kernel's weights sum to 1. What does it do to a flat gray region? And if they sum to 0?
#
#    <details><summary>Answer</summary>
#
#    Sum 1: a flat region of value v gives v × (sum of weights) = v, so it is unchanged (a
#    blur). Sum 0: a flat region gives 0; only places where the pixels differ respond (an
#    edge or outline detector).
#    </details>
#
# 2. An RGB image is 64×64. A conv layer has 16 filters of 5×5, stride 1, padding 2. What is the output shape? How many weights and biases does the layer have?
#
#    <details><summary>Answer</summary>
#
#    (16, 64, 64): padding 2 keeps 64 pixels per axis, since (64 + 4 − 5) / 1 + 1 = 64.
#    Weights: 16 × 3 × 5 × 5 = 1,200; biases: 16.
#    </details>
#
# 3. Compute the output size for n = 10, k = 3, s = 2, p = 0. Which input pixels are never the centre of a window?
#
#    <details><summary>Answer</summary>
#
#    ⌊(10 − 3) / 2⌋ + 1 = 4 windows, covering pixels 0–2, 2–4, 4–6 and 6–8, centred on pixels
#    1, 3, 5 and 7. Pixels 0, 2, 4, 6, 8 and 9 are never a centre, and pixel 9 is not covered
#    at all.
#    </details>
#
# 4. Two 3×3 convolutions in a row see 5×5 pixels. Why might a network prefer them to one 5×5 convolution? (Count the weights for C channels in and out.)
#
#    <details><summary>Answer</summary>
#
#    With C channels in and out, two 3×3 layers have 2 × 9C² = 18C² weights against 25C² for
#    one 5×5 layer, 28% fewer, for the same 5×5 view; and they put two non-linearities in the
#    path instead of one.
#    </details>
#
# 5. Why does max pooling make a network more tolerant of small shifts? What does it throw away?
#
#    <details><summary>Answer</summary>
#
#    A small shift often leaves each window's strongest value inside the same window, so the
#    pooled map hardly changes. Pooling throws away where in the window the maximum was, and
#    every value that was not the maximum. The tolerance is partial: a shift that moves a
#    peak across a window boundary still changes the output (strided pooling aliases, lesson
#    02).
#    </details>
#
# **Exercise:** [ex03 · Convolution and pooling](../exercises/ex03_convolution_and_pooling/ex03_convolution_and_pooling.ipynb) —
# write `conv2d`, `max_pool2d`, `conv_output_size` and `receptive_field` yourself, then run your `conv2d` with a Sobel kernel on the cat.
#
# **Next:** [04 · A CNN classifier, end to end](04_cnn_classifier_end_to_end.ipynb).
