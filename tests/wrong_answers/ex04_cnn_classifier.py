"""Plausible wrong answers to ex04: each must lose the points of the named test cells, and only those.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # The textbook formula, exactly as written: exp overflows to inf at 1e4 (inf / inf = NaN).
    "textbook_softmax": {
        "answers": {
            "stable_softmax": (
                "def stable_softmax(logits, dim=-1):\n    e = torch.exp(logits)\n    return e / e.sum(dim=dim, keepdim=True)\n"
            ),
        },
        "loses": ["test_stable_softmax"],
    },
    # Copied a loop from memory: no zero_grad, no train()/eval(), gradients on while evaluating.
    # Every visible check passes (lr=0 hides the missing zero_grad; a model without batch norm
    # hides the modes): only the hidden tests notice.
    "forgets_the_bookkeeping": {
        "answers": {
            "train_one_epoch": (
                "def train_one_epoch(model, loader, optimizer, loss_fn, device):\n"
                "    total, count = 0.0, 0\n"
                "    for xb, yb in loader:\n"
                "        loss = loss_fn(model(xb.to(device)), yb.to(device))\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        total += loss.item() * len(yb)\n"
                "        count += len(yb)\n"
                "    return total / count\n"
            ),
            "evaluate": (
                "def evaluate(model, loader, device):\n"
                "    correct, count = 0, 0\n"
                "    for xb, yb in loader:\n"
                "        correct += (model(xb.to(device)).argmax(dim=1) == yb.to(device)).sum().item()\n"
                "        count += len(yb)\n"
                "    return correct / count\n"
            ),
        },
        "loses": ["test_train_one_epoch", "test_evaluate"],
    },
    # Averages per-batch numbers (wrong with a short last batch), and forgets padding=1,
    # so 32x32 shrinks to 6x6 and the first dense layer has the wrong size.
    "batch_averager_without_padding": {
        "answers": {
            "train_one_epoch": (
                "def train_one_epoch(model, loader, optimizer, loss_fn, device):\n"
                "    model.train()\n"
                "    losses = []\n"
                "    for xb, yb in loader:\n"
                "        loss = loss_fn(model(xb.to(device)), yb.to(device))\n"
                "        optimizer.zero_grad()\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        losses.append(loss.item())\n"
                "    return sum(losses) / len(losses)\n"
            ),
            "evaluate": (
                "def evaluate(model, loader, device):\n"
                "    model.eval()\n"
                "    accuracies = []\n"
                "    with torch.no_grad():\n"
                "        for xb, yb in loader:\n"
                "            accuracies.append((model(xb).argmax(dim=1) == yb).float().mean().item())\n"
                "    return sum(accuracies) / len(accuracies)\n"
            ),
            "build_classifier": (
                "def build_classifier(num_classes, in_channels=1):\n"
                "    return nn.Sequential(\n"
                "        nn.Conv2d(in_channels, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),\n"
                "        nn.Conv2d(16, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),\n"
                "        nn.Flatten(), nn.Linear(32 * 6 * 6, 64), nn.ReLU(), nn.Linear(64, num_classes),\n"
                "    )\n"
            ),
        },
        "loses": ["test_train_one_epoch", "test_evaluate", "test_build_classifier"],
    },
    # The library's softmax by another name: torch.special.softmax ends in the same ATen operator.
    "special_softmax": {
        "answers": {
            "stable_softmax": ("def stable_softmax(logits, dim=-1):\n    return torch.special.softmax(logits, dim)\n"),
        },
        "loses": ["test_stable_softmax"],
    },
    # Every layer type, shape and parameter count of the table, but overlapping pooling and reflect
    # padding: only comparing outputs with the same weights notices.
    "lookalike_layers": {
        "answers": {
            "build_classifier": (
                "def build_classifier(num_classes, in_channels=1):\n"
                "    return nn.Sequential(\n"
                "        nn.Conv2d(in_channels, 16, 3, padding=1, padding_mode='reflect', bias=False), nn.BatchNorm2d(16),\n"
                "        nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),\n"
                "        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),\n"
                "        nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, num_classes))\n"
            ),
        },
        "loses": ["test_build_classifier"],
    },
    # Ignores the loss_fn it is given (always plain cross-entropy); otherwise right.
    "hard_coded_loss": {
        "answers": {
            "train_one_epoch": (
                "def train_one_epoch(model, loader, optimizer, loss_fn, device):\n"
                "    model.train()\n"
                "    total, count = 0.0, 0\n"
                "    for xb, yb in loader:\n"
                "        xb, yb = xb.to(device), yb.to(device)\n"
                "        loss = F.cross_entropy(model(xb), yb)\n"
                "        optimizer.zero_grad()\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        total += loss.item() * len(yb)\n"
                "        count += len(yb)\n"
                "    return total / count\n"
            ),
        },
        "loses": ["test_train_one_epoch"],
    },
    # Right on a CPU-only laptop, broken on a GPU: never moves the batches to `device`.
    "ignores_device": {
        "answers": {
            "train_one_epoch": (
                "def train_one_epoch(model, loader, optimizer, loss_fn, device):\n"
                "    model.train()\n"
                "    total, count = 0.0, 0\n"
                "    for xb, yb in loader:\n"
                "        loss = loss_fn(model(xb), yb)\n"
                "        optimizer.zero_grad()\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        total += loss.item() * len(yb)\n"
                "        count += len(yb)\n"
                "    return total / count\n"
            ),
            "evaluate": (
                "def evaluate(model, loader, device):\n"
                "    model.eval()\n"
                "    correct, count = 0, 0\n"
                "    with torch.no_grad():\n"
                "        for xb, yb in loader:\n"
                "            correct += (model(xb).argmax(dim=1) == yb).sum().item()\n"
                "            count += len(yb)\n"
                "    return correct / count\n"
            ),
        },
        "loses": ["test_train_one_epoch", "test_evaluate"],
    },
    # Returns a tensor (fails "returns a Python float") and patches the class of the grader's recorder so that
    # every check_true records True: the grader's own code changed, so no test cell after it is scored.
    "forges_the_recorder": {
        "answers": {
            "train_one_epoch": (
                "_Recorder = type(__p2l_record__)\n"
                "_measure = _Recorder._measure\n"
                "def _forged(self, kind, thunk, budget):\n"
                "    return _measure(self, kind, (lambda: True) if kind == 'true' else thunk, budget)\n"
                "_Recorder._measure = _forged\n"
                "def train_one_epoch(model, loader, optimizer, loss_fn, device):\n"
                "    model.train()\n"
                "    total, count = 0.0, 0\n"
                "    for xb, yb in loader:\n"
                "        xb, yb = xb.to(device), yb.to(device)\n"
                "        loss = loss_fn(model(xb), yb)\n"
                "        optimizer.zero_grad()\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        total += loss.item() * len(yb)\n"
                "        count += len(yb)\n"
                "    return torch.tensor(total / count)\n"
            ),
        },
        "loses": ["test_train_one_epoch", "test_evaluate"],
    },
}
