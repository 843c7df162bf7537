"""A one-frame lookahead for video files: the model's outputs of t-1, t and t+1 combined centred on t.

A video file is not live: frame t+1 is already decoded when frame t is composed. `Lookahead` wraps a segmenter
(the pipeline sees it as its segmenter, `predict(rgb) -> (mask_small, timings)`); the video loop tells it the
next frame first (`prefetch(next_rgb)`, or `feed(frames)`, which does it for every frame), and `predict(frame t)`
returns the per-pixel median of the model's probabilities for t-1, t and t+1. A median of three is centred on t,
so it adds no lag: a pixel that moves steadily (0 -> 0.5 -> 1) keeps t's value and a step (0, 0, 1) stays where
it is, while a one-frame blip that disagrees with both neighbours (a hole opening in the subject's back for a
frame) takes the neighbours' value. The pipeline's causal steps (gated average, hysteresis, edges) follow as
before. The model runs once per frame: t+1's output, made while t is predicted, is kept for t's successor.
At the first and last frames (one neighbour) and whenever no next frame was given, the frame's own output is
used as it is; `reset()` forgets everything (a new video).

`video_lookahead(processor)` installs a `Lookahead` in front of a pipeline's segmenter for one video and puts
the segmenter back afterwards; `core.batch_video` and bench/bench_quality.py's clips use it the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
Combine = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (t-1, t, t+1) -> t's probabilities


def median3(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """The per-pixel median of three arrays of one shape (float32)."""
    low, high = np.minimum(prev, cur, dtype=np.float32), np.maximum(prev, cur, dtype=np.float32)
    np.minimum(high, nxt, out=high)
    return np.maximum(low, high, out=low)


class Lookahead:
    """A segmenter whose `predict(rgb)` is the median of the model's outputs for the frames before, at and after
    `rgb` (see the module docstring); `spec` and any other attribute are the wrapped segmenter's. `combine`
    (default `median3`) makes t's probabilities from the three (the bench tries others)."""

    def __init__(self, segmenter: Any, combine: Combine = median3) -> None:
        self.segmenter = segmenter
        self.combine = combine
        self._ahead: np.ndarray | None = None  # the frame given to the latest `prefetch`, not predicted yet
        self._known: list[tuple[np.ndarray, np.ndarray]] = []  # (frame, model output): at most the last two run
        self._prev: np.ndarray | None = None  # the model's output for the frame predicted last

    @property
    def spec(self) -> Any:
        return self.segmenter.spec

    def __getattr__(self, name: str) -> Any:  # provider, fallback_reason, ...: the wrapped segmenter's
        if name == "segmenter":
            raise AttributeError(name)
        return getattr(self.segmenter, name)

    def reset(self) -> None:
        """Forget every frame (a new video)."""
        self._ahead, self._known, self._prev = None, [], None

    def prefetch(self, next_rgb: np.ndarray | None) -> None:
        """The frame that follows the one about to be predicted (None: it is the last)."""
        self._ahead = next_rgb

    def feed(self, frames: Iterable[T]) -> Iterator[T]:
        """Each of `frames` (RGB arrays) in order, after prefetching the one that follows it; an error the source
        raises after a frame comes after that frame, as without the lookahead."""
        iterator = iter(frames)
        current = next(iterator, None)
        while current is not None:
            try:
                following = next(iterator, None)
            except Exception:  # the source broke after `current` (a truncated video): `current`, then the error
                self.prefetch(None)
                yield current
                raise
            self.prefetch(following)  # type: ignore[arg-type]
            yield current
            current = following

    def _run(self, rgb: np.ndarray, timings: dict[str, float]) -> np.ndarray:
        """The model's output for `rgb`: the one kept from an earlier call, or a new run (its timings added)."""
        for frame, mask in self._known:
            if frame is rgb:
                return mask
        mask, run_timings = self.segmenter.predict(rgb)
        for key, value in run_timings.items():
            timings[key] = timings.get(key, 0.0) + float(value)
        self._known = [*self._known[-1:], (rgb, mask)]
        return mask

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """The median of the model's outputs for the previous, this and the prefetched frame (the ends: this
        frame's own output); the timings are those of the model runs this call made (t+1's, both at the first)."""
        timings: dict[str, float] = {}
        cur = self._run(rgb, timings)
        ahead, self._ahead = self._ahead, None
        nxt = self._run(ahead, timings) if ahead is not None and ahead is not rgb else None
        prev, self._prev = self._prev, cur
        if prev is None or nxt is None or not prev.shape == cur.shape == nxt.shape:
            return cur.copy(), timings  # a copy: `cur` is kept for the next frame's median
        return self.combine(prev, cur, nxt), timings


@contextlib.contextmanager
def video_lookahead(processor: Any) -> Iterator[Lookahead]:
    """A fresh `Lookahead` in front of `processor.segmenter` (a `Pipeline`'s) while the block runs; a processor
    without one (a test's fake) gets a lookahead it never calls, so the caller's loop is the same."""
    segmenter = getattr(processor, "segmenter", None)
    look = Lookahead(segmenter)
    if segmenter is None:
        yield look
        return
    processor.segmenter = look
    try:
        yield look
    finally:
        processor.segmenter = segmenter
