"""The best-quality path for still photos: find the people, look at each one up close, clean up, snap edges.

    alpha = segment_still(segmenter, rgb)   # float32 (H, W) in [0, 1], at the photo's full resolution

Steps (each one measured on the evaluation set in docs/quality.md; the defaults keep only what gained):
0. the bundled person detector finds the people (quality/people.py; a tile's detection under the tiles' bar
   gets a closer look at its own body square, where the person or the face detector may confirm it, so a person
   the others' gate would delete is kept; a body's crop decides only in its own region); when it finds
   somebody, every later step keeps person pixels only inside the union of the people's (padded) body squares,
   and step 3 also crops around each body square; when it finds nobody, the steps below run as they did without
   it; after step 3, an upper and a lower square along each detected body at the model's full input (feet and
   lower legs), fused by maximum inside the gate where the earlier passes saw at least a little person;
1. the whole photo, as the app does it today (the model `auto` picks, the frame squashed to its input);
2. only when that finds nobody: overlapping square tiles of half the shorter side, each area-averaged to the
   square model's input, fused by maximum (small people fill a tile where they were a few pixels of the whole
   frame; always tiling found them too but added false positives on busy backgrounds that cost more);
3. a square crop around each person found (the people fill the model's input), replacing passes 1-2 there;
   people as large as the frame are left to pass 1, unless somebody of a like size stands beside them: then
   such a portrait gets a square of 0.7 of the shorter side around its head (the whole frame joins heads side
   by side and the background between them, `beside_a_like`); boxes merge only when they mostly overlap; done
   twice (the second round crops around what the first one found: tighter boxes, fewer false positives);
4. each detected body (hips in the picture) segmented again by the bundled whole-body model in MediaPipe's body
   square; where the model is sure and its nose lies in (or just by) the person's face box and nearest that face,
   its mask replaces the passes above inside that person's region (`fuse_bodies`; portraits keep the selfie
   model's mask), except where two people's regions overlap: there a thick part the passes above see and the
   body masks are unsure of (a lower leg beside a neighbour) is kept;
4a. what the whole picture showed as person and steps 3-4 deleted (a body the detector missed, inside or beside
   a neighbour's region), each part looked at by the detector in its own box; a person it confirms there is added
   and steps 3-4 run again (`people.unexplained_look`);
4b. (off: no gain measured) specks removed, small holes filled;
5. the mask's edges snapped to the full-resolution photo with a guided filter.
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop_app.core.detection import Detection
from desktop_app.core.quality import people as persons
from desktop_app.core.quality import people_models, refine
from desktop_app.core.quality.bodies import fuse_bodies, own_regions
from desktop_app.core.quality.options import DEFAULT, StillOptions
from desktop_app.core.quality.people_models import PeopleModels
from desktop_app.core.quality.regions import (
    Box,
    Predicts,
    model_side,
    paste_max,
    person_boxes,
    predict_box,
    tile_side,
    tiles,
)
from desktop_app.core.resize import fit_long_side

WORK_LONG_SIDE = 1280  # the passes run on the photo area-averaged to this long side (or less)
MIN_TILED_SIDE = 64  # no tiles for pictures thinner than this (at work size): nobody to find in them
MAX_TILES = 24  # at most this many tiles (a panorama gets larger ones)


class _Mirrored:
    """A segmenter whose every prediction also sees the mirrored input; the two fused by `how` (mean / max)."""

    def __init__(self, segmenter: Predicts, how: str) -> None:
        self._segmenter, self._how = segmenter, how

    @property
    def input_size(self) -> tuple[int, int]:
        return getattr(self._segmenter, "input_size", (256, 256))

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        a, timings = self._segmenter.predict(rgb)
        b, _ = self._segmenter.predict(np.ascontiguousarray(rgb[:, ::-1]))
        b = b[:, ::-1]
        return (np.maximum(a, b) if self._how == "max" else (a + b) * 0.5).astype(np.float32), timings


def _whole(segmenter: Predicts, work: np.ndarray, letterbox: bool = False, both: str = "") -> np.ndarray:
    """The whole picture, squashed into the model's input (as the app does) or letterboxed: padded with its
    edge to the aspect of the model `auto` would pick (square, or 16:9 for frames at least 3:2)."""
    h, w = work.shape[:2]
    if both:
        # square input -> the general model, 16:9 -> the landscape one (Segmenter("auto") picks by aspect)
        maps = []
        for size in ((256, 256), (256, 144)):
            small = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
            prob, _ = segmenter.predict(np.ascontiguousarray(small))
            maps.append(cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR))
        return np.minimum(*maps) if both == "min" else np.maximum(*maps)
    if not letterbox:
        prob, _ = segmenter.predict(np.ascontiguousarray(work))
        return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
    aspect = 16 / 9 if w >= 1.5 * h else 1.0
    pw, ph = max(w, round(h * aspect)), max(h, round(w / aspect))
    x0, y0 = (pw - w) // 2, (ph - h) // 2
    padded = cv2.copyMakeBorder(work, y0, ph - h - y0, x0, pw - w - x0, cv2.BORDER_REPLICATE)
    prob, _ = segmenter.predict(np.ascontiguousarray(padded))
    prob = cv2.resize(prob, (pw, ph), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(prob[y0 : y0 + h, x0 : x0 + w])


def find_people(segmenter: Predicts, work: np.ndarray, options: StillOptions = DEFAULT) -> np.ndarray:
    """Passes 1-2: (h, w) float32 person probability on the work image."""
    h, w = work.shape[:2]
    side = model_side(segmenter)
    if options.whole:
        found = _whole(segmenter, work, options.letterbox, options.both_models)
    else:
        found = np.zeros((h, w), np.float32)
    if options.tiles_only_if_empty and np.count_nonzero(found >= options.threshold) >= 0.001 * h * w:
        return found
    if options.tile_frac > 0 and min(h, w) >= MIN_TILED_SIDE:
        tile = tile_side(w, h, options.tile_frac, options.tile_overlap, MAX_TILES)
        for box in tiles(w, h, tile, options.tile_overlap):
            paste_max(found, predict_box(segmenter, work, box, side), box)
    return found


def _crops(segmenter: Predicts, work: np.ndarray, prob: np.ndarray, boxes: list[Box],
           options: StillOptions) -> tuple[np.ndarray, np.ndarray]:
    """Each box's own prediction fused by maximum (like `prob`), and (bool) where any box lies; boxes as large as
    `crop_max` of the frame are skipped: the whole-frame pass already sees those people up close."""
    h, w = prob.shape
    side = model_side(segmenter)
    close = np.zeros_like(prob)
    inside = np.zeros(prob.shape, bool)
    for box in boxes:
        if box[2] - box[0] >= options.crop_max * min(h, w):
            continue
        paste_max(close, predict_box(segmenter, work, box, side), box)
        x0, y0, x1, y1 = box
        inside[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)] = True
    return close, inside


def look_closer(segmenter: Predicts, work: np.ndarray, found: np.ndarray, options: StillOptions = DEFAULT
                ) -> np.ndarray:
    """Pass 3: each person found, in a square crop of its own; the crops decide inside themselves."""
    boxes = person_boxes(found >= options.threshold, options.crop_margin, merge=options.crop_merge)
    if not boxes:
        return found
    close, inside = _crops(segmenter, work, found, boxes, options)
    if options.crop_mode == "max":
        return np.maximum(found, close)
    return np.where(inside, close, found)


def crop_bodies(segmenter: Predicts, work: np.ndarray, prob: np.ndarray, boxes: list[Box],
                options: StillOptions = DEFAULT, people: list[Detection] | None = None,
                regions: list[np.ndarray] | None = None) -> np.ndarray:
    """A square crop around each detected body; inside the crops the crops decide (people as large as the frame
    are left to the whole-frame pass). With `people` (one per box, and `options.own_region`) a crop decides only
    inside its own person's region (`own_exclusive`: and outside every other person's): a small person's square
    must not take the arm or the legs of a larger one beside it; elsewhere in a square the maximum of the crop and
    what was there. `regions`: `own_regions` of `people`, when the caller has them."""
    close, inside = _crops(segmenter, work, prob, boxes, options)
    if people is not None and options.own_region and inside.any():
        h, w = prob.shape
        if regions is None:
            regions = own_regions(boxes, people, w, h, options)
        decide = np.zeros((h, w), bool)  # where one crop speaks for its own person only
        for i, box in enumerate(boxes):
            if box[2] - box[0] >= options.crop_max * min(h, w):
                continue
            x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
            own = regions[i][y0:y1, x0:x1].copy()
            for j, other in enumerate(regions):
                if options.own_exclusive and j != i and not persons.same_person(people[i], people[j]):
                    own &= ~other[y0:y1, x0:x1]
            decide[y0:y1, x0:x1] |= own
        # elsewhere in a square (another person's region, or no one's): the most either saw, still gated
        return np.where(decide, close, np.where(inside, np.maximum(close, prob), prob))
    return np.where(inside, close, prob) if inside.any() else prob


def along_bodies(segmenter: Predicts, work: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Each box (the upper and lower part of a body) at the model's full input, fused by maximum: feet and
    lower legs that a whole-body crop shows too small for the selfie model."""
    out = np.zeros(work.shape[:2], np.float32)
    side = model_side(segmenter)
    for box in boxes:
        paste_max(out, predict_box(segmenter, work, box, side), box)
    return out


