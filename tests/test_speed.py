"""Lesson 05's helpers: augmentation on the device, FLOP counts, the reference networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import speed


def _batch(n: int = 16, c: int = 2, h: int = 5, w: int = 6) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(0))


def _shift_reference(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move (C, H, W) content down by dy and right by dx with a loop over pixels, zeros elsewhere."""
    c, h, w = image.shape
    out = torch.zeros_like(image)
    for r in range(h):
        for k in range(w):
            if 0 <= r - dy < h and 0 <= k - dx < w:
                out[:, r, k] = image[:, r - dy, k - dx]
    return out


def test_random_flip_matches_a_reference_with_the_same_draws():
    x = _batch(64)
    out = speed.random_flip(x, torch.Generator().manual_seed(7))
    flip = torch.rand(64, generator=torch.Generator().manual_seed(7)) < 0.5
    for i in range(64):
        assert torch.equal(out[i], x[i].flip(-1) if flip[i] else x[i])
    assert 0 < int(flip.sum()) < 64
    assert not out.data_ptr() == x.data_ptr()


def test_random_translate_matches_a_pixel_loop():
    x = _batch(40)
    out = speed.random_translate(x, 2, torch.Generator().manual_seed(3))
    offsets = torch.randint(0, 5, (2, 40), generator=torch.Generator().manual_seed(3))
    seen = set()
    for i in range(40):
        dy, dx = 2 - int(offsets[0, i]), 2 - int(offsets[1, i])  # reading window offset o moves content by 2 - o
        seen.add((dy, dx))
        assert torch.equal(out[i], _shift_reference(x[i], dy, dx)), i
    assert len(seen) > 10  # each image gets its own shift
    assert out.shape == x.shape and out.dtype == x.dtype


def test_random_translate_edge_cases():
    x = _batch(4)
    same = speed.random_translate(x, 0)
    assert torch.equal(same, x) and same.data_ptr() != x.data_ptr()
    u8 = (x * 255).to(torch.uint8)
    assert speed.random_translate(u8, 1).dtype == torch.uint8
    with pytest.raises(ValueError, match="max_shift"):
        speed.random_translate(x, -1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        speed.random_translate(x[0], 1)


def test_flip_and_translate_composes_the_two_with_one_generator():
    x = _batch(8)
    augment = speed.flip_and_translate(1)
    out = augment(x, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    expected = speed.random_translate(speed.random_flip(x, g), 1, g)
    assert torch.equal(out, expected)
    assert torch.equal(speed.flip_and_translate(0, flip=False)(x, None), x)


def test_training_step_flops_counts_forward_and_backward_matmuls():
    n, a, b, c = 8, 5, 7, 3
    model = nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c))
    flops = speed.training_step_flops(model, torch.rand(n, a), torch.zeros(n, dtype=torch.long))
    # forward 2N(ab + bc); backward: both weight gradients, plus the input gradient of the second layer only.
    assert flops == 2 * n * (a * b + b * c) + 2 * n * (a * b + b * c) + 2 * n * b * c
    assert all(p.grad is None for p in model.parameters())


def test_training_step_flops_of_a_convolution():
    conv = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten())
    x = torch.rand(3, 2, 6, 6)
    forward = 2 * 3 * 4 * 4 * 4 * 2 * 3 * 3  # N * C_out * H_out * W_out * (C_in * k * k) multiply-adds
    flops = speed.training_step_flops(conv, x, torch.zeros(3, dtype=torch.long),
                                      loss_fn=lambda out, y: out.sum())  # fmt: skip
    assert flops == 2 * forward  # forward + weight gradient (the input needs none)


def test_matmul_gflops_counts_two_flops_per_multiply_add_over_the_measured_time(monkeypatch):
    # A fake clock that advances 10 ms per reading: the function reads it at the start and after every
    # 4 products, so it stops after 8 products at 20 ms and must report 2·64³·8 FLOPs / 0.02 s.
    ticks = iter(range(100))
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(ticks) * 0.01)
    assert speed.matmul_gflops(64, seconds=0.02) == pytest.approx(2 * 64**3 * 8 / 0.02 / 1e9)


