"""Live quality "auto", the live default since session 15: Best while this machine keeps up with the camera, else Fast.

Best (the mask's edges snapped at half the frame's size: steadier while the person moves, flicker 0.42x of before
issue #9 on the held-out clips against Fast's 0.50x) costs about 1.1x Fast a frame (720p on one core:
bench/bench_vs_revision.py). "Live defaults to what keeps 30 fps": `AutoQuality` measures the frames it runs and
keeps Best while their median takes at most BUDGET_SHARE of the camera's frame time (16.7 ms at 30 fps: the rest of
the core stays free for the call app); past that it falls back to Fast and says so once. After RETRY_FRAMES frames on
Fast it goes back to Best when Fast's own median, times BEST_OVER_FAST, would fit the budget with a margin.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Literal

Resolved = Literal["fast", "best"]

BUDGET_SHARE = 0.5  # Best while its median frame takes at most this share of the camera's frame time
MAX_INTERVAL_S = 1.0 / 30.0  # the frame time counted at most as 30 fps's: a 15 fps camera does not double the budget
WINDOW = 60  # frames (2 s at 30 fps) measured before a decision; the window starts afresh after each change
RETRY_FRAMES = 900  # frames on Fast (30 s at 30 fps) before Best is tried again
BEST_OVER_FAST = 1.2  # what Fast's times predict for Best (measured 1.13x at 720p), rounded up
RETRY_MARGIN = 0.8  # ... and Best is tried again only where that prediction is under this share of the budget


class AutoQuality:
    """`resolve(requested)` gives the live quality a frame takes ("auto" -> this machine's); `record(ms, interval_s)`
    counts one processed frame's time and returns a line for the user when the choice changed, else None."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start again on Best with nothing measured (a new session)."""
        self.best = True
        self._times: deque[float] = deque(maxlen=WINDOW)
        self._since = 0  # frames since the last change

    def resolve(self, requested: str) -> Resolved:
        if requested == "best":
            return "best"
        if requested == "auto" and self.best:
            return "best"
        return "fast"

    def record(self, ms: float, interval_s: float) -> str | None:
        self._times.append(ms)
        self._since += 1
        if len(self._times) < WINDOW:
            return None
        frame_ms = 1000.0 * min(interval_s, MAX_INTERVAL_S) if interval_s > 0 else 1000.0 * MAX_INTERVAL_S
        budget = BUDGET_SHARE * frame_ms
        median = statistics.median(self._times)
        if self.best and median > budget:
            self._change(False)
            return (f"Live quality Auto switched to Fast: Best took {median:.0f} ms a frame, more than half of the "
                    f"camera's {frame_ms:.0f} ms. Choose Best in the effects panel to keep it anyway.")
        if not self.best and self._since >= RETRY_FRAMES and median * BEST_OVER_FAST <= RETRY_MARGIN * budget:
            self._change(True)
            return f"Live quality Auto is back on Best: Fast takes {median:.0f} ms a frame now."
        return None

    def _change(self, best: bool) -> None:
        self.best = best
        self._times.clear()
        self._since = 0
