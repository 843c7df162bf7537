"""core/buffers.py: a pooled frame buffer is reused only once nothing else references it."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from desktop_app.core.buffers import BufferPool

SHAPE = (6, 8, 3)


def test_a_buffer_let_go_of_is_reused() -> None:
    pool = BufferPool()
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
    pool = BufferPool(keep=2)
    held = [pool.take(SHAPE) for _ in range(4)]
    assert len(pool) == 2 and pool.allocated == 4 and len({id(a) for a in held}) == 4
    del held
    other = pool.take((3, 3), np.float32)
    assert other.dtype == np.float32 and other.shape == (3, 3) and len(pool) == 1
