# %% [markdown]
# # 09 · Beyond one machine: data-parallel training
#
# AlexNet trained for five to six days on two GPUs (Krizhevsky et al. 2012,
# Sec. 1); the networks that followed were trained on many. When one device is
# not enough, PyTorch's own engine, `torch.distributed`, runs the same training
# script in several processes, from two on a laptop to thousands on a cluster.
# We use that real engine here, on this CPU: two processes talking over the
# machine's loopback network with the `gloo` backend. What the lesson says
# about this run is measured in it; what comes from papers and data sheets
# carries its source.
#
# **In this lesson you will**
# 1. start two worker processes from the notebook, give each its own shard of the data, and see the process group they form;
# 2. check that data-parallel training (DDP) on two processes ends with the same weights as one process on a batch twice as big — and write the gradient averaging by hand;
# 3. measure what communication costs, fit a small model of it, and predict where adding GPUs stops paying;
# 4. see why a bigger batch needs a bigger learning rate (the linear scaling rule with warm-up), and when that breaks;
# 5. contrast data parallelism with AlexNet's split over two GPUs, which was model parallelism.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests), worker
# processes included. No GPU, no internet.

# %%
import inspect

import torch
import torch.nn.functional as F
import torchvision
from IPython.display import Markdown, display
from torch import nn
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · Two processes, one process group
#
# Data parallelism keeps a full copy of the model in every **process** (one per
# GPU, usually). Each process reads a different part of the data, computes
# gradients on it, and then all processes average their gradients, so every
# copy takes the same step. The processes find each other through a **process
# group**: each has a **rank** (0, 1, …) and knows the **world size** (how many
# there are). The **backend** moves the numbers: `nccl` between NVIDIA GPUs,
# `gloo` between CPU processes, which is what we have.
#
# A notebook cannot simply fork itself into workers, so `cu.distributed.launch`
# starts fresh Python processes (the `spawn` method, which works in Jupyter and
# Colab), gives each one CPU thread, points them at 127.0.0.1 on a free port,
# and forms the group. The function each worker runs must live in an importable
# module: a new process cannot read a function defined in a notebook cell. Here
# is the first worker.

# %%
print(inspect.getsource(cu.distributed.shard_worker))

# %% [markdown]
# `DistributedSampler` decides who reads what. We give the two workers 11
# samples, an odd number on purpose.

# %%
shards = cu.distributed.launch(cu.distributed.shard_worker, 2, 11)
for s in shards:
    print(f"rank {s['rank']} of {s['world_size']} ({s['backend']}): samples {s['indices']}; "
          f"all-reduced sum of rank + 1 = {s['rank_sum']:g}")
reference = [list(DistributedSampler(range(11), num_replicas=2, rank=r, shuffle=False)) for r in range(2)]
cu.expect([s["indices"] for s in shards] == reference, "each worker gets the shard DistributedSampler gives", measured=str(shards))
cu.expect(all(s["rank_sum"] == 3 for s in shards), "both workers hold the sum 1 + 2 = 3", measured=str(shards))
cu.expect(shards[0]["indices"] == [0, 2, 4, 6, 8, 10] and shards[1]["indices"] == [1, 3, 5, 7, 9, 0],
          "rank 0 reads the even positions, rank 1 the odd ones, and sample 0 is read twice", measured=str(shards))
f"both workers read {len(shards[0]['indices'])} samples; together {sum(len(s['indices']) for s in shards)} for 11 samples"

# %% [markdown]
# Rank 0 reads the even positions, rank 1 the odd ones: every second sample,
# starting at its rank. Both must take the same number of steps (otherwise one
# would wait forever for the other's gradients), so the sampler **pads** the
# order by repeating its start: sample 0 is read twice per epoch. With
# `shuffle=True` it shuffles first, with a seed that every process shares, so
# the shards still do not overlap. The `all_reduce` at the end summed one number
# from each process and gave every process the result: that is the operation
# that averages gradients.
#
# ## 2 · DDP equals one big batch — checked
#
# Each process computes the mean loss over its own batch of b images. If the
# gradients of the two processes are averaged, the step is the gradient of the
# mean loss over all 2b images: the step one process would take on a batch of
# 2b. `DistributedDataParallel` (DDP) does that averaging for us during
# `backward()`. The worker below trains a small CNN twice on the digits: once
# wrapped in DDP, once with the averaging written by hand (`dist.all_reduce` on
# each gradient, then a division by the world size). We then train the same
# network in this notebook, one process, on batches of 2b.

