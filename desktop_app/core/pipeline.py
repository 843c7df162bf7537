"""One frame through the core: segment, refine the mask, compose the effect; and the latest-frame mailbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from desktop_app.core import halvings
from desktop_app.core import quality as still_quality
from desktop_app.core.buffers import PoolSet, pooled_outputs
from desktop_app.core.edges_full import refine_edges_colour, refine_edges_full, refine_edges_half
from desktop_app.core.effects.background import compose, load_background
from desktop_app.core.effects.registry import PERSON_SEGMENTATION, EffectSpec, spec_for
from desktop_app.core.faces.stage import FaceStage
from desktop_app.core.frames import Frame, Result
from desktop_app.core.masks import EDGE_SIGMA_PER_FEATHER, MaskRefiner, frame_threshold, soft_threshold, upsample
from desktop_app.core.matting import MATTE_FLOOR, floored, matte_fitted
from desktop_app.core.params import EffectParams
from desktop_app.core.person_crop import PersonCrop
from desktop_app.core.quality import people_models
from desktop_app.core.resize import fit_long_side

STAGES = ("resize", "inference", "mask", "compose")
# The best still path refines the full-resolution mask at most this long side, then upsamples (12 MP: 270 ms
# at full size, 75 ms at 2048 with a largest difference of 0.0006; the feather is a fraction of the picture).
STILL_REFINE_LONG_SIDE = 2048
# The edge band matted (core.matting) on the frame shrunk to this long side at most: video files (720p) and photos
# (the set's 1.3-1.6 MP at their own size; 12 MP at 1536x1152). The matting's cost grows with the band's area.
VIDEO_MATTE_LONG_SIDE = 1280
STILL_MATTE_LONG_SIDE = 1536
# A matted photo's edge is as soft as the photo shows it: the default feather (0.3) adds no blur, more feather
# softens it by the same Gaussian as before (soft_threshold), less keeps the matte (tune photos: the default's blur
# after the matte cost mean IoU 0.970 -> 0.960, most on small people).
MATTED_FEATHER = 0.3
STILL_GRID_LONG_SIDE = 256  # the compose's small mask (the blur's normalisation): the bundled models' grid


class SegmenterLike(Protocol):
    """What the pipeline needs from `desktop_app.core.segmenter.Segmenter` (duck-typed for tests)."""

    spec: Any

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]: ...


class FrameSlot:
    """A thread-safe mailbox holding only the newest frame: capture never waits for processing.

    `put` replaces a frame nobody took yet and counts it in `dropped`; `take` waits for a frame;
    `close` wakes every waiter and makes `take` return None from then on.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.dropped = 0
        self.put_count = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._closed:
                return
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame, waiting up to `timeout` seconds (None = forever); None on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout)
            if self._closed:
                return None
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._frame = None
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class _BackgroundLoad:
    """Reads a background image on a daemon thread so `set_params` and the frame loop never wait on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._done = threading.Event()
        self._image: np.ndarray | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="locallens-background", daemon=True).start()

    def _run(self) -> None:
        try:
            self._image = load_background(self.path)
        except BaseException as exc:  # handed to the frame that needs the image
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> np.ndarray:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._image is not None
        return self._image


class Pipeline:
    """`process(Frame) -> Result`: segment, refine at model resolution, upsample, compose at full size.

    Every effect's output has the frame's size: RGB, RGBA for a transparent cut-out, (H, W) for `mask`.

    `set_params` may be called from any thread and applies from the next frame. A new background path is
    read once, on a helper thread; `temporal=False` turns off smoothing across frames (still photos).
    Temporal state resets on `reset()`, on a change of source or frame size, and while the effect is none.
    `live` (default: the same as `temporal`) keeps frame-rate costs: the one-pass edge colour estimate for
    `remove` and none at blur/replace edges; otherwise (stills) every effect's soft edge takes the person's
    two-pass estimated colour (see `effects.foreground`).

    Quality: a still photo (`process(frame, still=True)`, or any frame of a `temporal=False` pipeline) with
    `params.quality == "best"` takes its mask from `quality.segment_still` at full resolution and the stills'
    edge colour estimate; with "fast", and for every live or video frame, the per-frame path above.
    `edges` (an attribute, default: the same as `temporal`) snaps the mask's edges to the frame's in colour at the
    model's grid (`edges_full.refine_edges_colour`, about 1 ms at 720p) for every effect but `mask`, whose output
    is the probability itself; it is fitted against a change-gated average of the frame
    (`MaskRefiner.steady_unit_guide`) and the refined edge goes through the change gate again
    (`MaskRefiner.steady`), so sensor noise does not make a still person's edge flicker. `full_edges` (an
    attribute, default False) snaps them at the frame's full resolution instead (`edges_full.refine_edges_full`:
    flicker 0.45x on call-P002, about +3.5 ms CPU at 720p, so for video files, which the CLI and the window's
    exports turn it on for, not for live frames; docs/quality.md). Live frames with `params.live_quality` "best"
    take that full-resolution step on the frame at half its size instead (`edges_full.refine_edges_half`: 1.1x
    fast's CPU at 720p, flicker 0.50x -> 0.42x of before #9 held out), and so do "auto" ones while `auto_best` (an
    attribute, default True; the live session's `core.live_quality.AutoQuality` clears it on a machine too slow).
    `matting` (an attribute, default True): best stills, and video frames with `full_edges` at quality "best"
    (the CLI's and exports' default), have the band around the person's edge re-solved by closed-form matting
    (`core.matting`, about 0.1 s a 960x540 frame; video frames' result change-gated): hair the model misses on
    textured backgrounds. Never live frames.
    Video and live frames count as person from `masks.frame_threshold(params.threshold)` (the threshold itself
    since session 20; 0.4 at the default 0.5 before it); photos from `params.threshold` itself.
    `crop` (an attribute, default False; the live session turns it on) runs the model on a square crop around where
    the person was (`core.person_crop`); `video_crop` (default True) has video files' lookahead do the same under it
    (`lookahead.video_lookahead`).

    Stages: `process` runs `self.stages` in order, the `BackgroundStage` first (the above), then the `FaceStage`
    (`core.faces.stage`: hides every face while `params.faces` is set, a no-op otherwise), then any given as
    `stages`, each on the output of the one before (docs/architecture.md, "Effects as stages"). `video` (an
    argument and attribute, default False) says a temporal pipeline's frames come from a video file, not a live
    camera: the faces stage then takes the photo detector (CenterFace at full size) instead of the live one.

    Buffers: with `pooled` (an attribute, default: the same as `live`) the frame-sized outputs (the upsampled
    mask, the alpha, the composed frame) come from pools (`core.buffers.PoolSet`) instead of fresh arrays, so a
    long live session stops allocating them every frame (docs/benchmarks.md "Hour-long call"). A pooled array is
    reused only once nothing else references it (a sink, the GUI, a snapshot keep it safe as long as they hold
    it); only the processing thread may call `process` on a pooled pipeline. Stills never pool (a pool keeps its
    last buffers: at 12 MP that is memory a photo does not need).
    """

    def __init__(
        self, segmenter: SegmenterLike, params: EffectParams, temporal: bool = True, live: bool | None = None,
        stages: Sequence[Stage] = (), video: bool = False,
    ) -> None:
        self.segmenter = segmenter
        self.temporal = temporal
        self.live = temporal if live is None else live
        self.video = video
        self.edges = temporal
        self.full_edges = False
        self.matting = True  # with full_edges and quality "best" (video files), and on best stills: core.matting
        self.plate = True  # video files' matte then decided against the background seen so far (core.plate)
        self.crop = False  # the model on a crop around the person (core.person_crop): the live engine turns it on
        self.video_crop = True  # video files: the lookahead (core.lookahead.video_lookahead) crops the same way
        self._crop = PersonCrop()
        self.people = people_models.SHARED  # best stills' detectors; a batch worker's pipeline gets its own set
        self.auto_best = True  # live quality "auto" takes best's edges while True (the live session's AutoQuality)
        self.pooled = self.live
        self._pools = PoolSet()
        self._lock = threading.Lock()
        self._params = params
        self._load: _BackgroundLoad | None = None
        self._reset_pending = False
        self._refiner = MaskRefiner()
        self._source_key: tuple[str, tuple[int, int]] | None = None
        # The background stage, the faces stage, then `stages` in order.
        self.faces = FaceStage(self)
        self.stages: list[Stage] = [BackgroundStage(self), self.faces, *stages]
        self._start_load(params)

    @property
    def params(self) -> EffectParams:
        return self._params

    def set_params(self, params: EffectParams) -> None:
        with self._lock:
            self._params = params
            self._start_load(params)

    def reset(self) -> None:
        """Forget the temporal history (a new video, a still photo)."""
        with self._lock:
            self._reset_pending = True

    def _start_load(self, params: EffectParams) -> None:
        path = params.background
        if path is None:
            return
        if self._load is None or self._load.path != Path(path):
            self._load = _BackgroundLoad(Path(path))

    def _snapshot(self) -> tuple[EffectParams, _BackgroundLoad | None, bool]:
        with self._lock:
            reset, self._reset_pending = self._reset_pending, False
            return self._params, self._load, reset

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        """`still` (default: `not temporal`) marks a photo: see the class docstring for what quality does.

        Runs `stages` in order on one `StageState`; each reads the frame and the output so far and may replace it.
        """
        params, load, reset = self._snapshot()
        rgb = frame.pixels
        key = (frame.source_id, (rgb.shape[1], rgb.shape[0]))
        if reset or key != self._source_key:
            for stage in self.stages:
                stage.reset()
        self._source_key = key
        state = StageState(frame, params, not self.temporal if still is None else still, rgb, None, {}, load)
        with pooled_outputs(self._pools if self.pooled and not state.still else None):
            for stage in self.stages:
                stage.run(state)
        return Result(frame, state.pixels, state.mask, state.timings)

    def _background(self, state: StageState) -> None:
        """The background stage: segment, refine, compose `params.effect` (see the class docstring)."""
        params, frame, load = state.params, state.frame, state.background_load
        rgb = frame.pixels
        spec = spec_for(params.effect)
        if spec.compose is None:
            self._refiner.reset()  # no history while nothing is segmented
            state.timings.update(dict.fromkeys(STAGES, 0.0))
            return
        background = load.result() if load is not None and spec.takes("background") else None
        if params.quality == "best" and state.still:
            state.pixels, state.mask, timings = self._best_still(rgb, params, spec, background)
            state.timings.update(timings)
            return

        if self.crop and not state.still:
            mask_small, seg_timings = self._crop.predict(self.segmenter, rgb)
        else:
            mask_small, seg_timings = self.segmenter.predict(rgb)
        with halvings.shared(rgb):  # the edge step's half frame is the blur's first halving (core.halvings)
            self._refine_compose(state, rgb, spec, mask_small, seg_timings, background)

    def _refine_compose(self, state: StageState, rgb: np.ndarray, spec: EffectSpec, mask_small: np.ndarray,
                        seg_timings: dict[str, float], background: np.ndarray | None) -> None:
        """The per-frame path after the model: refine `mask_small`, snap its edges, upsample, compose."""
        params = state.params
        start = time.perf_counter()
        refiner = self._refiner
        # Video and live frames: the user's threshold as the probability where their outline lies (masks.py);
        # photos (a still, whatever pipeline it goes through) keep it as it is.
        refiner.threshold = params.threshold if state.still else frame_threshold(params.threshold)
        refiner.feather = params.feather
        refiner.smoothing = params.smoothing if self.temporal else 0.0
        if spec.uses_probability:
            # The person probability itself (smoothed across video frames, never thresholded), upsampled
            # to the frame's full size: the output is that probability as an 8-bit (H, W) image.
            mask = upsample(refiner.smooth(mask_small), rgb.shape[:2], out=self._mask_buffer(rgb, state))
            masked = time.perf_counter()
            pixels = compose(rgb, mask, params)
        else:
            refined = refiner.refine(mask_small)
            matte = self.matting and self.full_edges and params.quality == "best"
            edged = self._edges(rgb, refined, self.live_best(params), matte) if self.edges else None
            mask = upsample(refined if edged is None else edged, rgb.shape[:2], out=self._mask_buffer(rgb, state))
            masked = time.perf_counter()
            pixels = compose(rgb, mask, params, background, mask_small=refined, live=self.live)
        done = time.perf_counter()
        state.pixels, state.mask = pixels, mask
        timings = state.timings
        timings["resize"] = float(seg_timings.get("resize", 0.0))
        timings["inference"] = float(seg_timings.get("inference", 0.0))
        timings["mask"] = (masked - start) * 1000.0
        timings["compose"] = (done - masked) * 1000.0

    def live_best(self, params: EffectParams) -> bool:
        """Whether live frames take live quality "best"'s edge step: "best", or "auto" while `auto_best`."""
        return params.live_quality == "best" or (params.live_quality == "auto" and self.auto_best)

    def _mask_buffer(self, rgb: np.ndarray, state: StageState) -> np.ndarray | None:
        """A pooled (H, W) float32 array for the upsampled mask (`Result.mask`), or None when not pooling."""
        if not self.pooled or state.still:
            return None
        return self._pools.take("mask", rgb.shape[:2], np.float32)

    def _edges(self, rgb: np.ndarray, refined: np.ndarray, live_best: bool = False, matte: bool = False
               ) -> np.ndarray:
        """The refined mask's edges snapped to the frame's in colour: at full resolution (`full_edges`), at half of it
        (`live_best`: live quality "best", `edges_full.refine_edges_half`) or at the model's grid
        (`edges_full.refine_edges_colour`, live; W39: the grey grid step before it flickered 0.0112 vs 0.0090 on
        call-P002), against a change-gated average of the frame (and, at the grid, gated again); then specks
        dropped and small holes filled (`MaskRefiner.despeckle`, W39b), the gated histories left as they were.
        `matte` (full resolution only): then the band around the edge matted (`core.matting`), decided against the
        video's background plate (`core.plate`, while `plate`) and change-gated."""
        refiner = self._refiner
        if self.full_edges or live_best:
            band = refine_edges_full if self.full_edges else refine_edges_half
            size = rgb.shape[:2] if self.full_edges else (rgb.shape[0] // 2, rgb.shape[1] // 2)
            alpha = refiner.despeckle(refiner.steady_full(band(
                rgb, refined, guide_filter=refiner.steady_unit_guide, previous=refiner.previous_full(size),
                smoothing=refiner.smoothing)), refined.shape)
            if matte and self.full_edges:
                alpha = matte_fitted(rgb, alpha, VIDEO_MATTE_LONG_SIDE)
                if self.plate:  # decided against the plate before the gate, so sensor noise in it is gated too
                    alpha = refiner.plate.refine(rgb, alpha)
                # gated unfloored (the gate's history keeps the faint values), floored as shown
                alpha = floored(refiner.steady_matte(alpha), MATTE_FLOOR)
            return alpha
        return refiner.despeckle(refiner.steady(refine_edges_colour(rgb, refined,
                                                                    guide_filter=refiner.steady_unit_guide)))

    def _best_still(self, rgb: np.ndarray, params: EffectParams, spec: EffectSpec,
                    background: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """The best-quality still path: the full-resolution probability from `quality.segment_still`, refined
        (threshold, feather; never smoothed across frames) at up to STILL_REFINE_LONG_SIDE, composed as usual."""
        height, width = rgb.shape[:2]
        start = time.perf_counter()
        prob = still_quality.segment_still(self.segmenter, rgb, models=self.people)
        segmented = time.perf_counter()
        if spec.uses_probability:
            mask, small = prob, None
        else:
            work = fit_long_side(prob, STILL_REFINE_LONG_SIDE)
            refined = soft_threshold(work, params.threshold, params.feather)
            mask = upsample(refined, (height, width))
            if self.matting:
                # The band decided by the photo's colours; feather past the default softens it further.
                soften = max(0.0, params.feather - MATTED_FEATHER) * EDGE_SIGMA_PER_FEATHER
                refined = mask = matte_fitted(rgb, mask, STILL_MATTE_LONG_SIDE, soften, MATTE_FLOOR)
            small = fit_long_side(refined, STILL_GRID_LONG_SIDE)
        masked = time.perf_counter()
        pixels = compose(rgb, mask, params, background, mask_small=small, live=False)
        done = time.perf_counter()
        timings = {"resize": 0.0, "inference": (segmented - start) * 1000.0, "mask": (masked - segmented) * 1000.0,
                   "compose": (done - masked) * 1000.0}
        return pixels, mask, timings


@dataclass(slots=True)
class StageState:
    """One frame on its way through the stages: the input frame, what was chosen, and the output so far."""

    frame: Frame
    params: EffectParams
    still: bool  # a photo (the best-quality path, no temporal history)
    pixels: np.ndarray  # the output so far: the frame itself until a stage composes
    mask: np.ndarray | None  # the person mask at the frame's size, once the background stage made one
    timings: dict[str, float]  # ms per step; the background stage fills STAGES, later stages add their own
    background_load: _BackgroundLoad | None = None


class Stage(Protocol):
    """A step of `Pipeline.stages`: `run` reads the state and may replace its pixels (and add its timings);
    `reset` forgets history across frames (a new source, a new size, `Pipeline.reset`)."""

    name: str

    def run(self, state: StageState) -> None: ...

    def reset(self) -> None: ...


class BackgroundStage:
    """The first stage: the chosen background effect (`params.effect`) on the person mask; its state (the mask
    refiner, the edge options) lives on the pipeline, which tests and callers tune."""

    name = "background"
    model_kind = PERSON_SEGMENTATION

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def run(self, state: StageState) -> None:
        self._pipeline._background(state)

    def reset(self) -> None:
        self._pipeline._refiner.reset()
        self._pipeline._crop.reset()
