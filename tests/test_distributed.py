"""course_utils.distributed and scripts/train_ddp.py, against references.

Shards against torch's DistributedSampler; DDP and the hand-written gradient
all-reduce against one process on the combined batch; the ring cost model and
the exercise's ring simulation against the 2(N-1)/N formula; the launcher's
clean-up on errors and timeouts; the torchrun script on 2 local processes
(gloo, 127.0.0.1 only) against a single-process reference loop.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DistributedSampler

import course_utils as cu
from conftest import ROOT
from course_utils import distributed as D


def _digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = cu.data.to_tensors(cu.data.load("digits", source="mnist5k")["train"])
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[pick], y[pick]


# Workers for the launcher tests: module-level, so spawned processes can import them.
def _raise_on_rank_1() -> int:
    if torch.distributed.get_rank() == 1:
        raise RuntimeError("worker 1 failed on purpose")
    time.sleep(60)  # rank 0 would wait much longer than the test allows
    return 0


def _sleep_and_report_pid(path: str) -> None:
    with open(f"{path}.{torch.distributed.get_rank()}", "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)


def test_shards_match_distributed_sampler():
    shards = D.launch(D.shard_worker, 3, 10, True, 5)
    assert [s["indices"] for s in shards] == [
        list(DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=True, seed=5)) for r in range(3)
    ]
    assert [(s["rank"], s["world_size"], s["backend"], s["rank_sum"]) for s in shards] == [(r, 3, "gloo", 6.0) for r in range(3)]


def test_ddp_and_hand_all_reduce_equal_one_process_on_the_combined_batch():
    x, y = _digits(2 * 16 * 8)
    workers = D.launch(D.train_worker, 2, x, y, 16, 8, 0.05)
    single = D.single_process_training(x, y, 32, 8, 0.05)
    torch.manual_seed(0)
    start = D.tiny_cnn().state_dict()
    for key, value in single["state"].items():
        assert torch.equal(workers[0]["ddp"][key], workers[1]["ddp"][key])
        torch.testing.assert_close(workers[0]["ddp"][key], value, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(workers[1]["manual"][key], value, atol=1e-5, rtol=1e-4)
    assert max((single["state"][k] - start[k]).abs().max().item() for k in start) > 1e-2  # training really moved them


def test_launch_reports_a_failing_worker_and_leaves_no_process():
    import torch.multiprocessing as mp

    with pytest.raises(mp.ProcessRaisedException, match="worker 1 failed on purpose"):
        D.launch(_raise_on_rank_1, 2, timeout=60)


def test_launch_stops_at_its_timeout(tmp_path):
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="still running"):
        D.launch(_sleep_and_report_pid, 2, str(tmp_path / "pid"), timeout=10)
    assert time.monotonic() - start < 40
    import multiprocessing

    assert multiprocessing.active_children() == []  # every worker terminated and reaped
    for pid_file in tmp_path.glob("pid.*"):  # those that got as far as starting their work
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


def test_launch_rejects_an_empty_world():
    with pytest.raises(ValueError, match="world_size"):
        D.launch(D.shard_worker, 0, 4)


def _solution_function(name: str):
    """A function from exercise 09's solution source (so this formula test checks what students are graded on)."""
    source = (ROOT / "src" / "solutions" / "ex09_beyond_one_machine.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"torch": torch}
    exec(compile(ast.Module(body=[node], type_ignores=[]), "ex09", "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7, 8])
@pytest.mark.parametrize("length", [0, 1, 5, 16, 33])
def test_ring_simulation_sends_the_formula_and_sums(workers, length):
    ring_allreduce = _solution_function("ring_allreduce")
    g = torch.Generator().manual_seed(workers * 100 + length)
    inputs = list(torch.randint(-1000, 1000, (workers, length), generator=g))
    results, sent = ring_allreduce(inputs)
    assert sent == 2 * (workers - 1) * length  # all workers together ...
    assert sent / workers == pytest.approx(2 * (workers - 1) / workers * length)  # ... 2(N-1)/N of the tensor each
    for r in results:
        assert torch.equal(r, torch.stack(inputs).sum(0)) and r.dtype == torch.int64


def test_ring_cost_model_is_the_formula():
    for n in (1, 2, 3, 8, 64):
        for bpp in (2, 4):
            bytes_ = 25_557_032 * bpp
            expected = 2 * (n - 1) / n * bytes_ / 50e9 + 2 * (n - 1) * 1e-5
            assert D.ring_allreduce_seconds(25_557_032, n, 50.0, bytes_per_param=bpp, latency_s=1e-5) == pytest.approx(expected)
    exercise = _solution_function("allreduce_seconds")
    assert exercise(1e8, 8, 25.0, latency_s=3e-6) == pytest.approx(D.ring_allreduce_seconds(1e8, 8, 25.0, latency_s=3e-6))
    with pytest.raises(ValueError):
        D.ring_allreduce_seconds(10, 0, 1.0)


def test_fit_link_recovers_latency_and_bandwidth():
    sizes = [4e3, 4e4, 4e5, 4e6, 1.6e7]
    seconds = [D.ring_allreduce_seconds(s / 4, 2, 0.8, latency_s=2e-4) for s in sizes]
    latency, bandwidth = D.fit_link(sizes, seconds, 2)
    assert latency == pytest.approx(2e-4, rel=1e-6) and bandwidth == pytest.approx(0.8, rel=1e-6)


def test_scaling_curves():
    workers = [1, 2, 8, 64]
    assert D.scaling_curve(0.1, 1e6, 1e9, workers) == pytest.approx(workers, rel=1e-4)  # free communication: ideal
    fixed = D.scaling_curve(0.1, 25e6, 50.0, workers, fixed_global_batch=True)
    comm = [D.ring_allreduce_seconds(25e6, n, 50.0) for n in workers]
    assert fixed == pytest.approx([0.1 / (0.1 / n + c) for n, c in zip(workers, comm)])
    assert fixed[-1] < 64 / 2  # strong scaling saturates
    assert D.step_seconds(0.1, 25e6, 1, 50.0) == 0.1


def test_scaling_figure_and_summary():
    import matplotlib.figure

    fig = D._figure_scaling(0.1, 25.6e6, 50.0, latency_s=1e-5, max_workers=64)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes[0].lines) == 3
    text = D._efficiency_summary(0.1, 25.6e6, 50.0, 8)
    assert f"{D.ring_allreduce_seconds(25.6e6, 8, 50.0) * 1e3:.3g} ms" in text


def test_torchrun_script_on_two_local_processes(tmp_path):
    limit, batch, epochs, seed, lr = 256, 16, 2, 3, 0.05
    out = tmp_path / "weights.pt"
    env = {**os.environ, "GLOO_SOCKET_IFNAME": D._loopback_interface(), "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run"]
    cmd = [
        *torchrun,
        "--nnodes",
        "1",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(D._free_port()),
        str(ROOT / "scripts" / "train_ddp.py"),
        "--epochs",
        str(epochs),
        "--batch-size",
        str(batch),
        "--limit",
        str(limit),
        "--seed",
        str(seed),
        "--lr",
        str(lr),
        "--save",
        str(out),
    ]
    run = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("epoch ") == epochs and "2 process(es)" in run.stdout, run.stdout

    # The reference: one process, batches of 2 x 16 cut from DistributedSampler's shuffle of each epoch.
    x, y = _digits(limit, seed)
    torch.manual_seed(seed)
    model = D.tiny_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(epochs):
        order = torch.randperm(limit, generator=torch.Generator().manual_seed(seed + epoch))
        for idx in order.split(2 * batch):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    trained = torch.load(out)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(trained[key], value, atol=1e-4, rtol=1e-4)
