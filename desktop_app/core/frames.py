"""The two values that flow through the core: a captured Frame and a processed Result."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(slots=True)
class Frame:
    """One picture from a source: (H, W, 3) uint8 RGB, C-contiguous."""

    pixels: np.ndarray
    timestamp: float  # time.perf_counter() seconds when captured
    index: int = 0
    source_id: str = ""
    # Faces a person reviewed (the Photos tab's review step): normalized (xmin, ymin, xmax, ymax) boxes the faces
    # stage hides instead of detecting its own; None = detect.
    faces: tuple[tuple[float, float, float, float], ...] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def mirrored(self) -> Frame:
        """The same frame flipped left-right (the selfie view users expect from a webcam)."""
        faces = None if self.faces is None else tuple((1.0 - x1, y0, 1.0 - x0, y1) for x0, y0, x1, y1 in self.faces)
        return Frame(cv2.flip(self.pixels, 1), self.timestamp, self.index, self.source_id, faces)


@dataclass(slots=True)
class Result:
    """A processed frame at the frame's size: (H, W, 3) RGB, (H, W, 4) RGBA or, for the mask effect, (H, W)
    uint8; the mask used and per-stage timings in ms."""

    frame: Frame
    pixels: np.ndarray
    mask: np.ndarray | None = None  # (H, W) float32 in [0, 1] at frame resolution (refined; the probability for mask)
    timings: dict[str, float] = field(default_factory=dict)
    processed: bool = True  # False for a frame passed through untouched (no model yet, or the effect failed)

    @property
    def total_ms(self) -> float:
        return sum(self.timings.values())
