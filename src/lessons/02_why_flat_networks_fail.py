# %% [markdown]
# # 02 · Why a flat network fails on pixels
#
# The simplest way to feed an image to a neural network is to flatten it: line up
# every pixel value in one long vector and hand it to ordinary dense layers. It is
# the obvious first attempt, and on pictures it does badly. This lesson measures
# why, in three experiments.
#
# **In this lesson you will**
# 1. count the weights of a first dense layer on a 224×224 colour photo (hundreds of millions);
# 2. shift images by a few pixels and measure how far the flat vector moves, against a convolution's feature map, which simply moves along;
# 3. train a flat network and a small convolutional network with the same number of parameters on shapes at random positions, and test both on positions they never saw.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests);
# the training cell prints how much of it went into training. No GPU, no internet.

# %%
import time

import torch
import torchvision.transforms.v2.functional as TF
from torch import nn
from torch.nn import functional as F

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · The weights of a first dense layer
#
# A dense layer connects every input to every output: one weight per pair, plus a
# bias per output. A 224×224 RGB photo flattens to 224 × 224 × 3 = 150,528 inputs,
# so even a modest first hidden layer needs an enormous number of weights.

# %%
in_features = 224 * 224 * 3
hidden_sizes = [100, 1000, 2048, 4096]
{h: f"{in_features * h + h:,}" for h in hidden_sizes}

# %% [markdown]
# We check one of these counts against PyTorch itself. On the `meta` device
# PyTorch records shapes without allocating memory, so we can build the layer with
# 4,096 units without needing the 2.5 GB its weights would take as floats. We build
# AlexNet, the network that won the ImageNet challenge in 2012 (Krizhevsky,
# Sutskever and Hinton, 2012; lesson 06), the same way, for scale.

# %%
import torchvision

with torch.device("meta"):
    layer = nn.Linear(in_features, 4096)
    alexnet = torchvision.models.alexnet(weights=None)
cu.expect(cu.models.count_params(layer) == in_features * 4096 + 4096, "PyTorch counts the same as our formula")
cu.models.count_params(layer), cu.models.count_params(alexnet), f"{cu.models.count_params(layer) * 4 / 1e9:.1f} GB as float32"

# %%
cu.show(cu.translation.figure_weight_counts(in_features, hidden_sizes,
                                            reference=(f"all of AlexNet ({cu.models.count_params(alexnet) / 1e6:.1f} M)", cu.models.count_params(alexnet))),
        alt="Bar chart, log scale: a dense layer on 150,528 inputs needs 15 million weights for 100 hidden units, "
            "151 million for 1,000, 308 million for 2,048 and 617 million for 4,096; a dashed line marks all of "
            "AlexNet at 61 million.")

# %%
ratio = (in_features * 1000 + 1000) / cu.models.count_params(alexnet)
cu.expect(2.3 < ratio < 2.6, "with 1,000 hidden units the first layer alone holds about two and a half AlexNets",
          ratio=ratio)
f"a first layer of 1,000 units holds {ratio:.2f} times as many parameters as all of AlexNet"

# %% [markdown]
# With 1,000 hidden units the *first layer alone* holds 150 million numbers,
# two and a half times all of AlexNet. Every one of them must be learned from
# data, and so many free numbers fit noise in a modest training set easily.
#
# Compare a convolutional layer (lesson 03): 64 filters of 3×3 pixels over 3
# channels need 64 × 27 weights plus 64 biases, whatever the size of the image.

# %%
cu.models.count_params(nn.Conv2d(3, 64, kernel_size=3))

# %% [markdown]
# ## 2 · Move a picture by a few pixels
#
# The count is only half the problem. Each weight of a dense layer is tied to one
# input position: the weight for "pixel (10, 20), red" only ever sees that
# pixel. Move the picture and every weight meets a different value. To the flat
# network, a shifted picture is a different input.
#
# How different? We measure the distance between two flat vectors `a` and `b` by
# the **cosine distance**, 1 − cos(angle between them): 0 for vectors pointing the
# same way, 1 for perpendicular ones. Our first pictures are plain drawings of a
# disk and a square, 32×32.

