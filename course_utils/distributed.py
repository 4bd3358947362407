"""Data-parallel training on one machine with torch.distributed, and what communication costs.

Two halves. `launch` starts worker processes from a notebook (the ``spawn``
start method, one CPU thread each, a ``gloo`` process group on 127.0.0.1 only,
joined with a timeout and cleaned up on any error); the workers it runs
(`shard_worker`, `train_worker`, `allreduce_worker`) live here because spawned
processes import their function by name and cannot unpickle a notebook's. The
other half is a pure cost model: how long a ring all-reduce takes
(`ring_allreduce_seconds`), the step time it implies, and the speed-up that
leaves (`scaling_curve`, `_figure_scaling`).
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch.utils.data import Dataset

__all__ = [
    "allreduce_worker",
    "fit_link",
    "launch",
    "ring_allreduce_seconds",
    "scaling_curve",
    "shard_worker",
    "single_process_training",
    "step_seconds",
    "tiny_cnn",
    "train_worker",
]  # fmt: skip


# ----------------------------------------------------------------------------- launching processes


def _loopback_interface() -> str:
    """The name of this machine's loopback network interface (``lo``, or ``lo0`` on macOS).

    Introduced in lesson 09.
    """
    return "lo0" if platform.system() == "Darwin" else "lo"


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it).

    Introduced in lesson 09.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: How long a worker waits for the others to join, and for each collective.
_GROUP_TIMEOUT = timedelta(seconds=60)


def _entry(rank: int, world_size: int, port: int, worker: Callable[..., Any], args: tuple[Any, ...], out_dir: str) -> None:
    """What each spawned process runs: join the process group, run ``worker``, save its result, leave."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size))
    os.environ.setdefault("GLOO_SOCKET_IFNAME", _loopback_interface())
    torch.set_num_threads(1)  # one core per process: two processes on two cores must not fight over them
    # The rendezvous store is served by the launching process (see `launch`); every rank is its client.
    store = dist.TCPStore("127.0.0.1", port, is_master=False, timeout=_GROUP_TIMEOUT)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=_GROUP_TIMEOUT)
    try:
        result = worker(*args)
        torch.save(result, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
    _leave_now()


def _leave_now() -> None:
    """End a worker process whose work is saved and whose group is closed, skipping Python's teardown.

    With torch 2.14.1, a gloo worker that had finished its work now and then aborted on its way out
    ("terminate called without an active exception", SIGABRT; on the course's 2-core machine 2 runs of
    about 180 of `scripts/train_ddp.py` under torchrun, and one `launch` in each of two test runs), and
    the run was then reported as failed. Nothing is left to do at this point, so the process exits at
    once (``os._exit``) instead of tearing down the interpreter and torch's C++ state.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def launch(worker: Callable[..., Any], world_size: int, *args: Any, timeout: float = 90.0) -> list[Any]:
    """Run ``worker(*args)`` in ``world_size`` new processes that form one ``gloo`` process group.

    Each process gets one CPU thread and talks to the others over 127.0.0.1
    only; they meet at a rendezvous store that this process serves on a port
    the OS picks. ``worker`` must be importable (defined in a module, not in
    the notebook): the ``spawn`` start method, which works in Jupyter and
    Colab, re-imports it by name in every new process. Inside
    ``worker``, ``torch.distributed.get_rank()`` tells each copy who it is.

    Args:
        worker: a module-level function; its return value must be picklable
            (tensors, numbers, dicts...).
        world_size: how many processes (at least 1).
        *args: arguments passed to ``worker`` in every process.
        timeout: seconds after which every process still running is stopped.

    Returns:
        The return values of ``worker``, in rank order.

    Raises:
        ValueError: ``world_size`` below 1.
        TimeoutError: the processes did not finish within ``timeout``.
        torch.multiprocessing.ProcessRaisedException: a worker raised (its traceback is in the message).

    Introduced in lesson 09.
    """
    import torch.multiprocessing as mp

    if world_size < 1:
        raise ValueError(f"world_size must be at least 1; got {world_size}")
    # The launcher serves the group's rendezvous store on a port the OS picks and keeps it bound until the
    # workers are done: no other program (another notebook launching workers at the same moment, say) can
    # take that port between choosing it and using it, as it could with a port found free and released.
    store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=_GROUP_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="p2l-ddp-") as out_dir:
        context = mp.start_processes(
            _entry, args=(world_size, store.port, worker, args, out_dir), nprocs=world_size, join=False, start_method="spawn"
        )
        deadline = time.monotonic() + timeout
        try:
            while not context.join(timeout=0.2):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{world_size} worker process(es) still running after {timeout:.0f} s; "
                        "stopped them. Raise `timeout` if the work is really that long."
                    )
        finally:
            for process in context.processes:  # no orphans, whatever happened
                if process.is_alive():
                    process.terminate()
                    process.join(5)
                if process.is_alive():
                    process.kill()
                    process.join()
        return [torch.load(Path(out_dir) / f"rank{rank}.pt", weights_only=False) for rank in range(world_size)]


# ----------------------------------------------------------------------------- workers


def shard_worker(n: int, shuffle: bool = False, seed: int = 0) -> dict[str, Any]:
    """One process's view: its rank, the group, its shard of ``n`` samples, and a first all-reduce.

    Returns:
        ``{"rank", "world_size", "backend", "indices", "rank_sum"}``: the shard
        from ``torch.utils.data.DistributedSampler`` (``drop_last=False``) as a
        list, and the sum of ``rank + 1`` over all processes.

    Introduced in lesson 09.
    """
    from torch.utils.data import DistributedSampler

    rank, world = dist.get_rank(), dist.get_world_size()
    # A range is all a sampler needs (its length); PyTorch's stubs ask for a Dataset.
    sampler: DistributedSampler[int] = DistributedSampler(
        cast("Dataset[int]", range(n)), num_replicas=world, rank=rank, shuffle=shuffle, seed=seed
    )
    total = torch.tensor([rank + 1.0])
    dist.all_reduce(total)  # every process ends with the same sum
    return {"rank": rank, "world_size": world, "backend": dist.get_backend(), "indices": list(sampler), "rank_sum": total.item()}


def tiny_cnn(num_classes: int = 10) -> nn.Sequential:
    """A small CNN for (N, 1, 28, 28) images, without batch norm (its statistics would differ per process).

    Introduced in lesson 09.
    """
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, num_classes),
    )  # fmt: skip


def _batches(indices: Sequence[int], batch_size: int, steps: int) -> list[torch.Tensor]:
    order = torch.as_tensor(list(indices))
    if steps * batch_size > len(order):
        raise ValueError(f"{steps} steps of {batch_size} need {steps * batch_size} samples; this process has {len(order)}")
    return [order[t * batch_size : (t + 1) * batch_size] for t in range(steps)]


def single_process_training(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, steps: int, lr: float, *, seed: int = 0
) -> dict[str, Any]:
    """The reference: one process, ``steps`` SGD steps on consecutive batches of ``batch_size``.

    Args:
        x: (N, 1, 28, 28) float images; y: (N,) int64 labels.
        batch_size: samples per step; steps: how many steps; lr: SGD learning rate (momentum 0.9).
        seed: seeds the model's initial weights (`tiny_cnn`).

    Returns:
        ``{"state": final state_dict, "seconds_per_step": float, "loss": last loss}``.

    Introduced in lesson 09.
    """
    torch.manual_seed(seed)
    model = tiny_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    start = time.perf_counter()
    for idx in _batches(range(len(x)), batch_size, steps):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "seconds_per_step": seconds / steps,
        "loss": loss.item(),
    }


def train_worker(x: torch.Tensor, y: torch.Tensor, batch_size: int, steps: int, lr: float, *, seed: int = 0) -> dict[str, Any]:
    """Train `tiny_cnn` data-parallel twice: with DDP, then averaging gradients by hand.

    Each process reads its own shard (``DistributedSampler``, no shuffling) in
    batches of ``batch_size``. The hand-written version runs forward and
    backward on a plain model, then ``dist.all_reduce`` on every gradient and a
    division by the world size, then the optimizer step; it times the compute
    and the communication separately.

    Returns:
        ``{"ddp": state_dict, "manual": state_dict, "ddp_seconds_per_step",
        "compute_seconds_per_step", "comm_seconds_per_step", "loss"}``.

    Introduced in lesson 09.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.utils.data import DistributedSampler

    rank, world = dist.get_rank(), dist.get_world_size()
    batches = _batches(
        list(DistributedSampler(cast("Dataset[int]", range(len(x))), num_replicas=world, rank=rank, shuffle=False)),
        batch_size,
        steps,
    )
    result: dict[str, Any] = {}

    # 1. DistributedDataParallel: it all-reduces the gradients during backward.
    torch.manual_seed(seed)
    ddp = DDP(tiny_cnn())
    optimizer = torch.optim.SGD(ddp.parameters(), lr=lr, momentum=0.9)
    dist.barrier()
    start = time.perf_counter()
    for idx in batches:
        loss = F.cross_entropy(ddp(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()  # gradients are averaged over all processes here
        optimizer.step()
    result["ddp_seconds_per_step"] = (time.perf_counter() - start) / steps
    result["ddp"] = {k: v.clone() for k, v in ddp.module.state_dict().items()}
    result["loss"] = loss.item()

    # 2. The same by hand: all-reduce each gradient, divide by the number of processes.
    torch.manual_seed(seed)
    model = tiny_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    compute = comm = 0.0
    dist.barrier()
    for idx in batches:
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        t1 = time.perf_counter()
        for p in model.parameters():
            assert p.grad is not None  # backward gave every parameter of tiny_cnn a gradient
            dist.all_reduce(p.grad)  # sum over processes ...
            p.grad /= world  # ... then the mean, as DDP does
        t2 = time.perf_counter()
        optimizer.step()
        compute, comm = compute + (t1 - t0), comm + (t2 - t1)
    result["manual"] = {k: v.clone() for k, v in model.state_dict().items()}
    result["compute_seconds_per_step"], result["comm_seconds_per_step"] = compute / steps, comm / steps
    return result


def allreduce_worker(sizes: Sequence[int], repeats: int = 5) -> list[float]:
    """Median seconds of one ``dist.all_reduce`` of a float32 tensor of each size (in elements).

    Introduced in lesson 09.
    """
    times = []
    for size in sizes:
        t = torch.ones(int(size))
        dist.all_reduce(t)  # warm-up: the first call sets up the connections
        runs = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            runs.append(time.perf_counter() - start)
        times.append(float(np.median(runs)))
    return times


# ----------------------------------------------------------------------------- the cost model


def ring_allreduce_seconds(
    num_params: float, world_size: int, bandwidth_gb_per_s: float, *, bytes_per_param: int = 4, latency_s: float = 0.0
) -> float:
    """Seconds for one ring all-reduce of ``num_params`` gradients among ``world_size`` workers.

    The ring takes 2(N-1) steps (N-1 to reduce-scatter, N-1 to all-gather);
    in each, every worker sends 1/N of the bytes over its link and pays the
    link's latency once. One worker alone sends nothing.

    Args:
        num_params: gradient values per worker; world_size: N.
        bandwidth_gb_per_s: one link's bandwidth in GB/s (10**9 bytes per second).
        bytes_per_param: 4 for float32, 2 for float16/bfloat16.
        latency_s: fixed cost of one step, in seconds.

    Introduced in lesson 09.
    """
    if world_size < 1 or bandwidth_gb_per_s <= 0:
        raise ValueError(f"need world_size >= 1 and a positive bandwidth; got {world_size}, {bandwidth_gb_per_s}")
    steps = 2 * (world_size - 1)
    return steps * (num_params * bytes_per_param / world_size / (bandwidth_gb_per_s * 1e9) + latency_s)


def fit_link(num_bytes: Sequence[float], seconds: Sequence[float], world_size: int) -> tuple[float, float]:
    """Fit the ring model t = 2(N-1)·latency + 2(N-1)/N · bytes / bandwidth to measured all-reduce times.

    Returns:
        ``(latency_s, bandwidth_gb_per_s)``, from a least-squares straight line of seconds against bytes.

    Introduced in lesson 09.
    """
    if world_size < 2:
        raise ValueError("an all-reduce among fewer than 2 workers sends nothing to measure")
    slope, intercept = np.polyfit(np.asarray(num_bytes, float), np.asarray(seconds, float), 1)
    steps = 2 * (world_size - 1)
    return max(float(intercept), 0.0) / steps, steps / world_size / float(slope) / 1e9


def step_seconds(
    compute_s: float,
    num_params: float,
    world_size: int,
    bandwidth_gb_per_s: float,
    *,
    latency_s: float = 0.0,
    bytes_per_param: int = 4,
    fixed_global_batch: bool = False,
) -> float:
    """Predicted time of one training step on ``world_size`` workers: compute, then the gradient all-reduce.

    Args:
        compute_s: forward + backward seconds of one step on one worker (its batch).
        fixed_global_batch: if True the global batch stays the same, so each of
            N workers computes 1/N of it (strong scaling); if False each worker
            keeps its batch and the global batch grows with N (weak scaling).

    Introduced in lesson 09.
    """
    compute = compute_s / world_size if fixed_global_batch else compute_s
    return compute + ring_allreduce_seconds(
        num_params, world_size, bandwidth_gb_per_s, bytes_per_param=bytes_per_param, latency_s=latency_s
    )


def scaling_curve(
    compute_s: float,
    num_params: float,
    bandwidth_gb_per_s: float,
    workers: Sequence[int] | np.ndarray,
    *,
    latency_s: float = 0.0,
    fixed_global_batch: bool = False,
) -> np.ndarray:
    """Predicted speed-up (samples per second relative to one worker) for each number of workers.

    Introduced in lesson 09.
    """
    one = step_seconds(compute_s, num_params, 1, bandwidth_gb_per_s, latency_s=latency_s)
    out = []
    for n in workers:
        t = step_seconds(compute_s, num_params, n, bandwidth_gb_per_s, latency_s=latency_s, fixed_global_batch=fixed_global_batch)
        out.append((1.0 if fixed_global_batch else n) * one / t)
    return np.array(out)


def _figure_scaling(
    compute_s: float,
    num_params: float,
    bandwidth_gb_per_s: float,
    *,
    latency_s: float = 0.0,
    max_workers: int = 64,
    title: str | None = None,
) -> Figure:
    """Predicted speed-up against the number of workers, for a growing and for a fixed global batch.

    Returns:
        A matplotlib ``Figure`` (log-log axes, the ideal line dashed).

    Introduced in lesson 09.
    """
    import matplotlib.pyplot as plt

    workers = np.unique(np.round(np.geomspace(1, max_workers, 40)).astype(int))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(workers, workers, "--", color="0.5", label="ideal (N times one worker)")
    ax.plot(
        workers,
        scaling_curve(compute_s, num_params, bandwidth_gb_per_s, workers, latency_s=latency_s),
        lw=2,
        label="same batch per worker (global batch grows)",
    )
    ax.plot(
        workers,
        scaling_curve(compute_s, num_params, bandwidth_gb_per_s, workers, latency_s=latency_s, fixed_global_batch=True),
        lw=2,
        label="same global batch, split N ways",
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="workers N",
        ylabel="speed-up over one worker",
        title=title
        or f"{num_params / 1e6:.1f} M parameters, {compute_s * 1e3:.0f} ms compute, {bandwidth_gb_per_s:g} GB/s links",
    )
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def _efficiency_summary(
    compute_s: float, num_params: float, bandwidth_gb_per_s: float, world_size: int, *, latency_s: float = 0.0
) -> str:
    """One sentence: communication vs compute per step, and the speed-up both ways, at ``world_size``.

    Introduced in lesson 09.
    """
    comm = ring_allreduce_seconds(num_params, world_size, bandwidth_gb_per_s, latency_s=latency_s)
    grow, fixed = (
        scaling_curve(compute_s, num_params, bandwidth_gb_per_s, [world_size], latency_s=latency_s, fixed_global_batch=f)[0]
        for f in (False, True)
    )
    return (
        f"{world_size} workers: all-reduce {comm * 1e3:.3g} ms per step against {compute_s * 1e3:.3g} ms of "
        f"compute; speed-up {grow:.1f}x with a growing batch, {fixed:.1f}x with a fixed one"
    )
