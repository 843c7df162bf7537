"""masks: upsampling, soft threshold/feather and motion-aware temporal smoothing, on synthetic masks."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from desktop_app.core.masks import GATE_WIDTH, HYSTERESIS_PER_SMOOTHING, MaskRefiner, soft_threshold, upsample


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


def test_gated_smoothing_averages_small_changes_and_follows_big_ones() -> None:
    refiner = MaskRefiner(smoothing=0.5)
    refiner.smooth(np.full((4, 4), 0.4, np.float32))
    # |0.6 - 0.4| = 0.2: the history keeps 0.5 * (1 - 0.2 / GATE_WIDTH) of its weight.
    keep = 0.5 * (1.0 - 0.2 / GATE_WIDTH)
    assert refiner.smooth(np.full((4, 4), 0.6, np.float32))[0, 0] == pytest.approx(keep * 0.4 + (1 - keep) * 0.6)
    # A jump of GATE_WIDTH or more (an edge moving over the pixel) is taken as it is.
    refiner.smooth(np.full((4, 4), 0.4, np.float32))
    assert refiner.smooth(np.ones((4, 4), np.float32))[0, 0] == pytest.approx(1.0)
    # Agreeing frames keep the full weight: 0.5 of the history.
    refiner.reset()
    refiner.smooth(np.full((4, 4), 0.5, np.float32))
    assert refiner.smooth(np.full((4, 4), 0.5, np.float32))[0, 0] == pytest.approx(0.5)


def test_smooth_returns_a_fresh_array_each_frame() -> None:
    refiner = MaskRefiner(smoothing=0.5)
    first = refiner.smooth(np.full((4, 4), 0.4, np.float32))
    held = first.copy()
    refiner.smooth(np.full((4, 4), 0.6, np.float32))
    assert np.array_equal(first, held)  # a caller holding the last frame's mask sees it unchanged


def test_hysteresis_keeps_a_decision_until_the_margin_is_crossed() -> None:
    refiner = MaskRefiner(threshold=0.5, feather=0.0, smoothing=0.5)  # margin 0.1
    margin = 0.5 * HYSTERESIS_PER_SMOOTHING
    assert refiner.refine(np.full((2, 2), 0.7, np.float32))[0, 0] == 1.0
    # Probabilities wandering just under the threshold keep the pixel person ...
    for p in (0.48, 0.46, 0.47):
        assert refiner.refine(np.full((2, 2), p, np.float32))[0, 0] == 1.0
    # ... until they fall below threshold - margin.
    refiner.reset()
    refiner.refine(np.full((2, 2), 0.7, np.float32))
    assert refiner.refine(np.full((2, 2), 0.5 - margin - 0.1, np.float32))[0, 0] == 0.0
    refiner.smoothing = 0.0  # no smoothing: no hysteresis either, a plain threshold
    assert refiner.refine(np.full((2, 2), 0.7, np.float32))[0, 0] == 1.0
    assert refiner.refine(np.full((2, 2), 0.48, np.float32))[0, 0] == 0.0


def square_probs(size: int, x0: float, y0: float, side: int, inside: float = 0.95, outside: float = 0.05,
                 edge_sigma: float = 0.0) -> np.ndarray:
    """A model-like probability map: a square (top-left x0, y0, sub-pixel) on a background."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    inside_x = np.clip(np.minimum(xx + 1 - x0, x0 + side - xx), 0, 1)
    inside_y = np.clip(np.minimum(yy + 1 - y0, y0 + side - yy), 0, 1)
    cover = inside_x * inside_y
    if edge_sigma > 0:
        cover = cv2.GaussianBlur(cover, (0, 0), edge_sigma)
    return (outside + (inside - outside) * cover).astype(np.float32)


def flips(masks: list[np.ndarray]) -> int:
    return sum(int(np.count_nonzero(a != b)) for a, b in itertools.pairwise(masks))


def test_static_noisy_square_flickers_less_after_smoothing() -> None:
    rng = np.random.default_rng(7)
    base = square_probs(64, 16, 16, 32, 0.8, 0.2, edge_sigma=1.5)
    frames = [np.clip(base + rng.normal(0, 0.15, base.shape), 0, 1).astype(np.float32) for _ in range(30)]

    def decisions(smoothing: float) -> list[np.ndarray]:
        refiner = MaskRefiner(threshold=0.5, feather=0.3, smoothing=smoothing)
        return [refiner.refine(f) >= 0.5 for f in frames]

    raw, smoothed = flips(decisions(0.0)), flips(decisions(0.5))
    assert raw > 100  # the noise does make pixels flip
    assert smoothed <= 0.25 * raw
    truth = base >= 0.5
    assert np.mean([np.count_nonzero(m != truth) for m in decisions(0.5)[5:]]) <= 0.02 * truth.size


