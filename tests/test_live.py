"""The Qt-free live loop (core/live.py): threads, source failure -> demo -> resume, effects while running, stats,
and the sinks processed frames go to. No Qt here: the session's callbacks are collected under a condition."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from sink_fakes import FakeSink
from ui_fakes import FakeSegmenter, Unpluggable, demo_source, frames_source, missing_camera

from desktop_app.core import notify
from desktop_app.core.frames import Frame
from desktop_app.core.live import (
    DEFAULT_SIZE,
    FAILED_TEXT,
    LOST_TEXT,
    STARTING_TEXT,
    LiveResult,
    LiveSession,
    LiveStats,
    is_processed,
)
from desktop_app.core.params import EffectParams
from desktop_app.core.person_crop import LOOK_EVERY
from desktop_app.core.sinks import GREEN_SCREEN, MESSAGE_BACKGROUND, fit_to, message_frame
from desktop_app.core.sources import GeneratedSource

BLUR = EffectParams(effect="blur", smoothing=0.0)
WAIT = 10.0


class Collector:
    """The session's events, kept for the test; `wait(pred)` blocks on a condition until `pred()` holds."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.results: deque[LiveResult] = deque(maxlen=50)
        self.stats: list[LiveStats] = []
        self.messages: list[str] = []
        self.sources: list[str] = []
        self.count = 0

    def _add(self, action: Callable[[], None]) -> None:
        with self.cond:
            action()
            self.cond.notify_all()

    def on_result(self, result: LiveResult) -> None:
        def add() -> None:
            self.results.append(result)
            self.count += 1
        self._add(add)

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "timed out"

    def last(self) -> LiveResult:
        return self.results[-1]


@pytest.fixture
def make_session() -> Iterator[Callable[..., tuple[LiveSession, Collector]]]:
    """Builds started sessions wired to a Collector; stops and joins every one at teardown."""
    made: list[LiveSession] = []

    def make(factory: Any = None, params: EffectParams = BLUR, segmenter: Any = None, start: bool = True,
             sinks: tuple[FakeSink, ...] = (), **kwargs: Any) -> tuple[LiveSession, Collector]:
        kwargs.setdefault("demo_factory", demo_source)
        kwargs.setdefault("retry_interval", 0.05)
        kwargs.setdefault("stats_interval", 0.1)
        session = LiveSession(factory, params, **kwargs)
        got = Collector()
        session.events.result.connect(got.on_result)
        session.events.stats.connect(lambda s: got._add(lambda: got.stats.append(s)))
        session.events.message.connect(lambda m: got._add(lambda: got.messages.append(m)))
        session.events.source.connect(lambda n: got._add(lambda: got.sources.append(n)))
        if segmenter is not None:
            session.set_segmenter(segmenter)
        for sink in sinks:
            session.add_sink(sink)
        made.append(session)
        if start:
            session.start()
        return session, got

    yield make
    for session in made:
        session.stop()
        assert not session.is_running()


@pytest.fixture
def notices() -> Iterator[list[str]]:
    seen: list[str] = []
    unsubscribe = notify.notifier.subscribe(lambda n: seen.append(n.message))
    yield seen
    unsubscribe()


# ---------------------------------------------------------------------------------------------- the loop


def test_start_process_and_stop(make_session) -> None:
    segmenter = FakeSegmenter()
    session, got = make_session(lambda: frames_source(), segmenter=segmenter)
    got.wait(lambda: got.count >= 5)
    result = got.last()
    assert is_processed(result) and result.fallback is False
    assert result.pixels.shape == (120, 160, 3)
    assert result.frame.source_id == "fake-cam"
    assert set(result.timings) == {"resize", "inference", "mask", "compose"}
    session.stop()
    assert not session.is_running()
    assert session.processed >= 5
    # one model run a frame; the live crop adds one on the frame that first finds somebody and one every LOOK_EVERY
    assert session.processed <= segmenter.calls <= session.processed + 1 + session.processed // LOOK_EVERY
    assert {t.name for t in threading.enumerate()}.isdisjoint({"locallens-capture", "locallens-processing"})


