# %% [markdown]
# # Exercise 03 · Convolution and pooling
#
# In lesson 03 you computed a convolution with loops and with `unfold`, saw what
# stride, padding and pooling do, and followed receptive fields through a deep
# network. Now you write the four pieces yourself:
#
# 1. `conv2d` — a full 2-D convolution layer's arithmetic: batches, channels, filters, bias, stride and padding;
# 2. `max_pool2d` — max pooling;
# 3. `conv_output_size` — the output-size formula;
# 4. `receptive_field` — how many input pixels one unit of a stack of layers sees.
#
# At the end you run your `conv2d` with a Sobel kernel on the cat photo.
#
# Write your code where it says **YOUR CODE HERE**, then run the self-check cell
# below it. A ✓ means your function passed the checks you can see; your
# instructor's grader runs more (hidden) checks — other shapes, strides, paddings,
# dtypes — so make it right in general. Don't rename the functions or change their
# arguments, and run the whole notebook top to bottom (*Kernel → Restart and run
# all*) before you hand it in.

# %%
import torch
import torchvision
from torch.nn import functional as F

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · A convolution layer, by hand
#
# Write `conv2d(x, weight, bias=None, stride=1, padding=0)` that computes exactly
# what `torch.nn.functional.conv2d` computes:
#
# - `x`: a batch of images, shape (N, C, H, W);
# - `weight`: K filters, shape (K, C, kh, kw) — kernels need not be square;
# - `bias`: `None`, or a tensor of K numbers, one added to each output map;
# - `stride`, `padding`: whole numbers, the same for both axes; `padding` adds
#   that many rows and columns of zeros on every side;
# - return a tensor of shape (N, K, H_out, W_out), of the same dtype as `x`.
#
# Like PyTorch, do **not** flip the kernel (deep-learning "convolution" is
# cross-correlation). Don't call `F.conv2d`, `torch.conv2d`, `nn.Conv2d` or any
# other route to PyTorch's convolution (`F.conv3d`, `torch.ops.aten...`): the
# checks watch PyTorch's dispatcher and notice. Loops over output positions are fine (keep them to a few
# levels); `F.pad`, `Tensor.unfold` and `torch.einsum` make it fast.

# %% kind="solution" id="conv2d"
def conv2d(x, weight, bias=None, stride=1, padding=0):
    """(N, C, H, W) input, (K, C, kh, kw) filters, optional (K,) bias -> (N, K, H_out, W_out)."""
    ### BEGIN SOLUTION
    if padding:
        x = F.pad(x, (padding, padding, padding, padding))
    kh, kw = weight.shape[-2:]
    windows = x.unfold(2, kh, stride).unfold(3, kw, stride)  # (N, C, H_out, W_out, kh, kw)
    out = torch.einsum("ncijab,kcab->nkij", windows, weight.to(x.dtype))
    if bias is not None:
        out = out + bias.to(x.dtype).view(1, -1, 1, 1)
    return out
    ### END SOLUTION


# %% kind="tests" id="test_conv2d" points=4
x = torch.randn(1, 1, 5, 6, generator=torch.Generator().manual_seed(0))
w = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(1))
cu.checks.check_close(cu.restrictions.call_without(["aten.convolution", "aten._convolution", "aten.mkldnn_convolution",
                                                   "aten.convolution_backward", "torch.nn.functional.conv2d",
                                                   "torch.nn.Conv2d.forward"], conv2d, x, w),
                      F.conv2d(x, w), "conv2d(x, w) on one 5x6 image, one 3x3 filter",
                      hint="at each position (i, j): (x[:, :, i:i+3, j:j+3] * w).sum(); the output is (1, 1, 3, 4)")
edge = torch.tensor([[[[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]]]])  # an asymmetric kernel
cu.checks.check_close(conv2d(x, edge), F.conv2d(x, edge), "conv2d with an asymmetric kernel",
                      hint="don't flip the kernel: PyTorch's convolution is a cross-correlation")
