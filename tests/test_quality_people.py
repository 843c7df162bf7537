"""Finding the people first (desktop_app.core.quality.people and segment_still's step 0), with a fake detector
whose behaviour is known: it finds red people, but only those that are large enough in what it is shown."""

from __future__ import annotations

import logging
from dataclasses import replace

import cv2
import numpy as np
import pytest
from test_quality_still import FakeSegmenter, iou, photo

from desktop_app.core.detection import Detection
from desktop_app.core.quality import StillOptions, people_models, segment_still
from desktop_app.core.quality import people as persons
from desktop_app.core.quality.people_models import PeopleModels


class FakeDetector:
    """A 'person' = a red blob at least `min_frac` of the picture's height tall, and (`tall_only`) taller than wide
    by half (a round red cup is no person), wherever it is shown. Face box = the blob's top fifth; keypoint 0 (hip)
    its centre, keypoint 1 its top (so the body square is the blob's height x 1.25), keypoint 2 (shoulders) above
    the hip."""

    def __init__(self, min_frac: float = 0.25, tall_only: bool = False) -> None:
        self.min_frac = min_frac
        self.tall_only = tall_only
        self.calls = 0

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        h = rgb.shape[0]
        return [blob_detection(0.95, box, rgb.shape) for box in red_blobs(rgb)
                if box[3] >= self.min_frac * h and (not self.tall_only or box[3] > 1.5 * box[2])]


