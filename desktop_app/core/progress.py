"""How progress is told: the command line's bar, and a video's time left as a person would say it (the GUI's
Export all says it the same way)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def time_left(seconds: float) -> str:
    """"about 12 s left", "about 3 min left", "about 1.5 h left"."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


class ProgressBar:
    """Progress on stderr: on a terminal one line redrawn per item and per video frame, with the time left for a
    video ("about 12 s left"); when output is piped, nothing but one plain line per finished video."""

    WIDTH = 30
    REDRAW_S = 0.1  # a terminal line at most ten times a second: printing must not slow a fast video

    def __init__(self, stream: TextIO, tty: bool | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.stream, self.clock = stream, clock
        self.tty = stream.isatty() if tty is None else tty
        self.started = clock()
        self._item, self._total, self._name = 0, 0, ""
        self._video_started: float | None = None
        self._drawn_at = -1.0
        self._line = False
        self._frames: tuple[int, float] | None = None  # a video's frames and seconds, not yet said when piped

    def update(self, done: int, total: int, current: Path) -> None:
        from desktop_app.core.batch import printable  # control characters escaped: a name never breaks the line

        self._plain_line()
        self._item, self._total, self._name = done, total, printable(current.name)[-40:]
        self._video_started = self.clock()  # a video's time left counts from here (opening it included)
        if self.tty:
            self._draw(done / max(total, 1), f"{done}/{total} {self._name:<40}")

    def frame(self, done: int, total: int | None, _current: Path) -> None:
        """After frame `done` of a video (`total` frames if the file says)."""
        now = self.clock()
        if self._video_started is None:
            self._video_started = now
        elapsed = now - self._video_started
        last = total is not None and done >= total
        if total:
            fraction = min(done / total, 1.0)
            left = elapsed / done * max(total - done, 0)
            text = f"frame {done}/{total}, {time_left(left)}"
        else:
            fraction, text = 0.0, f"frame {done}"
        if self.tty and (last or now - self._drawn_at >= self.REDRAW_S):
            self._drawn_at = now
            overall = (self._item + fraction) / max(self._total, 1)
            self._draw(overall, f"{self._item + 1}/{self._total} {self._name[-24:]} {text}")
        elif not self.tty:
            self._frames = (done, elapsed)
            if last:
                self._plain_line()

    def _plain_line(self) -> None:
        if self._frames is not None:
            done, elapsed = self._frames
            self._frames = None
            rate = done / elapsed if elapsed > 0 else 0.0
            print(f"{self._name}: {done} frames in {elapsed:.1f} s ({rate:.1f} frames/s)", file=self.stream)

    def _draw(self, fraction: float, text: str) -> None:
        filled = int(self.WIDTH * min(max(fraction, 0.0), 1.0))
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {text:<64}")
        self.stream.flush()
        self._line = True

    def finish(self) -> None:
        self._plain_line()
        if self._line:
            self.stream.write("\n")
            self.stream.flush()
            self._line = False
