# %% [markdown]
# # Exercise 09 · Beyond one machine
#
# Lesson 09 trained one network in two processes that each read their own
# shard of the data and averaged their gradients after every step. Here you
# write the four pieces of arithmetic behind that, as plain functions that need
# no process group:
#
# 1. `shard_indices` — which samples each process reads (what `DistributedSampler` does);
# 2. `ring_allreduce` — a ring all-reduce simulated chunk by chunk, and how much it sends;
# 3. `allreduce_seconds` — how long one all-reduce of the gradients takes on a given link;
# 4. `scaled_learning_rate` — the linear scaling rule with warm-up.
#
# - Don't rename the functions or change their arguments.
# - Don't delete or copy the self-check cells (they are how you get points).
# - Run the notebook top to bottom (*Kernel → Restart and run all*) before you hand it in.
#
# Your instructor's grader checks each function on more cases than you see:
# other seeds, sample counts that do not divide by the number of processes,
# fewer samples than processes, one process alone, integer tensors, other
# links and learning rates. Make them right in general, not just for the examples shown.

# %%
import torch
from torch.utils.data import DistributedSampler

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · Who reads what
#
# Write `shard_indices(n, rank, world_size, *, shuffle=False, seed=0)`: the
# indices of the `n` samples that process `rank` (0 … `world_size` − 1) reads
# in one epoch, as an int64 tensor, exactly as
# `DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)`
# with its default `drop_last=False` would give them:
#
# - the order of all samples is `torch.randperm(n, generator=torch.Generator().manual_seed(seed))`
#   when `shuffle` is true, and `torch.arange(n)` otherwise;
# - every process must get the same number of samples, so the order is
#   **padded** by repeating it from its start until its length is a multiple
#   of `world_size` (with fewer samples than processes, it repeats more than once);
# - process `rank` takes every `world_size`-th index of the padded order,
#   starting at position `rank`;
# - raise a `ValueError` if `world_size` is below 1 or `rank` is not between 0
#   and `world_size` − 1.
#
# Write it with tensor operations; do not call `DistributedSampler` (the checks use it as the reference).