def red_blobs(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of each red blob."""
    img = rgb.astype(np.int16)
    red = ((img[..., 0] > 150) & (img[..., 1] < 90) & (img[..., 2] < 90)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(red)
    return [(int(stats[i][0]), int(stats[i][1]), int(stats[i][2]), int(stats[i][3])) for i in range(1, count)]


def blob_detection(score: float, box: tuple[int, int, int, int], shape: tuple[int, ...]) -> Detection:
    """A detection of the blob: face box its top fifth, keypoint 0 (hip) its centre, 1 its top (the body square is
    the blob's height x 1.25), 2 (shoulders) above the hip."""
    h, w = shape[:2]
    x, y, bw, bh = box
    cx, cy = (x + bw / 2) / w, (y + bh / 2) / h
    face = (x / w, y / h, (x + bw) / w, (y + bh / 5) / h)
    return Detection(score, face, ((cx, cy), (cx, y / h), (cx, (y + bh / 4) / h), (cx, y / h)))


def test_tiles_find_the_small_person_the_whole_picture_misses() -> None:
    rgb, _ = photo(600, 1200, [(900, 380, 940, 520)])  # 140 px tall: under a quarter of 600, over one of 300
    detector = FakeDetector()
    assert persons.find_persons(detector, rgb, tile_frac=0.0) == []
    (person,) = persons.find_persons(detector, rgb, tile_frac=0.5)  # the same person in several tiles: once
    assert person.keypoints[0] == pytest.approx((920 / 1200, 450 / 600), abs=2 / 600)
    assert person.box[0] == pytest.approx(900 / 1200, abs=1 / 1200)


def test_tile_detections_below_the_tile_score_do_not_count() -> None:
    class Unsure(FakeDetector):
        def detect(self, rgb: np.ndarray) -> list[Detection]:
            return [Detection(0.6, d.box, d.keypoints) for d in super().detect(rgb)]

    rgb, _ = photo(600, 1200, [(900, 380, 940, 520)])
    assert persons.find_persons(Unsure(), rgb, tile_frac=0.5, tile_score=0.9) == []


def test_one_person_seen_at_two_scales_is_kept_once_but_neighbours_stay() -> None:
    small = Detection(0.98, (0.40, 0.30, 0.46, 0.36), ((0.43, 0.5),) * 4)
    large = Detection(0.87, (0.35, 0.25, 0.55, 0.45), ((0.45, 0.55),) * 4)  # holds `small`, 11x its area
    beside = Detection(0.96, (0.47, 0.30, 0.53, 0.36), ((0.5, 0.5),) * 4)  # the next face, touching

    class Fixed:
        def detect(self, rgb: np.ndarray) -> list[Detection]:
            return [small, large, beside]

    found = persons.find_persons(Fixed(), np.zeros((100, 100, 3), np.uint8))
    assert [d.box for d in found] == [pytest.approx(small.box), pytest.approx(beside.box)]


class Placed:
    """Answers each picture or crop with the given detections (picture coordinates) whose face box lies in it, in
    the crop's coordinates; the crop's place is read from the picture's pixels (`gradient`)."""

    def __init__(self, width: int, height: int, found: list[Detection]) -> None:
        self.width, self.height, self.found = width, height, found

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        x0, y0 = int(rgb[0, 0, 0]), int(rgb[0, 0, 1])
        ch, cw = rgb.shape[:2]
        out = []
        for d in self.found:
            bx0, by0, bx1, by1 = (d.box[0] * self.width, d.box[1] * self.height, d.box[2] * self.width,
                                  d.box[3] * self.height)
            if bx0 >= x0 and by0 >= y0 and bx1 <= x0 + cw and by1 <= y0 + ch:
                def local(x: float, y: float) -> tuple[float, float]:
                    return ((x * self.width - x0) / cw, (y * self.height - y0) / ch)

                a, b = local(d.box[0], d.box[1]), local(d.box[2], d.box[3])
                out.append(Detection(d.score, (*a, *b), tuple(local(x, y) for x, y in d.keypoints)))
        return out


def gradient(side: int) -> np.ndarray:
    """A (side, side) picture whose pixel (x, y) holds (x, y, 0): a crop knows where it was taken."""
    y, x = np.indices((side, side))
    return np.dstack([x, y, np.zeros_like(x)]).astype(np.uint8)


# the whole picture sees the left person small: its face box is three faces wide and holds the right one's face
INFLATED = Detection(0.94, (0.30, 0.30, 0.60, 0.50), ((0.40, 0.70), (0.40, 0.40), (0.40, 0.55), (0.40, 0.35)))
LEFT = Detection(0.83, (0.36, 0.36, 0.44, 0.44), ((0.41, 0.69), (0.40, 0.41), (0.40, 0.55), (0.40, 0.35)))
RIGHT = Detection(0.86, (0.50, 0.38, 0.58, 0.46), ((0.54, 0.70), (0.54, 0.42), (0.54, 0.56), (0.54, 0.37)))


def test_a_whole_picture_box_spanning_a_neighbours_face_takes_the_tiles_view_of_its_body() -> None:
    sharp = persons.sharpened(INFLATED, [RIGHT, LEFT], 100, 100)
    assert sharp.box == LEFT.box and sharp.keypoints == LEFT.keypoints and sharp.score == 0.94
    assert persons.sharpened(INFLATED, [RIGHT], 100, 100) is INFLATED  # its hip is too far from this body's
    assert persons.sharpened(LEFT, [INFLATED, RIGHT], 100, 100) is LEFT  # nothing smaller of the same body


def test_the_neighbour_under_an_inflated_box_stays_a_candidate_for_a_closer_look() -> None:
    class Scales(Placed):  # the whole picture sees only the inflated box; the tiles see both faces, unsure
        def detect(self, rgb: np.ndarray) -> list[Detection]:
            return [INFLATED] if rgb.shape[:2] == (200, 200) else super().detect(rgb)

    for sharpen in (False, True):
        weak: list[Detection] = []
        found = persons.find_persons(Scales(200, 200, [LEFT, RIGHT]), gradient(200), tile_frac=0.5,
                                     tile_score=0.9, weak_score=0.5, weak=weak, sharpen=sharpen)
        (person,) = found
        if sharpen:
            assert person.box == pytest.approx(LEFT.box) and person.score == 0.94
            assert [w.box for w in weak] == [pytest.approx(RIGHT.box)]
        else:  # the inflated box passes the right person off as the left one: nobody to look at again
            assert person.box == INFLATED.box and weak == []


def test_a_closer_look_that_finds_only_a_known_face_confirms_nobody() -> None:
    known = Detection(0.97, (0.30, 0.30, 0.40, 0.40), ((0.35, 0.70), (0.35, 0.40), (0.35, 0.55), (0.35, 0.35)))
    # a weak, badly placed detection overlapping the known face by 40% (so not the same person by itself)
    weak = Detection(0.60, (0.36, 0.30, 0.46, 0.40), ((0.40, 0.70), (0.40, 0.40), (0.40, 0.55), (0.40, 0.35)))
    between = Detection(0.97, (0.33, 0.30, 0.43, 0.40), weak.keypoints)  # the candidate's face and the known one
    own = Detection(0.97, (0.37, 0.30, 0.47, 0.40), weak.keypoints)  # the candidate's face only
    rgb = gradient(200)
    assert persons.second_look(Placed(200, 200, [between]), rgb, [weak], [known]) == []
    assert [d.box for d in persons.second_look(Placed(200, 200, [own]), rgb, [weak], [known])] == [own.box]
    nobody = Placed(200, 200, [])
    assert persons.second_look(nobody, rgb, [weak], [known], faces=Placed(200, 200, [between])) == []
    assert persons.second_look(nobody, rgb, [weak], [known], faces=Placed(200, 200, [own])) == [weak]


def test_region_is_a_rectangle_along_the_body_axis() -> None:
    standing = Detection(0.9, (0.4, 0.1, 0.6, 0.2), ((0.5, 0.5), (0.5, 0.1), (0.5, 0.3), (0.5, 0.1)))
    lying = Detection(0.9, (0.1, 0.4, 0.2, 0.6), ((0.5, 0.5), (0.1, 0.5), (0.3, 0.5), (0.1, 0.5)))
    for det, long_axis in ((standing, 0), (lying, 1)):
        boxes = persons.body_boxes([det], 200, 200, scale=1.0)
        assert boxes == [(20, 20, 180, 180)]  # radius 80 px around the hip
        square = persons.region(boxes, 200, 200, pad=0.0)
        assert square[20:181, 20:181].all() and square.sum() == 161 * 161  # the corners' pixels included
        narrow = persons.region(boxes, 200, 200, pad=0.0, people=[det], aspect=0.5)
        extent = narrow.any(axis=1 - long_axis).nonzero()[0]  # along the body: the full length
        across = narrow.any(axis=long_axis).nonzero()[0]
        assert extent.max() - extent.min() == 160 and 78 <= across.max() - across.min() <= 82
    grown = persons.region([(50, 50, 150, 150)], 200, 200, pad=0.1)
    assert grown[40, 40] and not grown[38, 100]


def test_a_red_object_nobody_stands_near_is_not_person() -> None:
    rgb, person = photo(600, 900, [(100, 150, 250, 550)])
    cup, _ = photo(600, 900, [(650, 350, 800, 500)])
    rgb[cup.any(axis=2) & (cup[..., 0] > 150) & (cup[..., 1] < 90)] = (220, 30, 30)  # red, like a person
    detector = FakeDetector(tall_only=True)  # the detector knows the cup is no person
    without = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=None) >= 0.5
    assert without[425, 725]  # the selfie model calls the cup person
    alpha = segment_still(FakeSegmenter(), rgb, StillOptions(detect_tile_frac=0.0), detector=detector)
    assert alpha[350:500, 650:800].max() < 0.05
    assert iou(alpha >= 0.5, person) > 0.95


def test_when_nobody_is_detected_the_old_path_runs_unchanged() -> None:
    rgb, _ = photo(600, 900, [(100, 150, 250, 550), (600, 150, 750, 550)])
    nobody = FakeDetector(min_frac=2.0)
    old = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=None)
    new = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=nobody)
    assert nobody.calls >= 1
    np.testing.assert_array_equal(old, new)


