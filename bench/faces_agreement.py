"""Detection agreement between two face detectors' boxes (bench/bench_faces_vs_deface.py): greedy one-to-one
matching at box IoU >= 0.5, F1 of `ours` against `reference` (deface), per image and pooled. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Box = Sequence[float]  # (x0, y0, x1, y1[, score]) in any one coordinate system


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """(len(a), len(b)) IoU of every box of `a` with every box of `b` (only the first four values are read)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    p, q = np.asarray([x[:4] for x in a], np.float64), np.asarray([x[:4] for x in b], np.float64)
    x0, y0 = np.maximum(p[:, None, 0], q[None, :, 0]), np.maximum(p[:, None, 1], q[None, :, 1])
    x1, y1 = np.minimum(p[:, None, 2], q[None, :, 2]), np.minimum(p[:, None, 3], q[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_p = np.clip(p[:, 2] - p[:, 0], 0, None) * np.clip(p[:, 3] - p[:, 1], 0, None)
    area_q = np.clip(q[:, 2] - q[:, 0], 0, None) * np.clip(q[:, 3] - q[:, 1], 0, None)
    union = area_p[:, None] + area_q[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int  # ours, unmatched
    fn: int  # the reference's, unmatched

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def f1(self) -> float:
        """1.0 when both found nothing (they agree)."""
        denom = 2 * self.tp + self.fp + self.fn
        return 1.0 if denom == 0 else 2 * self.tp / denom

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "f1": round(self.f1, 4)}


def match(reference: Sequence[Box], ours: Sequence[Box], iou_min: float = 0.5) -> Counts:
    """Greedy one-to-one matching, the highest IoU pair first; a pair counts at IoU >= `iou_min`."""
    ious = iou_matrix(reference, ours)
    tp = 0
    while ious.size and ious.max() >= iou_min:
        i, j = np.unravel_index(int(np.argmax(ious)), ious.shape)
        tp += 1
        ious[i, :] = -1.0
        ious[:, j] = -1.0
    return Counts(tp, len(ours) - tp, len(reference) - tp)


def above(boxes: Iterable[Box], threshold: float) -> list[Box]:
    """The boxes whose score (fifth value) is >= `threshold` (what a run at that threshold keeps: both sides
    suppress overlaps greedily from the highest score, so filtering after NMS equals detecting at it)."""
    return [b for b in boxes if b[4] >= threshold]


def agreement(reference: dict[str, list[Box]], ours: dict[str, list[Box]], threshold: float,
              iou_min: float = 0.5) -> dict:
    """Pooled and per-image counts at score `threshold` over the images both sides have."""
    per, total = {}, Counts(0, 0, 0)
    for name in sorted(set(reference) & set(ours)):
        c = match(above(reference[name], threshold), above(ours[name], threshold), iou_min)
        per[name] = c.as_dict()
        total = total + c
    return {"threshold": threshold, "iou": iou_min, "images": len(per), **total.as_dict(), "per_image": per}
