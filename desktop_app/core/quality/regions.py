"""Running the segmenter on parts of a picture: square crops (padded where they leave the picture), tiles,
and boxes around the people a first pass found. Qt-free; numpy + OpenCV and the Segmenter API only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive); may reach outside the picture


class Predicts(Protocol):
    """What this package needs from `desktop_app.core.segmenter.Segmenter`."""

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]: ...


def model_side(segmenter: Predicts) -> int:
    """The square model input side (the general model's 256); 256 when the segmenter does not say."""
    size = getattr(segmenter, "input_size", (256, 256))
    return int(min(size)) if min(size) >= 64 else 256


def crop_padded(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The pixels of `box`, with the picture's edge replicated where the box leaves it."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    crop = rgb[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) == (x0, y0, x1, y1):
        return crop
    return cv2.copyMakeBorder(crop, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REPLICATE)


def predict_box(segmenter: Predicts, rgb: np.ndarray, box: Box, side: int) -> np.ndarray:
    """The person probability of a square `box` of `rgb`, at the box's own size in `rgb` pixels.

    The crop is area-averaged to the model's square input first (no aliasing, no squashing), so the
    segmenter's own resize has nothing left to do."""
    x0, y0, x1, y1 = box
    crop = crop_padded(rgb, box)
    small = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA if crop.shape[0] > side else cv2.INTER_LINEAR)
    prob, _ = segmenter.predict(np.ascontiguousarray(small))
    if prob.shape != (side, side):
        prob = cv2.resize(prob, (side, side), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(prob, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)


def paste_max(target: np.ndarray, prob: np.ndarray, box: Box) -> None:
    """target = max(target, prob) over the part of `box` inside `target`."""
    h, w = target.shape
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    part = prob[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    np.maximum(target[cy0:cy1, cx0:cx1], part, out=target[cy0:cy1, cx0:cx1])


def tiles(width: int, height: int, side: int, overlap: float = 0.5) -> Iterator[Box]:
    """Square boxes of `side` covering the picture, neighbours overlapping by `overlap` of a side."""
    step = max(int(side * (1.0 - overlap)), 1)

    def starts(length: int) -> list[int]:
        if length <= side:
            return [(length - side) // 2]
        out = list(range(0, length - side, step))
        return [*out, length - side]

    for y in starts(height):
        for x in starts(width):
            yield (x, y, x + side, y + side)


def tile_side(width: int, height: int, frac: float, overlap: float = 0.5, max_tiles: int = 24) -> int:
    """The side of `tiles` for `frac` of the shorter side (16 at least), grown until at most `max_tiles` cover
    the picture: a panorama gets larger tiles, not hundreds."""
    side = max(int(frac * min(width, height)), 16)
    while len(list(tiles(width, height, side, overlap))) > max_tiles:
        side = int(side * 1.25) + 1
    return side


def person_boxes(mask: np.ndarray, margin: float = 0.15, min_area: float = 0.0005,
                 merge: float = 0.3) -> list[Box]:
    """Square boxes centred on each connected part of `mask` (bool), `margin` of its longer side around it;
    parts smaller than `min_area` of the picture are ignored, and boxes that overlap by more than `merge`
    of the smaller one are merged (two people close together are looked at together)."""
    h, w = mask.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    rects = []
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area >= min_area * h * w:
            rects.append([x, y, x + bw, y + bh])
    boxes = [_square(r, margin) for r in rects]
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if _overlap(boxes[i], boxes[j]) > merge:
                    a, b = boxes[i], boxes[j]
                    union = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    boxes[i] = _square(union, 0.0)
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes]


def _square(rect: list[int] | tuple[int, ...], margin: float) -> Box:
    x0, y0, x1, y1 = rect
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = max(side / 2.0, 8.0)
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def _overlap(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / max(smaller, 1)
