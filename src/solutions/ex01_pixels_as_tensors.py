# %% [markdown]
# # Exercise 01 · Pixels as tensors
#
# In lesson 01 you followed a photo from bytes on disk to a normalised tensor.
# Now you write the four small functions behind that journey yourself:
#
# 1. `to_tensor` — an H×W×C array of bytes becomes a C×H×W float tensor in [0, 1];
# 2. `normalize` — subtract a mean and divide by a standard deviation, per channel;
# 3. `rgb_to_gray` — three colour channels become one brightness channel;
# 4. `dense_params` — how many numbers a dense layer on those pixels would learn.
#
# Write your code where it says **YOUR CODE HERE**, then run the self-check cell
# below it. A ✓ means your function passed the checks you can see; your
# instructor's grader runs more (hidden) checks on the same function, so make it
# right in general, not just for the examples shown. Write each function with
# plain tensor operations: the checks notice torchvision's versions (`to_image`,
# `normalize`, `rgb_to_grayscale`) inside your functions. Don't rename the
# functions or change their arguments, and run the whole notebook top to bottom
# (*Kernel → Restart and run all*) before you hand it in.

# %%
import numpy as np
import torch
import torchvision.transforms.v2.functional as TF

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · From bytes to a tensor
#
# Write `to_tensor(img)`:
#
# - `img` is an image of 8-bit pixels (`uint8`): either a NumPy array or a torch
#   tensor, of shape (H, W, C) for colour or (H, W) for grayscale;
# - return a **new** `torch.float32` tensor of shape (C, H, W) — (1, H, W) for a
#   grayscale image — with values in [0, 1] (0 stays 0, 255 becomes 1);
# - if `img` is not `uint8`, raise a `ValueError` that says what was expected
#   (a float image may already be in [0, 1]; dividing it by 255 again would
#   silently turn it black).
#
# Leave `img` unchanged. `torch.as_tensor`, `permute` and `unsqueeze` are all you
# need; careful, `reshape` is not the same as `permute`.

# %% kind="solution" id="to_tensor"
def to_tensor(img):
    """uint8 (H, W, C) or (H, W) array/tensor -> float32 (C, H, W) tensor in [0, 1]."""
    ### BEGIN SOLUTION
    t = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
    if t.dtype != torch.uint8:
        raise ValueError(f"to_tensor expects uint8 pixels (0..255); got {t.dtype}. "
                         "Is the image already scaled to [0, 1]?")
    if t.ndim == 2:
        t = t.unsqueeze(-1)
    if t.ndim != 3:
        raise ValueError(f"to_tensor expects an (H, W, C) or (H, W) image; got shape {tuple(t.shape)}")
    return t.permute(2, 0, 1).to(torch.float32) / 255
    ### END SOLUTION


# %% kind="tests" id="test_to_tensor" points=3
img = np.array([[[0, 128, 255], [10, 20, 30]],
                [[40, 50, 60], [70, 80, 90]]], dtype=np.uint8)  # H=2, W=2, C=3
cu.checks.check_shape(to_tensor(img), (3, 2, 2), "to_tensor(img).shape",
                      hint="channels go first: (C, H, W)")
cu.checks.check_dtype(to_tensor(img), torch.float32, "to_tensor(img)")
cu.checks.check_close(cu.restrictions.call_without(["torchvision.transforms.v2.functional.to_image",
                                                   "torchvision.transforms.v2.functional.to_dtype",
                                                   "torchvision.transforms.functional.to_tensor"], to_tensor, img),
                      TF.to_dtype(TF.to_image(img), torch.float32, scale=True), "to_tensor(img)",
                      atol=1e-6, hint="permute(2, 0, 1) moves the channel axis first (reshape scrambles pixels), then divide by 255")
cu.checks.check_raises(lambda: to_tensor(img / 255), ValueError, "to_tensor(a float image)",
                       hint="check img's dtype and raise ValueError unless it is uint8")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(1)
wide = torch.randint(0, 256, (4, 7, 3), dtype=torch.uint8, generator=gen).numpy()
cu.checks.check_close(to_tensor(wide), TF.to_dtype(TF.to_image(wide), torch.float32, scale=True),
                      "to_tensor on a 4x7 image", atol=1e-6, hint="a non-square image catches reshape instead of permute")
