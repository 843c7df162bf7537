"""Fakes shared by the UI tests: a segmenter with a synthetic disc mask and scriptable frame sources."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np

from desktop_app.core.sources import GeneratedSource, SourceError

MODEL_SIZE = (64, 64)  # (w, h) of the fake model's mask


class FakeSegmenter:
    """`predict(rgb)` returns a centred disc of probability 1 on 0, like a person in the middle."""

    provider = "FakeExecutionProvider"
    fallback_reason: str | None = None

    def __init__(self, size: tuple[int, int] = MODEL_SIZE) -> None:
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        r = min(w, h) * 0.35
        self.disc = (((xx - w / 2 + 0.5) ** 2 + (yy - h / 2 + 0.5) ** 2) <= r * r).astype(np.float32)
        self.spec = SimpleNamespace(id="fake", input=SimpleNamespace(size=size))
        self.calls = 0
        self._lock = threading.Lock()

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        with self._lock:
            self.calls += 1
        return self.disc.copy(), {"resize": 0.1, "inference": 1.5}


def solid(width: int = 160, height: int = 120, value: int = 200) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def frames_source(name: str = "fake-cam", fps: float = 60.0, value: int = 200,
                  size: tuple[int, int] = (160, 120)) -> GeneratedSource:
    """A paced synthetic camera whose frames are a flat colour `value` (the view of a blank wall)."""
    pixels = solid(*size, value=value)
    pixels.setflags(write=False)
    return GeneratedSource(lambda _n: pixels, name=name, fps=fps)


class Unpluggable:
    """A camera the test can unplug and plug back: `read` and `open` raise `SourceError` while unplugged."""

    def __init__(self, name: str = "fake-cam", fps: float = 60.0, value: int = 200) -> None:
        self.name = name
        self.unplugged = threading.Event()
        self.opens = 0
        self._inner = frames_source(name, fps, value)

    def factory(self) -> GeneratedSource:
        """A source factory for `LiveWorker.set_source` (called again for every retry)."""
        def make(n: int) -> np.ndarray:
            if self.unplugged.is_set():
                raise SourceError(f"{self.name} stopped sending frames: was it unplugged?")
            return self._inner.make(n)

        source = GeneratedSource(make, name=self.name, fps=self._inner.fps)
        original_open = source.open

        def open_() -> None:
            if self.unplugged.is_set():
                raise SourceError(f"{self.name} could not be opened: it may be unplugged.")
            self.opens += 1
            original_open()

        source.open = open_  # type: ignore[method-assign]
        return source


def missing_camera() -> GeneratedSource:
    """A factory result that fails to open, like a machine with no camera."""
    raise SourceError("No camera was found.")


def demo_source() -> GeneratedSource:
    """A stand-in for the bundled sample: dark frames named `demo`."""
    return frames_source("demo", fps=60.0, value=30)
