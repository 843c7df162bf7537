"""The window's parts on their own: the camera factory, the status bar's labels and the opened-items list."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_fakes import FakeSegmenter, frames_source

from desktop_app.core.sources import CameraInfo, SourceError
from desktop_app.ui import live_tab
from desktop_app.ui.live_tab import NO_CAMERA, camera_factory
from desktop_app.ui.opened_items import OpenedItems
from desktop_app.ui.status_bar import LIVE_STATS, StatusLabels
from desktop_app.ui.worker import LiveStats


def test_the_camera_factory_finds_the_camera_by_name_on_every_call(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    opened: list[tuple[int, str, tuple[int, int]]] = []

    def camera(index: int, name: str, resolution: tuple[int, int]):  # type: ignore[no-untyped-def]
        opened.append((index, name, resolution))
        return frames_source(name)

    monkeypatch.setattr(live_tab, "Camera", camera)
    plugged = [CameraInfo(0, "Built-in"), CameraInfo(1, "USB Cam")]
    make = camera_factory("USB Cam", (640, 480), lambda: list(plugged))
    make()
    plugged[:] = [CameraInfo(0, "USB Cam"), CameraInfo(1, "Built-in")]  # replugged: the indices changed
    make()
    assert opened == [(1, "USB Cam", (640, 480)), (0, "USB Cam", (640, 480))]
    camera_factory(None, (1280, 720), lambda: list(plugged))()
    assert opened[-1] == (0, "USB Cam", (1280, 720))  # no name: the first camera there is
    plugged.clear()
    with pytest.raises(SourceError, match="USB Cam is not connected"):
        make()
    with pytest.raises(SourceError) as missing:
        camera_factory(None, (640, 480), list)()
    assert str(missing.value) == NO_CAMERA


def stats(**changes: object) -> LiveStats:
    values: dict[str, object] = {"capture_fps": 29.96, "processed_fps": 24.04, "inference_ms": 7.25, "dropped": 3,
                                 "provider": "CPUExecutionProvider", "fallback_reason": None, "model_ready": True,
                                 "source": "USB Cam", "on_demo": False, "live_quality": "auto: best"}
    return LiveStats(**{**values, **changes})  # type: ignore[arg-type]


def test_the_status_labels_format_a_live_report_and_hide_while_paused(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    status = StatusLabels(window.statusBar())
    window.show()
    labels = status.labels
    assert labels["provider"].text() == "Loading model…"
    status.show_stats(stats(), 41.6)
    assert [labels[key].text() for key in ("source", *LIVE_STATS)] == [
        "USB Cam", "capture 30.0 fps", "processed 24.0 fps", "inference 7.2 ms", "quality auto: best", "latency 42 ms",
        "dropped 3"]
    status.show_stats(stats(model_ready=False, inference_ms=None, on_demo=True, source="demo"), None)
    assert [labels[key].text() for key in ("source", "processed", "inference", "latency")] == ["demo (demo)", "", "",
                                                                                               ""]
    status.show_paused()
    assert labels["source"].text() == "paused"
    assert all(labels[key].text() == "" and not labels[key].isVisibleTo(window) for key in LIVE_STATS)
    status.show_stats(stats(), 40.0)
    assert all(labels[key].isVisibleTo(window) for key in LIVE_STATS)


def test_the_provider_label_says_where_the_model_runs_and_why_it_fell_back(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QStatusBar

    bar = QStatusBar()
    qtbot.addWidget(bar)
    status = StatusLabels(bar)
    provider = status.labels["provider"]
    status.no_model()
    assert provider.text() == "No model"
    status.model_failed("the model file is missing")
    assert (provider.text(), provider.toolTip()) == ("Model unavailable", "the model file is missing")
    segmenter = FakeSegmenter()
    status.model_ready(segmenter)
    assert (provider.text(), provider.toolTip()) == ("Fake", "The model runs on Fake")
    segmenter.fallback_reason = "no GPU"
    status.show_provider()
    assert (provider.text(), provider.toolTip()) == ("Fake (fallback: no GPU)", "no GPU")


def test_opened_items_walk_folders_once_and_move_unreadable_files_to_the_problems(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "trip"
    (folder / "day2").mkdir(parents=True)
    for name in ("b.png", "a.jpg", "day2/c.mp4", ".hidden.png", "notes.txt"):
        (folder / name).write_bytes(b"x")
    items = OpenedItems()
    qtbot.addWidget(items)
    items.show()
    assert items.is_empty() and not items.error_list.isVisibleTo(items)
    new = items.add([folder, folder / "a.jpg", tmp_path / "gone.png"])
    assert new == items.paths() == [folder / "a.jpg", folder / "b.png", folder / "day2" / "c.mp4"]
    assert items.current_path() == folder / "a.jpg"  # the first new one is selected
    assert items.roots() == [folder, folder / "a.jpg"]
    assert items.errors() == ["gone.png: no such file or folder"] and items.error_list.isVisibleTo(items)
    assert items.add([folder]) == []  # nothing listed twice

    assert items.drop_unreadable(folder / "a.jpg", "a.jpg: not a picture")
    assert not items.drop_unreadable(folder / "a.jpg", "a.jpg: not a picture")  # reported once
    assert items.paths() == [folder / "b.png", folder / "day2" / "c.mp4"]
    assert items.current_path() == folder / "b.png"  # the selection moves on
    assert items.add([folder]) == []  # an unreadable file is not listed again
    items.clear_errors()
    assert items.errors() == [] and not items.error_list.isVisibleTo(items)
    items.clear()
    assert items.is_empty() and items.paths() == [] and items.roots() == [] and items.current_path() is None
    assert items.add([folder / "a.jpg"]) == [folder / "a.jpg"]  # forgotten as unreadable too


def test_opened_folders_skip_earlier_outputs_and_unfinished_files(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The Photos tab walks folders the way `process` does: one rule, in core.batch.scan_folder."""
    from desktop_app.core.batch import OUTPUT_MARKER

    for name in ("a.png", "clip.mp4", ".hidden.png", "notes.txt", "~locallens-unfinished-0123456789ab.png",
                 "out/a_blur.png", "locallens-output/b_blur.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "out" / OUTPUT_MARKER).write_text('"a_blur.png"\n')
    (tmp_path / "out" / "mine.png").write_bytes(b"x")  # the user's own file beside our outputs
    items = OpenedItems()
    qtbot.addWidget(items)
    items.add([tmp_path])
    assert sorted(p.name for p in items.paths()) == ["a.png", "clip.mp4", "mine.png"]
