"""resize.resize_corner_aligned: MediaPipe's corner-aligned bilinear input resize."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core.resize import _maps, _resize_tiled, fit_long_side, resize_corner_aligned


def reference(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear sampling at (x * W / w, y * H / h), neighbours clamped to the image.

    Positions are rounded to 1/32 pixel, as OpenCV's fixed-point maps store them (INTER_TAB_SIZE).
    """
    width, height = size
    src_h, src_w = image.shape[:2]
    xs = np.round(np.arange(width) * (src_w / width) * 32) / 32
    ys = np.round(np.arange(height) * (src_h / height) * 32) / 32
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    x1, y1 = np.minimum(x0 + 1, src_w - 1), np.minimum(y0 + 1, src_h - 1)
    img = image.astype(np.float64)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize(("src", "dst"), [((640, 480), (256, 256)), ((1280, 720), (256, 144)),
                                          ((200, 100), (256, 256)), ((257, 300), (256, 256))])
def test_matches_corner_aligned_bilinear_sampling(src: tuple[int, int], dst: tuple[int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    out = resize_corner_aligned(image, dst)
    assert out.shape == (dst[1], dst[0], 3)
    assert np.array_equal(out[0, 0], image[0, 0])  # pixel (0, 0) maps onto (0, 0)
    assert np.abs(out.astype(np.float64) - reference(image, dst)).max() <= 1.0  # fixed-point rounding


@pytest.mark.parametrize(("src", "dst"), [((640, 480), (256, 256)), ((1920, 1080), (256, 144)),
                                          ((256, 256), (256, 256)), ((511, 257), (256, 256))])
def test_shrinking_never_reads_past_the_border(src: tuple[int, int], dst: tuple[int, int]) -> None:
    # The fast BORDER_CONSTANT path is only taken when it cannot change a pixel: same output as replicate.
    image = np.random.default_rng(1).integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    fixed, fraction = _maps(src, dst)
    replicate = cv2.remap(image, fixed, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(resize_corner_aligned(image, dst), replicate)


def test_growing_replicates_the_last_row_and_column() -> None:
    image = np.full((10, 10, 3), 200, np.uint8)
    out = resize_corner_aligned(image, (256, 256))
    assert (out == 200).all()  # a constant border would darken the right and bottom edges


@pytest.mark.parametrize(("src", "dst"), [((33000, 8), (256, 256)), ((8, 33000), (256, 144)),
                                          ((40000, 3), (256, 144)), ((5, 33000), (2, 40000))])
def test_any_side_length_resizes_past_remaps_32767_limit(src: tuple[int, int], dst: tuple[int, int]) -> None:
    image = np.random.default_rng(2).integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    out = resize_corner_aligned(image, dst)
    assert out.shape == (dst[1], dst[0], 3)
    assert np.array_equal(out[0, 0], image[0, 0])
    assert np.abs(out.astype(np.float64) - reference(image, dst)).max() <= 1.0


@pytest.mark.parametrize(("src", "dst"), [((640, 480), (256, 256)), ((1280, 720), (256, 144)),
                                          ((200, 100), (256, 256)), ((1, 1), (256, 256)), ((3, 1000), (256, 144))])
def test_tiled_path_gives_the_same_pixels_as_one_remap(src: tuple[int, int], dst: tuple[int, int]) -> None:
    image = np.random.default_rng(3).integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    assert np.array_equal(_resize_tiled(image, dst, cv2.INTER_LINEAR), resize_corner_aligned(image, dst))


def test_fit_long_side_area_averages_to_the_long_side_and_keeps_small_images() -> None:
    image = np.zeros((300, 1200), np.float32)
    image[:, 600:] = 1.0
    out = fit_long_side(image, 400)
    assert out.shape == (100, 400)
    assert out[:, 199].max() == 0.0 and out[:, 200].min() == 1.0  # area-averaged: 3x3 blocks, no bleed
    assert fit_long_side(image, 1200) is image  # already that small: itself
    assert fit_long_side(np.zeros((1, 5000), np.float32), 100).shape == (1, 100)  # each side >= 1