# %% kind="solution" id="shard_indices"
def shard_indices(n: int, rank: int, world_size: int, *, shuffle: bool = False, seed: int = 0) -> torch.Tensor:
    """The (n / world_size rounded up,) int64 indices that process `rank` reads, DistributedSampler's way."""
    ### BEGIN SOLUTION
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need world_size >= 1 and 0 <= rank < world_size; got rank {rank}, world_size {world_size}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
    total = -(-n // world_size) * world_size
    if total > n:
        order = order.repeat(-(-total // n))[:total]
    return order[rank:total:world_size]
    ### END SOLUTION


# %% kind="tests" id="test_shard_indices" points=3
forbidden = ["torch.utils.data.DistributedSampler", "torch.utils.data.distributed.DistributedSampler"]
cu.checks.check_equal(cu.restrictions.call_without(forbidden, shard_indices, 10, 1, 3),
                      torch.tensor(list(DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False))),
                      "shard_indices(10, 1, 3)",
                      hint="10 samples for 3 processes are padded to 12 by repeating samples 0 and 1; rank 1 takes positions 1, 4, 7, 10")
cu.checks.check_equal(cu.restrictions.call_without(forbidden, shard_indices, 8, 0, 2, shuffle=True, seed=4),
                      torch.tensor(list(DistributedSampler(range(8), num_replicas=2, rank=0, shuffle=True, seed=4))),
                      "shard_indices(8, 0, 2, shuffle=True, seed=4)",
                      hint="shuffle with torch.randperm(n, generator=torch.Generator().manual_seed(seed)), then take every world_size-th index")
cu.checks.check_dtype(shard_indices(10, 1, 3), torch.int64, "shard_indices(10, 1, 3)", hint="return an int64 tensor of indices")
### BEGIN HIDDEN TESTS
cu.checks.check_equal([shard_indices(11, r, 4, shuffle=True, seed=7).tolist() for r in range(4)],
                      [list(DistributedSampler(range(11), num_replicas=4, rank=r, shuffle=True, seed=7)) for r in range(4)],
                      "the four shards of 11 shuffled samples with seed=7",
                      hint="pad the shuffled order with its own first elements (not with the first indices 0, 1, ...)")
cu.checks.check_equal([shard_indices(2, r, 5).tolist() for r in range(5)],
                      [list(DistributedSampler(range(2), num_replicas=5, rank=r, shuffle=False)) for r in range(5)],
                      "the five shards of only 2 samples",
                      hint="with fewer samples than processes the order repeats more than once: 0, 1, 0, 1, 0")
cu.checks.check_equal(shard_indices(7, 0, 1, shuffle=True, seed=3), torch.randperm(7, generator=torch.Generator().manual_seed(3)),
                      "shard_indices(7, 0, 1, shuffle=True, seed=3): one process reads everything", hint="world_size 1 needs no padding")
cu.checks.check_equal(shard_indices(12, 2, 4, shuffle=True, seed=0), torch.tensor(list(DistributedSampler(range(12), num_replicas=4, rank=2, shuffle=True, seed=0))),
                      "shard_indices(12, 2, 4, shuffle=True, seed=0)", hint="12 samples divide by 4 processes: no padding")
cu.checks.check_raises(lambda: shard_indices(10, 3, 3), ValueError, "shard_indices(10, 3, 3): rank 3 of 3 processes",
                       hint="ranks run from 0 to world_size - 1")
cu.checks.check_raises(lambda: shard_indices(10, 0, 0), ValueError, "shard_indices(10, 0, 0)", hint="world_size must be at least 1")
cu.checks.check_raises(lambda: shard_indices(10, -1, 3), ValueError, "shard_indices(10, -1, 3): a negative rank",
                       hint="a rank below 0 is no process either: check both ends of 0 <= rank < world_size")
cu.checks.check_equal([shard_indices(0, r, 3).tolist() for r in range(3)],
                      [list(DistributedSampler(range(0), num_replicas=3, rank=r, shuffle=False)) for r in range(3)],
                      "the three shards of an empty dataset (n=0)",
                      hint="with no samples there is nothing to pad (and nothing to repeat): every shard is empty")
### END HIDDEN TESTS
cu.checks.passed("shard_indices")

# %% [markdown]
# ## 2 · A ring all-reduce, step by step
#
# Write `ring_allreduce(tensors)`. Worker `i` (of N = `len(tensors)`) holds the
# 1-D tensor `tensors[i]`; all have the same length L, which need not divide by N.
# Each worker cuts its tensor into N chunks with `torch.tensor_split(t, N)`
# (chunk `c` of every worker covers the same positions). The workers stand in
# a ring; worker `i` only ever sends to worker `(i + 1) % N`.
#
# - **Reduce-scatter**, N − 1 steps: in step `s` (0, 1, …, N − 2) every worker
#   `i` sends its chunk `(i - s) % N` to the next worker, which adds it to its
#   own copy of that chunk. Afterwards worker `i` holds the complete sum of chunk `(i + 1) % N`.
# - **All-gather**, N − 1 more steps: in step `s` every worker `i` sends its
#   chunk `(i + 1 - s) % N` (a complete sum) to the next worker, which
#   **replaces** its copy of that chunk with it.
#
# Return `(results, sent)`: the list of the N workers' final tensors (each the
# element-wise sum of all inputs, with the inputs' dtype), and the **total**
# number of elements sent by all workers together over both phases. Do not
# modify the input tensors. Raise a `ValueError` if `tensors` is empty or the
# lengths differ. Simulate the sends (a sum of the whole stack does not tell
# you how much was sent, nor that the chunks move the way the ring moves them).
# Floating-point addition is not associative, so the ring's order shows in the
# last bits: chunk `c` starts at worker `c` and collects workers `c + 1`,
# `c + 2`, … in turn. The hidden tests compare your sums bit for bit with that order.

# %% kind="solution" id="ring_allreduce"
def ring_allreduce(tensors: list[torch.Tensor]) -> tuple[list[torch.Tensor], int]:
    """N workers' 1-D tensors -> (each worker's all-reduced copy, total elements sent by all workers)."""
    ### BEGIN SOLUTION
    n = len(tensors)
    if n == 0:
        raise ValueError("need at least one worker's tensor")
    if len({len(t) for t in tensors}) != 1:
        raise ValueError(f"all workers must hold tensors of the same length; got {[len(t) for t in tensors]}")
    chunks = [[c.clone() for c in torch.tensor_split(t, n)] for t in tensors]
    sent = 0
    for s in range(n - 1):  # reduce-scatter
        outgoing = [(i, (i - s) % n, chunks[i][(i - s) % n].clone()) for i in range(n)]
        for i, c, data in outgoing:
            chunks[(i + 1) % n][c] += data
            sent += data.numel()
    for s in range(n - 1):  # all-gather
        outgoing = [(i, (i + 1 - s) % n, chunks[i][(i + 1 - s) % n].clone()) for i in range(n)]
        for i, c, data in outgoing:
            chunks[(i + 1) % n][c] = data
            sent += data.numel()
    return [torch.cat(worker) for worker in chunks], sent
    ### END SOLUTION


# %% kind="tests" id="test_ring_allreduce" points=3
workers = list(torch.randn(3, 10, generator=torch.Generator().manual_seed(0)))  # worker i holds row i
results, sent = ring_allreduce(workers)
cu.checks.check_equal(len(results), 3, "how many results ring_allreduce returns for 3 workers", hint="one result per worker")
cu.checks.check_close(torch.stack(results), torch.randn(3, 10, generator=torch.Generator().manual_seed(0)).sum(0).expand(3, 10),
                      "every worker's result for 3 workers holding 10 numbers each", atol=1e-5,
                      hint="each worker must end with the element-wise sum of all the inputs")
cu.checks.check_equal(sent, 40, "elements sent in total by 3 workers all-reducing 10 numbers",
                      hint="2 phases of N - 1 = 2 steps; in each step every worker sends one chunk, and the chunks of one step together hold all 10 numbers")
### BEGIN HIDDEN TESTS
ints = list(torch.randint(-50, 50, (4, 7), generator=torch.Generator().manual_seed(1)))
int_results, int_sent = ring_allreduce(ints)
cu.checks.check_equal(torch.stack(int_results),
                      torch.randint(-50, 50, (4, 7), generator=torch.Generator().manual_seed(1)).sum(0).expand(4, 7),
                      "4 workers all-reducing int64 tensors of length 7", hint="keep the dtype: add the chunks in place, do not convert to float")
cu.checks.check_dtype(int_results[0], torch.int64, "a worker's result for int64 inputs", hint="the result has the inputs' dtype")
cu.checks.check_equal(int_sent, 42, "elements sent by 4 workers all-reducing 7 numbers each (chunks of 2, 2, 2 and 1)",
                      hint="count every chunk each worker sends, in both phases")
floats = list(torch.randn(8, 5, generator=torch.Generator().manual_seed(2)))
float_results, float_sent = ring_allreduce(floats)
cu.checks.check_equal(max((r - float_results[0]).abs().max().item() for r in float_results), 0.0,
                      "the largest difference between two workers' results (8 workers, 5 numbers: some chunks are empty)",
                      hint="in the all-gather, replace the receiver's chunk with the complete sum: every worker must end bit-for-bit the same")
cu.checks.check_equal(float_sent, 70, "elements sent by 8 workers all-reducing 5 numbers each", hint="empty chunks send nothing")
cu.checks.check_equal(floats[3], torch.randn(8, 5, generator=torch.Generator().manual_seed(2))[3], "worker 3's input after the all-reduce",
                      hint="work on copies (clone the chunks); do not modify the inputs")
alone, alone_sent = ring_allreduce([torch.tensor([1.5, -2.0, 3.0])])
cu.checks.check_equal(alone[0], torch.tensor([1.5, -2.0, 3.0]), "the result of one worker alone", hint="one worker's sum is its own tensor")
cu.checks.check_equal(alone_sent, 0, "elements sent by one worker alone", hint="one worker sends nothing: 2(N - 1) = 0 steps")
half = [torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float16), torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=torch.float16)]
cu.checks.check_equal(ring_allreduce(half)[0][1], torch.tensor([1.5, 2.5, 3.5, 4.5], dtype=torch.float16),
                      "worker 1's result for two float16 workers", hint="keep the inputs' dtype")
