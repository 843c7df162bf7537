# SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-or-later
"""locallens-vcam: take frames from shared memory and send them to a virtual camera with pyvirtualcam, paced.

Protocol (little-endian), spoken with desktop_app/core/virtualcam.py:
- started as `locallens-vcam --width W --height H --fps F (--shm-fd FD | --shm-name NAME) [--slots K]
  [--backend NAME] [--device DEV] [--stats-every S]` (test-only options of the fake backend: `--record PATH`,
  `--fail-after N`). The frame ring is shared memory the app created: an inherited file descriptor on POSIX
  (Linux: a memfd; macOS: a POSIX segment whose name the app removed at once: nothing can be left behind), a
  named mapping on Windows (freed with its last handle). Layout: RING_HEADER bytes whose first K are the slots'
  flags (FREE 0, FULL 1), then K slots of slot_bytes(W, H) bytes, each starting with one W*H*3 RGB frame;
- it opens the camera and writes ONE JSON line to stdout: `{"ok": true, "device": ..., "backend": ...}`, or
  `{"ok": false, "error": <pyvirtualcam's message>, "kind": "no-backend" | "other"}` and exits 3;
- then stdin carries one MESSAGE per frame: (int64 slot, int64 capture time in time.time_ns(), 0 if unknown).
  The app wrote the frame into that FULL slot first; this helper sets the slot FREE again once it no longer
  needs it (a newer frame went out, or replaced it before it could);
- PACING is done here, in this process: a new frame goes out as it arrives (at most one per NEW_FRAME_GAP frame
  periods; a newer one replaces a waiting one: dropped), and when none came for REPEAT_GRACE frame periods the
  last one goes out again (repeated), so the camera keeps its rate and call apps never freeze;
- every `--stats-every` seconds and at exit: `{"stats": {"sent": ..., "repeated": ..., "dropped": ...}}`;
- EOF on stdin: close the camera, exit 0 (Ctrl+C is ignored: the app ends it);
- any failure while sending: one JSON line `{"ok": false, "error": ..., "kind": "other"}` on stdout, exit 4.
"""

from __future__ import annotations

import argparse
import importlib
import json
import mmap
import os
import signal
import struct
import sys
import threading
import time
from typing import Any, BinaryIO

import numpy as np

MESSAGE = struct.Struct("<qq")  # per frame: slot, capture time in time.time_ns() (0 = unknown)
RING_HEADER = 4096  # the slots' flags; the frames start page-aligned after it
PAGE = 4096
FREE, FULL = 0, 1
DEFAULT_SLOTS = 4
EXIT_OPEN_FAILED = 3
EXIT_SEND_FAILED = 4
NEW_FRAME_GAP = 0.75  # new frames go out at most once per this many frame periods
REPEAT_GRACE = 1.0  # repeat the last frame once the next is this many frame periods late
CATCH_UP = 3  # repeats owed after this process was held up (then the grid restarts)
# What pyvirtualcam's backends say when no virtual camera driver/device is installed (Linux, Windows, macOS).
NO_BACKEND_HINTS = ("no v4l2 loopback device", "not found", "not installed", "did you install", "no virtual camera")


