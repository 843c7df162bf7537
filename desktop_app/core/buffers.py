"""Frame-sized buffers reused across live frames, but only once nothing else holds them.

Why: the live path used to allocate several frame-sized arrays per frame (the preview's mirror, its display
image). glibc serves blocks that large from its heap once its mmap threshold has risen, and every one freed on
another thread than it was made on leaves a frame-sized hole somewhere: RSS steps up and down by a frame or two
over a long call (docs/benchmarks.md "Hour-long call"). Reusing a few buffers makes those allocations disappear.

Safety: a buffer handed out goes to other threads (the GUI paints it, a snapshot writes it) for as long as they
like. `BufferPool.take` returns a pooled buffer only when the pool holds the ONLY reference to it (CPython's
reference count: every array, view, memoryview or QImage made on it holds one; PySide6's QImage keeps the buffer
alive through every implicit copy); otherwise it allocates a new one. So a buffer is never written while
anyone can still read it. Call `take` from one thread (the pool itself is not locked).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np

DEFAULT_KEEP = 4  # in flight to the GUI, on screen, being written, and one a snapshot may hold

_probe = [np.empty(0)]
_ONLY_POOLED = sys.getrefcount(_probe[0])  # references of an item the pool alone holds, counted the same way
del _probe


def _resident(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A new array whose pages are written, so resident now: `np.empty` (and `np.zeros`, calloc) only reserves
    them, and an untouched prefilled buffer would still add to RSS minutes later, at its first use."""
    array = np.empty(shape, dtype)
    array.fill(0)
    return array


class BufferPool:
    """Up to `keep` arrays of one shape and dtype; a new shape starts the pool afresh.

    `prefill` (default) makes all `keep` arrays at the first `take` of a shape, and writes them (resident at
    once): the pool's memory is then its bound from the first frame on, instead of growing by a frame-sized
    buffer at each new peak of frames in flight (a load spike minutes into a call: a step in RSS that never
    comes back, docs/benchmarks.md)."""

    def __init__(self, keep: int = DEFAULT_KEEP, prefill: bool = True) -> None:
        self.keep = keep
        self.prefill = prefill
        self._buffers: list[np.ndarray] = []
        self.allocated = 0  # arrays made so far (the rest of the `take`s were reuses)

    def take(self, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> np.ndarray:
        """A C-contiguous array of `shape` with undefined contents that no one else references."""
        dtype = np.dtype(dtype)
        if self._buffers and (self._buffers[0].shape != tuple(shape) or self._buffers[0].dtype != dtype):
            self._buffers = []
        if not self._buffers and self.prefill and self.keep > 1:
            self._buffers = [_resident(shape, dtype) for _ in range(self.keep)]
            self.allocated += self.keep
        for i in range(len(self._buffers)):
            if sys.getrefcount(self._buffers[i]) <= _ONLY_POOLED:
                return self._buffers[i]
        self.allocated += 1
        fresh = np.empty(shape, dtype)
        if len(self._buffers) < self.keep:
            self._buffers.append(fresh)
        return fresh

    def __len__(self) -> int:
        return len(self._buffers)


def rgb32(pixels: np.ndarray, pool: BufferPool) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB as the bytes of a Qt RGB32 image (0xffRRGGBB words: B, G, R, 255 in memory on a
    little-endian machine) in a buffer from `pool`; None for other pixels or a big-endian machine."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or sys.byteorder != "little":
        return None
    out = pool.take((pixels.shape[0], pixels.shape[1], 4))
    cv2.cvtColor(pixels, cv2.COLOR_RGB2BGRA, dst=out)
    return out


class PoolSet:
    """Named `BufferPool`s (one per kind of per-frame output: the mask, the alpha, the composed frame...), each
    with its own shape and dtype, for one producing thread."""

    def __init__(self, keep: int = DEFAULT_KEEP, prefill: bool = True) -> None:
        self.keep, self.prefill = keep, prefill
        self.pools: dict[str, BufferPool] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> np.ndarray:
        """`BufferPool.take` from the pool called `name` (made on first use)."""
        pool = self.pools.get(name)
        if pool is None:
            pool = self.pools[name] = BufferPool(self.keep, self.prefill)
        return pool.take(shape, dtype)

    @property
    def allocated(self) -> int:
        """Arrays made so far by all the pools."""
        return sum(pool.allocated for pool in self.pools.values())


_active = threading.local()


def output_array(name: str, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """An array for a frame-sized output: from the `PoolSet` that `pooled_outputs` made active on this thread
    (reused once no one else holds it), else a fresh `np.empty`. Contents undefined."""
    pools: PoolSet | None = getattr(_active, "pools", None)
    if pools is None:
        return np.empty(shape, dtype)
    return pools.take(name, shape, dtype)


@contextmanager
def pooled_outputs(pools: PoolSet | None) -> Iterator[None]:
    """Within the block, `output_array` on this thread takes from `pools` (None: fresh arrays, as outside)."""
    previous = getattr(_active, "pools", None)
    _active.pools = pools
    try:
        yield
    finally:
        _active.pools = previous
