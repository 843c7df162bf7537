"""The live detection schedule (desktop_app/core/faces/tracking.py DetectionSchedule, FaceTracker.coast/steady)
and the faces stage's use of it: a fake detector that counts its calls proves which frames are detected; synthetic
moving faces prove a face is never uncovered on a skipped frame; a new face is found within the documented bound
(1 frame with every=2). Also: faces are hidden in place only in the stage's own picture, never in the input."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core.detection import Detection
from desktop_app.core.faces import stage as stage_module
from desktop_app.core.faces.coverage import coverage
from desktop_app.core.faces.tracking import DetectionSchedule, FaceTracker
from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from tests.test_faces_stage import Factory, FakeDetector, pipeline_with
from tests.test_pipeline import frame

W, H = 1280, 720


def box_px(cx: float, cy: float, size: float) -> tuple[float, float, float, float]:
    return ((cx - size / 2) / W, (cy - size / 2) / H, (cx + size / 2) / W, (cy + size / 2) / H)


class MovingDetector(FakeDetector):
    """Returns, on its n-th frame, the boxes `path(n)` gives (the frame index comes from the pipeline's frames)."""

    def __init__(self, path) -> None:  # type: ignore[no-untyped-def]
        super().__init__([])
        self.path = path
        self.frames: list[int] = []

    def detect(self, rgb: np.ndarray, min_score: float | None = None, max_side: int | None = None) -> list[Detection]:
        index = int(rgb[0, 0, 0]) + 256 * int(rgb[0, 0, 1])  # the frame index, written into the pixels
        self.frames.append(index)
        self.calls.append((rgb, min_score, max_side))
        return [Detection(0.9, b, ()) for b in self.path(index)]


def indexed(i: int) -> Frame:
    pixels = np.zeros((72, 128, 3), np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = i % 256, i // 256
    return Frame(pixels, 0.0, i, "cam")


def live(detector: FakeDetector, effect: str = "none"):  # type: ignore[no-untyped-def]
    return pipeline_with(Factory(detector), EffectParams(effect=effect, faces="box", face_padding=0.2))


def test_a_steady_face_is_detected_every_second_frame_once_its_track_is_known() -> None:
    detector = MovingDetector(lambda i: [box_px(400, 300, 120)])
    pipeline = live(detector)
    for i in range(30):
        pipeline.process(indexed(i))
        assert pipeline.faces.last_detected == (i in detector.frames)
    assert detector.frames[:3] == [0, 1, 2]  # a new track: every frame until it has 3 detections
    assert detector.frames == [0, 1, 2, *range(4, 30, 2)]  # then every second frame, never two skipped in a row
    assert len(detector.frames) == 16  # of 30 (the detector every frame before: 30)


def test_with_no_face_every_frame_is_detected() -> None:
    detector = MovingDetector(lambda i: [])
    pipeline = live(detector)
    for i in range(20):
        pipeline.process(indexed(i))
    assert detector.frames == list(range(20))


@pytest.mark.parametrize(("why", "path"), [
    ("fast", lambda i: [box_px(200 + 15 * i, 300, 120)]),  # 15 px/frame on a 120 px face: over 0.1 x its size
])
def test_a_fast_face_is_detected_on_every_frame(why: str, path) -> None:  # type: ignore[no-untyped-def]
    detector = MovingDetector(path)
    pipeline = live(detector)
    for i in range(20):
        pipeline.process(indexed(i))
    assert detector.frames == list(range(20)), why


def test_after_a_miss_every_frame_is_detected_until_the_face_is_found_again() -> None:
    detector = MovingDetector(lambda i: [] if 6 <= i <= 9 else [box_px(400, 300, 120)])
    pipeline = live(detector)
    for i in range(16):
        pipeline.process(indexed(i))
    # 0-2 a new track, 3 and 5 skipped, 6 a miss (held): 7, 8, 9 (misses) and 10 (found again) detected, then steady
    assert detector.frames == [0, 1, 2, 4, 6, 7, 8, 9, 10, 12, 14]


def test_for_a_second_after_a_face_is_lost_every_frame_is_detected_so_it_is_found_when_it_comes_back() -> None:
    """Two faces; the second goes behind something at frame 10 (its track held 10 frames, dropped on its 11th
    miss, frame 20), and comes back at frame 40: found on that very frame, because the 30 frames after the drop
    are all detected."""
    def path(i: int) -> list[tuple[float, float, float, float]]:
        return [box_px(300, 300, 120)] + ([] if 10 <= i < 40 else [box_px(900, 300, 120)])

    detector = MovingDetector(path)
    pipeline = live(detector)
    found_again = None
    for i in range(60):
        pipeline.process(indexed(i))
        if i >= 40 and found_again is None and pipeline.faces.tracker.track_count == 2:
            found_again = i
    assert set(range(10, 51)) <= set(detector.frames)  # held (10-19), dropped at 20, then 30 frames detected
    assert found_again == 40
    assert 51 not in detector.frames and 52 in detector.frames  # steady again afterwards: every second frame
    tracker = FaceTracker()
    assert tracker.since_drop > 30 and tracker.steady() is False  # no track: never steady
    tracker.reset()
    assert tracker.since_drop > 30


def test_video_files_and_photos_are_detected_on_every_frame() -> None:
    for kwargs in ({"video": True}, {"temporal": False}):
        detector = MovingDetector(lambda i: [box_px(400, 300, 120)])
        pipeline = pipeline_with(Factory(detector), EffectParams(effect="none", faces="box"), **kwargs)
        for i in range(10):
            pipeline.process(indexed(i))
        assert detector.frames == list(range(10)), kwargs


@pytest.mark.parametrize("speed", [0, 3, 7, 11])
def test_a_moving_face_stays_covered_on_the_skipped_frames(speed: int) -> None:
    """One 120 px face moving `speed` px per frame (up to 0.09 x its size: the most the schedule skips at),
    detected only on the frames the schedule picks; every frame's hidden region covers >= 90% of it."""
    tracker, schedule = FaceTracker(), DetectionSchedule()
    skipped = 0
    for i in range(60):
        truth = box_px(300 + speed * i, 300 + speed * i / 2, 120)
        if schedule.due(tracker):
            out = tracker.update([Detection(0.9, truth, ())])
        else:
            out = tracker.coast()
            skipped += 1
            # carried by its velocity: the hidden region's far edge is where the face is now, grown 3% (3.6 px)
            assert truth[2] - 0.5 / W <= out[0].box[2] <= truth[2] + 4.1 / W
        assert coverage(truth, [d.box for d in out]) >= 0.9, (speed, i)
    assert skipped >= 25


def test_a_new_face_appearing_while_the_others_are_steady_is_found_within_one_frame() -> None:
    for appears in range(10, 16):
        def path(i: int, appears: int = appears) -> list[tuple[float, float, float, float]]:
            return [box_px(300, 300, 120)] + ([box_px(900, 300, 120)] if i >= appears else [])

        detector = MovingDetector(path)
        pipeline = live(detector)
        hidden_from = None
        for i in range(20):
            pipeline.process(indexed(i))
            if hidden_from is None and pipeline.faces.tracker.track_count == 2:
                hidden_from = i
        assert hidden_from is not None and hidden_from - appears <= DetectionSchedule().every - 1 == 1


def test_skipped_frames_do_not_use_up_the_hold_and_a_face_leaving_while_skipped_is_dropped() -> None:
    tracker = FaceTracker(hold=2)
    steady = Detection(0.9, box_px(400, 300, 120), ())
    for _ in range(3):
        tracker.update([steady])
    for _ in range(3):
        assert len(tracker.coast()) == 1  # 3 skipped frames: not misses
    assert len(tracker.update([])) == 1 and len(tracker.update([])) == 1  # the hold: 2 real misses
    assert tracker.update([]) == []
    tracker = FaceTracker()
    for i in range(4):
        tracker.update([Detection(0.9, box_px(1240 + 20 * i, 300, 60), ())])  # leaving on the right
    while tracker.track_count:
        tracker.coast()
    assert tracker.coast() == []


def test_the_schedule_refuses_a_bad_interval_and_every_1_detects_every_frame() -> None:
    with pytest.raises(ValueError, match="every"):
        DetectionSchedule(every=0)
    tracker, schedule = FaceTracker(), DetectionSchedule(every=1)
    for _ in range(10):
        assert schedule.due(tracker)
        tracker.update([Detection(0.9, box_px(400, 300, 120), ())])


def test_faces_are_hidden_in_place_only_in_the_stages_own_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    flags: list[bool] = []
    real = stage_module.hide_faces

    def spy(pixels, boxes, style, shape, padding, in_place=False):  # type: ignore[no-untyped-def]
        flags.append(in_place)
        return real(pixels, boxes, style, shape, padding, in_place=in_place)

    monkeypatch.setattr(stage_module, "hide_faces", spy)
    f = frame()
    before = f.pixels.copy()
    out = live(FakeDetector()).process(f).pixels  # effect none: the output so far IS the input frame
    assert flags == [False] and out is not f.pixels
    np.testing.assert_array_equal(f.pixels, before)  # the input frame is never modified
    blurred = live(FakeDetector(), effect="blur").process(f).pixels  # the blur's own new picture
    assert flags == [False, True] and not np.shares_memory(blurred, f.pixels)
    np.testing.assert_array_equal(f.pixels, before)