def slot_bytes(width: int, height: int) -> int:
    """One slot: a W*H*3 frame rounded up to whole pages."""
    return -(-width * height * 3 // PAGE) * PAGE


def ring_bytes(width: int, height: int, slots: int) -> int:
    return RING_HEADER + slots * slot_bytes(width, height)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="locallens-vcam", description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--fps", type=float, required=True)
    ring = parser.add_mutually_exclusive_group(required=True)
    ring.add_argument("--shm-fd", type=int, default=None, help="the frame ring: an inherited file descriptor")
    ring.add_argument("--shm-name", default=None, help="the frame ring: a named mapping (Windows)")
    parser.add_argument("--slots", type=int, default=DEFAULT_SLOTS)
    parser.add_argument("--backend", default=None, help="pyvirtualcam backend name, or fake / fake-none")
    parser.add_argument("--device", default=None)
    parser.add_argument("--stats-every", type=float, default=1.0, help="seconds between stats lines")
    parser.add_argument("--record", default=None, help="fake backend: JSON-lines record of every frame")
    parser.add_argument("--fail-after", type=int, default=None, help="fake backend: fail after N frames")
    args = parser.parse_args(argv)
    if args.width <= 0 or args.height <= 0 or args.fps <= 0 or not 2 <= args.slots <= 64 or args.stats_every <= 0:
        parser.error("width, height, fps and stats-every must be positive, slots 2-64")
    return args


def classify(message: str) -> str:
    """'no-backend' when the message says no virtual camera is installed, else 'other'."""
    lowered = message.lower()
    return "no-backend" if not lowered.strip() or any(hint in lowered for hint in NO_BACKEND_HINTS) else "other"


def open_camera(args: argparse.Namespace) -> Any:
    """The fake backend, or a pyvirtualcam.Camera in RGB (imported only here: the fake needs no driver)."""
    if args.backend in ("fake", "fake-none"):
        try:  # our own module: stdlib + numpy only
            fake = importlib.import_module("desktop_app.vcam_helper.fake")
        except ImportError:  # the frozen locallens-vcam carries it as the top-level module `fake` (the spec)
            fake = importlib.import_module("fake")
        FakeCamera = fake.FakeCamera

        return FakeCamera(args.width, args.height, args.fps, record=args.record, fail_after=args.fail_after,
                          missing=args.backend == "fake-none")
    import pyvirtualcam  # type: ignore[import-untyped]  # no stubs; only this helper imports it

    if args.backend is None and not pyvirtualcam.camera.BACKENDS:
        raise RuntimeError(f"pyvirtualcam has no virtual camera backend for {sys.platform}")
    return pyvirtualcam.Camera(args.width, args.height, args.fps, fmt=pyvirtualcam.PixelFormat.RGB,
                               device=args.device, backend=args.backend)


def map_ring(args: argparse.Namespace) -> mmap.mmap:
    """The app's frame ring, mapped read-write: an inherited descriptor (POSIX), or a named mapping (Windows).
    Only `mmap`: the frozen helper leaves multiprocessing out."""
    size = ring_bytes(args.width, args.height, args.slots)
    if args.shm_fd is None:
        return mmap.mmap(-1, size, tagname=args.shm_name)  # type: ignore[call-arg]  # Windows' signature
    try:
        return mmap.mmap(args.shm_fd, size)
    finally:
        os.close(args.shm_fd)


def say(out: BinaryIO, **fields: Any) -> None:
    out.write((json.dumps(fields) + "\n").encode("utf-8"))
    out.flush()


def read_exactly(stream: BinaryIO, view: memoryview) -> bool:
    """Fill `view` from `stream`; False on EOF before it is full."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            return False
        got += n
    return True


class Inbox:
    """The newest frame announced on stdin (read by its own thread); an older one still waiting is freed."""

    def __init__(self, ring: mmap.mmap, slots: int) -> None:
        self.ring, self.slots = ring, slots
        self.cond = threading.Condition()
        self.newest: tuple[int, int] | None = None
        self.eof = False
        self.error: str | None = None
        self.replaced = 0

    def read(self, stdin: BinaryIO) -> None:
        buf = bytearray(MESSAGE.size)
        view = memoryview(buf)
        try:
            while read_exactly(stdin, view):
                slot, captured_ns = MESSAGE.unpack(buf)
                if not 0 <= slot < self.slots:
                    raise ValueError(f"frame slot {slot} is outside the ring of {self.slots}")
                with self.cond:
                    if self.newest is not None:
                        self.ring[self.newest[0]] = FREE
                        self.replaced += 1
                    self.newest = (slot, captured_ns)
                    self.cond.notify()
        except (OSError, ValueError) as exc:
            with self.cond:
                self.error = str(exc) or type(exc).__name__
        with self.cond:
            self.eof = True
            self.cond.notify()


class Pacer:
    """Sends new frames as they arrive and repeats the last one on the camera's frame grid."""

    def __init__(self, cam: Any, args: argparse.Namespace, ring: mmap.mmap, inbox: Inbox, out: BinaryIO) -> None:
        self.cam, self.inbox, self.out, self.ring = cam, inbox, out, ring
        self.fake = args.backend == "fake"
        self.period, self.stats_every = 1.0 / args.fps, args.stats_every
        size, step = args.width * args.height * 3, slot_bytes(args.width, args.height)
        self.frames = [np.frombuffer(ring, np.uint8, size, RING_HEADER + k * step).reshape(args.height,
                                                                                            args.width, 3)
                       for k in range(args.slots)]
        self.sent = self.repeated = 0

    def stats(self) -> None:
        say(self.out, stats={"sent": self.sent, "repeated": self.repeated, "dropped": self.inbox.replaced})

    def run(self) -> None:
        inbox, period = self.inbox, self.period
        last: tuple[int, int] | None = None
        last_new = -1e9  # when the last new frame went out
        due = float("inf")  # when the next repeat is due
        next_stats = time.perf_counter() + self.stats_every
        while True:
            with inbox.cond:
                while True:
                    if inbox.error is not None:
                        raise RuntimeError(f"the frame stream broke: {inbox.error}")
                    if inbox.eof and inbox.newest is None:
                        return
                    now = time.perf_counter()
                    # (at EOF the frame still waiting goes out at once: the app announced it)
                    new_ok = inbox.newest is not None and (inbox.eof or now >= last_new + NEW_FRAME_GAP * period)
                    if new_ok or now >= due or now >= next_stats:
                        break
                    wake = min(due, next_stats)
                    if inbox.newest is not None:
                        wake = min(wake, last_new + NEW_FRAME_GAP * period)
                    inbox.cond.wait(max(wake - now, 0.0))
                item, inbox.newest = (inbox.newest, None) if new_ok else (None, inbox.newest)
            if item is not None:
                self.send(item)
                if last is not None and last[0] != item[0]:
                    self.ring[last[0]] = FREE
                last, last_new, due = item, now, now + REPEAT_GRACE * period
            elif now >= due and last is not None:
                self.send(last)
                self.repeated += 1
                # Stay on the frame grid, but after a long stall catch up at most CATCH_UP periods.
                due = max(due + period, now - CATCH_UP * period)
            if now >= next_stats:
                self.stats()
                next_stats = now + self.stats_every

    def send(self, item: tuple[int, int]) -> None:
        slot, captured_ns = item
        if self.fake:
            self.cam.send(self.frames[slot], captured_ns)
        else:
            self.cam.send(self.frames[slot])
        self.sent += 1


def main(argv: list[str] | None = None) -> int:
    # Ctrl+C in a terminal reaches the whole process group: the app decides when the camera closes (EOF).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = parse_args(argv)
    out: BinaryIO = sys.stdout.buffer
    try:
        ring = map_ring(args)
        cam = open_camera(args)
    except Exception as exc:  # pyvirtualcam raises RuntimeError (no device), KeyError (unknown backend), ...
        message = str(exc) or type(exc).__name__
        say(out, ok=False, error=message, kind="no-backend" if isinstance(exc, ImportError) else classify(message))
        return EXIT_OPEN_FAILED
    inbox = Inbox(ring, args.slots)
    pacer = Pacer(cam, args, ring, inbox, out)
    try:
        say(out, ok=True, device=str(cam.device), backend=str(cam.backend))
        # The unbuffered stream: a daemon thread blocked on a buffered one aborts the interpreter's exit.
        stdin = getattr(sys.stdin.buffer, "raw", sys.stdin.buffer)
        threading.Thread(target=inbox.read, args=(stdin,), name="vcam-inbox", daemon=True).start()
        pacer.run()
    except Exception as exc:
        pacer.stats()
        say(out, ok=False, error=str(exc) or type(exc).__name__, kind="other")
        return EXIT_SEND_FAILED
    finally:
        cam.close()
    pacer.stats()
    return 0


if __name__ == "__main__":
    sys.exit(main())
