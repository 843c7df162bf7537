"""Finding the people first: the bundled person detector on the whole photo (and on tiles, for small people),
each person's body square, and the union of those squares that person pixels must lie in. Qt-free."""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from desktop_app.core import detection
from desktop_app.core.detection import Detection
from desktop_app.core.quality.regions import Box, tile_side, tiles


class Detects(Protocol):
    """What this package needs from `desktop_app.core.detector.PersonDetector`."""

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


class SegmentsBodies(Protocol):
    """What this package needs from `desktop_app.core.body_segmenter.BodySegmenter`."""

    def segment(self, rgb: np.ndarray, person: Detection, scale: float = 1.25) -> Any: ...  # -> BodyMask


def _in_tile(det: Detection, box: Box, width: int, height: int) -> Detection:
    """A detection on a tile (normalized to the tile) -> normalized to the whole picture."""
    x0, y0, x1, y1 = box
    tw, th = x1 - x0, y1 - y0

    def point(x: float, y: float) -> tuple[float, float]:
        return ((x0 + x * tw) / width, (y0 + y * th) / height)

    a, b = point(det.box[0], det.box[1]), point(det.box[2], det.box[3])
    return Detection(det.score, (a[0], a[1], b[0], b[1]), tuple(point(x, y) for x, y in det.keypoints))


def find_persons(detector: Detects, rgb: np.ndarray, tile_frac: float = 0.0, tile_score: float = 0.9,
                 min_side: int = 64, max_tiles: int = 24, weak_score: float | None = None,
                 weak: list[Detection] | None = None, sharpen: bool = True) -> list[Detection]:
    """The people in the picture: the whole picture letterboxed, plus (tile_frac > 0) square tiles of that share
    of the shorter side, 50% overlap, whose detections count only at `tile_score` or more (a tile that shows a
    part of a large person yields confident-looking parts; at most `max_tiles`, larger ones for panoramas);
    duplicates across tiles removed by plain NMS. `weak` (a list) receives the tiles' detections from
    `weak_score` up to `tile_score` that are not one of the people returned: candidates for `second_look`.
    `sharpen`: each person found takes a tile's larger view of the same body (`sharpened`)."""
    h, w = rgb.shape[:2]
    whole = list(detector.detect(rgb))
    found: list[Detection] = []
    low: list[Detection] = []
    closer: list[Detection] = []
    if tile_frac > 0 and min(h, w) >= min_side:
        side = tile_side(w, h, tile_frac, 0.5, max_tiles)
        for box in tiles(w, h, side, 0.5):
            x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
            for det in detector.detect(np.ascontiguousarray(rgb[y0:y1, x0:x1])):
                det = _in_tile(det, (x0, y0, x1, y1), w, h)
                closer.append(det)
                if det.score >= tile_score:
                    found.append(det)
                elif weak is not None and weak_score is not None and det.score >= weak_score:
                    low.append(det)
    kept = _distinct(whole + found)
    if sharpen and closer:  # after the duplicates are gone: a sharpened box no longer shows one's other scale
        kept = _distinct([sharpened(det, closer, w, h) for det in kept])
    if weak is not None:
        weak.extend(d for d in _distinct(low) if all(not same_person(d, k) for k in kept))
    return kept


def sharpened(det: Detection, closer: list[Detection], width: int, height: int, near: float = 0.25) -> Detection:
    """`det`, or the detection in `closer` (the tiles', any score) of the same body seen larger: its face box at most
    half of `det`'s and mostly inside it, its mid-hip within `near` of `det`'s body radius (the most confident such
    one), at the higher of the two scores. A small person's face box from the whole
    picture can be several faces wide and hold a neighbour's face, who then passes for the same person."""
    (hx, hy), (sx, sy) = det.keypoints[0], det.keypoints[1]
    radius = float(np.hypot((sx - hx) * width, (sy - hy) * height))
    best = None
    for other in closer:
        if _area(det.box) < 2.0 * _area(other.box) or _share_of_smaller(det.box, other.box) <= 0.5:
            continue
        ox, oy = other.keypoints[0]
        if np.hypot((ox - hx) * width, (oy - hy) * height) <= near * radius and (best is None
                                                                                 or other.score > best.score):
            best = other
    if best is None:
        return det
    return Detection(max(det.score, best.score), best.box, best.keypoints)


