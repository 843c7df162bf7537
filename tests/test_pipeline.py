"""Pipeline and FrameSlot with a fake segmenter (a synthetic disc mask): no model needed."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktop_app.core import pipeline as pipeline_mod
from desktop_app.core.frames import Frame
from desktop_app.core.imageio import ImageReadError
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import STAGES, FrameSlot, Pipeline

H, W = 120, 160


def disc(size: int = 64, radius: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return (((xx - size // 2) ** 2 + (yy - size // 2) ** 2) <= radius**2).astype(np.float32)


class FakeSegmenter:
    """Returns the queued masks in turn (the last one forever) and counts calls."""

    spec = None

    def __init__(self, *masks: np.ndarray) -> None:
        self.masks = list(masks) or [disc()]
        self.calls = 0

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        mask = self.masks[min(self.calls, len(self.masks) - 1)]
        self.calls += 1
        return mask, {"resize": 1.0, "inference": 2.0}


def frame(seed: int = 0, index: int = 0, source: str = "cam", h: int = H, w: int = W) -> Frame:
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return Frame(pixels, 0.0, index, source)


SHARP = EffectParams(effect="blur", feather=0.0, smoothing=0.0)


def test_none_skips_the_model() -> None:
    seg = FakeSegmenter()
    f = frame()
    result = Pipeline(seg, EffectParams(effect="none")).process(f)
    assert seg.calls == 0
    assert result.pixels is f.pixels
    assert result.mask is None
    assert result.timings == dict.fromkeys(STAGES, 0.0)


def test_blur_result_has_full_res_mask_timings_and_unchanged_person() -> None:
    f = frame()
    # The person is in the picture too, a flat patch (the live edge step follows the frame's colour edges).
    f.pixels[cv2.resize(disc(), (W, H), interpolation=cv2.INTER_NEAREST) > 0] = (200, 180, 170)
    result = Pipeline(FakeSegmenter(), SHARP).process(f)
    assert result.frame is f
    assert result.pixels.shape == (H, W, 3)
    assert result.mask is not None
    assert result.mask.shape == (H, W)
    assert result.mask.dtype == np.float32
    assert result.mask.min() == 0.0
    assert result.mask.max() == 1.0
    assert list(result.timings) == list(STAGES)
    assert result.timings["resize"] == 1.0
    assert result.timings["inference"] == 2.0
    person = result.mask == 1.0
    assert person.sum() > 500
    assert np.array_equal(result.pixels[person], f.pixels[person])
    assert not np.array_equal(result.pixels[~person], f.pixels[~person])


def test_mask_effect_returns_the_full_size_probability_as_uint8() -> None:
    # The 64x64 model mask upsampled to the 160x120 frame (not squashed to the model grid), as uint8.
    result = Pipeline(FakeSegmenter(), SHARP.with_(effect="mask")).process(frame())
    assert result.pixels.dtype == np.uint8
    assert result.pixels.shape == (H, W)
    expected = cv2.resize(disc(), (W, H), interpolation=cv2.INTER_LINEAR)
    assert np.abs(result.pixels.astype(int) - np.round(expected * 255)).max() <= 1
    assert result.mask is not None and result.mask.shape == (H, W)


def test_mask_effect_keeps_a_tall_photo_tall() -> None:
    result = Pipeline(FakeSegmenter(), SHARP.with_(effect="mask")).process(frame(h=200, w=90))
    assert result.pixels.shape == (200, 90)


def test_mask_effect_is_the_probability_not_the_thresholded_alpha() -> None:
    soft = np.linspace(0.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    params = EffectParams(effect="mask", threshold=0.5, feather=0.0, smoothing=0.0)
    result = Pipeline(FakeSegmenter(soft), params).process(frame())
    upsampled = cv2.resize(soft, (W, H), interpolation=cv2.INTER_LINEAR)
    expected = np.clip(upsampled * 255.0 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(result.pixels.astype(int) - expected).max() <= 1
    assert len(np.unique(result.pixels)) > 200  # a ramp, not a 0/255 step


def write_png(path: Path, colour: tuple[int, int, int]) -> Path:
    image = np.zeros((30, 40, 3), np.uint8)
    image[:] = colour
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def test_replace_loads_the_background_once_per_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[Path] = []
    real = pipeline_mod.load_background

    def counting(path: Path) -> np.ndarray:
        loads.append(Path(path))
        return real(path)

    monkeypatch.setattr(pipeline_mod, "load_background", counting)
    red, blue = write_png(tmp_path / "red.png", (255, 0, 0)), write_png(tmp_path / "blue.png", (0, 0, 255))
    pipe = Pipeline(FakeSegmenter(), SHARP.with_(effect="replace", background=red))
    first = pipe.process(frame())
    assert first.mask is not None
    assert np.all(first.pixels[first.mask == 0.0] == (255, 0, 0))
    pipe.process(frame(1))
    pipe.set_params(pipe.params.with_(threshold=0.4, feather=0.2))  # no reload for mask settings
    pipe.process(frame(2))
    assert loads == [red]
    pipe.set_params(pipe.params.with_(background=blue))
    second = pipe.process(frame(3))
    assert second.mask is not None
    assert np.all(second.pixels[second.mask == 0.0] == (0, 0, 255))
    assert loads == [red, blue]


def test_unreadable_background_raises_on_the_frame_that_needs_it(tmp_path: Path) -> None:
    pipe = Pipeline(FakeSegmenter(), SHARP.with_(effect="replace", background=tmp_path / "missing.png"))
    with pytest.raises(ImageReadError):
        pipe.process(frame())
    pipe.set_params(SHARP)  # still usable with another effect
    assert pipe.process(frame()).pixels.shape == (H, W, 3)


def test_set_params_from_another_thread_applies_on_the_next_frame() -> None:
    seg = FakeSegmenter()
    pipe = Pipeline(seg, SHARP)
    assert pipe.process(frame()).pixels.shape == (H, W, 3)
    worker = threading.Thread(target=pipe.set_params, args=(SHARP.with_(effect="remove"),))
    worker.start()
    worker.join()
    result = pipe.process(frame())
    assert result.pixels.shape == (H, W, 4)
    assert seg.calls == 2


def test_temporal_smoothing_mixes_frames_and_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small change (0.3 -> 0.7) is averaged; a large one would be followed at once (tests/test_masks.py).
    from desktop_app.core import masks

    monkeypatch.setattr(masks, "VIDEO_EDGE_PROBABILITY", 0.5)  # the arithmetic below: video frames at 0.5 too
    zeros, ones = np.full((64, 64), 0.3, np.float32), np.full((64, 64), 0.7, np.float32)
    params = EffectParams(effect="blur", feather=1.0, smoothing=0.5)

    def second_mask(pipe: Pipeline, before_second=None, second: Frame | None = None) -> float:
        pipe.edges = False  # the smoothing alone; the edge refinement has its own tests (test_live_edges.py)
        pipe.process(frame())
        if before_second:
            before_second(pipe)
        result = pipe.process(second or frame(1))
        assert result.mask is not None
        return float(result.mask[0, 0])

    # Widest feather at threshold 0.5: alpha = smoothstep(p). Alone, 0.7 -> 0.784. Smoothed: the history
    # keeps 0.5 * (1 - 0.4 / 0.5) = 0.1 -> 0.66, then the hysteresis (the pixel was background) takes 0.1 off.
    alone, mixed = 0.7**2 * (3 - 2 * 0.7), 0.56**2 * (3 - 2 * 0.56)
    assert second_mask(Pipeline(FakeSegmenter(zeros, ones), params)) == pytest.approx(mixed, abs=1e-4)
    # A still (a temporal=False pipeline) never smooths; quality "fast": the per-frame arithmetic above (best stills
    # have their band matted: tests/test_matting.py).
    still_params = params.with_(quality="fast")
    assert second_mask(Pipeline(FakeSegmenter(zeros, ones), still_params, temporal=False)) == pytest.approx(alone)
    assert second_mask(Pipeline(FakeSegmenter(zeros, ones), params), Pipeline.reset) == pytest.approx(alone)
    other_source = frame(1, source="video.mp4")
    assert second_mask(Pipeline(FakeSegmenter(zeros, ones), params), second=other_source) == pytest.approx(alone)
    resized = frame(1, h=60, w=80)
    assert second_mask(Pipeline(FakeSegmenter(zeros, ones), params), second=resized) == pytest.approx(alone)


def test_frame_slot_counts_dropped_frames_from_a_producer_thread() -> None:
    slot = FrameSlot()
    frames = [frame(i, index=i) for i in range(5)]

    def produce() -> None:
        for f in frames:
            slot.put(f)

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join()
    taken = slot.take(timeout=0)
    assert taken is frames[-1]
    assert slot.dropped == 4
    assert slot.put_count == 5
    assert slot.take(timeout=0) is None


def test_frame_slot_hand_over_without_drops() -> None:
    slot = FrameSlot()
    frames = [frame(i, index=i) for i in range(3)]
    taken_event = threading.Event()
    received: list[int] = []

    def consume() -> None:
        for _ in frames:
            f = slot.take(timeout=10)
            assert f is not None
            received.append(f.index)
            taken_event.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    for f in frames:
        taken_event.clear()
        slot.put(f)
        assert taken_event.wait(10)
    consumer.join()
    assert received == [0, 1, 2]
    assert slot.dropped == 0


def test_frame_slot_close_wakes_a_waiting_taker() -> None:
    slot = FrameSlot()
    results: list[Frame | None] = []
    started = threading.Barrier(2)

    def wait_for_frame() -> None:
        started.wait()
        results.append(slot.take(timeout=None))

    taker = threading.Thread(target=wait_for_frame)
    taker.start()
    started.wait()
    slot.close()
    taker.join(10)
    assert not taker.is_alive()
    assert results == [None]
    slot.put(frame())
    assert slot.take(timeout=0) is None
    assert slot.closed


def test_with_the_real_segmenter_on_the_synthetic_model(tmp_path: Path) -> None:
    """The duck-typed contract holds for desktop_app.core.segmenter.Segmenter (a tiny ONNX stand-in model)."""
    from synthetic_model import write_models_dir

    from desktop_app.core.segmenter import Segmenter

    seg = Segmenter("selfie-general", "cpu", 1, models_dir=write_models_dir(tmp_path / "models"))
    pixels = np.zeros((180, 320, 3), np.uint8)
    pixels[:, :160] = 255  # the synthetic model calls bright pixels "person"
    pipe = Pipeline(seg, EffectParams(effect="remove", feather=0.0, smoothing=0.0))
    result = pipe.process(Frame(pixels, 0.0))
    assert result.pixels.shape == (180, 320, 4)
    assert np.all(result.pixels[:, :150, 3] == 255)
    assert np.all(result.pixels[:, 170:, 3] == 0)
    assert result.timings["inference"] > 0.0


def test_set_params_does_not_wait_for_the_background_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    loading = threading.Event()

    def slow_load(path: Path) -> np.ndarray:
        loading.set()
        assert release.wait(10)
        return np.full((10, 10, 3), 7, np.uint8)

    monkeypatch.setattr(pipeline_mod, "load_background", slow_load)
    pipe = Pipeline(FakeSegmenter(), SHARP)
    pipe.set_params(SHARP.with_(effect="replace", background=Path("slow.png")))  # returns while loading
    assert loading.wait(10)
    assert not release.is_set()
    results = []
    worker = threading.Thread(target=lambda: results.append(pipe.process(frame())))
    worker.start()  # the frame that needs the image waits for it
    release.set()
    worker.join(10)
    assert not worker.is_alive()
    mask = results[0].mask
    assert np.all(results[0].pixels[mask == 0.0] == 7)


def test_live_pipelines_take_the_one_pass_edge_estimate_and_stills_two(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.effects import remove_effect as bg_mod  # the remove effect's compose step

    seen: list[int] = []
    real = bg_mod.estimate_foreground

    def spy(rgb: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None, passes: int = 2) -> np.ndarray:
        seen.append(passes)
        return real(rgb, alpha, out=out, passes=passes)

    monkeypatch.setattr(bg_mod, "estimate_foreground", spy)
    params = EffectParams(effect="remove", smoothing=0.0)
    Pipeline(FakeSegmenter(), params, temporal=True).process(frame())
    Pipeline(FakeSegmenter(), params, temporal=False).process(frame())
    Pipeline(FakeSegmenter(), params, temporal=True, live=False).process(frame())
    assert seen == [1, 2, 2]


def test_a_translucent_background_png_through_the_pipeline(tmp_path: Path) -> None:
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 2], rgba[..., 3] = 255, 128  # half-transparent blue
    path = tmp_path / "overlay.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    f = Frame(np.full((H, W, 3), 200, np.uint8), 0.0)  # a flat grey frame: its blur is the same grey
    result = Pipeline(FakeSegmenter(), SHARP.with_(effect="replace", background=path)).process(f)
    assert result.mask is not None
    back = result.pixels[result.mask == 0.0].astype(int)
    assert np.abs(back - (100, 100, 228)).max() <= 2  # half blue over the grey, not blue over black