cu.checks.check_shape(conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3), stride=2, padding=1), (1, 1, 4, 4),
                      "conv2d(7x7 image, 3x3 kernel, stride=2, padding=1).shape",
                      hint="pad first, then move the window by `stride` pixels: (7 + 2 - 3) // 2 + 1 = 4")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(2)
xb = torch.randn(2, 3, 6, 9, generator=gen)
wb = torch.randn(4, 3, 2, 3, generator=gen)
bb = torch.randn(4, generator=gen)
library_conv = ["torch.nn.Conv2d.forward", "torch.nn.functional.conv2d", "aten.convolution_backward",
                "aten.mkldnn_convolution", "aten._convolution", "aten.convolution"]  # every route to PyTorch's own
cu.checks.check_close(cu.restrictions.call_without(library_conv, conv2d, xb, wb, bb, stride=2, padding=1),
                      F.conv2d(xb, wb, bb, stride=2, padding=1),
                      "conv2d on 2 images, 3 channels, 4 non-square filters, bias, stride 2, padding 1", atol=1e-4,
                      hint="sum over all input channels; add bias[k] to output map k")
cu.checks.check_close(conv2d(xb, wb), F.conv2d(xb, wb), "conv2d with several channels and filters, no bias", atol=1e-4)
cu.checks.check_close(conv2d(xb, wb, bb), F.conv2d(xb, wb, bb), "conv2d with a bias", atol=1e-4)
x10 = torch.randn(1, 2, 10, 11, generator=gen)
w10 = torch.randn(3, 2, 3, 3, generator=gen)
cu.checks.check_close(conv2d(x10, w10, stride=3), F.conv2d(x10, w10, stride=3),
                      "conv2d with stride 3 on 10x11 (sizes that do not divide evenly)", atol=1e-4,
                      hint="the last window that fits starts at (size - k) // stride * stride")
cu.checks.check_close(conv2d(x10, w10, padding=2), F.conv2d(x10, w10, padding=2), "conv2d with padding 2", atol=1e-4)
cu.checks.check_close(conv2d(x10, torch.ones(1, 2, 10, 11)), F.conv2d(x10, torch.ones(1, 2, 10, 11)),
                      "conv2d with a kernel as large as the image", atol=1e-4)
x64, w64 = xb.double(), wb.double()
cu.checks.check_dtype(conv2d(x64, w64), torch.float64, "conv2d on float64 input", hint="don't convert to float32")
cu.checks.check_close(conv2d(x64, w64, bb.double(), stride=1, padding=1), F.conv2d(x64, w64, bb.double(), padding=1),
                      "conv2d on float64 input", atol=1e-10)
xt = torch.randn(2, 3, 9, 8, generator=torch.Generator().manual_seed(11)).transpose(-1, -2)  # (2, 3, 8, 9), not contiguous
cu.checks.check_close(conv2d(xt, wb, bb, stride=2, padding=1), F.conv2d(xt, wb, bb, stride=2, padding=1),
                      "conv2d on a transposed (non-contiguous) view", atol=1e-4,
                      hint="unfold or index the input; .view() needs contiguous memory")
### END HIDDEN TESTS
cu.checks.passed("conv2d")

# %% [markdown]
# ## 2 · Max pooling
#
# Write `max_pool2d(x, kernel_size, stride=None)` that computes what
# `F.max_pool2d(x, kernel_size, stride)` computes:
#
# - `x`: shape (N, C, H, W); each channel of each image is pooled on its own;
# - each output value is the maximum of a `kernel_size` × `kernel_size` window;
# - the window moves `stride` pixels at a time; `stride=None` means
#   `stride = kernel_size` (windows side by side, no overlap);
# - no padding: windows that would stick out past the border are dropped.
#
# Careful: feature maps can be negative. Don't call `F.max_pool2d` or `nn.MaxPool2d`.

