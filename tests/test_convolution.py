"""course_utils.convolution (lesson 03): kernels, filtering, receptive fields, layer lists, hooks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch
import torchvision
import torchvision.transforms.v2.functional as TF
from torch import nn

from course_utils import convolution


def test_kernels_are_3x3_and_sobel_is_the_textbook_one():
    for name in convolution.KERNELS:
        assert convolution.kernel(name).shape == (3, 3)
    sobel_x = convolution.kernel("Sobel x (vertical edges)")
    assert torch.equal(sobel_x, torch.tensor([[1.0, 2.0, 1.0]]).T @ torch.tensor([[-1.0, 0.0, 1.0]]))
    assert torch.equal(convolution.kernel("Sobel y (horizontal edges)"), sobel_x.T)
    assert abs(float(convolution.kernel("Gaussian blur").sum()) - 1) < 1e-6
    with pytest.raises(ValueError, match="unknown kernel"):
        convolution.kernel("nope")


def test_gray_matches_torchvision_luma():
    img = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    ours = convolution.gray(img)
    reference = TF.rgb_to_grayscale(torch.from_numpy(img).permute(2, 0, 1).float() / 255)[0]
    torch.testing.assert_close(ours, reference, atol=2e-4, rtol=0)


@pytest.mark.parametrize("name", ["Sobel x (vertical edges)", "emboss", "box blur"])
def test_filter_gray_is_correlation_with_edge_replication(name):
    image = torch.rand(12, 17, generator=torch.Generator().manual_seed(1))
    k = convolution.kernel(name)
    ours = convolution.filter_gray(image, k)
    reference = scipy.ndimage.correlate(image.double().numpy(), k.double().numpy(), mode="nearest")
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-5)
    with pytest.raises(ValueError, match="odd sides"):
        convolution.filter_gray(image, torch.ones(2, 2))


def test_response_image_centres_zero_sum_kernels_and_clips_the_rest():
    r = torch.linspace(-1, 1, 1001)
    edges = convolution._response_image(r, convolution.kernel("Sobel x (vertical edges)"))
    assert edges[500] in (127, 128)  # zero response is mid-gray
    assert edges[0] == 0 and edges[-1] == 255  # the strongest responses saturate
    bright = convolution._response_image(torch.tensor([-0.5, 0.25, 2.0]), torch.full((3, 3), 2 / 9))
    assert bright.tolist() == [0, 64, 255]


@pytest.mark.parametrize(
    "layers, expected",
    [
        ([], 1),
        ([(3, 1)], 3),
        ([(3, 1), (3, 1)], 5),
        ([(3, 1), (2, 2), (3, 1)], 8),
        ([(3, 2), (3, 1)], 7),
        ([(3, 1), (3, 2)], 5),
        # AlexNet's 5 convolutions and 3 poolings: a 195-pixel field (a well-known value).
        ([(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)], 195),
        # VGG-16 up to pool5: 212 pixels.
        ([(3, 1), (3, 1), (2, 2)] * 2 + [(3, 1), (3, 1), (3, 1), (2, 2)] * 3, 212),
    ],
)
def test_receptive_field_bruteforce_known_values(layers, expected):
    assert convolution.receptive_field_bruteforce(layers) == expected


def test_receptive_field_bruteforce_agrees_with_2d_autograd_on_real_layers():
    """Build the stack as real 2-D layers with random positive weights and read the field off the gradient."""
    layers = [(3, 1), (2, 2), (5, 1), (3, 2), (3, 1)]
    torch.manual_seed(0)
    modules = []
    for k, s in layers:
        conv = nn.Conv2d(1, 1, k, stride=s, bias=False)
        nn.init.uniform_(conv.weight, 0.1, 1.0)
        modules.append(conv)
    x = torch.zeros(1, 1, 64, 64, requires_grad=True)
    out = nn.Sequential(*modules)(x)
    out[0, 0, 0, 0].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(dim=0)).flatten()
    side = int(rows.max() - rows.min() + 1)
    assert side == int(cols.max() - cols.min() + 1) == convolution.receptive_field_bruteforce(layers)


def test_receptive_field_bruteforce_rejects_bad_layers():
    with pytest.raises(ValueError, match="pair"):
        convolution.receptive_field_bruteforce([3])
    with pytest.raises(ValueError, match="positive whole"):
        convolution.receptive_field_bruteforce([(0, 1)])


def test_conv_layers_lists_vgg16_in_order():
    with torch.device("meta"):
        vgg = torchvision.models.vgg16(weights=None)
    found = convolution.conv_layers(vgg)
    assert [(k, s) for _, k, s in found] == [(3, 1), (3, 1), (2, 2)] * 2 + [(3, 1), (3, 1), (3, 1), (2, 2)] * 3
    assert found[0][0] == "features.0"
    net = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, (5, 5), stride=2), nn.AvgPool2d(3, 2))
    assert convolution.conv_layers(net) == [("1", 5, 2), ("2", 3, 2)]  # the 1x1 conv is skipped


def test_depth_feature_maps_match_a_manual_forward_and_remove_their_hooks():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 4, 3)).eval()
    x = torch.rand(2, 1, 9, 9)
    maps = convolution.depth_feature_maps(net, x, {"first": net[0], "last": net[2]})
    torch.testing.assert_close(maps["first"], net[0](x))
    torch.testing.assert_close(maps["last"], net(x))
    assert list(maps) == ["first", "last"]
    assert not net[0]._forward_hooks and not net[2]._forward_hooks