def test_detect_off_never_calls_the_detector() -> None:
    rgb, _ = photo(600, 900, [(100, 150, 250, 550)])
    detector = FakeDetector()
    segment_still(FakeSegmenter(), rgb, StillOptions(detect=False), detector=detector)
    assert detector.calls == 0


def test_a_detector_that_cannot_load_leaves_the_stills_path_working(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    import desktop_app.core.detector as detector_module

    tries: list[int] = []

    def broken(*_args: object, **_kwargs: object) -> None:
        tries.append(1)
        raise detector_module.NoDetectorError("the model manifest lists no person-detection model")

    models = PeopleModels()
    monkeypatch.setattr(people_models, "SHARED", models)
    monkeypatch.setattr(detector_module, "PersonDetector", broken)
    rgb, truth = photo(600, 900, [(100, 150, 250, 550)])
    with caplog.at_level(logging.WARNING):
        alpha = segment_still(FakeSegmenter(), rgb)
    assert "The person detector could not be loaded" in caplog.text
    assert iou(alpha >= 0.5, truth) > 0.95
    assert models.detector() is None
    assert len(tries) == 1  # tried once, not on every photo


def test_panoramas_get_a_bounded_number_of_detector_runs() -> None:
    detector = FakeDetector()
    persons.find_persons(detector, np.zeros((128, 1280, 3), np.uint8), tile_frac=0.5)
    assert detector.calls <= 1 + 24  # half-height tiles would be 50 x 3
    detector = FakeDetector()
    persons.find_persons(detector, np.zeros((40, 1280, 3), np.uint8), tile_frac=0.5)
    assert detector.calls == 1  # too thin to tile
    detector = FakeDetector()
    persons.find_persons(detector, np.zeros((960, 1280, 3), np.uint8), tile_frac=0.5)
    assert detector.calls == 1 + 15  # a photo: 5 x 3 tiles, as measured


def test_axis_boxes_are_an_upper_and_a_lower_square_along_the_body() -> None:
    standing = Detection(0.9, (0.4, 0.1, 0.6, 0.2), ((0.5, 0.5), (0.5, 0.1), (0.5, 0.3), (0.5, 0.1)))
    lying = Detection(0.9, (0.1, 0.4, 0.2, 0.6), ((0.5, 0.5), (0.1, 0.5), (0.3, 0.5), (0.1, 0.5)))
    box = [(20, 20, 180, 180)]
    # shoulders up (y smaller): the first square is centred 40 px above the hip, the second 40 px below
    assert persons.axis_boxes(box, [standing], 200, 200, size=0.5) == [(60, 20, 140, 100), (60, 100, 140, 180)]
    assert persons.axis_boxes(box, [lying], 200, 200, size=0.5) == [(20, 60, 100, 140), (100, 60, 180, 140)]


def test_region_grows_toward_the_feet_only() -> None:
    standing = Detection(0.9, (0.4, 0.1, 0.6, 0.2), ((0.5, 0.5), (0.5, 0.1), (0.5, 0.3), (0.5, 0.1)))
    boxes = [(40, 40, 160, 160)]
    plain = persons.region(boxes, 200, 200, pad=0.0, people=[standing], aspect=0.75)
    longer = persons.region(boxes, 200, 200, pad=0.0, people=[standing], aspect=0.75, feet=0.1)
    rows, rows_longer = plain.any(axis=1).nonzero()[0], longer.any(axis=1).nonzero()[0]
    assert rows_longer.min() == rows.min()  # the head end stays where it was
    assert rows_longer.max() - rows.max() == 12  # the feet end 10% of the 120 px side further down
    assert (longer.any(axis=0) == plain.any(axis=0)).all()  # no wider


def test_axis_crops_find_feet_that_the_whole_body_crop_shows_too_small() -> None:
    # a body and, below it, a separate small foot: in the body's square crop (squashed to 256 px) the foot is
    # under the fake model's 1% of its input, in the lower square along the body it is over
    body = (400, 100, 500, 430)
    rgb, truth = photo(600, 900, [body])
    foot = np.zeros_like(truth)
    foot[440:462, 440:478] = True
    rgb[foot] = rgb[truth][0]
    truth |= foot
    detector = FakeDetector()
    options = StillOptions(detect_tile_frac=0.0, crops=False, snap=False, axis_crops=False, axis_agree=0.0)
    before = segment_still(FakeSegmenter(min_frac=0.01), rgb, options, detector=detector) >= 0.5
    after = segment_still(FakeSegmenter(min_frac=0.01), rgb, replace(options, axis_crops=True),
                          detector=detector) >= 0.5
    assert before[truth & ~foot].mean() > 0.95 and before[foot].mean() < 0.05  # the foot is missed without
    assert after[foot].mean() > 0.9  # and found with the axis crops
    assert (after & ~truth).sum() <= (before & ~truth).sum() + 0.05 * foot.sum()  # edges only: nothing added


def test_no_axis_crops_for_a_person_as_large_as_the_frame() -> None:
    rgb, _ = photo(600, 900, [(380, 40, 520, 560)])  # body square 1.25 x 520 px: larger than the frame's height
    detector = FakeDetector()
    options = StillOptions(detect_tile_frac=0.0, crops=False, snap=False, axis_crops=False)
    plain, axis = FakeSegmenter(), FakeSegmenter()
    np.testing.assert_array_equal(segment_still(plain, rgb, options, detector=detector),
                                  segment_still(axis, rgb, replace(options, axis_crops=True), detector=detector))
    assert axis.calls == plain.calls  # no crops along the body were run at all
    small = FakeSegmenter()
    segment_still(small, rgb, replace(options, axis_crops=True, axis_crop_max=2.0), detector=detector)
    assert small.calls == plain.calls + 2  # allowed: the upper and the lower square


def test_axis_crops_with_agreement_add_only_what_the_earlier_passes_saw_a_little() -> None:
    # a foot the model sees faintly (0.3) when it is small in its input, and a blue bag beside it that the model
    # calls person only up close (0 before): with agreement the foot comes in, the bag does not
    body = (400, 100, 500, 430)
    rgb, truth = photo(600, 900, [body])
    foot, bag = np.zeros_like(truth), np.zeros_like(truth)
    foot[440:462, 440:478] = True
    bag[440:462, 490:528] = True
    rgb[foot] = rgb[truth][0]
    rgb[bag] = (30, 30, 220)
    truth |= foot

    class Faint(FakeSegmenter):
        def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
            self.calls += 1
            small = cv2.resize(rgb, self.input_size, interpolation=cv2.INTER_AREA).astype(np.int16)
            red = (small[..., 0] > 150) & (small[..., 1] < 90) & (small[..., 2] < 90)
            blue = (small[..., 2] > 150) & (small[..., 0] < 90) & (small[..., 1] < 90)
            prob = np.zeros(red.shape, np.float32)
            for mask, faint in ((red, 0.3), (blue, 0.0)):
                count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
                for i in range(1, count):
                    prob[labels == i] = 1.0 if stats[i, cv2.CC_STAT_AREA] >= self.min_frac * red.size else faint
            return prob, {}

    detector = FakeDetector()
    options = StillOptions(detect_tile_frac=0.0, crops=False, snap=False, axis_crops=False, axis_agree=0.0)
    before = segment_still(Faint(), rgb, options, detector=detector) >= 0.5
    assert before[foot].mean() < 0.05 and before[bag].mean() < 0.05
    blind = segment_still(Faint(), rgb, replace(options, axis_crops=True), detector=detector) >= 0.5
    assert blind[bag].mean() > 0.9  # without agreement the close-up's bag comes in (it is inside the gate)
    agreed = segment_still(Faint(), rgb, replace(options, axis_crops=True, axis_agree=0.1), detector=detector)
    assert (agreed >= 0.5)[bag].mean() < 0.05 and (agreed >= 0.5)[truth].mean() > 0.95
    default = StillOptions(detect_tile_frac=0.0, crops=False, snap=False)  # the default does this
    np.testing.assert_array_equal(segment_still(Faint(), rgb, default, detector=detector), agreed)


class ScaleDetector:
    """Red blobs, as FakeDetector, but sure (0.95) only of a tall one filling at least half of what it is shown,
    unsure (0.8) of one filling 0.3-0.5 of it or of any round one (a cup, not a person), blind below 0.3 and to a
    blob cut by the edge of what it is shown (a tile's view of part of a person)."""

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        out = []
        for x, y, bw, bh in red_blobs(rgb):
            if bh < 0.3 * h or x == 0 or y == 0 or x + bw == w or y + bh == h:
                continue
            sure = bh >= 0.5 * h and bh > 1.5 * bw
            out.append(blob_detection(0.95 if sure else 0.8, (x, y, bw, bh), rgb.shape))
        return out


def test_a_person_the_tiles_are_unsure_of_gets_a_closer_look_and_is_kept() -> None:
    rgb, truth = photo(600, 1200, [(100, 100, 300, 560), (900, 400, 940, 520)])  # the second: 0.2 of the height
    small = np.zeros_like(truth)
    small[:, 800:] = truth[:, 800:]
    detector = ScaleDetector()
    weak: list[Detection] = []
    people = persons.find_persons(detector, rgb, tile_frac=0.5, tile_score=0.9, weak_score=0.5, weak=weak)
    assert len(people) == 1 and len(weak) == 1  # the tiles saw the small person at 0.8 only
    (again,) = persons.second_look(detector, rgb, weak, people, score=0.9)  # in its body square it fills the input
    assert again.score == 0.95 and persons.same_person(again, weak[0])
    before = segment_still(FakeSegmenter(), rgb, StillOptions(weak_score=0.0), detector=detector) >= 0.5
    after = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=detector) >= 0.5
    assert (before & small).sum() < 0.05 * small.sum()  # the gate of the one sure person deleted the other
    assert (after & small).sum() > 0.9 * small.sum()
    assert iou(after, truth) > 0.9


