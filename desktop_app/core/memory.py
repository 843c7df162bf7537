"""The C allocator's settings for a long live session (glibc on Linux), applied once at startup.

Why: every live frame allocates and frees several 2.6-3.5 MB buffers (decoded frame, mirror, mask, effect output,
display image) on the capture, processing and GUI threads. glibc serves a block that large with its own mmap
only until the first such block is freed; then its *dynamic* mmap threshold rises above the frame size and from
then on frames come from the per-thread heaps (arenas), where freed holes of slightly different sizes pile up:
RSS creeps and steps up by a frame-sized chunk every few minutes (bench/bench_soak.py, docs/benchmarks.md
"Hour-long call"). A fixed threshold below the frame size keeps every frame buffer in its own mapping, given back
to the system on free, so RSS follows what is live. Setting it also turns the dynamic adjustment off.

Nothing is changed when the user set the matching `MALLOC_*_` environment variable (theirs wins), or on another
C library (Windows' heap and macOS's malloc zones return large blocks on their own).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt parameters from glibc's malloc.h
M_ARENA_MAX = -8
MMAP_THRESHOLD = 512 * 1024  # bytes: below the smallest live frame (640x480 RGB, 0.9 MB) and every buffer of one
ENV = {M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_", M_ARENA_MAX: "MALLOC_ARENA_MAX"}
SETTINGS: dict[int, int] = {M_MMAP_THRESHOLD: MMAP_THRESHOLD}

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