# %%
yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")


def disk(cx, cy=16, r=7):
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= r**2).float()


def square(cx, cy=16, half=6):
    return (((xx - cx).abs() <= half) & ((yy - cy).abs() <= half)).float()


def cosine_distance(a, b):
    return 1 - F.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()


# %%
shifts = [0, 1, 2, 3, 4, 5]
disk_moves = [cosine_distance(disk(16), disk(16 + s)) for s in shifts]
disk_vs_square = cosine_distance(disk(16), square(16))
cu.show_images([disk(16), disk(19), square(16)], ["disk", "disk, 3 px right", "square"], ncols=3, size=1.8,
               alt="Three 32 by 32 drawings: a white disk, the same disk moved 3 pixels to the right, and a white square.")
cu.expect(disk_moves[1] > disk_vs_square and (round(disk_moves[1], 2), round(disk_vs_square, 2)) == (0.10, 0.09)
          and round(disk_moves[3], 2) == 0.28,
          "1 pixel: 0.10, further than the square's 0.09; three pixels: 0.28", moves=disk_moves, square=disk_vs_square)
[round(d, 3) for d in disk_moves], round(disk_vs_square, 3)

# %% [markdown]
# Moving the disk by **a single pixel** takes its flat vector further away (0.10)
# than turning it into a square in place (0.09). Three pixels make it 0.28. For
# a network that compares vectors entry by entry, "the same disk, slightly to the
# right" is a more different picture than "a square".
#
# A real photo changes less per pixel, because neighbouring pixels of a photo are
# similar. We take two 224×224 crops of the cat photo whose windows differ by a few
# pixels: the scene moves to the right, the way it does when a camera pans to the
# left, with no blank border.

# %%
cat = torch.from_numpy(cu.data.load_photo("cat")).permute(2, 0, 1).float() / 255
top, left = 40, 120


def crop(dx):
    """The 224x224 window whose content is the cat moved dx pixels to the right."""
    return cat[:, top : top + 224, left - dx : left - dx + 224]


photo_moves = [cosine_distance(crop(0), crop(s)) for s in shifts]
relative_l2 = [((crop(s) - crop(0)).norm() / crop(0).norm()).item() for s in shifts]
cu.expect(max(photo_moves) < 0.05 and 0.15 < relative_l2[3] < 0.2,
          "the cosine distance stays small, but after 3 pixels the difference is almost a fifth of the photo",
          cosine=photo_moves, relative_l2=relative_l2)
[round(d, 4) for d in photo_moves], [round(d, 3) for d in relative_l2]

# %%
cu.show(cu.translation.figure_flat_drift(shifts, {"cat photo (224×224×3)": photo_moves, "disk drawing (32×32)": disk_moves},
                                         ylabel="cosine distance to the unshifted image",
                                         title="How far a flat vector moves when the picture shifts"),
        alt=f"Line chart of cosine distance against shift from 0 to 5 pixels: the disk drawing rises steeply to "
            f"{disk_moves[-1]:.2f} at 5 pixels; the cat photo rises slowly, to {photo_moves[-1]:.3f}.")

# %% [markdown]
# The cosine distance of the photo stays small because every photo vector points
# in a similar direction (all pixel values are positive), but the change itself is
# not small: after 3 pixels the difference vector is almost a fifth as long as
# the photo vector itself (`relative_l2` above). Every weight of a dense layer now
# multiplies a different value, and nothing in the layer knows that the new input
# is the old one, moved.

# %% [markdown]
# ## 3 · A convolution moves with the picture
#
# A convolutional layer slides the same small filters over every position
# (lesson 03 builds one by hand). So when the input moves, its output — the
# feature maps — moves by the same amount and is otherwise unchanged. This
# property is called **equivariance**: shifting then filtering gives the same
# result as filtering then shifting. We check it with a layer of 8 random 5×5
# filters: no training needed, it holds for any filter values.
#
# For the shift we use torchvision's `affine` with a pure translation, which moves
# the content by whole pixels and fills the uncovered border with zeros.

