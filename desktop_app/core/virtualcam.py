"""The virtual camera sink: processed live frames for call apps, through the separate `locallens-vcam` helper.

pyvirtualcam (GPL-2.0) never runs in this process: `VirtualCamera` starts the helper program
(desktop_app/vcam_helper, shipped beside the app as its own executable) and hands it frames through shared
memory. Protocol (little-endian; the helper's docstring is the other half):
- argv `--width W --height H --fps F (--shm-fd FD | --shm-name NAME) --slots K [--backend NAME] [--device DEV]`;
- the frame ring: RING_HEADER bytes of slot flags (FREE 0 / FULL 1), then K page-aligned slots of one RGB frame.
  POSIX: a descriptor the helper inherits, with no name to leave behind whoever dies (Linux: a memfd; macOS: a
  POSIX segment unlinked right after it was made); Windows: a named mapping, freed with its last handle;
- the helper answers ONE JSON line on stdout: `{"ok": true, "device", "backend"}` or `{"ok": false, "error",
  "kind": "no-backend" | "other"}` (exit 3);
- per frame the app copies it ONCE into a FREE slot, marks it FULL and writes a 16-byte MESSAGE (slot, capture
  time in time.time_ns()) to the helper's stdin; the helper frees the slot when done with it;
- the helper paces (new frames as they arrive, the last one again when none came in time: call apps never
  freeze) and reports `{"stats": {"sent", "repeated", "dropped"}}` lines about every second and at exit;
- closing stdin ends it (exit 0); a failure mid-stream is one JSON error line and exit 4.

Threads: `send` (the session's processing thread) does one memcpy and one small pipe write, never waits for the
helper (no FREE slot, or a full pipe: the frame is dropped). A reader thread takes the helper's stdout lines and
another its stderr (for the log). A dead helper makes the next `send` raise SinkError.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
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

from desktop_app.core.sinks import SinkError, SinkFrame
from desktop_app.core.vcam_ring import FREE, FULL, MESSAGE, FrameRing

log = logging.getLogger("locallens")

HELPER_NAME = "locallens-vcam"
START_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
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


def fake_sink(record: str | None = None) -> VirtualCamera:
    """A VirtualCamera on the helper's fake backend (benchmarks, soaks): the whole path except the driver."""
    return VirtualCamera(backend="fake", extra_args=("--record", record) if record else ())


@dataclass(frozen=True, slots=True)
class VirtualCameraStats:
    sent: int  # frames written to the camera, repeats included
    repeated: int  # writes of a frame that was already sent (nothing new arrived in time)
    dropped: int  # frames from the session replaced by a newer one (or not taken) before they could be sent


