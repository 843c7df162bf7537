"""core/buffers.py: a pooled frame buffer is reused only once nothing else references it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from desktop_app.core import buffers
from desktop_app.core.buffers import BufferPool

SHAPE = (6, 8, 3)


def test_a_buffer_let_go_of_is_reused() -> None:
    pool = BufferPool(prefill=False)
    first = pool.take(SHAPE)
    first_id = id(first)
    del first
    again = pool.take(SHAPE)
    assert id(again) == first_id and pool.allocated == 1
    assert again.shape == SHAPE and again.dtype == np.uint8 and again.flags.c_contiguous


def test_a_buffer_anyone_still_references_is_never_handed_out_again() -> None:
    """Whatever keeps it readable (the array, a view, a memoryview, a QImage on it and that image's copies)."""
    pool = BufferPool()
    holders = []
    for hold in (lambda a: a, lambda a: a[1:], lambda a: memoryview(a),
                 lambda a: QImage(a.data, 8, 6, 24, QImage.Format.Format_RGB888)):
        buffer = pool.take(SHAPE)
        buffer[:] = len(holders) + 1
        holders.append(hold(buffer))
        del buffer
    image_copy = QImage(holders[-1])  # an implicitly shared copy keeps the pixels alive too
    del holders[-1]
    fresh = pool.take(SHAPE)
    fresh[:] = 99
    assert pool.allocated == 5
    assert [int(np.asarray(h).reshape(-1)[0]) for h in holders] == [1, 2, 3]
    assert image_copy.pixelColor(0, 0).red() == 4


def test_at_most_keep_buffers_are_pooled_and_a_new_shape_starts_afresh() -> None:
    pool = BufferPool(keep=2, prefill=False)
    held = [pool.take(SHAPE) for _ in range(4)]
    assert len(pool) == 2 and pool.allocated == 4 and len({id(a) for a in held}) == 4
    del held
    other = pool.take((3, 3), np.float32)
    assert other.dtype == np.float32 and other.shape == (3, 3) and len(pool) == 1


def test_a_prefilled_pool_makes_all_its_buffers_at_once_and_no_more_while_they_suffice() -> None:
    """Its memory is its bound from the first frame: no step later when more frames are in flight for a moment."""
    pool = BufferPool(keep=3)
    first = pool.take(SHAPE)
    assert len(pool) == 3 and pool.allocated == 3
    held = [first, pool.take(SHAPE), pool.take(SHAPE)]
    assert len({id(a) for a in held}) == 3 and pool.allocated == 3  # the peak of three came from the prefill
    extra = pool.take(SHAPE)  # a fourth in flight: a fresh one, not kept
    assert pool.allocated == 4 and len(pool) == 3 and all(extra is not a for a in held)
    del held, first, extra
    pool.take((2, 2))
    assert len(pool) == 3 and pool.allocated == 7  # a new shape: refilled at once


def test_prefilled_buffers_are_written_not_only_reserved(monkeypatch: pytest.MonkeyPatch) -> None:
    """np.empty only reserves pages: a buffer first written minutes later would add to RSS then (the soak's
    late steps). Each prefilled buffer is written at once (seen here through an np.empty that returns garbage)."""
    real_empty = np.empty

    def garbage(shape: object, dtype: object = float) -> np.ndarray:
        array = real_empty(shape, dtype)  # type: ignore[call-overload]
        array.fill(7)
        return array

    monkeypatch.setattr(buffers.np, "empty", garbage)
    pool = BufferPool(keep=3)
    pool.take(SHAPE)
    assert len(pool) == 3 and all(not buffer.any() for buffer in pool._buffers)