def test_frames_pass_through_until_the_model_is_ready(make_session) -> None:
    session, got = make_session(lambda: frames_source())
    got.wait(lambda: got.count >= 3 and bool(got.stats))
    assert not is_processed(got.last())
    assert got.last().pixels is got.last().frame.pixels
    assert got.stats[-1].model_ready is False and got.stats[-1].provider == ""
    session.set_segmenter(FakeSegmenter())
    got.wait(lambda: is_processed(got.last()) and got.stats[-1].model_ready)
    assert got.stats[-1].provider == "FakeExecutionProvider"
    assert got.stats[-1].fallback_reason is None
    assert got.stats[-1].capture_fps > 0


def test_switching_effects_while_running_applies_to_the_next_frames(make_session) -> None:
    session, got = make_session(lambda: frames_source(), segmenter=FakeSegmenter())
    got.wait(lambda: got.count >= 2)
    session.set_params(EffectParams(effect="remove", color=None, smoothing=0.0))
    got.wait(lambda: got.last().pixels.ndim == 3 and got.last().pixels.shape[2] == 4)
    rgba = got.last().pixels
    assert rgba[60, 80, 3] == 255 and rgba[2, 2, 3] == 0  # person opaque, corner transparent
    session.set_params(EffectParams(effect="none"))
    got.wait(lambda: got.last().pixels is got.last().frame.pixels)
    assert session.params.effect == "none"


def test_no_camera_shows_a_message_and_plays_the_demo(make_session) -> None:
    session, got = make_session(missing_camera, segmenter=FakeSegmenter(), retry_interval=10.0)
    got.wait(lambda: got.count >= 3 and bool(got.stats) and got.stats[-1].on_demo)
    assert got.last().frame.source_id == "demo" and got.last().fallback is True
    assert session.on_demo is True
    assert session.message.startswith("No camera was found.") and "sample" in session.message
    assert got.messages == [session.message]
    assert got.stats[-1].source == "demo" and got.sources == ["demo"]


def test_no_camera_and_no_demo_still_says_why(make_session) -> None:
    _session, got = make_session(missing_camera, demo_factory=None, retry_interval=10.0)
    got.wait(lambda: bool(got.messages))
    assert got.messages == ["No camera was found.\nTrying again every 10 s."]
    assert got.count == 0


def test_a_camera_unplugged_mid_stream_falls_back_to_the_demo_and_resumes(make_session) -> None:
    camera = Unpluggable()
    session, got = make_session(camera.factory, segmenter=FakeSegmenter())
    got.wait(lambda: got.count >= 3)
    assert got.last().frame.source_id == "fake-cam" and camera.opens == 1
    camera.unplugged.set()
    got.wait(lambda: got.last().frame.source_id == "demo")
    assert session.message.startswith("fake-cam stopped sending frames") and session.on_demo is True
    camera.unplugged.clear()
    got.wait(lambda: got.last().frame.source_id == "fake-cam")
    assert session.message == "" and session.on_demo is False and camera.opens == 2
    assert got.messages == ["fake-cam stopped sending frames: was it unplugged?\n"
                            "Showing the sample instead; trying the camera again every 0.05 s.", ""]


def test_set_source_switches_cameras(make_session) -> None:
    session, got = make_session(lambda: frames_source("first"))
    got.wait(lambda: got.count >= 1 and got.last().frame.source_id == "first")
    session.set_source(lambda: frames_source("second", value=50))
    got.wait(lambda: got.last().frame.source_id == "second")
    assert session.source_name == "second" and got.last().pixels[0, 0, 0] == 50
    assert got.sources == ["first", "second"]


class BrokenSegmenter(FakeSegmenter):
    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        raise RuntimeError("model exploded")


