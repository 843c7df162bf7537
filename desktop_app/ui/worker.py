"""The live session for the window: a thin Qt adapter over `desktop_app.core.live.LiveSession`.

The session (Qt-free) owns capture, processing, statistics and the sinks; `LiveWorker` re-emits its callbacks
as Qt signals (emitted on the session's threads, so they reach GUI-thread slots queued) and converts results to
QImages for the view only. The mirror is the preview's: sinks and processing see the unmirrored frame; the
worker flips what the view shows (the real source by `set_mirror`, the demo played instead by
`set_demo_mirror`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from desktop_app.core.buffers import BufferPool, rgb32
from desktop_app.core.live import (
    DemoFactory,
    LiveResult,
    LiveSession,
    LiveStats,
    SourceFactory,
    default_demo_source,
    is_processed,
    mirrored,
)
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.sinks import FrameSink
from desktop_app.ui.qimage import to_display_image

__all__ = ["DemoFactory", "LiveStats", "LiveWorker", "ModelLoader", "ShownResult", "SourceFactory",
           "default_demo_source", "is_processed"]
MAX_IN_FLIGHT = 1  # results queued to the GUI thread: the newest only (drop, never queue); bounds memory if it stalls


@dataclass(slots=True)
class ShownResult(LiveResult):
    """A LiveResult as the preview shows it: `pixels` mirrored when the mirror is on (`frame` stays the captured
    one), with its picture already converted for painting (done on the processing thread), and without the mask
    (the view never reads it; not holding it keeps a long call's memory flat)."""

    image: QImage | None = None


class LiveWorker(QObject):
    """The live view's session as Qt signals; see the module docstring.

    `set_params`, `set_source`, `set_mirror`, `set_demo_mirror`, `set_segmenter`, `add_sink` and `remove_sink`
    may be called from any thread and apply to the next frame. `stop()` joins the session's threads; `start()`
    after `stop()` starts afresh.
    """

    result_ready = Signal(object)  # ShownResult (a LiveResult with its QImage)
    stats_ready = Signal(object)  # LiveStats
    message_changed = Signal(str)  # a line for the view ("" = none): camera missing, unplugged...
    source_changed = Signal(str)  # name of the source being shown
    sink_removed = Signal(object)  # a FrameSink that failed and was dropped (the notice is already out)

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
        fps: float | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = LiveSession(source_factory, params, demo_factory=demo_factory,
                                   retry_interval=retry_interval, stats_interval=stats_interval, fps=fps)
        self._mirror = mirror  # the real source (a camera selfie view reads naturally mirrored)
        self._demo_mirror = demo_mirror  # the sample played instead: its text would read backwards
        self._lock = threading.Lock()
        self._in_flight = 0
        # The preview's mirror and display image, reused once the GUI (and any snapshot) let go of them.
        self._mirror_pool, self._display_pool = BufferPool(), BufferPool()
        self.undelivered = 0  # results not sent because the GUI thread was MAX_IN_FLIGHT behind
        self.result_ready.connect(self._delivered)
        events = self.session.events
        events.result.connect(self._on_result)
        events.stats.connect(self.stats_ready.emit)
        events.message.connect(self.message_changed.emit)
        events.source.connect(self.source_changed.emit)
        events.sink_removed.connect(self.sink_removed.emit)

    # ------------------------------------------------------------------------------------------ control

    def start(self) -> None:
        if not self.is_running():
            self._in_flight = 0
        self.session.start()

    def stop(self) -> None:
        """Stop and join the session's threads (safe to call twice, or before start)."""
        self.session.stop()

    def is_running(self) -> bool:
        return self.session.is_running()

    def set_params(self, params: EffectParams) -> None:
        self.session.set_params(params)

    @property
    def params(self) -> EffectParams:
        return self.session.params

    def set_segmenter(self, segmenter: SegmenterLike | None) -> None:
        """Hand over the loaded model: effects start applying from the next frame."""
        self.session.set_segmenter(segmenter)

    @property
    def segmenter(self) -> SegmenterLike | None:
        return self.session.segmenter

    def set_source(self, factory: SourceFactory) -> None:
        """Switch to a new source (opened on the capture thread; a failure goes to the demo + retry path)."""
        self.session.set_source(factory)

    def set_mirror(self, mirror: bool) -> None:
        """Mirror the preview of the real source (the demo played when it fails has its own `set_demo_mirror`)."""
        self._mirror = bool(mirror)

    def set_demo_mirror(self, mirror: bool) -> None:
        self._demo_mirror = bool(mirror)

    def add_sink(self, sink: FrameSink) -> None:
        self.session.add_sink(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        self.session.remove_sink(sink)

    # ------------------------------------------------------------------------------------------ state

    @property
    def source_name(self) -> str:
        return self.session.source_name

    @property
    def on_demo(self) -> bool:
        return self.session.on_demo

    @property
    def message(self) -> str:
        return self.session.message

    @property
    def processed(self) -> int:
        """Frames through the pipeline since start."""
        return self.session.processed

    @property
    def retry_interval(self) -> float:
        return self.session.retry_interval

    @property
    def stats_interval(self) -> float:
        return self.session.stats_interval

    # ------------------------------------------------------------------------------------------ threads

    def _on_result(self, result: LiveResult) -> None:
        """On the processing thread: mirror for the preview, convert, queue to the GUI thread (bounded)."""
        if not self._reserve_delivery():
            return
        pixels = result.pixels
        if self._demo_mirror if result.fallback else self._mirror:
            pixels = mirrored(pixels, self._mirror_pool.take(pixels.shape, pixels.dtype))
        # No mask: the view never reads it, and each result queued to the GUI thread (up to MAX_IN_FLIGHT, plus
        # the one on screen) would hold a full-size float32 copy, 3.7 MB at 720p: the RSS swing of a long call.
        self.result_ready.emit(ShownResult(result.frame, pixels, None, result.timings, result.processed,
                                           result.fallback, display_image(pixels, self._display_pool)))

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


def display_image(pixels: np.ndarray, pool: BufferPool) -> QImage:
    """`to_display_image(pixels)`, for RGB written into a pooled buffer the QImage wraps instead of one Qt
    allocates per frame (the QImage keeps the buffer referenced, so the pool reuses it only once every copy of
    the image is gone)."""
    native = rgb32(pixels, pool)
    if native is None:
        return to_display_image(pixels)
    height, width = native.shape[:2]
    return QImage(native.data, width, height, width * 4, QImage.Format.Format_RGB32)


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
