"""Session 13's live crop (issue #9, `core.person_crop`): the model run on a square crop around where the person
was, its map put back on the whole frame's grid; when the crop moves, when it holds still, who it may miss.
Synthetic frames and a fake model that sees red pixels as the person."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core.frames import Frame
from desktop_app.core.live import LiveSession
from desktop_app.core.params import EffectParams
from desktop_app.core.person_crop import LOOK_EVERY, PersonCrop, paste_on_grid
from desktop_app.core.pipeline import Pipeline

W, H = 640, 360  # the frame; the fake's grid for it is 256x144, for a square crop 256x256


class RedSegmenter:
    """'Person' = red pixels, area-averaged to the input `Segmenter("auto")` would pick (16:9 -> 256x144, square
    -> 256x256). Records each input's shape."""

    spec = None

    def __init__(self) -> None:
        self.inputs: list[tuple[int, int]] = []

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        h, w = rgb.shape[:2]
        self.inputs.append((h, w))
        size = (256, 144) if w >= 1.5 * h else (256, 256)
        red = ((rgb[..., 0] > 150) & (rgb[..., 1] < 90)).astype(np.float32)
        return cv2.resize(red, size, interpolation=cv2.INTER_AREA), {"resize": 0.1, "inference": 1.0}


def scene(*people: tuple[int, int, int, int]) -> np.ndarray:
    """A grey frame with red rectangles (x0, y0, x1, y1) for people."""
    rgb = np.full((H, W, 3), 90, np.uint8)
    for x0, y0, x1, y1 in people:
        rgb[y0:y1, x0:x1] = (220, 40, 40)
    return rgb


def truth_grid(rgb: np.ndarray) -> np.ndarray:
    red = ((rgb[..., 0] > 150) & (rgb[..., 1] < 90)).astype(np.float32)
    return cv2.resize(red, (256, 144), interpolation=cv2.INTER_AREA)


PERSON = (260, 120, 380, 360)  # 120 x 240 px, standing on the bottom edge


def test_a_crops_map_lands_on_the_right_grid_cells_and_nothing_outside() -> None:
    rgb = scene(PERSON)
    box = (200, 60, 500, 360)
    crop = np.ascontiguousarray(rgb[60:360, 200:500])
    prob, _ = RedSegmenter().predict(crop)
    grid = paste_on_grid(prob, box, W, H, (144, 256))
    assert grid.shape == (144, 256)
    truth = truth_grid(rgb)
    assert np.abs(grid - truth).max() < 0.25  # the same cells as the whole frame's own view (two resamplings)
    assert np.array_equal(grid >= 0.5, truth >= 0.5)
    ys, xs = np.indices(grid.shape)
    for axis in (xs, ys):  # no shift: the same centre, to a twentieth of a cell
        assert abs((axis * grid).sum() / grid.sum() - (axis * truth).sum() / truth.sum()) < 0.05
    outside = np.ones((144, 256), bool)
    outside[24:144, 80:200] = False  # the crop's cells
    assert not grid[outside].any()


def test_the_first_frame_finds_the_person_and_runs_the_crop_at_once() -> None:
    seg, crop = RedSegmenter(), PersonCrop()
    grid, timings = crop.predict(seg, scene(PERSON))
    assert seg.inputs[0] == (H, W)  # the whole frame first ...
    assert seg.inputs[1][0] == seg.inputs[1][1]  # ... then a square crop, in the same frame
    x0, y0, x1, y1 = crop.box or (0, 0, 0, 0)
    assert x1 - x0 == y1 - y0 and min(x0, y0) >= 0 and x1 <= W and y1 <= H
    assert x0 < PERSON[0] and PERSON[2] < x1 and y0 < PERSON[1]  # the person inside, with a margin
    assert np.array_equal(grid >= 0.5, truth_grid(scene(PERSON)) >= 0.5)
    assert timings["inference"] == 1.0 and crop.crops == 1


def test_the_crop_holds_still_while_the_person_shifts_a_little_and_follows_when_they_walk() -> None:
    seg, crop = RedSegmenter(), PersonCrop(look_every=0)
    crop.predict(seg, scene(PERSON))
    first = crop.box
    for dx in (1, -1, 2, 0, -2, 1):  # a person sitting still, a pixel or two of sway
        crop.predict(seg, scene((PERSON[0] + dx, PERSON[1], PERSON[2] + dx, PERSON[3])))
        assert crop.box == first
    boxes = set()
    for step in range(1, 40):  # walking right, 5 px a frame
        dx = 5 * step
        rgb = scene((PERSON[0] + dx, PERSON[1], PERSON[2] + dx, PERSON[3]))
        grid, _ = crop.predict(seg, rgb)
        boxes.add(crop.box)
        assert np.count_nonzero((grid >= 0.5) & (truth_grid(rgb) >= 0.5)) >= 0.97 * np.count_nonzero(
            truth_grid(rgb) >= 0.5)  # never cut off by its own crop
    assert 2 <= len(boxes) <= 20  # it moves, but not every frame