def test_what_the_closer_look_does_not_confirm_stays_out() -> None:
    rgb, person = photo(600, 1200, [(100, 100, 300, 560)])
    cup, _ = photo(600, 1200, [(850, 325, 1000, 475)])  # too small for the whole picture, round
    rgb[cup.any(axis=2) & (cup[..., 0] > 150) & (cup[..., 1] < 90)] = (220, 30, 30)
    detector = ScaleDetector()
    weak: list[Detection] = []
    people = persons.find_persons(detector, rgb, tile_frac=0.5, tile_score=0.9, weak_score=0.5, weak=weak)
    assert weak and persons.second_look(detector, rgb, weak, people, score=0.9) == []
    alpha = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=detector)
    assert alpha[325:475, 850:1000].max() < 0.05
    assert iou(alpha >= 0.5, person) > 0.9


class EdgeBlindSegmenter(FakeSegmenter):
    """Like the selfie models, it does not call a part cut off by the edge of its input person."""

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        prob, timings = super().predict(rgb)
        count, labels, stats, _ = cv2.connectedComponentsWithStats((prob > 0).astype(np.uint8))
        h, w = prob.shape
        for i in range(1, count):
            x, y, bw, bh, _ = stats[i]
            if x == 0 or y == 0 or x + bw == w or y + bh == h:
                prob[labels == i] = 0.0
        return prob, timings