# %%
print(inspect.getsource(cu.distributed.train_worker).split('"""')[2])

# %%
digits = cu.data.load("digits", source="mnist5k")
x_train, y_train = cu.data.to_tensors(digits["train"])
x_test, y_test = cu.data.to_tensors(digits["test"])
b, steps, lr = 32, 20, 0.05
pick = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))[: 2 * b * steps]  # the file is sorted by label
x_small, y_small = x_train[pick], y_train[pick]  # exactly enough for 20 steps of 2b
workers = cu.distributed.launch(cu.distributed.train_worker, 2, x_small, y_small, b, steps, lr)
single = cu.distributed.single_process_training(x_small, y_small, 2 * b, steps, lr)
f"{steps} steps each: 2 processes x batch {b} with DDP, then by hand; 1 process x batch {2 * b}"

# %%
def largest_difference(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


torch.manual_seed(0)  # the seed every training above started from
start = cu.distributed.tiny_cnn().state_dict()
differences = {
    "DDP rank 0 vs DDP rank 1": largest_difference(workers[0]["ddp"], workers[1]["ddp"]),
    "DDP vs by hand": largest_difference(workers[0]["ddp"], workers[0]["manual"]),
    f"DDP vs one process on batch {2 * b}": largest_difference(workers[0]["ddp"], single["state"]),
    "how far training moved the weights": largest_difference(single["state"], start),
}
cu.expect(differences["DDP rank 0 vs DDP rank 1"] == 0, "the two copies are identical", measured=str(differences))
cu.expect(not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in cu.distributed.tiny_cnn().modules()),
          "Our small CNN has no batch norm.")
cu.expect(max(list(differences.values())[1:3]) < 1e-4 < differences["how far training moved the weights"], "the three trainings agree to float precision, while training moved the weights", measured=str(differences))
{k: f"{v:.2g}" for k, v in differences.items()}

# %% [markdown]
# The two DDP copies are bit-for-bit identical: they started from the same
# weights (DDP copies rank 0's weights to every process at the start) and took
# the same averaged steps. DDP, the hand-written averaging and one process on
# the double batch agree to better than 10⁻⁴ (the printed differences), the
# rounding of float32 arithmetic done in a different order, while training
# moved the weights by the last number. So data parallelism changes *where* a batch is computed, not what
# the optimizer sees. One caveat: a layer that computes statistics over the
# batch, batch normalisation, sees only the local b images in each process;
# `nn.SyncBatchNorm` shares them. Our small CNN has no batch norm.
#
# ## 3 · What communication costs
#
# In the hand-written version every gradient went through `dist.all_reduce`.
# The libraries do it with a **ring all-reduce** (Patarasuk & Yuan 2009,
# *Bandwidth optimal all-reduce algorithms for clusters of workstations*, J.
# Parallel Distrib. Comput. 69(2)): the N workers stand in a ring and cut the
# gradients into N chunks. In N − 1 steps each worker passes one chunk to its
# neighbour, who adds it to its own (*reduce-scatter*); then each worker owns
# one complete sum. In N − 1 more steps the complete chunks travel round the
# ring (*all-gather*). Each worker sends 2(N − 1) chunks of 1/N of the
# gradients: 2(N − 1)/N times the gradient bytes, which is below twice the
# model's size however many workers there are.

# %%
{n: f"{2 * (n - 1) / n:.3f} x the gradient bytes per worker" for n in (2, 4, 8, 64, 1024)}

# %% [markdown]
# The time of one all-reduce then has two parts: the bytes divided by the
# link's bandwidth, and a fixed **latency** paid at each of the 2(N − 1) steps.
# We measure both on this machine by timing `dist.all_reduce` on tensors of
# 1 thousand to 4 million numbers between the two processes, and fit that
# model.

