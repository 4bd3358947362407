"""Plausible wrong answers to ex08: each must lose the points of the named test cells (and only those).

See tests/wrong_answers/ex00_example.py for the format.
"""

STUDENTS = {
    # Averages the groups instead of taking the worst, and balances groups while ignoring the labels.
    "averages_and_ignores_labels": {
        "answers": {
            "worst_group_accuracy": (
                "def worst_group_accuracy(preds, labels, groups):\n"
                "    accs = group_accuracy(preds, labels, groups)\n"
                "    return sum(accs.values()) / len(accs)  # the mean group, not the worst\n"
            ),
            "balanced_weights": (
                "def balanced_weights(labels, groups):\n"
                "    keys = groups.tolist() if isinstance(groups, torch.Tensor) else list(groups)\n"
                "    counts = {k: keys.count(k) for k in set(keys)}  # groups only: (label, group) cells ignored\n"
                "    n = len(keys)\n"
                "    return torch.tensor([n / (len(counts) * counts[k]) for k in keys], dtype=torch.float32)\n"
            ),
        },
        "loses": ["test_worst_group_accuracy", "test_balanced_weights"],
    },
    # Calls .backward() in whatever mode the model is in, and blurs with ImageNet-C's sigma in pixels
    # whatever the image size, without checking the severity.
    "backward_and_unscaled_blur": {
        "answers": {
            "saliency_map": (
                "def saliency_map(model, x, target):\n"
                "    x = x.clone().requires_grad_(True)\n"
                "    logits = model(x)\n"
                "    t = torch.as_tensor(target).long().expand(len(x))\n"
                "    logits[torch.arange(len(x)), t].sum().backward()  # fills every parameter's .grad\n"
                "    return x.grad.abs().amax(dim=1)\n"
            ),
            "corrupt": (
                "def corrupt(x, kind, severity, generator=None):\n"
                "    if severity == 0:\n"
                "        return x.clone()\n"
                "    if kind == 'brightness':\n"
                "        return TF.adjust_brightness(x, (1.25, 1.5, 1.75, 2.0, 2.5)[severity - 1])\n"
                "    if kind == 'contrast':\n"
                "        return TF.adjust_contrast(x, (0.4, 0.3, 0.2, 0.1, 0.05)[severity - 1])\n"
                "    if kind == 'gaussian_noise':\n"
                "        sigma = (0.08, 0.12, 0.18, 0.26, 0.38)[severity - 1]\n"
                "        return (x + sigma * torch.randn(x.shape, generator=generator)).clamp(0, 1)\n"
                "    sigma = (1, 2, 3, 4, 6)[severity - 1]  # not scaled to the image width\n"
                "    k = 2 * math.ceil(3 * sigma) + 1\n"
                "    return TF.gaussian_blur(x, [k, k], [sigma, sigma])\n"
            ),
        },
        "loses": ["test_saliency_map", "test_corrupt"],
    },
    # Trains the plain way (the model reads the tag), and loops over range(max + 1), so absent groups
    # appear as NaN and string ids break it (which also breaks worst_group_accuracy, built on it).
    "plain_training_and_nan_groups": {
        "answers": {
            "train_without_shortcut": (
                "def train_without_shortcut(x, y, tags, seed=0):\n"
                "    torch.manual_seed(seed)\n"
                "    model = cu.models.small_cnn(2, 1, width=8, hidden=32)\n"
                "    cu.fit(model, (x, y), epochs=6, seed=seed, progress=False, verbose=False)\n"
                "    return model.eval()\n"
            ),
            "group_accuracy": (
                "def group_accuracy(preds, labels, groups):\n"
                "    out = {}\n"
                "    for g in range(int(groups.max()) + 1):\n"
                "        rows = groups == g\n"
                "        out[g] = (preds[rows] == labels[rows]).float().mean().item()\n"
                "    return out\n"
            ),
        },
        "loses": ["test_train_without_shortcut", "test_group_accuracy", "test_worst_group_accuracy"],
    },
}
