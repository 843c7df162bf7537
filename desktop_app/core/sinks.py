"""Where processed live frames go besides the preview: the FrameSink protocol and the one conversion point.

A sink (the window's view, the virtual camera, the recorder) receives `SinkFrame`s: always RGB, always at the
processed size, never mirrored (the mirror is a property of the preview only; call apps mirror their own
self-view). `to_rgb` turns any effect's output (RGB, RGBA cut-out, gray mask) into that RGB; batch video
writing and every sink share it, so a cut-out looks the same in a file, in a call and in a recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

GREEN_SCREEN = (0, 177, 64)  # what a transparent background becomes where the output cannot carry alpha


class SinkError(RuntimeError):
    """A sink that cannot open or has failed; the message is one sentence a user can act on."""


@dataclass(frozen=True, slots=True)
class SinkFrame:
    """One frame for a sink: (H, W, 3) uint8 RGB, C-contiguous, not mirrored."""

    rgb: np.ndarray
    captured_at: float  # time.perf_counter() when the source frame was read (for latency)
    index: int  # the processed-frame counter of the session
    message: str | None = None  # set when this is a message frame (camera lost) rather than a processed one

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


@runtime_checkable
class FrameSink(Protocol):
    """A consumer of processed live frames. `send` is called on the processing thread and must return quickly:
    a sink that does slow work (encoding, pacing to a camera rate) hands the newest frame to its own thread and
    drops older ones, never queues. Any failure is raised as SinkError; the session then drops the sink with a
    notice and goes on."""

    name: str

    def open(self, size: tuple[int, int], fps: float) -> None: ...

    def send(self, frame: SinkFrame) -> None: ...

    def close(self) -> None: ...


def to_rgb(pixels: np.ndarray, background: tuple[int, int, int] = GREEN_SCREEN) -> np.ndarray:
    """Any effect output as (H, W, 3) uint8 RGB: RGB as is, a gray mask as gray RGB, RGBA composited over
    `background` (a cut-out's transparent pixels carry no picture, so only the person and the colour show)."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        return np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return np.ascontiguousarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[:, :, 3:4].astype(np.uint16)
        rgb = pixels[:, :, :3].astype(np.uint16)
        bg = np.asarray(background, dtype=np.uint16).reshape(1, 1, 3)
        out = (rgb * alpha + bg * (255 - alpha) + 127) // 255
        return out.astype(np.uint8)
    raise ValueError(f"cannot show pixels of shape {pixels.shape}")
