"""tools/make_face_video.py's truth geometry and bench/bench_face_tracking.py's exposure rule, on cases whose
answer is known (no openpeople, no model, no video needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "bench")]

import bench_face_tracking as bft  # noqa: E402
import make_face_video as mfv  # noqa: E402

FACE = (100.0, 200.0, 180.0, 300.0)  # 80 x 100 in the cut-out


def test_poses_are_piecewise_linear_and_held_after_the_last_key() -> None:
    keys = [(0, 0, 0, 100, 1, 0), (10, 100, 50, 200, 0.5, 10)]
    p = mfv.pose_at(keys, 5)
    assert (p.cx, p.cy, p.height, p.squeeze, p.tilt) == pytest.approx((50, 25, 150, 0.75, 5))
    assert mfv.pose_at(keys, 30).cx == 100


def test_the_truth_box_follows_the_face_through_scale_squeeze_and_tilt() -> None:
    m = mfv.person_matrix(FACE, mfv.Pose(640, 360, 200, 1.0, 0.0))
    assert mfv.truth_box(FACE, m) == pytest.approx((560, 260, 720, 460))  # twice the size, centred there
    squeezed = mfv.truth_box(FACE, mfv.person_matrix(FACE, mfv.Pose(640, 360, 200, 0.5, 0.0)))
    assert squeezed == pytest.approx((600, 260, 680, 460))  # a turned head: half as wide
    # a tilted face: the box around the rotated ellipse (not the rotated square's corners): brute force
    m = mfv.person_matrix(FACE, mfv.Pose(640, 360, 200, 1.0, 15.0))
    t = np.linspace(0, 2 * np.pi, 20000)
    pts = np.stack([140 + 40 * np.cos(t), 250 + 50 * np.sin(t)])
    mapped = m[:, :2] @ pts + m[:, 2:]
    expect = (mapped[0].min(), mapped[1].min(), mapped[0].max(), mapped[1].max())
    assert mfv.truth_box(FACE, m) == pytest.approx(expect, abs=0.01)


def test_motion_blur_kernel_lies_along_the_motion() -> None:
    assert mfv.motion_kernel(1.0, 0.0) is None  # under 2 px of smear: none
    k = mfv.motion_kernel(30.0, 0.0)
    assert k is not None and k.sum() == pytest.approx(1.0)
    rows = np.flatnonzero(k.any(axis=1))
    assert rows.tolist() == [k.shape[0] // 2]  # one horizontal line
    assert np.count_nonzero(k) == pytest.approx(0.7 * 30, abs=2)


def face(box: list[float], hidden: list[list[int]] | None = None) -> dict:
    return {"person": "P", "box": box, "visible": True, "hidden_by_front": hidden or []}


def test_visible_points_leave_out_the_frame_outside_and_the_pixels_behind_a_nearer_person() -> None:
    xs, _ = bft.visible_points(face([-10, 0, 10, 10]), (100, 100), stride=1)
    assert xs.min() >= 0 and len(xs) == 100  # only the 10 x 10 in the frame
    hidden = [[r, 0, 5] for r in range(10)]
    xs, _ = bft.visible_points(face([0, 0, 10, 10], hidden), (100, 100), stride=1)
    assert len(xs) == 50 and xs.min() >= 5


def test_the_exposure_rule_counts_uncovered_visible_face_frames() -> None:
    size = (100, 100)
    f = face([40, 40, 60, 60])
    meta = {"size": list(size), "truth": [{"frame": i, "faces": [f]} for i in range(3)]}
    points = {(i, "P"): bft.visible_points(f, size) for i in range(3)}
    exact = (0.4, 0.4, 0.6, 0.6)
    shifted = (0.5, 0.4, 0.7, 0.6)  # half of the face left out
    r = bft.evaluate([[exact], [], [shifted]], meta, points)  # type: ignore[list-item]
    assert r["exposed"] == 2 and r["exposed_spans"] == ["P 1-2"] and r["exposed_runs"] == {2: 1}