# Where the order of a float sum matters, the ring's order must show: chunk c is summed from worker c around the ring.
big = torch.tensor([[1e8] * 8, [1.0] * 8, [-1e8] * 8, [1.0] * 8])  # float32: 1e8 + 1 rounds back to 1e8
ring_order = torch.zeros(8)
for position in range(8):
    chunk = position // 2  # tensor_split(8 numbers, 4) gives chunks of 2
    total = big[chunk, position].clone()
    for step in range(1, 4):
        total = total + big[(chunk + step) % 4, position]
    ring_order[position] = total
cu.checks.check_equal(ring_allreduce(list(big))[0][0], ring_order,
                      "worker 0's result for 4 workers holding 1e8, 1, -1e8, 1 (float sums depend on their order)",
                      hint="simulate the ring: chunk c starts at worker c and collects workers c + 1, c + 2, ... in turn; "
                           "a sum of the whole stack adds in another order")
cu.checks.check_raises(lambda: ring_allreduce([torch.zeros(3), torch.zeros(4)]), ValueError, "ring_allreduce with lengths 3 and 4",
                       hint="check that every worker's tensor has the same length")
cu.checks.check_raises(lambda: ring_allreduce([]), ValueError, "ring_allreduce([])", hint="an empty list has no workers")
### END HIDDEN TESTS
cu.checks.passed("ring_allreduce")

