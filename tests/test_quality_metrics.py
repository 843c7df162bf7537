"""bench/quality_metrics.py on synthetic masks whose answers are known by construction."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import quality_metrics as qm


def box(shape: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_iou_of_overlapping_boxes() -> None:
    a = box((20, 20), 0, 10, 0, 10)  # 100 px
    b = box((20, 20), 0, 10, 5, 15)  # 100 px, 50 shared
    assert qm.iou(a, b) == pytest.approx(50 / 150)
    assert qm.iou(a, a) == 1.0
    assert qm.iou(a, ~a) == 0.0


def test_iou_conventions_for_empty_masks_and_shapes() -> None:
    empty = np.zeros((8, 8), bool)
    assert qm.iou(empty, empty) == 1.0
    assert qm.iou(empty, box((8, 8), 0, 2, 0, 2)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        qm.iou(empty, np.zeros((8, 9), bool))


def test_boundary_is_the_inner_ring_not_the_picture_edge() -> None:
    m = box((10, 10), 2, 8, 2, 8)
    ring = qm.boundary(m)
    assert ring.sum() == 6 * 4 - 4  # the 6x6 square's outline
    assert not ring[4, 4]
    assert qm.boundary(np.ones((5, 5), bool)).sum() == 0  # the frame's edge is no boundary


def test_boundary_f_tolerance() -> None:
    truth = box((100, 100), 20, 80, 20, 80)
    assert qm.boundary_f(truth, truth) == 1.0
    shifted2 = box((100, 100), 22, 82, 22, 82)  # every edge 2 px off: within 3 px
    assert qm.boundary_f(shifted2, truth) == pytest.approx(1.0)
    shifted6 = box((100, 100), 26, 86, 26, 86)  # 6 px off: only where the outlines cross
    assert qm.boundary_f(shifted6, truth) < 0.2
    # a speck far away adds predicted boundary pixels that match nothing: precision drops, recall stays 1
    speckled = truth.copy()
    speckled[2:4, 2:4] = True
    n_truth = qm.boundary(truth).sum()
    precision = n_truth / (n_truth + 4)
    assert qm.boundary_f(speckled, truth) == pytest.approx(2 * precision / (1 + precision))
    assert qm.boundary_f(np.zeros_like(truth), truth) == 0.0
    assert qm.boundary_f(np.zeros_like(truth), np.zeros_like(truth)) == 1.0


def test_person_coverage_and_covered_fraction() -> None:
    inst = np.zeros((10, 30), np.uint8)
    inst[:, 0:10] = 1
    inst[:, 10:20] = 2
    inst[:, 20:30] = 3
    pred = np.zeros((10, 30), bool)
    pred[:, 0:10] = True  # person 1 fully
    pred[:9, 10:20] = True  # person 2: 90% (counts)
    pred[:5, 20:30] = True  # person 3: 50%
    assert qm.person_coverage(pred, inst) == pytest.approx([1.0, 0.9, 0.5])
    assert qm.covered_fraction(pred, inst) == pytest.approx(2 / 3)
    assert qm.covered_fraction(pred, np.zeros_like(inst)) == 1.0
    scores = qm.image_scores(pred, inst > 0, inst)
    assert scores["min_coverage"] == pytest.approx(0.5)
    assert scores["covered_90"] == pytest.approx(2 / 3)


def moving_square(n: int, shape: tuple[int, int] = (40, 60), still_until: int = 5) -> list[np.ndarray]:
    """A 10x10 square, still for `still_until` frames, then 2 px right per frame."""
    return [box(shape, 10, 20, 5 + 2 * max(t - still_until + 1, 0), 15 + 2 * max(t - still_until + 1, 0))
            for t in range(n)]


def test_lag_finds_a_delayed_prediction() -> None:
    truths = moving_square(20)
    delayed = [truths[max(t - 3, 0)] for t in range(20)]
    assert qm.lag(delayed, truths) == 3
    assert qm.lag(truths, truths) == 0


def test_moving_frames_and_iou() -> None:
    truths = moving_square(10, still_until=5)
    assert qm.moving_frames(truths) == [5, 6, 7, 8, 9]
    assert qm.moving_iou(truths, truths) == 1.0
    delayed = [truths[max(t - 1, 0)] for t in range(10)]  # each moving frame off by 2 px of 10
    assert qm.moving_iou(delayed, truths) == pytest.approx(80 / 120)
    assert np.isnan(qm.moving_iou(truths, [truths[0]] * 10))


def test_flicker_counts_changes_only_where_the_truth_is_still() -> None:
    truth = [box((20, 20), 5, 15, 5, 15)] * 4  # never moves: 100 px
    steady = list(truth)
    assert qm.flicker(steady, truth) == 0.0
    blinking = [truth[0].copy() for _ in range(4)]
    blinking[1][0, 0:10] = True  # 10 px appear, then vanish again: 10 + 10 changes over 3 pairs
    assert qm.flicker(blinking, truth) == pytest.approx((10 + 10 + 0) / 100 / 3)
    # a prediction that follows a moving truth exactly does not flicker
    moving = moving_square(8, still_until=2)
    assert qm.flicker(moving, moving) == 0.0
    with pytest.raises(ValueError):
        qm.flicker(steady, truth[:3])


def test_video_scores_bundle() -> None:
    truths = moving_square(12)
    scores = qm.video_scores(truths, truths)
    assert scores == {"iou": 1.0, "worst_iou": 1.0, "moving_iou": 1.0, "flicker": 0.0, "lag": 0, "boundary_f": 1.0}