# %%
def shift(x, dx, dy=0):
    return TF.affine(x, angle=0.0, translate=[dx, dy], scale=1.0, shear=[0.0, 0.0])


torch.manual_seed(0)
conv = nn.Conv2d(3, 8, kernel_size=5, padding=2)
x, dx = crop(0), 3
with torch.no_grad():
    f_x, f_shifted = conv(x), conv(shift(x, dx))
inner = (slice(None), slice(4, -4), slice(dx + 4, -4))  # leave out the borders the zero filling touched
realigned_gap = (f_shifted - shift(f_x, dx))[inner].abs().max().item()
same_place_gap = (f_shifted - f_x)[inner].abs().max().item()
cu.expect(realigned_gap == 0.0 and 0.3 < same_place_gap < 0.6,
          "shift-then-filter and filter-then-shift agree exactly; before and after differ by almost half a unit",
          realigned=realigned_gap, same_place=same_place_gap)
realigned_gap, same_place_gap

# %% [markdown]
# Away from the border, "shift then filter" and "filter then shift" agree
# exactly (a difference of 0.0: the very same multiplications, done at a moved
# position), while the feature maps before and after the shift differ by almost
# half a unit at the same positions (the second number). The layer does not make the
# change smaller; it makes it **predictable**: the same map, moved.

# %%
cu.show(cu.translation.figure_equivariance(
    {"photo x": x, f"shift(x, {dx} px)": shift(x, dx), "conv(x), map 0": f_x[0],
     "conv(shift(x)), map 0": f_shifted[0], "conv(shift(x)) − shift(conv(x))": (f_shifted - shift(f_x, dx))[0]},
    title="Equivariance: the feature map moves with the input"),
    alt="Five panels: the cat crop, the crop shifted 3 pixels right, a feature map of each, which look identical "
        "but moved, and their difference after re-aligning, which is zero everywhere except a thin border.")

# %% [markdown]
# A network can then turn "the same, moved" into "the same" by **pooling**: the
# strongest response of each map, wherever it is, does not care where. We compare
# how much each representation changes under the 3-pixel move, relative to its own
# size.

# %%
def relative_change(a, b):
    return ((a - b).norm() / a.norm()).item()


with torch.no_grad():
    pooled, pooled_shifted = f_x.amax(dim=(1, 2)), f_shifted.amax(dim=(1, 2))
changes = {"pixels, flattened": relative_change(crop(0), crop(3)),
           "feature maps, same positions": relative_change(f_x, f_shifted),
           "feature maps, re-aligned (inner part)": relative_change(shift(f_x, dx)[inner], f_shifted[inner]),
           "global max of each map": relative_change(pooled, pooled_shifted)}  # fmt: skip
cu.expect(changes["global max of each map"] < changes["feature maps, same positions"] / 5,
          "pooling makes the result nearly invariant to the move", changes=changes)
cu.expect(0.003 < changes["global max of each map"] < 0.03 and 0.12 < changes["feature maps, same positions"] < 0.3,
          "The global maximum changes by about a hundredth where the maps at fixed positions change by a fifth",
          changes=changes)
{name: f"{c:.4f}" for name, c in changes.items()}

# %% [markdown]
# The global maximum changes by about a hundredth where the maps at fixed
# positions change by a fifth: nearly invariant. Only nearly, because the
# border moved too (new pixels came in on the left, some left on the right).
# Inside a network there is a second, subtler reason. A max pool with stride 2
# keeps one value per 2×2 window, so shifting the input by one pixel is not the
# same as shifting the pooled map by half a pixel: it samples the map on a
# coarser grid, and fine detail aliases exactly as in lesson 01's resizing
# section. Azulay and Weiss (*Why do deep convolutional networks generalize so
# poorly to small image transformations?*, JMLR 2019) measured that a one-pixel
# shift changes the predictions of ImageNet CNNs surprisingly often, and Zhang
# (*Making Convolutional Networks Shift-Invariant Again*, ICML 2019) traced it
# to strided pooling and blurs before subsampling to fix it. So convolutions are
# equivariant, strided pooling only approximately, and what makes a whole
# network nearly shift-invariant is a pool over the whole map at the end.

