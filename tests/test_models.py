"""Models: the course CNN's shapes, and the offline ImageNet backbone is really pretrained."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils import models


def test_small_cnn_shapes_and_parameter_count():
    net = models.small_cnn(5, in_channels=1, width=16, hidden=64, batch_norm=False)
    x = torch.zeros(2, 1, 32, 32)
    assert net(x).shape == (2, 5)
    features = nn.Sequential(*list(net.children())[:6])  # conv1 relu1 pool1 conv2 relu2 pool2
    assert features(x).shape == (2, 32, 8, 8)
    expected = (1 * 16 * 9 + 16) + (16 * 32 * 9 + 32) + (32 * 8 * 8 * 64 + 64) + (64 * 5 + 5)
    assert models.count_params(net) == expected


def test_small_cnn_other_sizes_and_errors():
    assert models.small_cnn(10, 1, image_size=28)(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    assert models.small_cnn(3, 3)(torch.zeros(1, 3, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match="divisible by 4"):
        models.small_cnn(3, image_size=30)


def test_count_trainable_only():
    net = models.small_cnn(2)
    for p in net.conv1.parameters():
        p.requires_grad = False
    assert models.count_params(net, trainable_only=True) == models.count_params(net) - net.conv1.weight.numel()


def test_imagenet_classes_offline():
    names = models.imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[285] == "Egyptian cat" and names[967] == "espresso"


@pytest.fixture(scope="module")
def backbone():
    return models.pretrained_backbone()


def test_backbone_weights_are_the_pretrained_ones(backbone):
    import timm

    fresh = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    assert models.count_params(backbone.model) == models.count_params(fresh) == 4_652_008
    state = torch.load(models._efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(backbone.model.conv_stem.weight, state["_conv_stem.weight"])
    assert torch.equal(backbone.model.classifier.bias, state["_fc.bias"])
    assert not backbone.model.training


def test_backbone_recognises_real_photos(backbone):
    cat, coffee = cu.data.load_photo("cat"), cu.data.load_photo("coffee")
    top_cat, top_coffee = backbone.classify([cat, coffee], k=5)
    assert any(name in {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"} for name, _ in top_cat)
    assert top_coffee[0][0] == "espresso" and top_coffee[0][1] > 0.5
    assert abs(sum(p for _, p in top_cat) - 1) < 0.5  # probabilities, not logits


def test_backbone_preprocessing_matches_timm(backbone):
    import timm.data
    from PIL import Image

    photo = cu.data.load_photo("rocket")
    ours = backbone.preprocess(photo)[0]
    cfg = timm.data.resolve_data_config({}, model=backbone.model)
    theirs = timm.data.create_transform(**cfg)(Image.fromarray(photo))
    assert ours.shape == theirs.shape == (3, 224, 224)
    # PIL's and torch's bicubic resampling differ slightly; the crops must agree closely.
    assert (ours - theirs).abs().mean() < 0.03


def test_weight_mapping_checks_shapes():
    net = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(ValueError, match="shape mismatch"):
        models._load_in_order(net, {"a": torch.zeros(3, 3), "b": torch.zeros(3)})
    with pytest.raises(ValueError, match="tensors"):
        models._load_in_order(net, {"a": torch.zeros(3, 2)})


def test_eval_mode_gives_every_module_back_its_own_mode():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a frozen batch norm inside a training model (lesson 07)
    with models._eval_mode(model) as same:
        assert same is model and not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == [True, True, False, True]
    with pytest.raises(RuntimeError), models._eval_mode(model):
        raise RuntimeError("an error inside the block")
    assert [m.training for m in model.modules()] == [True, True, False, True]


def test_train_mode_gives_every_module_back_its_own_mode():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    model.eval()
    model[2].train()  # one module left training inside an eval-mode model
    with models._train_mode(model) as same:
        assert same is model and all(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == [False, False, False, True]
    with pytest.raises(RuntimeError), models._train_mode(model):
        raise RuntimeError("an error inside the block")
    assert [m.training for m in model.modules()] == [False, False, False, True]
