"""Plausible wrong answers to ex03: each must lose the points of the named test cells, and only those.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # The textbook convolution: flips the kernel. Right for symmetric kernels only.
    "true_convolution": {
        "answers": {
            "conv2d": (
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    x = F.pad(x, (padding,) * 4)\n"
                "    w = weight.flip(-2, -1)\n"
                "    kh, kw = w.shape[-2:]\n"
                "    win = x.unfold(2, kh, stride).unfold(3, kw, stride)\n"
                "    out = torch.einsum('ncijab,kcab->nkij', win, w)\n"
                "    return out if bias is None else out + bias.view(1, -1, 1, 1)\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # Calls the library instead of computing; and starts each maximum at 0 (wrong for negative maps).
    "library_and_zero_max": {
        "answers": {
            "conv2d": (
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    return F.conv2d(x, weight, bias, stride=stride, padding=padding)\n"
            ),
            "max_pool2d": (
                "def max_pool2d(x, kernel_size, stride=None):\n"
                "    stride = stride or kernel_size\n"
                "    n, c, h, w = x.shape\n"
                "    ho, wo = (h - kernel_size) // stride + 1, (w - kernel_size) // stride + 1\n"
                "    out = torch.zeros(n, c, ho, wo, dtype=x.dtype)\n"
                "    for i in range(ho):\n"
                "        for j in range(wo):\n"
                "            win = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]\n"
                "            out[:, :, i, j] = torch.maximum(out[:, :, i, j], win.amax(dim=(-2, -1)))\n"
                "    return out\n"
            ),
        },
        "loses": ["test_conv2d", "test_max_pool2d"],
    },
    # Forgets the + 1 in the size formula; adds kernel sizes but ignores strides in the receptive field.
    "off_by_one_and_no_jump": {
        "answers": {
            "conv_output_size": (
                "def conv_output_size(size, kernel_size, stride=1, padding=0):\n"
                "    if kernel_size > size + 2 * padding:\n"
                "        raise ValueError('kernel too large')\n"
                "    return (size + 2 * padding - kernel_size) // stride\n"
            ),
            "receptive_field": ("def receptive_field(layers):\n    return 1 + sum(k - 1 for k, s in layers)\n"),
        },
        "loses": ["test_conv_output_size", "test_receptive_field"],
    },
    # Loops over positions correctly, but ignores stride and padding: only hidden tests use them on values.
    "no_stride": {
        "answers": {
            "conv2d": (
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    n, c, h, w = x.shape\n"
                "    k, _, kh, kw = weight.shape\n"
                "    out = torch.zeros(n, k, h - kh + 1, w - kw + 1, dtype=x.dtype)\n"
                "    for i in range(h - kh + 1):\n"
                "        for j in range(w - kw + 1):\n"
                "            win = x[:, None, :, i:i + kh, j:j + kw]\n"
                "            out[:, :, i, j] = (win * weight[None]).sum(dim=(2, 3, 4))\n"
                "    if bias is not None:\n"
                "        out += bias.view(1, -1, 1, 1)\n"
                "    return out\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # Other routes to the same library kernels: a 3-D convolution on an unsqueezed input, and the ATen operator
    # behind F.max_pool2d called directly. The guard watches the dispatcher, so both lose their cells.
    "other_library_routes": {
        "answers": {
            "conv2d": (
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    out = F.conv3d(x.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, stride, stride),\n"
                "                   padding=(0, padding, padding))\n"
                "    return out.squeeze(2)\n"
            ),
            "max_pool2d": (
                "def max_pool2d(x, kernel_size, stride=None):\n"
                "    stride = kernel_size if stride is None else stride\n"
                "    return torch.ops.aten.max_pool2d_with_indices(x, [kernel_size] * 2, [stride] * 2)[0]\n"
            ),
        },
        "loses": ["test_conv2d", "test_max_pool2d"],
    },
    # Switches the in-process guard off in one line, then calls the library. The sandbox watches the test cell
    # itself (grader/_worker.py, _prepare_watch), so rebinding cu.restrictions.call_without changes nothing.
    "rebinds_the_guard": {
        "answers": {
            "conv2d": (
                "import torch.nn.functional as F\n"
                "cu.restrictions.call_without = lambda forbidden, fn, *args, **kwargs: fn(*args, **kwargs)\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    return F.conv2d(x, weight, bias, stride=stride, padding=padding)\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # Takes the watchers off around the library call and puts them back: the watch reports the attempt first.
    "pops_the_watchers": {
        "answers": {
            "conv2d": (
                "import sys\n"
                "import torch\n"
                "import torch.nn.functional as F\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    hook = sys.getprofile()\n"
                "    sys.setprofile(None)\n"
                "    mode = torch._C._pop_torch_dispatch_stack(None)\n"
                "    try:\n"
                "        return F.conv2d(x, weight, bias, stride=stride, padding=padding)\n"
                "    finally:\n"
                "        torch._C._push_on_torch_dispatch_stack(mode)\n"
                "        sys.setprofile(hook)\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # The dispatch mode is per thread: the library call runs in a thread of its own.
    "conv_in_a_thread": {
        "answers": {
            "conv2d": (
                "import threading\n"
                "import torch.nn.functional as F\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    out = []\n"
                "    job = lambda: out.append(F.conv2d(x, weight, bias, stride=stride, padding=padding))\n"
                "    worker = threading.Thread(target=job)\n"
                "    worker.start()\n"
                "    worker.join()\n"
                "    return out[0]\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # The answer *is* the library function: the test cell itself then calls it.
    "names_the_library_function": {
        "answers": {"conv2d": "conv2d = torch.nn.functional.conv2d\n"},
        "loses": ["test_conv2d"],
    },
    # Compiles the library call under the running test cell's own file name, so that it looks like the test's.
    "compiles_as_the_test": {
        "answers": {
            "conv2d": (
                "import sys\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    test = sys._getframe(1)\n"
                "    code = compile('\\n' * 40 + 'out = torch.nn.functional.conv2d(*args)', test.f_code.co_filename, 'exec')\n"
                "    scope = {'torch': torch, 'args': (x, weight, bias, stride, padding)}\n"
                "    exec(code, test.f_globals, scope)\n"
                "    return scope['out']\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # The same through IPython's own compiler, which calls compile() from library code.
    "compiles_as_the_test_through_ipython": {
        "answers": {
            "conv2d": (
                "import sys\n"
                "import types\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    test = sys._getframe(1)\n"
                "    source = '\\n' * 40 + 'def lib(*args):\\n    return torch.nn.functional.conv2d(*args)'\n"
                "    module = get_ipython().compile(source, test.f_code.co_filename, 'exec')\n"
                "    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))\n"
                "    return types.FunctionType(code, test.f_globals)(x, weight, bias, stride, padding)\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # tqdm's monitor thread is allowed; this one runs the library call in its place.
    "tqdm_monitor_does_it": {
        "answers": {
            "conv2d": (
                "import tqdm._monitor\n"
                "import torch.nn.functional as F\n"
                "_box = {}\n"
                "def _run(self):\n"
                "    _box['out'] = F.conv2d(*_box['args'])\n"
                "tqdm._monitor.TMonitor.run = _run\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    _box['args'] = (x, weight, bias, stride, padding)\n"
                "    tqdm._monitor.TMonitor(object, 10).join()\n"
                "    return _box['out']\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # A thread started with the answer waits for work: the watched call hands it the inputs. Every watched test
    # cell that starts while the thread runs is reported, so both library-guarded cells are lost.
    "thread_started_earlier": {
        "answers": {
            "conv2d": (
                "import queue\n"
                "import threading\n"
                "import torch.nn.functional as F\n"
                "_jobs, _results = queue.Queue(), queue.Queue()\n"
                "def _serve():\n"
                "    while True:\n"
                "        x, weight, bias, stride, padding = _jobs.get()\n"
                "        _results.put(F.conv2d(x, weight, bias, stride=stride, padding=padding))\n"
                "threading.Thread(target=_serve, daemon=True).start()\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    _jobs.put((x, weight, bias, stride, padding))\n"
                "    return _results.get()\n"
            ),
        },
        "loses": ["test_conv2d", "test_max_pool2d"],
    },
    # Turns PyTorch's Python dispatch off (the watch's operator view) and calls the ATen operator by name.
    "dispatch_switched_off": {
        "answers": {
            "conv2d": (
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    with torch._C._DisableTorchDispatch():\n"
                "        return torch.ops.aten.convolution(\n"
                "            x, weight, bias, [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], 1\n"
                "        )\n"
            ),
        },
        "loses": ["test_conv2d"],
    },
    # Must pass: its own convolution (unfold + einsum) beside a tqdm bar, whose monitor thread is not the student's.
    "own_unfold_with_tqdm": {
        "answers": {
            "conv2d": (
                "from tqdm.auto import tqdm\n"
                "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                "    if padding:\n"
                "        x = torch.nn.functional.pad(x, (padding,) * 4)\n"
                "    kh, kw = weight.shape[2:]\n"
                "    patches = x.unfold(2, kh, stride).unfold(3, kw, stride)\n"
                "    out = torch.einsum('nchwij,ocij->nohw', patches, weight)\n"
                "    for _ in tqdm(range(1)):\n"
                "        pass\n"
                "    return out if bias is None else out + bias.view(1, -1, 1, 1)\n"
            ),
        },
        "loses": [],
    },
}
