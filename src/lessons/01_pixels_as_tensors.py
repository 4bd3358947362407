# %% [markdown]
# # 01 · Pixels as tensors
#
# A photo on disk is a compressed file; a photo inside a neural network is a block
# of numbers with a shape, a type and a range. This lesson follows one real photo
# from the first form to the second and looks at every number on the way.
#
# **In this lesson you will**
# 1. load a real photo as an H×W×C array of bytes and read off its shape, type and range;
# 2. turn it into the C×H×W floating-point tensor PyTorch expects, and know which steps copy memory;
# 3. normalise each channel with the ImageNet statistics, and see what a pretrained network does when we forget;
# 4. resize without aliasing, stack photos into a batch, and work out how much memory it all takes.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests).
# No GPU, no internet.

# %%
import numpy as np
import torch
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · A photo is a grid of numbers
#
# `cu.data.load_photo` reads one of the course's real photographs from a package on
# disk. We get a NumPy array: rows from top to bottom, then columns from left to
# right, then three colour values per pixel.

# %%
img = cu.data.load_photo("cat")
cu.expect(img.shape == (300, 451, 3) and img.dtype == np.uint8, "300 rows, 451 columns, 3 channels of uint8",
          shape=img.shape, dtype=str(img.dtype))
img.shape, img.dtype, img.min(), img.max()

# %% [markdown]
# Three numbers describe the layout: 300 rows (the height H), 451 columns (the
# width W) and 3 channels (C): red, green and blue. The type `uint8` is an unsigned
# 8-bit integer, so every value is a whole number from 0 (none of that colour) to
# 255 (as much as the format can hold). One pixel is just three bytes:

# %%
row, col = 120, 160
img[row, col]

# %%
cu.show(cu.viz.figure_images([img], [f"cat, {img.shape[0]}×{img.shape[1]} pixels"], size=5),
        alt="Photograph of a tabby cat's face, 300 pixels high and 451 wide.")

# %% [markdown]
# ## 2 · Inspect the pixels
#
# Move the sliders to walk over the photo. The frame on the photo marks a 7×7
# window; the grids below it show the same window as numbers, one grid per
# channel. The top line shows the single pixel twice: as the three bytes of the
# array, and as the three floats at `x[:, row, col]` of the tensor we build in
# section 4. Try the green eyes, the pink nose and the white fur.
#
# (If you read a static copy of this notebook, you see a picture of the widget's
# first state instead.)

# %%
inspector = cu.widgets.pixel_inspector(img, row=120, col=160)

# %% [markdown]
# ## 3 · Three channels
#
# A colour photo stores three gray images on top of each other. Drawing each
# channel on its own shows where the photo is red, green or blue: the ginger fur
# is bright in the red channel and dark in the blue one. The numbers below check
# it on a patch of fur on the bridge of the nose (rows 150 to 209, columns 220
# to 289), and on the whole photo.

# %%
cu.show(cu.pixels.figure_channels(img),
        alt="The cat photo and its red, green and blue channels drawn as gray images; the fur is brightest "
            "in the red channel and darkest in the blue one.")
fur_means = img[150:210, 220:290].reshape(-1, 3).mean(axis=0)  # ginger fur between the eyes
cu.expect(fur_means[0] > 128 > fur_means[2] and fur_means[0] > 2 * fur_means[2],
          "the ginger fur is bright in the red channel and dark in the blue one", fur=fur_means)
channel_means = img.reshape(-1, 3).mean(axis=0)
cu.expect(channel_means[0] > channel_means[1] > channel_means[2], "mostly red and green, with little blue",
          means=channel_means)
{"fur patch (R, G, B)": fur_means.round(1), "whole photo (R, G, B)": channel_means.round(1)}

