"""FaceTracker (desktop_app/core/faces/tracking.py) on synthetic detection sequences whose right answer is known:
where each face really is on every frame, and which frames the "detector" missed. A face counts as covered
when at least 90% of its true box lies in the hidden region the faces effect draws (default padding 0.2, ellipse).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from desktop_app.core.detection import Detection
from desktop_app.core.faces.coverage import coverage, inside, padded
from desktop_app.core.faces.tracking import FaceTracker

W, H = 1280, 720  # the frame the pixel speeds below refer to


def box_px(cx: float, cy: float, size: float) -> tuple[float, float, float, float]:
    """A square face `size` pixels wide centred at (cx, cy) pixels, normalized."""
    return ((cx - size / 2) / W, (cy - size / 2) / H, (cx + size / 2) / W, (cy + size / 2) / H)


def det(box: tuple[float, float, float, float], score: float = 0.9) -> Detection:
    return Detection(score, box, ((box[0], box[1]),))


def covered(truth: tuple[float, float, float, float], out: list[Detection]) -> float:
    return coverage(truth, [d.box for d in out])


def run(truths: list[tuple[float, float, float, float]], missed: set[int],
        tracker: FaceTracker | None = None) -> list[float]:
    """One face: its coverage per frame when the detector misses the frames in `missed`."""
    tracker = tracker or FaceTracker()
    return [covered(t, tracker.update([] if i in missed else [det(t)])) for i, t in enumerate(truths)]


# ---------------------------------------------------------------------------------------------- coverage helper


def test_coverage_of_the_padded_ellipse() -> None:
    b = (0.2, 0.2, 0.4, 0.4)
    assert padded(b, 0.2) == pytest.approx((0.16, 0.16, 0.44, 0.44))
    assert coverage(b, [b]) > 0.99  # the padded ellipse holds all but the box's very corners
    assert coverage(b, [b], padding=0.0) == pytest.approx(np.pi / 4, abs=0.01)  # the inscribed ellipse
    assert coverage(b, [b], padding=0.0, shape="rect") == 1.0
    assert coverage(b, []) == 0.0
    assert coverage(b, [(0.3, 0.2, 0.5, 0.4)], padding=0.0, shape="rect") == pytest.approx(0.5, abs=0.03)
    assert inside(np.array([0.3, 0.9]), np.array([0.3, 0.9]), [b]).tolist() == [True, False]
    with pytest.raises(ValueError, match="shape"):
        coverage(b, [b], shape="star")


# ---------------------------------------------------------------------------------------------- detected frames


def test_a_new_face_is_hidden_on_its_first_detection_exactly_as_detected() -> None:
    tracker = FaceTracker()
    a, b = box_px(300, 300, 100), box_px(900, 300, 120)
    out = tracker.update([det(a), det(b)])
    assert [d.box for d in out] == [a, b]
    assert len(set(tracker.ids)) == 2


def test_fast_motion_is_not_lagged() -> None:
    """A face crossing at 20 px/frame, detected on every frame: the hidden box is the detection (no smoothing lag)."""
    tracker = FaceTracker()
    for i in range(40):
        truth = box_px(100 + 20 * i, 360, 100)
        out = tracker.update([det(truth)])
        assert len(out) == 1
        assert np.abs(np.subtract(out[0].box, truth)).max() * W < 0.5  # under half a pixel off
    # a sudden jump (a cut, a quick head move) is taken as detected too
    jump = box_px(900, 200, 100)
    out = tracker.update([det(jump)])
    assert min(np.abs(np.subtract(d.box, jump)).max() for d in out) * W < 0.5


def test_jitter_is_smoothed_but_stays_covered() -> None:
    rng = np.random.default_rng(0)
    tracker = FaceTracker()
    truth = box_px(640, 360, 120)
    raw, hidden = [], []
    for _ in range(120):
        noisy = tuple(v + float(rng.normal(0, 0.012 * 120 / W)) for v in truth)
        out = tracker.update([det(noisy)])  # type: ignore[arg-type]
        raw.append(noisy)
        hidden.append(out[0].box)
        assert covered(truth, out) >= 0.9
    steps = lambda boxes: np.abs(np.diff(np.asarray(boxes), axis=0)).mean()  # noqa: E731
    assert steps(hidden) < 0.75 * steps(raw)


# ---------------------------------------------------------------------------------------------- blinks


@pytest.mark.parametrize("blink", range(1, 11))
@pytest.mark.parametrize("speed", [0, 8, 20])
def test_a_blink_of_up_to_the_hold_keeps_the_face_covered(blink: int, speed: int) -> None:
    truths = [box_px(200 + speed * i, 360, 110) for i in range(40)]
    cover = run(truths, missed=set(range(20, 20 + blink)))
    assert min(cover) >= 0.9, cover
    # the same blink without tracking exposes the face on every missed frame (what the tracker fixes)
    assert run(truths, set(range(20, 20 + blink)), FaceTracker(hold=0))[20] == 0.0


def test_a_face_moving_20_px_per_frame_stays_covered_for_the_whole_hold() -> None:
    for dx, dy in [(20, 0), (-20, 0), (0, 14), (14, 14)]:
        truths = [box_px(640 + dx * (i - 15), 360 + dy * (i - 15), 100) for i in range(26)]
        cover = run(truths, missed=set(range(15, 26)))  # detected 15 frames, then held 10, dropped on the 11th
        assert min(cover[:25]) >= 0.9, (dx, dy, cover)
        assert cover[25] == 0.0


def test_a_face_that_stops_or_slows_while_missed_stays_covered() -> None:
    """The held region spans from where the face was last seen to where its velocity leads, so a face that
    stops (or slows) during the blink is as covered as one that keeps going."""
    for after in (0, 5, 10):
        truths = [box_px(200 + 20 * min(i, 15) + after * max(0, i - 15), 360, 100) for i in range(26)]
        assert min(run(truths, missed=set(range(16, 26)))) >= 0.9, after


def test_a_face_growing_towards_the_camera_stays_covered() -> None:
    truths = [box_px(640, 360, 80 + 6 * i) for i in range(30)]
    assert min(run(truths, missed=set(range(18, 28)))) >= 0.9


def test_the_held_box_grows_with_every_missed_frame() -> None:
    tracker = FaceTracker()
    tracker.update([det(box_px(640, 360, 100))])
    widths = [tracker.update([])[0].box for _ in range(10)]
    sizes = [b[2] - b[0] for b in widths]
    assert all(later > earlier for earlier, later in pairwise(sizes))


# ---------------------------------------------------------------------------------------------- false positives


def test_a_face_leaving_through_the_edge_stays_covered_while_the_detector_has_lost_it() -> None:
    """The detector loses a face once a quarter of it is outside the frame; what is still in view stays hidden."""
    tracker = FaceTracker()
    for i in range(100):
        cx = 200 - 3 * i
        truth = box_px(cx, 360, 110)
        out = tracker.update([det(truth)] if cx - 55 > -27 else [])
        in_view = (max(truth[0], 0.0), truth[1], truth[2], truth[3])
        if (in_view[2] - in_view[0]) / (truth[2] - truth[0]) >= 0.4:
            assert covered(in_view, out) >= 0.9, i
    assert tracker.track_count == 0  # dropped once its predicted box has left


def test_a_small_face_passing_a_large_held_one_does_not_take_its_track() -> None:
    """A large face, not detected while a small face passes in front of it (detected only there), keeps its
    cover: the small face's detection does not continue the large face's track (sizes differ by more than 1.5x)."""
    tracker = FaceTracker()
    big = box_px(800, 300, 250)
    for i in range(30):
        cx = 300 + 30 * i
        small = box_px(cx, 380, 110)
        passing = abs(cx - 800) < 130  # 9 frames
        out = tracker.update([det(small)] if passing else [det(big)])
        assert covered(big, out) >= 0.9, i
        if passing:
            assert covered(small, out) >= 0.9, i


def test_a_false_single_frame_detection_costs_at_most_the_hold() -> None:
    tracker = FaceTracker(hold=10)
    shown = [len(tracker.update([det(box_px(500, 300, 60))] if i == 0 else [])) for i in range(30)]
    assert shown == [1] * 11 + [0] * 19  # its own frame + 10 held frames
    assert tracker.track_count == 0


def test_a_face_leaving_the_frame_is_dropped_before_the_hold_ends() -> None:
    tracker = FaceTracker(hold=10, grow=0.0)
    for i in range(5):
        tracker.update([det(box_px(1000 + 40 * i, 360, 100))])  # last seen at x 1110..1210, 40 px/frame
    counts = [len(tracker.update([])) for _ in range(10)]
    assert counts == [1] * 4 + [0] * 6  # held while part of it may still be in the frame (x0 < 1280)


def test_reset_forgets_every_track() -> None:
    tracker = FaceTracker()
    tracker.update([det(box_px(300, 300, 100))])
    tracker.reset()
    assert tracker.update([]) == [] and tracker.ids == []


def test_hold_zero_is_a_pass_through_and_bad_arguments_are_refused() -> None:
    tracker = FaceTracker(hold=0)
    a = box_px(300, 300, 100)
    assert [d.box for d in tracker.update([det(a)])] == [a]
    assert tracker.update([]) == []
    with pytest.raises(ValueError, match="hold"):
        FaceTracker(hold=-1)
    with pytest.raises(ValueError, match="smooth"):
        FaceTracker(smooth=1.0)


# ---------------------------------------------------------------------------------------------- two faces


@pytest.mark.parametrize("dy", [0, 30])
def test_two_faces_crossing_keep_their_tracks(dy: int) -> None:
    """A moves right, B moves left, at 20 px/frame; while they overlap the back one (B) is not detected, as
    when a face passes in front of another. Both stay covered, and each keeps its own track."""
    tracker = FaceTracker()
    first_ids: dict[str, int] = {}
    for i in range(50):
        a = box_px(200 + 20 * i, 360, 110)
        b = box_px(1180 - 20 * i, 360 + dy, 110)
        overlap = abs((200 + 20 * i) - (1180 - 20 * i)) < 110
        faces = [det(a)] + ([] if overlap else [det(b)])
        out = tracker.update(faces)
        assert covered(a, out) >= 0.9 and covered(b, out) >= 0.9, i
        ident = {}
        for d, t in zip(out, tracker.ids, strict=True):
            cx = (d.box[0] + d.box[2]) / 2
            if d.box[0] <= (a[0] + a[2]) / 2 <= d.box[2] and abs(cx - (a[0] + a[2]) / 2) < 0.02:
                ident["a"] = t
            if d.box[0] <= (b[0] + b[2]) / 2 <= d.box[2] and abs(cx - (b[0] + b[2]) / 2) < 0.02:
                ident["b"] = t
        if i == 0:
            first_ids = dict(ident)
        elif not overlap:
            assert ident == first_ids, (i, ident, first_ids)
    assert len(set(first_ids.values())) == 2