def test_a_small_persons_crop_does_not_take_the_arm_of_a_large_one_beside_it() -> None:
    rgb, truth = photo(600, 900, [(100, 20, 400, 590), (412, 420, 462, 560)])  # the first too large for a crop
    inside = np.s_[405:575, 352:368]  # in the small one's body square (its crop), not in its region: the large one
    strip = truth[inside]
    assert strip.sum() > 500
    detector = ScaleDetector()
    old = segment_still(EdgeBlindSegmenter(), rgb, StillOptions(own_region=False), detector=detector) >= 0.5
    new = segment_still(EdgeBlindSegmenter(), rgb, StillOptions(), detector=detector) >= 0.5
    assert (old[inside] & strip).sum() < 0.5 * strip.sum()  # the crop decided there, and saw no person
    assert (new[inside] & strip).sum() > 0.95 * strip.sum()
    assert (new & truth).sum() > 0.95 * truth.sum()


class PortraitDetector(ScaleDetector):
    """ScaleDetector, but a blob cut only by the bottom edge of what it is shown (a head and shoulders standing on the
    frame's edge) is never more than unsure (0.8), whatever the crop."""

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        out = super().detect(rgb)
        for x, y, bw, bh in red_blobs(rgb):
            if y + bh == h and x > 0 and y > 0 and x + bw < w and bh >= 0.3 * h:
                out.append(blob_detection(0.8, (x, y, bw, bh), rgb.shape))
        return out


