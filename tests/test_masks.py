"""masks: upsampling, soft threshold/feather and temporal smoothing, on synthetic masks."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core.masks import MaskRefiner, soft_threshold, upsample


def ramp(n: int = 101) -> np.ndarray:
    """A (1, n) mask with probabilities 0, 0.01, ..., 1."""
    return np.linspace(0.0, 1.0, n, dtype=np.float32)[None, :]


def test_upsample_shape_dtype_and_constant() -> None:
    out = upsample(np.full((256, 256), 0.25, np.float32), (720, 1280))
    assert out.shape == (720, 1280)
    assert out.dtype == np.float32
    assert np.allclose(out, 0.25)


def test_upsample_uses_half_pixel_centres_like_mediapipe() -> None:
    small = np.random.default_rng(1).random((16, 16), dtype=np.float32)
    out = upsample(small, (48, 80))  # 3x vertically, 5x horizontally
    # Half-pixel centres: output pixel (3i + 1, 5j + 2) sits exactly on input pixel (i, j)'s centre.
    assert np.allclose(out[1::3, 2::5], small, atol=1e-4)
    # Between samples it interpolates linearly: output x = 3 is 0.2 of the way from input 0 to input 1.
    assert np.allclose(out[1, 3], small[0, 0] * 0.8 + small[0, 1] * 0.2, atol=1e-4)


def test_upsample_same_size_returns_values() -> None:
    small = np.random.default_rng(2).random((8, 8), dtype=np.float32)
    assert np.array_equal(upsample(small, (8, 8)), small)


def test_feather_zero_is_a_hard_step() -> None:
    out = soft_threshold(ramp(), 0.5, 0.0)
    assert set(np.unique(out).tolist()) == {0.0, 1.0}
    assert np.array_equal(out[0] == 1.0, ramp()[0] >= 0.5)


def test_soft_threshold_is_monotonic_in_probability() -> None:
    for threshold in (0.2, 0.5, 0.8):
        for feather in (0.0, 0.1, 0.5, 1.0):
            out = soft_threshold(ramp(), threshold, feather)[0]
            assert np.all(np.diff(out) >= -1e-6), (threshold, feather)
            assert out[0] == pytest.approx(0.0, abs=1e-3)
            assert out[-1] == pytest.approx(1.0, abs=1e-3)
            assert out.min() >= 0.0
            assert out.max() <= 1.0


def test_higher_threshold_means_less_person() -> None:
    masks = [soft_threshold(ramp(), t, 0.3) for t in (0.3, 0.5, 0.7)]
    assert np.all(masks[0] >= masks[1] - 1e-6)
    assert np.all(masks[1] >= masks[2] - 1e-6)
    assert masks[0].sum() > masks[1].sum() > masks[2].sum()


def test_wider_feather_gives_a_wider_ramp() -> None:
    def soft_pixels(feather: float) -> int:
        out = soft_threshold(ramp(1001), 0.5, feather)
        return int(np.count_nonzero((out > 0.01) & (out < 0.99)))

    counts = [soft_pixels(f) for f in (0.0, 0.1, 0.3, 0.6)]
    assert counts[0] == 0
    assert counts[0] < counts[1] < counts[2] < counts[3]


def test_feather_blurs_edges_of_a_step_mask() -> None:
    step = np.zeros((64, 64), np.float32)
    step[:, 32:] = 1.0
    hard = soft_threshold(step, 0.5, 0.0)
    soft = soft_threshold(step, 0.5, 1.0)
    assert np.array_equal(hard, step)
    assert 0.0 < soft[0, 31] < 0.5 < soft[0, 32] < 1.0
    assert soft[0, 0] == pytest.approx(0.0, abs=1e-4)
    assert soft[0, 63] == pytest.approx(1.0, abs=1e-4)


def test_temporal_smoothing_converges_and_resets() -> None:
    refiner = MaskRefiner(threshold=0.5, feather=1.0, smoothing=0.5)
    zeros, ones = np.zeros((4, 4), np.float32), np.ones((4, 4), np.float32)
    assert np.array_equal(refiner.smooth(zeros), zeros)
    seen = [float(refiner.smooth(ones)[0, 0]) for _ in range(10)]
    expected = [1.0 - 0.5 ** (n + 1) for n in range(10)]
    assert seen == pytest.approx(expected, abs=1e-6)
    refiner.reset()
    assert np.array_equal(refiner.smooth(zeros), zeros)


def test_refine_applies_threshold_after_smoothing() -> None:
    refiner = MaskRefiner(threshold=0.5, feather=0.0, smoothing=0.8)
    refiner.refine(np.zeros((4, 4), np.float32))
    # The average is 0.2 after one frame of ones, 0.36 after two, 0.488 after three, 0.59 after four.
    outs = [float(refiner.refine(np.ones((4, 4), np.float32))[0, 0]) for _ in range(4)]
    assert outs == [0.0, 0.0, 0.0, 1.0]


def test_shape_change_resets_and_zero_smoothing_has_no_memory() -> None:
    refiner = MaskRefiner(smoothing=0.9)
    refiner.smooth(np.zeros((4, 4), np.float32))
    assert np.array_equal(refiner.smooth(np.ones((5, 5), np.float32)), np.ones((5, 5), np.float32))
    refiner.smoothing = 0.0
    refiner.smooth(np.zeros((5, 5), np.float32))
    assert np.array_equal(refiner.smooth(np.ones((5, 5), np.float32)), np.ones((5, 5), np.float32))


def test_refine_keeps_shape_and_dtype() -> None:
    out = MaskRefiner(0.5, 0.3, 0.5).refine(np.random.default_rng(3).random((256, 144), dtype=np.float32))
    assert out.shape == (256, 144)
    assert out.dtype == np.float32
