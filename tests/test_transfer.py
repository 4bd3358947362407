"""course_utils.transfer against references: torch, torchvision and timm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import models, transfer


def _labels() -> torch.Tensor:
    # 3 classes with 5, 7 and 4 members, interleaved.
    return torch.tensor([0, 1, 2, 1, 0, 1, 2, 0, 1, 1, 2, 0, 1, 2, 0, 1])


def test_per_class_subset_takes_n_of_each_class():
    labels = _labels()
    idx = transfer.per_class_subset(labels, 3, seed=0)
    assert idx.dtype == torch.int64
    assert torch.bincount(labels[idx], minlength=3).tolist() == [3, 3, 3]
    assert len(set(idx.tolist())) == 9  # no repeats


def test_per_class_subset_is_nested_and_seeded():
    labels = _labels()
    small, large = transfer.per_class_subset(labels, 2, seed=5), transfer.per_class_subset(labels, 4, seed=5)
    for k in range(3):
        assert small[labels[small] == k].tolist() == large[labels[large] == k][:2].tolist()
    assert torch.equal(transfer.per_class_subset(labels, 4, seed=5), large)
    draws = {tuple(transfer.per_class_subset(labels, 2, seed=s).tolist()) for s in range(6)}
    assert len(draws) > 1


def test_per_class_subset_rejects_impossible_requests():
    with pytest.raises(ValueError, match="class 2 has only 4"):
        transfer.per_class_subset(_labels(), 5)
    with pytest.raises(ValueError, match="at least 1"):
        transfer.per_class_subset(_labels(), 0)


def test_learning_curve_calls_run_with_each_subset_and_seed():
    labels = _labels()
    calls = []

    def run(idx, seed):
        calls.append((idx.clone(), seed))
        return len(idx) / 100 + seed / 1000

    out = transfer.learning_curve(run, labels, (1, 3), seeds=(0, 7))
    np.testing.assert_allclose(out, [[0.03, 0.037], [0.09, 0.097]])
    assert [s for _, s in calls] == [0, 7, 0, 7]
    assert torch.equal(calls[3][0], transfer.per_class_subset(labels, 3, seed=7))


def test_stage_outputs_end_in_forward_features():
    import timm

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    x = torch.randn(2, 3, 64, 64)
    stages = transfer.stage_outputs(model, x)
    assert list(stages) == ["stem"] + [f"block {i}" for i in range(7)] + ["head"]
    with torch.no_grad():
        torch.testing.assert_close(stages["head"], model.forward_features(x))
    assert stages["stem"].shape == (2, 32, 32, 32)
    assert stages["block 6"].shape == (2, 320, 2, 2)
    stats = [b.clone() for b in model.buffers()]
    model.train()  # a training model is read in eval mode, and keeps its mode and its batch-norm statistics
    torch.testing.assert_close(transfer.stage_outputs(model, x)["head"], stages["head"])
    assert all(m.training for m in model.modules())
    assert all(torch.equal(a, b) for a, b in zip(stats, model.buffers()))


def test_stage_outputs_rejects_other_models():
    with pytest.raises(TypeError, match="timm EfficientNet"):
        transfer.stage_outputs(torch.nn.Conv2d(3, 3, 1), torch.zeros(1, 3, 8, 8))


def test_to_backbone_input_matches_torchvision():
    import torchvision.transforms.v2.functional as TF

    g = torch.Generator().manual_seed(1)
    gray = torch.rand(4, 1, 25, 25, generator=g)
    expected = TF.resize(gray, [64, 64], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    expected = TF.normalize(expected.repeat(1, 3, 1, 1), [0.5] * 3, [0.5] * 3)
    torch.testing.assert_close(transfer.to_backbone_input(gray, 64), expected)
    colour = torch.rand(2, 3, 100, 80, generator=g)
    expected = TF.normalize(TF.resize(colour, [32, 32], antialias=True), [0.4, 0.5, 0.6], [0.2, 0.3, 0.4])
    torch.testing.assert_close(transfer.to_backbone_input(colour, 32, (0.4, 0.5, 0.6), (0.2, 0.3, 0.4)), expected)


def test_to_backbone_input_scales_uint8_and_rejects_bad_shapes():
    raw = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(transfer.to_backbone_input(raw, 28), transfer.to_backbone_input(raw.float() / 255, 28))
    with pytest.raises(ValueError, match="expected a batch"):
        transfer.to_backbone_input(torch.zeros(1, 28, 28), 64)


def test_patchify_matches_unfold():
    image = torch.randn(3, 48, 32, generator=torch.Generator().manual_seed(3))
    patches = transfer.patchify(image, 16)
    assert patches.shape == (6, 3, 16, 16)
    reference = F.unfold(image[None], kernel_size=16, stride=16)[0].T.reshape(6, 3, 16, 16)
    torch.testing.assert_close(patches, reference)
    torch.testing.assert_close(patches[3], image[:, 16:32, 16:32])  # row 1, column 1 of a 3x2 grid


def test_patch_embedding_is_a_strided_convolution():
    """What lesson 07 shows: a ViT's patch embedding is one linear map applied to every flattened patch."""
    g = torch.Generator().manual_seed(4)
    image, weight = torch.randn(3, 32, 32, generator=g), torch.randn(8, 3, 16, 16, generator=g)
    tokens = transfer.patchify(image, 16).flatten(1) @ weight.flatten(1).T
    conv = F.conv2d(image[None], weight, stride=16)[0].flatten(1).T
    torch.testing.assert_close(tokens, conv, rtol=1e-4, atol=1e-4)


def test_patchify_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiples of the patch size 16"):
        transfer.patchify(torch.zeros(3, 30, 32), 16)
    with pytest.raises(ValueError, match="one image"):
        transfer.patchify(torch.zeros(1, 3, 32, 32), 16)