# %% kind="solution" id="max_pool2d"
def max_pool2d(x, kernel_size, stride=None):
    """(N, C, H, W) -> (N, C, H_out, W_out): the maximum of each kernel_size x kernel_size window."""
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # (N, C, H_out, W_out, k, k)
    return windows.amax(dim=(-2, -1))
    ### END SOLUTION


# %% kind="tests" id="test_max_pool2d" points=3
fmap = torch.tensor([[[[1.0, 3.0, 0.0, 0.0],
                       [2.0, 9.0, 0.0, 1.0],
                       [0.0, 0.0, 4.0, 0.0],
                       [5.0, 0.0, 0.0, 2.0]]]])  # fmt: skip
cu.checks.check_close(cu.restrictions.call_without(["aten.max_pool2d_with_indices", "aten.max_pool2d", "aten.max_pool1d",
                                                   "aten.max_pool1d_with_indices", "aten.max_pool3d_with_indices",
                                                   "aten.adaptive_max_pool2d", "aten.adaptive_max_pool3d",
                                                   "aten.fractional_max_pool2d", "aten.mkldnn_max_pool2d",
                                                   "torch.nn.functional.max_pool2d", "torch.nn.MaxPool2d.forward"],
                                                  max_pool2d, fmap, 2),
                      torch.tensor([[[[9.0, 1.0], [5.0, 4.0]]]]), "max_pool2d(fmap, 2)",
                      hint="split the 4x4 map into four 2x2 windows and keep each window's largest value")
y = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(4))
cu.checks.check_close(max_pool2d(y, 3), F.max_pool2d(y, 3), "max_pool2d(y, 3) on two channels with negative values",
                      hint="start the maximum from the window's values, not from 0")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(5)
z = torch.randn(2, 3, 7, 9, generator=gen)
library_pool = ["torch.nn.MaxPool2d.forward", "torch.nn.functional.max_pool2d", "aten.mkldnn_max_pool2d",
                "aten.fractional_max_pool2d", "aten.adaptive_max_pool3d", "aten.adaptive_max_pool2d",
                "aten.max_pool3d_with_indices", "aten.max_pool1d_with_indices", "aten.max_pool1d", "aten.max_pool2d",
                "aten.max_pool2d_with_indices"]  # every route to PyTorch's own
cu.checks.check_close(cu.restrictions.call_without(library_pool, max_pool2d, z, 3, 2),
                      F.max_pool2d(z, 3, 2), "max_pool2d with overlapping windows (k=3, s=2)",
                      hint="with stride < kernel_size the windows overlap")
cu.checks.check_close(max_pool2d(z, 2), F.max_pool2d(z, 2), "max_pool2d(k=2) on 7x9 maps (sizes not divisible by 2)",
                      hint="drop windows that stick out past the border")
cu.checks.check_close(max_pool2d(z, 2, 1), F.max_pool2d(z, 2, 1), "max_pool2d with stride 1")
cu.checks.check_close(max_pool2d(-z.abs() - 1, 2), F.max_pool2d(-z.abs() - 1, 2), "max_pool2d on all-negative maps")
cu.checks.check_close(max_pool2d(z.double(), 3), F.max_pool2d(z.double(), 3), "max_pool2d on float64", atol=1e-12)
cu.checks.check_dtype(max_pool2d(z.double(), 3), torch.float64, "max_pool2d on float64")
### END HIDDEN TESTS
cu.checks.passed("max_pool2d")

# %% [markdown]
# ## 3 · The output size
#
# Write `conv_output_size(size, kernel_size, stride=1, padding=0)` returning, as a
# Python `int`, how many positions a window of `kernel_size` pixels takes along an
# axis of `size` pixels with that stride and padding (the same formula serves
# convolution and pooling). If the kernel does not fit even once in the padded
# axis, raise a `ValueError`.

# %% kind="solution" id="conv_output_size"
def conv_output_size(size, kernel_size, stride=1, padding=0):
    """Output length along one axis: floor((size + 2*padding - kernel_size) / stride) + 1."""
    ### BEGIN SOLUTION
    if kernel_size > size + 2 * padding:
        raise ValueError(f"a kernel of {kernel_size} does not fit in {size} pixels with padding {padding}")
    return (size + 2 * padding - kernel_size) // stride + 1
    ### END SOLUTION


