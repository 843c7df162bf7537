"""Before/after comparison: the original left of a draggable vertical divider, the result right of it.

Both images are drawn into the same aspect-fitted rectangle (a mask at model resolution is stretched to the
photo's size); an RGBA result is drawn over a checkerboard so transparency is visible. Drag with the mouse
or use the arrow keys (Shift: fine steps, Home/End: the ends). Scaling is Qt's, done once per size.
An overlay (`set_overlay`: the faces review) is drawn over the picture and, while it is active, gets the
mouse everywhere but on the divider (within `GRAB_PX` of it), which still drags.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.ui.face_review import ReviewOverlay
from desktop_app.ui.qimage import checkerboard, to_qimage

STEP, FINE_STEP = 0.05, 0.01
GRAB_PX = 8  # with an overlay active, a press this close to the divider drags it


class CompareView(QWidget):
    """`set_images(before, after)`; `position()` / `set_position(0..1)` is the divider across the picture."""

    position_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setAccessibleName("Before and after comparison")
        self.setToolTip("Drag the divider or use the arrow keys to compare the original and the result")
        self._position = 0.5
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._after_alpha = False
        self._note = ""
        self._scaled: tuple[QSize, QImage | None, QImage | None] | None = None
        self._board = QBrush(checkerboard())
        self._dragging = False
        self._overlay: ReviewOverlay | None = None
        self._overlay_mouse = False  # the overlay has the current press

    def set_overlay(self, overlay: ReviewOverlay | None) -> None:
        """Draw `overlay` over the picture and give it the mouse while it is active."""
        self._overlay = overlay
        self.update()

    # ------------------------------------------------------------------------------------------ API

    def set_images(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        """The original (RGB) and the result (RGB, RGBA or a gray mask); `after=None` shows the original only."""
        self.set_qimages(to_qimage(before) if before is not None else None,
                         to_qimage(after) if after is not None else None)

    def set_qimages(self, before: QImage | None, after: QImage | None) -> None:
        self._before, self._after = before, after
        self._after_alpha = after is not None and after.hasAlphaChannel()
        self._scaled = None
        self.update()

    def clear(self) -> None:
        self.set_qimages(None, None)

    def has_result(self) -> bool:
        return self._after is not None

    def set_note(self, text: str) -> None:
        """A short line drawn over the picture (e.g. "Loading the model…"); "" hides it."""
        self._note = text
        self.update()

    def note(self) -> str:
        return self._note

    def position(self) -> float:
        return self._position

    def set_position(self, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        if value != self._position:
            self._position = value
            self.position_changed.emit(value)
            self.update()

    def image_rect(self) -> QRect:
        """Where the picture is drawn: the widget rectangle fitted to the image's aspect, centred."""
        if self._before is None or self._before.isNull():
            return QRect()
        size = self._before.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x, y = (self.width() - size.width()) // 2, (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def divider_x(self) -> int:
        """The divider's x in widget coordinates (original to its left, result to its right)."""
        rect = self.image_rect()
        return rect.x() + round(self._position * rect.width())

    # ------------------------------------------------------------------------------------------ input

    def mousePressEvent(self, event: QMouseEvent) -> None:
        overlay = self._overlay
        if (event.button() == Qt.MouseButton.LeftButton and overlay is not None and overlay.active()
                and not (self.has_result() and abs(event.position().x() - self.divider_x()) <= GRAB_PX)
                and overlay.press(event.position(), self.image_rect())):
            self._overlay_mouse = True
            event.accept()
        elif event.button() == Qt.MouseButton.LeftButton and not self.image_rect().isEmpty():
            self._dragging = True
            self._move_to(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._overlay_mouse and self._overlay is not None:
            self._overlay.move(event.position())
            event.accept()
        elif self._dragging:
            self._move_to(event.position())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._overlay_mouse and event.button() == Qt.MouseButton.LeftButton:
            self._overlay_mouse = False
            if self._overlay is not None:
                self._overlay.release(event.position(), self.image_rect())
            event.accept()
        elif self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = FINE_STEP if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else STEP
        key = event.key()
        if key == Qt.Key.Key_Left:
            self.set_position(self._position - step)
        elif key == Qt.Key.Key_Right:
            self.set_position(self._position + step)
        elif key == Qt.Key.Key_Home:
            self.set_position(0.0)
        elif key == Qt.Key.Key_End:
            self.set_position(1.0)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _move_to(self, point: QPointF) -> None:
        rect = self.image_rect()
        if rect.width() > 0:
            self.set_position((point.x() - rect.x()) / rect.width())

    # ------------------------------------------------------------------------------------------ paint

    def _scaled_images(self, rect: QRect) -> tuple[QImage | None, QImage | None]:
        """Images scaled to the device pixels of `rect` (cached until the size or the images change)."""
        ratio = self.devicePixelRatioF()
        target = QSize(max(1, round(rect.width() * ratio)), max(1, round(rect.height() * ratio)))
        if self._scaled is None or self._scaled[0] != target:
            def fit(image: QImage | None) -> QImage | None:
                if image is None:
                    return None
                if image.width() > 2 * target.width() and image.height() > 2 * target.height():
                    # A huge image: a fast pass first keeps a paint on the GUI thread in milliseconds.
                    image = image.scaled(target * 2, Qt.AspectRatioMode.IgnoreAspectRatio,
                                         Qt.TransformationMode.FastTransformation)
                scaled = image.scaled(target, Qt.AspectRatioMode.IgnoreAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
                scaled.setDevicePixelRatio(ratio)
                return scaled

            self._scaled = (target, fit(self._before), fit(self._after))
        return self._scaled[1], self._scaled[2]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.image_rect()
        palette = self.palette()
        if not rect.isEmpty():
            before, after = self._scaled_images(rect)
            split = self.divider_x() if after is not None else rect.right() + 1
            left = QRect(rect.x(), rect.y(), split - rect.x(), rect.height())
            right = QRect(split, rect.y(), rect.right() + 1 - split, rect.height())
            if before is not None and left.width() > 0:
                painter.save()
                painter.setClipRect(left)
                painter.drawImage(QRectF(rect), before)
                painter.restore()
            if after is not None and right.width() > 0:
                painter.save()
                painter.setClipRect(right)
                if self._after_alpha:
                    painter.setBrushOrigin(rect.topLeft())
                    painter.fillRect(rect, self._board)
                painter.drawImage(QRectF(rect), after)
                painter.restore()
            if after is not None:
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
                painter.drawLine(split, rect.top(), split, rect.bottom())
                handle = QRectF(split - 6, rect.center().y() - 14, 12, 28)
                painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
                painter.drawRoundedRect(handle, 4, 4)
            if self._overlay is not None:
                self._overlay.paint(painter, rect)
        if self._note:
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
            metrics = painter.fontMetrics()
            box = metrics.boundingRect(self._note).adjusted(-10, -6, 10, 6)
            box.moveCenter(QRect(0, 0, self.width(), 2 * box.height() + 8).center())
            painter.fillRect(box, palette.color(QPalette.ColorRole.Highlight))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._note)
        painter.end()
