"""The live path: worker threads, source failure -> demo -> resume, effects switched while running, the view."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QColor
from ui_fakes import FakeSegmenter, demo_source, frames_source, missing_camera

from desktop_app.core.frames import Frame, Result
from desktop_app.core.notify import Notifier, Severity
from desktop_app.core.params import EffectParams
from desktop_app.core.person_crop import LOOK_EVERY
from desktop_app.core.sources import GeneratedSource
from desktop_app.ui.error_dialog import ErrorReporter
from desktop_app.ui.live_view import LiveView
from desktop_app.ui.qimage import to_qimage
from desktop_app.ui.worker import LiveStats, LiveWorker, ModelLoader, is_processed

BLUR = EffectParams(effect="blur", smoothing=0.0)


class Collector(QObject):
    """Receives worker signals on the GUI thread (a bound slot, never a lambda)."""

    def __init__(self) -> None:
        super().__init__()
        self.results: deque[Result] = deque(maxlen=50)
        self.stats: list[LiveStats] = []
        self.messages: list[str] = []
        self.count = 0

    @Slot(object)
    def on_result(self, result: Result) -> None:
        self.results.append(result)
        self.count += 1

    @Slot(object)
    def on_stats(self, stats: LiveStats) -> None:
        self.stats.append(stats)

    @Slot(str)
    def on_message(self, text: str) -> None:
        self.messages.append(text)

    def last(self) -> Result:
        return self.results[-1]


@pytest.fixture
def make_worker() -> Iterator[Callable[..., tuple[LiveWorker, Collector]]]:
    """Builds started workers wired to a Collector; stops and joins every one at teardown."""
    made: list[LiveWorker] = []

    def make(factory=None, params: EffectParams = BLUR, segmenter=None, start: bool = True,
             **kwargs) -> tuple[LiveWorker, Collector]:
        kwargs.setdefault("demo_factory", demo_source)
        kwargs.setdefault("retry_interval", 0.05)
        kwargs.setdefault("stats_interval", 0.1)
        worker = LiveWorker(factory, params, **kwargs)
        collector = Collector()
        worker.result_ready.connect(collector.on_result)
        worker.stats_ready.connect(collector.on_stats)
        worker.message_changed.connect(collector.on_message)
        if segmenter is not None:
            worker.set_segmenter(segmenter)
        made.append(worker)
        worker._test_collector = collector  # type: ignore[attr-defined]  # keep it alive with the worker
        if start:
            worker.start()
        return worker, collector

    yield make
    for worker in made:
        worker.stop()
        assert not worker.is_running()


def test_start_process_and_stop(qtbot, make_worker) -> None:
    segmenter = FakeSegmenter()
    worker, got = make_worker(lambda: frames_source(), segmenter=segmenter)
    qtbot.waitUntil(lambda: got.count >= 5, timeout=5000)
    result = got.last()
    assert is_processed(result)
    assert result.pixels.shape == (120, 160, 3)
    assert result.frame.source_id == "fake-cam"
    assert set(result.timings) == {"resize", "inference", "mask", "compose"}
    worker.stop()
    assert not worker.is_running()
    assert worker.processed >= 5
    # one model run a frame; the live crop adds one on the frame that first finds somebody and one every LOOK_EVERY
    assert worker.processed <= segmenter.calls <= worker.processed + 1 + worker.processed // LOOK_EVERY


def test_frames_pass_through_until_the_model_is_ready(qtbot, make_worker) -> None:
    worker, got = make_worker(lambda: frames_source())
    qtbot.waitUntil(lambda: got.count >= 3 and bool(got.stats), timeout=5000)
    assert not is_processed(got.last())
    assert np.array_equal(got.last().pixels, got.last().frame.pixels)
    assert got.stats[-1].model_ready is False
    assert got.stats[-1].provider == ""
    worker.set_segmenter(FakeSegmenter())
    qtbot.waitUntil(lambda: is_processed(got.last()), timeout=5000)
    qtbot.waitUntil(lambda: got.stats[-1].model_ready, timeout=5000)
    assert got.stats[-1].provider == "FakeExecutionProvider"
    assert got.stats[-1].fallback_reason is None


def test_no_camera_shows_a_message_and_plays_the_demo(qtbot, make_worker) -> None:
    worker, got = make_worker(missing_camera, segmenter=FakeSegmenter(), retry_interval=10.0)
    qtbot.waitUntil(lambda: got.count >= 3, timeout=5000)
    assert got.last().frame.source_id == "demo"
    assert worker.on_demo is True
    assert worker.message.startswith("No camera was found.")
    assert "sample" in worker.message
    assert got.messages == [worker.message]
    qtbot.waitUntil(lambda: bool(got.stats) and got.stats[-1].on_demo, timeout=5000)
    assert got.stats[-1].source == "demo"


def test_no_camera_and_no_demo_still_says_why(qtbot, make_worker) -> None:
    _worker, got = make_worker(missing_camera, demo_factory=None, retry_interval=10.0)
    qtbot.waitUntil(lambda: bool(got.messages), timeout=5000)
    assert got.messages == ["No camera was found.\nTrying again every 10 s."]
    assert got.count == 0


def test_mirror_flips_frames_left_to_right(qtbot, make_worker) -> None:
    half = np.zeros((40, 60, 3), np.uint8)
    half[:, 30:] = 255
    source = lambda: GeneratedSource(lambda _n: half, name="halves", fps=60.0)  # noqa: E731
    worker, got = make_worker(source, params=EffectParams(effect="none"))
    qtbot.waitUntil(lambda: got.count >= 1, timeout=5000)
    assert got.last().pixels[0, 0, 0] == 0
    worker.set_mirror(True)
    qtbot.waitUntil(lambda: got.last().pixels[0, 0, 0] == 255, timeout=5000)
    assert got.last().pixels[0, -1, 0] == 0


def test_the_demo_is_not_mirrored_with_the_camera_unless_asked(qtbot, make_worker) -> None:
    half = np.zeros((40, 60, 3), np.uint8)
    half[:, 30:] = 255
    demo = lambda: GeneratedSource(lambda _n: half, name="demo", fps=60.0)  # noqa: E731
    worker, got = make_worker(missing_camera, params=EffectParams(effect="none"), demo_factory=demo,
                              mirror=True, retry_interval=10.0)
    qtbot.waitUntil(lambda: got.count >= 2, timeout=5000)
    assert got.last().frame.source_id == "demo"
    assert got.last().pixels[0, 0, 0] == 0  # the sample reads the right way round
    worker.set_demo_mirror(True)
    qtbot.waitUntil(lambda: got.last().pixels[0, 0, 0] == 255, timeout=5000)


def test_model_loader_hands_over_the_segmenter_from_a_thread(qtbot) -> None:
    segmenter = FakeSegmenter()
    loader = ModelLoader(lambda: segmenter)
    with qtbot.waitSignal(loader.loaded, timeout=5000) as blocker:
        loader.start()
    assert blocker.args == [segmenter]
    assert loader.wait(5)
    assert loader.seconds is not None


def test_model_loader_reports_a_failure(qtbot) -> None:
    def boom() -> FakeSegmenter:
        raise ValueError("bad model file")

    loader = ModelLoader(boom)
    with qtbot.waitSignal(loader.failed, timeout=5000) as blocker:
        loader.start()
    assert blocker.args == ["bad model file"]
    assert loader.wait(5)


# ---------------------------------------------------------------------------------------------- images + view


def test_to_qimage_copies_rgb_rgba_and_gray() -> None:
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 1] = (10, 20, 30)
    image = to_qimage(rgb)
    rgb[0, 1] = (0, 0, 0)  # the QImage must not see later writes
    assert (image.width(), image.height()) == (3, 2)
    assert image.pixelColor(1, 0) == QColor(10, 20, 30)

    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[1, 1] = (1, 2, 3, 0)
    assert to_qimage(rgba).hasAlphaChannel()
    assert to_qimage(rgba).pixelColor(1, 1).alpha() == 0

    gray = np.full((4, 5), 77, np.uint8)
    assert to_qimage(gray).pixelColor(4, 3) == QColor(77, 77, 77)
    assert to_qimage(np.zeros((4, 6, 3), np.uint8)[:, ::2]).width() == 3  # non-contiguous input
    with pytest.raises(ValueError, match="uint8"):
        to_qimage(np.zeros((2, 2, 3), np.float32))


def _result(pixels: np.ndarray, timestamp: float) -> Result:
    return Result(Frame(np.zeros((2, 2, 3), np.uint8), timestamp), pixels, None, {})


def test_view_paints_only_the_newest_result_and_records_latency(qtbot) -> None:
    import time

    view = LiveView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    old = _result(np.full((30, 40, 3), 10, np.uint8), time.perf_counter())
    new = _result(np.full((30, 40, 3), 240, np.uint8), time.perf_counter())
    view.show_result(old)
    view.show_result(new)
    with qtbot.waitSignal(view.painted, timeout=5000) as blocker:
        view.repaint()
    assert view.current_result() is new
    assert view.paint_count == 1
    assert blocker.args[0] >= 0.0
    assert list(view.latencies) == [blocker.args[0]]
    shot = view.grab().toImage()
    assert shot.pixelColor(200, 150) == QColor(240, 240, 240)
    # 40x30 fills 400x300 exactly: aspect kept, no bars.
    assert view.target_rect(view.current_image().size()).toRect().size().toTuple() == (400, 300)


def test_view_letterboxes_and_shows_transparency_on_a_checkerboard(qtbot) -> None:
    view = LiveView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    rgba = np.zeros((10, 40, 4), np.uint8)  # fully transparent, 4:1
    view.show_result(_result(rgba, 0.0))
    rect = view.target_rect(view.current_image().size())
    assert (rect.width(), rect.height(), rect.top()) == (400.0, 100.0, 100.0)
    shot = view.grab().toImage()
    inside = {shot.pixelColor(x, 150).name() for x in range(0, 40)}
    assert inside == {"#cccccc", "#999999"}


def test_view_message_overlay(qtbot) -> None:
    view = LiveView()
    qtbot.addWidget(view)
    view.set_message("No camera was found.")
    assert view.message() == "No camera was found."
    view.set_message("")
    assert view.message() == ""


# ---------------------------------------------------------------------------------------------- error dialog


def test_error_dialog_shows_once_for_two_errors_from_any_thread(qtbot) -> None:
    notifier = Notifier()
    reporter = ErrorReporter()
    reporter.attach(notifier)
    try:
        notifier.error("first failure", "trace 1")
        thread = threading.Thread(target=notifier.error, args=("second failure",), name="reporter")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: reporter.dialog is not None and len(reporter.dialog.notices) == 2, timeout=5000)
        dialog = reporter.dialog
        qtbot.addWidget(dialog)
        assert reporter.dialogs_opened == 1
        assert dialog.isVisible()
        assert [n.message for n in dialog.notices] == ["first failure", "second failure"]
        assert dialog.summary() == "first failure …and 1 more (see Details)."

        dialog.accept()
        notifier.warning("third")
        qtbot.waitUntil(lambda: reporter.dialogs_opened == 2, timeout=5000)
        assert [n.message for n in reporter.dialog.notices] == ["third"]
        assert reporter.dialog.notices[0].severity == Severity.WARNING
        qtbot.addWidget(reporter.dialog)
    finally:
        reporter.detach()
        reporter.close_dialog()


def test_info_notices_go_to_the_status_line_not_a_dialog(qtbot) -> None:
    notifier = Notifier()
    reporter = ErrorReporter()
    reporter.attach(notifier)
    with qtbot.waitSignal(reporter.info, timeout=5000) as blocker:
        notifier.info("Snapshot saved")
    reporter.detach()
    assert blocker.args == ["Snapshot saved"]
    assert reporter.dialog is None


class CountingSegmenter(FakeSegmenter):
    """Sets `reached` when `predict` starts for the n-th time."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.reached = n, threading.Event()

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        out = super().predict(rgb)
        if self.calls >= self.n:
            self.reached.set()
        return out


def test_a_stalled_gui_thread_gets_only_the_newest_result_queued(qtbot, make_worker) -> None:
    segmenter = CountingSegmenter(7)  # the first frame takes two model runs (the live crop, core.person_crop)
    worker, got = make_worker(lambda: frames_source(fps=240.0), segmenter=segmenter)
    assert segmenter.reached.wait(10)  # the GUI thread is blocked here: nothing is delivered meanwhile
    assert got.count == 0
    assert worker._in_flight == 1  # one result waits for the GUI thread; the others are dropped, never queued
    assert worker.undelivered >= 4  # results 2 to 5 were not queued
    qtbot.waitUntil(lambda: got.count >= 4, timeout=5000)  # delivery resumes once the loop runs
    assert got.results[0].frame.index < got.results[2].frame.index