def _touching(extra: np.ndarray, prob: np.ndarray, threshold: float) -> np.ndarray:
    """`extra` where its person parts (>= threshold) overlap `prob`'s person pixels; 0 elsewhere."""
    parts = (extra >= threshold).astype(np.uint8)
    count, labels = cv2.connectedComponents(parts, connectivity=8)
    if count <= 1:
        return np.zeros_like(extra)
    hit = np.zeros(count, bool)
    hit[np.unique(labels[(prob >= threshold) & (parts > 0)])] = True
    hit[0] = False
    return np.where(hit[labels], extra, 0.0).astype(np.float32)


def beside_a_like(people: list[Detection], boxes: list[Box], ratio: float = 2.0) -> list[bool]:
    """For each of `people` (`boxes`: their body squares), whether somebody of a like size (body squares within
    `ratio`) stands beside them: face centres apart across the picture by half a face box or more (a group; not
    a close-up, whose chin and shirt the detector may take for faces in the face's column, nor a close-up with a
    small person behind)."""
    def beside(i: int, j: int) -> bool:
        a, b = people[i].box, people[j].box
        apart = abs((a[0] + a[2]) - (b[0] + b[2])) / 2 >= 0.5 * max(a[2] - a[0], b[2] - b[0])
        si, sj = boxes[i][2] - boxes[i][0], boxes[j][2] - boxes[j][0]
        return apart and max(si, sj) <= ratio * min(si, sj)

    return [any(beside(i, j) for j in range(len(people)) if j != i) for i in range(len(people))]


