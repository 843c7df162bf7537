"""Live and video frames: the model run on a square crop around where the person was a frame ago (#9, session 13).

    crop = PersonCrop()
    grid, timings = crop.predict(segmenter, rgb)   # the map `segmenter` gives for the whole frame, same shape

On a 16:9 call the person fills about half the frame's width, and the whole frame squashed to the landscape
model's 256x144 input gives them about a quarter of a pixel per frame pixel. A square crop around them (the
general model's 256x256 input, picked by `Segmenter("auto")` from the crop's shape) gives them about twice that,
which is how the model was trained to see a person: at arm's length, filling its input. Its map is resampled onto
the whole frame's grid, so every later step (smoothing, hysteresis, edges at the grid) runs as before; outside
the crop it is 0. On call-P002 flicker fell 0.0090 -> 0.0063 and boundary F rose 0.916 -> 0.953
(docs/quality.md, "Session 13").

The crop holds still while the person stays well inside it (a crop that moves every frame would make the mask move
with it): it is chosen again only when the last mask comes within half the margin (or, for a crop the frame makes
smaller than that margin needs, a quarter of the room it leaves) of a side that is not the frame's own edge, or
shrinks to under `keep` of the crop. A person too wide for any square in the frame takes the whole frame; so does
the first frame, and any after nobody was seen, but when it finds somebody the crop runs in the same frame (two
model runs then), so the mask does not switch models a frame later. Every `look_every` frames the whole frame is
also run (its map is not shown): somebody it sees outside the crop widens the next one.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from desktop_app.core.wrapped import WrappedSegmenter

MARGIN = 0.15  # the crop's margin around the person's box, a share of the box's longer side each way
LOOK_EVERY = 15  # a whole-frame look every this many frames (0.5 s at 30 fps): anybody new outside the crop
KEEP = 0.8  # the crop is chosen again when the person's square shrinks under this share of it
MIN_SIDE = 0.3  # the smallest crop, a share of the frame's shorter side (no zooming into a few pixels)
MIN_CELLS = 20  # fewer person cells than this on the grid: nobody there, the whole frame next time
NEW_PERSON = 0.002  # a whole-frame look's person cells outside the crop that widen it: this share of the grid

Box = tuple[int, int, int, int]


class PersonCrop:
    """`predict(segmenter, rgb)`: the model's map on the whole frame's grid, run on a crop around the person.

    Sequential state (the last map and crop): one per stream of frames; `reset()` for a new source."""

    def __init__(self, margin: float = MARGIN, look_every: int = LOOK_EVERY, keep: float = KEEP) -> None:
        self.margin, self.look_every, self.keep = margin, look_every, keep
        self.crops = 0  # frames the crop was used for (tests, benchmarks)
        self.reset()

    def reset(self) -> None:
        self._prev: np.ndarray | None = None
        self._box: Box | None = None
        self._count = 0

    @property
    def box(self) -> Box | None:
        """The crop used for the last frame (frame pixels), or None for the whole frame."""
        return self._box

    def predict(self, segmenter: Any, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        height, width = rgb.shape[:2]
        self._count += 1
        prev = self._prev
        if prev is not None and self._box is not None and self.look_every and self._count % self.look_every == 0:
            whole, _ = segmenter.predict(rgb)
            if whole.shape == prev.shape and _outside(whole, self._box, width, height) >= NEW_PERSON * whole.size:
                prev, self._box = np.maximum(prev, whole), None
        box = self._choose(prev, width, height) if prev is not None else None
        if box is None:  # nobody to crop around yet: the whole frame, and the crop at once if it finds somebody
            self._box = None
            grid, timings = segmenter.predict(rgb)
            self._prev = prev = grid
            box = self._choose(grid, width, height)
            if box is None:
                return grid, timings
        self._box = box
        x0, y0, x1, y1 = box
        prob, timings = segmenter.predict(rgb[y0:y1, x0:x1])  # a view: the model's resize reads it in place
        start = time.perf_counter()
        assert prev is not None
        grid = paste_on_grid(prob, box, width, height, prev.shape)
        timings = dict(timings)
        timings["resize"] = float(timings.get("resize", 0.0)) + (time.perf_counter() - start) * 1000.0
        self._prev = grid
        self.crops += 1
        return grid, timings

    def _choose(self, prev: np.ndarray, width: int, height: int) -> Box | None:
        """The crop for this frame: the last one while it still fits, a new one, or None (the whole frame)."""
        person = (prev >= 0.5).view(np.uint8)
        if cv2.countNonZero(person) < MIN_CELLS:
            return None
        gh, gw = prev.shape
        left, top, cols, rows = cv2.boundingRect(person)  # the person cells' box (np.nonzero's min/max: 10x slower)
        bx0, bx1 = left * width / gw, (left + cols) * width / gw
        by0, by1 = top * height / gh, (top + rows) * height / gh
        longer = max(bx1 - bx0, by1 - by0)
        side = max(longer * (1 + 2 * self.margin), MIN_SIDE * min(width, height))
        if bx1 - bx0 > min(width, height):
            return None  # wider than any square in the frame: the whole frame
        side = min(side, min(width, height))
        old = self._box
        if old is not None:  # the person at least half the margin inside each side (or a quarter of the slack)
            oside = old[2] - old[0]
            rx = min(0.5 * self.margin * longer, 0.25 * (oside - (bx1 - bx0)))
            ry = min(0.5 * self.margin * longer, 0.25 * (oside - (by1 - by0)))
            fits = ((bx0 - old[0] >= rx or old[0] <= 0) and (by0 - old[1] >= ry or old[1] <= 0)
                    and (old[2] - bx1 >= rx or old[2] >= width) and (old[3] - by1 >= ry or old[3] >= height))
            if fits and side >= self.keep * (old[2] - old[0]):
                return old
        s = round(side)
        x0 = round(min(max((bx0 + bx1 - s) / 2, 0), width - s))
        y0 = round(min(max((by0 + by1 - s) / 2, 0), height - s))
        return (x0, y0, x0 + s, y0 + s)


def paste_on_grid(prob: np.ndarray, box: Box, width: int, height: int, grid: tuple[int, ...]) -> np.ndarray:
    """`prob` (the model's map of the crop `box` of a `width` x `height` frame) resampled onto the whole frame's
    `grid` (rows, cols), cell centres to cell centres; 0 outside the crop."""
    gh, gw = grid
    x0, y0, x1, y1 = box
    gx0, gx1, gy0, gy1 = x0 * gw / width, x1 * gw / width, y0 * gh / height, y1 * gh / height
    sx, sy = prob.shape[1] / (gx1 - gx0), prob.shape[0] / (gy1 - gy0)
    if sx > 1.0 or sy > 1.0:  # the crop's map is finer than the grid there: area-average it first
        prob = cv2.resize(prob, (max(1, round(gx1 - gx0)), max(1, round(gy1 - gy0))), interpolation=cv2.INTER_AREA)
        sx, sy = prob.shape[1] / (gx1 - gx0), prob.shape[0] / (gy1 - gy0)
    # grid cell j's centre (j + 0.5) lies at the crop map's (j + 0.5 - gx0) * sx - 0.5
    m = np.array([[sx, 0.0, (0.5 - gx0) * sx - 0.5], [0.0, sy, (0.5 - gy0) * sy - 0.5]], np.float32)
    out = cv2.warpAffine(prob.astype(np.float32, copy=False), m, (gw, gh),
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    keep = np.zeros((gh, gw), bool)
    keep[int(np.floor(gy0)) : int(np.ceil(gy1)), int(np.floor(gx0)) : int(np.ceil(gx1))] = True
    out[~keep] = 0.0
    return out


def _outside(grid: np.ndarray, box: Box, width: int, height: int) -> int:
    """Person cells (>= 0.5) of a whole-frame `grid` outside the crop `box`."""
    gh, gw = grid.shape
    person = grid >= 0.5
    gx0, gx1 = int(box[0] * gw / width), int(np.ceil(box[2] * gw / width))
    gy0, gy1 = int(box[1] * gh / height), int(np.ceil(box[3] * gh / height))
    person[gy0:gy1, gx0:gx1] = False
    return int(np.count_nonzero(person))


class Cropping(WrappedSegmenter):
    """A segmenter whose `predict(rgb)` is `PersonCrop.predict` on `segmenter` (for a wrapper in front of it, such
    as video files' lookahead, which runs the model on frames ahead of the pipeline, in order); `reset()` forgets
    the crop; `spec` and any other attribute are the wrapped segmenter's."""

    def __init__(self, segmenter: Any) -> None:
        self.segmenter = segmenter
        self.crop = PersonCrop()

    def reset(self) -> None:
        self.crop.reset()

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        return self.crop.predict(self.segmenter, rgb)

