"""The C allocator's settings for a long live session (glibc on Linux), applied once at startup.

Why: every live frame allocates and frees about ten 0.7-3.7 MB buffers (decoded frame, mirror, masks, effect
output, display image) on the capture, processing and GUI threads. glibc gives each thread its own arena (up to
8 per core), serves blocks this large from them once its dynamic mmap threshold has risen above the frame size
(after the first such free), and each arena keeps the holes its own peak left: the free space of all arenas
together (31-56 MB in the window's live view) stays resident and ratchets up a frame-sized step at a time.
One arena for the whole process shares one pool of holes between the threads (4-28 MB free), with CPU per
frame within noise; a fixed mmap threshold below the frame size would leave no holes at all but costs 3400 page
faults, +4-10 ms of CPU, per 720p frame (bench/bench_soak.py, docs/benchmarks.md "Hour-long call").
Since then the live path reuses its frame-sized buffers (`core.buffers`: the capture frames, the pipeline's
outputs, the preview), which leaves one short-lived block per frame (PyAV's decoded array, copied at once);
the single arena still keeps the other threads' and libraries' blocks in one pool of holes.

Nothing is changed when the user set the matching `MALLOC_*` environment variable (theirs wins), or on another
C library (Windows' heap and macOS's malloc zones work differently).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt parameters from glibc's malloc.h
M_ARENA_MAX = -8
ARENA_MAX = 1
ENV = {M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_", M_ARENA_MAX: "MALLOC_ARENA_MAX"}
SETTINGS: dict[int, int] = {M_ARENA_MAX: ARENA_MAX}

_applied: dict[str, int] | None = None


def _glibc() -> Any | None:
    """glibc as a ctypes library, or None on another platform or C library (musl has no mallopt to speak of)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  # only glibc has it
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def configure_allocator(libc: Any | None = None, environ: dict[str, str] | None = None) -> dict[str, int]:
    """Apply SETTINGS with mallopt (once per process); returns what was set, by environment-variable name.

    `libc` and `environ` are injectable for tests. Never raises: an allocator setting is not worth a failed start.
    """
    global _applied
    if libc is None and _applied is not None:
        return dict(_applied)
    env = os.environ if environ is None else environ
    lib = libc if libc is not None else _glibc()
    applied: dict[str, int] = {}
    if lib is not None:
        for param, value in SETTINGS.items():
            name = ENV[param]
            if name in env:
                continue
            try:
                if lib.mallopt(param, value) == 1:
                    applied[name] = value
            except Exception:  # a foreign libc that looked like glibc: leave its defaults
                continue
    if libc is None:
        _applied = applied
    return dict(applied)
