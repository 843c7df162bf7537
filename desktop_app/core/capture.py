"""The live session's capture thread: the real source, the demo played while it is lost, and the retries.

It reads frames into the session's `FrameSlot` and never waits for processing (except for an unpaced file,
decoded on demand). A frame of the demo standing in for a lost source is a `DemoFrame`, so the processing
thread can show it in the preview but keep it from the sinks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop_app.core.frames import Frame
from desktop_app.core.notify import notifier
from desktop_app.core.sources import FrameSource, SourceError

if TYPE_CHECKING:
    from desktop_app.core.live import LiveSession

SourceFactory = Callable[[], FrameSource]
DemoFactory = Callable[[], "FrameSource | None"]


@dataclass(slots=True)
class DemoFrame(Frame):
    """A frame of the demo standing in for a lost source (tags it through the slot)."""


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


class CaptureThread(threading.Thread):
    """A `LiveSession`'s capture thread: reads frames into its slot; failure -> demo -> retry -> resume."""

    def __init__(self, session: LiveSession) -> None:
        super().__init__(name="locallens-capture")
        self.s = session

    def run(self) -> None:
        s = self.s
        real: FrameSource | None = None
        demo: FrameSource | None = None
        factory: SourceFactory | None = None
        demo_broken = False
        next_retry = 0.0
        try:
            while not s._stop.is_set():
                pending = s._take_pending_source()
                if pending is not None:
                    _close(real)
                    real, factory, next_retry = None, pending, 0.0
                if real is None and factory is not None and time.perf_counter() >= next_retry:
                    real = self._open(factory, announce=demo is None or pending is not None)
                    if real is None:
                        next_retry = time.perf_counter() + s.retry_interval
                    else:
                        _close(demo)
                        demo = None
                        s._source_fps = float(getattr(real, "fps", 0.0) or 0.0) or None
                        s._lost = False
                        s._set_state(real.name, on_demo=False, message="")
                if real is None and demo is None and not demo_broken and s._demo_factory is not None:
                    demo = self._open_demo()
                    demo_broken = demo is None
                    if demo is not None:
                        s._set_state(demo.name, on_demo=True)
                source = real or demo
                if source is None:
                    s._stop.wait(min(0.1, s.retry_interval))
                    continue
                if getattr(source, "paced", True) is False:
                    s._wait_slot_taken()  # an unpaced file: decode on demand, not frames that would be dropped
                try:
                    frame = source.read()
                except Exception as exc:  # SourceError, or a driver error: the same recovery
                    if not isinstance(exc, SourceError):
                        notifier.exception(f"{source.name} failed", exc)
                    _close(source)
                    if source is real:
                        real, next_retry = None, time.perf_counter() + s.retry_interval
                        s._lost, s._source_fps = True, None
                        s._set_state("", on_demo=False, message=s._failure_message(str(exc)))
                    else:
                        demo, demo_broken = None, True
                    continue
                if source is demo:
                    frame = DemoFrame(frame.pixels, frame.timestamp, frame.index, frame.source_id)
                s._slot.put(frame)
        finally:
            _close(real)
            _close(demo)

    def _open(self, factory: SourceFactory, announce: bool) -> FrameSource | None:
        try:
            source = factory()
            source.open()
            return source
        except Exception as exc:  # SourceError is expected; anything else is still "no camera"
            self.s._lost = True
            if announce:
                self.s._set_state("", on_demo=False, message=self.s._failure_message(str(exc)))
            return None

    def _open_demo(self) -> FrameSource | None:
        try:
            demo = self.s._demo_factory() if self.s._demo_factory else None
            if demo is not None:
                demo.open()
            return demo
        except Exception as exc:
            notifier.exception("The demo sample could not be played", exc)
            return None