def test_tutorial_net_is_the_tutorials_network():
    net = speed.tutorial_net()
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in net.parameters()) == 62_006  # 456 + 2,416 + 48,120 + 10,164 + 850
    assert [type(m).__name__ for m in net][:3] == ["Conv2d", "ReLU", "MaxPool2d"]


def test_fast_cifar_net_shapes_and_parameters():
    net = speed.fast_cifar_net()
    net.eval()
    x = torch.rand(2, 3, 32, 32)
    assert net(x).shape == (2, 10)

    def block(c_in, c_out):
        return c_in * c_out * 9 + c_out * c_out * 9 + 4 * c_out  # two convs and two batch norms

    expected = (3 * 24 * 4 + 24) + block(24, 64) + block(64, 256) + block(256, 256) + 256 * 10
    assert sum(p.numel() for p in net.parameters()) == expected
    torch.testing.assert_close(net(x), net[:-1](x) / 9)


def test_images_to_tensors_reads_photos_into_one_uint8_tensor():
    import datasets
    from PIL import Image

    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (4, 5, 3), dtype=np.uint8) for _ in range(3)]
    split = datasets.Dataset.from_dict(
        {"image": [Image.fromarray(a) for a in arrays], "label": [2, 0, 1]},
        features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}),
    )
    x, y = speed.images_to_tensors(split)
    assert x.dtype == torch.uint8 and x.shape == (3, 3, 4, 5)
    assert torch.equal(x, torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))
    assert torch.equal(y, torch.tensor([2, 0, 1]))
    resized, _ = speed.images_to_tensors(split, size=8)
    assert resized.shape == (3, 3, 8, 8)


def test_images_of_different_sizes_need_a_size():
    import datasets
    from PIL import Image

    split = datasets.Dataset.from_dict(
        {"image": [Image.new("RGB", (4, 4)), Image.new("RGB", (5, 4))], "label": [0, 1]},
        features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}),
    )
    with pytest.raises(ValueError, match="size="):
        speed.images_to_tensors(split)


def test_translate_zero_fills_like_torch_pad():
    x = torch.ones(1, 1, 4, 4)
    g = torch.Generator().manual_seed(0)
    offsets = torch.randint(0, 3, (2, 1), generator=torch.Generator().manual_seed(0))
    out = speed.random_translate(x, 1, g)
    dy, dx = int(offsets[0, 0]), int(offsets[1, 0])
    assert torch.equal(out, F.pad(x, (1, 1, 1, 1))[:, :, dy : dy + 4, dx : dx + 4])


def test_pool_first_cnn_is_small_cnn_reordered():
    import course_utils as cu

    fast = speed.pool_first_cnn(10, image_size=28)
    plain = cu.models.small_cnn(10, image_size=28)
    assert sum(p.numel() for p in fast.parameters()) == sum(p.numel() for p in plain.parameters())
    kinds = [type(m).__name__ for m in fast]
    assert kinds[:4] == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"] and kinds[-1] == "Linear"
    fast.eval()
    assert fast(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert speed.pool_first_cnn(5, 3, image_size=32, hidden=None)(torch.zeros(1, 3, 32, 32)).shape == (1, 5)
    # Max-pooling commutes with a per-channel increasing map, so with identity batch norm (eval mode,
    # fresh statistics) and the same weights, pool-then-ReLU equals ReLU-then-pool.
    plain.eval()
    with torch.no_grad():
        for p_fast, p_plain in zip(fast.parameters(), plain.parameters()):
            p_fast.copy_(p_plain)
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(fast(x), plain(x))
    with pytest.raises(ValueError, match="divisible by 4"):
        speed.pool_first_cnn(10, image_size=30)
