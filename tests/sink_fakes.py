"""A fake FrameSink for the live-session tests: records opens, frames and closes, fails when told to."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from desktop_app.core.sinks import SinkError, SinkFrame

WAIT = 10.0


class FakeSink:
    """Records what the session does to it; `fail_on` makes `open` or `send` (the n-th) raise."""

    def __init__(self, name: str = "Fake sink", fail_on: str = "", after: int = 0,
                 error: Exception | None = None) -> None:
        self.name = name
        self.fail_on, self.after, self.error = fail_on, after, error or SinkError("the device went away")
        self.cond = threading.Condition()
        self.opened: list[tuple[tuple[int, int], float]] = []
        self.frames: deque[SinkFrame] = deque(maxlen=200)
        self.sent = 0
        self.closed = 0
        self.sending = threading.Event()

    def open(self, size: tuple[int, int], fps: float) -> None:
        with self.cond:
            self.opened.append((size, fps))
            self.cond.notify_all()
        if self.fail_on == "open":
            raise self.error

    def send(self, frame: SinkFrame) -> None:
        if self.fail_on == "send" and self.sent >= self.after:
            raise self.error
        with self.cond:
            self.frames.append(frame)
            self.sent += 1
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed += 1
            self.cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "timed out"

    def last(self) -> SinkFrame:
        return self.frames[-1]
