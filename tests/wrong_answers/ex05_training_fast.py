"""Plausible wrong answers to ex05: each must lose the points of the named test cells, and only those.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # Steps through range(0, N - batch_size + 1, ...): the last, short batch silently disappears.
    "drops_the_last_batch": {
        "answers": {
            "iterate_batches": (
                "def iterate_batches(x, y, batch_size, *, shuffle=True, generator=None):\n"
                "    if batch_size < 1 or len(x) != len(y):\n"
                "        raise ValueError('bad arguments')\n"
                "    order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))\n"
                "    for start in range(0, len(x) - batch_size + 1, batch_size):\n"
                "        idx = order[start:start + batch_size]\n"
                "        yield x[idx], y[idx]\n"
            ),
        },
        "loses": ["test_iterate_batches"],
    },
    # torch.roll with one shift for the whole batch: pixels wrap around and every image moves alike.
    "rolls_the_whole_batch": {
        "answers": {
            "random_translate": (
                "def random_translate(x, max_shift, generator=None):\n"
                "    dy, dx = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()\n"
                "    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))\n"
            ),
        },
        "loses": ["test_random_translate"],
    },
    # Times one pass, no warm-up, no synchronisation, gradients on: plausible and wrong in three ways.
    "times_the_cold_start": {
        "answers": {
            "images_per_second": (
                "def images_per_second(model, x, batch_size):\n"
                "    start = time.perf_counter()\n"
                "    for i in range(0, len(x), batch_size):\n"
                "        model(x[i:i + batch_size])\n"
                "    return len(x) / (time.perf_counter() - start)\n"
            ),
        },
        "loses": ["test_images_per_second"],
    },
    # Lesson 05's own helper instead of writing it (its shifts pass every statistical check).
    "calls_the_course_helper": {
        "answers": {
            "random_translate": (
                "def random_translate(x, max_shift, generator=None):\n"
                "    return cu.speed.random_translate(x, max_shift, generator=generator)\n"
            ),
        },
        "loses": ["test_random_translate"],
    },
    # Lesson 05's helper again, copied from its source rather than called: the same bytecode runs.
    "copies_the_course_helper": {
        "answers": {
            "random_translate": (
                "import inspect\n"
                "namespace = dict(vars(cu.speed))\n"
                "exec(inspect.getsource(cu.speed.random_translate), namespace)\n"
                "random_translate = namespace['random_translate']\n"
            ),
        },
        "loses": ["test_random_translate"],
    },
    # The answer *is* the helper, wrapped in C (functools.partial): the test cell's own line calls it.
    "partial_of_the_course_helper": {
        "answers": {"random_translate": "import functools\nrandom_translate = functools.partial(cu.speed.random_translate)\n"},
        "loses": ["test_random_translate"],
    },
    # Rebinds the in-process guard, then calls the helper: the sandbox's watch of the test cell still sees it.
    "rebinds_the_guard": {
        "answers": {
            "random_translate": (
                "cu.restrictions.call_without = lambda forbidden, fn, *args, **kwargs: fn(*args, **kwargs)\n"
                "def random_translate(x, max_shift, generator=None):\n"
                "    return cu.speed.random_translate(x, max_shift, generator=generator)\n"
            ),
        },
        "loses": ["test_random_translate"],
    },
    # Starts the clock before the warm-up: the speed is about half the true one.
    "times_the_warm_up_too": {
        "answers": {
            "images_per_second": (
                "def images_per_second(model, x, batch_size):\n"
                "    model.eval()\n"
                "    with torch.no_grad():\n"
                "        cu.train.synchronize(x.device)\n"
                "        start = time.perf_counter()\n"
                "        for xb in x.split(batch_size):\n"
                "            model(xb)\n"
                "        cu.train.synchronize(x.device)\n"
                "        for xb in x.split(batch_size):\n"
                "            model(xb)\n"
                "        cu.train.synchronize(x.device)\n"
                "        seconds = time.perf_counter() - start\n"
                "    return len(x) / seconds\n"
            ),
        },
        "loses": ["test_images_per_second"],
    },
}
