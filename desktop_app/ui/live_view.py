"""The live picture: keeps only the newest Result, paints it scaled to fit, and times capture-to-paint."""

from __future__ import annotations

import statistics
import time
from collections import deque

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.core.frames import Result
from desktop_app.ui.qimage import checkerboard, to_qimage


class LiveView(QWidget):
    """`show_result(Result)` keeps the newest and schedules a repaint (repaints coalesce, frames never queue).

    The picture keeps its aspect ratio; an RGBA result is drawn over a checkerboard; `set_message` overlays
    a line of text (no camera, loading model). Each paint records `perf_counter() - frame.timestamp`.
    """

    painted = Signal(float)  # capture-to-paint latency of the frame just painted, ms

    def __init__(self, parent: QWidget | None = None, history: int = 240) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._result: Result | None = None
        self._image: QImage | None = None
        self._image_for: Result | None = None
        self._last_timed: Result | None = None
        self._message = ""
        self._checker = QBrush(checkerboard())
        self.latencies: deque[float] = deque(maxlen=history)
        self.paint_count = 0
        self.results_received = 0

    # ------------------------------------------------------------------------------------------ input

    def show_result(self, result: Result) -> None:
        """Slot for the worker's `result_ready`: the newest wins, an older one not yet painted is dropped."""
        self._result = result
        self.results_received += 1
        self.update()

    def set_message(self, text: str) -> None:
        """Overlay `text` over the picture; "" removes it."""
        if text != self._message:
            self._message = text
            self.update()

    def message(self) -> str:
        return self._message

    def clear(self) -> None:
        self._result, self._image, self._image_for = None, None, None
        self.update()

    # ------------------------------------------------------------------------------------------ output

    def current_result(self) -> Result | None:
        return self._result

    def current_image(self) -> QImage | None:
        """The newest result as a QImage (converted once per result)."""
        if self._result is None:
            return None
        if self._image_for is not self._result:
            prepared = getattr(self._result, "image", None)  # the worker's ShownResult
            self._image = prepared if prepared is not None else to_qimage(self._result.pixels)
            self._image_for = self._result
        return self._image

    def latency_median_ms(self, last: int | None = None) -> float | None:
        """Median capture-to-paint latency of the last `last` paints (all kept ones by default)."""
        recent = list(self.latencies)[-last:] if last else list(self.latencies)
        return statistics.median(recent) if recent else None

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    # ------------------------------------------------------------------------------------------ paint

    def target_rect(self, image_size: QSize) -> QRectF:
        """Where an image of `image_size` goes: as large as fits, aspect kept, centred (logical pixels)."""
        area = QRectF(self.rect())
        if image_size.isEmpty():
            return area
        scale = min(area.width() / image_size.width(), area.height() / image_size.height())
        w, h = image_size.width() * scale, image_size.height() * scale
        return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window).darker(150))
        result = self._result
        image = self.current_image()
        if image is not None and result is not None:
            target = self.target_rect(image.size())
            if image.hasAlphaChannel():
                painter.fillRect(target, self._checker)
            # Device-pixel scaling is Qt's: on a HiDPI screen the image is resampled to physical pixels.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, image)
        if self._message:
            self._paint_message(painter)
        painter.end()
        if result is not None and self._image_for is result and result is not self._last_timed:
            self._last_timed = result
            latency = (time.perf_counter() - result.frame.timestamp) * 1000.0
            self.latencies.append(latency)
            self.paint_count += 1
            self.painted.emit(latency)

    def _paint_message(self, painter: QPainter) -> None:
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.4)
        painter.setFont(font)
        box = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap)
        bounds = painter.boundingRect(box, flags, self._message).adjusted(-12, -8, 12, 8)
        painter.fillRect(bounds, QColor(0, 0, 0, 170))
        painter.setPen(QColor("white"))
        painter.drawText(box, flags, self._message)
