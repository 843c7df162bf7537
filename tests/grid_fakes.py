"""A segmenter stand-in for the pipeline's tests: it returns the map it was given (`mask`), whatever the frame."""

from __future__ import annotations

import numpy as np


class GridSegmenter:
    """`predict(rgb)` -> (`mask`, no timings): the model's grid map a test chose; `mask` may be swapped per frame."""

    spec = None

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        return self.mask, {}
