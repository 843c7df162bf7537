"""Mask quality metrics (numpy + OpenCV only): per image, per person, per clip.

Every mask is an (H, W) array taken as bool (person = True). Conventions on empty masks: two empty masks
agree perfectly (IoU 1, boundary F 1); an empty prediction against a non-empty truth scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def _bool(mask: np.ndarray) -> np.ndarray:
    return np.asarray(mask).astype(bool, copy=False)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two masks of the same shape."""
    p, t = _bool(pred), _bool(truth)
    if p.shape != t.shape:
        raise ValueError(f"mask shapes differ: {p.shape} vs {t.shape}")
    union = np.count_nonzero(p | t)
    return 1.0 if union == 0 else np.count_nonzero(p & t) / union


def boundary(mask: np.ndarray) -> np.ndarray:
    """The mask's inner boundary: person pixels with a non-person 4-neighbour (the picture's edge is not one)."""
    m = _bool(mask).astype(np.uint8)
    eroded = cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return (m - eroded).astype(bool)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 3.0) -> float:
    """Boundary F-measure: precision = share of predicted boundary pixels within `tolerance` px of the true
    boundary, recall the other way round, F their harmonic mean (Perazzi et al.'s DAVIS F, with a fixed
    pixel tolerance)."""
    bp, bt = boundary(pred), boundary(truth)
    n_p, n_t = np.count_nonzero(bp), np.count_nonzero(bt)
    if n_p == 0 and n_t == 0:
        return 1.0
    if n_p == 0 or n_t == 0:
        return 0.0
    # distance of every pixel to the nearest boundary pixel of the other mask
    dist_t = cv2.distanceTransform((~bt).astype(np.uint8), cv2.DIST_L2, 5)
    dist_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 5)
    precision = np.count_nonzero(dist_t[bp] <= tolerance) / n_p
    recall = np.count_nonzero(dist_p[bt] <= tolerance) / n_t
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def person_coverage(pred: np.ndarray, instances: np.ndarray) -> list[float]:
    """Per person (labels 1..N of an instance map, 0 = background): the share of its pixels predicted person."""
    p = _bool(pred)
    labels = np.asarray(instances)
    out = []
    for label in np.unique(labels):
        if label == 0:
            continue
        own = labels == label
        out.append(np.count_nonzero(p & own) / np.count_nonzero(own))
    return out


def covered_fraction(pred: np.ndarray, instances: np.ndarray, at_least: float = 0.9) -> float:
    """The share of people whose area is at least `at_least` covered by the prediction (1.0 with nobody)."""
    cover = person_coverage(pred, instances)
    return 1.0 if not cover else sum(c >= at_least for c in cover) / len(cover)


def image_scores(pred: np.ndarray, truth: np.ndarray, instances: np.ndarray | None = None) -> dict[str, float]:
    """IoU, boundary F (3 px) and, given an instance map, the covered-people fraction and the worst coverage."""
    scores = {"iou": iou(pred, truth), "boundary_f": boundary_f(pred, truth)}
    if instances is not None:
        cover = person_coverage(pred, instances)
        scores["covered_90"] = covered_fraction(pred, instances)
        scores["min_coverage"] = min(cover) if cover else 1.0
    return scores


# ---------------------------------------------------------------------------------------------- video


def flicker(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    """Mean over frame pairs of the predicted pixels that changed where the truth did not, relative to the
    true person area: 0 for a prediction that changes only where (and when) the person does."""
    if len(preds) != len(truths):
        raise ValueError("preds and truths must have the same length")
    values = []
    for i in range(1, len(preds)):
        t0, t1 = _bool(truths[i - 1]), _bool(truths[i])
        p0, p1 = _bool(preds[i - 1]), _bool(preds[i])
        still = t0 == t1
        changed = np.count_nonzero((p0 != p1) & still)
        values.append(changed / max(np.count_nonzero(t1), 1))
    return float(np.mean(values)) if values else 0.0


def lag(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray], max_shift: int = 5) -> int:
    """The frame shift s (0..max_shift) for which pred[t] best matches truth[t - s] (mean IoU over moving
    frames, ties to the smaller shift): how many frames the prediction trails the person."""
    moving = moving_frames(truths)
    best, best_score = 0, -1.0
    for shift in range(max_shift + 1):
        frames = [t for t in moving if t - shift >= 0]
        if not frames:
            break
        score = float(np.mean([iou(preds[t], truths[t - shift]) for t in frames]))
        if score > best_score + 1e-9:
            best, best_score = shift, score
    return best


def moving_frames(truths: Sequence[np.ndarray]) -> list[int]:
    """Indices t >= 1 where the true mask differs from frame t - 1."""
    return [t for t in range(1, len(truths)) if np.any(_bool(truths[t]) != _bool(truths[t - 1]))]


def moving_iou(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    """Mean IoU over the frames where the person moves (nan when it never does)."""
    frames = moving_frames(truths)
    return float(np.mean([iou(preds[t], truths[t]) for t in frames])) if frames else float("nan")


def video_scores(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> dict[str, float]:
    ious = [iou(p, t) for p, t in zip(preds, truths, strict=True)]
    return {"iou": float(np.mean(ious)), "worst_iou": float(np.min(ious)), "moving_iou": moving_iou(preds, truths),
            "flicker": flicker(preds, truths), "lag": lag(preds, truths),
            "boundary_f": float(np.mean([boundary_f(p, t) for p, t in zip(preds, truths, strict=True)]))}