def _head_box(box: Box, person: Detection, width: int, height: int, options: StillOptions) -> Box:
    """`box`, or for a body square too large to crop (a portrait) a square of `head_crops` of the shorter side
    around its head (the face `head_at` of the way down), moved inside the picture."""
    short = min(width, height)
    if box[2] - box[0] < options.crop_max * short:
        return box
    side = round(options.head_crops * short)
    cx = (person.box[0] + person.box[2]) / 2 * width
    cy = (person.box[1] + person.box[3]) / 2 * height
    x0 = min(max(round(cx - side / 2), 0), width - side)
    y0 = min(max(round(cy - options.head_at * side), 0), height - side)
    return (x0, y0, x0 + side, y0 + side)


def around_people(segmenter: Predicts, work: np.ndarray, found: np.ndarray, people: list[Detection],
                  options: StillOptions = DEFAULT, body_segmenter: persons.SegmentsBodies | None = None
                  ) -> np.ndarray:
    """Steps 3-4 on the work image: `found` (passes 1-2) gated by `people`'s regions, looked at around each body
    (crops, crop rounds, axis crops) and fused with each body's own mask; without people, the crop rounds only."""
    gate = None
    prob = found
    if people:
        boxes = persons.body_boxes(people, work.shape[1], work.shape[0], options.body_scale)
        regions = own_regions(boxes, people, work.shape[1], work.shape[0], options)
        gate = np.logical_or.reduce(regions)
        prob = prob * gate
        if options.detect_crops:
            crop_boxes = boxes
            if options.head_crops > 0:
                row = beside_a_like(people, boxes) if options.head_side_by_side else [True] * len(people)
                crop_boxes = [_head_box(b, p, work.shape[1], work.shape[0], options) if near else b
                              for b, p, near in zip(boxes, people, row, strict=True)]
            prob = crop_bodies(segmenter, work, prob, crop_boxes, options, people, regions) * gate
    for _ in range(options.crop_rounds if options.crops else 0):
        prob = look_closer(segmenter, work, prob, options)
        if gate is not None:
            prob = prob * gate
    if gate is None:
        return prob
    if options.axis_crops:
        small = [i for i, b in enumerate(boxes) if b[2] - b[0] < options.axis_crop_max * min(work.shape[:2])]
        halves = persons.axis_boxes([boxes[i] for i in small], [people[i] for i in small], work.shape[1],
                                    work.shape[0], options.axis_crop_size)
        if options.axis_parts == "lower":
            halves = halves[1::2]
        extra = along_bodies(segmenter, work, halves)
        if options.axis_agree > 0:  # only where the passes before saw at least a little person
            extra = np.where(prob >= options.axis_agree, extra, 0.0)
        if options.axis_connected:  # only parts that touch what the passes before found
            extra = _touching(extra, prob, options.threshold)
        prob = np.maximum(prob, extra) * gate
    if options.bodies and body_segmenter is not None:
        prob = fuse_bodies(body_segmenter, work, prob, people, boxes, options, regions) * gate
    return prob