@pytest.mark.parametrize("edge_sigma", [0.0, 1.0])
def test_moving_square_is_followed_without_lag(edge_sigma: float) -> None:
    refiner = MaskRefiner(threshold=0.5, feather=0.3, smoothing=0.9)
    rng = np.random.default_rng(3)
    for t in range(25):
        x0 = 8 + 3.0 * t  # 3 px a frame, left to right
        probs = square_probs(128, x0, 40, 24, edge_sigma=edge_sigma)
        probs = np.clip(probs + rng.normal(0, 0.03, probs.shape), 0, 1).astype(np.float32)
        out = refiner.refine(probs) >= 0.5
        truth = square_probs(128, x0, 40, 24) >= 0.5
        ys, xs = np.nonzero(out)
        ty, tx = np.nonzero(truth)
        assert abs(xs.mean() - tx.mean()) <= 1.0, t
        assert abs(ys.mean() - ty.mean()) <= 1.0, t


def test_sudden_appearance_and_disappearance_are_adopted_within_one_frame() -> None:
    refiner = MaskRefiner(threshold=0.5, feather=0.3, smoothing=0.9)
    empty = np.full((64, 64), 0.05, np.float32)
    for _ in range(10):
        assert not np.any(refiner.refine(empty) >= 0.5)
    person = square_probs(64, 20, 20, 20, inside=0.8)
    appeared = refiner.refine(person) >= 0.5
    assert np.array_equal(appeared, person >= 0.5)
    for _ in range(5):
        refiner.refine(person)
    assert not np.any(refiner.refine(empty) >= 0.5)


def test_reset_forgets_the_history_and_the_decisions() -> None:
    refiner = MaskRefiner(threshold=0.5, feather=0.0, smoothing=0.9)
    ones = np.ones((8, 8), np.float32)
    for _ in range(5):
        refiner.refine(ones)
    # Just under the threshold: the history and the hysteresis would keep it person ...
    near = np.full((8, 8), 0.45, np.float32)
    assert refiner.refine(near)[0, 0] == 1.0
    # ... after reset() it is judged on its own.
    refiner.reset()
    assert refiner.refine(near)[0, 0] == 0.0
    refiner.reset()
    assert np.array_equal(refiner.smooth(near), near)


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


def test_steady_guide_averages_grey_noise_and_follows_a_real_change_at_once() -> None:
    """The edge refinement's guide: noise of a few grey levels on a still frame is averaged over frames, a change
    of more than GUIDE_GATE_WIDTH (here 100 grey levels: something moved) is adopted within the frame."""
    rng = np.random.default_rng(0)
    base = np.full((40, 60), 120.0, np.float32)
    refiner = MaskRefiner(smoothing=0.5)
    frames = [np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8) for _ in range(20)]
    out = [refiner.steady_guide(f) for f in frames]
    assert out[-1].dtype == np.float32
    assert np.std(out[-1] - base) < 0.85 * np.std(frames[-1] - base)  # less noisy than the frame itself
    assert not np.shares_memory(out[-1], out[-2])  # a fresh array each frame
    moved = np.clip(base + 100, 0, 255).astype(np.uint8)
    assert np.abs(refiner.steady_guide(moved) - moved).max() < 1.0
    off = MaskRefiner(smoothing=0.0)  # no smoothing: the grey itself, no memory
    assert np.array_equal(off.steady_guide(moved), moved)


def test_steady_follows_a_moving_edge_and_resets_with_the_refiner() -> None:
    refiner = MaskRefiner(smoothing=0.5)
    left = np.zeros((8, 20), np.float32)
    left[:, 10:] = 1.0
    right = np.roll(left, 4, axis=1)
    right[:, :4] = 0.0
    refiner.steady(left)
    assert np.array_equal(refiner.steady(right) >= 0.5, right >= 0.5)  # a jump of 1 is followed at once
    refiner.reset()
    assert np.array_equal(refiner.steady(left), left)  # no memory of `right`