# %% [markdown]
# ## 3 · What one all-reduce costs
#
# Write `allreduce_seconds(num_params, world_size, bandwidth_gb_per_s, *, bytes_per_param=4, latency_s=0.0)`:
# the time of one ring all-reduce of `num_params` gradient values among
# `world_size` workers, as a `float`:
#
# - the ring takes 2(N − 1) steps; in each, every worker sends 1/N of the
#   gradient bytes (`num_params * bytes_per_param / N`) over its own link at
#   `bandwidth_gb_per_s` gigabytes per second (GB = 10⁹ bytes, as network and
#   NVLink figures are quoted), and every step also pays `latency_s`;
# - one worker alone sends nothing: 0 seconds;
# - raise a `ValueError` if `world_size` is below 1 or the bandwidth is not positive.

# %% kind="solution" id="allreduce_seconds"
def allreduce_seconds(num_params: float, world_size: int, bandwidth_gb_per_s: float, *, bytes_per_param: int = 4,
                      latency_s: float = 0.0) -> float:
    """Seconds for one ring all-reduce: 2(N-1) steps of (1/N of the bytes over the link + the latency)."""
    ### BEGIN SOLUTION
    if world_size < 1 or bandwidth_gb_per_s <= 0:
        raise ValueError(f"need world_size >= 1 and a positive bandwidth; got {world_size} and {bandwidth_gb_per_s}")
    steps = 2 * (world_size - 1)
    return float(steps * (num_params * bytes_per_param / world_size / (bandwidth_gb_per_s * 1e9) + latency_s))
    ### END SOLUTION


# %% kind="tests" id="test_allreduce_seconds" points=2
forbidden = ["course_utils.distributed.ring_allreduce_seconds"]
cu.checks.check_close(cu.restrictions.call_without(forbidden, allreduce_seconds, 25_000_000, 4, 10.0), 2 * 3 * 25e6 * 4 / 4 / 10e9,
                      "allreduce_seconds(25_000_000, 4, 10.0)", rtol=1e-6,
                      hint="2(N - 1) steps, each moving num_params * bytes_per_param / N bytes at bandwidth * 1e9 bytes per second")
cu.checks.check_close(allreduce_seconds(1_000_000, 2, 1.0, latency_s=0.001), 2 * (1e6 * 4 / 2 / 1e9 + 0.001),
                      "allreduce_seconds(1_000_000, 2, 1.0, latency_s=0.001)", rtol=1e-6,
                      hint="every one of the 2(N - 1) steps pays the latency once")
### BEGIN HIDDEN TESTS
cu.checks.check_close(allreduce_seconds(60_000_000, 8, 300.0, bytes_per_param=2, latency_s=5e-6),
                      14 * (60e6 * 2 / 8 / 300e9 + 5e-6), "allreduce_seconds(60_000_000, 8, 300.0, bytes_per_param=2, latency_s=5e-6)",
                      rtol=1e-6, hint="bytes_per_param=2 for float16 gradients halves the bytes")
cu.checks.check_close(allreduce_seconds(1_000, 64, 25.0, latency_s=2e-5), 126 * (1e3 * 4 / 64 / 25e9 + 2e-5),
                      "allreduce_seconds(1_000, 64, 25.0, latency_s=2e-5): a small model on many workers", rtol=1e-6,
                      hint="with few bytes the latency of the 2(N - 1) steps dominates")
cu.checks.check_close(allreduce_seconds(5_000_000, 3, 0.5), 4 * 5e6 * 4 / 3 / 0.5e9, "allreduce_seconds(5_000_000, 3, 0.5)",
                      rtol=1e-6, hint="GB means 10**9 bytes here, not 2**30; bandwidth is in bytes, not bits")
cu.checks.check_equal(allreduce_seconds(25_000_000, 1, 10.0, latency_s=0.01), 0.0, "allreduce_seconds with world_size=1",
                      hint="one worker takes 2(1 - 1) = 0 steps")
