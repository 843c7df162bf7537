# SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-or-later
"""The A side of bench_virtualcam.py: the helper as it was before the shared-memory transport (frames on stdin).

locallens-vcam: receive frames on stdin and send them to a virtual camera with pyvirtualcam.

Protocol (binary, little-endian), spoken with desktop_app/core/virtualcam.py:
- started as `locallens-vcam --width W --height H --fps F [--backend NAME] [--device DEV]`
  (test-only options of the fake backend: `--record PATH`, `--fail-after N`);
- it opens the camera and writes ONE JSON line to stdout: `{"ok": true, "device": ..., "backend": ...}`, or
  `{"ok": false, "error": <pyvirtualcam's message>, "kind": "no-backend" | "other"}` and exits 3;
- then it reads frames from stdin, each an 8-byte header (int64: the frame's capture time in time.time_ns(),
  0 if unknown; used for latency measurements) followed by exactly W*H*3 bytes of RGB, and sends each one
  as it arrives (the app does the pacing: it writes at the camera rate, repeating frames itself);
- EOF on stdin (also in the middle of a frame): close the camera, exit 0 (Ctrl+C is ignored: the app ends it);
- any failure while sending: one JSON line `{"ok": false, "error": ..., "kind": "other"}` on stdout, exit 4.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import struct
import sys
from typing import Any, BinaryIO

import numpy as np

HEADER = struct.Struct("<q")  # per frame: capture time in time.time_ns() (0 = unknown)
EXIT_OPEN_FAILED = 3
EXIT_SEND_FAILED = 4
# What pyvirtualcam's backends say when no virtual camera driver/device is installed (Linux, Windows, macOS).
NO_BACKEND_HINTS = ("no v4l2 loopback device", "not found", "not installed", "did you install", "no virtual camera")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="locallens-vcam", description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--fps", type=float, required=True)
    parser.add_argument("--backend", default=None, help="pyvirtualcam backend name, or fake / fake-none")
    parser.add_argument("--device", default=None)
    parser.add_argument("--record", default=None, help="fake backend: JSON-lines record of every frame")
    parser.add_argument("--fail-after", type=int, default=None, help="fake backend: fail after N frames")
    args = parser.parse_args(argv)
    if args.width <= 0 or args.height <= 0 or args.fps <= 0:
        parser.error("width, height and fps must be positive")
    return args


def classify(message: str) -> str:
    """'no-backend' when the message says no virtual camera is installed, else 'other'."""
    lowered = message.lower()
    return "no-backend" if not lowered.strip() or any(hint in lowered for hint in NO_BACKEND_HINTS) else "other"


def open_camera(args: argparse.Namespace) -> Any:
    """The fake backend, or a pyvirtualcam.Camera in RGB (imported only here: the fake needs no driver)."""
    if args.backend in ("fake", "fake-none"):
        fake = importlib.import_module("fake")  # bench/vcam_old/fake.py, beside this script
        FakeCamera = fake.FakeCamera

        return FakeCamera(args.width, args.height, args.fps, record=args.record, fail_after=args.fail_after,
                          missing=args.backend == "fake-none")
    import pyvirtualcam  # type: ignore[import-untyped]  # no stubs; only this helper imports it

    if args.backend is None and not pyvirtualcam.camera.BACKENDS:
        raise RuntimeError(f"pyvirtualcam has no virtual camera backend for {sys.platform}")
    return pyvirtualcam.Camera(args.width, args.height, args.fps, fmt=pyvirtualcam.PixelFormat.RGB,
                               device=args.device, backend=args.backend)


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


def stream_frames(cam: Any, args: argparse.Namespace, stdin: BinaryIO) -> None:
    """Read header + frame pairs until EOF and send each one."""
    header = bytearray(HEADER.size)
    frame = np.empty((args.height, args.width, 3), np.uint8)
    header_view, frame_view = memoryview(header), frame.reshape(-1).data
    fake = args.backend == "fake"
    while read_exactly(stdin, header_view) and read_exactly(stdin, frame_view):
        if fake:
            cam.send(frame, HEADER.unpack(header)[0])
        else:
            cam.send(frame)


def main(argv: list[str] | None = None) -> int:
    # Ctrl+C in a terminal reaches the whole process group: the app decides when the camera closes (EOF).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = parse_args(argv)
    out: BinaryIO = sys.stdout.buffer
    try:
        cam = open_camera(args)
    except Exception as exc:  # pyvirtualcam raises RuntimeError (no device), KeyError (unknown backend), ...
        message = str(exc) or type(exc).__name__
        say(out, ok=False, error=message, kind="no-backend" if isinstance(exc, ImportError) else classify(message))
        return EXIT_OPEN_FAILED
    try:
        say(out, ok=True, device=str(cam.device), backend=str(cam.backend))
        stream_frames(cam, args, sys.stdin.buffer)
    except Exception as exc:
        say(out, ok=False, error=str(exc) or type(exc).__name__, kind="other")
        return EXIT_SEND_FAILED
    finally:
        cam.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
