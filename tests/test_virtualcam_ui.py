"""The Live tab's Virtual camera switch with the real helper and its fake backend, in the real window."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from ui_fakes import FakeSegmenter, demo_source

from desktop_app import cli
from desktop_app.core import virtualcam
from desktop_app.core.notify import Notice, notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings
from desktop_app.core.virtualcam import VirtualCamera, no_backend_message
from desktop_app.ui import vcam_toggle
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.photos_view import SHARED_CPU_NOTE

WAIT = 10000


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


@pytest.fixture(autouse=True)
def no_vcam_threads() -> Iterator[None]:
    yield
    assert [t.name for t in threading.enumerate() if t.name.startswith("vcam-") and t.is_alive()] == []


@pytest.fixture
def halves_png(tmp_path: Path) -> Path:
    """Black left half, white right half: a mirrored frame starts white."""
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[:, 80:] = 255
    path = tmp_path / "halves.png"
    cv2.imwrite(str(path), rgb)
    return path


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "vcam.jsonl"


@pytest.fixture
def fake_camera(monkeypatch: pytest.MonkeyPatch, record: Path) -> Callable[..., list[VirtualCamera]]:
    """The switch makes fake-backend cameras (extra helper args as given); returns the list of those made."""
    made: list[VirtualCamera] = []

    def use(*extra: str, backend: str = "fake") -> list[VirtualCamera]:
        def factory() -> VirtualCamera:
            made.append(VirtualCamera(backend=backend, extra_args=("--record", str(record), *extra)))
            return made[-1]

        monkeypatch.setattr(vcam_toggle, "default_factory", factory)
        return made

    return use


@pytest.fixture
def window(qtbot, halves_png: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = MainWindow(Settings(effect=EffectParams(effect="none")), camera_file=halves_png,
                     segmenter_factory=FakeSegmenter, demo_factory=demo_source, camera_lister=list,
                     retry_interval=0.05)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.processed_count >= 2, timeout=WAIT)
    yield win
    win.shutdown()
    assert not win.worker.is_running()


def test_the_switch_sends_the_processed_unmirrored_picture(qtbot, window, fake_camera, record) -> None:  # type: ignore[no-untyped-def]
    made = fake_camera()
    window.mirror_box.setChecked(True)  # the preview is mirrored ...
    toggle = window.live_tab.virtual_camera
    with qtbot.waitSignal(toggle.active_changed, timeout=WAIT) as on:
        toggle.box.setChecked(True)
    assert on.args == [True] and toggle.active
    assert toggle.status.text() == "On: fake virtual camera"
    qtbot.waitUntil(lambda: len(records(record)) >= 5, timeout=WAIT)
    last = records(record)[-1]
    width, height = window.live_tab.resolution()  # a file used as the camera plays at the chosen resolution
    assert (last["w"], last["h"]) == (width, height) == window.worker.session.output_size
    black_column = zlib.crc32(np.zeros((height, 3), np.uint8).tobytes())
    assert last["col"] == black_column  # ... the call app gets the black half on the left: not mirrored
    with qtbot.waitSignal(toggle.active_changed, timeout=WAIT):
        toggle.box.setChecked(False)
    assert toggle.status.text() == "Off" and not toggle.active
    assert made[0].helper_returncode == 0 and window.worker.session.sinks == []


def test_no_backend_says_what_to_install_in_the_status_line(qtbot, window, fake_camera) -> None:  # type: ignore[no-untyped-def]
    fake_camera(backend="fake-none")
    toggle = window.live_tab.virtual_camera
    toggle.box.setChecked(True)
    qtbot.waitUntil(lambda: not toggle.busy and not toggle.box.isChecked(), timeout=WAIT)
    assert toggle.status.text() == no_backend_message()
    assert toggle.box.isEnabled() and not toggle.active and window.worker.session.sinks == []


def test_a_backend_failing_mid_call_gives_a_notice_and_the_live_view_goes_on(qtbot, window, fake_camera) -> None:  # type: ignore[no-untyped-def]
    fake_camera("--fail-after", "5")
    notices: list[Notice] = []
    unsubscribe = notifier.subscribe(notices.append)
    try:
        toggle = window.live_tab.virtual_camera
        toggle.box.setChecked(True)
        qtbot.waitUntil(lambda: toggle.status.text().startswith("Stopped:"), timeout=WAIT)
    finally:
        unsubscribe()
    assert toggle.status.text() == "Stopped: the fake backend failed after 5 frames, as asked."
    assert not toggle.box.isChecked() and not toggle.active
    assert [n.message for n in notices] == ["Virtual camera stopped: the fake backend failed after 5 frames, as asked."]
    count = window.processed_count
    qtbot.waitUntil(lambda: window.processed_count >= count + 3, timeout=WAIT)  # the session went on


def test_the_session_keeps_running_behind_the_photos_tab_while_the_camera_is_on(  # type: ignore[no-untyped-def]
        qtbot, window, fake_camera, record) -> None:
    fake_camera()
    toggle = window.live_tab.virtual_camera
    with qtbot.waitSignal(toggle.active_changed, timeout=WAIT):
        toggle.box.setChecked(True)
    note = window.photos.shared_cpu_note
    assert note.text() == SHARED_CPU_NOTE and not note.isHidden()
    window.tabs.setCurrentWidget(window.photos)
    assert window.worker.is_running() and not window.live_tab.paused
    sent = len(records(record))
    qtbot.waitUntil(lambda: len(records(record)) >= sent + 5, timeout=WAIT)
    with qtbot.waitSignal(toggle.active_changed, timeout=WAIT):
        toggle.box.setChecked(False)  # off while the photos are in front: the camera is released now
    assert window.live_tab.paused and not window.worker.is_running() and note.isHidden()
    window.tabs.setCurrentWidget(window.live_tab)
    assert window.worker.is_running() and not window.live_tab.paused


def test_without_the_virtual_camera_the_photos_tab_still_pauses_the_live_view(window) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentWidget(window.photos)
    assert window.live_tab.paused and not window.worker.is_running()
    assert window.photos.shared_cpu_note.isHidden()


def test_set_virtual_camera_turns_it_on_as_the_command_line_flag_does(qtbot, window, fake_camera) -> None:  # type: ignore[no-untyped-def]
    fake_camera()
    toggle = window.live_tab.virtual_camera
    with qtbot.waitSignal(toggle.active_changed, timeout=WAIT):
        window.set_virtual_camera(True)
    assert toggle.box.isChecked() and toggle.active


def test_closing_the_window_while_the_camera_opens_leaves_no_helper(qtbot, halves_png, fake_camera) -> None:  # type: ignore[no-untyped-def]
    made = fake_camera()
    win = MainWindow(Settings(effect=EffectParams(effect="none")), camera_file=halves_png,
                     segmenter_factory=FakeSegmenter, demo_factory=demo_source, camera_lister=list)
    qtbot.addWidget(win)
    win.start()
    win.set_virtual_camera(True)
    win.shutdown()  # before the helper's answer was handled
    assert made and made[0].helper_returncode is not None and not made[0].is_open


def test_the_command_line_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run_app(**kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    import desktop_app.ui.app as app_module

    monkeypatch.setattr(app_module, "run_app", fake_run_app)
    assert cli.main(["--virtual-camera"]) == 0
    assert seen["virtual_camera"] is True
    assert cli.main(["gui"]) == 0 and seen["virtual_camera"] is False
    live = cli.build_parser().parse_args(["live", "--virtual-camera", "--camera", "x.mp4", "--effect", "replace"])
    assert (live.virtual_camera, live.camera, live.effect) == (True, Path("x.mp4"), "replace")


def test_live_without_an_output_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["live"])
    assert caught.value.code == 2
    assert "live needs an output: --virtual-camera" in capsys.readouterr().err


def test_environment_seam_is_what_the_default_factory_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(virtualcam.BACKEND_ENV, "fake")
    assert vcam_toggle.default_factory().backend == "fake"