# %% [markdown]
# The mean values agree: this cat is mostly red and green, with little blue (the
# mix we see as orange-brown).
#
# The **channel mixer** below scales each channel by a factor. The left image
# shows the scaled colours; the right one averages the three channels into one
# gray image, with the same factors as weights. Try the presets: "red only" keeps
# one channel, and "BT.601 luma" uses 0.299, 0.587 and 0.114, the weights
# television engineers chose so that the sum follows how bright each primary looks
# to us — green counts most, blue least (ITU-R Recommendation BT.601, the standard
# for digital studio video). Two fine points. The weights apply to the stored,
# gamma-encoded values (written R′G′B′), so the result is *luma*, an approximation
# of perceived brightness, not a physical luminance. And they were derived for the
# red, green and blue phosphors of 1950s NTSC television; for the primaries of
# sRGB photos and HD video, ITU-R BT.709 gives 0.2126, 0.7152 and 0.0722. Yet
# BT.601's weights live on in "convert to gray": Pillow's `Image.convert("L")`,
# for one, computes L = R × 299/1000 + G × 587/1000 + B × 114/1000 (Pillow
# documentation, `Image.convert`). This lesson's exercise asks you to write that
# conversion yourself.

# %%
mixer = cu.widgets.channel_mixer(img)

# %% [markdown]
# ## 4 · From H×W×C bytes to a C×H×W float tensor
#
# PyTorch layers want something else: a tensor of floats with the channels
# **first**, (C, H, W), and for a batch (N, C, H, W). Every convolution in the
# course reads its input in that order (see the PyTorch documentation of
# `torch.nn.Conv2d`). We build it in three steps.

# %%
t = torch.from_numpy(img)          # shares memory with the array: no copy
chw = t.permute(2, 0, 1)           # a view: same bytes, read in another order
x = chw.to(torch.float32) / 255    # a new tensor: 4 bytes per value, in [0, 1]
t.shape, chw.shape, x.shape, x.dtype

# %% [markdown]
# `permute` moves no data. It changes the *strides*: how many elements to skip in
# memory to reach the next entry along each axis. In the bytes, the three colours
# of a pixel sit next to each other, so the next channel is 1 step away, the next
# column 3 and the next row 451 × 3 = 1353. After `permute` the same numbers are
# listed in the new axis order:

# %%
cu.expect(x.stride() == chw.stride(), "x, the new float tensor, kept the permuted strides", x=x.stride(), chw=chw.stride())
t.stride(), chw.stride(), x.stride()

# %% [markdown]
# Notice that `x`, the new float tensor, kept the permuted strides: PyTorch
# preserves the memory layout of its input when it converts. The values are right
# whatever the layout; `.contiguous()` copies them into the plain C×H×W order
# (strides 451 × 300, 451, 1) when a function needs it. Lesson 05 comes back to
# layouts, because they matter for speed.

# %%
x = x.contiguous()
x.stride(), x.is_contiguous()

# %% [markdown]
# The division also moved the range from 0…255 to 0…1, which is where networks
# like their inputs to start. torchvision packages the same steps as transforms.
# Both roads lead to the same tensor, up to the last bit of a float (torchvision
# multiplies by 1/255 instead of dividing by 255, and the two round differently):

# %%
to_float = T.Compose([T.ToImage(), T.ToDtype(torch.float32, scale=True)])
largest_gap = (to_float(img) - x).abs().max().item()
cu.expect(largest_gap <= 2 * torch.finfo(torch.float32).eps, "the same tensor up to the last bit of a float",
          largest_gap=largest_gap)
largest_gap, x.min().item(), x.max().item()

# %% [markdown]
# Going back is the same in reverse: multiply by 255, round, convert to `uint8`
# and permute to (H, W, C). Is anything lost? Most fractions v/255 (1/255 = 0.00392…)
# have no exact 32-bit float, so `x` holds the nearest float instead: times 255,
# computed exactly (in 64-bit floats), it lands a few millionths away from the
# whole number v. Rounding forgives anything below 0.5, so every byte comes back
# exactly. We measure both.

