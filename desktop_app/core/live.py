"""The live loop without Qt: capture, processing, statistics, and the sinks processed frames go to.

Two threads per running session. The capture thread reads the `FrameSource` and `FrameSlot.put()`s frames (it
never waits for inference); when the source fails it plays a demo source (the bundled sample) and retries the
real one every `retry_interval` seconds. The processing thread takes the newest frame, runs `Pipeline.process`,
sends the result to every sink (`FrameSink`, as an RGB `SinkFrame` made once by `to_rgb`) and then emits it.
Both stop on a `threading.Event`; `stop()` joins them. Before a segmenter is set, frames pass through unprocessed
(`Result.processed` is False).

The session emits, napari style, plain callbacks on `events` (`result`, `stats`, `message`, `source`,
`sink_removed`) from its own threads; a GUI re-emits them on its thread. A sink never gets a picture that was
not processed or that is not the user's: while the demo stands in for a lost camera, before the model is ready
or while the effect fails, sinks get a `message_frame` (with `SinkFrame.message` set) at the output rate.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from desktop_app.core.capture import CaptureThread, DemoFactory, DemoFrame, SourceFactory, default_demo_source
from desktop_app.core.effects.registry import spec_for
from desktop_app.core.events import Event
from desktop_app.core.frames import Frame, Result
from desktop_app.core.live_quality import AutoQuality
from desktop_app.core.live_sinks import SinkFanout
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import FrameSlot, Pipeline, SegmenterLike
from desktop_app.core.sinks import FrameSink

__all__ = ["DemoFactory", "LiveEvents", "LiveResult", "LiveSession", "LiveStats", "SourceFactory",
           "default_demo_source", "is_processed", "mirrored"]
DEFAULT_SIZE = (1280, 720)  # the sinks' size before any real frame was seen
DEFAULT_FPS = 30.0
LOST_TEXT = "Camera lost - reconnecting"
STARTING_TEXT = "Starting the background effect"
FAILED_TEXT = "The background effect is not working"


class LiveEvents:
    """What a `LiveSession` reports. Callbacks run on the session's threads."""

    def __init__(self) -> None:
        self.result: Event[LiveResult] = Event()  # every frame out of the processing thread
        self.stats: Event[LiveStats] = Event()  # about every `stats_interval` seconds
        self.message: Event[str] = Event()  # a line for the view ("" = none): camera missing, unplugged...
        self.source: Event[str] = Event()  # the name of the source now shown
        self.sink_removed: Event[FrameSink] = Event()  # a sink that failed (after its close and notice)


@dataclass(frozen=True, slots=True)
class LiveStats:
    """What the status bar shows; emitted about twice a second."""

    capture_fps: float
    processed_fps: float
    inference_ms: float | None  # mean over the last interval; None before the model is ready
    dropped: int  # frames replaced in the slot before processing, since start
    provider: str  # e.g. "CPUExecutionProvider"; "" before the model is ready
    fallback_reason: str | None
    model_ready: bool
    source: str  # name of what is being shown
    on_demo: bool  # the real source failed and the demo is playing
    live_quality: str = ""  # the live quality frames take now: "fast", "best", "auto: best" or "auto: fast"


@dataclass(slots=True)
class LiveResult(Result):
    """A Result of the live loop; `fallback` is True for a frame of the demo played because the real source
    failed (shown in the preview, never sent to a sink)."""

    fallback: bool = False


def is_processed(result: Result) -> bool:
    """True when the pipeline ran (with any effect, including none); False for a pass-through frame."""
    return result.processed


