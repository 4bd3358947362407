"""Plausible wrong answers to ex07: each must lose the points of the named test cells.

See ex00_example.py for the format. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # Calls the course's own counter instead of writing the sum.
    "course_counter": {
        "answers": {
            "count_trainable": "def count_trainable(model):\n    return cu.models.count_params(model, trainable_only=True)\n",
        },
        "loses": ["test_count_trainable"],
    },
    # Sets requires_grad correctly but forgets batch norm; bolts on a head without a bias.
    "forgot_batch_norm": {
        "answers": {
            "freeze": (
                "def freeze(model, trainable=()):\n"
                "    for name, p in model.named_parameters():\n"
                "        p.requires_grad_(name.startswith(tuple(trainable)))\n"
                "    return model\n"
            ),
            "replace_head": (
                "def replace_head(model, num_classes):\n"
                "    for name in ('fc', 'classifier'):\n"
                "        old = getattr(model, name, None)\n"
                "        if isinstance(old, nn.Linear):\n"
                "            new = nn.Linear(old.in_features, num_classes, bias=False) if num_classes else nn.Identity()\n"
                "            setattr(model, name, new)\n"
                "            return model\n"
                "    raise ValueError('no fc or classifier head')\n"
            ),
        },
        "loses": ["test_freeze", "test_replace_head"],
    },
    # Extracts features in whatever mode the model is in (train mode: batch statistics),
    # and counts every parameter, frozen or not.
    "train_mode_features": {
        "answers": {
            "extract_features": (
                "def extract_features(backbone, images, batch_size=64):\n"
                "    with torch.no_grad():\n"
                "        return torch.cat([backbone(b).flatten(1) for b in images.split(batch_size)])\n"
            ),
            "count_trainable": ("def count_trainable(model):\n    return sum(p.numel() for p in model.parameters())\n"),
        },
        "loses": ["test_extract_features", "test_count_trainable"],
    },
    # Compares whole names with the prefixes (so 'fc.weight' is not 'fc': the head stays frozen)
    # and writes a hook that returns the module; scores the probe on its own training set.
    "whole_names_train_accuracy": {
        "answers": {
            "freeze": (
                "def freeze(model, trainable=()):\n"
                "    for name, p in model.named_parameters():\n"
                "        p.requires_grad_(name in trainable)\n"
                "    for m in model.modules():\n"
                "        if isinstance(m, nn.BatchNorm2d):\n"
                "            m.register_forward_pre_hook(lambda mod, args: mod.eval())\n"
                "    return model\n"
            ),
            "linear_probe": (
                "def linear_probe(train_feats, train_labels, test_feats, test_labels):\n"
                "    from sklearn.linear_model import LogisticRegression\n"
                "    clf = LogisticRegression(max_iter=1000).fit(train_feats.numpy(), train_labels.numpy())\n"
                "    return float(clf.score(train_feats.numpy(), train_labels.numpy()))\n"
            ),
        },
        "loses": ["test_freeze", "test_linear_probe"],
    },
    # Substitutes for a linear probe that pass on well-separated clusters: nearest centroid, and 1-nearest-neighbour.
    "nearest_centroid": {
        "answers": {
            "linear_probe": (
                "def linear_probe(train_feats, train_labels, test_feats, test_labels):\n"
                "    classes = train_labels.unique()\n"
                "    centres = torch.stack([train_feats[train_labels == c].mean(0) for c in classes])\n"
                "    preds = classes[torch.cdist(test_feats, centres).argmin(1)]\n"
                "    return (preds == test_labels).float().mean().item()\n"
            ),
        },
        "loses": ["test_linear_probe"],
    },
    "one_nearest_neighbour": {
        "answers": {
            "linear_probe": (
                "def linear_probe(train_feats, train_labels, test_feats, test_labels):\n"
                "    preds = train_labels[torch.cdist(test_feats, train_feats).argmin(1)]\n"
                "    return (preds == test_labels).float().mean().item()\n"
            ),
        },
        "loses": ["test_linear_probe"],
    },
    # Right on a CPU-only laptop, wrong beside a GPU: one forgets to move the batches to the backbone's
    # device, the other leaves the features there instead of bringing them back to the CPU.
    "batches_stay_on_the_cpu": {
        "answers": {
            "extract_features": (
                "def extract_features(backbone, images, batch_size=64):\n"
                "    was_training = backbone.training\n"
                "    backbone.eval()\n"
                "    with torch.no_grad():\n"
                "        feats = torch.cat([backbone(b).flatten(1).cpu() for b in images.split(batch_size)])\n"
                "    backbone.train(was_training)\n"
                "    return feats\n"
            ),
        },
        "loses": ["test_extract_features"],
    },
    "features_left_on_the_device": {
        "answers": {
            "extract_features": (
                "def extract_features(backbone, images, batch_size=64):\n"
                "    device = next(backbone.parameters()).device\n"
                "    was_training = backbone.training\n"
                "    backbone.eval()\n"
                "    with torch.no_grad():\n"
                "        feats = torch.cat([backbone(b.to(device)).flatten(1) for b in images.split(batch_size)])\n"
                "    backbone.train(was_training)\n"
                "    return feats\n"
            ),
        },
        "loses": ["test_extract_features"],
    },
}
