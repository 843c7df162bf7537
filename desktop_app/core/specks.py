"""Specks removed and small holes filled in a person alpha (issue #9's "holes filled and specks removed"; W39b).

Connected pieces of the alpha at the threshold (8-connected person, 4-connected holes; traced by one
`cv2.findContours`). A person piece is a speck, and is dropped with its soft rim, when it is small against BOTH the
largest piece (SPECK_OF_LARGEST) and the frame (SPECK_OF_FRAME): a second person, even a much smaller one far back,
or a detached hand of a plausible size (a few % of the person) is kept. A background piece that does not touch the
frame's border is a hole, and is filled under the same two bounds AND under one cell of the model's grid
(HOLE_CELLS): so only at full resolution (video files), never at the grid itself (live). Over time a piece that
overlaps what was kept last frame needs only half the size to stay (and a hole that was open stays open at half the
size), so a piece near the bound does not blink on and off.

Measured on call-P002 (tune; docs/quality.md, "Session 6: flicker", round two): the flicker that lies in such
pieces is mostly the full-resolution edge step's 1-100 px specks and pinholes of the video files' path (0.006098 ->
0.005855); live's far patches are mostly connected to the person, which this step leaves (0.009154 -> 0.008991).
"""

from __future__ import annotations

import cv2
import numpy as np

# A person component under this share of the largest one AND of the frame is a speck; the same for holes.
SPECK_OF_LARGEST = 0.02
SPECK_OF_FRAME = 0.001
# A hole under this share of the largest piece AND of the frame AND under HOLE_CELLS cells of the model's grid is
# filled: a hole of a cell or more is the model's own (a gap between a small person's legs); one under a cell is the
# full-resolution edge step's pinhole. At the grid itself (live) no hole is filled.
HOLE_OF_LARGEST = 0.02
HOLE_OF_FRAME = 0.001
HOLE_CELLS = 1.0
# A component overlapping last frame's kept pieces (a hole: last frame's background) keeps at this share of the bound.
SPECK_HYSTERESIS = 0.5
# A dropped speck's soft rim: the pixels under the threshold within this many pixels of it go to 0 with it.
SPECK_RIM = 2


class SpeckFilter:
    """`clean(alpha)` drops specks and fills holes, remembering what it kept for the next frame; `reset()` forgets.

    One `cv2.findContours` (outer boundaries and the holes' boundaries, two levels) finds both, about 20 us at
    256x144; the areas are the pixel counts the contours' polygons give. Nothing is drawn unless a piece is dropped
    or filled."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._kept: np.ndarray | None = None  # last frame's person pixels after cleaning (bool)

    def reset(self) -> None:
        self._kept = None

    def clean(self, alpha: np.ndarray, cell_area: float = 1.0) -> np.ndarray:
        """(h, w) float alpha in [0, 1] -> the same with specks at 0 and holes at 1 (a new array if changed).
        `cell_area`: the pixels of `alpha` per cell of the model's grid (1 at the grid)."""
        alpha = np.asarray(alpha, dtype=np.float32)
        person = alpha >= self.threshold
        previous = self._kept if self._kept is not None and self._kept.shape == person.shape else None
        self._kept = person
        holes_possible = HOLE_CELLS * cell_area > 1.0  # at the grid no hole is filled: outer boundaries only
        mode = cv2.RETR_CCOMP if holes_possible else cv2.RETR_EXTERNAL
        contours, hierarchy = cv2.findContours(person.view(np.uint8), mode, cv2.CHAIN_APPROX_SIMPLE)
        if len(contours) <= 1:
            return alpha
        outer = hierarchy[0, :, 3] < 0  # no parent: a person piece; else a hole in one
        # Pixel counts from the polygons through the boundary pixels' centres: a piece's polygon misses half a
        # pixel all round, a hole's (traced on the person pixels around it) takes half a pixel too many.
        areas = [cv2.contourArea(c) for c in contours]
        top = max(range(len(areas)), key=lambda i: areas[i] if outer[i] else -1.0)
        largest = areas[top] + 0.5 * cv2.arcLength(contours[top], True) + 1.0
        speck_bound = min(SPECK_OF_LARGEST * largest, SPECK_OF_FRAME * person.size)
        hole_bound = min(HOLE_OF_LARGEST * largest, HOLE_OF_FRAME * person.size, HOLE_CELLS * cell_area)
        drop, fill = [], []
        for i, (contour, area) in enumerate(zip(contours, areas, strict=True)):
            bound = speck_bound if outer[i] else hole_bound
            if (area >= bound and outer[i]) or bound <= 1.0:
                continue  # a piece's pixel count is over its polygon's area: only those under the bound are counted
            area += (0.5 if outer[i] else -0.5) * cv2.arcLength(contour, True) + 1.0
            if area >= bound:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            if outer[i]:
                seen = previous is not None and bool((previous[y:y + h, x:x + w] & person[y:y + h, x:x + w]).any())
                if not (seen and area >= SPECK_HYSTERESIS * bound):
                    drop.append(contour)
            else:
                if previous is not None and area >= SPECK_HYSTERESIS * bound and bool(
                        (~previous[y:y + h, x:x + w] & ~person[y:y + h, x:x + w]).any()):
                    continue  # a hole that was open last frame stays open at half the size
                fill.append(contour)
        if not drop and not fill:
            return alpha
        alpha = alpha.copy()
        for contour in drop:
            # The speck and its soft rim (SPECK_RIM) go to 0, drawn in the speck's own box (that much wider) only.
            x, y, w, h = cv2.boundingRect(contour)
            x0, y0 = max(x - SPECK_RIM, 0), max(y - SPECK_RIM, 0)
            x1, y1 = min(x + w + SPECK_RIM, alpha.shape[1]), min(y + h + SPECK_RIM, alpha.shape[0])
            local = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.drawContours(local, [contour], -1, 1, thickness=cv2.FILLED, offset=(-x0, -y0))
            inside = local.view(bool).copy()
            if SPECK_RIM > 0:
                cv2.drawContours(local, [contour], -1, 1, thickness=2 * SPECK_RIM + 1, offset=(-x0, -y0))
            box = person[y0:y1, x0:x1]
            alpha[y0:y1, x0:x1][inside | (local.view(bool) & ~box)] = 0.0
            box &= ~inside
        if fill:
            holes = np.zeros(person.shape, np.uint8)
            cv2.drawContours(holes, fill, -1, 1, thickness=cv2.FILLED)
            alpha[holes.view(bool)] = 1.0
            person |= holes.view(bool)
        return alpha
