"""The Record button: start/stop attaches a Recorder to the live worker, shows the time, reports the path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget
from test_recorder import FullDisk
from ui_fakes import FakeSegmenter, demo_source, frames_source

from desktop_app.core import notify
from desktop_app.core.params import EffectParams
from desktop_app.core.recorder import Recorder
from desktop_app.core.settings import Settings
from desktop_app.core.sinks import FrameSink, SinkError, SinkFrame
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.record_button import RecordButton, elapsed_text
from desktop_app.ui.worker import LiveWorker

WHEN = datetime(2026, 12, 2, 10, 0, 0)


class FakeHost(QObject):
    """Stands in for the live worker: opens a sink at once and feeds it frames on demand."""

    sink_removed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.sinks: list[FrameSink] = []
        self.sent = 0

    def add_sink(self, sink: FrameSink) -> None:
        sink.open((64, 48), 30)
        self.sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        self.sinks.remove(sink)
        with contextlib.suppress(SinkError):  # as the live session does: the button must read the error itself
            sink.close()

    def feed(self, count: int) -> None:
        for _ in range(count):
            for sink in self.sinks:
                sink.send(SinkFrame(np.full((48, 64, 3), 120, np.uint8), self.sent / 30, self.sent))
                assert isinstance(sink, Recorder) and sink.drain(timeout=10)
            self.sent += 1


@pytest.fixture
def notices() -> Iterator[list[notify.Notice]]:
    seen: list[notify.Notice] = []
    unsubscribe = notify.notifier.subscribe(seen.append)
    yield seen
    unsubscribe()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_button(qtbot, tmp_path: Path, **kwargs) -> tuple[RecordButton, FakeHost, QWidget]:
    settings = Settings(recording_dir=str(tmp_path / "rec"))
    host = FakeHost()
    window = QWidget()
    layout = QHBoxLayout(window)
    layout.addWidget(QLabel("live bar"))
    kwargs.setdefault("recorder_factory", lambda folder: Recorder(folder, now=lambda: WHEN))
    button = RecordButton(settings, host, **kwargs)
    layout.addWidget(button)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window._host = host  # type: ignore[attr-defined]  # keep it alive with the window
    return button, host, window


def _frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return sum(1 for _ in container.decode(video=0))


def test_start_then_stop_records_a_playable_file_and_gives_its_path(qtbot, tmp_path: Path, notices) -> None:
    button, host, _ = make_button(qtbot, tmp_path)
    with qtbot.waitSignal(button.recording_changed) as started:
        button.click()
    assert started.args == [True] and button.recording and len(host.sinks) == 1
    host.feed(9)
    with qtbot.waitSignal(button.saved) as saved:
        button.click()
    path = tmp_path / "rec" / "LocalLens 2026-12-02 10-00-00.mp4"
    assert saved.args == [path] and not button.recording and host.sinks == []
    assert _frames_in(path) == 9
    assert [n.message for n in notices] == [f"Recording saved: {path} (0:00, 9 frames)"]
    assert button.last_path == path and str(path) in button.toolTip()


def test_the_button_shows_the_elapsed_time_while_recording_and_the_shortcut_in_its_tooltip(
        qtbot, tmp_path: Path) -> None:
    clock = Clock()
    button, host, _ = make_button(qtbot, tmp_path, clock=clock)
    assert button.text() == "● Record" and "(Ctrl+R)" in button.toolTip()
    assert "rec" in button.toolTip()  # where it will go
    button.start()
    assert button.text() == "■ Stop 0:00" and button.toolTip().startswith("Stop recording (Ctrl+R)")
    clock.now += 72.4
    qtbot.waitUntil(lambda: button.text() == "■ Stop 1:12", timeout=3000)  # the timer refreshes it
    host.feed(1)
    button.stop()
    assert button.text() == "● Record"
    assert elapsed_text(3723) == "1:02:03" and elapsed_text(7.9) == "0:07"


def test_ctrl_r_starts_and_stops_recording_only_while_the_button_is_shown(qtbot, tmp_path: Path) -> None:
    button, host, window = make_button(qtbot, tmp_path)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert button.recording
    host.feed(2)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not button.recording and button.last_path is not None and _frames_in(button.last_path) == 2
    button.hide()  # as when another tab is in front
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not button.recording


def test_a_recorder_the_session_dropped_resets_the_button_without_a_second_notice(
        qtbot, tmp_path: Path, notices) -> None:
    button, host, _ = make_button(qtbot, tmp_path)
    button.start()
    recorder = button.recorder
    assert recorder is not None
    host.feed(12)  # more than one 0.25 s fragment: some of it is on disk
    host.sinks.remove(recorder)
    recorder._fail(OSError(28, "No space left on device"))  # as the encoder thread records a full disk
    with pytest.raises(SinkError):
        recorder.close()  # the session closes a sink it drops
    with qtbot.waitSignal(button.failed) as failed:
        host.sink_removed.emit(recorder)  # the session already said "Recording stopped: ..."
    assert failed.args[0].startswith("the disk is full; the video up to then is kept in ")
    assert button.last_path is not None and _frames_in(button.last_path) >= 7
    assert not button.recording and button.text() == "● Record" and notices == []


def test_an_error_only_close_reports_is_shown_as_a_warning(qtbot, tmp_path: Path, notices) -> None:
    button, host, _ = make_button(qtbot, tmp_path)
    button.start()
    host.feed(3)
    assert button.recorder is not None
    button.recorder._fail(OSError(28, "No space left on device"))  # found while finishing the file
    with qtbot.waitSignal(button.failed):
        button.stop()
    assert [(n.severity, n.message.split(";")[0]) for n in notices] == [
        (notify.Severity.WARNING, "Recording stopped: the disk is full")]


def test_nothing_recorded_leaves_no_file_and_says_so(qtbot, tmp_path: Path, notices) -> None:
    button, _host, _ = make_button(qtbot, tmp_path)
    button.start()
    assert button.stop() is None
    assert [n.message for n in notices] == ["Nothing was recorded: no processed frame arrived."]
    assert list((tmp_path / "rec").iterdir()) == []


def test_the_folder_is_chosen_from_the_menu_and_remembered(qtbot, tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere"
    asked: list[str] = []

    def picker(_parent: QWidget, start: str) -> Path:
        asked.append(start)
        return chosen

    button, host, _ = make_button(qtbot, tmp_path, picker=picker)
    button.folder_action.trigger()
    assert asked == [str(tmp_path / "rec")] and button._settings.recording_dir == str(chosen)
    assert str(chosen) in button.folder_action.text() or "elsewhere" in button.folder_action.text()
    button.start()
    host.feed(1)
    path = button.stop()
    assert path is not None and path.parent == chosen


def test_with_the_real_live_worker_start_stop_records_the_processed_frames(qtbot, tmp_path: Path, notices) -> None:
    worker = LiveWorker(lambda: frames_source(fps=60.0), EffectParams(effect="none"), demo_factory=None)
    worker.set_segmenter(FakeSegmenter())
    try:
        worker.start()
        button = RecordButton(Settings(recording_dir=str(tmp_path)), worker)
        qtbot.addWidget(button)
        button.start()
        recorder = button.recorder
        assert recorder is not None
        qtbot.waitUntil(lambda: recorder.stats.frames_written >= 12, timeout=10000)
        path = button.stop()
    finally:
        worker.stop()
    assert path is not None and path.parent == tmp_path and recorder not in worker.session.sinks
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 160, 120)
        frames = list(container.decode(video=0))
    assert len(frames) == recorder.stats.frames_written >= 12
    times = [f.time for f in frames]
    assert times == sorted(times) and times[-1] == pytest.approx(recorder.stats.duration - 1 / 60, abs=0.02)
    assert notices[-1].message.startswith(f"Recording saved: {path}")


def test_in_the_window_ctrl_r_records_the_live_tab_and_leaving_it_saves_the_recording(
        qtbot, tmp_path: Path, notices) -> None:
    camera = tmp_path / "wall.png"
    cv2.imwrite(str(camera), np.full((120, 160, 3), 90, np.uint8))
    settings = Settings(effect=EffectParams(effect="none"), recording_dir=str(tmp_path / "videos"))
    window = MainWindow(settings, camera_file=camera, segmenter_factory=FakeSegmenter, demo_factory=demo_source,
                        camera_lister=list, retry_interval=0.05)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.start()
    try:
        button = window.live_tab.record_button
        assert button.isVisible() and "(Ctrl+R)" in button.toolTip()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=3000)
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        recorder = button.recorder
        assert recorder is not None and button.text().startswith("■ Stop")
        qtbot.waitUntil(lambda: recorder.stats.frames_written >= 10, timeout=10000)
        with qtbot.waitSignal(button.saved, timeout=10000) as saved:
            window.tabs.setCurrentIndex(1)  # the Photos tab pauses the live view: the recording ends, saved
        assert button.text() == "● Record" and not button.isVisible()
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        assert not button.recording  # the shortcut is the Live tab's only
    finally:
        window.shutdown()
    path = saved.args[0]
    assert path.parent == tmp_path / "videos" and _frames_in(path) == recorder.stats.frames_written >= 10
    assert any(n.message.startswith(f"Recording saved: {path}") for n in notices)


def test_a_full_disk_mid_recording_gives_one_notice_resets_the_button_and_keeps_a_playable_file(
        qtbot, tmp_path: Path, notices) -> None:
    class Disk(FullDisk):
        room = 2_500  # the header and the first fragments of a flat 160x120 picture, then full

    worker = LiveWorker(lambda: frames_source(fps=60.0), EffectParams(effect="none"), demo_factory=None)
    worker.set_segmenter(FakeSegmenter())
    button = RecordButton(Settings(recording_dir=str(tmp_path)), worker,
                          recorder_factory=lambda folder: Recorder(folder, now=lambda: WHEN,
                                                                   opener=lambda p: Disk(p, "xb")))
    qtbot.addWidget(button)
    try:
        worker.start()
        with qtbot.waitSignal(button.failed, timeout=20000) as failed:
            button.start()
    finally:
        worker.stop()
    path = tmp_path / "LocalLens 2026-12-02 10-00-00.mp4"
    assert failed.args == [f"the disk is full; the video up to then is kept in {path}"]
    assert [(n.severity, n.message) for n in notices] == [
        (notify.Severity.WARNING, f"Recording stopped: the disk is full; the video up to then is kept in {path}")]
    assert not button.recording and button.text() == "● Record" and button.last_path == path
    with av.open(str(path)) as container:
        assert len(list(container.decode(video=0))) >= 5  # to its end, without an error