def mirrored(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`pixels` (RGB, RGBA or gray) flipped left-right: what a mirrored preview shows (written into `out`, an
    array of the same shape and dtype, when given)."""
    return cv2.flip(pixels, 1, dst=out) if out is not None else cv2.flip(pixels, 1)


class _Processor(threading.Thread):
    """Takes the newest frame, processes it, feeds the sinks, emits the result and the stats. While the source
    is lost and no frame comes, sinks get the message frame at the output rate."""

    def __init__(self, session: LiveSession) -> None:
        super().__init__(name="locallens-processing")
        self.s = session

    def run(self) -> None:
        s = self.s
        while not s._stop.is_set():
            wait = min(0.1, 1.0 / s.output_fps) if s._lost else 0.1
            frame = s._slot.take(wait)
            if frame is not None:
                s._note_taken()
                result = s._process(frame)
                s._feed_sinks(result)
                s.events.result.emit(result)
            elif s._lost:
                s._feed_sinks(None)
            s._maybe_emit_stats()


class LiveSession:
    """Owns the live loop: capture and processing threads, statistics, and the sinks.

    `set_params`, `set_source`, `set_segmenter`, `add_sink` and `remove_sink` may be called from any thread and
    apply to the next frame. `stop()` joins both threads and closes the open sinks (they stay attached and
    open again on the next `start()`); `start()` after `stop()` starts afresh.
    """

    def __init__(
        self,
        source_factory: SourceFactory | None,
        params: EffectParams,
        demo_factory: DemoFactory | None = default_demo_source,
        retry_interval: float = 2.0,
        stats_interval: float = 0.5,
        fps: float | None = None,
    ) -> None:
        self.retry_interval, self.stats_interval = retry_interval, stats_interval
        self.events = LiveEvents()
        self._demo_factory = demo_factory
        self._fps = fps  # the configured output rate (None: the source's)
        self._lock = threading.Lock()
        self._params = params
        self._pipeline: Pipeline | None = None
        self._segmenter: SegmenterLike | None = None
        self._pending_source: SourceFactory | None = source_factory
        self._stop = threading.Event()
        self._slot = FrameSlot()
        self._taken = 0
        self._taken_cond = threading.Condition()
        self._capture: CaptureThread | None = None
        self._processor: _Processor | None = None
        self._fanout = SinkFanout(lambda: self.output_size, lambda: self.output_fps, self.events.sink_removed.emit)
        self._output_size: tuple[int, int] | None = None
        self._source_fps: float | None = None
        self._lost = False  # the real source failed (or never opened): no picture of the user to send
        self.source_name = ""
        self.on_demo = False
        self.message = ""
        self.processed = 0  # frames through the pipeline since start
        self._last_error = ""
        self._auto = AutoQuality()  # live quality "auto": best while this machine keeps up (core.live_quality)
        self._reset_stats()

    # ------------------------------------------------------------------------------------------ control

    def start(self) -> None:
        if self.is_running():
            return
        self._stop = threading.Event()
        self._slot = FrameSlot()
        self._taken = 0
        self._fanout.restart()
        self._lost = False  # until the source fails to open: a camera may take seconds to start
        self._auto.reset()
        self._reset_stats()
        self._processor = _Processor(self)
        self._capture = CaptureThread(self)
        self._processor.start()
        self._capture.start()

    def stop(self) -> None:
        """Stop and join both threads, close the open sinks (safe to call twice, or before start)."""
        self._stop.set()
        self._slot.close()
        with self._taken_cond:
            self._taken_cond.notify_all()
        if self._capture is not None:
            self._capture.join()
            self._capture = None
        if self._processor is not None:
            self._processor.join()
            self._processor = None
        self._fanout.close_all()

    def is_running(self) -> bool:
        return self._processor is not None and self._processor.is_alive()

    def set_params(self, params: EffectParams) -> None:
        with self._lock:
            self._params = params
            if self._pipeline is not None:
                self._pipeline.set_params(params)

    @property
    def params(self) -> EffectParams:
        return self._params

    def set_segmenter(self, segmenter: SegmenterLike | None) -> None:
        """Hand over the loaded model: effects start applying from the next frame."""
        with self._lock:
            self._segmenter = segmenter
            self._pipeline = None
            if segmenter is not None:
                self._pipeline = Pipeline(segmenter, self._params, temporal=True)
                self._pipeline.crop = True  # the model on a crop around the person (core.person_crop)

    @property
    def segmenter(self) -> SegmenterLike | None:
        return self._segmenter

    def set_source(self, factory: SourceFactory) -> None:
        """Switch to a new source (opened on the capture thread; a failure goes to the demo + retry path)."""
        with self._lock:
            self._pending_source = factory

    # ------------------------------------------------------------------------------------------ sinks

    def add_sink(self, sink: FrameSink) -> None:
        """Send every frame from now on to `sink` too (opened on the processing thread before its first frame,
        at `output_size` and `output_fps`)."""
        self._fanout.add(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        """Stop sending to `sink` and close it; when this returns no frame is being sent to it any more."""
        self._fanout.remove(sink)

    @property
    def sinks(self) -> list[FrameSink]:
        return self._fanout.sinks

    @property
    def sent(self) -> int:
        """Frames sent to sinks since start (the SinkFrame index)."""
        return self._fanout.sent

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) sinks are opened at: the real source's last frame size (DEFAULT_SIZE before one)."""
        return self._output_size or DEFAULT_SIZE

    @property
    def source_fps(self) -> float | None:
        """The open real source's frame rate; None while there is none."""
        return self._source_fps

    @property
    def output_fps(self) -> float:
        """The rate sinks are opened at: the configured rate, else the source's, else DEFAULT_FPS."""
        return self._fps or self._source_fps or DEFAULT_FPS

    def _feed_sinks(self, result: LiveResult | None) -> None:
        """Send `result` (or, without a picture of the user, the message frame) to every sink."""
        self._fanout.send(result, self._sink_message(result), LOST_TEXT)

    def _sink_message(self, result: LiveResult | None) -> str | None:
        """None when `result` is a processed picture of the user; else the text of the frame sinks get."""
        if result is None or result.fallback:
            return LOST_TEXT
        if not result.processed:
            return FAILED_TEXT if self._last_error else STARTING_TEXT
        return None

    # ------------------------------------------------------------------------------------------ threads

    def _note_taken(self) -> None:
        with self._taken_cond:
            self._taken += 1
            self._taken_cond.notify_all()

    def _wait_slot_taken(self) -> None:
        """Block the capture thread until the processing thread has taken every frame put so far."""
        with self._taken_cond:
            while not self._slot_empty() and not self._stop.is_set() and not self._slot.closed:
                self._taken_cond.wait(0.1)

    def _slot_empty(self) -> bool:
        """Every frame put was either taken or replaced (dropped) by a newer one."""
        return self._taken + self._slot.dropped >= self._slot.put_count

    def _take_pending_source(self) -> SourceFactory | None:
        with self._lock:
            pending, self._pending_source = self._pending_source, None
            return pending

    def _failure_message(self, reason: str) -> str:
        every = f"{self.retry_interval:g} s"
        if self._demo_factory is None:
            return f"{reason}\nTrying again every {every}."
        return f"{reason}\nShowing the sample instead; trying the camera again every {every}."

    def _set_state(self, source: str, on_demo: bool, message: str | None = None) -> None:
        self.on_demo = on_demo  # before the events: their listeners read it
        if source and source != self.source_name:
            self.source_name = source
            self.events.source.emit(source)
        if message is not None and message != self.message:
            self.message = message
            self.events.message.emit(message)

    def _process(self, frame: Frame) -> LiveResult:
        fallback = isinstance(frame, DemoFrame)
        if not fallback:
            self._output_size = frame.size
        pipeline = self._pipeline
        if pipeline is None:
            return LiveResult(frame, frame.pixels, processed=False, fallback=fallback)
        pipeline.auto_best = self._auto.best
        try:
            start = time.perf_counter()
            result = pipeline.process(frame)
            elapsed = (time.perf_counter() - start) * 1000.0
        except Exception as exc:  # report once per distinct error, keep the picture moving
            text = f"{type(exc).__name__}: {exc}"
            if text != self._last_error:
                self._last_error = text
                notifier.exception("The effect could not be applied", exc)
            return LiveResult(frame, frame.pixels, processed=False, fallback=fallback)
        self._last_error = ""
        if not fallback:
            self._measure(pipeline.params, elapsed)
        self.processed += 1
        self._window_processed += 1
        self._window_inference += result.timings.get("inference", 0.0)
        return LiveResult(frame, result.pixels, result.mask, result.timings, result.processed, fallback)

    def _measure(self, params: EffectParams, ms: float) -> None:
        """Count a frame's time for live quality "auto" where the edge step ran; say so when its choice changes."""
        spec = spec_for(params.effect)
        if params.live_quality != "auto" or spec.compose is None or spec.uses_probability:
            return
        message = self._auto.record(ms, 1.0 / self.output_fps)
        if message is not None:
            notifier.info(message)

    def _live_quality_text(self) -> str:
        params = self._params
        used = self._auto.resolve(params.live_quality)
        return f"auto: {used}" if params.live_quality == "auto" else used

    def _reset_stats(self) -> None:
        self._window_start = time.perf_counter()
        self._window_puts = 0
        self._window_processed = 0
        self._window_inference = 0.0

    def _maybe_emit_stats(self) -> None:
        now = time.perf_counter()
        elapsed = now - self._window_start
        if elapsed < self.stats_interval:
            return
        puts = self._slot.put_count
        segmenter = self._segmenter
        processed = self._window_processed
        stats = LiveStats(
            capture_fps=(puts - self._window_puts) / elapsed,
            processed_fps=processed / elapsed,
            inference_ms=self._window_inference / processed if processed else None,
            dropped=self._slot.dropped,
            provider=str(getattr(segmenter, "provider", "") or "") if segmenter else "",
            fallback_reason=getattr(segmenter, "fallback_reason", None) if segmenter else None,
            model_ready=self._pipeline is not None,
            source=self.source_name,
            on_demo=self.on_demo,
            live_quality=self._live_quality_text() if self._pipeline is not None else "",
        )
        self._window_start, self._window_puts = now, puts
        self._window_processed, self._window_inference = 0, 0.0
        self.events.stats.emit(stats)