# %% kind="tests" id="test_conv_output_size" points=2
cu.checks.check_equal(conv_output_size(7, 3), F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3)).shape[-1],
                      "conv_output_size(7, 3)", hint="with stride 1 and no padding: size - kernel_size + 1")
cu.checks.check_equal(conv_output_size(224, 11, stride=4, padding=2), 55, "conv_output_size(224, 11, 4, 2) (AlexNet's first layer)")
cu.checks.check_raises(lambda: conv_output_size(3, 5), ValueError, "conv_output_size(3, 5)")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(conv_output_size(8, 3, 2), F.conv2d(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 3, 3), stride=2).shape[-1],
                      "conv_output_size(8, 3, stride=2)", hint="round down: the leftover pixels are dropped")
cu.checks.check_equal(conv_output_size(7, 3, 2, 1), F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3), stride=2, padding=1).shape[-1],
                      "conv_output_size(7, 3, stride=2, padding=1)")
cu.checks.check_equal(conv_output_size(31, 5, 3, 2), F.conv2d(torch.zeros(1, 1, 31, 31), torch.zeros(1, 1, 5, 5), stride=3, padding=2).shape[-1],
                      "conv_output_size(31, 5, stride=3, padding=2)")
cu.checks.check_equal(conv_output_size(10, 10), 1, "conv_output_size(10, 10)", hint="a kernel as large as the input fits once")
cu.checks.check_equal(conv_output_size(1, 3, 1, 1), 1, "conv_output_size(1, 3, padding=1)")
cu.checks.check_equal(conv_output_size(13, 2, 2), F.max_pool2d(torch.zeros(1, 1, 13, 13), 2).shape[-1],
                      "conv_output_size(13, 2, stride=2) (a 2x2 pooling)")
cu.checks.check_equal(conv_output_size(224, 7, 2, 3), 112, "conv_output_size(224, 7, 2, 3)")
cu.checks.check_raises(lambda: conv_output_size(4, 7, 1, 1), ValueError, "conv_output_size(4, 7, padding=1)")
### END HIDDEN TESTS
cu.checks.passed("conv_output_size")

# %% [markdown]
# ## 4 · The receptive field of a stack of layers
#
# Describe a stack of layers as a list of `(kernel_size, stride)` pairs, first
# layer first; a pooling layer is a pair like any other (padding does not change
# the receptive field). Write `receptive_field(layers)` returning, as an `int`,
# the side in input pixels of the square region that one unit of the **last**
# layer depends on. An empty stack sees 1 pixel. Use the recurrence from lesson 03:
# keep the field `r` and the jump `j` (input pixels between neighbouring units),
# both starting at 1.
#
# The checks compare your answer with a brute-force measurement
# (`cu.convolution.receptive_field_bruteforce`, which builds the stack and asks
# autograd which pixels matter).

# %% kind="solution" id="receptive_field"
def receptive_field(layers):
    """Receptive field (pixels per side) of the last layer of a [(kernel_size, stride), ...] stack."""
    ### BEGIN SOLUTION
    r, j = 1, 1
    for k, s in layers:
        r, j = r + (k - 1) * j, j * s
    return r
    ### END SOLUTION


# %% kind="tests" id="test_receptive_field" points=3
cu.checks.check_equal(receptive_field([]), 1, "receptive_field([])", hint="no layers: a unit is one pixel")
cu.checks.check_equal(receptive_field([(3, 1)]), 3, "receptive_field([(3, 1)])")
cu.checks.check_equal(receptive_field([(3, 1), (3, 1)]), cu.convolution.receptive_field_bruteforce([(3, 1), (3, 1)]),
                      "receptive_field of two 3x3 convolutions", hint="each 3x3 layer adds 2 x jump pixels")
