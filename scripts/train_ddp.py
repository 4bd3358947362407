"""Train a small CNN on handwritten digits with DistributedDataParallel — the script lesson 09 points to.

The same file runs unchanged on one laptop, on several GPUs, and on many nodes;
only the launcher's flags change. `torchrun` starts the processes and gives
each RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT.

One machine, 2 processes on the CPU (the `gloo` backend; what the tests run)::

    torchrun --nproc-per-node 2 scripts/train_ddp.py --epochs 1

One machine with 8 GPUs (the `nccl` backend is chosen when CUDA is present)::

    torchrun --nproc-per-node 8 scripts/train_ddp.py

Two machines with 8 GPUs each: run the same line on both; node0 is the first
machine's address, and all nodes must agree on the run id::

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint node0.example:29500 --rdzv-id digits42 scripts/train_ddp.py

A Slurm cluster: `sbatch scripts/slurm_ddp.sbatch` (it runs the line above on
every node Slurm gives it). On Kubernetes, the Kubeflow training operator's
PyTorchJob starts the same torchrun command in each pod.

Data comes from the course's offline digits (4,000 training images); nothing
is downloaded. Rank 0 prints one line per epoch and, with ``--save``, writes
the final weights.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import course_utils as cu


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="per process; the global batch is this times the world size")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training images of a fixed shuffle (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default="", help="rank 0 saves the final state_dict here")
    return parser.parse_args(argv)


def load_digits(limit: int, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """The digits as tensors; the training file is sorted by label, so a subset is drawn at random (seeded)."""
    digits = cu.data.load("digits", source="mnist5k")
    x, y = cu.data.to_tensors(digits["train"])
    if limit:
        pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:limit]
        x, y = x[pick], y[pick]
    return TensorDataset(x, y), TensorDataset(*cu.data.to_tensors(digits["test"]))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")  # reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    if cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world))))
    try:
        train, test = load_digits(args.limit, args.seed)
        sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
        loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
        torch.manual_seed(args.seed)  # the same start everywhere (DDP also copies rank 0's weights)
        model = DDP(cu.distributed.tiny_cnn().to(device), device_ids=[device.index] if cuda else None)
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
        for epoch in range(args.epochs):
            sampler.set_epoch(epoch)  # a different shuffle each epoch, the same in every process
            model.train()
            start, total = time.perf_counter(), torch.zeros(2, device=device)
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()  # DDP averages the gradients over all processes here
                optimizer.step()
                total += torch.stack([loss.detach() * len(xb), torch.tensor(float(len(xb)), device=device)])
            dist.all_reduce(total)  # the mean loss over every process's samples
            if rank == 0:
                model.eval()
                with torch.no_grad():
                    x_test, y_test = test.tensors
                    acc = (model.module(x_test.to(device)).argmax(1).cpu() == y_test).float().mean().item()
                print(
                    f"epoch {epoch + 1}/{args.epochs}: {world} process(es), mean training loss "
                    f"{(total[0] / total[1]).item():.4f}, test accuracy {acc:.1%}, {time.perf_counter() - start:.1f} s",
                    flush=True,
                )
        if rank == 0 and args.save:
            torch.save({k: v.cpu() for k, v in model.module.state_dict().items()}, args.save)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
    # Work saved, group closed: leave at once, without tearing down the interpreter and torch's C++ state.
    # A gloo process of torch 2.14.1 now and then aborted on its way out ("terminate called without an
    # active exception") after finishing its work, and torchrun then reported the whole run as failed.
    sys.stdout.flush()
    os._exit(0)
