"""Plausible wrong answers to ex09: each must lose the points of the named test cells, and only those.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # Splits the data into contiguous blocks and drops the remainder: a natural first guess, not DistributedSampler.
    "contiguous_blocks": {
        "answers": {
            "shard_indices": (
                "def shard_indices(n, rank, world_size, *, shuffle=False, seed=0):\n"
                "    if world_size < 1 or not 0 <= rank < world_size:\n"
                "        raise ValueError('bad rank')\n"
                "    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)\n"
                "    size = n // world_size\n"
                "    return order[rank * size:(rank + 1) * size]\n"
            ),
        },
        "loses": ["test_shard_indices"],
    },
    # Counts what one worker sends (the 2(N-1)/N formula), not all workers together; sums the stack instead of simulating.
    "counts_one_worker": {
        "answers": {
            "ring_allreduce": (
                "def ring_allreduce(tensors):\n"
                "    if not tensors or len({len(t) for t in tensors}) != 1:\n"
                "        raise ValueError('bad input')\n"
                "    n, total = len(tensors), torch.stack(tensors).sum(0)\n"
                "    return [total.clone() for _ in tensors], 2 * (n - 1) * len(tensors[0]) // n\n"
            ),
        },
        "loses": ["test_ring_allreduce"],
    },
    # Counts the sends right (the formula, chunk by chunk) but sums the stack instead of simulating the ring.
    "sums_the_stack": {
        "answers": {
            "ring_allreduce": (
                "def ring_allreduce(tensors):\n"
                "    if not tensors or len({len(t) for t in tensors}) != 1:\n"
                "        raise ValueError('bad input')\n"
                "    n, total = len(tensors), torch.stack(tensors).sum(0)\n"
                "    sizes = [len(c) for c in torch.tensor_split(tensors[0], n)]\n"
                "    return [total.clone() for _ in tensors], 2 * (n - 1) * sum(sizes) if n > 1 else 0\n"
            ),
        },
        "loses": ["test_ring_allreduce"],
    },
    # Pays the latency once per all-reduce instead of once per step.
    "latency_once": {
        "answers": {
            "allreduce_seconds": (
                "def allreduce_seconds(num_params, world_size, bandwidth_gb_per_s, *, bytes_per_param=4, latency_s=0.0):\n"
                "    if world_size < 1 or bandwidth_gb_per_s <= 0:\n"
                "        raise ValueError('bad arguments')\n"
                "    if world_size == 1:\n"
                "        return 0.0\n"
                "    return float(2 * (world_size - 1) * num_params * bytes_per_param / world_size / (bandwidth_gb_per_s * 1e9) + latency_s)\n"
            ),
        },
        "loses": ["test_allreduce_seconds"],
    },
    # Warms up from 0 (as many schedulers do), not from base_lr.
    "warms_up_from_zero": {
        "answers": {
            "scaled_learning_rate": (
                "def scaled_learning_rate(base_lr, base_batch, batch, step, warmup_steps):\n"
                "    if step < 0 or warmup_steps < 0 or base_batch < 1 or batch < 1:\n"
                "        raise ValueError('bad arguments')\n"
                "    target = base_lr * batch / base_batch\n"
                "    return float(target if step >= warmup_steps else target * step / warmup_steps)\n"
            ),
        },
        "loses": ["test_scaled_learning_rate"],
    },
}
