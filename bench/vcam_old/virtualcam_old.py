"""The A side of bench_virtualcam.py: the sink as it was before the shared-memory transport (frames through the
pipe, pacing in the app). Run with command=old_helper_command().

The virtual camera sink: processed live frames for call apps, through the separate `locallens-vcam` helper.

pyvirtualcam (GPL-2.0) never runs in this process: `VirtualCamera` starts the helper program
(desktop_app/vcam_helper, shipped beside the app as its own executable) and streams frames to its stdin.
Protocol (binary, little-endian; the helper's docstring is the other half):
- argv `--width W --height H --fps F [--backend NAME] [--device DEV]`;
- the helper answers ONE JSON line on stdout: `{"ok": true, "device", "backend"}` or `{"ok": false, "error",
  "kind": "no-backend" | "other"}` (exit 3);
- each frame is an 8-byte header (int64 capture time in time.time_ns(), 0 = unknown) + W*H*3 bytes of RGB;
- closing stdin ends it (exit 0); a failure mid-stream is one JSON error line and exit 4.

Threads: `send` (the session's processing thread) only swaps the newest frame into a slot, never queues. The
pacing thread writes a new frame as soon as it arrives (at most one per 0.75 frame periods, newer frames replace
older ones: counted as dropped) and, when none arrived for a frame period, REPEATS the last one, so the camera
keeps its rate and call apps never freeze while processing stalls. A reader thread takes the helper's stdout
lines and another its stderr (for the log). A dead helper makes the next `send` raise SinkError.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from desktop_app.core.sinks import SinkError, SinkFrame

log = logging.getLogger("locallens")

HEADER = struct.Struct("<q")  # must match desktop_app/vcam_helper/__main__.py (a test checks)
HELPER_NAME = "locallens-vcam"
START_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
NEW_FRAME_GAP = 0.75  # new frames go out at most once per this many frame periods
# after a new frame, repeat it once the next is a frame period late. 1.1 periods gave a p99 gap of 39-46 ms under
# load, 1.0 gives 37-38 ms (and more repeats: ~40 writes/s into a 30 fps camera then; docs/benchmarks.md)
REPEAT_GRACE = 1.0
CATCH_UP = 3  # repeats the pacing thread may owe after it was held up (then it restarts the grid)
BACKEND_ENV = "LOCALLENS_VCAM_BACKEND"  # tests and diagnostics: e.g. "fake" (see VirtualCamera.from_environment)
RECORD_ENV = "LOCALLENS_VCAM_RECORD"

NO_BACKEND = {
    "win32": "Install OBS Studio (its Virtual Camera) or Unity Capture, then turn this on again.",
    "darwin": "Install OBS Studio, click Start Virtual Camera once, quit OBS, then turn this on again.",
    "linux": "Install v4l2loopback (Debian/Ubuntu: sudo apt install v4l2loopback-dkms; sudo modprobe v4l2loopback "
             "devices=1 exclusive_caps=1), then turn this on again.",
}


def no_backend_message(platform: str | None = None) -> str:
    """The one sentence that tells a user of this OS what to install for a virtual camera."""
    platform = sys.platform if platform is None else platform
    key = "linux" if platform.startswith("linux") else platform
    return NO_BACKEND.get(key, "Install a virtual camera driver that pyvirtualcam supports, then turn this on again.")


def helper_command() -> list[str]:
    """The helper program: the sibling executable in a frozen bundle, else this interpreter running the package."""
    if getattr(sys, "frozen", False):
        exe = HELPER_NAME + (".exe" if sys.platform == "win32" else "")
        return [str(Path(sys.executable).with_name(exe))]
    return [sys.executable, "-m", "desktop_app.vcam_helper"]


def old_helper_command() -> list[str]:
    """The pre-shared-memory helper beside this file (bench only)."""
    return [sys.executable, str(Path(__file__).with_name("helper_old.py"))]


def fake_sink(record: str | None = None) -> VirtualCamera:
    """A VirtualCamera on the helper's fake backend (benchmarks, soaks): the whole path except the driver."""
    return VirtualCamera(backend="fake", extra_args=("--record", record) if record else ())


@dataclass(frozen=True, slots=True)
class VirtualCameraStats:
    sent: int  # frames written to the camera, repeats included
    repeated: int  # writes of a frame that was already sent (nothing new arrived in time)
    dropped: int  # frames from the session replaced by a newer one before they could be sent


