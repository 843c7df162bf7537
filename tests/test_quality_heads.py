"""Head crops for portraits side by side (segment_still's step 3 for body squares too large to crop), with fakes
whose behaviour is known: a segmenter that, like the selfie model shown a small group whole, joins people standing
close together in its input, and a pose detector that puts a portrait's hips below the picture."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from test_quality_people import red_blobs
from test_quality_still import FakeSegmenter, iou, photo

from desktop_app.core.detection import Detection
from desktop_app.core.quality import StillOptions, segment_still, still


class JoiningSegmenter(FakeSegmenter):
    """'Person' = red pixels (of any size), and on each row the gap between two red runs when it is narrower than a
    third of the input's width: what the selfie model does between heads side by side that are small in its input."""

    def __init__(self) -> None:
        super().__init__(min_frac=0.0)

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        prob, timings = super().predict(rgb)
        red = prob > 0
        for y in range(red.shape[0]):
            xs = np.flatnonzero(red[y])
            for g in np.flatnonzero(np.diff(xs) > 1):
                if xs[g + 1] - xs[g] < red.shape[1] / 3:
                    prob[y, xs[g] : xs[g + 1]] = 1.0
        return prob, timings


def portrait(score: float, box: tuple[int, int, int, int], shape: tuple[int, ...]) -> Detection:
    """A head and shoulders cut by the picture's bottom: face box the blob's top third, hips far below the picture
    (keypoint 0), so its body square is about five blob heights, larger than the picture."""
    h, w = shape[:2]
    x, y, bw, bh = box
    cx = (x + bw / 2) / w
    face = (x / w, y / h, (x + bw) / w, (y + bh / 3) / h)
    return Detection(score, face, ((cx, (y + 2 * bh) / h), (cx, y / h), (cx, (y + bh) / h), (cx, y / h)))


class PortraitsDetector:
    """Every red blob is a portrait (0.95)."""

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return [portrait(0.95, b, rgb.shape) for b in red_blobs(rgb)]


OPTIONS = StillOptions(detect_tile_frac=0.0, snap=False, bodies="", unexplained=0.0, weak_score=0.0)


def two_portraits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two heads and shoulders side by side at the bottom of a 600 x 1200 picture, a gap 0.08 of its width apart,
    and (bool) the background between them."""
    rgb, truth = photo(600, 1200, [(250, 330, 550, 1030), (650, 330, 950, 1030)])
    between = np.zeros_like(truth)
    between[380:600, 550:650] = True
    between &= ~truth
    return rgb, truth, between


def test_portraits_side_by_side_each_get_a_head_crop_that_keeps_the_gap_between_them() -> None:
    rgb, truth, between = two_portraits()
    before = segment_still(JoiningSegmenter(), rgb, replace(OPTIONS, head_crops=0.0),
                           detector=PortraitsDetector()) >= 0.5
    after = segment_still(JoiningSegmenter(), rgb, OPTIONS, detector=PortraitsDetector()) >= 0.5
    assert before[between].mean() > 0.5  # the whole picture joined them, and no crop looked closer
    assert after[between].mean() < 0.05
    assert (after & truth).sum() > 0.97 * truth.sum()
    assert iou(after, truth) > iou(before, truth) + 0.1


def test_a_close_up_gets_no_head_crop_when_nobody_stands_beside_it() -> None:
    # one person and a second detection in the same column (what a close-up's chin or shirt yields): no group
    rgb, _, _ = two_portraits()

    class Stacked(PortraitsDetector):
        def detect(self, rgb: np.ndarray) -> list[Detection]:
            (first, *_) = super().detect(rgb)
            x0, y0, x1, y1 = first.box
            lower = Detection(0.9, (x0 + 0.01, y1, x1 - 0.01, y1 + (y1 - y0)), first.keypoints)
            return [first, lower]

    options = replace(OPTIONS, crops=False)
    off = segment_still(JoiningSegmenter(), rgb, replace(options, head_crops=0.0), detector=Stacked())
    on = segment_still(JoiningSegmenter(), rgb, options, detector=Stacked())
    np.testing.assert_array_equal(on, off)
    anyone = segment_still(JoiningSegmenter(), rgb, replace(options, head_side_by_side=False), detector=Stacked())
    assert not np.array_equal(anyone, off)  # the rule, not the fakes, kept the crops out


def test_beside_a_like_means_face_centres_apart_across_the_picture_and_bodies_of_a_like_size() -> None:
    def face(x0: float, x1: float) -> Detection:
        return Detection(0.9, (x0, 0.5, x1, 0.6), ((0.0, 0.0),) * 4)

    def squares(*sides: int) -> list[tuple[int, int, int, int]]:
        return [(0, 0, side, side) for side in sides]

    assert still.beside_a_like([face(0.1, 0.3), face(0.4, 0.6)], squares(500, 500)) == [True, True]
    # inflated boxes that overlap a little, centres a face box apart: still side by side
    assert still.beside_a_like([face(0.1, 0.4), face(0.38, 0.68)], squares(500, 500)) == [True, True]
    assert still.beside_a_like([face(0.1, 0.3), face(0.15, 0.35)], squares(500, 500)) == [False, False]  # a column
    assert still.beside_a_like([face(0.1, 0.3)], squares(500)) == [False]
    assert still.beside_a_like([face(0.1, 0.3), face(0.4, 0.6)], squares(900, 300)) == [False, False]  # one behind
    three = [face(0.1, 0.3), face(0.15, 0.35), face(0.5, 0.6)]
    assert still.beside_a_like(three, squares(500, 500, 500)) == [True, True, True]


def test_a_head_box_is_a_square_inside_the_picture_with_the_face_high_in_it() -> None:
    width, height = 1200, 600
    person = Detection(0.9, (0.4, 0.5, 0.5, 0.7), ((0.45, 2.0),) * 4)
    large = (0, -500, 1600, 1100)  # a body square as large as the picture: cropped around the head instead
    x0, y0, x1, y1 = still._head_box(large, person, width, height, OPTIONS)
    assert x1 - x0 == y1 - y0 == round(0.7 * height)
    assert x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height  # moved up from below the picture's bottom
    assert abs((x0 + x1) / 2 - 0.45 * width) <= 1
    small = (100, 100, 300, 300)
    assert still._head_box(small, person, width, height, OPTIONS) == small  # a crop the model sees whole stays
