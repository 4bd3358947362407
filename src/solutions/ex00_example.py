# %% [markdown]
# # Exercise 00 · How exercises work
#
# This tiny exercise shows the mechanics every graded exercise in the course
# uses. You write code in cells marked **YOUR CODE HERE**, then run the
# self-check cell below it: a ✓ means your answer passed the checks you can
# see. When your instructor grades the notebook, more (hidden) checks run on the
# same functions, so make your code correct in general, not just for the
# examples shown.
#
# - Don't rename the functions or change their arguments.
# - Don't delete or copy the self-check cells (they are how you get points).
# - Run the notebook top to bottom (*Kernel → Restart and run all*) before you hand it in.

# %%
import torch

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · Scale pixels to [0, 1]
#
# Write `scale_pixels(x)`: it takes a tensor of 8-bit pixel values (`torch.uint8`,
# any shape, values 0–255) and returns a `torch.float32` tensor of the same shape
# with values in [0, 1] (0 stays 0, 255 becomes 1).

# %% kind="solution" id="scale_pixels"
def scale_pixels(x: torch.Tensor) -> torch.Tensor:
    """uint8 tensor of any shape -> float32 tensor of the same shape in [0, 1]."""
    ### BEGIN SOLUTION
    return x.to(torch.float32) / 255
    ### END SOLUTION


# %% kind="tests" id="test_scale_pixels" points=2
x = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
cu.checks.check_dtype(scale_pixels(x), torch.float32, "scale_pixels(x)")
cu.checks.check_close(scale_pixels(x), torch.tensor([[0.0, 0.2, 1.0]]), "scale_pixels(x)",
                      hint="divide by 255, after converting to float (integer division loses everything)")
### BEGIN HIDDEN TESTS
big = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
cu.checks.check_close(scale_pixels(big), big.float() / 255, "scale_pixels on a batch")
cu.checks.check_equal(big, torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
                      "the input after scale_pixels", hint="do not modify the input in place")
### END HIDDEN TESTS
cu.checks.passed("scale_pixels")

# %% [markdown]
# ## 2 · In your own words
#
# Why do we scale pixel values to a small range such as [0, 1] before training a
# network? Two or three sentences.

# %% [markdown] kind="written" id="q_why_scale" points=1
# Networks start with small random weights and learning rates tuned for inputs of
# order one; raw values up to 255 make activations and gradients hundreds of times
# larger, so training is unstable or needs a different learning rate.
