"""Plausible wrong answers to ex01: each must lose the points of the named test cells, and only those.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks.
"""

STUDENTS = {
    # The classic: reshape instead of permute. The shape is right, the pixels are scrambled.
    "reshaper": {
        "answers": {
            "to_tensor": (
                "def to_tensor(img):\n"
                "    t = torch.as_tensor(np.asarray(img))\n"
                "    if t.dtype != torch.uint8:\n"
                "        raise ValueError('expected uint8')\n"
                "    if t.ndim == 2:\n"
                "        t = t.unsqueeze(-1)\n"
                "    h, w, c = t.shape\n"
                "    return t.reshape(c, h, w).float() / 255\n"
            ),
        },
        "loses": ["test_to_tensor"],
    },
    # Right values, but in place on the caller's tensor; and a gray image that averages the channels equally.
    "in_place_and_plain_average": {
        "answers": {
            "normalize": (
                "def normalize(x, mean, std):\n"
                "    c = x.shape[-3]\n"
                "    mean = torch.as_tensor(mean, dtype=x.dtype).view(-1, 1, 1)\n"
                "    std = torch.as_tensor(std, dtype=x.dtype).view(-1, 1, 1)\n"
                "    if mean.numel() != c or std.numel() != c:\n"
                "        raise ValueError('one mean and std per channel')\n"
                "    return x.sub_(mean).div_(std)\n"
            ),
            "rgb_to_gray": (
                "def rgb_to_gray(x):\n"
                "    if x.shape[-3] != 3:\n"
                "        raise ValueError('need 3 channels')\n"
                "    return x.mean(dim=-3, keepdim=True)\n"
            ),
        },
        "loses": ["test_normalize", "test_rgb_to_gray"],
    },
    # Passes every visible check but ignores the bias flag: only a hidden test notices.
    "bias_always": {
        "answers": {
            "dense_params": (
                "def dense_params(in_features, out_features, bias=True):\n    return in_features * out_features + out_features\n"
            ),
        },
        "loses": ["test_dense_params"],
    },
    # Builds the layer it was told not to build and counts its parameters (right numbers, wrong method).
    "builds_the_layer": {
        "answers": {
            "dense_params": (
                "def dense_params(in_features, out_features, bias=True):\n"
                "    return sum(p.numel() for p in torch.nn.Linear(in_features, out_features, bias=bias).parameters())\n"
            ),
        },
        "loses": ["test_dense_params"],
    },
    # torchvision one-liners for the three functions the exercise asks to write (the tests' own references).
    "torchvision_one_liners": {
        "answers": {
            "to_tensor": (
                "def to_tensor(img):\n"
                "    if np.asarray(img).dtype != np.uint8:\n"
                "        raise ValueError('expected uint8 pixels')\n"
                "    return TF.to_dtype(TF.to_image(img), torch.float32, scale=True)\n"
            ),
            "normalize": (
                "def normalize(x, mean, std):\n"
                "    if len(mean) != x.shape[-3] or len(std) != x.shape[-3]:\n"
                "        raise ValueError('one mean and std per channel')\n"
                "    return TF.normalize(x, list(mean), list(std))\n"
            ),
            "rgb_to_gray": (
                "def rgb_to_gray(x):\n"
                "    if x.shape[-3] != 3:\n"
                "        raise ValueError('need 3 channels')\n"
                "    return TF.rgb_to_grayscale(x)\n"
            ),
        },
        "loses": ["test_to_tensor", "test_normalize", "test_rgb_to_gray"],
    },
}
