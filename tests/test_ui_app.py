"""The application shell: window + live worker with a fake camera, snapshot, drops, settings, errors, --quit-after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox
from ui_fakes import FakeSegmenter, demo_source

from desktop_app import __version__
from desktop_app.core.notify import log, notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings, SettingsStore
from desktop_app.ui import app as app_module
from desktop_app.ui.about import about_text
from desktop_app.ui.app import AppWindow, create_app_window, run_app
from desktop_app.ui.main_window import NO_CAMERA
from desktop_app.ui.worker import is_processed


@pytest.fixture
def camera_png(tmp_path: Path) -> Path:
    """A still image used as the fake camera (`--camera PATH`)."""
    rgb = np.full((120, 160, 3), 180, np.uint8)
    path = tmp_path / "fake-camera.png"
    cv2.imwrite(str(path), rgb)
    return path


@pytest.fixture
def open_app(qtbot) -> Iterator[Callable[..., AppWindow]]:
    """Builds app windows with a fake segmenter, no real cameras and a synthetic demo; closes them all."""
    opened: list[AppWindow] = []

    def make(camera: Path | None = None, **kwargs) -> AppWindow:
        kwargs.setdefault("segmenter_factory", FakeSegmenter)
        kwargs.setdefault("demo_factory", demo_source)
        kwargs.setdefault("camera_lister", list)
        kwargs.setdefault("retry_interval", 0.05)
        parts = create_app_window(camera, **kwargs)
        qtbot.addWidget(parts.window)
        opened.append(parts)
        return parts

    yield make
    for parts in opened:
        parts.close()
        assert not parts.window.worker.is_running()
        assert parts.window.loader is None or parts.window.loader.wait(5)


def processed_result(parts: AppWindow):  # type: ignore[no-untyped-def]
    result = parts.window.live_view.current_result()
    return result if result is not None and is_processed(result) else None


def test_live_starts_with_the_fake_camera_and_stops_cleanly(qtbot, open_app, camera_png) -> None:
    parts = open_app(camera_png)
    window = parts.window
    assert window.isVisible()
    assert window.camera_combo.currentText() == "File: fake-camera.png"
    qtbot.waitUntil(lambda: window.processed_count >= 3, timeout=10000)
    result = processed_result(parts)
    assert result is not None
    assert result.frame.source_id == "fake-camera.png"
    assert result.pixels.shape == (720, 1280, 3)  # the fake camera is scaled to the chosen resolution
    qtbot.waitUntil(lambda: window.last_stats is not None and window.last_stats.model_ready, timeout=10000)
    assert window.status_labels["provider"].text() == "Fake"
    assert window.status_labels["source"].text() == "fake-camera.png"
    assert window.status_labels["capture"].text().startswith("capture ")
    parts.close()
    assert not window.worker.is_running()
    assert not window.photos._thread.isRunning()


def test_switching_the_effect_in_the_panel_applies_to_the_next_frames(qtbot, open_app, camera_png) -> None:
    parts = open_app(camera_png)
    window = parts.window
    qtbot.waitUntil(lambda: processed_result(parts) is not None, timeout=10000)
    assert processed_result(parts).pixels.shape[2] == 3
    window.effects.set_params(EffectParams(effect="remove", color=None, smoothing=0.0))
    qtbot.waitUntil(lambda: processed_result(parts) is not None and processed_result(parts).pixels.ndim == 3
                    and processed_result(parts).pixels.shape[2] == 4, timeout=10000)
    assert window.worker.params.effect == "remove"
    window.effects.set_params(EffectParams(effect="mask", smoothing=0.0))
    qtbot.waitUntil(lambda: processed_result(parts) is not None and processed_result(parts).pixels.ndim == 2,
                    timeout=10000)
    result = processed_result(parts)
    assert result.pixels.shape == result.frame.pixels.shape[:2]  # the mask at the camera frame's full size


def test_the_photos_tab_releases_the_camera_and_live_resumes_on_return(qtbot, open_app, camera_png) -> None:
    parts = open_app(camera_png)
    window = parts.window
    qtbot.waitUntil(lambda: window.processed_count >= 2, timeout=10000)
    window.tabs.setCurrentWidget(window.photos)
    assert not window.worker.is_running()
    assert window.status_labels["source"].text() == "paused"
    window.tabs.setCurrentWidget(window.live_tab)
    assert window.worker.is_running()
    before = window.processed_count
    qtbot.waitUntil(lambda: window.processed_count >= before + 2, timeout=10000)
    qtbot.waitUntil(lambda: window.status_labels["source"].text() == "fake-camera.png", timeout=10000)


def test_no_camera_shows_the_message_and_the_demo(qtbot, open_app) -> None:
    parts = open_app(None)
    window = parts.window
    assert window.camera_combo.currentText() == "No camera found"
    qtbot.waitUntil(lambda: window.live_view.message().startswith(NO_CAMERA), timeout=10000)
    qtbot.waitUntil(lambda: processed_result(parts) is not None, timeout=10000)
    assert processed_result(parts).frame.source_id == "demo"
    qtbot.waitUntil(lambda: window.status_labels["source"].text() == "demo (demo)", timeout=10000)


def test_a_camera_that_appears_later_is_picked_up_without_a_restart(qtbot, open_app, monkeypatch) -> None:
    from ui_fakes import frames_source

    from desktop_app.core.sources import CameraInfo
    from desktop_app.ui import live_tab

    plugged: list[CameraInfo] = []
    monkeypatch.setattr(live_tab, "Camera", lambda index, name, resolution: frames_source(name))
    parts = open_app(None, camera_lister=lambda: list(plugged))
    qtbot.waitUntil(lambda: processed_result(parts) is not None, timeout=10000)
    assert processed_result(parts).frame.source_id == "demo"
    plugged.append(CameraInfo(0, "USB Cam"))
    qtbot.waitUntil(lambda: processed_result(parts) is not None
                    and processed_result(parts).frame.source_id == "USB Cam", timeout=10000)
    assert parts.window.live_view.message() == ""
    qtbot.waitUntil(lambda: parts.window.camera_combo.currentText() == "USB Cam", timeout=5000)
    assert parts.settings.camera_name == "USB Cam"


def test_snapshot_writes_a_new_file_and_never_overwrites(qtbot, open_app, camera_png, tmp_path) -> None:
    parts = open_app(camera_png)
    window = parts.window
    window.snapshot_dir = tmp_path / "Pictures"
    qtbot.waitUntil(lambda: processed_result(parts) is not None, timeout=10000)
    shots: list[Path] = []  # snapshots are written off the GUI thread: `snapshot_saved` says where
    window.snapshot_saved.connect(shots.append)
    assert window.snapshot()
    qtbot.waitUntil(lambda: len(shots) == 1, timeout=5000)
    first = shots[0]
    assert first.parent == tmp_path / "Pictures"
    before = first.read_bytes()
    assert window.snapshot() and window.snapshot()
    qtbot.waitUntil(lambda: len(shots) == 3, timeout=5000)
    second, third = shots[1:]
    assert len({first, second, third}) == 3
    assert first.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "Pictures").iterdir()) == sorted(p.name for p in (first, second, third))
    saved = cv2.imread(str(second))
    assert saved.shape == (720, 1280, 3)


def test_space_takes_a_snapshot_on_the_live_tab(qtbot, open_app, camera_png, tmp_path) -> None:
    parts = open_app(camera_png)
    window = parts.window
    window.snapshot_dir = tmp_path / "shots"
    qtbot.waitUntil(lambda: processed_result(parts) is not None, timeout=10000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    shots: list[Path] = []  # written off the GUI thread (atomically: a temporary file exists meanwhile)
    window.snapshot_saved.connect(shots.append)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(shots) == 1, timeout=5000)
    window.tabs.setCurrentWidget(window.photos)
    assert not window.snapshot_action.isEnabled()  # Space reaches the Photos tab's widgets
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert list((tmp_path / "shots").iterdir()) == shots  # Space on the Photos tab saves nothing


def _drop(widget, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def test_dropping_files_on_the_window_opens_them_in_the_photos_tab(qtbot, open_app, camera_png,
                                                                   tmp_path) -> None:
    parts = open_app(camera_png)
    window = parts.window
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    assert window.tabs.currentWidget() is window.live_tab
    _drop(window, [camera_png, bad])
    assert window.tabs.currentWidget() is window.photos
    qtbot.waitUntil(lambda: len(window.photos.errors()) == 1, timeout=10000)
    assert "broken.jpg" in window.photos.errors()[0]
    assert window.photos.paths() == [camera_png]


def test_settings_persist_across_two_windows(qtbot, open_app, camera_png) -> None:
    parts = open_app(camera_png)
    window = parts.window
    parts.settings.mirror = False  # a real camera's Mirror (a --camera FILE's is per session: test_ui_window)
    window.resolution_combo.setCurrentIndex(0)
    window.effects.set_params(EffectParams(effect="blur", strength=80, threshold=0.6, smoothing=0.2))
    window.resize(700, 500)  # the offscreen screen is 800x600; the minimum width may widen it
    size = window.size().toTuple()
    assert size[1] == 500
    parts.close()
    stored = json.loads(parts.store.path.read_text())
    assert stored["mirror"] is False
    assert stored["resolution"] == [640, 480]
    assert stored["effect"]["strength"] == 80

    again = open_app(camera_png)
    assert again.settings_problem is None
    assert again.settings.mirror is False
    assert again.window.mirror_box.isChecked() is False
    assert again.window.resolution() == (640, 480)
    assert again.window.effects.params().strength == 80
    assert again.window.effects.params().threshold == pytest.approx(0.6)
    assert again.window.size().toTuple() == size
    qtbot.waitUntil(lambda: processed_result(again) is not None, timeout=10000)
    assert processed_result(again).pixels.shape == (480, 640, 3)


def test_a_corrupt_settings_file_gives_defaults_and_one_notice(qtbot, open_app) -> None:
    store = SettingsStore()
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path.write_text("{ this is not json")
    parts = open_app(None, store=store)
    assert parts.settings_problem is not None
    assert parts.settings.effect.with_(background=None) == EffectParams()  # the panel picks a built-in image
    assert (parts.settings.resolution, parts.settings.mirror) == ((1280, 720), True)
    qtbot.waitUntil(lambda: parts.errors.is_open(), timeout=5000)
    assert parts.errors.dialogs_opened == 1
    assert parts.errors.dialog.summary().startswith("Your settings could not be read")
    assert (store.folder / "settings.json.bad").read_text() == "{ this is not json"


def test_two_errors_open_one_dialog_and_the_app_keeps_running(qtbot, open_app, camera_png) -> None:
    parts = open_app(camera_png)
    notifier.error("first problem")
    notifier.error("second problem")
    qtbot.waitUntil(lambda: parts.errors.dialog is not None and len(parts.errors.dialog.notices) == 2,
                    timeout=5000)
    assert parts.errors.dialogs_opened == 1
    count = parts.window.processed_count
    qtbot.waitUntil(lambda: parts.window.processed_count > count, timeout=10000)
    assert parts.log_path is not None
    assert "second problem" in parts.log_path.read_text(encoding="utf-8")


def test_a_model_that_fails_to_load_is_reported_and_frames_still_show(qtbot, open_app, camera_png) -> None:
    def broken() -> FakeSegmenter:
        raise RuntimeError("model file is damaged")

    parts = open_app(camera_png, segmenter_factory=broken)
    qtbot.waitUntil(lambda: parts.errors.is_open(), timeout=10000)
    assert parts.errors.dialog.summary() == "The segmentation model could not be loaded: model file is damaged"
    assert parts.window.status_labels["provider"].text() == "Model unavailable"
    qtbot.waitUntil(lambda: parts.window.live_view.current_result() is not None, timeout=10000)
    assert parts.window.processed_count == 0


def test_about_lists_the_version_and_the_model_licenses() -> None:
    text = about_text(REPO / "models")
    assert text.startswith(f"LocalLens {__version__}")
    assert "license Apache-2.0" in text
    assert "Apache License" in text  # the license text itself


def test_quit_after_exits_zero_through_run_app(tmp_path, camera_png) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LOCALLENS_CONFIG_DIR": str(tmp_path / "config"),
           "LOCALLENS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "--camera", str(camera_png), "--quit-after", "5"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "window up" in (tmp_path / "data" / "locallens.log").read_text(encoding="utf-8")
    assert (tmp_path / "config" / "settings.json").is_file()
    assert "QThread: Destroyed" not in done.stderr


def test_full_screen_toggles_and_about_opens(qtbot, open_app) -> None:
    window = open_app(None).window
    window.fullscreen_action.trigger()
    assert window.isFullScreen() and window.fullscreen_action.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isFullScreen() and not window.fullscreen_action.isChecked()
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert f"LocalLens {__version__}" in dialog.browser.toPlainText()
    assert "Apache License" in dialog.browser.toPlainText()


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"resolution": [1e999, 720]}', b'{"effect": "blur"}',
                                 b'{"effect": {"strength": NaN}}', b'{"device": 3, "mirror": "yes"}'],
                         ids=["deep nesting", "inf resolution", "string effect", "NaN strength", "wrong types"])
def test_a_hostile_settings_file_still_opens_the_window(qtbot, open_app, raw: bytes) -> None:
    store = SettingsStore()
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(raw)
    parts = open_app(None, store=store)
    assert parts.window.isVisible()
    assert parts.settings == Settings(effect=parts.settings.effect, window_geometry=parts.settings.window_geometry)
    assert parts.settings.effect.with_(background=None) == EffectParams()
    assert parts.settings_problem is not None
    qtbot.waitUntil(lambda: parts.errors.is_open(), timeout=5000)
    assert parts.errors.dialog.summary().startswith("Your settings could not be read")
    assert (store.folder / "settings.json.bad").read_bytes() == raw


@pytest.fixture
def captured_boxes(monkeypatch) -> Iterator[list[QMessageBox]]:
    """Message boxes `exec()`-ed, recorded instead of blocking the test."""
    boxes: list[QMessageBox] = []

    def fake_exec(self: QMessageBox) -> int:
        boxes.append(self)
        return int(QMessageBox.StandardButton.Ok.value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    handlers = list(log.handlers)
    yield boxes
    for handler in [h for h in log.handlers if h not in handlers]:  # the log file the report opened
        log.removeHandler(handler)
        handler.close()


def _assert_reported(code: int, capsys, boxes: list[QMessageBox], needle: str) -> None:  # type: ignore[no-untyped-def]
    assert code == 1
    err = capsys.readouterr().err
    assert f"LocalLens could not start: {needle}" in err
    assert "Traceback (most recent call last)" in err
    (box,) = boxes
    assert box.icon() == QMessageBox.Icon.Critical
    assert box.text().startswith(f"LocalLens could not start: {needle}")
    assert "Traceback" in box.detailedText()
    log_file = Path(os.environ["LOCALLENS_DATA_DIR"]) / "locallens.log"
    logged = log_file.read_text(encoding="utf-8")
    assert f"LocalLens could not start: {needle}" in logged and "Traceback (most recent call last)" in logged


def test_an_error_building_the_window_is_shown_printed_logged_and_exits_1(qapp, capsys, captured_boxes) -> None:
    def failing_factory(*_args, **_kwargs) -> AppWindow:
        raise RuntimeError("the window factory broke")

    code = run_app(window_factory=failing_factory)
    _assert_reported(code, capsys, captured_boxes, "the window factory broke")


def test_an_error_inside_the_main_window_is_reported_and_undone(qapp, capsys, captured_boxes, monkeypatch) -> None:
    hook = sys.excepthook

    class BrokenWindow:
        def __init__(self, *_args, **_kwargs) -> None:
            raise OSError("no such widget")

    monkeypatch.setattr(app_module, "MainWindow", BrokenWindow)
    code = run_app()
    _assert_reported(code, capsys, captured_boxes, "no such widget")
    assert sys.excepthook is hook  # create_app_window undid its hooks
    assert "_listener" not in repr(notifier._listeners)


def test_without_a_display_the_gui_exits_2_with_a_clear_message(tmp_path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("X11/Wayland platforms only")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(LOCALLENS_CONFIG_DIR=str(tmp_path / "config"), LOCALLENS_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, str(REPO / "main.py")], env=env, capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode == 2, done.stderr
    assert "no display found" in done.stderr
    assert "locallens process PHOTO" in done.stderr and "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert "xcb" not in done.stderr  # Qt never got to abort with its misleading plugin message
    assert not (tmp_path / "config" / "settings.json").exists()
