"""numpy pixels -> QImage (always a copy, so it never points into a buffer a worker reuses)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

_FORMATS = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}


def to_qimage(pixels: np.ndarray) -> QImage:
    """(H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray uint8 -> an independent QImage."""
    arr = np.ascontiguousarray(pixels)
    if arr.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, not {arr.dtype}")
    if arr.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif arr.ndim == 3 and arr.shape[2] in _FORMATS:
        fmt = _FORMATS[arr.shape[2]]
    else:
        raise ValueError(f"pixels must be (H, W), (H, W, 3) or (H, W, 4), not {arr.shape}")
    height, width = arr.shape[:2]
    image = QImage(arr.data, width, height, arr.strides[0], fmt)
    return image.copy()  # detach from the numpy buffer


def to_display_image(pixels: np.ndarray) -> QImage:
    """Like `to_qimage`, but in the raster engine's native formats (RGB32 / premultiplied ARGB32).

    Scaled drawing of these is ~3x cheaper than of RGB888, so the worker converts on its own thread and
    the GUI thread only scales. The result owns its pixels (a conversion always allocates).
    """
    arr = np.ascontiguousarray(pixels)
    if arr.dtype != np.uint8 or arr.ndim == 2 or arr.shape[2] not in _FORMATS:
        return to_qimage(arr)
    height, width = arr.shape[:2]
    view = QImage(arr.data, width, height, arr.strides[0], _FORMATS[arr.shape[2]])
    native = QImage.Format.Format_RGB32 if arr.shape[2] == 3 else QImage.Format.Format_ARGB32_Premultiplied
    return view.convertToFormat(native)


def checkerboard(cell: int = 8, light: str = "#cccccc", dark: str = "#999999") -> QPixmap:
    """A 2x2-cell tile for a brush: what "transparent" looks like behind an RGBA cut-out."""
    tile = QPixmap(cell * 2, cell * 2)
    tile.fill(QColor(light))
    painter = QPainter(tile)
    painter.fillRect(0, 0, cell, cell, QColor(dark))
    painter.fillRect(cell, cell, cell, cell, QColor(dark))
    painter.end()
    return tile
