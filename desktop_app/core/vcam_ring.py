"""The virtual camera's frame ring: shared memory the app fills and the `locallens-vcam` helper sends from.

Layout (the helper's docstring has the same): RING_HEADER bytes whose first SLOTS bytes are the slots' flags
(FREE 0 / FULL 1), then SLOTS page-aligned slots of one W*H*3 RGB frame each. Per frame the app writes a
MESSAGE (slot, capture time) to the helper's stdin. POSIX: the helper inherits a descriptor, with no name to
leave behind whoever dies (Linux: a memfd; macOS: a POSIX segment unlinked right after it was made); Windows: a
named mapping the helper opens by name, freed with its last handle.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from typing import Any

import numpy as np

# These must match desktop_app/vcam_helper/__main__.py (a test checks): the app never imports the helper.
MESSAGE = struct.Struct("<qq")  # per frame: slot, capture time in time.time_ns() (0 = unknown)
RING_HEADER = 4096  # the slots' flags; frames start page-aligned after it
PAGE = 4096
FREE, FULL = 0, 1
SLOTS = 4  # the helper holds at most two (the frame it repeats, one waiting), the app fills a third


class FrameRing:
    """The shared frame slots the app fills and the helper sends from (see the module docstring). The app sets a
    slot FULL after writing its frame and before the pipe message that names it; the helper sets it FREE only
    after the camera took the frame, so neither side reads what the other may be writing."""

    def __init__(self, width: int, height: int, slots: int = SLOTS) -> None:
        self.slots = slots
        step = -(-width * height * 3 // PAGE) * PAGE
        self.nbytes = RING_HEADER + slots * step
        self._fd: int | None = None
        self._segment: Any = None
        self._buffer: Any = None  # an mmap, or the Windows segment's memoryview
        self.pass_fds: tuple[int, ...] = ()
        memfd_create = getattr(os, "memfd_create", None)
        if memfd_create is not None:  # Linux: anonymous, freed with the last mapping whoever dies
            self._fd = memfd_create("locallens-vcam", getattr(os, "MFD_CLOEXEC", 1))
            self._map_fd(self._fd)
        elif os.name == "posix":  # macOS: a POSIX segment; the helper inherits its descriptor, so the name goes now
            from multiprocessing import shared_memory

            segment = shared_memory.SharedMemory(create=True, size=self.nbytes)
            try:
                self._fd = os.dup(segment._fd)  # type: ignore[attr-defined]  # POSIX-only attribute
                segment.unlink()
            finally:
                segment.close()
            self._map_fd(self._fd)
        else:  # Windows: a named mapping the helper opens by name; freed with the last handle
            from multiprocessing import shared_memory

            self._segment = shared_memory.SharedMemory(create=True, size=self.nbytes)
            self._buffer = self._segment.buf
            self.helper_args = ["--shm-name", self._segment.name, "--slots", str(slots)]
        self.flags = np.frombuffer(self._buffer, np.uint8, slots)
        self.frames = [np.frombuffer(self._buffer, np.uint8, width * height * 3, RING_HEADER + k * step)
                       .reshape(height, width, 3) for k in range(slots)]
        self._next = 0

    def _map_fd(self, fd: int) -> None:
        try:
            if os.fstat(fd).st_size < self.nbytes:  # macOS refuses to resize a POSIX segment a second time
                os.ftruncate(fd, self.nbytes)
            self._buffer = mmap.mmap(fd, self.nbytes)
        except OSError:
            os.close(fd)
            raise
        self.helper_args = ["--shm-fd", str(fd), "--slots", str(self.slots)]
        self.pass_fds = (fd,)

    def attached(self) -> None:
        """The helper has its own mapping (or failed): our descriptor is no longer needed."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def claim(self) -> int | None:
        """A FREE slot (round the ring from the last one used), or None while the helper holds them all."""
        for i in range(self.slots):
            slot = (self._next + i) % self.slots
            if self.flags[slot] == FREE:
                self._next = (slot + 1) % self.slots
                return slot
        return None

    def close(self) -> None:
        """Unmap (and unlink) the ring; the helper's own mapping, if it still runs, stays valid until it exits."""
        self.flags = np.empty(0, np.uint8)
        self.frames = []
        if self._segment is not None:
            with contextlib.suppress(BufferError):
                self._segment.close()
            self._segment = None
        elif self._buffer is not None:
            with contextlib.suppress(BufferError):  # a view still held somewhere: the GC unmaps it with that view
                self._buffer.close()
        self._buffer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