# %%
sizes = [1_000, 10_000, 100_000, 1_000_000, 4_000_000]
timings = cu.distributed.launch(cu.distributed.allreduce_worker, 2, sizes)
seconds = [max(t0, t1) for t0, t1 in zip(*timings)]
latency, bandwidth = cu.distributed.fit_link([4 * s for s in sizes], seconds, 2)
for size, t in zip(sizes, seconds):
    print(f"{size:>9,} float32 ({4 * size / 1e6:6.3f} MB): {t * 1e3:7.2f} ms")
f"fitted link between our two processes: {bandwidth:.2f} GB/s, latency {latency * 1e6:.0f} µs per step"

# %% [markdown]
# Now the speed-up two processes buy. Section 2 timed the two DDP processes
# (one core each, batches of 32) and one process in this notebook (batches of
# 64, using every core through threads). For a fair count of what the second
# core adds, we also run the same DDP worker as a group of **one** process
# with one thread, on batches of 64.

# %%
alone = cu.distributed.launch(cu.distributed.train_worker, 1, x_small, y_small, 2 * b, steps, lr)[0]
cu.expect(largest_difference(alone["ddp"], single["state"]) < 1e-4, "a group of one process trains like no group at all", measured=f"{largest_difference(alone['ddp'], single['state']):.2g}")
threads = torch.get_num_threads()
ddp_step, single_step, one_core_step = workers[0]["ddp_seconds_per_step"], single["seconds_per_step"], alone["ddp_seconds_per_step"]
compute, comm = workers[0]["compute_seconds_per_step"], workers[0]["comm_seconds_per_step"]
params = sum(p.numel() for p in cu.distributed.tiny_cnn().parameters())
tensors = len(list(cu.distributed.tiny_cnn().parameters()))  # one all-reduce per gradient tensor
predicted = cu.distributed.step_seconds(compute, params, 2, bandwidth, latency_s=latency * tensors)
bytes_time = cu.distributed.ring_allreduce_seconds(params, 2, bandwidth)
speedup, speedup_threads = one_core_step / ddp_step, single_step / ddp_step
print(f"one process, 1 thread, batch {2 * b}: {one_core_step * 1e3:.1f} ms per step")
print(f"one process, {threads} thread(s), batch {2 * b}: {single_step * 1e3:.1f} ms per step")
print(f"two processes, 1 thread each, batch {b} each: {ddp_step * 1e3:.1f} ms per step (DDP)")
print(f"by hand: compute {compute * 1e3:.1f} ms + all-reduce {comm * 1e3:.1f} ms per step; "
      f"the fitted model predicts {predicted * 1e3:.1f} ms, {predicted / ddp_step:.2f}x the DDP step measured above")
f"two processes: {speedup:.2f}x the speed of one process on one core, {speedup_threads:.2f}x one process on {threads} threads (ideal: 2x)"

# %%
share = comm / (compute + comm)
verdict = ("little or no speed-up" if speedup < 1.3 else
           "some speed-up, short of the ideal 2x" if speedup < 1.8 else "nearly the ideal 2x")
threads_said = (f"one process spreading each operation over {threads} threads took {speedup_threads:.2f} times "
                f"the two processes' step time: threads share out the same cores, with no all-reduce but with a "
                f"wait at the end of every operation")
limit = ("And communication is what limits the two processes." if share >= 0.5 else
         "Communication takes a large share of each step." if share >= 0.2 else "Communication is a small part of each step.")
text = (f"Against one process on one core, the second process gave **{verdict}** ({speedup:.2f}x). "
        f"There are only {threads} cores, so the most a second process can do is use the core the first left "
        f"idle ({threads_said}). {limit} Our "
        f"network has only {params:,} parameters, so each step computes for {compute * 1e3:.1f} ms and then "
        f"spends {comm * 1e3:.1f} ms ({share:.0%} of the step) in all-reduce calls, "
        f"{'nearly all' if bytes_time < comm / 10 else 'most'} of it the fixed "
        f"cost of {tensors} all-reduce calls of 2 ring steps each: moving the bytes alone would take "
        f"{bytes_time * 1e3:.2f} ms at the fitted bandwidth.")
cu.expect(params < 10_000 and bytes_time < comm / 2, "the all-reduce time is mostly latency, not bytes", measured=f"{params=}, bytes {bytes_time * 1e3:.3f} ms, all-reduce {comm * 1e3:.3f} ms")
display(Markdown(text))