class VirtualCamera:
    """A FrameSink that feeds a virtual camera at a steady rate; it may be opened again after close()."""

    name = "Virtual camera"

    def __init__(self, backend: str | None = None, device: str | None = None, extra_args: tuple[str, ...] = (),
                 command: list[str] | None = None, start_timeout: float = START_TIMEOUT_S) -> None:
        self.backend, self.device = backend, device
        self._extra_args, self._command, self._start_timeout = extra_args, command, start_timeout
        self.size: tuple[int, int] = (0, 0)
        self.fps = 0.0
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        """Fresh state for an open (a sink is closed and opened again when the session stops and starts)."""
        self.opened_device = ""
        self.opened_backend = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._ring: FrameRing | None = None
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._streaming = False  # set once the helper said ok: from then on its exit is a failure
        self._failure: str | None = None
        self._helper_stats = VirtualCameraStats(0, 0, 0)
        self._dropped_here = 0  # no FREE slot or a full pipe: the helper was not keeping up
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
        if self._proc is not None or self._ring is not None:
            self.close()
        self._reset()
        self.size, self.fps = (width, height), float(fps)
        try:
            self._ring = FrameRing(width, height)
        except OSError as exc:
            raise SinkError(f"Virtual camera could not start: no shared memory for its frames ({exc}).") from exc
        argv = [*(self._command or helper_command()), "--width", str(width), "--height", str(height),
                "--fps", f"{fps:g}", *self._ring.helper_args]
        argv += ["--backend", self.backend] if self.backend else []
        argv += ["--device", self.device] if self.device else []
        argv += list(self._extra_args)
        try:
            self._proc = subprocess.Popen(  # our own helper, no shell
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                pass_fds=self._ring.pass_fds, creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            self._ring.close()
            self._ring = None
            raise SinkError(f"Virtual camera could not start: {argv[0]} cannot run ({exc.strerror or exc}); "
                            "reinstall LocalLens.") from exc
        assert self._proc.stdin is not None and self._proc.stdout is not None and self._proc.stderr is not None
        with contextlib.suppress(OSError, ValueError):  # a hung helper must never block the processing thread
            os.set_blocking(self._proc.stdin.fileno(), False)
        self._start_thread("vcam-stdout", self._read_stdout, self._proc.stdout)
        self._start_thread("vcam-stderr", self._read_stderr, self._proc.stderr)
        try:
            answer = self._lines.get(timeout=self._start_timeout)
        except queue.Empty:
            waited = f"{self._start_timeout:g} s"
            answer = {"ok": False, "error": f"the virtual camera helper did not answer within {waited}"}
        self._ring.attached()
        if not answer or not answer.get("ok"):
            self._stop_helper()
            raise SinkError(self._open_error(answer))
        self.opened_device, self.opened_backend = str(answer.get("device", "")), str(answer.get("backend", ""))
        self._clock_offset_ns = time.time_ns() - time.perf_counter_ns()
        self._streaming = True
        log.info("virtual camera on: %s (%s) at %dx%d, %g fps", self.opened_device, self.opened_backend,
                 width, height, fps)

    def send(self, frame: SinkFrame) -> None:
        """Copy the frame into a free slot of the ring (resized to the camera size if the live size changed) and
        tell the helper; never blocks on it. Raises SinkError once the helper has died."""
        if self._failure is not None:
            raise SinkError(self._failure)
        with self._lock:
            ring, proc = self._ring, self._proc
            if ring is None or proc is None or proc.stdin is None or self._stopping:
                raise SinkError("Virtual camera is not open.")
            slot = ring.claim()
            if slot is None:
                self._dropped_here += 1
                return
            rgb, target = frame.rgb, ring.frames[slot]
            if (rgb.shape[1], rgb.shape[0]) != self.size:
                shrink = rgb.shape[1] > self.size[0]
                cv2.resize(rgb, self.size, dst=target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            else:
                np.copyto(target, rgb)  # the one copy: the session may reuse its buffer for the next frame
            captured_ns = int(frame.captured_at * 1e9) + self._clock_offset_ns if frame.captured_at > 0 else 0
            ring.flags[slot] = FULL
            try:
                os.write(proc.stdin.fileno(), MESSAGE.pack(slot, captured_ns))  # atomic: far below PIPE_BUF
                return
            except BlockingIOError:  # the helper is not reading: drop this frame, never wait
                ring.flags[slot] = FREE
                self._dropped_here += 1
                return
            except (OSError, ValueError):  # broken pipe: the helper died (its stdout reader tells why)
                ring.flags[slot] = FREE
        self._fail(self._exit_reason())
        raise SinkError(self._failure or "the virtual camera helper stopped.")

    def close(self) -> None:
        """Close the helper's stdin, wait for it (kill after a timeout), join every thread, unmap the ring."""
        with self._lock:
            self._stopping = True
        self._stop_helper()

    # -- state ---------------------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Streaming to a live helper (not closed, not failed)."""
        return self._streaming and not self._stopping and self._failure is None

    @property
    def stats(self) -> VirtualCameraStats:
        """The helper's last report (about every second, and its final one at close), plus frames dropped here."""
        helper = self._helper_stats
        return VirtualCameraStats(helper.sent, helper.repeated, helper.dropped + self._dropped_here)

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
            if not isinstance(message, dict):
                continue
            if isinstance(message.get("stats"), dict):
                counts = message["stats"]
                self._helper_stats = VirtualCameraStats(int(counts.get("sent", 0)), int(counts.get("repeated", 0)),
                                                        int(counts.get("dropped", 0)))
                continue
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
        if self._failure is None:
            self._failure = reason
            log.warning("%s", reason)

    def _stop_helper(self) -> None:
        proc = self._proc
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
        with self._lock:
            if self._ring is not None:
                self._ring.close()
                self._ring = None


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."
