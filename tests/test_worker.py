"""The Qt adapter over the live session (ui/worker.py): signals reach the GUI thread, the mirror is the preview's
only (sinks get the unmirrored frame), a failed sink is reported as a signal."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage
from sink_fakes import FakeSink
from ui_fakes import FakeSegmenter, frames_source, missing_camera

from desktop_app.core.buffers import BufferPool
from desktop_app.core.live import LOST_TEXT, LiveSession
from desktop_app.core.params import EffectParams
from desktop_app.core.sources import GeneratedSource
from desktop_app.ui.qimage import to_display_image
from desktop_app.ui.worker import LiveWorker, ShownResult, display_image

NONE = EffectParams(effect="none")
WAIT = 10000


def halves() -> GeneratedSource:
    """Black left half, white right half: a mirrored picture starts white."""
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, 30:] = 255
    pixels.setflags(write=False)
    return GeneratedSource(lambda _n: pixels, name="halves", fps=60.0)


class Receiver(QObject):
    """Bound slots that note the thread they run on."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[ShownResult] = []
        self.threads: set[str] = set()
        self.removed: list[object] = []
        self.sources: list[str] = []

    @Slot(object)
    def on_result(self, result: ShownResult) -> None:
        self.threads.add(threading.current_thread().name)
        self.results.append(result)

    @Slot(str)
    def on_source(self, name: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.sources.append(name)

    @Slot(object)
    def on_removed(self, sink: object) -> None:
        self.threads.add(threading.current_thread().name)
        self.removed.append(sink)


@pytest.fixture
def workers() -> Iterator[list[LiveWorker]]:
    made: list[LiveWorker] = []
    yield made
    for worker in made:
        worker.stop()
        assert not worker.is_running()


def wire(worker: LiveWorker, workers: list[LiveWorker]) -> Receiver:
    receiver = Receiver()
    worker.result_ready.connect(receiver.on_result)
    worker.source_changed.connect(receiver.on_source)
    worker.sink_removed.connect(receiver.on_removed)
    worker._test_receiver = receiver  # type: ignore[attr-defined]  # kept alive with the worker
    workers.append(worker)
    return receiver


def test_the_worker_is_a_thin_adapter_whose_signals_arrive_on_the_gui_thread(qtbot, workers) -> None:
    worker = LiveWorker(lambda: frames_source(), NONE, demo_factory=None, stats_interval=0.1)
    got = wire(worker, workers)
    assert isinstance(worker.session, LiveSession)
    worker.set_segmenter(FakeSegmenter())
    with qtbot.waitSignal(worker.stats_ready, timeout=WAIT):
        worker.start()
    qtbot.waitUntil(lambda: len(got.results) >= 3 and bool(got.sources), timeout=WAIT)
    assert got.threads == {threading.main_thread().name}
    result = got.results[-1]
    assert isinstance(result, ShownResult) and result.image is not None
    assert result.image.size().toTuple() == (160, 120)
    assert worker.source_name == "fake-cam" == got.sources[0] and worker.processed >= 3


def test_the_mirror_flips_the_preview_only_never_what_a_sink_gets(qtbot, workers) -> None:
    sink = FakeSink()
    worker = LiveWorker(halves, NONE, demo_factory=None, mirror=True)
    got = wire(worker, workers)
    worker.set_segmenter(FakeSegmenter())
    worker.add_sink(sink)
    worker.start()
    qtbot.waitUntil(lambda: len(got.results) >= 2 and sink.sent >= 2, timeout=WAIT)
    shown = got.results[-1]
    assert shown.pixels[0, 0, 0] == 255 and shown.image.pixelColor(0, 0).red() == 255  # the preview: mirrored
    assert shown.frame.pixels[0, 0, 0] == 0  # processing saw the frame as captured
    assert sink.last().rgb[0, 0, 0] == 0 and sink.last().rgb[0, -1, 0] == 255  # the sink: never mirrored
    worker.set_mirror(False)
    count = len(got.results)
    qtbot.waitUntil(lambda: len(got.results) > count + 1 and got.results[-1].pixels[0, 0, 0] == 0, timeout=WAIT)
    worker.remove_sink(sink)
    assert sink.closed == 1


def test_the_demo_standing_in_has_its_own_mirror_and_sinks_get_the_message(qtbot, workers) -> None:
    sink = FakeSink()
    demo = lambda: GeneratedSource(halves().make, name="demo", fps=60.0)  # noqa: E731
    worker = LiveWorker(missing_camera, NONE, demo_factory=demo, retry_interval=10.0, mirror=True)
    got = wire(worker, workers)
    worker.set_segmenter(FakeSegmenter())
    worker.add_sink(sink)
    worker.start()
    qtbot.waitUntil(lambda: len(got.results) >= 2 and sink.sent >= 2, timeout=WAIT)
    assert worker.on_demo and got.results[-1].fallback
    assert got.results[-1].pixels[0, 0, 0] == 0  # the sample reads the right way round
    assert sink.last().message == LOST_TEXT  # a call never sees the sample as if it were the user
    worker.set_demo_mirror(True)
    qtbot.waitUntil(lambda: got.results[-1].pixels[0, 0, 0] == 255, timeout=WAIT)


def test_a_failed_sink_is_signalled_on_the_gui_thread(qtbot, workers) -> None:
    sink = FakeSink("Virtual camera", fail_on="open")
    worker = LiveWorker(lambda: frames_source(), NONE, demo_factory=None)
    got = wire(worker, workers)
    worker.set_segmenter(FakeSegmenter())
    worker.add_sink(sink)
    with qtbot.waitSignal(worker.sink_removed, timeout=WAIT) as blocker:
        worker.start()
    assert blocker.args == [sink]
    qtbot.waitUntil(lambda: got.removed == [sink], timeout=WAIT)
    assert got.threads == {threading.main_thread().name} and sink.closed == 1
    assert worker.is_running()


def test_results_queued_to_the_view_carry_no_mask(qtbot, workers) -> None:
    """The pipeline makes a full-size float mask per frame; the view never reads it, so what is queued to the GUI
    thread (up to MAX_IN_FLIGHT, plus the one on screen) must not hold it: 3.7 MB each at 720p over an hour."""
    seen: list[object] = []
    worker = LiveWorker(halves, EffectParams(effect="blur"), demo_factory=None)
    worker.session.events.result.connect(lambda r: seen.append(r.mask))
    got = wire(worker, workers)
    worker.set_segmenter(FakeSegmenter())
    worker.start()
    qtbot.waitUntil(lambda: len(got.results) >= 2, timeout=WAIT)
    assert any(mask is not None for mask in seen)  # the session's own result has it
    assert all(r.mask is None for r in got.results)


class Holder(QObject):
    """Keeps the first result for good (as a snapshot being written would) and only the newest after it."""

    def __init__(self) -> None:
        super().__init__()
        self.first: ShownResult | None = None
        self.latest: ShownResult | None = None
        self.count = 0

    @Slot(object)
    def on_result(self, result: ShownResult) -> None:
        if self.first is None:
            self.first = result
        else:
            self.latest = result
        self.count += 1


def test_the_preview_reuses_its_buffers_but_never_one_still_held(qtbot, workers) -> None:
    """The mirror and the display image go into pooled buffers: a result someone keeps (the view, a snapshot)
    is never written over while later frames go through, and the others' buffers are reused."""
    def frame(n: int) -> np.ndarray:
        pixels = np.full((40, 60, 3), n % 200, np.uint8)
        pixels[:, :10] = 255  # a white band on the left: on the right once mirrored
        return pixels

    worker = LiveWorker(lambda: GeneratedSource(frame, name="counting", fps=120.0), NONE, demo_factory=None,
                        mirror=True)
    holder = Holder()
    worker.result_ready.connect(holder.on_result)
    worker._test_receiver = holder  # type: ignore[attr-defined]
    workers.append(worker)
    worker.set_segmenter(FakeSegmenter())
    worker.start()
    qtbot.waitUntil(lambda: holder.count >= 25, timeout=WAIT)
    worker.stop()
    first = holder.first
    assert first is not None and first.image is not None
    expected = first.frame.pixels[:, ::-1]
    assert np.array_equal(first.pixels, expected)  # still the mirror of its own frame
    assert first.image == to_display_image(expected)
    assert holder.latest is not None and np.array_equal(holder.latest.pixels, holder.latest.frame.pixels[:, ::-1])
    assert worker._mirror_pool.allocated <= 5 and worker._display_pool.allocated <= 5  # reused, not per frame


def test_the_pooled_display_image_is_the_one_qt_converts() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    pool = BufferPool()
    image = display_image(pixels, pool)
    assert image.format() == QImage.Format.Format_RGB32 and image == to_display_image(pixels)
    rgba = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    assert display_image(rgba, pool) == to_display_image(rgba) and pool.allocated == pool.keep  # RGBA: Qt's conversion
