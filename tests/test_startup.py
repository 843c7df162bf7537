"""Start-up checks before the QApplication exists: the display, the xcb libraries, and the failure report."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.notify import log
from desktop_app.ui.startup import (
    NO_DISPLAY,
    XCB_LIBRARIES,
    display_problem,
    missing_xcb_packages,
    report_startup_failure,
    xcb_warning,
)


@pytest.mark.parametrize(("env", "platform", "blocked"), [
    ({}, "linux", True),
    ({"DISPLAY": ""}, "linux", True),
    ({"DISPLAY": ":0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "minimal"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", True),  # xcb needs an X display
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "wayland:foo", "WAYLAND_DISPLAY": "w"}, "linux", False),
    ({}, "freebsd14", True),
    ({}, "win32", False),
    ({}, "darwin", False),
])
def test_display_problem(env: dict[str, str], platform: str, blocked: bool) -> None:
    assert display_problem(env, platform) == (NO_DISPLAY if blocked else None)


def test_the_no_display_message_names_the_way_out() -> None:
    for words in ("no display", "desktop session", "locallens process PHOTO", "self-test", "models",
                  "QT_QPA_PLATFORM=offscreen"):
        assert words in NO_DISPLAY


def test_missing_xcb_libraries_name_their_debian_packages() -> None:
    missing = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}
    packages = missing_xcb_packages({"DISPLAY": ":0"}, "linux", loadable=lambda soname: soname not in missing)
    assert packages == ["libxcb-cursor0", "libxcb-icccm4"]
    text = xcb_warning(packages)
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in text
    assert len(XCB_LIBRARIES) >= 13 and "libxkbcommon-x11-0" in XCB_LIBRARIES.values()


def test_the_xcb_check_only_runs_for_x11() -> None:
    def never(_soname: str) -> bool:
        raise AssertionError("no library should be probed")

    assert missing_xcb_packages({}, "linux", loadable=never) == []
    assert missing_xcb_packages({"DISPLAY": ":0"}, "win32", loadable=never) == []
    assert missing_xcb_packages({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", loadable=never) == []
    assert missing_xcb_packages({"DISPLAY": ":0"}, "linux", loadable=lambda _s: True) == []


def test_a_failure_report_survives_no_log_and_a_broken_dialog(capsys) -> None:
    def no_log() -> Path | None:
        raise OSError("read-only profile")

    def broken_dialog(_message: str, _details: str) -> None:
        raise RuntimeError("no dialog either")

    try:
        raise ValueError("first error")
    except ValueError as exc:
        code = report_startup_failure(exc, no_log, broken_dialog)
    assert code == 1
    err = capsys.readouterr().err
    assert "LocalLens could not start: first error" in err and "ValueError: first error" in err
    assert "The log file could not be opened." in err


def test_a_failure_report_logs_the_traceback(tmp_path: Path) -> None:
    import logging

    path = tmp_path / "start.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    log.addHandler(handler)
    shown: list[tuple[str, str]] = []
    try:
        try:
            raise KeyError("settings")
        except KeyError as exc:
            assert report_startup_failure(exc, lambda: path, lambda m, d: shown.append((m, d))) == 1
    finally:
        log.removeHandler(handler)
        handler.close()
    text = path.read_text(encoding="utf-8")
    assert "LocalLens could not start: 'settings'" in text and "Traceback (most recent call last)" in text
    ((message, details),) = shown
    assert message.startswith("LocalLens could not start: 'settings'") and f"Details are in {path}." in message
    assert "KeyError" in details


def test_a_frozen_app_names_its_own_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/LocalLens/LocalLens")
    message = display_problem({}, "linux")
    assert message is not None and "`LocalLens process PHOTO`" in message
