"""detection.quick_shrink (the live face detector's cheap input shrink) and the letterbox that uses it: close to
the area average it replaces, exact sizes from any frame size, used by the MediaPipe face adapter only (the pose
detector's letterbox is unchanged)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core import detection, models
from desktop_app.core.engine import TensorMeta
from desktop_app.core.faces.adapter import FaceDetectionAdapter
from desktop_app.core.faces.detector import LIVE_MODEL
from desktop_app.core.resize import shrink_area


def scene(w: int, h: int, seed: int = 0) -> np.ndarray:
    """Smooth shapes with edges (a photo's statistics, roughly): blobs 1/20 of the frame, plus mild noise."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (20, 36, 3), np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    base = cv2.GaussianBlur(base, (0, 0), max(w, h) / 400)
    return np.clip(base.astype(np.int16) + rng.integers(-8, 9, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("src", "dst"), [((1280, 720), (192, 108)), ((1920, 1080), (192, 108)),
                                          ((640, 480), (192, 144)), ((3840, 2160), (192, 108)),
                                          ((300, 200), (192, 128)), ((1281, 719), (192, 108))])
def test_quick_shrink_is_within_two_levels_of_the_area_average(src: tuple[int, int], dst: tuple[int, int]) -> None:
    rgb = scene(*src)
    quick = detection.quick_shrink(rgb, dst)
    assert quick.shape == (dst[1], dst[0], 3) and quick.dtype == np.uint8
    area = shrink_area(rgb, dst)
    assert float(np.abs(quick.astype(np.float32) - area).mean()) < 2.0


def test_the_live_face_adapter_letterboxes_with_quick_shrink_and_the_pose_letterbox_is_unchanged() -> None:
    spec = models.load_manifest().get(LIVE_MODEL)
    adapter = FaceDetectionAdapter(spec, [TensorMeta(spec.input.name, (1, 192, 192, 3), np.float32)])
    rgb = scene(1280, 720, seed=3)
    fed = adapter.preprocess(rgb)[spec.input.name][0]
    quick, pad = detection.letterbox(rgb, (192, 192), quick=True)
    np.testing.assert_allclose(fed, quick.astype(np.float32) / 127.5 - 1.0, atol=1e-5)
    assert pad.top == pytest.approx(42 / 192)  # 108 rows centred in 192
    area, _ = detection.letterbox(rgb, (192, 192))  # the default (the pose detector's): the area average
    np.testing.assert_array_equal(area[42:150], shrink_area(rgb, (192, 108)))
    assert not np.array_equal(area, quick)


def test_quick_shrink_of_an_odd_sized_face_region_is_its_true_area_average() -> None:
    """A 443 x 441 face region to the blur's 12 x 12: within a level of OpenCV's exact area resize (shrink_area's
    halvings of odd sides drift: 7 levels, and took 2 ms)."""
    region = scene(443, 441, seed=5)
    exact = cv2.resize(region, (12, 12), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert float(np.abs(detection.quick_shrink(region, (12, 12)) - exact).mean()) < 1.0
