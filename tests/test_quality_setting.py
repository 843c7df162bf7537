"""The quality setting: "best" sends still photos through `quality.segment_still`, "fast" and every live or video
frame through the per-frame path. A fake still segmenter proves which path ran."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core import quality as still_quality
from desktop_app.core.frames import Frame
from desktop_app.core.masks import soft_threshold, upsample
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import STILL_REFINE_LONG_SIDE, Pipeline

H, W = 90, 120


class RightHalf:
    """The per-frame segmenter: a person on the right half of its 64x64 grid."""

    spec = None

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        self.calls += 1
        mask = np.zeros((64, 64), np.float32)
        mask[:, 32:] = 1.0
        return mask, {"resize": 0.0, "inference": 0.0}


class StillSpy:
    """Stands in for `quality.segment_still`: a person on the LEFT half, at the photo's full size."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, tuple[int, ...]]] = []

    def __call__(self, segmenter: object, rgb: np.ndarray) -> np.ndarray:
        self.calls.append((segmenter, rgb.shape))
        prob = np.zeros(rgb.shape[:2], np.float32)
        prob[:, : rgb.shape[1] // 2] = 0.8
        return prob


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> StillSpy:
    fake = StillSpy()
    monkeypatch.setattr(still_quality, "segment_still", fake)
    return fake


def photo(h: int = H, w: int = W) -> Frame:
    return Frame(np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8), 0.0, 0, "photo.jpg")


def left_is_person(mask: np.ndarray) -> bool:
    w = mask.shape[1]
    return bool(mask[:, : w // 2 - 4].min() > 0.5 and mask[:, w // 2 + 4 :].max() < 0.5)


def right_is_person(mask: np.ndarray) -> bool:
    w = mask.shape[1]
    return bool(mask[:, w // 2 + 4 :].min() > 0.5 and mask[:, : w // 2 - 4].max() < 0.5)


@pytest.mark.parametrize("effect", ["blur", "remove", "replace", "mask"])
def test_best_stills_take_their_mask_from_segment_still(spy: StillSpy, effect: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    back = tmp_path / "back.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(back)
    seg = RightHalf()
    params = EffectParams(effect=effect, background=back if effect == "replace" else None, feather=0.0)
    result = Pipeline(seg, params, temporal=False).process(photo())
    assert len(spy.calls) == 1 and spy.calls[0] == (seg, (H, W, 3))
    assert seg.calls == 0  # the per-frame predict is not run on top
    assert result.mask is not None and result.mask.shape == (H, W)
    assert left_is_person(result.mask)
    if effect == "mask":  # the probability itself, never thresholded
        assert result.pixels.shape == (H, W) and int(result.pixels[0, 0]) == round(0.8 * 255)
    if effect == "remove":  # RGBA at full size, the left half opaque
        assert result.pixels.shape == (H, W, 4) and left_is_person(result.pixels[..., 3] / 255.0)


def test_a_temporal_pipeline_takes_the_best_path_only_for_frames_marked_still(spy: StillSpy) -> None:
    """Batch's images go through the video pipeline marked `still=True`; its video frames are not marked."""
    pipe = Pipeline(RightHalf(), EffectParams(feather=0.0, smoothing=0.0), temporal=True)
    assert left_is_person(pipe.process(photo(), still=True).mask)
    assert right_is_person(pipe.process(photo()).mask)
    assert len(spy.calls) == 1


@pytest.mark.parametrize("make", [
    lambda seg, params: Pipeline(seg, params, temporal=True),  # live, video
    lambda seg, params: Pipeline(seg, params, temporal=True, live=False),
    lambda seg, params: Pipeline(seg, params.with_(quality="fast"), temporal=False),  # a fast still
])
def test_live_video_and_fast_stills_never_take_the_still_path(spy: StillSpy, make) -> None:  # type: ignore[no-untyped-def]
    seg = RightHalf()
    result = make(seg, EffectParams(feather=0.0, smoothing=0.0)).process(photo())
    assert spy.calls == [] and seg.calls == 1
    assert right_is_person(result.mask)


def test_fast_stills_are_the_per_frame_path_exactly(spy: StillSpy) -> None:
    params = EffectParams(quality="fast", threshold=0.4, feather=0.5)
    result = Pipeline(RightHalf(), params, temporal=False).process(photo())
    expected = upsample(soft_threshold(RightHalf().predict(photo().pixels)[0], 0.4, 0.5), (H, W))
    np.testing.assert_array_equal(result.mask, expected)


def test_set_params_switches_quality_from_the_next_photo(spy: StillSpy) -> None:
    pipe = Pipeline(RightHalf(), EffectParams(quality="fast", feather=0.0), temporal=False)
    assert right_is_person(pipe.process(photo()).mask)
    pipe.set_params(pipe.params.with_(quality="best"))
    assert left_is_person(pipe.process(photo()).mask)


def test_best_refines_a_big_photo_small_and_matches_refining_at_full_size(spy: StillSpy) -> None:
    """Past STILL_REFINE_LONG_SIDE the threshold/feather runs on an area-averaged copy: the edge stays put."""
    h, w = 64, STILL_REFINE_LONG_SIDE * 2
    params = EffectParams(effect="blur", threshold=0.5, feather=0.4)
    result = Pipeline(RightHalf(), params, temporal=False).process(photo(h, w))
    full = soft_threshold(spy(None, np.zeros((h, w, 3), np.uint8)), 0.5, 0.4)
    assert result.mask.shape == (h, w)
    assert float(np.abs(result.mask - full).max()) < 0.02
    assert result.timings["inference"] >= 0.0 and set(result.timings) == {"resize", "inference", "mask", "compose"}


def test_best_blur_keeps_the_person_and_blurs_the_rest(spy: StillSpy) -> None:
    f = photo()
    result = Pipeline(RightHalf(), EffectParams(effect="blur", feather=0.0, strength=80), temporal=False).process(f)
    np.testing.assert_array_equal(result.pixels[:, : W // 2 - 8], f.pixels[:, : W // 2 - 8])
    assert np.abs(result.pixels[:, W // 2 + 8 :].astype(int) - f.pixels[:, W // 2 + 8 :]).mean() > 20


def test_the_real_segment_still_runs_through_the_pipeline() -> None:
    """No spy: the package's own function with the per-frame fake, any size down to a pixel."""
    for h, w in ((H, W), (1, 1), (8, 300)):
        result = Pipeline(RightHalf(), EffectParams(effect="remove"), temporal=False).process(photo(h, w))
        assert result.pixels.shape == (h, w, 4)