class GreenFaces:
    """A face detector: a 'face' is a green square (score 0.9)."""

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        img = rgb.astype(np.int16)
        green = ((img[..., 1] > 150) & (img[..., 0] < 90) & (img[..., 2] < 90)).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(green)
        return [Detection(0.9, (x / w, y / h, (x + bw) / w, (y + bh) / h), ((0.0, 0.0),) * 4)
                for x, y, bw, bh, _ in stats[1:count]]


def test_a_head_cut_by_the_frame_edge_is_kept_when_a_face_detector_confirms_it() -> None:
    rgb, truth = photo(600, 1200, [(100, 100, 300, 560), (900, 430, 1000, 770)])  # the second cut by the bottom
    rgb[432:462, 930:970] = (30, 220, 30)  # its face
    portrait = truth.copy()
    portrait[:, :800] = False
    red = (rgb[..., 0] > 150) & portrait
    detector = PortraitDetector()
    weak: list[Detection] = []
    people = persons.find_persons(detector, rgb, tile_frac=0.5, tile_score=0.9, weak_score=0.5, weak=weak)
    assert len(people) == 1 and weak
    assert persons.second_look(detector, rgb, weak, people) == []  # the person detector stays unsure
    assert len(persons.second_look(detector, rgb, weak, people, faces=GreenFaces())) == 1
    without = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=detector, face_detector=None) >= 0.5
    with_faces = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=detector,
                               face_detector=GreenFaces()) >= 0.5
    assert (without & red).sum() < 0.05 * red.sum()  # the gate of the one sure person deleted the portrait
    assert (with_faces & red).sum() > 0.9 * red.sum()
    assert persons.second_look(detector, rgb, weak, people, faces=GreenFaces(), face_score=0.95) == []


