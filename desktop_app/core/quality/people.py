"""Finding the people first: the bundled person detector on the whole photo (and on tiles, for small people),
each person's body square, and the union of those squares that person pixels must lie in. Qt-free."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import numpy as np

from desktop_app.core import detection
from desktop_app.core.detection import Detection
from desktop_app.core.quality.regions import Box, tiles

log = logging.getLogger(__name__)


class Detects(Protocol):
    """What this package needs from `desktop_app.core.detector.PersonDetector`."""

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


_SHARED: list[Detects | None] = []
_SHARED_LOCK = threading.Lock()


def shared_detector() -> Detects | None:
    """The bundled detector on one CPU thread, loaded once; None (logged once) when it cannot be loaded, so the
    stills path falls back to working without it."""
    with _SHARED_LOCK:
        if not _SHARED:
            try:
                from desktop_app.core.detector import PersonDetector

                _SHARED.append(PersonDetector(device="cpu", threads=1))
            except Exception as exc:  # a missing/tampered file or no detector in the manifest: stills still work
                log.warning("person detector unavailable, best-quality stills work without it: %s", exc)
                _SHARED.append(None)
        return _SHARED[0]


def _in_tile(det: Detection, box: Box, width: int, height: int) -> Detection:
    """A detection on a tile (normalized to the tile) -> normalized to the whole picture."""
    x0, y0, x1, y1 = box
    tw, th = x1 - x0, y1 - y0

    def point(x: float, y: float) -> tuple[float, float]:
        return ((x0 + x * tw) / width, (y0 + y * th) / height)

    a, b = point(det.box[0], det.box[1]), point(det.box[2], det.box[3])
    return Detection(det.score, (a[0], a[1], b[0], b[1]), tuple(point(x, y) for x, y in det.keypoints))


def find_persons(detector: Detects, rgb: np.ndarray, tile_frac: float = 0.0, tile_score: float = 0.9,
                 min_side: int = 64) -> list[Detection]:
    """The people in the picture: the whole picture letterboxed, plus (tile_frac > 0) square tiles of that share
    of the shorter side, 50% overlap, whose detections count only at `tile_score` or more (a tile that shows a
    part of a large person yields confident-looking parts); duplicates across tiles removed by plain NMS."""
    h, w = rgb.shape[:2]
    found = list(detector.detect(rgb))
    if tile_frac > 0 and min(h, w) >= min_side:
        side = max(int(tile_frac * min(h, w)), 16)
        for box in tiles(w, h, side, 0.5):
            x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
            for det in detector.detect(np.ascontiguousarray(rgb[y0:y1, x0:x1])):
                if det.score >= tile_score:
                    found.append(_in_tile(det, (x0, y0, x1, y1), w, h))
    if len(found) < 2:
        return found
    boxes = np.array([d.box for d in found], np.float32)
    keypoints = np.array([d.keypoints for d in found], np.float32)
    scores = np.array([d.score for d in found], np.float32)
    return detection.nms(boxes, keypoints, scores, threshold=0.3, weighted=False)


def body_boxes(people: list[Detection], width: int, height: int, scale: float = 1.25) -> list[Box]:
    """Each person's square body box in pixels (see `detection.body_box`), grown to hold the face box too."""
    out = []
    for det in people:
        x0, y0, x1, y1 = detection.body_box(det, width, height, scale)
        fx0, fy0, fx1, fy1 = (det.box[0] * width, det.box[1] * height, det.box[2] * width, det.box[3] * height)
        x0, y0, x1, y1 = min(x0, fx0), min(y0, fy0), max(x1, fx1), max(y1, fy1)
        side = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        out.append((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
    return out


def region(boxes: list[Box], width: int, height: int, pad: float = 0.1) -> np.ndarray:
    """(height, width) bool: inside any box grown by `pad` of its side on every edge."""
    out = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in boxes:
        grow = round(pad * (x1 - x0))
        ax0, ay0 = max(x0 - grow, 0), max(y0 - grow, 0)
        ax1, ay1 = min(x1 + grow, width), min(y1 + grow, height)
        if ax0 < ax1 and ay0 < ay1:
            out[ay0:ay1, ax0:ax1] = True
    return out
