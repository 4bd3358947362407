# %% [markdown]
# # Exercise 02 · Why flat networks fail
#
# In lesson 02 you measured what a shift of a few pixels does to a flat pixel
# vector, and counted the weights of dense layers on photos. Now you write the
# tools for those measurements yourself:
#
# 1. `shift_image` — move an image by whole pixels, filling the uncovered border with zeros;
# 2. `cosine_distance` — how far apart two images are as flat vectors;
# 3. `mlp_params` — the parameter count of a stack of dense layers;
#
# and, in a few sentences of your own, why equivariance matters.
#
# Write your code where it says **YOUR CODE HERE**, then run the self-check cell
# below it. A ✓ means your function passed the checks you can see; your
# instructor's grader runs more (hidden) checks, so make it right in general.
# Don't rename the functions or change their arguments, and run the whole
# notebook top to bottom (*Kernel → Restart and run all*) before you hand it in.

# %%
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn
from torch.nn import functional as F

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · Shift an image
#
# Write `shift_image(x, dx, dy)`:
#
# - `x` is a tensor of shape (C, H, W) or a batch (N, C, H, W), of any dtype;
# - `dx` and `dy` are whole numbers of pixels, positive or negative: a positive
#   `dx` moves the content to the **right**, a positive `dy` moves it **down**;
# - return a **new** tensor of the same shape and dtype: the content moved, and
#   zeros where nothing moved in. Content that leaves the frame is gone, so a
#   shift by the full width or more gives all zeros.
#
# Leave `x` unchanged. Hint: create `torch.zeros_like(x)` and copy one
# rectangle of `x` into another rectangle of it with slicing (`x[..., rows, cols]`
# works for both shapes). Careful: `torch.roll` wraps the content around instead
# of filling with zeros. Write the shift yourself: the checks notice torchvision's
# `affine` (or any other route to its resampling) inside your function.

# %% kind="solution" id="shift_image"
def shift_image(x, dx, dy):
    """(C, H, W) or (N, C, H, W) -> same shape, content moved dx right and dy down, zero-filled."""
    ### BEGIN SOLUTION
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src_rows, dst_rows = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
    src_cols, dst_cols = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
    out[..., dst_rows, dst_cols] = x[..., src_rows, src_cols]
    return out
    ### END SOLUTION


# %% kind="tests" id="test_shift_image" points=3
x = torch.arange(1, 13, dtype=torch.float32).view(1, 3, 4)  # one channel, 3 rows, 4 columns
cu.checks.check_equal(cu.restrictions.call_without(["torchvision.transforms.v2.functional.affine",
                                                   "torchvision.transforms.functional.affine",
                                                   "aten.grid_sampler_2d", "aten.affine_grid_generator"], shift_image, x, 1, 0),
                      torch.tensor([[[0.0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]]]),
                      "shift_image(x, dx=1, dy=0)", hint="positive dx moves content to the right; column 0 becomes zeros")
cu.checks.check_equal(shift_image(x, 0, 1), torch.tensor([[[0.0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8]]]),
                      "shift_image(x, dx=0, dy=1)", hint="positive dy moves content down; row 0 becomes zeros")
