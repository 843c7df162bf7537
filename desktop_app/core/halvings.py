"""A frame's halvings, computed once per frame and shared by the steps that need them (issue #9, session 15).

Live quality "best" snaps the mask's edges on the frame at half its size (`edges_full.refine_edges_half`), fitted
at an eighth of it, and the blur runs on the frame at an eighth of its size (`background.blurred_background`): the
same 2x2 averages, which each step used to compute for itself (0.6-0.7 ms of a 720p frame on one core). Inside
`shared(rgb)` the first step to ask for a level computes it and the others take it.

A level is the one before at exactly half its size, bilinear: on even sides that is the 2x2 average, bit for bit
`cv2.INTER_AREA`'s. Only even sides are shared; `half` on an odd side is the caller's own resize, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np

_state = threading.local()


@contextmanager
def shared(rgb: np.ndarray) -> Iterator[None]:
    """Within this block (on this thread), `half` keeps the halvings of `rgb` and of each level it made, and hands
    them out again. The levels are fresh arrays, released when the block ends; blocks do not nest."""
    if getattr(_state, "levels", None) is not None:
        raise RuntimeError("halvings.shared blocks do not nest")
    _state.levels = [rgb]
    try:
        yield
    finally:
        _state.levels = None


def _level_of(image: np.ndarray) -> int | None:
    """The index of `image` among the shared levels (the very array, not an equal one), or None."""
    levels = getattr(_state, "levels", None)
    if levels is None:
        return None
    for index, level in enumerate(levels):
        if level is image:
            return index
    return None


def half(image: np.ndarray, interpolation: int = cv2.INTER_LINEAR, dst: np.ndarray | None = None) -> np.ndarray:
    """`image` at (h // 2, w // 2): the shared level after it when `image` is a shared level with even sides (computed
    on first use), else `cv2.resize` with `interpolation` (into `dst` when given)."""
    height, width = image.shape[:2]
    index = _level_of(image)
    if index is None or height % 2 or width % 2 or height < 2 or width < 2:
        return cv2.resize(image, (max(1, width // 2), max(1, height // 2)), dst=dst, interpolation=interpolation)
    levels = _state.levels
    if index + 1 == len(levels):
        levels.append(cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_LINEAR))
    return levels[index + 1]


def is_shared(image: np.ndarray) -> bool:
    """Whether `image` is one of the current block's levels (so a caller must not write into it)."""
    return _level_of(image) is not None