cu.checks.check_true(isinstance(allreduce_seconds(100, 2, 1.0), float), "allreduce_seconds returns a Python float",
                     hint="return float(...) of the seconds")
cu.checks.check_close(allreduce_seconds(7, 3, 2.0, bytes_per_param=2), 4 * (7 * 2 / 3) / 2e9,
                      "allreduce_seconds(7, 3, 2.0, bytes_per_param=2): 14 bytes do not divide by 3 workers", atol=0.0, rtol=1e-9,
                      hint="each worker sends num_params * bytes_per_param / N bytes per step, a fraction: do not round it down")
cu.checks.check_close(allreduce_seconds(123_456_789, 4, 100.0), 6 * 123_456_789 * 4 / 4 / 100e9,
                      "allreduce_seconds(123_456_789, 4, 100.0), to 12 significant digits", atol=0.0, rtol=1e-12,
                      hint="one GB per second is exactly 1e9 bytes per second")
cu.checks.check_raises(lambda: allreduce_seconds(100, 0, 1.0), ValueError, "allreduce_seconds(100, 0, 1.0)", hint="world_size must be at least 1")
cu.checks.check_raises(lambda: allreduce_seconds(100, 2, 0.0), ValueError, "allreduce_seconds(100, 2, 0.0)", hint="a link needs a positive bandwidth")
### END HIDDEN TESTS
cu.checks.passed("allreduce_seconds")

# %% [markdown]
# ## 4 · The learning rate for a bigger batch
#
# Write `scaled_learning_rate(base_lr, base_batch, batch, step, warmup_steps)`:
# the learning rate at optimizer step `step` (0, 1, 2, …) when a recipe tuned
# with `base_lr` at batch size `base_batch` is run with batch size `batch`,
# following the linear scaling rule with linear warm-up (Goyal et al. 2017,
# *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour*, arXiv:1706.02677, Sec. 2):
#
# - the target rate is `base_lr * batch / base_batch`;
# - during warm-up the rate grows in a straight line from `base_lr` at step 0
#   towards the target, reaching it at step `warmup_steps`: at step `k < warmup_steps`
#   it is `base_lr + (target - base_lr) * k / warmup_steps`;
# - from step `warmup_steps` on, it is the target;
# - `warmup_steps=0` means no warm-up: the target from step 0;
# - raise a `ValueError` if `step` or `warmup_steps` is negative, or `base_batch` or `batch` is below 1.

# %% kind="solution" id="scaled_learning_rate"
def scaled_learning_rate(base_lr: float, base_batch: int, batch: int, step: int, warmup_steps: int) -> float:
    """The learning rate at `step`: linear warm-up from base_lr to base_lr * batch / base_batch."""
    ### BEGIN SOLUTION
    if step < 0 or warmup_steps < 0 or base_batch < 1 or batch < 1:
        raise ValueError(f"need step, warmup_steps >= 0 and batch sizes >= 1; got step {step}, "
                         f"warmup_steps {warmup_steps}, base_batch {base_batch}, batch {batch}")
    target = base_lr * batch / base_batch
    if step >= warmup_steps:
        return float(target)
    return float(base_lr + (target - base_lr) * step / warmup_steps)
    ### END SOLUTION


# %% kind="tests" id="test_scaled_learning_rate" points=2
cu.checks.check_close(torch.tensor([scaled_learning_rate(0.1, 256, 1024, k, 4) for k in range(6)], dtype=torch.float64),
                      torch.tensor([0.1, 0.175, 0.25, 0.325, 0.4, 0.4], dtype=torch.float64),
                      "scaled_learning_rate(0.1, 256, 1024, k, 4) for k = 0 … 5", rtol=1e-9,
                      hint="start at base_lr (not 0) at step 0, reach base_lr * batch / base_batch at step warmup_steps")
### BEGIN HIDDEN TESTS
cu.checks.check_close(scaled_learning_rate(0.1, 256, 8192, 500, 1000), 0.1 + (3.2 - 0.1) * 0.5,
                      "halfway through a 1,000-step warm-up to batch 8192", rtol=1e-9, hint="interpolate linearly between base_lr and the target")
cu.checks.check_close(scaled_learning_rate(0.1, 256, 8192, 1000, 1000), 3.2, "at step == warmup_steps", rtol=1e-9,
                      hint="from step warmup_steps on, the full scaled rate")