# %% [markdown]
# The cost model explains the rest. On real hardware each worker computes its
# step on its own GPU, the compute time stays the same as workers are added
# (each keeps its batch: the global batch grows), and the all-reduce adds
# 2(N − 1)/N × bytes / bandwidth plus the latencies. We take ResNet-50 (He et
# al. 2016), whose 25.6 million parameters we count (torchvision's
# documentation lists 25,557,032), and two kinds of link: NVLink inside a server, 900 GB/s in total
# per H100 GPU, 450 GB/s each way (NVIDIA H100 Tensor Core GPU datasheet), and
# InfiniBand NDR between servers, 400 Gb/s = 50 GB/s per port (NVIDIA
# ConnectX-7 product brief).

# %%
resnet50_params = sum(p.numel() for p in torchvision.models.resnet50(weights=None).parameters())
cu.expect(round(resnet50_params / 1e6, 1) == 25.6, "ResNet-50 has 25.6 million parameters", measured=f"{resnet50_params:,}")
links = {"NVLink (H100, one direction)": 450.0, "InfiniBand NDR": 50.0, "this machine (fitted)": bandwidth}
ring_ms = {name: {n: cu.distributed.ring_allreduce_seconds(resnet50_params, n, bw) * 1e3 for n in (2, 8, 64, 512)}
           for name, bw in links.items()}
nvlink, infiniband = ring_ms["NVLink (H100, one direction)"], ring_ms["InfiniBand NDR"]
cu.expect(round(nvlink[64], 1) == 0.4 and round(infiniband[64]) == 4, "about 0.4 ms on NVLink and 4 ms on InfiniBand", measured=str(ring_ms))
cu.expect(all(0.85 < row[n] / row[64] < 1.15 for row in (nvlink, infiniband) for n in (8, 512)), "nearly the same at 8 or 512 workers", measured=str(ring_ms))
{name: {n: f"{ms:.2f} ms" for n, ms in row.items()} for name, row in ring_ms.items()}

# %% [markdown]
# At 64 workers ResNet-50's all-reduce costs about 0.4 ms on NVLink and 4 ms on
# InfiniBand, and nearly the same at 8 or 512: the ring keeps every link busy. Whether
# that matters depends on the compute per step, which we did not measure on a
# GPU, so the explorer below makes it a slider. With the **same batch per
# worker** the step time barely grows with N and the speed-up stays close to
# ideal while compute dominates. With the **same global batch split N ways**
# each worker's compute shrinks as 1/N while the all-reduce does not, so the
# speed-up flattens once compute/N falls to the all-reduce time: that is where
# adding GPUs stops paying. Latency grows with the 2(N − 1) ring steps: at
# large N it even turns that curve down. Real libraries also overlap the
# all-reduce with the backward pass (DDP sends gradients in buckets as soon as
# they are ready; Li et al., *PyTorch Distributed: Experiences on Accelerating
# Data Parallel Training*, VLDB 2020), which this model leaves out.

# %%
widget = cu.widgets.scaling_explorer(num_params=resnet50_params, bandwidth_gb_per_s=50.0, compute_ms=100.0,
                                     latency_us=10.0, max_workers=256)

# %%
n_workers = [8, 64, 256]
growing = cu.distributed.scaling_curve(0.1, resnet50_params, 50.0, n_workers, latency_s=1e-5)
fixed_batch = cu.distributed.scaling_curve(0.1, resnet50_params, 50.0, n_workers, latency_s=1e-5,
                                           fixed_global_batch=True)
no_latency = cu.distributed.scaling_curve(0.1, resnet50_params, 50.0, n_workers, fixed_global_batch=True)
allreduce = [cu.distributed.ring_allreduce_seconds(resnet50_params, n, 50.0, latency_s=1e-5) for n in n_workers]
cu.expect(all(growing / n_workers > 0.9), "same batch per worker: the speed-up stays close to ideal", growing=growing)
cu.expect(0.1 / 8 > allreduce[0] and fixed_batch[0] > 0.7 * 8 and 0.1 / 64 < allreduce[1] and fixed_batch[1] < 0.3 * 64,
          "same global batch: the speed-up flattens once compute/N falls to the all-reduce time",
          speedup=fixed_batch, allreduce_ms=[1e3 * t for t in allreduce])