class TightDetector:
    """Red blobs that are tall (a person, not a cup) and fill at least 0.8 of the height of what it is shown, not cut
    by its edge: it finds a small person only in a tight box around them."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        h, w = rgb.shape[:2]
        return [blob_detection(0.95, (x, y, bw, bh), rgb.shape) for x, y, bw, bh in red_blobs(rgb)
                if bh >= 0.8 * h and bh > 1.5 * bw and x > 0 and y > 0 and x + bw < w and y + bh < h]


def test_a_person_only_the_segmenter_saw_is_confirmed_in_their_own_box_and_kept() -> None:
    # a large person the detector finds, and a small one beside them, outside their region, that it finds only
    # in a tight box; a round red cup that it never takes for a person
    rgb, truth = photo(600, 1200, [(100, 50, 300, 550), (700, 350, 760, 550)])
    cup, _ = photo(600, 1200, [(950, 400, 1070, 520)])
    rgb[(cup[..., 0] > 150) & (cup[..., 1] < 90)] = (220, 30, 30)
    small = np.zeros_like(truth)
    small[:, 600:900] = truth[:, 600:900]
    found = persons.find_persons(TightDetector(), rgb, tile_frac=0.5)
    assert len(found) == 1  # the whole picture and the tiles see only the large person
    before = segment_still(FakeSegmenter(), rgb, StillOptions(unexplained=0.0), detector=TightDetector(),
                           face_detector=None, body_segmenter=None) >= 0.5
    after = segment_still(FakeSegmenter(), rgb, StillOptions(), detector=TightDetector(), face_detector=None,
                          body_segmenter=None) >= 0.5
    assert (before & small).sum() < 0.05 * small.sum()  # the large person's gate deleted the small one
    assert (after & small).sum() > 0.9 * small.sum()
    assert not after[400:520, 950:1070].any()  # the cup got its closer look and stays out
    assert iou(after, truth) > 0.9


def test_the_unexplained_look_skips_small_parts_and_people_already_found() -> None:
    rgb, truth = photo(600, 1200, [(700, 350, 760, 550)])
    detector = TightDetector()
    assert persons.unexplained_look(detector, rgb, np.zeros_like(truth), []) == [] and detector.calls == 0
    tiny = np.zeros_like(truth)
    tiny[100:110, 100:110] = True  # under 0.2% of the picture: no look
    assert persons.unexplained_look(detector, rgb, tiny, []) == [] and detector.calls == 0
    (person,) = persons.unexplained_look(detector, rgb, truth, [])
    assert person.keypoints[0] == pytest.approx((730 / 1200, 450 / 600), abs=3 / 600)
    assert persons.unexplained_look(detector, rgb, truth, [person]) == []  # somebody already found


def test_each_set_of_people_models_loads_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch worker's set is its own: its detector is not the shared one (so two workers never wait on one
    detector's lock), and each set loads each model once."""
    import desktop_app.core.detector as detector_module

    made: list[object] = []

    def fake(*_args: object, **_kwargs: object) -> object:
        made.append(FakeDetector())
        return made[-1]

    monkeypatch.setattr(detector_module, "PersonDetector", fake)
    one, two = PeopleModels(), PeopleModels()
    assert one.detector() is one.detector() is made[0]
    assert two.detector() is made[1] is not made[0]
    assert len(made) == 2


