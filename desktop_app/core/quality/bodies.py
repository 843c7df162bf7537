"""Each person's own region and each body's own mask in the stills path (step 4 of `segment_still`)."""

from __future__ import annotations

import cv2
import numpy as np

from desktop_app.core.detection import Detection
from desktop_app.core.quality import people as persons
from desktop_app.core.quality.options import StillOptions
from desktop_app.core.quality.regions import Box


def own_regions(boxes: list[Box], people: list[Detection], width: int, height: int, options: StillOptions
                ) -> list[np.ndarray]:
    """Each person's own region (bool, the picture's size): their body square as a rectangle along the body."""
    return [persons.region([box], width, height, options.region_pad, [person], options.region_aspect,
                           options.region_feet) for box, person in zip(boxes, people, strict=True)]


def fuse_bodies(body_segmenter: persons.SegmentsBodies, work: np.ndarray, prob: np.ndarray, people: list[Detection],
                boxes: list[Box], options: StillOptions, regions: list[np.ndarray] | None = None) -> np.ndarray:
    """Each detected person whose hips are in the picture (a body, not a head and shoulders) segmented again in
    their body square by the whole-body model; the mask counts when the model is sure of a body there and its nose
    lies in the person's own face box (in a crowd the square may show a neighbour better than its own person).
    Inside those people's own regions their masks replace `prob` (`bodies`: or are fused with it), except where
    the region of somebody without such a mask lies too: there the most either saw; and where two people's regions
    overlap, what `prob` sees in a thick part the body masks are unsure of but not against (`_agreed`: a lower leg
    beside a neighbour, which the body model gives to nobody). `regions`: `own_regions`."""
    h, w = prob.shape
    if regions is None:
        regions = own_regions(boxes, people, w, h, options)
    body = np.zeros_like(prob)
    covered = np.zeros(prob.shape, bool)
    others = np.zeros(prob.shape, bool)
    for person, own in zip(people, regions, strict=True):
        hx, hy = person.keypoints[0]
        mask = None
        if 0.0 <= hx < 1.0 and 0.0 <= hy < 1.0:
            mask = body_segmenter.segment(work, person, options.body_scale)
            if mask.presence < options.body_presence or not _nose_in_face(mask.points, person, w, h,
                                                                          options.nose_margin, people):
                mask = None
        if mask is None:
            others |= own
            continue
        own = own & mask.inside  # not in place: `regions` are shared with the caller
        np.maximum(body, np.where(own, mask.prob, 0.0), out=body)
        covered |= own
    if options.bodies == "max":
        fused = np.maximum(prob, body)
    elif options.bodies == "mean":
        fused = (prob + body) * 0.5
    else:
        fused = body
        if options.body_agree > 0:
            fused = np.where(_agreed(body, prob, regions, people, options), np.maximum(prob, body), body)
    fused = np.where(others, np.maximum(prob, body), fused)
    return np.where(covered, fused, prob).astype(np.float32)


def _agreed(body: np.ndarray, prob: np.ndarray, regions: list[np.ndarray], people: list[Detection],
            options: StillOptions) -> np.ndarray:
    """(bool) Where `prob` may add to the body masks: it sees a person, the masks are unsure (from `body_agree` up
    to the threshold), in the overlap of two people's regions (`body_agree_shared`), and in a part that survives an
    opening of `body_agree_open` px (the selfie model's wider rim along every edge does not)."""
    add = (body >= options.body_agree) & (body < options.threshold) & (prob >= options.threshold)
    if options.body_agree_shared:
        add &= _shared(regions, people)
    if options.body_agree_open > 1 and add.any():
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (options.body_agree_open,) * 2)
        add = cv2.morphologyEx(add.astype(np.uint8), cv2.MORPH_OPEN, k) > 0
    return add


def _shared(regions: list[np.ndarray], people: list[Detection]) -> np.ndarray:
    """Where the regions of two different people overlap (bool)."""
    shared = np.zeros(regions[0].shape if regions else (0, 0), bool)
    for i in range(len(regions)):
        for j in range(i + 1, len(regions)):
            if not persons.same_person(people[i], people[j]):
                shared |= regions[i] & regions[j]
    return shared


def _nose_in_face(points: np.ndarray, person: Detection, width: int, height: int, margin: float = 0.0,
                  people: list[Detection] | None = None) -> bool:
    """Whether the body model's nose (landmark 0, picture pixels) lies in `person`'s face box (grown by `margin` of
    its size on each side) and, among `people`, nearest to that face's centre: the model segmented the person the
    detector found, not a neighbour who fills the square better."""
    x, y = float(points[0, 0]) / width, float(points[0, 1]) / height
    x0, y0, x1, y1 = person.box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    if not (x0 - mx <= x <= x1 + mx and y0 - my <= y <= y1 + my):
        return False

    def away(face: Detection) -> float:
        return float(np.hypot((x - (face.box[0] + face.box[2]) / 2) * width,
                              (y - (face.box[1] + face.box[3]) / 2) * height))

    mine = away(person)
    return all(away(other) >= mine for other in people or [] if not persons.same_person(other, person))
