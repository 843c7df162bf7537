"""The one-frame lookahead for video files (core.lookahead) on synthetic sequences whose answer is known."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from desktop_app.core.frames import Frame
from desktop_app.core.lookahead import Lookahead, median3, median5, video_lookahead
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline

H, W = 24, 32


class Scripted:
    """A segmenter that returns `masks[i]` for the frame whose pixel [0, 0, 0] is i, and logs what it ran on."""

    spec = "scripted-spec"
    provider = "CPUExecutionProvider"

    def __init__(self, masks: list[np.ndarray]) -> None:
        self.masks = masks
        self.ran: list[int] = []

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        index = int(rgb[0, 0, 0])
        self.ran.append(index)
        return self.masks[index], {"inference": 1.0, "resize": 0.5}


def frames(count: int) -> list[np.ndarray]:
    out = []
    for i in range(count):
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[0, 0, 0] = i
        out.append(rgb)
    return out


def person(left: int = 8, right: int = 24) -> np.ndarray:
    mask = np.zeros((H, W), np.float32)
    mask[4:20, left:right] = 1.0
    return mask


def run(look: Lookahead, video: list[np.ndarray]) -> list[np.ndarray]:
    return [look.predict(rgb)[0] for rgb in look.feed(video)]


def test_median3_is_the_middle_value_per_pixel() -> None:
    a, b, c = (np.array(v, np.float32) for v in ([0.1, 0.9, 0.5], [0.5, 0.1, 0.9], [0.9, 0.5, 0.1]))
    np.testing.assert_array_equal(median3(a, b, c), [0.5, 0.5, 0.5])
    assert median3(a, b, c).dtype == np.float32


def test_a_one_frame_hole_in_a_steady_mask_is_filled() -> None:
    masks = [person() for _ in range(7)]
    masks[3] = masks[3].copy()
    masks[3][8:14, 12:18] = 0.0  # a hole opens in the subject's back for one frame
    segmenter = Scripted(masks)
    out = run(Lookahead(segmenter), frames(7))
    for mask in out:
        np.testing.assert_array_equal(mask, person())
    assert segmenter.ran == list(range(7))  # the model ran once per frame, in order


def test_a_moving_edge_is_not_delayed() -> None:
    masks = [person(8, 12 + 2 * i) for i in range(8)]  # the right edge moves 2 px a frame
    out = run(Lookahead(Scripted(masks)), frames(8))
    for t, mask in enumerate(out):  # lag 0: every frame has its own edge, not the one before or after
        np.testing.assert_array_equal(mask, masks[t])


def test_an_edge_that_stops_or_starts_stays_on_time() -> None:
    masks = [person(8, 12)] * 3 + [person(8, 20)] * 3  # a step between frames 2 and 3
    out = run(Lookahead(Scripted(masks)), frames(6))
    for t, mask in enumerate(out):
        np.testing.assert_array_equal(mask, masks[t])


def test_first_and_last_frames_take_their_own_output() -> None:
    masks = [person(0, 4), person(8, 24), person(8, 24), person(20, 30)]  # the ends disagree with their neighbour
    out = run(Lookahead(Scripted(masks)), frames(4))
    np.testing.assert_array_equal(out[0], masks[0])
    np.testing.assert_array_equal(out[-1], masks[-1])


@pytest.mark.parametrize("count", [1, 2])
def test_videos_of_one_and_two_frames(count: int) -> None:
    masks = [person(0, 4), person(20, 30)][:count]
    segmenter = Scripted(masks)
    out = run(Lookahead(segmenter), frames(count))
    assert len(out) == count and segmenter.ran == list(range(count))
    for t, mask in enumerate(out):
        np.testing.assert_array_equal(mask, masks[t])


def test_reset_between_videos_forgets_the_last_one() -> None:
    a, b = person(8, 24), person(0, 4)
    segmenter = Scripted([a, a, b, a])
    look = Lookahead(segmenter)
    first = [look.predict(rgb)[0] for rgb in look.feed(frames(2))]
    look.reset()
    second = [look.predict(rgb)[0] for rgb in look.feed(frames(4)[2:])]  # starts with b, then a
    assert len(first) == 2 and len(second) == 2
    np.testing.assert_array_equal(second[0], b)  # not median(a of the last video, b, a) = a
    np.testing.assert_array_equal(second[1], a)


def test_video_lookahead_gives_each_video_a_fresh_lookahead() -> None:
    a, b = person(8, 24), person(0, 4)
    segmenter = Scripted([a, b, a])
    pipeline = Pipeline(segmenter, EffectParams("blur"))
    pipeline.video_crop = False  # the scripted masks ignore the picture, so a crop would not see them
    with video_lookahead(pipeline) as look:
        assert pipeline.segmenter is look
        for rgb in look.feed(frames(1)):
            look.predict(rgb)
    assert pipeline.segmenter is segmenter
    with video_lookahead(pipeline) as fresh:
        out = [fresh.predict(rgb)[0] for rgb in fresh.feed(frames(3)[1:])]
    np.testing.assert_array_equal(out[0], b)


def test_predict_without_prefetch_is_the_model_alone() -> None:
    masks = [person(), person(0, 4), person()]
    look = Lookahead(Scripted(masks))
    out = [look.predict(rgb)[0] for rgb in frames(3)]  # no feed, no prefetch: live-like use
    for t, mask in enumerate(out):
        np.testing.assert_array_equal(mask, masks[t])


@pytest.mark.parametrize("radius", [1, 2])
def test_timings_are_those_of_the_runs_each_call_made(radius: int) -> None:
    look = Lookahead(Scripted([person()] * 4), radius=radius)
    timings = [look.predict(rgb)[1] for rgb in look.feed(frames(4))]
    first = {"inference": 1.0 + radius, "resize": 0.5 * (1 + radius)}  # this frame's run and the frames ahead
    assert timings == [first] + [{"inference": 1.0, "resize": 0.5}] * (3 - radius) + [{}] * radius


def test_median5_is_the_middle_value_per_pixel() -> None:
    values = np.random.default_rng(5).random((5, 200)).astype(np.float32)
    out = median5(*values)
    np.testing.assert_array_equal(out, np.median(values, axis=0))
    assert out.dtype == np.float32


def test_a_two_frame_hole_is_filled_by_the_five_frame_window() -> None:
    """A hole that stays open for two frames outvotes a median of three (W36) but not one of five (W39)."""
    masks = [person() for _ in range(9)]
    for t in (4, 5):
        masks[t] = masks[t].copy()
        masks[t][8:14, 12:18] = 0.0
    out = run(Lookahead(Scripted(masks)), frames(9))  # the default: five frames
    for mask in out:
        np.testing.assert_array_equal(mask, person())
    three = run(Lookahead(Scripted(masks), radius=1), frames(9))
    assert three[4][10, 14] == 0.0 and three[5][10, 14] == 0.0  # the three-frame window keeps it


@pytest.mark.parametrize("step", [1, 3])
def test_the_five_frame_window_does_not_delay_a_moving_or_stopping_edge(step: int) -> None:
    moving = [person(8, 8 + step * i) for i in range(1, 8)]  # the right edge moves `step` px a frame
    for t, mask in enumerate(run(Lookahead(Scripted(moving)), frames(7))):
        np.testing.assert_array_equal(mask, moving[t])  # lag 0: every frame has its own edge
    stops = [person(8, 12)] * 4 + [person(8, 20)] * 4  # a step between frames 3 and 4
    for t, mask in enumerate(run(Lookahead(Scripted(stops)), frames(8))):
        np.testing.assert_array_equal(mask, stops[t])


def test_the_window_shrinks_near_the_ends_and_stays_centred() -> None:
    """Frame 1 of a video has one frame before it: a median of three (t-1, t, t+1), not of t-1..t+2."""
    masks = [person(), person(0, 4), person(20, 30), person(20, 30), person(20, 30)]
    out = run(Lookahead(Scripted(masks)), frames(5))
    np.testing.assert_array_equal(out[0], masks[0])  # no frame before it: its own output
    np.testing.assert_array_equal(out[1], median3(*masks[:3]))
    np.testing.assert_array_equal(out[2], median5(*masks))
    np.testing.assert_array_equal(out[3], median3(*masks[2:]))
    np.testing.assert_array_equal(out[4], masks[4])


def test_a_source_that_breaks_yields_every_frame_decoded_before_it_first() -> None:
    def broken() -> Iterator[np.ndarray]:
        yield from frames(4)
        raise OSError("truncated")

    segmenter = Scripted([person()] * 4)
    look = Lookahead(segmenter)
    seen = []
    with pytest.raises(OSError, match="truncated"):
        for rgb in look.feed(broken()):
            seen.append(look.predict(rgb)[0])
    assert len(seen) == 4 and segmenter.ran == [0, 1, 2, 3]


def test_only_a_radius_of_one_or_two_frames() -> None:
    with pytest.raises(ValueError, match="1 or 2"):
        Lookahead(Scripted([person()]), radius=3)


def test_the_wrapper_shows_the_segmenters_attributes() -> None:
    look = Lookahead(Scripted([person()]))
    assert look.spec == "scripted-spec" and look.provider == "CPUExecutionProvider"
    with pytest.raises(AttributeError):
        _ = look.no_such_attribute


def test_video_lookahead_puts_the_segmenter_back_also_on_error() -> None:
    segmenter = Scripted([person()] * 3)
    pipeline = Pipeline(segmenter, EffectParams("blur"))
    with pytest.raises(RuntimeError), video_lookahead(pipeline):
        raise RuntimeError("the video broke")
    assert pipeline.segmenter is segmenter


def test_a_source_that_breaks_after_a_frame_yields_that_frame_first() -> None:
    def broken() -> Iterator[np.ndarray]:
        yield from frames(3)
        raise OSError("truncated")

    segmenter = Scripted([person()] * 3)
    look = Lookahead(segmenter)
    seen = []
    with pytest.raises(OSError, match="truncated"):
        for rgb in look.feed(broken()):
            seen.append(look.predict(rgb)[0])
    assert len(seen) == 3 and segmenter.ran == [0, 1, 2]


def test_through_the_pipeline_a_one_frame_hole_never_reaches_the_mask() -> None:
    masks = [person() for _ in range(5)]
    masks[2] = np.zeros((H, W), np.float32)  # the model loses the person for one frame
    pipeline = Pipeline(Scripted(masks), EffectParams("blur", smoothing=0.0, feather=0.0))
    pipeline.video_crop = False  # the scripted masks ignore the picture, so a crop would not see them
    video = frames(5)
    for rgb in video:  # the person is in the picture too (the live edge step follows the frame's own edges)
        rgb[4:20, 8:24] = 200
    with video_lookahead(pipeline) as look:
        out = [pipeline.process(Frame(rgb, t / 30, t, "clip")).mask for t, rgb in enumerate(look.feed(video))]
    assert all(mask is not None and mask[10, 16] > 0.99 for mask in out)