gray = torch.randint(0, 256, (5, 6), dtype=torch.uint8, generator=gen).numpy()
cu.checks.check_close(to_tensor(gray), TF.to_dtype(TF.to_image(gray), torch.float32, scale=True),
                      "to_tensor on an (H, W) grayscale image", atol=1e-6, hint="a grayscale image becomes (1, H, W)")
as_tensor = torch.randint(0, 256, (3, 5, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))
cu.checks.check_close(to_tensor(as_tensor), as_tensor.permute(2, 0, 1).float() / 255, "to_tensor on a torch uint8 tensor",
                      atol=1e-6, hint="accept a torch tensor as well as a NumPy array")
photo = cu.data.load_photo("cat")[100:140, 200:260]
cu.checks.check_close(to_tensor(photo), TF.to_dtype(TF.to_image(photo), torch.float32, scale=True),
                      "to_tensor on a crop of the cat photo", atol=1e-6,
                      hint="(H, W, C) uint8 -> (C, H, W) float32 in [0, 1]: permute(2, 0, 1), then divide by 255")
cu.checks.check_equal(to_tensor(np.full((2, 2, 3), 255, dtype=np.uint8)).max().item(), 1.0, "to_tensor(white).max()")
cu.checks.check_equal(as_tensor, torch.randint(0, 256, (3, 5, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(5)),
                      "the input tensor after to_tensor", hint="do not modify img in place")
cu.checks.check_raises(lambda: to_tensor(torch.zeros(4, 4, 3)), ValueError, "to_tensor(a float tensor)",
                       hint="only uint8 pixels are accepted: a float image may already be in [0, 1]")
### END HIDDEN TESTS
cu.checks.passed("to_tensor")

# %% [markdown]
# ## 2 · Normalise each channel
#
# Write `normalize(x, mean, std)`:
#
# - `x` is a float tensor of shape (C, H, W), or a batch (N, C, H, W);
# - `mean` and `std` hold one number per channel (a list, a tuple or a 1-D tensor of length C);
# - return a **new** tensor of the same shape where channel `c` is `(x[c] - mean[c]) / std[c]`;
# - if `mean` or `std` does not have exactly C values, raise a `ValueError`.
#
# Leave `x` unchanged (no in-place `sub_`/`div_` on it). The trick is
# broadcasting: a tensor of shape (C, 1, 1) lines up with the channel axis of both
# (C, H, W) and (N, C, H, W). A tensor of shape (C,) lines up with the *last*
# axis, W, which is not what you want.

# %% kind="solution" id="normalize"
def normalize(x, mean, std):
    """float (C, H, W) or (N, C, H, W), per-channel mean and std -> normalised tensor, same shape."""
    ### BEGIN SOLUTION
    channels = x.shape[-3]
    mean = torch.as_tensor(mean, dtype=x.dtype, device=x.device).flatten()
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device).flatten()
    if mean.numel() != channels or std.numel() != channels:
        raise ValueError(f"mean and std need one value per channel ({channels}); got {mean.numel()} and {std.numel()}")
    return (x - mean.view(-1, 1, 1)) / std.view(-1, 1, 1)
    ### END SOLUTION


# %% kind="tests" id="test_normalize" points=3
x = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(0))
cu.checks.check_close(cu.restrictions.call_without(["torchvision.transforms.v2.functional.normalize",
                                                   "torchvision.transforms.functional.normalize"],
                                                  normalize, x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                      TF.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), "normalize(x, imagenet mean, std)",
                      hint="subtract mean[c] and divide by std[c] in channel c; shape the mean as (C, 1, 1)")
cu.checks.check_close(normalize(x, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), x * 2 - 1, "normalize(x, 0.5, 0.5)",
                      hint="with mean 0.5 and std 0.5, [0, 1] becomes [-1, 1]")
cu.checks.check_raises(lambda: normalize(x, [0.5, 0.5], [0.5, 0.5]), ValueError, "normalize with 2 means for 3 channels")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(2)
batch = torch.rand(2, 3, 6, 4, generator=gen)
cu.checks.check_close(normalize(batch, [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]), TF.normalize(batch, [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]),
                      "normalize on a batch (N, C, H, W)", hint="index channels with axis -3, so a batch works too")
