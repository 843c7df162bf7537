"""The live session's sinks (`FrameSink`: virtual camera, recorder): attached, opened on their first frame, fed
the processed picture or a message frame, and dropped with one notice when they fail. Qt-free; `LiveSession`
owns one `SinkFanout` and calls it from its processing thread."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np

from desktop_app.core.frames import Result
from desktop_app.core.notify import notifier
from desktop_app.core.sinks import FrameSink, SinkError, SinkFrame, fit_to, message_frame, to_rgb


class _Attached:
    """A sink and the size it was opened at (None: not open yet)."""

    __slots__ = ("sink", "size")

    def __init__(self, sink: FrameSink) -> None:
        self.sink = sink
        self.size: tuple[int, int] | None = None


class SinkFanout:
    """Every attached sink gets each frame sent: opened at `size()` and `fps()` (asked on its first frame), then
    the picture fitted to that size. A sink that raises is closed, detached, reported once through the notifier
    and passed to `on_removed`; the others go on. `add`, `remove` and `sinks` may be called from any thread."""

    def __init__(self, size: Callable[[], tuple[int, int]], fps: Callable[[], float],
                 on_removed: Callable[[FrameSink], None]) -> None:
        self._size, self._fps, self._on_removed = size, fps, on_removed
        self._sinks: list[_Attached] = []
        self._lock = threading.RLock()  # held while frames go out: remove() waits for a send in flight
        self._messages: dict[tuple[tuple[int, int], str], np.ndarray] = {}
        self.sent = 0  # frames sent since the last `restart` (the SinkFrame index)

    def add(self, sink: FrameSink) -> None:
        with self._lock:
            if all(a.sink is not sink for a in self._sinks):
                self._sinks.append(_Attached(sink))

    def remove(self, sink: FrameSink) -> None:
        """Detach and close `sink`; when this returns no frame is being sent to it any more."""
        with self._lock:
            attached = [a for a in self._sinks if a.sink is sink]
            self._sinks = [a for a in self._sinks if a.sink is not sink]
        for a in attached:
            with contextlib.suppress(Exception):
                a.sink.close()

    @property
    def sinks(self) -> list[FrameSink]:
        with self._lock:
            return [a.sink for a in self._sinks]

    def restart(self) -> None:
        """Count frames from 0 again (a new start of the session)."""
        self.sent = 0

    def send(self, result: Result | None, text: str | None, default_text: str) -> None:
        """Send `result`'s picture, or, when `text` is set or there is no result, a message frame saying `text`
        (`default_text` when None), to every sink."""
        with self._lock:
            if not self._sinks:
                return
            rgb = None if text is not None or result is None else to_rgb(result.pixels)
            captured_at = result.frame.timestamp if result is not None else time.perf_counter()
            index, self.sent = self.sent, self.sent + 1
            failed: list[tuple[_Attached, Exception]] = []
            for attached in list(self._sinks):
                if attached not in self._sinks:
                    continue  # removed by another sink's callback meanwhile
                try:
                    if attached.size is None:
                        size = self._size()
                        attached.size = size
                        attached.sink.open(size, self._fps())
                    size = attached.size
                    if text is not None or rgb is None:
                        picture = self._message_frame(size, text or default_text)
                    else:
                        picture = fit_to(rgb, size)
                    attached.sink.send(SinkFrame(picture, captured_at, index, text))
                except Exception as exc:  # SinkError, or a bug in the sink: the session goes on without it
                    failed.append((attached, exc))
            self._sinks = [a for a in self._sinks if all(a is not f for f, _ in failed)]
        for attached, error in failed:
            self._drop(attached, error)

    def close_all(self) -> None:
        """Close the open sinks; they stay attached and open again at the next frame."""
        with self._lock:
            opened = [a for a in self._sinks if a.size is not None]
            for a in opened:
                a.size = None
        for a in opened:
            with contextlib.suppress(Exception):
                a.sink.close()

    def _message_frame(self, size: tuple[int, int], text: str) -> np.ndarray:
        key = (size, text)
        frame = self._messages.get(key)
        if frame is None:
            if len(self._messages) > 8:
                self._messages.clear()
            frame = message_frame(size, text)
            frame.setflags(write=False)  # shared by every frame sent: a sink must not draw on it
            self._messages[key] = frame
        return frame

    def _drop(self, attached: _Attached, exc: Exception) -> None:
        """Close a sink that failed (already detached), say so in one line, tell the listener."""
        with contextlib.suppress(Exception):
            attached.sink.close()
        name = getattr(attached.sink, "name", "") or type(attached.sink).__name__
        reason = str(exc) or type(exc).__name__
        details = "" if isinstance(exc, SinkError) else "".join(traceback.format_exception(exc))
        notifier.warning(f"{name} stopped: {reason}", details)
        self._on_removed(attached.sink)
