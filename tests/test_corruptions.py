"""course_utils.corruptions against torchvision.transforms.v2.functional references."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.v2.functional as F

from course_utils import corruptions as C


def _batch(c=3, size=32, n=2):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("severity", [1, 3, 5])
def test_brightness_and_contrast_match_torchvision(severity):
    x = _batch()
    torch.testing.assert_close(C.corrupt(x, "brightness", severity),
                               F.adjust_brightness(x, (1.25, 1.5, 1.75, 2.0, 2.5)[severity - 1]))  # fmt: skip
    torch.testing.assert_close(C.corrupt(x, "contrast", severity),
                               F.adjust_contrast(x, (0.4, 0.3, 0.2, 0.1, 0.05)[severity - 1]))  # fmt: skip


def test_contrast_is_per_image_on_grayscale_batches():
    x = _batch(c=1, n=3)
    got = C.corrupt(x, "contrast", 2)
    for i in range(3):
        mean = x[i].mean()
        torch.testing.assert_close(got[i], (0.3 * x[i] + 0.7 * mean).clamp(0, 1))


@pytest.mark.parametrize("size", [32, 224])
def test_blur_scales_imagenet_c_sigma_to_the_image(size):
    x = _batch(size=size, n=1)
    sigma = 3 * size / 224
    k = 2 * math.ceil(3 * sigma) + 1
    torch.testing.assert_close(C.corrupt(x, "gaussian_blur", 3), F.gaussian_blur(x, [k, k], [sigma, sigma]))


def test_noise_matches_torchvision_with_the_same_random_stream():
    x = _batch()
    torch.manual_seed(7)
    expected = F.gaussian_noise(x, sigma=0.18)
    torch.manual_seed(7)
    torch.testing.assert_close(C.corrupt(x, "gaussian_noise", 3), expected)
    a = C.corrupt(x, "gaussian_noise", 5, torch.Generator().manual_seed(1))
    b = C.corrupt(x, "gaussian_noise", 5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1


def test_jpeg_and_rotate_match_torchvision():
    x = _batch()
    pixels = (x * 255).round().to(torch.uint8)
    torch.testing.assert_close(C.corrupt(x, "jpeg", 4), F.jpeg(pixels, 10).float() / 255)
    torch.testing.assert_close(C.corrupt(x, "rotate", 2),
                               F.rotate(x, 20.0, interpolation=F.InterpolationMode.BILINEAR).clamp(0, 1))  # fmt: skip


def test_single_image_and_severity_zero():
    x = _batch(n=1)[0]
    out = C.corrupt(x, "jpeg", 0)
    assert torch.equal(out, x) and out is not x
    assert C.corrupt(x, "brightness", 5).shape == x.shape


@pytest.mark.parametrize("severity", [-1, 6, 2.5, True, "3"])
def test_bad_severity_is_a_clear_error(severity):
    with pytest.raises(ValueError, match="severity must be an integer from 0"):
        C.corrupt(_batch(), "contrast", severity)


def test_bad_kind_and_bad_images():
    with pytest.raises(ValueError, match="unknown corruption kind 'fog'"):
        C.corrupt(_batch(), "fog", 1)
    with pytest.raises(ValueError, match="float images"):
        C.corrupt((_batch() * 255).to(torch.uint8), "contrast", 1)
    with pytest.raises(ValueError, match="float images"):
        C.corrupt(torch.rand(32, 32), "contrast", 1)


def test_corruption_parameter_table():
    assert C.corruption_parameter("gaussian_noise", 1) == 0.08
    assert C.corruption_parameter("jpeg", 5) == 7
    with pytest.raises(ValueError, match="clean"):
        C.corruption_parameter("jpeg", 0)


def test_figures_build():
    fig = C.figure_corruption_grid(_batch(n=1)[0], ["contrast", "jpeg"], title="t")
    assert len(fig.axes) == 12
    fig = C.figure_severity_curves({"contrast": [1, 0.9, 0.8, 0.5, 0.4, 0.3]}, title="t", ylabel="acc", chance=0.5,
                                   extra={"contrast": [1, 1, 1, 1, 1, 1]}, extra_ylabel="conf")  # fmt: skip
    assert len(fig.axes) == 2


class _FakeBundle:
    """Stands in for `cu.models.Pretrained`: a tiny model, a resize-only transform, mean/std normalisation."""

    def __init__(self):
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                         torch.nn.Linear(4, 5)).eval()  # fmt: skip
        self.mean, self.std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)

    def preprocess(self, photos):
        batch = torch.stack([torch.as_tensor(p).permute(2, 0, 1).float() / 255 for p in photos])
        mean, std = torch.tensor(self.mean).view(1, 3, 1, 1), torch.tensor(self.std).view(1, 3, 1, 1)
        return (batch - mean) / std


def test_photo_crops_undo_the_normalisation():
    photos = [torch.randint(0, 256, (16, 16, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(i))
              for i in range(2)]  # fmt: skip
    crops = C.photo_crops(_FakeBundle(), photos)
    torch.testing.assert_close(crops, torch.stack([p.permute(2, 0, 1).float() / 255 for p in photos]))


def test_classify_corrupted_matches_running_the_model_on_each_image():
    bundle = _FakeBundle()
    crops = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    kinds = ["contrast", "gaussian_noise"]
    out = C.classify_corrupted(bundle, crops, kinds, seed=3, batch_size=5, progress=False)
    assert out["images"].shape == (2, 2, 6, 3, 16, 16) and out["images"].dtype == torch.uint8
    assert out["probs"].shape == (2, 2, 6, 5)
    # Severity 0 is the clean photo for every kind; the noise follows the seeded generator in order.
    gen = torch.Generator().manual_seed(3)
    for i, kind in enumerate(kinds):
        for sev in range(6):
            expected = crops if sev == 0 else C.corrupt(crops, kind, sev, gen)
            pixels = (expected * 255).round().to(torch.uint8)
            assert torch.equal(out["images"][:, i, sev], pixels)
            mean, std = torch.tensor(bundle.mean).view(1, 3, 1, 1), torch.tensor(bundle.std).view(1, 3, 1, 1)
            with torch.no_grad():
                probs = bundle.model((pixels.float() / 255 - mean) / std).softmax(-1)
            torch.testing.assert_close(out["probs"][:, i, sev], probs)


def test_figure_corrupted_prediction_marks_accepted_classes():
    probs = torch.tensor([0.1, 0.6, 0.2, 0.05, 0.05])
    fig = C._figure_corrupted_prediction(torch.zeros(3, 8, 8, dtype=torch.uint8), probs, list("abcde"), title="t",
                                         accepted=["c"])  # fmt: skip
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels[:2] == ["b", "✓ c"]


def test_classify_corrupted_batches_all_photos_in_eval_mode_and_returns_ordinary_tensors():
    bundle = _FakeBundle()
    bundle.model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5),
                                       torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 5))  # fmt: skip
    bundle.model(torch.rand(8, 3, 16, 16))  # running statistics away from their defaults
    bundle.model.train()
    crops = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    calls = []
    bundle.model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    out = C.classify_corrupted(bundle, crops, ["jpeg", "rotate"], progress=False)
    assert calls == [3] * (1 + 2 * 5), "one forward pass over all photos for the clean ones and per corruption/severity"
    assert bundle.model.training, "the model's mode must be restored"
    assert not out["probs"].is_inference() and not out["images"].is_inference()
    bundle.model.eval()
    with torch.no_grad():
        mean, std = torch.tensor(bundle.mean).view(1, 3, 1, 1), torch.tensor(bundle.std).view(1, 3, 1, 1)
        expected = bundle.model((out["images"][:, 1, 4].float() / 255 - mean) / std).softmax(-1)
    torch.testing.assert_close(out["probs"][:, 1, 4], expected)
    with pytest.raises(ValueError, match="batch_size"):
        C.classify_corrupted(bundle, crops, ["jpeg"], batch_size=0, progress=False)