cu.expect(fixed_batch[2] < fixed_batch[1] and no_latency[2] > no_latency[1],
          "latency turns the same-global-batch curve down at large N", with_latency=fixed_batch, without=no_latency)
f"100 ms of compute, 50 GB/s: same global batch {fixed_batch.round(1).tolist()}x, growing batch " \
    f"{growing.round(1).tolist()}x on {n_workers} workers; one all-reduce takes " \
    f"{', '.join(f'{1e3 * t:.1f}' for t in allreduce)} ms"

# %% [markdown]
# ## 4 · A bigger batch needs a bigger learning rate
#
# Section 2 showed that N workers with batch b take exactly the steps of one
# worker with batch N·b. So the batch-size question is a single-process
# question, and we study it on this CPU without processes. A bigger batch
# averages more gradients: a less noisy step, but fewer steps per epoch. Goyal
# et al. (2017, *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour*,
# arXiv:1706.02677) trained ResNet-50 on batches of 8,192 on 256 GPUs in one
# hour with the same accuracy as batches of 256 by two rules: multiply the
# learning rate by k when the batch grows k times (the **linear scaling rule**),
# and **warm up**, raising the rate gradually over the first five epochs,
# because at the start the weights change too fast for one big step to stand in
# for k small ones. Beyond 8k images per batch their accuracy fell.
#
# We train a small two-layer network on the 4,000 training digits for three
# epochs, with a base recipe of batch 32 at learning rate 0.01, then batches
# 8, 32 and 125 times larger, and once more at batch 256 with the scaled rate
# but no warm-up, to see what the warm-up alone does.

# %%
def lr_schedule(base_lr, base_batch, batch, warmup_steps):
    """The linear scaling rule with linear warm-up from base_lr (you write it in the exercise)."""
    target = base_lr * batch / base_batch
    return lambda k: target if k >= warmup_steps else base_lr + (target - base_lr) * k / warmup_steps