cu.checks.check_close(scaled_learning_rate(0.1, 256, 8192, 5000, 1000), 3.2, "long after the warm-up", rtol=1e-9)
cu.checks.check_close(scaled_learning_rate(0.02, 64, 16, 1, 2), 0.02 + (0.005 - 0.02) / 2, "a smaller batch than the recipe's, mid warm-up",
                      rtol=1e-9, hint="the rule scales down as well as up: the target is base_lr * batch / base_batch")
cu.checks.check_close(torch.tensor([scaled_learning_rate(0.5, 100, 300, k, 0) for k in (0, 3)], dtype=torch.float64),
                      torch.tensor([1.5, 1.5], dtype=torch.float64), "warmup_steps=0: no warm-up",
                      rtol=1e-9, hint="with warmup_steps=0 the target applies from step 0")
cu.checks.check_close(scaled_learning_rate(0.1, 256, 256, 3, 10), 0.1, "the recipe's own batch size", rtol=1e-9)
cu.checks.check_raises(lambda: scaled_learning_rate(0.1, 256, 512, -1, 10), ValueError, "a negative step", hint="steps count from 0")
cu.checks.check_raises(lambda: scaled_learning_rate(0.1, 0, 512, 1, 10), ValueError, "base_batch=0", hint="batch sizes are at least 1")
cu.checks.check_close(scaled_learning_rate(0.01, 1, 4, 2, 4), 0.01 + (0.04 - 0.01) * 2 / 4, "a recipe tuned at batch size 1, mid warm-up",
                      rtol=1e-9, hint="a batch size of 1 is allowed: only sizes below 1 are an error")
cu.checks.check_close(scaled_learning_rate(0.1, 256, 1, 0, 0), 0.1 / 256, "batch=1 without warm-up", atol=0.0, rtol=1e-9,
                      hint="a batch size of 1 is allowed: only sizes below 1 are an error")
cu.checks.check_raises(lambda: scaled_learning_rate(0.1, 256, 512, 3, -1), ValueError, "warmup_steps=-1",
                       hint="a negative number of warm-up steps is an error")
cu.checks.check_raises(lambda: scaled_learning_rate(0.1, 256, 0, 3, 10), ValueError, "batch=0", hint="batch sizes are at least 1")
### END HIDDEN TESTS
cu.checks.passed("scaled_learning_rate")

# %% [markdown]
# ## 5 · Put it together
#
# With your functions: how long does one all-reduce of ResNet-50's gradients
# take on a fast link inside a server and on a network between servers, and
# what learning rate does Goyal et al.'s recipe use for their 8,192-image
# batch? The bandwidths are assumptions you can change, not measurements: a
# link inside a server moving 300 GB/s each way and a network moving 12.5 GB/s
# (100 gigabits per second). Not graded.

# %%
resnet50_params = 25_557_032  # torchvision.models.resnet50(): lesson 09 counted them
for link, bandwidth in [("inside a server", 300.0), ("between servers", 12.5)]:
    times = ", ".join(f"{n} GPUs {allreduce_seconds(resnet50_params, n, bandwidth) * 1e3:.1f} ms" for n in (2, 8, 64, 256))
    print(f"{link} ({bandwidth} GB/s): {times}")
print(f"learning rate after warm-up at batch 8192: {scaled_learning_rate(0.1, 256, 8192, 10_000, 1000):.1f}")
print("ring check:", shard_indices(10, 1, 4).tolist(), ring_allreduce([torch.ones(6), 2 * torch.ones(6)])[1], "elements sent")

# %% [markdown]
# ## 6 · In your own words
#
# A classmate moves from 1 GPU to 8 and keeps the batch size per GPU at 32 and
# the learning rate at 0.1. Training now takes fewer steps per epoch but
# reaches a worse accuracy after the same number of epochs. What changed about
# each optimizer step, what would you change, and why does the first epoch
# need care? Three or four sentences.

# %% [markdown] kind="written" id="q_scaling" points=1
# With 8 GPUs each step averages the gradients of 8 × 32 = 256 images instead
# of 32, so the step direction is less noisy but there are 8 times fewer steps
# per epoch, each still moving the weights by about the same amount at
# learning rate 0.1: the model travels much less per epoch. The linear scaling
# rule multiplies the learning rate by 8 (to 0.8) so that one big step does
# roughly what 8 small ones did. At the start the weights change fast and that
# approximation is poor, so a large rate straight away can diverge; warming up
# from 0.1 to 0.8 over the first few epochs avoids that.
