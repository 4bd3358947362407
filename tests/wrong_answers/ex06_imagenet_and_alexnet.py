"""Plausible wrong answers to ex06: each must lose the points of the named test cells, and only those.

See tests/wrong_answers/ex00_example.py for the format.
"""

STUDENTS = {
    # Uses torch.topk, which breaks ties its own way: right on every tie-free
    # example, wrong on the hidden ties (where ties must count against the label).
    "topk_breaks_ties": {
        "answers": {
            "top_k_error": (
                "def top_k_error(logits, labels, k=5):\n"
                "    if not 1 <= k <= logits.shape[1]:\n"
                "        raise ValueError(f'k={k} must be between 1 and K={logits.shape[1]}')\n"
                "    top = torch.topk(logits, k, dim=1).indices\n"
                "    hit = (top == labels[:, None]).any(dim=1)\n"
                "    return float(1 - hit.float().mean())\n"
            ),
        },
        "loses": ["test_top_k_error"],
    },
    # Forgets that each filter of a grouped convolution reads only in_channels // groups
    # channels: every ungrouped layer is right, AlexNet's two-GPU layers are not.
    # model_cost (correct itself) inherits the mistake through conv2d_cost.
    "ignores_groups": {
        "answers": {
            "conv2d_cost": (
                "def conv2d_cost(in_channels, out_channels, kernel_size, out_height, out_width, bias=True, groups=1):\n"
                "    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size\n"
                "    weights = out_channels * in_channels * kh * kw\n"
                "    return weights + (out_channels if bias else 0), weights * out_height * out_width\n"
            ),
        },
        "loses": ["test_conv2d_cost", "test_model_cost"],
    },
    # Uses each convolution's INPUT size instead of its output size: right for
    # stride-1 'same' convolutions, wrong as soon as a stride or missing padding shrinks the maps.
    "input_size_not_output": {
        "answers": {
            "model_cost": (
                "def model_cost(model, input_shape):\n"
                "    seen = {}\n"
                "    def remember(layer, inputs, output):\n"
                "        seen[layer] = tuple(inputs[0].shape)\n"
                "    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]\n"
                "    handles = [layer.register_forward_hook(remember) for layer in layers]\n"
                "    with torch.no_grad():\n"
                "        model(torch.zeros(1, *input_shape))\n"
                "    for h in handles:\n"
                "        h.remove()\n"
                "    params = macs = 0\n"
                "    for layer in layers:\n"
                "        if isinstance(layer, nn.Conv2d):\n"
                "            p, m = conv2d_cost(layer.in_channels, layer.out_channels, layer.kernel_size,\n"
                "                               seen[layer][-2], seen[layer][-1], bias=layer.bias is not None,\n"
                "                               groups=layer.groups)\n"
                "        else:\n"
                "            p, m = linear_cost(layer.in_features, layer.out_features, bias=layer.bias is not None)\n"
                "        params, macs = params + p, macs + m\n"
                "    return params, macs\n"
            ),
        },
        "loses": ["test_model_cost"],
    },
    # Lets the course's FLOP counter do the work and counts every parameter PyTorch holds.
    "measured_not_computed": {
        "answers": {
            "model_cost": (
                "def model_cost(model, input_shape):\n"
                "    return sum(p.numel() for p in model.parameters()), cu.costs.measured_flops(model, input_shape) // 2\n"
            ),
        },
        "loses": ["test_model_cost"],
    },
    # The same with no course helper: FlopCounterMode directly (and only Conv2d/Linear parameters).
    "flop_counter_directly": {
        "answers": {
            "model_cost": (
                "def model_cost(model, input_shape):\n"
                "    from torch.utils.flop_counter import FlopCounterMode\n"
                "    counter = FlopCounterMode(display=False)\n"
                "    with counter, torch.no_grad():\n"
                "        model(torch.zeros(1, *input_shape))\n"
                "    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]\n"
                "    return sum(p.numel() for m in layers for p in m.parameters()), counter.get_total_flops() // 2\n"
            ),
        },
        "loses": ["test_model_cost"],
    },
}