SHARED = "shared"  # segment_still's default for each model: the bundled one, from `models` (PeopleModels)


def segment_still(segmenter: Predicts, rgb: np.ndarray, options: StillOptions = DEFAULT,
                  detector: persons.Detects | str | None = SHARED,
                  face_detector: persons.Detects | str | None = SHARED,
                  body_segmenter: persons.SegmentsBodies | str | None = SHARED,
                  models: PeopleModels | None = None) -> np.ndarray:
    """(H, W) float32 person alpha in [0, 1] for an (H, W, 3) uint8 RGB photo, at full resolution.

    `body_segmenter`: the whole-body model of step 4 (`SHARED`: the bundled one, loaded only when needed; None:
    none). `detector`: the person detector for step 0 (`SHARED`: the bundled one; None: no detector); `face_detector`:
    the face detector of its closer look (`SHARED`: the bundled live one, loaded only when needed; None: none).
    `models`: the set the `SHARED` ones come from (default: `people_models.SHARED`; a batch worker passes its own)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    work = fit_long_side(rgb, WORK_LONG_SIDE)
    if options.flip:
        segmenter = _Mirrored(segmenter, options.flip)
    models = models or people_models.SHARED
    if detector == SHARED:
        detector = models.detector() if options.detect else None
    people: list[Detection] = []
    if options.detect and detector is not None and not isinstance(detector, str) and min(work.shape[:2]) >= 16:
        weak: list[Detection] = []
        people = persons.find_persons(detector, work, options.detect_tile_frac, options.detect_tile_score,
                                      weak_score=options.weak_score or None, weak=weak, sharpen=options.sharpen)
        if people and weak:  # someone the gate would delete: a tile's detection under the bar, looked at closer
            if not options.face_look:
                face_detector = None
            elif face_detector == SHARED:
                face_detector = models.face_detector()
            faces = None if isinstance(face_detector, str) else face_detector
            people += persons.second_look(detector, work, weak, people, options.detect_tile_score, options.body_scale,
                                          faces, options.face_score)
    if body_segmenter == SHARED:
        body_segmenter = models.body_segmenter() if options.bodies and people else None
    bodies = None if isinstance(body_segmenter, str) else body_segmenter
    found = find_people(segmenter, work, options)
    prob = around_people(segmenter, work, found, people, options, bodies)
    if people and options.unexplained and detector is not None and not isinstance(detector, str):
        dropped = (found >= options.threshold) & (prob < options.threshold)
        more = persons.unexplained_look(detector, work, dropped, people, options.detect_tile_score,
                                        options.unexplained)
        if more:  # somebody the whole picture showed, deleted by a neighbour's region, confirmed up close
            prob = around_people(segmenter, work, found, people + more, options, bodies)
    if options.specks:
        prob = refine.remove_specks(prob, options.threshold)
    if options.holes:
        prob = refine.fill_holes(prob, options.threshold)
    h, w = rgb.shape[:2]
    if options.snap:
        return refine.snap_edges(rgb, prob, options.snap_radius, options.snap_eps)
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32, copy=False)