class VirtualCamera:
    """A FrameSink that feeds a virtual camera at a steady rate; it may be opened again after close()."""

    name = "Virtual camera"

    def __init__(self, backend: str | None = None, device: str | None = None, extra_args: tuple[str, ...] = (),
                 command: list[str] | None = None, start_timeout: float = START_TIMEOUT_S) -> None:
        self.backend, self.device = backend, device
        self._extra_args, self._command, self._start_timeout = extra_args, command, start_timeout
        self.size: tuple[int, int] = (0, 0)
        self.fps = 0.0
        self._cond = threading.Condition()
        self._reset()

    def _reset(self) -> None:
        """Fresh state for an open (a sink is closed and opened again when the session stops and starts)."""
        self.opened_device = ""
        self.opened_backend = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        self._threads: list[threading.Thread] = []
        self._pending: tuple[np.ndarray, int] | None = None
        self._stopping = False
        self._streaming = False  # set once the helper said ok: from then on its exit is a failure
        self._failure: str | None = None
        self._sent = self._repeated = self._dropped = 0
        self._clock_offset_ns = 0

    @classmethod
    def from_environment(cls) -> VirtualCamera:
        """The app's virtual camera; LOCALLENS_VCAM_BACKEND / LOCALLENS_VCAM_RECORD select the fake backend and
        its record for tests and diagnostics (the backend is otherwise pyvirtualcam's first available one)."""
        backend = os.environ.get(BACKEND_ENV) or None
        record = os.environ.get(RECORD_ENV)
        return cls(backend=backend, extra_args=("--record", record) if record else ())

    # -- FrameSink ---------------------------------------------------------------------------------------------

    def open(self, size: tuple[int, int], fps: float) -> None:
        """Start the helper and wait for its answer; SinkError (one sentence) if no camera can be opened.

        Already open at this size and rate (the UI opens it first to show a missing driver at once, then the
        session opens it again): nothing to do. Open at another size or rate, or closed: (re)start the helper."""
        width, height = int(size[0]), int(size[1])
        if width <= 0 or height <= 0 or fps <= 0:
            raise SinkError(f"Virtual camera cannot open at {width}x{height}, {fps} fps.")
        if self.is_open and (width, height) == self.size and float(fps) == self.fps:
            return
        if self._proc is not None:
            self.close()
        self._reset()
        self.size, self.fps = (width, height), float(fps)
        argv = [*(self._command or helper_command()), "--width", str(width), "--height", str(height),
                "--fps", f"{fps:g}"]
        argv += ["--backend", self.backend] if self.backend else []
        argv += ["--device", self.device] if self.device else []
        argv += list(self._extra_args)
        try:
            self._proc = subprocess.Popen(  # our own helper, no shell
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            raise SinkError(f"Virtual camera could not start: {argv[0]} cannot run ({exc.strerror or exc}); "
                            "reinstall LocalLens.") from exc
        assert self._proc.stdout is not None and self._proc.stderr is not None
        _widen_pipe(self._proc.stdin, width * height * 3 + HEADER.size)
        self._start_thread("vcam-stdout", self._read_stdout, self._proc.stdout)
        self._start_thread("vcam-stderr", self._read_stderr, self._proc.stderr)
        try:
            answer = self._lines.get(timeout=self._start_timeout)
        except queue.Empty:
            waited = f"{self._start_timeout:g} s"
            answer = {"ok": False, "error": f"the virtual camera helper did not answer within {waited}"}
        if not answer or not answer.get("ok"):
            self._stop_helper()
            raise SinkError(self._open_error(answer))
        self.opened_device, self.opened_backend = str(answer.get("device", "")), str(answer.get("backend", ""))
        self._clock_offset_ns = time.time_ns() - time.perf_counter_ns()
        self._streaming = True
        self._start_thread("vcam-pacing", self._pace)
        log.info("virtual camera on: %s (%s) at %dx%d, %g fps", self.opened_device, self.opened_backend,
                 width, height, fps)

    def send(self, frame: SinkFrame) -> None:
        """Swap in the newest frame (resized to the camera size if the live size changed); never blocks on the
        helper. Raises SinkError once the helper has died."""
        if self._failure is not None:
            raise SinkError(self._failure)
        if self._proc is None or self._stopping:
            raise SinkError("Virtual camera is not open.")
        rgb = frame.rgb
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            shrink = rgb.shape[1] > self.size[0]
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        else:
            rgb = rgb.copy()  # the session may reuse its buffer for the next frame
        captured_ns = int(frame.captured_at * 1e9) + self._clock_offset_ns if frame.captured_at > 0 else 0
        with self._cond:
            if self._pending is not None:
                self._dropped += 1
            self._pending = (np.ascontiguousarray(rgb), captured_ns)
            self._cond.notify()

    def close(self) -> None:
        """Stop pacing, close the helper's stdin, wait for it (kill after a timeout), join every thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._stop_helper()

    # -- state ---------------------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Streaming to a live helper (not closed, not failed)."""
        return self._streaming and not self._stopping and self._failure is None

    @property
    def stats(self) -> VirtualCameraStats:
        with self._cond:
            return VirtualCameraStats(self._sent, self._repeated, self._dropped)

    @property
    def failure(self) -> str | None:
        """Why the camera stopped (one sentence, e.g. "the virtual camera helper exited with code 1."; the
        live session's notice puts "Virtual camera stopped: " before it), or None while it runs."""
        return self._failure

    @property
    def helper_returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def helper_pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # -- internals -----------------------------------------------------------------------------------------------

    def _start_thread(self, name: str, target: Any, *args: Any) -> None:
        # Daemon: a forgotten close() must not hang interpreter exit on a helper still waiting for frames.
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _open_error(self, answer: dict[str, Any] | None) -> str:
        if answer and answer.get("kind") == "no-backend":
            log.info("no virtual camera backend: %s", answer.get("error"))
            return no_backend_message()
        if answer and answer.get("error"):
            return f"Virtual camera could not start: {_sentence(str(answer['error']))}"
        return f"Virtual camera could not start: {self._exit_reason()}"

    def _exit_reason(self) -> str:
        try:
            code = self._proc.wait(timeout=CLOSE_TIMEOUT_S) if self._proc is not None else None
        except subprocess.TimeoutExpired:
            return "the virtual camera helper stopped answering."
        last = f" ({self._stderr[-1]})" if self._stderr else ""
        return f"the virtual camera helper exited with code {code}{last}."

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            try:
                message = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                log.info("vcam helper: %s", raw.decode("utf-8", "replace").rstrip())
                continue
            if isinstance(message, dict):
                if not message.get("ok") and self._opened():
                    self._fail(_sentence(str(message.get("error", "the virtual camera failed"))))
                self._lines.put(message)
        self._lines.put(None)
        if self._opened():
            self._fail(self._exit_reason())

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr.append(line)
                log.info("vcam helper: %s", line)

    def _opened(self) -> bool:
        return self._streaming and not self._stopping

    def _fail(self, reason: str) -> None:
        with self._cond:
            if self._failure is None:
                self._failure = reason
                log.warning("%s", reason)
            self._cond.notify()

    def _pace(self) -> None:
        """Write new frames as they come, repeat the last one when none came for a frame period."""
        period = 1.0 / self.fps
        last: tuple[np.ndarray, int] | None = None
        last_new = -1e9  # when the last new frame went out
        due = float("inf")  # when the next repeat is due
        while True:
            with self._cond:
                while True:
                    if self._stopping or self._failure is not None:
                        return
                    now = time.perf_counter()
                    new_ok = self._pending is not None and now >= last_new + NEW_FRAME_GAP * period
                    if new_ok or now >= due:
                        break
                    wake = due if self._pending is None else min(due, last_new + NEW_FRAME_GAP * period)
                    self._cond.wait(None if wake == float("inf") else max(wake - now, 0.0))
                if new_ok:
                    assert self._pending is not None
                    item, self._pending = self._pending, None
                    last_new, due = now, now + REPEAT_GRACE * period
                else:
                    assert last is not None
                    item = last
                    self._repeated += 1
                    # Stay on the frame grid (the camera's rate holds on a busy machine) but after a long stall
                    # catch up at most CATCH_UP periods instead of a burst of repeats.
                    due = max(due + period, now - CATCH_UP * period)
                self._sent += 1
            last = item
            if not self._write(item):
                return

    def _write(self, item: tuple[np.ndarray, int]) -> bool:
        assert self._proc is not None and self._proc.stdin is not None
        rgb, captured_ns = item
        try:
            _write_all(self._proc.stdin, HEADER.pack(captured_ns))
            _write_all(self._proc.stdin, rgb.reshape(-1).data)
        except (OSError, ValueError):  # broken pipe: the helper died (its stdout reader tells why)
            if not self._stopping:
                self._lines_reason_or_exit()
            return False
        return True

    def _lines_reason_or_exit(self) -> None:
        """After a failed write: the helper's own error line if it sent one, else its exit code."""
        assert self._proc is not None
        try:
            self._proc.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        for thread in self._threads:
            if thread.name == "vcam-stdout":
                thread.join(timeout=CLOSE_TIMEOUT_S)
        self._fail(self._exit_reason())

    def _stop_helper(self) -> None:
        proc = self._proc
        pacing = [t for t in self._threads if t.name == "vcam-pacing"]
        for thread in pacing:
            thread.join(timeout=CLOSE_TIMEOUT_S)
            if thread.is_alive() and proc is not None:  # stuck writing to a hung helper
                proc.kill()
                thread.join()
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            try:
                proc.wait(timeout=CLOSE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=CLOSE_TIMEOUT_S)
        for stream in (proc.stdout, proc.stderr) if proc is not None else ():
            if stream is not None:
                stream.close()


def _widen_pipe(stream: IO[bytes] | None, frame_bytes: int) -> None:
    """Linux: grow the pipe towards one whole frame (up to the system's limit, 1 MiB by default), so a frame
    crosses in a few writes instead of ~40 of 64 KiB, each waiting for the helper to read."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if stream is None or set_size is None:
        return
    try:
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        limit = 1 << 20
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), set_size, min(frame_bytes, limit))


def _write_all(stream: IO[bytes], data: bytes | memoryview) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = stream.write(view)
        if not written:
            raise OSError("the virtual camera helper stopped reading")
        view = view[written:]


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."