def test_a_failing_pipeline_is_reported_once_and_frames_keep_coming(make_session, notices) -> None:
    session, got = make_session(lambda: frames_source(), segmenter=BrokenSegmenter())
    got.wait(lambda: got.count >= 10)
    assert notices == ["The effect could not be applied: model exploded"]
    assert not is_processed(got.last()) and session.processed == 0


def test_a_failing_listener_does_not_stop_the_loop(make_session) -> None:
    session, got = make_session(lambda: frames_source(), start=False)
    session.events.result.connect(lambda _r: 1 / 0)
    session.start()
    got.wait(lambda: got.count >= 3)
    assert session.is_running()


def test_an_unpaced_source_is_read_on_demand_so_no_frame_is_dropped(make_session) -> None:
    pixels = np.full((60, 80, 3), 90, np.uint8)
    unpaced = lambda: GeneratedSource(lambda _n: pixels, name="file", paced=False)  # noqa: E731
    session, got = make_session(unpaced, segmenter=FakeSegmenter())
    got.wait(lambda: session.processed >= 30)
    session.stop()
    assert session._slot.dropped == 0
    assert session._slot.put_count - session.processed in (0, 1)  # at most the frame in flight at stop


def test_on_demand_reading_counts_dropped_frames_as_gone() -> None:
    session = LiveSession(None, BLUR)
    frame = Frame(np.zeros((2, 2, 3), np.uint8), 0.0)
    session._slot.put(frame)
    session._slot.put(frame)  # replaces the first: one dropped
    assert session._slot.take(0) is frame
    assert not session._slot_empty()  # taken, but not yet counted
    session._note_taken()
    assert session._slot_empty()
    assert (session._taken, session._slot.dropped, session._slot.put_count) == (1, 1, 2)


# ---------------------------------------------------------------------------------------------- sinks


def halves() -> np.ndarray:
    """Black left half, white right half: a mirrored frame would start white."""
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, 30:] = 255
    pixels.setflags(write=False)
    return pixels


def test_every_processed_result_reaches_each_sink_unmirrored_at_the_output_size_and_rate(make_session) -> None:
    a, b = FakeSink("A"), FakeSink("B")
    source = lambda: GeneratedSource(lambda _n: halves(), name="halves", fps=60.0)  # noqa: E731
    session, got = make_session(source, params=EffectParams(effect="none"), segmenter=FakeSegmenter(), sinks=(a,))
    a.wait(lambda: a.sent >= 5)
    session.add_sink(b)  # at any time
    b.wait(lambda: b.sent >= 3)
    assert a.opened == [((60, 40), 60.0)] and b.opened == [((60, 40), 60.0)]
    assert (session.output_size, session.source_fps, session.output_fps) == ((60, 40), 60.0, 60.0)
    frame = a.last()
    assert frame.message is None and frame.rgb.shape == (40, 60, 3) and frame.rgb.dtype == np.uint8
    assert frame.rgb[0, 0, 0] == 0 and frame.rgb[0, -1, 0] == 255  # never mirrored
    indices = [f.index for f in a.frames]
    assert indices == sorted(set(indices))  # one index per frame out, increasing
    session.stop()  # the result of a frame sent is emitted right after the send: joined, every one is out
    assert a.last().captured_at in {r.frame.timestamp for r in got.results}  # the source frame's capture time
    assert (a.closed, b.closed) == (1, 1)  # stop closes them ...
    assert session.sinks == [a, b]  # ... and they stay attached: the next start opens them again
    session.start()
    a.wait(lambda: len(a.opened) == 2)


def test_a_cut_out_reaches_a_sink_composited_over_green(make_session) -> None:
    sink = FakeSink()
    params = EffectParams(effect="remove", color=None, smoothing=0.0)
    make_session(lambda: frames_source(), params=params, segmenter=FakeSegmenter(), sinks=(sink,))
    sink.wait(lambda: sink.sent >= 2)
    rgb = sink.last().rgb
    assert rgb.shape == (120, 160, 3)
    assert tuple(rgb[2, 2]) == GREEN_SCREEN and tuple(rgb[60, 80]) == (200, 200, 200)