w3 = torch.rand(3, 2, 3, generator=gen)  # W == C: broadcasting along the wrong axis goes unnoticed by the shape
cu.checks.check_close(normalize(w3, [0.1, 0.5, 0.9], [1.0, 2.0, 4.0]), TF.normalize(w3, [0.1, 0.5, 0.9], [1.0, 2.0, 4.0]),
                      "normalize on a (3, 2, 3) image", hint="a mean of shape (C,) broadcasts along W, not C")
wide = torch.rand(2, 3, 5, 4, generator=gen).transpose(-1, -2)  # a (2, 3, 4, 5) view, not contiguous in memory
cu.checks.check_close(normalize(wide, [0.2, 0.4, 0.6], [0.5, 1.0, 2.0]), TF.normalize(wide, [0.2, 0.4, 0.6], [0.5, 1.0, 2.0]),
                      "normalize on a transposed (non-contiguous) view", hint="index or broadcast; .view() needs contiguous memory")
one = torch.rand(1, 4, 4, generator=gen)
cu.checks.check_close(normalize(one, [0.5], [0.2]), (one - 0.5) / 0.2, "normalize on one channel")
cu.checks.check_close(normalize(batch, torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.5, 0.25, 2.0])),
                      TF.normalize(batch, [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]), "normalize with tensor mean and std",
                      hint="accept a list, a tuple or a 1-D tensor: torch.as_tensor(mean) handles all three")
cu.checks.check_close(batch, torch.rand(2, 3, 6, 4, generator=torch.Generator().manual_seed(2)),
                      "the input after normalize", hint="do not modify x in place")
cu.checks.check_raises(lambda: normalize(batch, [0.5], [0.5, 0.25, 2.0]), ValueError, "normalize of 3 channels with a mean of 1 value",
                       hint="check the mean and the std separately: each needs one value per channel")
cu.checks.check_raises(lambda: normalize(batch, [0.1, 0.2, 0.3], [0.5]), ValueError, "normalize of 3 channels with a std of 1 value",
                       hint="check the mean and the std separately: each needs one value per channel")
cu.checks.check_raises(lambda: normalize(batch, [0.1, 0.2, 0.3], [0.5, 0.25]), ValueError,
                       "normalize of 3 channels with a std of 2 values",
                       hint="check that mean and std each hold exactly one value per channel")
### END HIDDEN TESTS
cu.checks.passed("normalize")

# %% [markdown]
# ## 3 · From colour to gray
#
# Write `rgb_to_gray(x)`:
#
# - `x` is a float RGB tensor of shape (3, H, W), or a batch (N, 3, H, W);
# - return the brightness Y = 0.299 R + 0.587 G + 0.114 B (the luma weights of
#   ITU-R Recommendation BT.601, which count green most because our eyes are most
#   sensitive to it), as a tensor of shape (1, H, W) or (N, 1, H, W): keep a
#   channel axis of size one, so the result is still an image;
# - if `x` does not have 3 channels, raise a `ValueError`.

# %% kind="solution" id="rgb_to_gray"
def rgb_to_gray(x):
    """float (3, H, W) or (N, 3, H, W) -> (1, H, W) or (N, 1, H, W) BT.601 luma."""
    ### BEGIN SOLUTION
    if x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"rgb_to_gray expects (3, H, W) or (N, 3, H, W); got shape {tuple(x.shape)}")
    r, g, b = x.unbind(dim=-3)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)
    ### END SOLUTION


# %% kind="tests" id="test_rgb_to_gray" points=2
primaries = torch.eye(3).view(3, 1, 3)  # one red, one green and one blue pixel in a row
cu.checks.check_shape(rgb_to_gray(primaries), (1, 1, 3), "rgb_to_gray(primaries).shape",
                      hint="keep a channel axis of size 1: (1, H, W)")
cu.checks.check_close(cu.restrictions.call_without(["torchvision.transforms.v2.functional.rgb_to_grayscale",
                                                   "torchvision.transforms.functional.rgb_to_grayscale"],
                                                  rgb_to_gray, primaries),
                      torch.tensor([[[0.299, 0.587, 0.114]]]), "rgb_to_gray(red, green, blue pixels)",
                      hint="weights 0.299 for red (channel 0), 0.587 for green, 0.114 for blue")
