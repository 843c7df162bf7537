"""The main window as the user meets it: an honest status bar while paused, Mirror per kind of source,
and snapshots that go to a folder shown in the Live tab, written off the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from ui_fakes import FakeSegmenter, demo_source, frames_source

from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings
from desktop_app.core.sources import CameraInfo
from desktop_app.ui import live_tab, snapshots
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.status_bar import LIVE_STATS
from desktop_app.ui.worker import is_processed

WAIT = 10000


@pytest.fixture
def halves_png(tmp_path: Path) -> Path:
    """A file used as the camera: black left half, white right half (a mirrored frame starts white)."""
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[:, 80:] = 255
    path = tmp_path / "halves.png"
    cv2.imwrite(str(path), rgb)
    return path


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    windows: list[MainWindow] = []

    def make(settings: Settings | None = None, camera_file: Path | None = None, **kwargs) -> MainWindow:  # type: ignore[no-untyped-def]
        kwargs.setdefault("segmenter_factory", FakeSegmenter)
        kwargs.setdefault("demo_factory", demo_source)
        kwargs.setdefault("camera_lister", list)
        kwargs.setdefault("retry_interval", 0.05)
        settings = settings or Settings(effect=EffectParams(effect="none"))
        window = MainWindow(settings, camera_file=camera_file, **kwargs)
        qtbot.addWidget(window)
        window.show()
        window.start()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
        assert not window.worker.is_running()


def processed(window: MainWindow):  # type: ignore[no-untyped-def]
    result = window.live_view.current_result()
    return result if result is not None and is_processed(result) else None


# ---------------------------------------------------------------------------------------------- status bar


def test_the_status_bar_shows_no_fps_while_the_camera_is_released(qtbot, make_window, halves_png) -> None:  # type: ignore[no-untyped-def]
    window = make_window(camera_file=halves_png)
    labels = window.status_labels
    qtbot.waitUntil(lambda: labels["capture"].text().startswith("capture")
                    and labels["processed"].text().startswith("processed"), timeout=WAIT)
    window.tabs.setCurrentWidget(window.photos)
    assert labels["source"].text() == "paused"
    assert {key: labels[key].text() for key in LIVE_STATS} == dict.fromkeys(LIVE_STATS, "")
    assert not any(labels[key].isVisibleTo(window) for key in LIVE_STATS)  # no empty gaps either
    assert labels["provider"].text() != "" or window.segmenter is None  # where the model runs still shows
    window.tabs.setCurrentWidget(window.live_tab)
    qtbot.waitUntil(lambda: labels["capture"].text().startswith("capture")
                    and labels["dropped"].text().startswith("dropped"), timeout=WAIT)
    assert all(labels[key].isVisibleTo(window) for key in LIVE_STATS)


# ---------------------------------------------------------------------------------------------- mirror


def test_a_file_used_as_the_camera_is_not_mirrored_by_default(qtbot, make_window, halves_png) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(effect=EffectParams(effect="none"), mirror=True)  # the user mirrors real cameras
    window = make_window(settings, camera_file=halves_png)
    assert not window.mirror_box.isChecked()
    qtbot.waitUntil(lambda: processed(window) is not None, timeout=WAIT)
    assert processed(window).pixels[0, 0, 0] == 0  # text in the file reads the right way round
    window.mirror_box.setChecked(True)  # the user asks for it: this session only
    qtbot.waitUntil(lambda: processed(window).pixels[0, 0, 0] == 255, timeout=WAIT)
    window.mirror_box.setChecked(False)
    assert settings.mirror is True  # the remembered camera choice is untouched


def test_the_demo_sample_is_not_mirrored_by_default(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(effect=EffectParams(effect="none"), mirror=True)
    window = make_window(settings)  # no camera at all: the demo plays
    qtbot.waitUntil(lambda: window.worker.on_demo and window.status_labels["source"].text() == "demo (demo)",
                    timeout=WAIT)
    assert not window.mirror_box.isChecked() and window.worker._demo_mirror is False
    window.mirror_box.setChecked(True)
    assert window.worker._demo_mirror is True and settings.mirror is True


def test_a_real_cameras_mirror_is_on_by_default_and_remembered(qtbot, make_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(live_tab, "Camera", lambda index, name, resolution: frames_source(name))
    settings = Settings(effect=EffectParams(effect="none"))
    assert settings.mirror is True
    window = make_window(settings, camera_lister=lambda: [CameraInfo(0, "USB Cam")])
    assert window.mirror_box.isChecked() and window.worker._mirror is True
    qtbot.waitUntil(lambda: processed(window) is not None and processed(window).frame.source_id == "USB Cam",
                    timeout=WAIT)
    window.mirror_box.setChecked(False)
    assert settings.mirror is False and window.worker._mirror is False


# ---------------------------------------------------------------------------------------------- snapshots


def test_snapshots_go_to_the_folder_shown_in_the_live_bar(qtbot, make_window, halves_png, tmp_path,  # type: ignore[no-untyped-def]
                                                          monkeypatch) -> None:
    monkeypatch.setattr(snapshots, "pictures_dir", lambda: tmp_path / "Pictures")
    writers: list[str] = []
    real_write = snapshots.write_image

    def write(*args, **kwargs):  # type: ignore[no-untyped-def]
        writers.append(threading.current_thread().name)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(snapshots, "write_image", write)
    chosen = tmp_path / "elsewhere"
    window = make_window(camera_file=halves_png, snapshot_folder_picker=lambda _parent, _start: chosen)
    default = tmp_path / "Pictures" / "LocalLens"
    assert window.snapshot_dir == default
    assert window.snapshot_folder.label.text() == f"Snapshots: {default}"
    assert window.snapshot_folder.isVisibleTo(window) and window.snapshot_folder.change_button.isVisibleTo(window)
    assert not (tmp_path / "Pictures").exists()  # nothing is created before the first snapshot
    qtbot.waitUntil(lambda: processed(window) is not None, timeout=WAIT)
    with qtbot.waitSignal(window.snapshot_saved, timeout=WAIT) as saved:
        assert window.snapshot()
    assert saved.args[0].parent == default and saved.args[0].is_file()
    assert writers and writers[0] != threading.main_thread().name  # encoded off the GUI thread

    assert window.snapshot_folder.change_button.isEnabled()
    window.snapshot_folder.change_button.click()
    assert window.settings.snapshot_dir == str(chosen)
    assert window.snapshot_folder.label.text() == f"Snapshots: {chosen}"
    with qtbot.waitSignal(window.snapshot_saved, timeout=WAIT) as saved:
        assert window.snapshot()
    assert saved.args[0].parent == chosen


def test_the_snapshot_folder_is_shown_under_home_as_a_tilde(tmp_path: Path) -> None:
    assert snapshots.display_path(Path.home() / "Pictures" / "LocalLens") == "~/Pictures/LocalLens"
    assert snapshots.display_path(Path("/srv/shots")) == "/srv/shots"