def test_the_configured_rate_is_what_sinks_open_at(make_session) -> None:
    sink = FakeSink()
    session, _got = make_session(lambda: frames_source(), segmenter=FakeSegmenter(), sinks=(sink,), fps=25.0)
    sink.wait(lambda: bool(sink.opened))
    assert sink.opened == [((160, 120), 25.0)] and session.source_fps == 60.0


@pytest.mark.parametrize("fail_on", ["open", "send"])
def test_a_failing_sink_is_closed_and_dropped_with_one_notice_and_the_session_goes_on(make_session, notices,
                                                                                      fail_on) -> None:
    bad, good = FakeSink("Virtual camera", fail_on=fail_on, after=2), FakeSink("Recorder")
    removed: list[object] = []
    session, got = make_session(lambda: frames_source(), segmenter=FakeSegmenter(), sinks=(bad, good), start=False)
    session.events.sink_removed.connect(removed.append)
    session.start()
    bad.wait(lambda: bad.closed == 1)
    start = good.sent
    good.wait(lambda: good.sent >= start + 5)  # the other sink and the preview go on
    got.wait(lambda: got.count >= 5)
    assert session.sinks == [good] and session.is_running()
    session.stop()  # joined: the drop (close, notice, event) is over
    assert notices == ["Virtual camera stopped: the device went away"]
    assert removed == [bad]
    assert bad.sent == (0 if fail_on == "open" else 2)
    assert bad.closed == 1 and good.closed == 1


def test_a_sink_that_raises_anything_is_dropped_too(make_session, notices) -> None:
    bad = FakeSink("Virtual camera", fail_on="send", error=ValueError("bad frame"))
    session, got = make_session(lambda: frames_source(), segmenter=FakeSegmenter(), sinks=(bad,))
    bad.wait(lambda: bad.closed == 1)
    got.wait(lambda: got.count >= 3)
    session.stop()
    assert notices == ["Virtual camera stopped: bad frame"] and session.sinks == []


def test_remove_sink_closes_it_and_nothing_is_sent_after(make_session) -> None:
    sink = FakeSink()
    session, got = make_session(lambda: frames_source(), segmenter=FakeSegmenter(), sinks=(sink,))
    sink.wait(lambda: sink.sent >= 3)
    session.remove_sink(sink)
    assert sink.closed == 1 and session.sinks == []
    sent, seen = sink.sent, got.count
    got.wait(lambda: got.count >= seen + 5)
    assert sink.sent == sent
    session.stop()
    assert sink.closed == 1  # not closed twice


def test_while_the_demo_stands_in_sinks_get_the_message_frame_not_the_sample(make_session) -> None:
    camera, sink = Unpluggable(), FakeSink()
    session, got = make_session(camera.factory, segmenter=FakeSegmenter(), sinks=(sink,))
    sink.wait(lambda: sink.sent >= 3)
    assert sink.last().message is None
    camera.unplugged.set()
    got.wait(lambda: got.last().frame.source_id == "demo")  # the preview plays the demo ...
    sink.wait(lambda: sink.last().message == LOST_TEXT)  # ... sinks say the camera is lost, at the camera's size
    start = sink.sent
    sink.wait(lambda: sink.sent >= start + 3)
    lost = [f for f in sink.frames if f.message is not None]
    assert all(f.rgb.shape == (120, 160, 3) and f.message == LOST_TEXT for f in lost)
    assert np.array_equal(lost[-1].rgb, message_frame((160, 120), LOST_TEXT))
    camera.unplugged.clear()
    sink.wait(lambda: sink.last().message is None)
    assert sink.last().rgb.shape == (120, 160, 3) and len(sink.opened) == 1  # no gap, no reopen
    assert session.on_demo is False