def test_nobody_means_the_whole_frame_until_somebody_comes() -> None:
    seg, crop = RedSegmenter(), PersonCrop()
    for _ in range(3):
        crop.predict(seg, scene())
        assert crop.box is None
    assert all(shape == (H, W) for shape in seg.inputs)
    crop.predict(seg, scene(PERSON))
    assert crop.box is not None and seg.inputs[-1][0] == seg.inputs[-1][1]


def test_somebody_new_outside_the_crop_is_seen_within_a_look() -> None:
    seg, crop = RedSegmenter(), PersonCrop()
    small = (270, 200, 330, 360)
    crop.predict(seg, scene(small))
    newcomer = (40, 150, 100, 360)
    assert crop.box is not None and crop.box[0] > newcomer[2]  # outside the first crop
    seen = False
    for _ in range(LOOK_EVERY + 1):
        grid, _ = crop.predict(seg, scene(small, newcomer))
        seen = seen or bool(grid[100:, 16:40].mean() > 0.9)
    assert seen
    box = crop.box
    assert box is not None and box[0] < newcomer[0]  # the crop now holds both


def test_a_person_wider_than_the_frame_is_tall_takes_the_whole_frame() -> None:
    seg, crop = RedSegmenter(), PersonCrop()
    crop.predict(seg, scene((20, 100, 620, 360)))
    assert crop.box is None and seg.inputs == [(H, W)]


def test_reset_forgets_the_crop() -> None:
    seg, crop = RedSegmenter(), PersonCrop()
    crop.predict(seg, scene(PERSON))
    crop.reset()
    seg.inputs.clear()
    crop.predict(seg, scene(PERSON))
    assert seg.inputs[0] == (H, W)


@pytest.mark.parametrize("live", [True, False])
def test_the_live_engine_crops_and_other_pipelines_do_not(live: bool) -> None:
    seg = RedSegmenter()
    if live:
        session = LiveSession(None, EffectParams(effect="blur"), demo_factory=None)
        session.set_segmenter(seg)
        pipeline = session._pipeline
        assert pipeline is not None
    else:
        pipeline = Pipeline(seg, EffectParams(effect="blur"), temporal=True, video=True)
    for i in range(3):
        pipeline.process(Frame(scene(PERSON), i / 30.0, i, "cam"))
    squares = sum(h == w for h, w in seg.inputs)
    assert (squares >= 3) if live else (squares == 0)


def test_a_new_source_starts_with_the_whole_frame() -> None:
    seg = RedSegmenter()
    pipeline = Pipeline(seg, EffectParams(effect="blur"), temporal=True)
    pipeline.crop = True
    pipeline.process(Frame(scene(PERSON), 0.0, 0, "cam"))
    seg.inputs.clear()
    pipeline.process(Frame(scene(PERSON), 0.0, 0, "other"))
    assert seg.inputs[0] == (H, W)


@pytest.mark.parametrize("crop", [True, False])
def test_video_files_crop_under_the_lookahead(crop: bool) -> None:
    from desktop_app.core.lookahead import video_lookahead

    seg = RedSegmenter()
    pipeline = Pipeline(seg, EffectParams(effect="blur"), temporal=True, video=True)
    pipeline.video_crop = crop
    video = [scene((PERSON[0] + 3 * t, PERSON[1], PERSON[2] + 3 * t, PERSON[3])) for t in range(6)]
    with video_lookahead(pipeline) as look:
        masks = [pipeline.process(Frame(rgb, t / 30, t, "clip")).mask for t, rgb in enumerate(look.feed(video))]
        during = list(seg.inputs)
        look.reset()  # a new video: the crop starts again from the whole frame
        seg.inputs.clear()
        look.predict(video[0])
    assert during[0] == (H, W) and len(during) >= len(video)
    assert all((h == w) == crop for h, w in during[1:])
    assert seg.inputs[0] == (H, W) and len(seg.inputs) == (2 if crop else 1)
    for rgb, mask in zip(video, masks, strict=True):
        assert mask is not None
        person = cv2.resize(truth_grid(rgb), (W, H), interpolation=cv2.INTER_NEAREST) >= 0.5
        assert np.count_nonzero((mask >= 0.5) & person) >= 0.97 * np.count_nonzero(person)

