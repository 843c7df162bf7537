"""Pictures for the screen: the size a widget shows them at, and numpy pixels scaled down to it off the GUI thread."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from desktop_app.ui.qimage import to_qimage

DISPLAY_MIN = QSize(1280, 960)  # previews are made at least this big, so a small window still looks sharp
_FORMATS = {2: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}


def display_image(pixels: np.ndarray, bound: QSize) -> QImage:
    """An owning QImage of `pixels` scaled down to fit `bound` (as is if it fits).

    PySide holds the GIL while Qt scales, so a huge image takes a fast pass to twice the bound first:
    ~55 ms instead of ~210 ms of GUI-thread stall for a 12 MP photo (measured on 2 cores).
    """
    height, width = pixels.shape[:2]
    if width <= bound.width() and height <= bound.height():
        return to_qimage(pixels)
    arr = np.ascontiguousarray(pixels)
    channels = 2 if arr.ndim == 2 else arr.shape[2]
    # Wraps numpy memory without a copy; `scaled` below always returns a new, owning image.
    image = QImage(arr.data, width, height, arr.strides[0], _FORMATS[channels])
    if width > 2 * bound.width() and height > 2 * bound.height():
        image = image.scaled(bound * 2, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return image.scaled(bound, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def stretch(image: QImage, size: QSize) -> QImage:
    """`image` at exactly `size`: a result smaller than its photo (a mask at model resolution) is laid over it.

    The core's mask effect returns full-size masks, so this is normally a no-op; it stays as a guard so a
    smaller result can never be shown misaligned with its photo.
    """
    if image.size() == size:
        return image
    return image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)


def display_size(widget: QWidget) -> QSize:
    """`widget`'s size in device pixels, at least `DISPLAY_MIN`: the bound a preview is scaled to."""
    ratio = widget.devicePixelRatioF()
    size = widget.size()
    return QSize(max(DISPLAY_MIN.width(), round(size.width() * ratio)),
                 max(DISPLAY_MIN.height(), round(size.height() * ratio)))
