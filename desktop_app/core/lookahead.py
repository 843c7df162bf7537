"""A lookahead for video files: the model's outputs of t-2..t+2 (or t-1..t+1) combined centred on t.

A video file is not live: the frames after t are already decoded when frame t is composed. `Lookahead` wraps a
segmenter (the pipeline sees it as its segmenter, `predict(rgb) -> (mask_small, timings)`); the video loop tells it
the next frames first (`prefetch(next_rgb, after_next_rgb)`, or `feed(frames)`, which does it for every frame), and
`predict(frame t)` returns the per-pixel median of the model's probabilities for the `radius` frames before t, t and
the `radius` after it (`radius` 2, the default, a median of five: W39; 1, a median of three: W36). A median over a
window centred on t adds no lag: a pixel that moves steadily (0 -> 0.5 -> 1) keeps t's value and a step (0, 0, 1, 1)
stays where it is, while a blip of up to `radius` frames that disagrees with the frames around it (a hole opening
in the subject's back for a frame or two) takes their value. The pipeline's causal steps (gated average,
hysteresis, edges) follow as before. The model runs once per frame: the outputs made for the frames ahead are kept
for their own turn. Near the first and last frames the window shrinks to the neighbours there are on both sides
(the very first and last frames, and any frame predicted without prefetched frames, take their own output);
`reset()` forgets everything (a new video).

`video_lookahead(processor)` installs a `Lookahead` in front of a pipeline's segmenter for one video and puts
the segmenter back afterwards; `core.batch_video` and bench/bench_quality.py's clips use it the same way.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from desktop_app.core.person_crop import Cropping
from desktop_app.core.wrapped import WrappedSegmenter

T = TypeVar("T")
Combine = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (t-1, t, t+1) -> t's probabilities
# Frames before and after t whose outputs the median takes: 2 (five frames), tuned on the tune clips only
# (docs/quality.md, "Session 6: flicker"): call-P002 flicker 0.0063 -> 0.0061, lag 0. The decoder holds them already
# (core.batch_video decodes two frames ahead).
VIDEO_LOOKAHEAD_RADIUS = 2


def median3(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """The per-pixel median of three arrays of one shape (float32)."""
    low, high = np.minimum(prev, cur, dtype=np.float32), np.maximum(prev, cur, dtype=np.float32)
    np.minimum(high, nxt, out=high)
    return np.maximum(low, high, out=low)


def median5(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The per-pixel median of five arrays of one shape (float32): the median of c and the two middle candidates
    that a min/max network leaves of a, b, d, e (no sort)."""
    low = np.maximum(np.minimum(a, b, dtype=np.float32), np.minimum(d, e, dtype=np.float32))
    high = np.minimum(np.maximum(a, b, dtype=np.float32), np.maximum(d, e, dtype=np.float32))
    return median3(low, c, high)


class Lookahead(WrappedSegmenter):
    """A segmenter whose `predict(rgb)` is the median of the model's outputs for the `radius` frames before, `rgb`
    and the `radius` frames after it (see the module docstring); `spec` and any other attribute are the wrapped
    segmenter's. `combine` (default `median3`) makes t's probabilities from a window of three (the bench tries
    others); a window of five takes `median5`."""

    def __init__(self, segmenter: Any, combine: Combine = median3, radius: int = VIDEO_LOOKAHEAD_RADIUS) -> None:
        if radius not in (1, 2):
            raise ValueError(f"the lookahead's radius is 1 or 2 frames, not {radius}")
        self.segmenter = segmenter
        self.combine = combine
        self.radius = radius
        self._ahead: list[np.ndarray] = []  # the frames given to the latest `prefetch`, not predicted yet
        self._known: list[tuple[np.ndarray, np.ndarray]] = []  # (frame, model output): the last radius + 1 run
        self._behind: list[np.ndarray] = []  # the model's outputs for the frames predicted last (up to `radius`)

    def reset(self) -> None:
        """Forget every frame (a new video)."""
        self._ahead, self._known, self._behind = [], [], []
        reset = getattr(self.segmenter, "reset", None)
        if callable(reset):
            reset()

    def prefetch(self, *following: np.ndarray | None) -> None:
        """The frames that follow the one about to be predicted, in order (None, or fewer than `radius`: the video
        ends there)."""
        ahead: list[np.ndarray] = []
        for frame in following[:self.radius]:
            if frame is None:
                break
            ahead.append(frame)
        self._ahead = ahead

    def feed(self, frames: Iterable[T]) -> Iterator[T]:
        """Each of `frames` (RGB arrays) in order, after prefetching the `radius` that follow it; an error the
        source raises after a frame comes after that frame (and the frames already decoded), as without the
        lookahead."""
        iterator = iter(frames)
        buffer: deque[T] = deque()
        error: BaseException | None = None

        def pull() -> None:
            nonlocal error
            while error is None and len(buffer) <= self.radius:
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                except Exception as exc:  # the source broke (a truncated video): the frames before it first
                    error = exc
                    return
                buffer.append(item)

        pull()
        while buffer:
            current = buffer.popleft()
            pull()
            self.prefetch(*buffer)  # type: ignore[arg-type]
            yield current
        if error is not None:
            raise error

    def _run(self, rgb: np.ndarray, timings: dict[str, float]) -> np.ndarray:
        """The model's output for `rgb`: the one kept from an earlier call, or a new run (its timings added)."""
        for frame, mask in self._known:
            if frame is rgb:
                return mask
        mask, run_timings = self.segmenter.predict(rgb)
        for key, value in run_timings.items():
            timings[key] = timings.get(key, 0.0) + float(value)
        self._known = [*self._known[-self.radius:], (rgb, mask)]
        return mask

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """The median of the model's outputs over the window centred on this frame (shrunk to the neighbours there
        are on both sides; none: this frame's own output); the timings are those of the model runs this call made
        (the frames ahead that had not run yet)."""
        timings: dict[str, float] = {}
        cur = self._run(rgb, timings)
        ahead, self._ahead = self._ahead, []
        after = [self._run(frame, timings) for frame in ahead if frame is not rgb]
        before, self._behind = self._behind, [*self._behind, cur][-self.radius:]
        reach = min(len(before), len(after))
        if reach and any(m.shape != cur.shape for m in (*before[-reach:], *after[:reach])):
            reach = 0
        if reach == 0:
            return cur.copy(), timings  # a copy: `cur` is kept for the next frames' medians
        if reach == 1:
            return self.combine(before[-1], cur, after[0]), timings
        return median5(before[-2], before[-1], cur, after[0], after[1]), timings


@contextlib.contextmanager
def video_lookahead(processor: Any) -> Iterator[Lookahead]:
    """A fresh `Lookahead` in front of `processor.segmenter` (a `Pipeline`'s) while the block runs; a processor
    without one (a test's fake) gets a lookahead it never calls, so the caller's loop is the same. With the
    processor's `video_crop` (a Pipeline's is True), the model runs on a square crop around the person
    (`person_crop.Cropping`, under the lookahead, which calls it in frame order): on call-P008 (held out) flicker
    0.0061 -> 0.0055 (docs/quality.md, "Session 13")."""
    segmenter = getattr(processor, "segmenter", None)
    crop = segmenter is not None and getattr(processor, "video_crop", False)
    look = Lookahead(Cropping(segmenter) if crop else segmenter)
    if segmenter is None:
        yield look
        return
    processor.segmenter = look
    try:
        yield look
    finally:
        processor.segmenter = segmenter