# %% [markdown]
# ## 4 · A flat network and a CNN on the same budget
#
# Now the real test: learning. We use the course's drawn shapes (circle, square,
# triangle, cross, star; 32×32, gray). During training every shape's centre lies
# somewhere in the **left part** of the image (x from 20% to 50% of the width) and
# anywhere in the middle half vertically. We test twice: on new shapes from the
# same positions, and on shapes whose centres lie in the **right part** (50% to
# 80%), where no training shape was ever centred. The right part is not blank in
# training: a shape's size is a radius, so a large shape centred at 50% covers
# pixels far to the right of its centre (the last number below is how far the
# training shapes reach). What is new in the moved test is where the shapes sit,
# not which pixels they touch.

# %%
train_x, train_y = (0.2, 0.5), (0.25, 0.75)
shapes = cu.data.load_shapes(6000, 1000, x_range=train_x, y_range=train_y)
moved = cu.data.load_shapes(6000, 1000, x_range=train_x, y_range=train_y, test={"x_range": (0.5, 0.8)})
classes = shapes["train"].features["label"].names
x_train, y_train = cu.data.to_tensors(shapes["train"])
x_same, y_same = cu.data.to_tensors(shapes["test"])
x_moved, y_moved = cu.data.to_tensors(moved["test"])
train_reach = max(x + r for x, r in zip(shapes["train"]["x"], shapes["train"]["scale"])) / 32
cu.expect(train_reach > 0.7, "a large shape centred at 50% covers pixels far to the right", reach=train_reach)
x_train.shape, x_same.shape, x_moved.shape, classes, f"training shapes reach {train_reach:.0%} of the width"

# %%
cu.show_images(torch.cat([x_train[:8], x_moved[:8]]), [f"train: {classes[i]}" for i in y_train[:8]] +
               [f"moved: {classes[i]}" for i in y_moved[:8]], ncols=8, size=1.3,
               alt="Sixteen 32 by 32 shape images: the top row from training, with shapes on the left side, "
                   "the bottom row from the moved test set, with shapes on the right side.")

# %% [markdown]
# The convolutional network has three 3×3 conv layers (8, 16 and 32 filters) with
# 2×2 max pooling between them, then a **global max pool**: for each of its 32
# feature maps it keeps the strongest response, wherever it is. One dense layer
# turns those 32 numbers into 5 class scores. The flat network gets the same
# budget of parameters: flatten the 1,024 pixels, a hidden layer of as many units
# as the budget allows, then the 5 scores. We add a second flat network with about
# ten times the budget, in case the small one is simply too small.

# %%
torch.manual_seed(0)
cnn = cu.translation.conv_net(len(classes))
budget = cu.models.count_params(cnn)
hidden = cu.translation.hidden_for_budget(32 * 32, len(classes), budget)
models = {
    f"CNN ({budget:,} params)": cnn,
    f"flat net, {hidden} hidden ({cu.models.count_params(cu.translation.flat_net(1024, hidden, 5)):,} params)":
        cu.translation.flat_net(32 * 32, hidden, len(classes)),
    f"flat net, 64 hidden ({cu.models.count_params(cu.translation.flat_net(1024, 64, 5)):,} params)":
        cu.translation.flat_net(32 * 32, 64, len(classes)),
}
list(models)

