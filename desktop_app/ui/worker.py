"""Live processing off the GUI thread.

A capture thread reads the `FrameSource` and `FrameSlot.put()`s frames (it never waits for inference); a
processing `QThread` takes the newest frame, runs `Pipeline.process` and emits `result_ready(Result)`.
Both stop on a `threading.Event` (a queued stop signal would never reach a busy loop). When the source
fails, the capture thread switches to a demo source (the bundled sample) and retries the real one every
`retry_interval` seconds, resuming when it opens again. Before a segmenter is set, frames pass through
unprocessed (their `Result.timings` is empty: see `is_processed`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from desktop_app.core.frames import Frame, Result
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import FrameSlot, Pipeline, SegmenterLike
from desktop_app.core.sources import FrameSource, SourceError
from desktop_app.ui.qimage import to_display_image

SourceFactory = Callable[[], FrameSource]
MAX_IN_FLIGHT = 2  # results queued to the GUI thread: bounds memory if it stalls (a dialog, a slow save)
DemoFactory = Callable[[], "FrameSource | None"]


@dataclass(slots=True)
class ShownResult(Result):
    """A Result with its picture already converted for painting (done on the processing thread)."""

    image: QImage | None = None


def _for_display(result: Result) -> ShownResult:
    return ShownResult(result.frame, result.pixels, result.mask, result.timings, result.processed,
                       to_display_image(result.pixels))


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


def is_processed(result: Result) -> bool:
    """True when the pipeline ran (with any effect, including none); False for a pass-through frame."""
    return result.processed


def default_demo_source() -> FrameSource | None:
    """The bundled sample video (or image) played as a camera; None when neither is available."""
    from desktop_app.core.sources import open_fake_camera
    from desktop_app.paths import sample_image, sample_video

    for path in (sample_video(), sample_image()):
        if path.is_file():
            try:
                return open_fake_camera(path)
            except SourceError:
                continue
    return None


def _close(source: FrameSource | None) -> None:
    if source is None:
        return
    with contextlib.suppress(Exception):  # closing a dead camera may fail; nothing left to do about it
        source.close()


class _Capture(threading.Thread):
    """Reads frames into the slot; handles failure -> demo -> retry -> resume."""

    def __init__(self, worker: LiveWorker) -> None:
        super().__init__(name="locallens-capture")
        self.w = worker

    def run(self) -> None:
        w = self.w
        real: FrameSource | None = None
        demo: FrameSource | None = None
        factory: SourceFactory | None = None
        demo_broken = False
        next_retry = 0.0
        try:
            while not w._stop.is_set():
                pending = w._take_pending_source()
                if pending is not None:
                    _close(real)
                    real, factory, next_retry = None, pending, 0.0
                if real is None and factory is not None and time.perf_counter() >= next_retry:
                    real = self._open(factory, announce=demo is None or pending is not None)
                    if real is None:
                        next_retry = time.perf_counter() + w.retry_interval
                    else:
                        _close(demo)
                        demo = None
                        w._set_state(real.name, on_demo=False, message="")
                if real is None and demo is None and not demo_broken and w._demo_factory is not None:
                    demo = self._open_demo()
                    demo_broken = demo is None
                    if demo is not None:
                        w._set_state(demo.name, on_demo=True)
                source = real or demo
                if source is None:
                    w._stop.wait(min(0.1, w.retry_interval))
                    continue
                if getattr(source, "paced", True) is False:
                    w._wait_slot_taken()  # an unpaced file: decode on demand, not frames that would be dropped
                try:
                    frame = source.read()
                except Exception as exc:  # SourceError, or a driver error: the same recovery
                    if not isinstance(exc, SourceError):
                        notifier.exception(f"{source.name} failed", exc)
                    _close(source)
                    if source is real:
                        real, next_retry = None, time.perf_counter() + w.retry_interval
                        w._set_state("", on_demo=False, message=w._failure_message(str(exc)))
                    else:
                        demo, demo_broken = None, True
                    continue
                if w._demo_mirror if source is demo else w._mirror:
                    frame = frame.mirrored()
                w._slot.put(frame)
        finally:
            _close(real)
            _close(demo)

    def _open(self, factory: SourceFactory, announce: bool) -> FrameSource | None:
        try:
            source = factory()
            source.open()
            return source
        except Exception as exc:  # SourceError is expected; anything else is still "no camera"
            if announce:
                self.w._set_state("", on_demo=False, message=self.w._failure_message(str(exc)))
            return None

    def _open_demo(self) -> FrameSource | None:
        try:
            demo = self.w._demo_factory() if self.w._demo_factory else None
            if demo is not None:
                demo.open()
            return demo
        except Exception as exc:
            notifier.exception("The demo sample could not be played", exc)
            return None


class _Processor(QThread):
    """Takes the newest frame, processes it, emits the result and the stats."""

    def __init__(self, worker: LiveWorker) -> None:
        super().__init__(worker)
        self.w = worker
        self.setObjectName("locallens-processing")

    def run(self) -> None:
        w = self.w
        while not w._stop.is_set():
            frame = w._slot.take(0.1)
            if frame is not None:
                w._note_taken()
                result = w._process(frame)
                if w._reserve_delivery():
                    w.result_ready.emit(_for_display(result))
            w._maybe_emit_stats()


class LiveWorker(QObject):
    """Owns the capture thread and the processing thread of the live view.

    `set_params`, `set_source`, `set_mirror`, `set_demo_mirror` and `set_segmenter` may be called from any
    thread and apply to the next frame. `stop()` joins both threads; `start()` after `stop()` starts afresh.
    """

    result_ready = Signal(object)  # ShownResult (a Result with its QImage)
    stats_ready = Signal(object)  # LiveStats
    message_changed = Signal(str)  # a line for the view ("" = none): camera missing, unplugged...
    source_changed = Signal(str)  # name of the source being shown

    def __init__(
        self,
        source_factory: SourceFactory | None,
        params: EffectParams,
        demo_factory: DemoFactory | None = default_demo_source,
        retry_interval: float = 2.0,
        stats_interval: float = 0.5,
        mirror: bool = False,
        parent: QObject | None = None,
        demo_mirror: bool = False,
    ) -> None:
        super().__init__(parent)
        self.retry_interval, self.stats_interval = retry_interval, stats_interval
        self._demo_factory = demo_factory
        self._lock = threading.Lock()
        self._params = params
        self._pipeline: Pipeline | None = None
        self._segmenter: SegmenterLike | None = None
        self._pending_source: SourceFactory | None = source_factory
        self._mirror = mirror  # the real source (a camera selfie view reads naturally mirrored)
        self._demo_mirror = demo_mirror  # the sample played instead: its text would read backwards
        self._stop = threading.Event()
        self._slot = FrameSlot()
        self._taken = 0
        self._taken_cond = threading.Condition()
        self._capture: _Capture | None = None
        self._processor: _Processor | None = None
        self.source_name = ""
        self.on_demo = False
        self.message = ""
        self.processed = 0  # frames through the pipeline since start
        self._last_error = ""
        self._in_flight = 0
        self.undelivered = 0  # results not sent because the GUI thread was MAX_IN_FLIGHT behind
        self.result_ready.connect(self._delivered)
        self._reset_stats()

    # ------------------------------------------------------------------------------------------ control

    def start(self) -> None:
        if self.is_running():
            return
        self._stop = threading.Event()
        self._slot = FrameSlot()
        self._taken = 0
        self._in_flight = 0
        self._reset_stats()
        self._processor = _Processor(self)
        self._capture = _Capture(self)
        self._processor.start()
        self._capture.start()

    def stop(self) -> None:
        """Stop and join both threads (safe to call twice, or before start)."""
        self._stop.set()
        self._slot.close()
        with self._taken_cond:
            self._taken_cond.notify_all()
        if self._capture is not None:
            self._capture.join()
            self._capture = None
        if self._processor is not None:
            self._processor.wait()
            self._processor = None

    def is_running(self) -> bool:
        return self._processor is not None and self._processor.isRunning()

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
            self._pipeline = Pipeline(segmenter, self._params, temporal=True) if segmenter is not None else None

    @property
    def segmenter(self) -> SegmenterLike | None:
        return self._segmenter

    def set_source(self, factory: SourceFactory) -> None:
        """Switch to a new source (opened on the capture thread; a failure goes to the demo + retry path)."""
        with self._lock:
            self._pending_source = factory

    def set_mirror(self, mirror: bool) -> None:
        """Mirror the real source's frames (the demo played when it fails has its own `set_demo_mirror`)."""
        self._mirror = bool(mirror)

    def set_demo_mirror(self, mirror: bool) -> None:
        self._demo_mirror = bool(mirror)

    # ------------------------------------------------------------------------------------------ threads

    def _reserve_delivery(self) -> bool:
        """At most MAX_IN_FLIGHT results queued to a busy GUI thread; beyond that a result is not sent."""
        with self._lock:
            if self._in_flight >= MAX_IN_FLIGHT:
                self.undelivered += 1
                return False
            self._in_flight += 1
            return True

    @Slot(object)
    def _delivered(self, _result: object) -> None:
        with self._lock:  # runs on the GUI thread when it handles the queued result
            self._in_flight = max(0, self._in_flight - 1)

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
        self.on_demo = on_demo  # before the signal: its slots read it
        if source and source != self.source_name:
            self.source_name = source
            self.source_changed.emit(source)
        if message is not None and message != self.message:
            self.message = message
            self.message_changed.emit(message)

    def _process(self, frame: Frame) -> Result:
        pipeline = self._pipeline
        if pipeline is None:
            return Result(frame, frame.pixels, processed=False)
        try:
            result = pipeline.process(frame)
        except Exception as exc:  # report once per distinct error, keep the picture moving
            text = f"{type(exc).__name__}: {exc}"
            if text != self._last_error:
                self._last_error = text
                notifier.exception("The effect could not be applied", exc)
            return Result(frame, frame.pixels, processed=False)
        self._last_error = ""
        self.processed += 1
        self._window_processed += 1
        self._window_inference += result.timings.get("inference", 0.0)
        return result

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
        )
        self._window_start, self._window_puts = now, puts
        self._window_processed, self._window_inference = 0, 0.0
        self.stats_ready.emit(stats)


class ModelLoader(QObject):
    """Builds the segmenter on a background thread; the window never waits for it."""

    loaded = Signal(object)  # the segmenter
    failed = Signal(str)

    def __init__(self, factory: Callable[[], SegmenterLike], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._thread: threading.Thread | None = None
        self.started_at = 0.0
        self.seconds: float | None = None  # how long the load took

    def start(self) -> None:
        self.started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="locallens-model-load")
        self._thread.start()

    def _run(self) -> None:
        try:
            segmenter = self._factory()
        except Exception as exc:
            notifier.exception("The segmentation model could not be loaded", exc)
            self.failed.emit(str(exc))
            return
        self.seconds = time.perf_counter() - self.started_at
        self.loaded.emit(segmenter)

    def wait(self, timeout: float | None = None) -> bool:
        """Join the loading thread; True when it is done."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True
