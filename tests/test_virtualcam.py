"""The virtual camera sink against the real helper subprocess and its fake backend (no driver needed)."""

from __future__ import annotations

import ast
import json
import os
import signal
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO

from desktop_app.core import vcam_ring, virtualcam
from desktop_app.core.sinks import FrameSink, SinkError, SinkFrame
from desktop_app.core.virtualcam import NO_BACKEND, VirtualCamera, no_backend_message

POLL_S = 0.005


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """qtbot.waitUntil for plain threads: poll `condition` until true, fail after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(POLL_S)


def records(path: Path) -> list[dict]:
    """The fake backend's per-frame lines (a line being written right now is left out)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def crc(pixels: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(pixels).tobytes())


def frame(rgb: np.ndarray, index: int = 1, captured_at: float | None = None) -> SinkFrame:
    return SinkFrame(rgb, time.perf_counter() if captured_at is None else captured_at, index)


def asymmetric(width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    rgb[:, : width // 4] = (255, 0, 0)  # a red band on the left edge only
    return rgb


@pytest.fixture(autouse=True)
def no_vcam_threads() -> Iterator[None]:
    """The helper's threads are daemons (conftest's check skips those): assert here that close() joined them."""
    yield
    alive = [t.name for t in threading.enumerate() if t.name.startswith("vcam-") and t.is_alive()]
    assert alive == []


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "record.jsonl"


@pytest.fixture
def open_fake(record: Path) -> Iterator[Callable[..., VirtualCamera]]:
    cams: list[VirtualCamera] = []

    def make(size: tuple[int, int] = (64, 48), fps: float = 60.0, *extra: str) -> VirtualCamera:
        cam = VirtualCamera(backend="fake", extra_args=("--record", str(record), "--stats-every", "0.05", *extra))
        cams.append(cam)
        cam.open(size, fps)
        return cam

    yield make
    for cam in cams:
        cam.close()


def test_the_sink_fits_the_protocol_and_its_constants_match_the_helper() -> None:
    from desktop_app.vcam_helper import __main__ as helper

    assert isinstance(VirtualCamera(), FrameSink)
    assert helper.MESSAGE.format == vcam_ring.MESSAGE.format and helper.MESSAGE.size == 16
    assert (helper.RING_HEADER, helper.PAGE, helper.FREE, helper.FULL) == (vcam_ring.RING_HEADER, vcam_ring.PAGE,
                                                                           vcam_ring.FREE, vcam_ring.FULL)
    ring = vcam_ring.FrameRing(33, 7, slots=3)
    try:
        assert ring.nbytes == helper.ring_bytes(33, 7, 3)
    finally:
        ring.close()


def test_frames_arrive_at_the_camera_size_and_rate(open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    cam = open_fake((64, 48), 60.0)
    assert cam.opened_backend == "fake" and cam.opened_device == "fake virtual camera"
    cam.send(frame(asymmetric()))
    wait_until(lambda: len(records(record)) >= 61)  # ~1 s of frames at 60 fps
    lines = records(record)[:61]
    assert {(r["w"], r["h"]) for r in lines} == {(64, 48)}
    # The median interval is the rate the helper keeps; the mean also carries the moments a loaded machine stalls
    # the helper (it failed once at 20.2 ms under load 14), so it only has to stay near the rate.
    intervals = np.diff([r["t"] for r in lines]) / 1e9
    assert abs(float(np.median(intervals)) - 1 / 60) <= 0.1 / 60, intervals
    assert abs(float(intervals.mean()) - 1 / 60) <= 0.5 / 60, intervals


def test_what_the_camera_gets_is_not_mirrored(open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    rgb = asymmetric()
    assert crc(rgb[0]) != crc(rgb[0, ::-1]) and crc(rgb[:, 0]) != crc(rgb[:, -1])
    cam = open_fake()
    cam.send(frame(rgb))
    wait_until(lambda: len(records(record)) >= 1)
    first = records(record)[0]
    assert (first["row"], first["col"]) == (crc(rgb[0]), crc(rgb[:, 0]))


def test_the_last_frame_repeats_when_nothing_new_comes(open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    cam = open_fake()
    one, two = asymmetric(seed=1), asymmetric(seed=2)
    cam.send(frame(one))
    wait_until(lambda: len(records(record)) >= 10)
    assert {(r["row"], r["col"]) for r in records(record)} == {(crc(one[0]), crc(one[:, 0]))}
    assert len({r["cap"] for r in records(record)}) == 1  # the same frame, sent again
    wait_until(lambda: cam.stats.repeated >= 9)  # the helper's next stats line
    cam.send(frame(two, index=2))
    wait_until(lambda: records(record)[-1]["row"] == crc(two[0]))
    cam.close()
    stats, lines = cam.stats, records(record)
    assert stats.sent == len(lines) and stats.sent - stats.repeated == 2 and stats.dropped == 0


def test_send_only_keeps_the_newest_frame(open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    cam = open_fake((64, 48), 2.0)  # after a new frame the next may go out only 0.375 s later
    frames = [asymmetric(seed=s) for s in range(4)]
    cam.send(frame(frames[0]))
    wait_until(lambda: len(records(record)) >= 1)
    for i, rgb in enumerate(frames[1:], start=1):  # these three meet in the slot: only the newest goes out
        cam.send(frame(rgb, index=i))
    wait_until(lambda: any(r["row"] == crc(frames[-1][0]) for r in records(record)))
    rows = [r["row"] for r in records(record)]
    assert rows[0] == crc(frames[0][0]) and crc(frames[1][0]) not in rows and crc(frames[2][0]) not in rows
    wait_until(lambda: cam.stats.dropped == 2)


def test_a_frame_of_another_size_is_resized_to_the_camera(open_fake: Callable[..., VirtualCamera],
                                                          record: Path) -> None:
    cam = open_fake((64, 48), 60.0)
    big = asymmetric(128, 96)
    cam.send(frame(big))
    wait_until(lambda: len(records(record)) >= 1)
    expected = cv2.resize(big, (64, 48), interpolation=cv2.INTER_AREA)
    first = records(record)[0]
    assert (first["w"], first["h"], first["row"]) == (64, 48, crc(expected[0]))


def test_the_capture_time_travels_with_the_frame(open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    cam = open_fake()
    offset_ns = time.time_ns() - time.perf_counter_ns()
    captured = time.perf_counter() - 0.02
    cam.send(frame(asymmetric(), captured_at=captured))
    wait_until(lambda: len(records(record)) >= 1)
    first = records(record)[0]
    assert abs(first["cap"] - (captured * 1e9 + offset_ns)) < 5e6
    assert first["t"] - first["cap"] >= 20e6


def test_a_backend_failing_mid_stream_gives_sink_error_on_the_next_send(
        open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    cam = open_fake((64, 48), 60.0, "--fail-after", "3")
    cam.send(frame(asymmetric()))
    wait_until(lambda: cam.failure is not None)
    with pytest.raises(SinkError, match=r"^the fake backend failed after 3 frames"):
        cam.send(frame(asymmetric(), index=2))
    assert len(records(record)) == 3
    cam.close()
    assert cam.helper_returncode == 4


def test_a_helper_that_dies_gives_sink_error(open_fake: Callable[..., VirtualCamera]) -> None:
    cam = open_fake()
    cam.send(frame(asymmetric()))
    assert cam.helper_pid is not None
    os.kill(cam.helper_pid, signal.SIGTERM)
    wait_until(lambda: cam.failure is not None)
    with pytest.raises(SinkError, match=r"^the virtual camera helper exited with code"):
        cam.send(frame(asymmetric(), index=2))


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
def test_no_backend_says_what_to_install_on_this_os(platform: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    cam = VirtualCamera(backend="fake-none")
    with pytest.raises(SinkError) as caught:
        cam.open((64, 48), 30.0)
    assert str(caught.value) == NO_BACKEND[platform] == no_backend_message()
    assert cam.helper_returncode == 3


def test_the_per_os_sentences() -> None:
    assert "OBS Studio" in no_backend_message("win32") and "Unity Capture" in no_backend_message("win32")
    assert "Start Virtual Camera" in no_backend_message("darwin")
    assert "v4l2loopback-dkms" in no_backend_message("linux") and "exclusive_caps=1" in no_backend_message("linux")
    assert all(m.endswith("then turn this on again.") for m in NO_BACKEND.values())


def test_pyvirtualcams_messages_are_classified() -> None:
    from desktop_app.vcam_helper.__main__ import classify

    assert classify("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. Did you run "
                    "'modprobe v4l2loopback'?") == "no-backend"
    assert classify("'obs' backend: OBS Virtual Camera is not installed in your system.") == "no-backend"
    assert classify("'obs' backend: OBS Virtual Camera device not found! Did you install OBS?") == "no-backend"
    assert classify("") == "no-backend"  # pyvirtualcam has no backend at all for this OS
    assert classify("'v4l2loopback' backend: virtual camera output could not be started") == "other"


def test_other_open_failures_are_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    cam = VirtualCamera(backend="no-such-backend")
    with pytest.raises(SinkError, match=r"^Virtual camera could not start: 'no-such-backend'\.$"):
        cam.open((64, 48), 30.0)
    missing = VirtualCamera(command=[str(REPO / "no-such-helper")])
    with pytest.raises(SinkError, match=r"^Virtual camera could not start: .*no-such-helper cannot run"):
        missing.open((64, 48), 30.0)
    with pytest.raises(SinkError, match="cannot open at 0x48"):
        VirtualCamera(backend="fake").open((0, 48), 30.0)


def test_a_helper_that_never_answers_times_out() -> None:
    cam = VirtualCamera(command=[sys.executable, "-c", "import sys; sys.stdin.read()"], start_timeout=0.5)
    with pytest.raises(SinkError, match=r"did not answer within 0\.5 s"):
        cam.open((64, 48), 30.0)
    assert cam.helper_returncode is not None


def test_close_ends_the_helper_and_its_threads(open_fake: Callable[..., VirtualCamera]) -> None:
    cam = open_fake()
    cam.send(frame(asymmetric()))
    wait_until(lambda: cam.stats.sent >= 2)
    assert cam.helper_returncode is None
    cam.close()
    assert cam.helper_returncode == 0  # closed stdin = clean exit, not killed
    assert not [t for t in threading.enumerate() if t.name.startswith("vcam-")]
    with pytest.raises(SinkError, match="not open"):
        cam.send(frame(asymmetric()))
    cam.close()  # twice is harmless


def test_frozen_builds_run_the_sibling_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "locallens"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert virtualcam.helper_command() == [str(tmp_path / "locallens-vcam")]
    monkeypatch.setattr(sys, "platform", "win32")
    assert virtualcam.helper_command() == [str(tmp_path / "locallens-vcam.exe")]


def test_the_environment_selects_the_fake_backend(monkeypatch: pytest.MonkeyPatch, record: Path) -> None:
    monkeypatch.setenv(virtualcam.BACKEND_ENV, "fake")
    monkeypatch.setenv(virtualcam.RECORD_ENV, str(record))
    cam = VirtualCamera.from_environment()
    assert cam.backend == "fake" and cam._extra_args == ("--record", str(record))
    monkeypatch.delenv(virtualcam.BACKEND_ENV)
    monkeypatch.delenv(virtualcam.RECORD_ENV)
    assert VirtualCamera.from_environment().backend is None


def _imports(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            roots.add("." * node.level + (node.module or ""))
    return roots


def test_only_the_helper_imports_pyvirtualcam() -> None:
    """The app (Apache-2.0) never loads pyvirtualcam (GPL-2.0): only the separate helper program does."""
    app_files = [p for p in (REPO / "desktop_app").rglob("*.py") if "vcam_helper" not in p.parts]
    assert len(app_files) > 20
    offenders = [str(p.relative_to(REPO)) for p in [*app_files, REPO / "main.py"]
                 if any(m.split(".")[0] == "pyvirtualcam" for m in _imports(p))]
    assert offenders == []
    assert any("pyvirtualcam" in _imports(p) for p in (REPO / "desktop_app" / "vcam_helper").glob("*.py"))


def test_the_helper_imports_only_the_standard_library_numpy_and_pyvirtualcam() -> None:
    allowed = set(sys.stdlib_module_names) | {"numpy", "pyvirtualcam"}
    for path in (REPO / "desktop_app" / "vcam_helper").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-or-later\n"), path.name
        for module in _imports(path):
            assert module.split(".")[0] in allowed or module.startswith("desktop_app.vcam_helper"), (path, module)


def test_the_helper_protocol_by_hand(tmp_path: Path, record: Path) -> None:
    """A frame in a slot of the ring + its 16-byte message in, one record line out; EOF in the middle of a
    message is a clean exit that reports the final counts."""
    import subprocess

    rgb = asymmetric(4, 2)
    ring = vcam_ring.FrameRing(4, 2, slots=2)
    try:
        ring.frames[1][:] = rgb
        ring.flags[1] = vcam_ring.FULL
        proc = subprocess.run(
            [sys.executable, "-m", "desktop_app.vcam_helper", "--width", "4", "--height", "2", "--fps", "30",
             *ring.helper_args, "--backend", "fake", "--record", str(record)],
            input=vcam_ring.MESSAGE.pack(1, 123) + b"\0" * 10, capture_output=True, timeout=30, check=False,
            pass_fds=ring.pass_fds)
    finally:
        ring.close()
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert lines[0] == {"ok": True, "device": "fake virtual camera", "backend": "fake"}
    assert lines[-1]["stats"]["sent"] == len(records(record)) >= 1
    line = records(record)[0]
    assert (line["cap"], line["w"], line["h"], line["row"]) == (123, 4, 2, crc(rgb[0]))


def _shm_entries() -> set[str]:
    shm = Path("/dev/shm")
    return {p.name for p in shm.iterdir()} if shm.is_dir() else set()


def _ring_mapped(pid: int | str = "self") -> bool:
    return "memfd:locallens-vcam" in Path(f"/proc/{pid}/maps").read_text()


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd and /proc are Linux's")


@linux_only
def test_frames_go_through_shared_memory_the_helper_maps(open_fake: Callable[..., VirtualCamera],
                                                         record: Path) -> None:
    before = _shm_entries()
    cam = open_fake((640, 360), 30.0)
    assert cam.helper_pid is not None and _ring_mapped(cam.helper_pid) and _ring_mapped()
    rgb = asymmetric(640, 360)
    cam.send(frame(rgb))
    wait_until(lambda: len(records(record)) >= 1)
    assert records(record)[0]["row"] == crc(rgb[0])
    assert _shm_entries() == before  # an anonymous memfd: no name anywhere


def test_the_app_runs_no_pacing_thread(open_fake: Callable[..., VirtualCamera]) -> None:
    """The helper paces in its own process; the app keeps only the readers of the helper's output."""
    cam = open_fake()
    cam.send(frame(asymmetric()))
    wait_until(lambda: cam.stats.sent >= 3)
    assert sorted(t.name for t in threading.enumerate() if t.name.startswith("vcam-")) == ["vcam-stderr",
                                                                                           "vcam-stdout"]


@linux_only
def test_no_shared_memory_is_left_when_the_helper_dies_and_the_sink_closes(
        open_fake: Callable[..., VirtualCamera]) -> None:
    before, fds = _shm_entries(), len(os.listdir("/proc/self/fd"))
    cam = open_fake()
    cam.send(frame(asymmetric()))
    assert cam.helper_pid is not None
    os.kill(cam.helper_pid, signal.SIGKILL)
    wait_until(lambda: cam.failure is not None)
    cam.close()
    assert not _ring_mapped() and _shm_entries() == before
    assert len(os.listdir("/proc/self/fd")) == fds  # the memfd and the pipes are closed


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


@linux_only
def test_when_the_app_dies_the_helper_ends_and_leaves_nothing(tmp_path: Path) -> None:
    import subprocess

    before = _shm_entries()
    script = ("import sys; from desktop_app.core.virtualcam import VirtualCamera; cam = VirtualCamera('fake'); "
              "cam.open((64, 48), 30.0); print(cam.helper_pid, flush=True); sys.stdin.read()")
    app = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        helper = int(app.stdout.readline())
        assert _ring_mapped(helper)
        app.kill()  # SIGKILL: no close(), no clean-up code runs in the app
        app.wait(timeout=30)
        wait_until(lambda: _dead(helper))  # its stdin reached EOF
    finally:
        if app.poll() is None:
            app.kill()
        app.communicate()
    assert _shm_entries() == before


def test_slots_the_helper_holds_are_never_overwritten(tmp_path: Path) -> None:
    """A helper that takes the messages but frees no slot (stalled in the driver): the app fills the free slots,
    then drops frames instead of writing over one the helper may still be sending."""
    stalled = [sys.executable, "-c", "import sys; print('{\"ok\": true}', flush=True); sys.stdin.buffer.read()"]
    cam = VirtualCamera(command=stalled)
    cam.open((16, 8), 30.0)
    try:
        frames = [asymmetric(16, 8, seed=s) for s in range(vcam_ring.SLOTS + 2)]
        for i, rgb in enumerate(frames):
            cam.send(frame(rgb, index=i))
        assert cam.stats.dropped == 2
        assert cam._ring is not None
        held = sorted(crc(cam._ring.frames[k]) for k in range(vcam_ring.SLOTS))
        assert held == sorted(crc(rgb) for rgb in frames[: vcam_ring.SLOTS])
    finally:
        cam.close()


def _loopback_device() -> str | None:
    """A v4l2loopback device (its default card label is "Dummy video device"), if one happens to exist."""
    for name in sorted(Path("/sys/class/video4linux").glob("video*/name")) if sys.platform == "linux" else []:
        label = name.read_text(errors="replace").lower()
        if "loopback" in label or "dummy video device" in label:
            return f"/dev/{name.parent.name}"
    return None


@pytest.mark.skipif(_loopback_device() is None, reason="no v4l2loopback device on this machine")
def test_the_real_v4l2loopback_backend_takes_frames() -> None:
    cam = VirtualCamera(backend="v4l2loopback", device=_loopback_device())
    cam.open((64, 48), 30.0)
    try:
        assert cam.opened_backend == "v4l2loopback"
        cam.send(frame(asymmetric()))
        wait_until(lambda: cam.stats.sent >= 10 or cam.failure is not None)
        assert cam.failure is None
    finally:
        cam.close()
    assert cam.helper_returncode == 0


def test_open_again_is_a_no_op_at_the_same_size_and_restarts_at_another(
        open_fake: Callable[..., VirtualCamera], record: Path) -> None:
    cam = open_fake((64, 48), 60.0)
    pid = cam.helper_pid
    cam.open((64, 48), 60.0)  # the UI opened it first, then the session opens it: the same helper goes on
    assert cam.helper_pid == pid and cam.is_open
    cam.open((32, 24), 30.0)
    assert cam.helper_pid != pid and cam.is_open and cam.size == (32, 24)
    cam.send(frame(asymmetric(32, 24)))
    wait_until(lambda: any(r["w"] == 32 for r in records(record)))
    cam.close()
    assert not cam.is_open
    cam.open((64, 48), 60.0)  # the session stops (closes its sinks) and starts again
    assert cam.is_open and cam.stats.sent == 0


def test_a_lost_camera_still_feeds_the_call_the_message_frame(record: Path) -> None:
    """The session sends its "Camera lost" frame while there is no picture: the call app never freezes."""
    from desktop_app.core.live import LOST_TEXT, LiveSession
    from desktop_app.core.params import EffectParams
    from desktop_app.core.sinks import message_frame
    from desktop_app.core.sources import SourceError

    def no_camera() -> FrameSink:
        raise SourceError("No camera was found.")

    session = LiveSession(no_camera, EffectParams(effect="blur"), demo_factory=None, fps=30.0)  # type: ignore[arg-type]
    cam = VirtualCamera(backend="fake", extra_args=("--record", str(record)))
    session.add_sink(cam)
    session.start()
    try:
        wait_until(lambda: len(records(record)) >= 10)
    finally:
        session.stop()
    expected = message_frame(session.output_size, LOST_TEXT)
    last = records(record)[-1]
    assert ((last["w"], last["h"]), last["row"], last["col"]) == (session.output_size, crc(expected[0]),
                                                                   crc(expected[:, 0]))
    assert cam.helper_returncode == 0  # the session's stop closed it


def test_the_fake_sink_for_benchmarks_runs_the_helper_without_a_driver(record: Path) -> None:
    cam = virtualcam.fake_sink(str(record))
    cam.open((32, 24), 60.0)
    try:
        cam.send(frame(asymmetric(32, 24)))
        wait_until(lambda: len(records(record)) >= 2)
        assert cam.opened_backend == "fake"
    finally:
        cam.close()
    assert virtualcam.fake_sink().backend == "fake" and virtualcam.fake_sink()._extra_args == ()