def test_figure_learning_curves_plots_means_and_spreads():
    results = {"a": np.array([[0.5, 0.7], [0.8, 0.8]]), "b": np.array([[0.2, 0.2], [0.4, 0.6]])}
    fig = transfer.figure_learning_curves((3, 10), results, title="t", chance=0.1)
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == ["a", "b"]
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(), [60, 80])
    np.testing.assert_allclose(ax.containers[1].lines[0].get_ydata(), [20, 50])
    bars = ax.containers[1].lines[2][0].get_segments()  # vertical error bars: mean -/+ one std
    np.testing.assert_allclose([seg[:, 1] for seg in bars], [[20, 20], [40, 60]])
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    with pytest.raises(ValueError, match="2 x values"):
        transfer.figure_learning_curves((3, 10), {"c": np.zeros((3, 2))}, title="t")


def test_figure_patches_lays_out_the_grid():
    image = torch.rand(3, 32, 48, generator=torch.Generator().manual_seed(5))
    fig = transfer.figure_patches(image, 16, title="p", gap=2)
    canvas = fig.axes[1].get_images()[0].get_array()
    assert canvas.shape == (2 * 18 - 2, 3 * 18 - 2, 3)
    np.testing.assert_allclose(canvas[18:34, 36:52], image[:, 16:32, 32:48].permute(1, 2, 0).numpy(), rtol=1e-6)
    assert (canvas[16:18] == 1).all()  # a white gap between rows


def test_figure_throughput_bars_equal_the_rates():
    fig = transfer.figure_throughput((64, 224), (300.0, 30.0), title="r")
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [300.0, 30.0]


def test_strongest_maps_orders_channels_by_mean():
    maps = torch.stack([torch.full((2, 2), v) for v in (0.1, 0.9, -1.0, 0.5)])
    assert transfer._strongest_maps(maps, 3).tolist() == [1, 3, 0]
    assert transfer._strongest_maps(maps, 10).tolist() == [1, 3, 0, 2]


def test_figure_depth_draws_one_row_per_stage():
    g = torch.Generator().manual_seed(6)
    stages = {"stem": torch.rand(1, 8, 16, 16, generator=g), "deep": torch.rand(1, 4, 2, 2, generator=g)}
    fig = transfer.figure_depth(torch.rand(3, 32, 32, generator=g), stages, k=3, title="d")
    assert len(fig.axes) == 2 * 4
    best = int(transfer._strongest_maps(stages["deep"][0], 1)[0])
    shown = fig.axes[5].get_images()[0].get_array()  # row 1, first map
    np.testing.assert_allclose(shown, stages["deep"][0, best].numpy())
    assert fig.axes[1].get_ylabel().startswith("stem\n8×16×16")


def test_figure_learning_curves_skips_rows_not_measured():
    results = {"a": np.array([[0.5, 0.7], [np.nan, np.nan], [0.9, 0.9]])}
    ax = transfer.figure_learning_curves((1, 3, 10), results, title="t").axes[0]
    np.testing.assert_allclose(ax.containers[0].lines[0].get_xdata(), [1, 10])
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(), [60, 90])


def test_photo_features_match_a_manual_forward_pass():
    import timm
    import torchvision.transforms.v2 as T

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=3)
    transform = T.Compose([T.ToImage(), T.Resize(32, antialias=True), T.CenterCrop(32), T.ToDtype(torch.float32, scale=True)])
    g = np.random.default_rng(7)
    photos = [g.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((40, 50), (64, 32), (33, 33), (90, 45), (32, 32))]
    model.train()  # photo_features must switch to eval mode itself, and give the model its modes back
    feats = transfer.photo_features(model, transform, photos, batch_size=2)
    assert feats.shape == (5, 1280) and all(m.training for m in model.modules())
    with models._eval_mode(model), torch.no_grad():
        batch = torch.stack([transform(torch.from_numpy(p).permute(2, 0, 1)) for p in photos])
        expected = model.forward_head(model.forward_features(batch), pre_logits=True)
    torch.testing.assert_close(feats, expected, rtol=1e-4, atol=1e-5)


def test_photo_features_read_a_hub_style_dataset():
    import datasets
    import timm
    import torchvision.transforms.v2 as T
    from PIL import Image

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    transform = T.Compose([T.ToImage(), T.Resize((32, 32), antialias=True), T.ToDtype(torch.float32, scale=True)])
    g = np.random.default_rng(8)
    arrays = [g.integers(0, 256, (20 + 3 * i, 30, 3), dtype=np.uint8) for i in range(3)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    split = datasets.Dataset.from_dict({"image": [Image.fromarray(a) for a in arrays], "label": [0, 1, 0]}, features=features)
    torch.testing.assert_close(
        transfer.photo_features(model, transform, split, batch_size=2),
        transfer.photo_features(model, transform, arrays, batch_size=3),
    )


def test_results_table_prints_mean_and_std_in_percent():
    results = {"probe": np.array([[0.70, 0.72], [0.90, 0.94]]), "scratch": np.array([[0.5, 0.5], [np.nan, np.nan]])}
    lines = transfer.results_table((3, 10), results).splitlines()
    assert lines[0].split()[-2:] == ["3", "10"]
    assert lines[1].split() == ["probe", "71", "±", "1", "92", "±", "2"]
    assert lines[2].split() == ["scratch", "50", "±", "0", "—"]


def test_stage_summary_names_the_strongest_channels():
    maps = torch.stack([torch.full((3, 5), v) for v in (0.2, 0.7, 0.1)])[None]
    assert transfer._stage_summary("block 2", maps, 2) == (
        "block 2: 3 feature maps of 3×5; the 2 strongest (channels 1, 0) are shown."
    )
