"""bench/bench_quality.py's still-frame flicker on synthetic masks, where the answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_quality as bq


def disc(cx: int, h: int = 40, w: int = 60, r: int = 10) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx - cx) ** 2 + (yy - 20) ** 2 <= r * r


def test_still_flicker_counts_only_pairs_whose_truth_is_identical() -> None:
    truths = [disc(20), disc(20), disc(20), disc(30)]  # pairs 1, 2 still; pair 3 moves
    preds = [disc(20), disc(21), disc(21), disc(40)]  # flips on pair 1 only among the still pairs
    value, pairs = bq.still_flicker(preds, truths)
    assert pairs == 2
    expected = np.count_nonzero(disc(20) != disc(21)) / np.count_nonzero(disc(20)) / 2
    assert abs(value - expected) < 1e-9
    assert bq.still_flicker(truths, truths) == (0.0, 2)  # on time and steady: 0 however the person moves


def test_clip_scores_report_still_flicker_next_to_the_others() -> None:
    truths = [disc(20)] * 3 + [disc(24), disc(28)]
    preds = [disc(20), disc(21), disc(20), disc(24), disc(28)]
    scores = bq.clip_scores(preds, truths)
    assert scores["still_pairs"] == 2 and scores["still_flicker"] > 0
    assert {"flicker", "lag", "moving_iou", "boundary_f"} <= scores.keys()
    still = [disc(20)] * 4
    assert np.isnan(bq.still_flicker(still[:1], still[:1])[0])  # no pair at all


def test_still_picture_marks_the_longest_still_stretch_in_red(tmp_path: Path) -> None:
    from quality_still_picture import write_still_picture

    truths = [disc(20)] * 2 + [disc(24)] + [disc(28)] * 4  # stretches 0-1 and 3-6 (the longest)
    frames = [np.full((40, 60, 3), 128, np.uint8)] * len(truths)
    flicky = [t.copy() for t in truths]
    flicky[5][0:20, 0:30] = True  # flips on (5) and off (6): a big red block in the top left
    rel = write_still_picture(tmp_path / "img", "clip", frames, truths, {"steady": truths, "flicky": flicky},
                              tmp_path)
    assert rel == "img/video-clip-still-003-006.png"
    sheet = cv2.imread(str(tmp_path / rel))[..., ::-1].astype(int)
    tile = sheet.shape[1] // 2
    red = (sheet[..., 0] > 200) & (sheet[..., 1] < 80)
    assert not red[:, :tile].any() and red[:, tile:].sum() > 100
    assert write_still_picture(tmp_path, "c", frames[:3], [disc(20), disc(22), disc(24)], {"a": truths[:3]},
                               tmp_path) is None