def _distinct(found: list[Detection]) -> list[Detection]:
    """Plain NMS (IoU 0.3), then a face box twice as large as a better one and holding most of it dropped: the
    same person at another scale."""
    if len(found) < 2:
        return found
    boxes = np.array([d.box for d in found], np.float32)
    keypoints = np.array([d.keypoints for d in found], np.float32)
    scores = np.array([d.score for d in found], np.float32)
    kept: list[Detection] = []
    for det in detection.nms(boxes, keypoints, scores, threshold=0.3, weighted=False):
        if all(_share_of_smaller(det.box, other.box) <= 0.5 or _area(det.box) < 2.0 * _area(other.box)
               for other in kept):
            kept.append(det)
    return kept


def same_person(a: Detection, b: Detection) -> bool:
    """Face boxes that overlap by more than half of the smaller one."""
    return _share_of_smaller(a.box, b.box) > 0.5


def second_look(detector: Detects, rgb: np.ndarray, weak: list[Detection], people: list[Detection],
                score: float = 0.9, body_scale: float = 1.25, faces: Detects | None = None,
                face_score: float = 0.75) -> list[Detection]:
    """The weak detections (`find_persons(weak=...)`) confirmed on a closer look: the person detector finds the
    same face (`same_person`) at `score` or more (as a tile's detection must) in the candidate's own body square,
    where the person fills its input (with a margin around it the neighbours lowered the score); or, failing that,
    `faces` (a face detector) finds that face at `face_score` or more in a square three faces wide around it (a
    head and shoulders cut by the frame's edge, which the person detector never sees above ~0.85; the cups and
    cats it half-sees have no face). A face that is already somebody's confirms nobody new. Returns the confirmed
    people (the closer look's detection where it has one), none that is one of `people` or of each other."""
    height, width = rgb.shape[:2]
    taken: list[Detection] = []
    for det in sorted(weak, key=lambda d: -d.score):
        if any(same_person(det, k) for k in people + taken):
            continue
        x0, y0, x1, y1 = body_boxes([det], width, height, body_scale)[0]
        same = [d for d in _look(detector, rgb, (x0, y0, x1, y1)) if d.score >= score and _new(d, det, people + taken)]
        if same:
            taken.append(max(same, key=lambda d: d.score))
            continue
        if faces is not None:
            fx0, fy0, fx1, fy1 = det.box[0] * width, det.box[1] * height, det.box[2] * width, det.box[3] * height
            half = 1.5 * max(fx1 - fx0, fy1 - fy0)
            cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
            around = (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
            if any(f.score >= face_score and _new(f, det, people + taken) for f in _look(faces, rgb, around)):
                taken.append(det)
    return taken


def unexplained_look(detector: Detects, rgb: np.ndarray, seen: np.ndarray, people: list[Detection],
                     score: float = 0.9, min_area: float = 0.002, margin: float = 0.1) -> list[Detection]:
    """The people in `seen` (bool: what the segmenter saw as person and the steps around the people deleted) that the
    detector confirms: each connected part of at least `min_area` of the picture, its bounding box grown by `margin`
    of its size (the detector letterboxes it: a standing person fills its input's height, with no neighbour
    beside them), where the detector finds someone at `score` or more whose mid-hip or face lies in the part's box
    and who is nobody already found, and whose mid-hip lies at least `HIP_FACES` face-heights from the face
    (`plausible`). A person the whole picture and the tiles missed (a body at the frame's edge, split by every tile)
    is not deleted by the others' regions."""
    height, width = seen.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(seen.astype(np.uint8), connectivity=8)
    taken: list[Detection] = []
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_area * height * width:
            continue
        mx, my = margin * bw, margin * bh
        box = (round(x - mx), round(y - my), round(x + bw + mx), round(y + bh + my))
        for det in sorted(_look(detector, rgb, box), key=lambda d: -d.score):
            if det.score < score or not plausible(det, width, height) or any(
                    same_person(det, k) for k in people + taken):
                continue
            (hx, hy) = det.keypoints[0]
            fx, fy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
            if any(box[0] <= px * width <= box[2] and box[1] <= py * height <= box[3] for px, py in
                   ((hx, hy), (fx, fy))):
                taken.append(det)
                break
    return taken


# A mid-hip this many face-heights from the face's centre at least: an adult's lies 3 or more below it (seated ones
# too); session 20's fresh composites had the detector confirm a rocket's nose at 0.91 with its "hip" 0.7 face-heights
# under its "face", while the one person this step added on 156 tune stills had it at 2.3.
HIP_FACES = 1.5


def plausible(det: Detection, width: int, height: int) -> bool:
    """Whether `det`'s mid-hip (keypoint 0) lies at least HIP_FACES face-box heights from its face box's centre,
    in pixels of a `width` x `height` picture (any direction: a person lying down counts)."""
    x0, y0, x1, y1 = det.box
    hx, hy = det.keypoints[0]
    face = max((y1 - y0) * height, 1e-6)
    return float(np.hypot((hx - (x0 + x1) / 2) * width, (hy - (y0 + y1) / 2) * height)) >= HIP_FACES * face


def _new(found: Detection, candidate: Detection, known: list[Detection]) -> bool:
    """Whether `found` (on a closer look) is `candidate`'s face and nobody's in `known`."""
    return same_person(found, candidate) and not any(same_person(found, k) for k in known)


def _look(detector: Detects, rgb: np.ndarray, box: Box) -> list[Detection]:
    """`detector` on the part of `rgb` inside `box` (clipped to the picture), in the picture's coordinates."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return []
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return [_in_tile(d, (x0, y0, x1, y1), width, height) for d in detector.detect(crop)]


def _area(box: tuple[float, ...]) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _share_of_smaller(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def body_boxes(people: list[Detection], width: int, height: int, scale: float = 1.25) -> list[Box]:
    """Each person's square body box in pixels (see `detection.body_box`), grown to hold the face box too."""
    out = []
    for det in people:
        bx0, by0, bx1, by1 = detection.body_box(det, width, height, scale)
        fx0, fy0, fx1, fy1 = (det.box[0] * width, det.box[1] * height, det.box[2] * width, det.box[3] * height)
        x0, y0, x1, y1 = min(bx0, fx0), min(by0, fy0), max(bx1, fx1), max(by1, fy1)
        side = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        out.append((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
    return out


def region(boxes: list[Box], width: int, height: int, pad: float = 0.1, people: list[Detection] | None = None,
           aspect: float = 1.0, feet: float = 0.0) -> np.ndarray:
    """(height, width) bool: inside any box grown by `pad` of its side on every edge. With `people` (one per
    box) and `aspect` < 1, each box becomes a rectangle along the person's body axis (mid-hip -> mid-shoulder)
    of the box's length and `aspect` of its width: a standing person is narrower than their square; `feet`
    (a share of the side) makes that rectangle longer at the feet end."""
    out = np.zeros((height, width), np.uint8)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        side = (x1 - x0) * (1.0 + 2.0 * pad)
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        if people is None or aspect >= 1.0:
            ux, uy = 0.0, 1.0
            across = side / 2.0
        else:
            ux, uy = body_axis(people[i], width, height)
            across = aspect * side / 2.0
        along = side / 2.0
        # t: along (ux, uy), which points to the shoulders; the feet end is longer by `feet` of the side
        feet_end = along + (feet * side if people is not None and aspect < 1.0 else 0.0)
        corners = np.array([[cx + t * ux - b * uy * across, cy + t * uy + b * ux * across]
                            for t, b in ((along, -1), (along, 1), (-feet_end, 1), (-feet_end, -1))])
        cv2.fillConvexPoly(out, np.round(corners).astype(np.int32), 1)
    return out.astype(bool)


def body_axis(person: Detection, width: int, height: int) -> tuple[float, float]:
    """Unit vector in pixels from the mid-hip to the mid-shoulder keypoint (straight up when they coincide)."""
    (hx, hy), (sx, sy) = person.keypoints[0], person.keypoints[2]
    ux, uy = (sx - hx) * width, (sy - hy) * height
    norm = float(np.hypot(ux, uy))
    return (ux / norm, uy / norm) if norm > 0 else (0.0, -1.0)


def axis_boxes(boxes: list[Box], people: list[Detection], width: int, height: int, size: float = 0.6
               ) -> list[Box]:
    """Per body square two smaller squares along the body axis, one centred a quarter of the side towards the
    shoulders and one a quarter towards the feet, each `size` of the body square's side: legs and feet fill the
    selfie model's input the way a head-and-shoulders shot does."""
    out = []
    for (x0, y0, x1, y1), person in zip(boxes, people, strict=True):
        side = x1 - x0
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        ux, uy = body_axis(person, width, height)
        half = max(size * side / 2.0, 4.0)
        for sign in (1.0, -1.0):
            px, py = cx + sign * ux * side / 4.0, cy + sign * uy * side / 4.0
            out.append((round(px - half), round(py - half), round(px + half), round(py + half)))
    return out