cu.checks.check_equal(receptive_field([(3, 1), (2, 2), (3, 1)]), cu.convolution.receptive_field_bruteforce([(3, 1), (2, 2), (3, 1)]),
                      "receptive_field of conv, 2x2 pool, conv", hint="after a stride-2 layer, each step of the next layer covers 2 pixels")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(receptive_field([(3, 2), (3, 1)]), cu.convolution.receptive_field_bruteforce([(3, 2), (3, 1)]),
                      "receptive_field([(3, 2), (3, 1)])", hint="the order of the layers matters")
cu.checks.check_equal(receptive_field([(3, 1), (3, 2)]), cu.convolution.receptive_field_bruteforce([(3, 1), (3, 2)]),
                      "receptive_field([(3, 1), (3, 2)])", hint="a stride only affects the layers after it")
cu.checks.check_equal(receptive_field([(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]),
                      cu.convolution.receptive_field_bruteforce([(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]),
                      "receptive_field of AlexNet's convolutions and poolings", hint="strides multiply")
cu.checks.check_equal(receptive_field([(3, 1), (3, 1), (2, 2)] * 2 + [(3, 1), (3, 1), (3, 1), (2, 2)] * 3),
                      cu.convolution.receptive_field_bruteforce([(3, 1), (3, 1), (2, 2)] * 2 + [(3, 1), (3, 1), (3, 1), (2, 2)] * 3),
                      "receptive_field of VGG-16", hint="the jump doubles after each pooling")
cu.checks.check_equal(receptive_field([(7, 2), (3, 2), (3, 1), (3, 1)]), cu.convolution.receptive_field_bruteforce([(7, 2), (3, 2), (3, 1), (3, 1)]),
                      "receptive_field of a ResNet-style stem")
cu.checks.check_equal(receptive_field([(1, 1), (1, 2), (5, 3)]), cu.convolution.receptive_field_bruteforce([(1, 1), (1, 2), (5, 3)]),
                      "receptive_field with 1x1 layers")
cu.checks.check_equal(receptive_field(((3, 1), (3, 1))), 5, "receptive_field of a tuple of layers")
### END HIDDEN TESTS
cu.checks.passed("receptive_field")

# %% [markdown]
# ## 5 · Your convolution on a real photo
#
# Nothing to write here: run the cells. Your `conv2d` runs the two Sobel kernels of
# lesson 03 over the cat photo (one call, two filters), and your `max_pool2d`
# shrinks the edge map twice. (They raise an error until your functions work.)

# %%
gray = cu.convolution.gray(cu.data.load_photo("cat"))[None, None]  # (1, 1, 300, 451)
sobel = torch.stack([cu.convolution.kernel("Sobel x (vertical edges)"), cu.convolution.kernel("Sobel y (horizontal edges)")])
edges = conv2d(gray, sobel[:, None], padding=1)  # (1, 2, 300, 451): one map per kernel
strength = edges.pow(2).sum(dim=1, keepdim=True).sqrt()
pooled = max_pool2d(max_pool2d(strength, 2), 2)
cu.show_images([gray[0, 0], strength[0, 0] / strength.max(), pooled[0, 0] / pooled.max()],
               ["the cat, gray", "your conv2d: Sobel edge strength", "your max_pool2d, twice"], ncols=3, size=3.6,
               alt="The gray cat photo, its Sobel edge strength computed with your conv2d, and the edge map after two "
                   "rounds of your 2 by 2 max pooling.")
edges.shape, pooled.shape, (conv_output_size(300, 3, 1, 1), conv_output_size(conv_output_size(300, 2, 2), 2, 2))

# %% [markdown]
# Finally, your `receptive_field` on the real VGG-16 from torchvision (built on the
# `meta` device: shapes only, no weights), next to the brute-force measurement:

# %%
with torch.device("meta"):
    vgg16 = torchvision.models.vgg16(weights=None)
layers = [(k, s) for _, k, s in cu.convolution.conv_layers(vgg16)]
receptive_field(layers), cu.convolution.receptive_field_bruteforce(layers)
