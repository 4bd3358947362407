"""Plausible wrong answers to ex06b: each must lose the points of the named test cells, and only those.

See tests/wrong_answers/ex00_example.py for the format.
"""

STUDENTS = {
    # Always projects the shortcut, even when stride is 1 and the channels match:
    # it works, but it is not ResNet's block (extra parameters, a different output).
    "always_projects": {
        "answers": {
            "residual_block": (
                "def residual_block(in_channels, out_channels, stride=1):\n"
                "    class Block(nn.Module):\n"
                "        def __init__(self):\n"
                "            super().__init__()\n"
                "            self.main = nn.Sequential(\n"
                "                nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels),\n"
                "                nn.ReLU(), nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels))\n"
                "            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),\n"
                "                                      nn.BatchNorm2d(out_channels))\n"
                "        def forward(self, x):\n"
                "            return torch.relu(self.main(x) + self.skip(x))\n"
                "    return Block()\n"
            ),
        },
        "loses": ["test_residual_block"],
    },
    # Forgets groups=in_channels: the "depthwise" layer is a full 3x3 convolution,
    # so the block costs more than the standard convolution it was meant to replace.
    "depthwise_without_groups": {
        "answers": {
            "depthwise_separable": (
                "def depthwise_separable(in_channels, out_channels, stride=1):\n"
                "    return nn.Sequential(\n"
                "        nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1, bias=False),\n"
                "        nn.BatchNorm2d(in_channels), nn.ReLU(),\n"
                "        nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())\n"
            ),
        },
        "loses": ["test_depthwise_separable"],
    },
    # Prices only the depthwise part and forgets the pointwise 1x1 convolution: 1 / C_out.
    "forgets_pointwise": {
        "answers": {
            "separable_cost_ratio": (
                "def separable_cost_ratio(in_channels, out_channels, kernel_size):\n"
                "    k2 = kernel_size * kernel_size\n"
                "    return float(k2 * in_channels / (k2 * in_channels * out_channels))\n"
            ),
        },
        "loses": ["test_separable_cost_ratio"],
    },
    # Calls backward() (accumulating into .grad, then zeroing it) and restores only
    # the top-level mode: right norms on a fresh eval-mode model, wrong side effects
    # on a model with existing gradients and a frozen batch norm.
    "clobbers_grads_and_modes": {
        "answers": {
            "gradient_norms": (
                "def gradient_norms(model, x, y, loss_fn):\n"
                "    was_training = model.training\n"
                "    model.train()\n"
                "    model.zero_grad(set_to_none=True)\n"
                "    loss_fn(model(x), y).backward()\n"
                "    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]\n"
                "    norms = [float(m.weight.grad.norm()) for m in layers]\n"
                "    model.zero_grad(set_to_none=True)\n"
                "    model.train(was_training)\n"
                "    return norms\n"
            ),
        },
        "loses": ["test_gradient_norms"],
    },
    # Restores every mode and every .grad but lets the train-mode forward pass move batch norm's running statistics.
    "moves_running_stats": {
        "answers": {
            "gradient_norms": (
                "def gradient_norms(model, x, y, loss_fn):\n"
                "    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]\n"
                "    modes = [(m, m.training) for m in model.modules()]\n"
                "    model.train()\n"
                "    grads = torch.autograd.grad(loss_fn(model(x), y), [m.weight for m in layers])\n"
                "    for m, mode in modes:\n"
                "        m.train(mode)\n"
                "    return [float(g.norm()) for g in grads]\n"
            ),
        },
        "loses": ["test_gradient_norms"],
    },
    # Calls the blocks the checks compare with, instead of writing them (issue 14: library instead of writing).
    "ready_made_blocks": {
        "answers": {
            "residual_block": (
                "def residual_block(in_channels, out_channels, stride=1):\n"
                "    return cu.architectures.basic_block(in_channels, out_channels, stride)\n"
            ),
            "depthwise_separable": (
                "def depthwise_separable(in_channels, out_channels, stride=1):\n"
                "    return cu.architectures.separable_block(in_channels, out_channels, stride)\n"
            ),
        },
        "loses": ["test_residual_block", "test_depthwise_separable"],
    },
    # torchvision's own BasicBlock, given the projection it needs: right behaviour, not written.
    "torchvision_block": {
        "answers": {
            "residual_block": (
                "def residual_block(in_channels, out_channels, stride=1):\n"
                "    from torchvision.models.resnet import BasicBlock\n"
                "    down = None\n"
                "    if stride != 1 or in_channels != out_channels:\n"
                "        down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),\n"
                "                             nn.BatchNorm2d(out_channels))\n"
                "    return BasicBlock(in_channels, out_channels, stride, downsample=down)\n"
            ),
        },
        "loses": ["test_residual_block"],
    },
    "course_gradient_norms": {
        "answers": {
            "gradient_norms": (
                "def gradient_norms(model, x, y, loss_fn):\n    return cu.architectures.gradient_norms(model, x, y, loss_fn)\n"
            ),
        },
        "loses": ["test_gradient_norms"],
    },
}