# %% [markdown]
# All three train on the same 6,000 images for the same 4 passes (epochs), with
# the same optimiser settings; the cell prints how long each took.
#
# **Two black boxes.** This lesson uses two things before the course explains
# them. The convolutional layers (`nn.Conv2d` inside `cu.translation.conv_net`)
# are built by hand in lesson 03; here it is enough to know that each slides a
# few small filters over the image, as section 3 measured. And the training loop
# is the course's `cu.fit`: it shows the networks batches of labelled images and
# adjusts their weights to make fewer mistakes; lesson 04 opens it up. What this
# lesson needs from both is only the comparison: same data, same budget, same
# training, different architecture.

# %%
cu.env.set_threads(1)  # one thread: on ops this small, sharing work between cores can cost more than it saves (time it without)
histories, train_seconds = {}, {}
for name, model in models.items():
    started = time.perf_counter()
    histories[name] = cu.fit(model, (x_train, y_train), epochs=4, batch_size=128, lr=3e-3, seed=0)
    train_seconds[name] = time.perf_counter() - started
cu.env.set_threads()  # back to every core
results = {name: {"same positions": cu.evaluate(m, (x_same, y_same))["accuracy"],
                  "moved right": cu.evaluate(m, (x_moved, y_moved))["accuracy"]} for name, m in models.items()}
cnn_name, *flat_names = list(models)
cu.expect(all(results[cnn_name]["same positions"] > results[f]["same positions"] + 0.2 for f in flat_names),
          "on the positions it trained on, the CNN is far more accurate than both flat networks", results=results)
cu.expect(all(0.1 < results[f]["moved right"] < 0.3 for f in flat_names),
          "beyond the training positions, the flat networks fall to about chance (20%)", results=results)
cu.expect(results[cnn_name]["moved right"] > results[cnn_name]["same positions"] - 0.05,
          "the CNN barely notices the move", results=results)
print("training time: " + "; ".join(f"{name}: {sec:.1f} s" for name, sec in train_seconds.items()))
{name: {k: f"{v:.1%}" for k, v in r.items()} for name, r in results.items()}

# %% [markdown]
# We break the accuracy down by where each test shape sits, combining both test
# sets (the shapes dataset records every shape's centre in the column `x`, in
# pixels).

# %%
positions = torch.cat([torch.tensor(shapes["test"]["x"]), torch.tensor(moved["test"]["x"])])
x_all, y_all = torch.cat([x_same, x_moved]), torch.cat([y_same, y_moved])
edges = torch.arange(6, 27, 2).tolist()
curves = {}
for name, model in models.items():
    correct = cu.predict(model, x_all).argmax(dim=1) == y_all
    centres, curves[name], counts = cu.translation.accuracy_by_position(correct, positions, edges)
counts

# %%
cu.show(cu.translation.figure_accuracy_by_position(centres, curves, train_range=(0.2 * 32, 0.5 * 32),
                                                   chance=1 / len(classes),
                                                   title="Test accuracy by horizontal position of the shape"),
        alt=f"Line chart of test accuracy against the shape's centre x. The CNN stays between "
            f"{min(curves[next(iter(curves))]):.0%} and {max(curves[next(iter(curves))]):.0%} at every position. "
            "Both flat networks are far below it inside the shaded training range and fall to about chance level, "
            "20%, to the right of it.")

# %% [markdown]
# The results speak plainly (the `cu.expect` lines above check each of these
# sentences on your run):
#
# - **On the positions it trained on**, the CNN is far more accurate than a flat
#   network with the same number of parameters, and even than one with ten times
#   as many. Its filters learn a pattern once and find it anywhere.
# - **Beyond the training positions**, the flat networks fall to about chance
#   (20% for 5 classes): each weight learned what a shape means at the pixels where
#   training shapes sat, and a moved shape puts its edges and corners on other
#   pixels. The CNN barely notices: its conv layers are equivariant,
#   its stride-2 pools nearly so, and its global max pool discards the position.
#
# The lesson is not that flat networks cannot learn images; with enough examples
# of every shape at every position they would. It is that the convolution builds
# in an assumption — a useful pattern is useful wherever it appears — that the flat
# network would otherwise have to learn, position by position, from data.

