"""course_utils.saliency against torch.autograd and a hand-derived Grad-CAM."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils import models, saliency


def _images(n=3, c=1, seed=0):
    return torch.rand(n, c, 32, 32, generator=torch.Generator().manual_seed(seed))


def _reference_saliency(model, x, target):
    model.eval()
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    logits[torch.arange(len(x)), target].sum().backward()
    model.zero_grad(set_to_none=True)
    return xg.grad.abs().amax(dim=1)


def test_saliency_matches_autograd_per_image_target():
    torch.manual_seed(0)
    model = models.small_cnn(3, 3)
    x = _images(4, 3)
    target = torch.tensor([0, 2, 1, 2])
    got = saliency.saliency_map(model, x, target)
    assert got.shape == (4, 32, 32) and got.dtype == torch.float32
    torch.testing.assert_close(got, _reference_saliency(model, x, target))


def test_saliency_in_train_mode_uses_eval_and_restores_everything():
    torch.manual_seed(1)
    model = models.small_cnn(2, 1)
    model(_images(8, seed=5))  # move batch-norm running statistics away from their defaults
    model.train()
    x = _images(2)
    before = x.clone()
    got = saliency.saliency_map(model, x, 1)
    assert model.training, "the model's mode must be restored"
    assert all(p.grad is None for p in model.parameters()), "parameter gradients must stay untouched"
    assert torch.equal(x, before) and not x.requires_grad
    torch.testing.assert_close(got, _reference_saliency(model, x, torch.tensor([1, 1])))


def test_saliency_rejects_unbatched_images():
    with pytest.raises(ValueError, match="N, C, H, W"):
        saliency.saliency_map(models.small_cnn(2, 1), torch.rand(1, 32, 32), 0)
    with pytest.raises(ValueError, match="target"):
        saliency.saliency_map(models.small_cnn(2, 1), _images(2), torch.tensor([0, 1, 1]))


class _CamNet(nn.Module):
    """conv -> ReLU -> global average pool -> linear: Grad-CAM has a closed form here."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).mean(dim=(2, 3)))


def test_grad_cam_equals_the_closed_form_on_a_gap_network():
    torch.manual_seed(2)
    net = _CamNet()
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([2, 0])
    got = saliency.grad_cam(net, net.relu, x, target)
    # d logit_t / d A_k = w_tk / (h w) everywhere, so alpha_k = w_tk / (h w).
    with torch.no_grad():
        maps = torch.relu(net.conv(x))
        alpha = net.fc.weight[target] / (16 * 16)
        expected = torch.relu((alpha[:, :, None, None] * maps).sum(1))
    assert got.shape == (2, 16, 16)
    torch.testing.assert_close(got, expected)  # same size: bilinear upsampling is the identity
    assert all(p.grad is None for p in net.parameters())


def test_grad_cam_upsamples_the_small_cnn_maps():
    torch.manual_seed(4)
    model = models.small_cnn(2, 1)
    x = _images(3)
    cam = saliency.grad_cam(model, model.relu2, x, 0)
    # Reference: hook by hand, gradients with autograd, torch's bilinear upsampling.
    model.eval()
    store = {}
    h = model.relu2.register_forward_hook(lambda m, i, o: store.setdefault("a", o))
    logits = model(x)
    h.remove()
    (g,) = torch.autograd.grad(logits[:, 0].sum(), store["a"])
    small = torch.relu((g.mean((2, 3), keepdim=True) * store["a"]).sum(1, keepdim=True))
    expected = nn.functional.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(cam, expected.detach())
    assert (cam >= 0).all()


def test_grad_cam_rejects_a_layer_without_maps():
    model = models.small_cnn(2, 1)
    with pytest.raises(ValueError, match="feature maps"):
        saliency.grad_cam(model, model.fc1, _images(1), 0)


def test_mass_share():
    maps = torch.zeros(2, 4, 4)
    maps[0, 0, 0] = 3.0
    maps[0, 3, 3] = 1.0
    maps[1] = 1.0
    region = torch.zeros(4, 4, dtype=torch.bool)
    region[0] = True
    torch.testing.assert_close(saliency._mass_share(maps, region), torch.tensor([0.75, 0.25]))


def test_figure_explanations_has_one_row_per_method():
    x = _images(3)
    fig = saliency.figure_explanations(x, {"saliency": torch.rand(3, 32, 32), "Grad-CAM": torch.rand(3, 32, 32)},
                                       ["a", "b", "c"], title="t")  # fmt: skip
    assert len(fig.axes) == 9
    assert fig.axes[3].get_ylabel() == "saliency"


def test_grad_cam_of_the_pretrained_lite0_is_its_class_activation_map():
    """A global-average-pool + linear head makes Grad-CAM the CAM of Zhou et al. (2016) divided by h*w."""
    from course_utils import data
    from course_utils import models as M

    bundle = M.pretrained_backbone()
    photos = [data.load_photo("cat"), data.load_photo("coffee")]
    x = bundle.preprocess(photos)
    target = torch.tensor([281, 967])  # 'tabby' and 'espresso'; any class works, not only the top-1
    got = saliency.grad_cam(bundle.model, bundle.model.bn2, x, target)
    with torch.no_grad():
        features = bundle.model.forward_features(x)  # (2, 1280, 7, 7): bn2's output
        cam = torch.einsum("nk,nkij->nij", bundle.model.classifier.weight[target], features) / 49
        expected = nn.functional.interpolate(torch.relu(cam)[:, None], size=(224, 224), mode="bilinear")[:, 0]
    assert got.shape == (2, 224, 224) and float(expected.max()) > 0
    assert bundle.classes[281] == "tabby" and bundle.classes[967] == "espresso"
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))
