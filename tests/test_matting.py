"""core.matting (closed-form matting of the band around a mask's edge) on synthetic pictures with a known answer,
and where the pipeline uses it: best stills and video files at quality "best", never live frames."""

from __future__ import annotations

import numpy as np
import pytest
from grid_fakes import GridSegmenter

from desktop_app.core import matting
from desktop_app.core import pipeline as pipeline_module
from desktop_app.core.frames import Frame
from desktop_app.core.masks import MaskRefiner
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline

H, W = 440, 440  # a person of 400 px: a band from 2 px inside its edge to 6 px outside
PERSON, BACKGROUND = np.array([200, 60, 40], np.float32), np.array([40, 90, 200], np.float32)


def disc(radius: float, h: int = H, w: int = W, cy: float = 220.0, cx: float = 220.0) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2


def picture(alpha: np.ndarray, noise: float = 6.0, seed: int = 0) -> np.ndarray:
    """alpha * PERSON + (1 - alpha) * BACKGROUND, with sensor-like noise: (H, W, 3) uint8."""
    a = alpha.astype(np.float32)[..., None]
    rgb = a * PERSON + (1 - a) * BACKGROUND + np.random.default_rng(seed).normal(0, noise, (*alpha.shape, 3))
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("miss", [-4, 2])  # the mask 4 px inside (hair the model missed) or 2 px outside the person
def test_the_band_finds_the_edge_the_mask_missed(miss: int) -> None:
    truth = disc(200)
    rgb = picture(truth)
    mask = disc(200 + miss).astype(np.float32)
    out = matting.matte(rgb, mask)
    assert iou(mask >= 0.5, truth) < 0.985
    assert iou(out >= 0.5, truth) > 0.998


def test_a_mixed_edge_gets_its_mixing_alpha() -> None:
    """A soft edge (alpha falls 1 -> 0 over 8 columns) is recovered as that alpha, not as a step."""
    xs = np.arange(W, dtype=np.float32)
    ramp = np.clip((228.0 - xs) / 8.0, 0.0, 1.0)  # 1 left of x=220, 0 right of x=228
    alpha = np.repeat(ramp[None, :], H, axis=0)
    rgb = picture(alpha, noise=0.0)
    mask = (np.repeat((xs < 222)[None, :], H, axis=0)).astype(np.float32)  # a step 2 px off the middle
    out = matting.matte(rgb, mask, inner=0.015, outer=0.015)  # 7 px each side of a 440 px part
    soft = (alpha > 0) & (alpha < 1)
    assert float(np.abs(out - alpha)[soft].mean()) < 0.05
    assert float(np.abs(mask - alpha)[soft].mean()) > 0.2


