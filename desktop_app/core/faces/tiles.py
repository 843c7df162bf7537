"""Small faces in large photos: CenterFace at full resolution over overlapping tiles, plus one pass over the whole
picture shrunk for the faces too large for a tile, merged without duplicates at the seams.

CenterFace finds faces from ~20 px (docs/models.md, "Face detectors": recall 1.0 at 20-30 px at full size, 0.68
below); a 4000 x 3000 photo shrunk to the detector's usual 640-1280 px loses every face under ~60-120 px. A
picture up to FULL_PASS_SIDE on its longer side runs in one pass at full size. A larger one runs:
- the whole picture shrunk to GLOBAL_SIDE: every face of at least MIN_GLOBAL_FACE px there, i.e. of at least
  `MIN_GLOBAL_FACE / scale` px in the photo;
- tiles of about TILE_SIDE px at full size that overlap by that size (plus EDGE_MARGIN on both sides), so every
  smaller face lies whole inside one tile, away from its inner edges. A tile's detection touching one of its inner
  edges (a face cut by the seam) is dropped: that face is whole in the neighbouring tile, or, if larger than the
  overlap, found by the whole-picture pass;
- `merge`: one box per face (NMS over every pass, counting a box mostly inside a better one as the same face).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from desktop_app.core.detection import Detection

FULL_PASS_SIDE = 1920  # up to this longer side: one pass at full size
GLOBAL_SIDE = 1280  # the whole-picture pass of a larger photo
TILE_SIDE = 1536  # about this many px per tile side (at full size)
MIN_GLOBAL_FACE = 32  # px in the whole-picture pass: the faces it is trusted to find (20 px is its limit)
EDGE_MARGIN = 4  # px: a tile's detection this close to an inner edge was cut by the seam
MERGE_IOU = 0.3  # as CenterFace's own NMS
MERGE_INSIDE = 0.7  # a box this much inside a better one (intersection / its own area) is the same face


class Detects(Protocol):
    def detect(self, rgb: np.ndarray, min_score: float | None = None,
               max_side: int | None = None) -> list[Detection]: ...


def spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of tiles covering 0..length, each at most about `tile` long, neighbours sharing `overlap`."""
    if length <= tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / max(1, tile - overlap))
    size = math.ceil((length + (count - 1) * overlap) / count)
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)] if count > 1 else [0]
    return [(s, min(length, s + size)) for s in starts]


def tile_grid(width: int, height: int, tile: int = TILE_SIDE, overlap: int = 0) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of the tiles covering a width x height picture."""
    return [(x0, y0, x1, y1) for y0, y1 in spans(height, tile, overlap) for x0, x1 in spans(width, tile, overlap)]


def overlap_for(width: int, height: int) -> int:
    """The tiles' overlap: the largest face the whole-picture pass may miss, whole inside a tile with margins."""
    scale = min(1.0, GLOBAL_SIDE / max(width, height))
    return math.ceil(MIN_GLOBAL_FACE / scale) + 2 * EDGE_MARGIN


def detect_tiled(detector: Detects, rgb: np.ndarray, min_score: float) -> list[Detection]:
    """Every face of 20 px and up in a still photo of any size, best first (see the module docstring)."""
    height, width = rgb.shape[:2]
    if max(width, height) <= FULL_PASS_SIDE:
        return detector.detect(rgb, min_score=min_score, max_side=max(width, height))
    found = list(detector.detect(rgb, min_score=min_score, max_side=GLOBAL_SIDE))
    overlap = overlap_for(width, height)
    for x0, y0, x1, y1 in tile_grid(width, height, TILE_SIDE, overlap):
        tw, th = x1 - x0, y1 - y0
        tile = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        for face in detector.detect(tile, min_score=min_score, max_side=max(tw, th)):
            bx0, by0, bx1, by1 = face.box[0] * tw, face.box[1] * th, face.box[2] * tw, face.box[3] * th
            cut = ((x0 > 0 and bx0 < EDGE_MARGIN) or (y0 > 0 and by0 < EDGE_MARGIN)
                   or (x1 < width and bx1 > tw - EDGE_MARGIN) or (y1 < height and by1 > th - EDGE_MARGIN))
            if cut:
                continue
            box = ((x0 + bx0) / width, (y0 + by0) / height, (x0 + bx1) / width, (y0 + by1) / height)
            marks = tuple(((x0 + x * tw) / width, (y0 + y * th) / height) for x, y in face.keypoints)
            found.append(Detection(face.score, box, marks))
    return merge(found)


def merge(faces: Sequence[Detection], iou: float = MERGE_IOU, inside: float = MERGE_INSIDE) -> list[Detection]:
    """One detection per face, best first: a box overlapping a better one by more than `iou` IoU, or lying more
    than `inside` of its area inside it, is the same face (the better one is kept as it is)."""
    ordered = sorted(faces, key=lambda f: -f.score)
    if not ordered:
        return []
    boxes = np.asarray([f.box for f in ordered], np.float64)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    alive = np.ones(len(ordered), bool)
    kept = []
    for i in range(len(ordered)):
        if not alive[i]:
            continue
        kept.append(ordered[i])
        ix = np.clip(np.minimum(boxes[i, 2], boxes[:, 2]) - np.maximum(boxes[i, 0], boxes[:, 0]), 0, None)
        iy = np.clip(np.minimum(boxes[i, 3], boxes[:, 3]) - np.maximum(boxes[i, 1], boxes[:, 1]), 0, None)
        inter = ix * iy
        union = areas[i] + areas - inter
        same = (inter > iou * np.maximum(union, 1e-12)) | (inter > inside * np.maximum(areas, 1e-12))
        alive &= ~same
    return kept