def test_segment_still_asks_the_set_it_is_given() -> None:
    class Counting(PeopleModels):
        asked = 0

        def detector(self) -> persons.Detects | None:
            Counting.asked += 1
            return FakeDetector()

    rgb, _truth = photo(600, 900, [(100, 150, 250, 550)])
    segment_still(FakeSegmenter(), rgb, models=Counting())
    assert Counting.asked == 1


def test_the_unexplained_look_refuses_a_detection_whose_hip_is_under_its_chin() -> None:
    """A tall thing the segmenter took for a person and the detector confirms, but with its mid-hip just under its
    'face' (a rocket's nose, in session 20's fresh composites): no body is built that way, so nobody is added."""

    class ChinHip(TightDetector):
        def detect(self, rgb: np.ndarray) -> list[Detection]:
            found = super().detect(rgb)
            return [Detection(d.score, d.box, ((d.keypoints[0][0], d.box[3] + 0.2 * (d.box[3] - d.box[1])),
                                               *d.keypoints[1:])) for d in found]

    rgb, truth = photo(600, 1200, [(700, 350, 760, 550)])
    assert len(persons.unexplained_look(TightDetector(), rgb, truth, [])) == 1  # hip 2 face-heights down: kept
    assert persons.unexplained_look(ChinHip(), rgb, truth, []) == []
    face = Detection(0.95, (0.4, 0.1, 0.5, 0.2), ((0.45, 0.5), (0.45, 0.1), (0.45, 0.3), (0.45, 0.1)))
    lying = Detection(0.95, (0.1, 0.4, 0.2, 0.5), ((0.6, 0.45),) * 4)  # hip far to the side of the face
    assert persons.plausible(face, 100, 100) and persons.plausible(lying, 100, 100)
    assert not persons.plausible(Detection(0.95, (0.4, 0.1, 0.5, 0.2), ((0.45, 0.22),) * 4), 100, 100)
