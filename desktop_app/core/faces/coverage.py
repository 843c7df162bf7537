"""How much of a face the hidden region covers: the region modelled as the faces effect draws it (each box grown
by `padding` x its size on every side, then the ellipse inscribed in it, or the rectangle itself). Pure numpy;
used by the tracker's tests and bench/bench_face_tracking.py. Coordinates are any consistent pair (normalized or
pixels): an ellipse stays the ellipse inscribed in its box under a per-axis scale, so shares do not change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[float, float, float, float]


def padded(box: Sequence[float], padding: float) -> Box:
    """`box` grown by `padding` x its width (height) on the left and right (top and bottom)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    px, py = padding * (x1 - x0), padding * (y1 - y0)
    return (x0 - px, y0 - py, x1 + px, y1 + py)


def inside(xs: np.ndarray, ys: np.ndarray, boxes: Sequence[Sequence[float]], padding: float = 0.2,
           shape: str = "ellipse") -> np.ndarray:
    """Bool array, same shape as `xs`/`ys`: which points lie in the hidden region of any of `boxes`."""
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    out = np.zeros(np.broadcast(xs, ys).shape, bool)
    for box in boxes:
        x0, y0, x1, y1 = padded(box, padding)
        if x1 <= x0 or y1 <= y0:
            continue
        if shape == "rect":
            out |= (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        elif shape == "ellipse":
            u = (xs - (x0 + x1) / 2) / ((x1 - x0) / 2)
            v = (ys - (y0 + y1) / 2) / ((y1 - y0) / 2)
            out |= u * u + v * v <= 1.0
        else:
            raise ValueError(f"unknown face shape {shape!r}: expected 'ellipse' or 'rect'")
    return out


def coverage(truth: Sequence[float], boxes: Sequence[Sequence[float]], padding: float = 0.2,
             shape: str = "ellipse", samples: int = 48) -> float:
    """The share of the `truth` box inside the hidden region of `boxes` (a `samples` x `samples` grid of its
    cell centres); 1.0 for an empty truth box."""
    x0, y0, x1, y1 = (float(v) for v in truth)
    if x1 <= x0 or y1 <= y0:
        return 1.0
    t = (np.arange(samples) + 0.5) / samples
    xs, ys = np.meshgrid(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    return float(inside(xs, ys, boxes, padding, shape).mean())