cu.checks.check_raises(lambda: rgb_to_gray(torch.zeros(4, 2, 2)), ValueError, "rgb_to_gray on 4 channels")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(3)
batch = torch.rand(2, 3, 5, 7, generator=gen)
cu.checks.check_close(rgb_to_gray(batch), TF.rgb_to_grayscale(batch), "rgb_to_gray on a batch", atol=1e-3,
                      hint="a batch (N, 3, H, W) gives (N, 1, H, W)")
photo = torch.from_numpy(cu.data.load_photo("coffee")[::8, ::8]).permute(2, 0, 1).float() / 255
cu.checks.check_close(rgb_to_gray(photo), TF.rgb_to_grayscale(photo), "rgb_to_gray on the coffee photo", atol=1e-3)
cu.checks.check_raises(lambda: rgb_to_gray(torch.zeros(1, 3, 3)), ValueError, "rgb_to_gray on 1 channel",
                       hint="raise a ValueError unless the channel axis (x.shape[-3]) has 3 entries")
### END HIDDEN TESTS
cu.checks.passed("rgb_to_gray")

# %% [markdown]
# ## 4 · Counting a dense layer's numbers
#
# A dense (fully connected) layer with `in_features` inputs and `out_features`
# outputs has one weight for every pair of an input and an output, plus, if
# `bias` is true, one bias per output. Write `dense_params(in_features,
# out_features, bias=True)` returning that count as a Python `int`, without
# building the layer (for a whole photo it would not fit in memory).

# %% kind="solution" id="dense_params"
def dense_params(in_features, out_features, bias=True):
    """Number of parameters of torch.nn.Linear(in_features, out_features, bias=bias), as an int."""
    ### BEGIN SOLUTION
    return int(in_features) * int(out_features) + (int(out_features) if bias else 0)
    ### END SOLUTION


# %% kind="tests" id="test_dense_params" points=2
cu.checks.check_equal(dense_params(3, 2), cu.models.count_params(torch.nn.Linear(3, 2)), "dense_params(3, 2)",
                      hint="3 x 2 weights plus 2 biases")
cu.checks.check_equal(dense_params(224 * 224 * 3, 1000), 150_529_000, "dense_params(150528, 1000)")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(dense_params(784, 10, bias=False), cu.models.count_params(torch.nn.Linear(784, 10, bias=False)),
                      "dense_params(784, 10, bias=False)", hint="without a bias there are only the weights")
cu.checks.check_equal(dense_params(150_528, 4096), 616_566_784, "dense_params(150528, 4096)")
cu.checks.check_equal(dense_params(1, 1), 2, "dense_params(1, 1)", hint="1 weight plus 1 bias")
layer_builders = ["torch.nn.Linear", "torch.nn.LazyLinear", "course_utils.models.count_params"]
cu.checks.check_equal(cu.restrictions.call_without(layer_builders, dense_params, 10, 3, False), 30, "dense_params(10, 3, False)",
                      hint="count with the formula, without building a layer: in_features x out_features, plus out_features if bias")
cu.checks.check_equal(cu.restrictions.call_without(layer_builders, dense_params, 7, 5), 40, "dense_params(7, 5)",
                      hint="count with the formula, without building a layer: in_features x out_features, plus out_features if bias")
### END HIDDEN TESTS
cu.checks.passed("dense_params")

# %% [markdown]
# ## 5 · Use your functions on a real photo
#
# Nothing to write here: run the cell. It prepares the cat photo with *your*
# functions, the way lesson 01 did, and counts the weights a dense layer on it
# would need. (It raises an error until your functions work.)

# %%
cat = to_tensor(cu.data.load_photo("cat"))
cat_norm = normalize(cat, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
cat_gray = rgb_to_gray(cat)
cu.show_images([cat, cat_gray], ["to_tensor(photo)", "rgb_to_gray(...)"], ncols=2, size=4,
               alt="The cat photo in colour and in gray, made by your to_tensor and rgb_to_gray.")
cat.shape, cat_norm.mean(dim=(1, 2)), cat_gray.shape, f"{dense_params(224 * 224 * 3, 1000):,} weights for 1,000 units"