# %%
back = (x * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
off_by = (x.double() * 255 - torch.from_numpy(img).permute(2, 0, 1).double()).abs().max().item()
cu.expect(0 < off_by < 1e-4, "x times 255 lands a few millionths away from the whole number, far below 0.5",
          off_by=off_by)
cu.expect(np.array_equal(back, img), "every byte comes back exactly")
f"largest distance of x · 255 from the byte it came from: {off_by:.1e}", np.array_equal(back, img)

# %% [markdown]
# ## 5 · Value ranges and normalisation
#
# Our pixels lie in [0, 1], but not evenly: each channel has its own mean and
# spread. Networks train best when every input feature is centred on zero with a
# spread near one (LeCun, Bottou, Orr and Müller, *Efficient BackProp*, 1998,
# section 4.3: inputs that are all positive push the weights of a unit to move
# together, which slows learning). So we **normalise** each channel: subtract its
# mean, divide by its standard deviation.
#
# Which mean? Not this photo's: a network must treat every photo the same way, so
# we use statistics measured once over its training set. For networks trained on
# ImageNet, torchvision states them in each weight's metadata, which we can read
# offline:

# %%
from torchvision.models import ResNet18_Weights

imagenet = ResNet18_Weights.IMAGENET1K_V1.transforms()
imagenet.mean, imagenet.std

# %% [markdown]
# Normalising is arithmetic with **broadcasting**: a mean of shape (3, 1, 1)
# stretches over the 300×451 pixels of each channel. torchvision's `Normalize`
# does the same; we check.

# %%
mean = torch.tensor(imagenet.mean).view(3, 1, 1)
std = torch.tensor(imagenet.std).view(3, 1, 1)
x_norm = (x - mean) / std
norm_means = x_norm.mean(dim=(1, 2))
cu.expect(torch.allclose(x_norm, TF.normalize(x, imagenet.mean, imagenet.std)), "torchvision's Normalize does the same")
cu.expect(norm_means[0] > 0.2 and norm_means[2] < -0.1, "one ginger cat is redder than the average ImageNet photo",
          means=norm_means)
[f"{m:.2f}" for m in norm_means], [f"{s:.2f}" for s in x_norm.std(dim=(1, 2))]

# %%
cu.show(cu.pixels.figure_channel_histograms(x, x_norm),
        alt="Two histograms of the cat's pixel values per channel: before normalising all three lie between "
            "0 and 1; after, each is spread around zero, from about -2 to 2.")

# %% [markdown]
# The shapes of the histograms do not change; they slide and stretch onto one
# common scale around zero. Not exactly zero, and not exactly unit spread (the
# first list above holds the means: red well above zero, blue below it): these are
# ImageNet's statistics, and one ginger cat is redder and less blue than the
# average ImageNet photo.

# %% [markdown]
# **Why it matters: ask a pretrained network.** The course ships an
# EfficientNet-Lite0 trained on ImageNet (lesson 06 introduces it properly). Each
# pretrained network states its own statistics; this one was trained with mean 0.5
# and standard deviation 0.5 per channel, as its configuration says. We show it
# two photos, the cat and a cup of espresso, prepared three ways: correctly, with
# the normalisation forgotten, and with the division by 255 forgotten as well.

# %%
net = cu.models.pretrained_backbone()
config = net.model.pretrained_cfg
prepare = T.Compose([T.ToImage(), T.Resize(256, antialias=True), T.CenterCrop(224), T.ToDtype(torch.float32, scale=True)])
photos = torch.stack([prepare(cu.data.load_photo(name)) for name in ("cat", "coffee")])  # (2, 3, 224, 224) in [0, 1]
cu.expect(all(v == 0.5 for v in (*config["mean"], *config["std"])),
          "trained with mean 0.5 and standard deviation 0.5 per channel, as its configuration says",
          mean=config["mean"], std=config["std"])
config["mean"], config["std"], photos.shape

# %%
variants = {
    "normalised, as in training": TF.normalize(photos, config["mean"], config["std"]),
    "in [0, 1], not normalised": photos,
    "0..255, not even divided": photos * 255,
}
with torch.no_grad():
    probs = {name: net.model(inputs).softmax(dim=1) for name, inputs in variants.items()}
top = {name: [(net.classes[i], p.item()) for p, i in zip(*pr.max(dim=1))] for name, pr in probs.items()}
(cat_ok, cat_p), (coffee_ok, coffee_p) = top["normalised, as in training"]
cu.expect(cat_ok in ("tabby", "tiger cat", "Egyptian cat") and coffee_ok == "espresso" and coffee_p > 0.8,
          "with the right preparation it names a cat breed and, with high confidence, the espresso", top=top)
cu.expect(all(p < q for (_, p), (_, q) in zip(top["in [0, 1], not normalised"], top["normalised, as in training"])),
          "without normalisation its answers are less sure", top=top)
cu.expect(not {c for c, _ in top["0..255, not even divided"]} & {"tabby", "tiger cat", "Egyptian cat", "espresso"},
          "with raw 0…255 values the answers have nothing to do with the photos", top=top)
{name: [f"{c} {p:.0%}" for c, p in answers] for name, answers in top.items()}

# %% [markdown]
# With the right preparation the network names a cat breed and, with high
# confidence, the espresso. Without normalisation its answers are less sure (the
# pixels sit in a range it never met in training; for the cat the drop can be
# small); with raw 0…255 values they have nothing to do with the photos. Preprocessing is part of the model: a pretrained
# network comes with the exact recipe its inputs need.

# %% [markdown]
# ## 6 · Resizing, and the aliasing trap
#
# Networks take a fixed size (224×224 for many ImageNet models), so we resize.
# Shrinking is where photos get hurt. A pixel grid cannot hold detail finer than
# one cycle per two pixels (the sampling theorem; Shannon, *Communication in the
# presence of noise*, 1949). If we shrink by simply sampling the old image at the
# new, coarser grid, detail that is too fine does not vanish: it comes back as
# false, coarser patterns. That is **aliasing**. The cure is to blur away the
# too-fine detail first, which is what `antialias=True` does (the default in
# torchvision's `Resize` since version 0.17, per its documentation).
#
# A zone plate — rings that get finer towards the edge — shows it at a glance; the
# launch tower in the rocket photo shows it on a real picture.

# %%
cu.show(cu.pixels.figure_resize([cu.pixels.zone_plate(240), cu.data.load_photo("rocket")], 4,
                                ["zone plate", "rocket"], crops=[None, (0, 0, 60, 60)]),
        alt="Two rows. Top: a zone plate of fine concentric rings, shrunk four times without antialiasing, which "
            "creates false rings, and with antialiasing, which leaves smooth gray. Bottom: the lattice of a launch "
            "tower shrunk the same two ways; without antialiasing the lattice breaks into jagged blocks.")

# %% [markdown]
# We measure the zone plate. Outside a radius of 20 pixels of the shrunk image the
# rings are finer than the small grid can hold; a faithful shrink can only show
# them as their average, a flat mid-gray. How much do the pixels there still swing?

# %%
plate = torch.from_numpy(cu.pixels.zone_plate(240))[None].float()  # (1, 240, 240) in [0, 1]
rows, cols = torch.meshgrid(torch.arange(60) - 29.5, torch.arange(60) - 29.5, indexing="ij")
outer = (rows**2 + cols**2).sqrt() > 20  # where the rings are too fine for a 60×60 grid
swing = {aa: TF.resize(plate, [60, 60], antialias=aa)[0][outer].std().item() for aa in (False, True)}
cu.expect(swing[False] > 5 * swing[True] and swing[True] < 0.02,
          "without antialiasing the outer part swings between light and dark; with it, it is a nearly flat gray",
          swing=swing)
{f"antialias={aa}": f"standard deviation {sd:.3f}" for aa, sd in swing.items()}

# %% [markdown]
# Without antialiasing the outer part still swings between light and dark: those
# are rings that are not in the original at that spacing (look at the corners of
# the figure). With antialiasing it is a nearly flat gray: the fine detail is
# lost, honestly, instead of replaced by something false. On the rocket, compare
# the tower's thin struts in the two shrunk versions.

# %% [markdown]
# ## 7 · The batch dimension
#
# Networks process many images at once. With the `prepare` transform of section 5
# we resize and crop three photos to 224×224, and stack them along a new first
# axis, N. Even a single image needs that
# axis: `unsqueeze(0)` turns (3, 224, 224) into a batch of one.

# %%
names = ["cat", "coffee", "astronaut"]
batch = torch.stack([prepare(cu.data.load_photo(n)) for n in names])
batch.shape, x.unsqueeze(0).shape

# %%
cu.show_images(batch, titles=names, ncols=3, size=2.6,
               alt="A batch of three 224 by 224 photos: the cat, a cup of espresso and an astronaut.")

# %% [markdown]
# Indexing reads the axes in order: `batch[1]` is the coffee photo (3, 224, 224),
# `batch[:, 0]` is the red channel of all three (3, 224, 224), and
# `batch[2, :, 100, 50]` is one pixel's three values.

# %%
batch[1].shape, batch[:, 0].shape, batch[2, :, 100, 50]

# %% [markdown]
# ## 8 · Memory arithmetic
#
# One 224×224 colour image holds 224 × 224 × 3 = 150,528 numbers. As bytes that is
# 150,528 bytes (147 KiB); as 32-bit floats, four times as much. We work it out
# and check it against what PyTorch actually allocates.

# %%
numbers = 224 * 224 * 3
as_uint8 = torch.zeros(3, 224, 224, dtype=torch.uint8)
as_float = torch.zeros(3, 224, 224, dtype=torch.float32)
(numbers, as_uint8.element_size() * as_uint8.nelement(), as_float.element_size() * as_float.nelement())

# %% [markdown]
# Scaled up, the numbers get serious. A training batch of 256 float images is
# 154 MB before the network computes anything. The ImageNet challenge's training
# set has 1,281,167 images (Russakovsky et al., *ImageNet Large Scale Visual
# Recognition Challenge*, IJCV 2015); stored as 224×224 bytes, that is 193 GB, and
# four times more as floats. This is why datasets stay compressed or in bytes on
# disk, and images become floats only a batch at a time (lesson 05 measures the
# cost).

# %%
def size(n_bytes):
    return f"{n_bytes / 1e6:,.0f} MB" if n_bytes < 1e9 else f"{n_bytes / 1e9:,.0f} GB"


{"batch of 256, float32": size(256 * numbers * 4),
 "ImageNet train, uint8": size(1_281_167 * numbers),
 "ImageNet train, float32": size(1_281_167 * numbers * 4)}  # fmt: skip

# %% [markdown]
# ## Summary
#
# - A photo loads as an (H, W, C) array of `uint8`: 0…255 per colour channel.
# - PyTorch wants (C, H, W) floats, (N, C, H, W) for a batch: `permute` (a view, no
#   copy), convert to `float32` and divide by 255.
# - Normalise each channel with the statistics the network was trained with
#   (ImageNet's mean and standard deviation for torchvision's models; each
#   pretrained model states its own). Getting it wrong changes the prediction.
# - Shrink with antialiasing, or fine detail turns into false patterns.
# - Memory: 224 × 224 × 3 = 150,528 numbers, 1 byte each as `uint8`, 4 as `float32`.
#
# ## Check your understanding
#
# 1. `img` has shape (300, 451, 3). What is the shape of `torch.from_numpy(img).permute(2, 0, 1)`, and does that line copy the pixels?
#
#    <details><summary>Answer</summary>
#
#    (3, 300, 451). It copies nothing: `from_numpy` shares the array's memory and `permute`
#    only changes the strides, the steps through that same memory.
#    </details>
#
# 2. After `x = img_tensor.float()` (no division), what range do the values have, and what goes wrong if a pretrained network receives them?
#
#    <details><summary>Answer</summary>
#
#    0 to 255, in floats. A network trained on inputs in [0, 1] (or normalised ones) now sees
#    values up to 255 times larger than anything it met in training; its activations land far
#    from their usual range and its answers stop making sense, as section 5 showed with the
#    raw 0…255 variant.
#    </details>
#
# 3. Why use the ImageNet mean and standard deviation rather than those of the photo in front of you?
#
#    <details><summary>Answer</summary>
#
#    The network learned its weights on inputs normalised with its training set's statistics,
#    and it must get every photo on that same scale. Per-photo statistics would also erase
#    real information: a dark photo and a bright one would come out alike.
#    </details>
#
# 4. You shrink a photo of a striped shirt to a quarter of its size and see wavy bands that were not there. What happened, and which argument fixes it?
#
#    <details><summary>Answer</summary>
#
#    Aliasing: the stripes are finer than the smaller grid can hold, and sampling them
#    without blurring first turns them into false, coarser bands. `antialias=True` in
#    `Resize` (the default in recent torchvision) blurs before it shrinks.
#    </details>
#
# 5. How many bytes does a batch of 64 RGB images of 128×128 take as `uint8`? As `float32`?
#
#    <details><summary>Answer</summary>
#
#    64 × 128 × 128 × 3 = 3,145,728 numbers: 3,145,728 bytes (3 MiB) as `uint8`, four times
#    that, 12,582,912 bytes (12 MiB), as `float32`.
#    </details>
#
# **Exercise:** [ex01 · Pixels as tensors](../exercises/ex01_pixels_as_tensors/ex01_pixels_as_tensors.ipynb) —
# write `to_tensor`, `normalize`, `rgb_to_gray` and `dense_params` yourself.
#
# **Next:** [02 · Why a flat network fails on pixels](02_why_flat_networks_fail.ipynb).
