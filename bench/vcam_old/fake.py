# SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-or-later
"""The fake camera backend (`--backend fake`), for tests and the benchmark: no driver, just a record.

Per frame it appends one JSON line to `--record PATH`:
`{"n": 1, "t": <arrival time.time_ns()>, "cap": <capture time.time_ns() from the frame header, 0 if unknown>,
"w": W, "h": H, "row": crc32(first row), "col": crc32(left column)}`. The two checksums prove what arrived
without storing pixels: a mirrored frame changes the first row's checksum, a flipped one the column's.
`--fail-after N` raises on frame N + 1 (a driver failing mid-call); `--backend fake-none` fails to open the way
a machine without any virtual camera driver does.
"""

from __future__ import annotations

import json
import time
import zlib
from typing import IO

import numpy as np

NO_DEVICE = "'fake' backend: no virtual camera device found (the fake backend was asked to act as if none is installed)"


class FakeCamera:
    """Stands in for pyvirtualcam.Camera: same `send`, `close`, `device`, `backend`."""

    backend = "fake"
    device = "fake virtual camera"

    def __init__(self, width: int, height: int, fps: float, record: str | None = None,
                 fail_after: int | None = None, missing: bool = False) -> None:
        if missing:
            raise RuntimeError(NO_DEVICE)
        self.width, self.height, self.fps = width, height, fps
        self.fail_after = fail_after
        self.frames = 0
        self._record: IO[str] | None = open(record, "a", encoding="utf-8") if record else None  # noqa: SIM115

    def send(self, frame: np.ndarray, captured_ns: int = 0) -> None:
        """Record one (H, W, 3) uint8 frame; raise once `fail_after` frames went through."""
        arrived = time.time_ns()
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"unexpected frame shape: {frame.shape} != {(self.height, self.width, 3)}")
        if self.fail_after is not None and self.frames >= self.fail_after:
            raise RuntimeError(f"the fake backend failed after {self.fail_after} frames, as asked")
        self.frames += 1
        if self._record is not None:
            line = {"n": self.frames, "t": arrived, "cap": captured_ns, "w": self.width, "h": self.height,
                    "row": checksum(frame[0]), "col": checksum(frame[:, 0])}
            self._record.write(json.dumps(line) + "\n")
            self._record.flush()

    def close(self) -> None:
        if self._record is not None:
            self._record.close()
            self._record = None


def checksum(pixels: np.ndarray) -> int:
    """crc32 of the pixels' bytes in row-major order (what a test computes for the frame it sent)."""
    return zlib.crc32(np.ascontiguousarray(pixels).tobytes())