cu.checks.check_equal(shift_image(x, -2, 1), TF.affine(x, angle=0.0, translate=[-2, 1], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image(x, dx=-2, dy=1)", hint="negative dx moves content left; the right columns become zeros")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(0)
batch = torch.rand(2, 3, 5, 7, generator=gen)
library_shift = ["aten.affine_grid_generator", "aten.grid_sampler_2d", "torchvision.transforms.functional.affine",
                 "torchvision.transforms.v2.functional.affine"]  # the reference below must not be the answer
cu.checks.check_equal(cu.restrictions.call_without(library_shift, shift_image, batch, 3, -2),
                      TF.affine(batch, angle=0.0, translate=[3, -2], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image(batch, 3, -2)", hint="a batch (N, C, H, W) shifts every image and channel alike")
cu.checks.check_equal(shift_image(batch, -1, 4), TF.affine(batch, angle=0.0, translate=[-1, 4], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image(batch, -1, 4)")
cu.checks.check_equal(shift_image(batch, 0, 0), batch.clone(), "shift_image(batch, 0, 0)")
cu.checks.check_equal(shift_image(batch, 6, 0), TF.affine(batch, angle=0.0, translate=[6, 0], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image(batch, 6, 0)", hint="one column survives a shift by width - 1")
cu.checks.check_equal(shift_image(batch, 0, -4), TF.affine(batch, angle=0.0, translate=[0, -4], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image(batch, 0, -4)")
cu.checks.check_equal(shift_image(batch, 7, 0), torch.zeros(2, 3, 5, 7), "shift_image by the full width",
                      hint="content that leaves the frame is gone")
cu.checks.check_equal(shift_image(batch, -9, 2), torch.zeros(2, 3, 5, 7), "shift_image by more than the width")
cu.checks.check_equal(shift_image(batch, 0, -5), torch.zeros(2, 3, 5, 7), "shift_image by the full height")
pixels = torch.randint(0, 256, (3, 4, 6), dtype=torch.uint8, generator=gen)
cu.checks.check_equal(shift_image(pixels, 2, 1), TF.affine(pixels, angle=0.0, translate=[2, 1], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image on a uint8 image", hint="keep the dtype: torch.zeros_like(x)")
cu.checks.check_dtype(shift_image(pixels, 2, 1), torch.uint8, "shift_image on a uint8 image", hint="keep the dtype of x")
tall = torch.rand(2, 7, 4, generator=gen).transpose(-1, -2)  # a non-contiguous (2, 4, 7) view
cu.checks.check_equal(shift_image(tall, -3, 2), TF.affine(tall.contiguous(), angle=0.0, translate=[-3, 2], scale=1.0, shear=[0.0, 0.0]),
                      "shift_image on a transposed (non-contiguous) view", hint="slice x; don't rely on .view() of its memory")
cu.checks.check_equal(batch, torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0)),
                      "the input after shift_image", hint="do not modify x in place")
### END HIDDEN TESTS
cu.checks.passed("shift_image")

# %% [markdown]
# ## 2 · Cosine distance between two images
#
# Write `cosine_distance(a, b)`:
#
# - `a` and `b` are tensors of any shape with the same number of elements;
# - flatten both to vectors and return 1 − cos θ, where θ is the angle between them:
#   cos θ = (a · b) / (‖a‖ ‖b‖);
# - return a Python `float` (0 for vectors pointing the same way, 1 for
#   perpendicular ones, 2 for opposite ones);
# - if `a` and `b` have different numbers of elements, raise a `ValueError`.
#
# You may assume neither tensor is all zeros.

# %% kind="solution" id="cosine_distance"
def cosine_distance(a, b):
    """1 - cosine similarity of a and b flattened to vectors, as a float."""
    ### BEGIN SOLUTION
    if a.numel() != b.numel():
        raise ValueError(f"a has {a.numel()} elements but b has {b.numel()}; they must match")
    a, b = a.flatten().double(), b.flatten().double()
    return float(1 - (a @ b) / (a.norm() * b.norm()))
    ### END SOLUTION


# %% kind="tests" id="test_cosine_distance" points=2
cu.checks.check_close(cosine_distance(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])), 1.0,
                      "cosine_distance of perpendicular vectors")
cu.checks.check_close(cosine_distance(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0])), 0.0,
                      "cosine_distance of parallel vectors", hint="the length of the vectors does not matter, only the angle")
a = torch.rand(4, 5, generator=torch.Generator().manual_seed(1))
b = torch.rand(4, 5, generator=torch.Generator().manual_seed(2))
cu.checks.check_close(cosine_distance(a, b), 1 - F.cosine_similarity(a.flatten(), b.flatten(), dim=0).item(),
                      "cosine_distance of two 4x5 tensors", hint="flatten both tensors to vectors first")
cu.checks.check_true(isinstance(cosine_distance(a, b), float), "cosine_distance returns a Python float",
                     hint="convert the result with float(...) or .item()")
cu.checks.check_raises(lambda: cosine_distance(torch.ones(3), torch.ones(4)), ValueError, "cosine_distance of 3 and 4 elements")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(3)
c = torch.rand(3, 6, 5, generator=gen)
d = torch.rand(3, 6, 5, generator=gen)
cu.checks.check_close(cosine_distance(c, d), 1 - F.cosine_similarity(c.flatten(), d.flatten(), dim=0).item(),
                      "cosine_distance of two (3, 6, 5) images", hint="one number for the whole tensors, not one per row")
cu.checks.check_close(cosine_distance(torch.tensor([1.0, -2.0]), torch.tensor([-1.0, 2.0])), 2.0,
                      "cosine_distance of opposite vectors")
cu.checks.check_close(cosine_distance(c, c * 7.5), 0.0, "cosine_distance of a tensor and a scaled copy", atol=1e-6)
e = torch.randn(2, 10, generator=gen)
f = torch.randn(20, generator=gen)
cu.checks.check_close(cosine_distance(e, f), 1 - F.cosine_similarity(e.flatten(), f, dim=0).item(),
                      "cosine_distance of a (2, 10) and a (20,) tensor", hint="only the number of elements must match")
cu.checks.check_true(isinstance(cosine_distance(c, d), float), "cosine_distance of images returns a float")
### END HIDDEN TESTS
cu.checks.passed("cosine_distance")

# %% [markdown]
# ## 3 · Counting the parameters of a stack of dense layers
#
# A multilayer perceptron (MLP) is a stack of dense layers. Describe it by the
# sizes of its layers, `[inputs, hidden_1, ..., hidden_k, outputs]`; each pair of
# neighbouring sizes is one dense layer. Write `mlp_params(layer_sizes, bias=True)`
# returning its number of parameters as a Python `int` (weights, plus one bias per
# output of every layer if `bias` is true). With fewer than two sizes there is no
# layer at all: raise a `ValueError`.

# %% kind="solution" id="mlp_params"
def mlp_params(layer_sizes, bias=True):
    """Parameters of nn.Linear layers between consecutive sizes [in, hidden..., out], as an int."""
    ### BEGIN SOLUTION
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"need at least two sizes (inputs and outputs); got {sizes}")
    return sum(n_in * n_out + (n_out if bias else 0) for n_in, n_out in zip(sizes, sizes[1:]))
    ### END SOLUTION


# %% kind="tests" id="test_mlp_params" points=2
cu.checks.check_equal(mlp_params([784, 128, 10]),
                      cu.models.count_params(nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))),
                      "mlp_params([784, 128, 10])", hint="one dense layer per pair of neighbouring sizes: 784->128, 128->10")
cu.checks.check_equal(mlp_params([224 * 224 * 3, 1000, 10]), 150_539_010, "mlp_params([150528, 1000, 10])")
cu.checks.check_raises(lambda: mlp_params([10]), ValueError, "mlp_params([10])")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(mlp_params([5, 3]), 18, "mlp_params([5, 3])", hint="a single layer: 5 x 3 weights + 3 biases")
cu.checks.check_equal(mlp_params([10, 20, 30, 40, 5]),
                      cu.models.count_params(nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 30), nn.Linear(30, 40), nn.Linear(40, 5))),
                      "mlp_params([10, 20, 30, 40, 5])")
cu.checks.check_equal(mlp_params([784, 128, 10], bias=False),
                      cu.models.count_params(nn.Sequential(nn.Linear(784, 128, bias=False), nn.Linear(128, 10, bias=False))),
                      "mlp_params([784, 128, 10], bias=False)", hint="without biases, only the weights count")
cu.checks.check_equal(mlp_params((1024, 6, 5)), 6185, "mlp_params of a tuple (1024, 6, 5)")
cu.checks.check_raises(lambda: mlp_params([]), ValueError, "mlp_params([])")
### END HIDDEN TESTS
cu.checks.passed("mlp_params")

# %% [markdown]
# ## 4 · Use your functions on a real photo
#
# Nothing to write here: run the cell. It shifts a crop of the cat photo with your
# `shift_image`, measures the flat-vector distance with your `cosine_distance`,
# and counts an MLP on full photos with your `mlp_params`. (It raises an error
# until your functions work.)

# %%
cat = torch.from_numpy(cu.data.load_photo("cat")).permute(2, 0, 1).float() / 255
crop = cat[:, 40:264, 120:344]  # (3, 224, 224)
moved = shift_image(crop, 3, 0)
cu.show_images([crop, moved], ["crop", "shift_image(crop, 3, 0)"], ncols=2, size=3,
               alt="A 224 by 224 crop of the cat photo and the same crop moved 3 pixels to the right with a black strip on the left.")
{"cosine distance after 3 px": round(cosine_distance(crop, moved), 4),
 "MLP 150528-1000-10 parameters": f"{mlp_params([224 * 224 * 3, 1000, 10]):,}"}  # fmt: skip

# %% [markdown]
# ## 5 · In your own words: why equivariance matters
#
# In three to five sentences: what does it mean that a convolutional layer is
# *translation equivariant*? Why is a convolutional layer equivariant and a dense
# layer not? Why does that matter when classifying photos? Refer to at least one
# measurement from lesson 02.

# %% [markdown] kind="written" id="q_equivariance" points=2
# A layer is translation equivariant when shifting its input shifts its output by
# the same amount and changes nothing else: conv(shift(x)) = shift(conv(x)), as
# lesson 02 measured (a difference of exactly 0 away from the borders). A
# convolution has it because it applies the same small filter at every position,
# whereas each weight of a dense layer belongs to one input position, so a
# shifted picture meets entirely different weights. For photos this matters
# because an object can appear anywhere: a convolution that learns to detect a
# pattern in one place detects it everywhere, and with pooling the network
# becomes nearly invariant to position. That is why the small CNN kept about 96%
# accuracy on shapes at positions it never saw, while flat networks with the
# same (or ten times the) number of parameters fell to chance.
