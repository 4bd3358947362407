"""Plausible wrong answers to ex02: each must lose the points of the named test cells, and only those.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # torch.roll moves the content but wraps it around instead of filling zeros.
    "roller": {
        "answers": {
            "shift_image": ("def shift_image(x, dx, dy):\n    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))\n"),
        },
        "loses": ["test_shift_image"],
    },
    # Row-wise cosine (PyTorch's default dim=1) averaged, and a bias counted for the input layer too.
    "per_row_and_input_bias": {
        "answers": {
            "cosine_distance": (
                "def cosine_distance(a, b):\n"
                "    if a.numel() != b.numel():\n"
                "        raise ValueError('sizes differ')\n"
                "    return float(1 - F.cosine_similarity(a, b, dim=-1).mean())\n"
            ),
            "mlp_params": (
                "def mlp_params(layer_sizes, bias=True):\n"
                "    if len(layer_sizes) < 2:\n"
                "        raise ValueError('need two sizes')\n"
                "    weights = sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))\n"
                "    return weights + (sum(layer_sizes) if bias else 0)\n"
            ),
        },
        "loses": ["test_cosine_distance", "test_mlp_params"],
    },
    # Right for shifts that stay inside the frame, but a shift past the edge breaks the slicing:
    # only the hidden tests move content out of the frame.
    "no_edge_case": {
        "answers": {
            "shift_image": (
                "def shift_image(x, dx, dy):\n"
                "    out = torch.zeros_like(x)\n"
                "    h, w = x.shape[-2:]\n"
                "    out[..., max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \\\n"
                "        x[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]\n"
                "    return out\n"
            ),
        },
        "loses": ["test_shift_image"],
    },
    # The lesson's own shift (and the test's reference): torchvision's affine. Right values, not written.
    "torchvision_affine": {
        "answers": {
            "shift_image": (
                "def shift_image(x, dx, dy):\n"
                "    return TF.affine(x, angle=0.0, translate=[dx, dy], scale=1.0, shear=[0.0, 0.0])\n"
            ),
        },
        "loses": ["test_shift_image"],
    },
}
