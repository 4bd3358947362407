"""course_utils.pixels (lesson 01): checked against NumPy, torchvision and Pillow references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from course_utils import pixels


def _photo(h=6, w=9, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_as_hwc_uint8_accepts_arrays_tensors_and_floats():
    img = _photo()
    assert np.array_equal(pixels._as_hwc_uint8(img), img)
    assert np.array_equal(pixels._as_hwc_uint8(torch.from_numpy(img).permute(2, 0, 1)), img)
    as_float = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    assert np.array_equal(pixels._as_hwc_uint8(as_float), img)
    gray = img[:, :, 0]
    assert np.array_equal(pixels._as_hwc_uint8(gray), np.repeat(gray[:, :, None], 3, axis=2))
    before = img.copy()
    out = pixels._as_hwc_uint8(img)
    out[:] = 0  # a copy: writing to it never touches the caller's array
    assert np.array_equal(img, before)
    with pytest.raises(ValueError, match="expected an"):
        pixels._as_hwc_uint8(np.zeros((2, 3, 4, 5)))


def test_neighbourhood_is_clipped_at_the_border():
    w = pixels._neighbourhood((10, 20, 3), 5, 7, radius=3)
    assert (w.top, w.bottom, w.left, w.right) == (2, 9, 4, 11)
    corner = pixels._neighbourhood((10, 20, 3), 0, 19, radius=2)
    assert (corner.top, corner.bottom, corner.left, corner.right) == (0, 3, 17, 20)
    with pytest.raises(ValueError, match="outside"):
        pixels._neighbourhood((10, 20), 10, 0)
    with pytest.raises(ValueError, match="radius"):
        pixels._neighbourhood((10, 20), 1, 1, radius=-1)


def test_mark_window_draws_a_frame_outside_the_window_only():
    img = np.zeros((20, 30, 3), dtype=np.uint8)
    w = pixels._neighbourhood(img.shape, 10, 15, radius=2)
    out = pixels._mark_window(img, w, thickness=1)
    framed = np.zeros((20, 30), dtype=bool)
    framed[w.top - 1 : w.bottom + 1, w.left - 1 : w.right + 1] = True
    framed[w.top : w.bottom, w.left : w.right] = False
    assert (out[framed] == pixels._MARK).all()
    assert (out[~framed] == 0).all()
    assert (img == 0).all()


def test_mix_channels_matches_numpy_with_clipping():
    img = _photo()
    gains = (1.5, 0.0, 0.25)
    expected = np.clip(np.rint(img * np.array(gains)), 0, 255).astype(np.uint8)
    assert np.array_equal(pixels._mix_channels(img, gains), expected)
    with pytest.raises(ValueError, match="three non-negative"):
        pixels._mix_channels(img, (1, 1))


def test_weighted_gray_with_bt601_weights_matches_torchvision():
    img = _photo(30, 40)
    ours = pixels._weighted_gray(img, pixels.BT601_LUMA).astype(np.int16)
    reference = TF.rgb_to_grayscale(torch.from_numpy(img).permute(2, 0, 1).float())[0].round().numpy().astype(np.int16)
    assert np.abs(ours - reference).max() <= 1  # torchvision uses 0.2989 instead of 0.299
    equal = pixels._weighted_gray(img, (2, 2, 2))
    assert np.array_equal(equal, np.rint(img.astype(np.float64).mean(axis=2)).astype(np.uint8))
    with pytest.raises(ValueError, match="not all zero"):
        pixels._weighted_gray(img, (0, 0, 0))


def test_zone_plate_frequency_grows_linearly_to_the_requested_value():
    size, top = 256, 0.4
    plate = pixels.zone_plate(size, cycles_at_edge=top)
    assert plate.shape == (size, size) and plate.min() >= 0 and plate.max() <= 1
    row = plate[size // 2 - 1] if size % 2 == 0 else plate[size // 2]
    # Count cycles in the outer tenth of the row: the local frequency there is about 0.9..1.0 x top.
    outer = row[int(0.9 * size / 2) + size // 2 : size]
    crossings = np.count_nonzero(np.diff(np.sign(outer - 0.5)) != 0)
    measured = crossings / 2 / len(outer)
    assert 0.85 * top < measured < 1.05 * top


def test_window_html_shows_the_pixel_as_bytes_and_floats():
    img = _photo()
    w = pixels._neighbourhood(img.shape, 2, 3, radius=1)
    html = pixels._window_html(img, w)
    r, g, b = img[2, 3]
    assert f"img[2, 3] = [{r}, {g}, {b}]" in html
    assert f"{r / 255:.3f}" in html
    assert html.count("<td") == 3 * 3 * 3


def test_level_bins_hold_whole_quantisation_levels():
    values = np.arange(0, 256, dtype=np.float64) / 255
    edges = pixels._level_bins(values, per_bin=4)
    counts, _ = np.histogram(values, bins=edges)
    assert (counts[:-1] == 4).all()  # every bin but the last holds exactly four levels