# %% [markdown]
# ## 5 · Move a shape yourself
#
# Pick a shape and slide it across the image. The same shape (same size, angle and
# brightness) is redrawn at each position, and the three trained models classify
# it. The blue bar under the picture marks the centres seen in training; the black
# tick is the current centre.

# %%
explorer = cu.widgets.shift_explorer(models, cu.shapes.ShapeParams(x_range=train_x, y_range=train_y),
                                     train_range=train_x, start=11)

# %% [markdown]
# ## Summary
#
# - Flattening a 224×224×3 photo gives 150,528 inputs; a dense layer of 1,000
#   units on it has over 150 million weights, more than twice all of AlexNet.
# - Each dense weight is tied to one position, so a picture moved by one pixel is,
#   to a flat network, a different input (a disk moved 1 px is further from itself
#   than from a square).
# - A convolution is **equivariant**: move the input and the feature maps move
#   with it. A pool over the whole map then makes the result nearly **invariant**
#   to the move; stride-2 pooling is only approximately equivariant (it aliases).
# - On the same parameter budget, a small CNN beat flat networks on shapes at
#   random positions, and kept working on positions it never saw, where the flat
#   networks fell to chance.
#
# ## Check your understanding
#
# 1. How many parameters has a dense layer from a 64×64 RGB image to 512 hidden units? And a 3×3 conv layer with 512 filters on the same image?
#
#    <details><summary>Answer</summary>
#
#    The image has 64 × 64 × 3 = 12,288 inputs, so the dense layer has 12,288 × 512 + 512 =
#    6,291,968 parameters. The conv layer has 512 filters of 3 × 3 × 3 weights plus 512
#    biases: 512 × 27 + 512 = 14,336, whatever the image size.
#    </details>
#
# 2. Why does the cosine distance between a photo and its 3-pixel shift look small, even though a flat network treats the two very differently?
#
#    <details><summary>Answer</summary>
#
#    All its pixel values are positive, so every photo vector points into the same corner of
#    the space and the angle between any two is small. The difference vector is still a fifth
#    as long as the photo vector, and a dense layer multiplies each entry by its own weight,
#    so it sees a substantially different input.
#    </details>
#
# 3. What is the difference between *equivariance* and *invariance*? Which part of the CNN in section 4 gives which?
#
#    <details><summary>Answer</summary>
#
#    Equivariance: moving the input moves the output by the same amount (conv(shift(x)) =
#    shift(conv(x))). Invariance: moving the input does not change the output. The conv
#    layers give (approximate) equivariance; the global max pool at the end, which keeps each
#    map's strongest response wherever it is, gives the invariance. The stride-2 pools in
#    between are only approximately equivariant.
#    </details>
#
# 4. The flat networks reached about chance on the moved shapes. Why chance exactly, and not 0%?
#
#    <details><summary>Answer</summary>
#
#    The flat networks have never seen anything like these inputs, so their answers carry no
#    information about the class: as good as a guess, and a guess among 5 balanced classes is
#    right 1 time in 5, 20%. To score 0% they would have to know the right answer and avoid
#    it.
#    </details>
#
# 5. Suggest a change to the *training data* that would help the flat network on the moved shapes. What would it cost?
#
#    <details><summary>Answer</summary>
#
#    Train on shapes at every position (or augment the training images with random shifts),
#    so every weight sees shapes. The cost: many more examples (every pattern must be learned
#    separately at every position) and longer training, where a CNN gets the same from its
#    architecture for free.
#    </details>
#
# **Exercise:** [ex02 · Why flat networks fail](../exercises/ex02_why_flat_networks_fail/ex02_why_flat_networks_fail.ipynb) —
# write `shift_image`, `cosine_distance` and `mlp_params` yourself, and explain equivariance in your own words.
#
# **Next:** [03 · Convolution and pooling](03_convolution_and_pooling.ipynb).