def test_without_a_demo_message_frames_keep_flowing_at_the_output_rate(make_session) -> None:
    sink = FakeSink()
    make_session(missing_camera, demo_factory=None, retry_interval=10.0, sinks=(sink,), fps=50.0)
    sink.wait(lambda: sink.sent >= 5)
    assert sink.opened == [(DEFAULT_SIZE, 50.0)]
    assert {f.message for f in sink.frames} == {LOST_TEXT}
    assert sink.last().rgb.shape == (DEFAULT_SIZE[1], DEFAULT_SIZE[0], 3)
    times = [f.captured_at for f in sink.frames]
    assert times == sorted(times)


def test_the_demo_chosen_on_purpose_is_sent_processed(make_session) -> None:
    sink = FakeSink()
    session, _got = make_session(demo_source, segmenter=FakeSegmenter(), sinks=(sink,))
    sink.wait(lambda: sink.sent >= 3)
    assert session.on_demo is False and sink.last().message is None


def test_sinks_never_get_an_unprocessed_picture(make_session) -> None:
    """Before the model is ready, or while the effect fails, the real background must not reach a call."""
    sink = FakeSink()
    session, _got = make_session(lambda: frames_source(), sinks=(sink,))
    sink.wait(lambda: sink.sent >= 3)
    assert {f.message for f in sink.frames} == {STARTING_TEXT}
    assert all(f.rgb.mean() < 60 for f in sink.frames)  # the source is a bright wall (200)
    session.set_segmenter(BrokenSegmenter())
    sink.wait(lambda: sink.last().message == FAILED_TEXT)
    session.set_segmenter(FakeSegmenter())
    sink.wait(lambda: sink.last().message is None)


def test_a_sink_keeps_its_size_when_the_resolution_changes(make_session) -> None:
    sink = FakeSink()
    session, got = make_session(lambda: frames_source(), segmenter=FakeSegmenter(), sinks=(sink,))
    sink.wait(lambda: sink.sent >= 2)
    session.set_source(lambda: frames_source("big", size=(320, 180)))
    got.wait(lambda: got.last().frame.source_id == "big")
    sink.wait(lambda: sink.last().rgb[0, 0, 0] == 0)  # 16:9 in 4:3: letterboxed on black
    assert sink.last().rgb.shape == (120, 160, 3) and sink.opened == [((160, 120), 60.0)]
    assert session.output_size == (320, 180)  # what a sink added now opens at


# ---------------------------------------------------------------------------------------------- pictures


def test_message_frame_is_a_dark_picture_with_the_text_drawn() -> None:
    frame = message_frame((320, 180), "Camera lost - reconnecting\nNo camera was found. Plug one in (it is picked "
                                      "up automatically) or drop photos on the window.")
    assert frame.shape == (180, 320, 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
    assert np.median(frame) == MESSAGE_BACKGROUND
    assert frame.max() > 200  # the text
    assert (frame > 100).any(axis=(0, 2))[[5, -6]].tolist() == [False, False]  # wrapped inside the frame
    assert not np.array_equal(frame, message_frame((320, 180), "Other text"))
    assert np.array_equal(message_frame((64, 48), ""), np.full((48, 64, 3), MESSAGE_BACKGROUND, np.uint8))
    assert message_frame((64, 48), "Caf\u00e9 \u2026").shape == (48, 64, 3)  # non-ASCII: drawn as ASCII


def test_fit_to_keeps_the_aspect_on_black() -> None:
    rgb = np.full((90, 160, 3), 200, np.uint8)
    assert fit_to(rgb, (160, 90)) is rgb
    boxed = fit_to(rgb, (160, 120))
    assert boxed.shape == (120, 160, 3)
    assert boxed[0, 80].tolist() == [0, 0, 0] and boxed[60, 80].tolist() == [200, 200, 200]
    assert boxed[:15].max() == 0 and boxed[105:].max() == 0