def test_outside_the_band_is_zero_or_one_and_degenerate_pictures_stay_finite() -> None:
    truth = disc(200)
    out = matting.matte(picture(truth), disc(197).astype(np.float32))
    sure, band = matting.trimap(disc(197))
    assert np.all(out[sure] == 1.0) and np.all(out[~sure & ~band] == 0.0)
    for h, w in [(1, 1), (2, 2), (1, 40), (40, 1), (3, 900)]:
        for rgb in (np.full((h, w, 3), 128, np.uint8), np.random.default_rng(1).integers(0, 256, (h, w, 3), np.uint8)):
            mask = np.zeros((h, w), np.float32)
            mask[:, : max(1, w // 2)] = 1.0
            out = matting.matte(rgb, mask)  # every pixel in the band: nothing known to solve against
            assert out.shape == (h, w) and np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(matting.matte(picture(truth), np.zeros((H, W), np.float32)), np.zeros((H, W), np.float32))


def test_each_person_gets_a_band_of_its_own_size() -> None:
    small, big = disc(15, cx=30.0), disc(160, cx=270.0)
    sure, band = matting.trimap(small | big)
    for person, radius, cx in ((small, 15, 30.0), (big, 160, 270.0)):
        near = disc(radius + 30, cx=cx)
        yy, xx = np.nonzero(band & near)
        reach = np.hypot(yy - 220.0, xx - cx).max() - radius
        depth = radius - np.hypot(yy - 220.0, xx - cx).min()
        side = 2 * radius + 1
        assert reach == pytest.approx(max(2, round(matting.OUTER_SHARE * side)), abs=1.0)
        assert depth == pytest.approx(max(1, round(matting.INNER_SHARE * side)), abs=1.0)
        assert np.all(sure[person] | band[person])
    assert round(matting.OUTER_SHARE * 321) > max(2, round(matting.OUTER_SHARE * 31))  # the two bands differ


def test_tiles_give_the_same_matte_as_one_tile_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    truth = disc(200)
    rgb, mask = picture(truth, seed=3), disc(197).astype(np.float32)
    tiled = matting.matte(rgb, mask)
    monkeypatch.setattr(matting, "TILE", 512)  # one tile holds the whole picture: no seams, no halo from others
    whole = matting.matte(rgb, mask)
    assert float(np.abs(tiled - whole).max()) < 1e-3


def test_the_matte_is_change_gated_across_video_frames() -> None:
    refiner = MaskRefiner(smoothing=0.5)
    first = np.zeros((4, 4), np.float32)
    assert np.array_equal(refiner.steady_matte(first), first)
    small = refiner.steady_matte(np.full((4, 4), 0.1, np.float32))
    assert 0.0 < float(small[0, 0]) < 0.1  # a small change (noise) is averaged
    assert float(refiner.steady_matte(np.ones((4, 4), np.float32))[0, 0]) == pytest.approx(1.0)  # motion: at once
    refiner.reset()
    assert np.array_equal(refiner.steady_matte(first), first)  # no history: the frame as it is
    refiner.smoothing = 0.0
    assert refiner.steady_matte(first) is first


class Counting:
    def __init__(self) -> None:
        self.calls = 0
        self.floors: list[float] = []

    def __call__(self, rgb: np.ndarray, alpha: np.ndarray, long_side: int, soften: float = 0.0,
                 floor: float = 0.0) -> np.ndarray:
        self.calls += 1
        self.floors.append(floor)
        return matting.matte_fitted(rgb, alpha, long_side, soften, floor)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counting:
    spy = Counting()
    monkeypatch.setattr(pipeline_module, "matte_fitted", spy)
    return spy


def frames(n: int = 3) -> list[Frame]:
    rgb = picture(disc(200))
    return [Frame(rgb, i / 30.0, i, "clip") for i in range(n)]


def grid_segmenter() -> GridSegmenter:
    return GridSegmenter(disc(48, 110, 110, 55.0, 55.0).astype(np.float32))  # a quarter of the picture's size


@pytest.mark.parametrize(("quality", "full_edges", "live_quality", "expected"), [
    ("best", True, "auto", 3),  # video files, the default
    ("fast", True, "auto", 0),  # video files at quality fast
    ("best", False, "best", 0),  # live, even at live quality best
])
def test_video_files_at_best_are_matted_and_live_frames_never(counted: Counting, quality: str, full_edges: bool,
                                                              live_quality: str, expected: int) -> None:
    pipe = Pipeline(grid_segmenter(), EffectParams(effect="blur", quality=quality, live_quality=live_quality))
    pipe.full_edges = full_edges
    for frame in frames():
        assert pipe.process(frame).mask is not None
    assert counted.calls == expected
    assert set(counted.floors) <= {0.0}  # video frames keep their faint alpha


def test_best_stills_are_matted_unless_turned_off(counted: Counting) -> None:
    pipe = Pipeline(grid_segmenter(), EffectParams(effect="remove"), temporal=False)
    result = pipe.process(frames(1)[0])
    assert counted.calls == 1 and result.pixels.shape == (H, W, 4)
    assert counted.floors == [matting.MATTE_FLOOR]  # a photo's faint alpha is background
    pipe.matting = False
    pipe.process(frames(1)[0])
    assert counted.calls == 1


def test_faint_alpha_under_the_floor_is_background_and_the_rest_is_kept() -> None:
    """Background that resembles the person's edge gets faint alpha from the band (a cut-out would show it as a
    ghost); under `floor` it is cut, above it the matte is as without the floor."""
    truth = disc(200)
    rgb = picture(truth)
    ghost = disc(214) & ~disc(206)  # a ring of background the colours half explain
    rgb[ghost] = (0.85 * BACKGROUND + 0.15 * PERSON).astype(np.uint8)
    mask = disc(203).astype(np.float32)
    plain = matting.matte_fitted(rgb, mask, W)
    floored = matting.matte_fitted(rgb, mask, W, floor=0.2)
    faint = (plain > 0.0) & (plain < 0.2)
    assert faint.any() and not floored[faint].any()
    assert np.array_equal(floored[plain >= 0.2], plain[plain >= 0.2])


def test_video_frames_are_floored_after_the_gate_which_keeps_the_faint_values() -> None:
    truth = disc(200)
    rgb = picture(truth)
    rgb[disc(214) & ~disc(206)] = (0.85 * BACKGROUND + 0.15 * PERSON).astype(np.uint8)  # a ghost ring
    pipe = Pipeline(grid_segmenter(), EffectParams(effect="remove", color=(0, 255, 0)))
    pipe.full_edges = True
    masks = [pipe.process(Frame(rgb, i / 30.0, i, "clip")).mask for i in range(3)]
    history = pipe._refiner._matte_state
    assert history is not None and ((history > 0.0) & (history < matting.MATTE_FLOOR)).any()
    for mask in masks:
        assert mask is not None and not ((mask > 0.0) & (mask < matting.MATTE_FLOOR)).any()


def test_a_matted_photo_keeps_its_edge_at_the_default_feather_and_softens_past_it() -> None:
    def soft_pixels(feather: float) -> int:
        pipe = Pipeline(grid_segmenter(), EffectParams(effect="blur", feather=feather), temporal=False)
        mask = pipe.process(frames(1)[0]).mask
        return int(((mask > 0.02) & (mask < 0.98)).sum())

    assert soft_pixels(1.0) > 2 * soft_pixels(0.3)


def test_video_frames_matte_goes_through_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    gated = []
    original = MaskRefiner.steady_matte
    monkeypatch.setattr(MaskRefiner, "steady_matte", lambda self, alpha: gated.append(1) or original(self, alpha))
    pipe = Pipeline(grid_segmenter(), EffectParams(effect="blur"))
    pipe.full_edges = True
    masks = [pipe.process(frame).mask for frame in frames(3)]
    assert len(gated) == 3 and all(m is not None for m in masks)