def train_mlp(batch, lr_at, epochs=3):
    """Accuracy on the test digits after `epochs` of SGD with momentum, lr_at(step) at each step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr_at(0), momentum=0.9)
    order, step = torch.Generator().manual_seed(0), 0
    for _ in range(epochs):
        for idx in torch.randperm(len(x_train), generator=order).split(batch):
            optimizer.param_groups[0]["lr"] = lr_at(step)
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).float().mean().item(), step

# %%
runs = {
    "batch 32, lr 0.01 (the recipe)": (32, lambda k: 0.01),
    "batch 256, lr 0.01 (not scaled)": (256, lambda k: 0.01),
    "batch 256, lr 0.08 (scaled, warm-up)": (256, lr_schedule(0.01, 32, 256, 10)),
    "batch 1024, lr 0.32 (scaled, warm-up)": (1024, lr_schedule(0.01, 32, 1024, 4)),
    "batch 4000, lr 1.25 (scaled, 1 step per epoch)": (4000, lr_schedule(0.01, 32, 4000, 1)),
    "batch 256, lr 0.08 (scaled, no warm-up)": (256, lambda k: 0.08),
}
results = {name: train_mlp(batch, lr_at) for name, (batch, lr_at) in tqdm(runs.items(), desc="six trainings")}
for name, (acc, n_steps) in results.items():
    print(f"{name:48s} {n_steps:4d} steps  test accuracy {acc:.1%}")

# %%
acc = {name: a for name, (a, _) in results.items()}
base, unscaled, scaled, bigger, whole, cold = acc.values()
cu.expect(scaled > unscaled + 0.03 and scaled - unscaled > (base - unscaled) / 2,
          "scaling the rate recovers most of the accuracy lost to the bigger batch", measured=str(acc))
cu.expect(whole < scaled - 0.05 and bigger < scaled, "the rule breaks when too few steps remain", measured=str(acc))
display(Markdown(
    f"At batch 256 the unscaled rate reached {unscaled:.1%} against the recipe's {base:.1%}: eight times fewer "
    f"steps of the same size. Scaling the rate to 0.08 brought it to {scaled:.1%}. At batch 1024 the scaled "
    f"rule gave {bigger:.1%}, and with the whole training set as one batch (three steps in all) {whole:.1%}: "
    f"the rule assumes many steps, each small enough that one big step can replace k small ones, and here "
    f"neither holds. Where it breaks depends on the problem: for ResNet-50 on ImageNet, beyond about 8k.\n\n"
    f"The warm-up, on its own: the same scaled rate at batch 256 without it reached {cold:.1%}, "
    + ("about the same as with it (within half a point): on a network this small and shallow the first large "
       "steps do no lasting harm. " if abs(cold - scaled) <= 0.005 else
       f"{abs(cold - scaled) * 100:.1f} points {'below' if cold < scaled else 'above'} the run with it. ")
    + "Goyal et al. needed it for ResNet-50 at batch 8k: at that size the scaled rate alone ran into trouble in "
      "the first epochs, and their gradual warm-up, a rate raised step by step over the first five epochs, is "
      "what let the large batch match the small batch's accuracy (their abstract and Sec. 2.2)."))

# %% [markdown]
# ## 5 · AlexNet's split was model parallelism
#
# Lesson 06 built the 2012 AlexNet the way it was spread over two GPUs: half of
# every layer's filters on each card, the halves meeting only at layer 3 and at
# the dense layers (Krizhevsky et al. 2012, Sec. 3.2). That is **model
# parallelism**: each GPU holds part of the *model* and sees *all* the images,
# and what travels between the cards is activations at the layers that read
# both halves (and their gradients on the way back). Data parallelism is the
# opposite: each GPU holds all of the model and part of the images, and what
# travels is the gradient of every weight. We count both for one step of the
# paper's batch of 128 images (Sec. 5).

# %%
alexnet = cu.imagenet.alexnet_2012()
crossing = {}  # activations that layers on both GPUs read: inputs of conv3, fc6, fc7, fc8
hooks = [getattr(alexnet, name).register_forward_hook(lambda m, i, out, name=name: crossing.__setitem__(name, out[0].numel()))
         for name in ("pool2", "flatten", "relu6", "relu7")]
with torch.no_grad():
    alexnet(torch.zeros(1, 3, 227, 227))
for hook in hooks:
    hook.remove()
weights = sum(p.numel() for p in alexnet.parameters())
model_parallel = 2 * 128 * sum(crossing.values()) / 2 * 4  # each GPU sends its half, forward and backward
data_parallel = 2 * (2 - 1) / 2 * weights * 4               # ring all-reduce among 2 GPUs, per GPU
print(f"values each layer passes on (one image): {crossing}")
f"per GPU and step: model parallel sends {model_parallel / 1e6:.0f} MB and holds {weights / 2 / 1e6:.1f} M weights; " \
    f"data parallel sends {data_parallel / 1e6:.0f} MB and holds {weights / 1e6:.1f} M"

# %%
dense = sum(p.numel() for name in ("fc6", "fc7", "fc8") for p in getattr(alexnet, name).parameters())
cu.expect(model_parallel < data_parallel / 4 and dense > weights / 2, "model parallelism sent several times fewer "
        "bytes for AlexNet, because most weights sit in the dense layers", measured=f"{model_parallel=}, {data_parallel=}, {dense=}")
display(Markdown(
    f"For AlexNet the split was the cheaper choice on both counts: each card held half of the "
    f"{weights / 1e6:.0f} million weights (one 3 GB card limited the network's size, lesson 06), and "
    f"it sent {data_parallel / model_parallel:.0f} times fewer bytes than averaging all gradients would have, "
    f"because most weights ({dense / weights:.0%}) sit in the dense layers while the activations between the "
    f"halves are small. "
    f"Model parallelism has a price: the halves wait for each other at every crossing, and the split has to "
    f"be designed by hand for each network. Data parallelism needs no change to the model, which is why it "
    f"is the default; when the model does not fit one GPU, today's tools shard it instead "
    f"(PyTorch's FSDP keeps 1/N of the weights, gradients and optimizer state in each process)."))

# %% [markdown]
# ## 6 · Taking it further: the same script on a cluster
#
# `cu.distributed.launch` is for notebooks. Real training is a script started
# by **`torchrun`**, which starts one process per GPU, sets `RANK`,
# `WORLD_SIZE`, `MASTER_ADDR` and `MASTER_PORT` for each, and restarts them if
# one fails. The course repository has one: `scripts/train_ddp.py` trains the
# same small CNN with DDP and `DistributedSampler`, and the test suite runs it
# with two local processes.
#
# ```bash
# # one machine, 2 processes (CPU: gloo; with GPUs use one process per GPU)
# torchrun --nproc-per-node 2 scripts/train_ddp.py --epochs 1
# # two machines with 8 GPUs each: run this on both, with the first machine's address
# torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint node0.example:29500 \
#     --rdzv-id run42 scripts/train_ddp.py
# # a Slurm cluster: scripts/slurm_ddp.sbatch runs the line above on every node it gets
# sbatch scripts/slurm_ddp.sbatch
# ```
#
# The script itself does not change between these: it reads its rank from the
# environment, moves the model to its own GPU, wraps it in DDP and gives its
# sampler `set_epoch(epoch)` so each epoch is shuffled differently. On
# Kubernetes, the Kubeflow training operator starts the same `torchrun`
# command in each pod.
#
# ## Summary
#
# - Data parallelism runs one copy of the model per process; a
#   `DistributedSampler` gives each its own shard (padded so all take the same
#   number of steps), and an **all-reduce** averages the gradients so all copies
#   stay identical.
# - DDP on N processes with batch b takes the same steps as one process with
#   batch N·b: we checked it to float precision, and against averaging by hand.
# - A ring all-reduce sends 2(N − 1)/N times the gradient bytes per worker, plus
#   a latency per step. It pays when compute per step dominates. On this 2-core
#   machine a second process can at best use the core the first left idle, and
#   every step pays for the all-reduce; section 3 printed how much speed-up was
#   left. On GPUs with fast links it pays, until the global batch is split so
#   thin that compute falls to the all-reduce time.
# - A bigger global batch needs a proportionally bigger learning rate (here
#   that recovered most of the lost accuracy); deep networks at very large
#   batches also need it warmed up (Goyal et al. 2017); the rule fails when
#   too few steps remain.
# - AlexNet's two-GPU split was model parallelism: part of the model per device,
#   activations between them. Large models today combine both.
#
# ## Check your understanding
#
# 1. With 10 samples and 4 processes, which samples does rank 3 read, and which sample is read twice?
#
#    <details><summary>Answer</summary>The list is padded to 12 by repeating its start (samples 0 and 1), and rank r reads positions r, r + 4, r + 8: rank 3 reads samples 3, 7 and 1. Sample 1 is read twice (by rank 1 and rank 3), and so is sample 0 (ranks 0 and 2).</details>
# 2. Why must every process take the same number of optimizer steps?
#
#    <details><summary>Answer</summary>Every step ends in an all-reduce that all processes must join. A process with one batch more waits for partners that never come (the job hangs), and copies that took different steps would no longer hold the same weights.</details>
# 3. Eight GPUs all-reduce a 100-million-parameter model's float32 gradients over 25 GB/s links. How many bytes does each send per step, and how long does that take without latency?
#
#    <details><summary>Answer</summary>400 MB of gradients; a ring sends 2(N−1)/N of them per worker: 2 × 7/8 × 400 MB = 700 MB, which takes 700 MB / 25 GB/s = 28 ms per step.</details>
# 4. DDP with batch norm but without `SyncBatchNorm`: which part of training differs from one process on the big batch?
#
#    <details><summary>Answer</summary>Batch norm: each process normalises with the mean and variance of its own small batch and keeps its own running statistics, where one process would use the whole batch. `SyncBatchNorm` all-reduces those statistics too.</details>
# 5. Section 3 printed the speed-up of two processes over one. What holds it below 2x on this machine, and what would have to change to get close to 2x?
#
#    <details><summary>Answer</summary>A second process can only use the core the first one left idle (there are two cores and no third), and every step adds an all-reduce over loopback that a single process does not pay; section 3 printed its share of the step. Separate devices, and compute per step large next to the communication (a bigger model or batch, communication overlapped with the backward pass), would have to come first.</details>
#
# **Exercise:** [ex09 · Beyond one machine](../exercises/ex09_beyond_one_machine/ex09_beyond_one_machine.ipynb)
# — shards, a ring all-reduce simulated chunk by chunk, its cost, and the scaled learning rate.
#
# This is the last lesson. Back to the start: [00 · Start here](00_start_here.ipynb).
