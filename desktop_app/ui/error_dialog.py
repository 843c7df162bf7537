"""The one error dialog: subscribed to `notifier`, never stacked (later notices join the open dialog).

`startup_error_box` is the other one: for an error that stops the app before its window is up.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.notify import Notice, Notifier, Severity


class ErrorDialog(QDialog):
    """Shows the first notice; later ones are counted ("and 2 more") and their text appended to details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("LocalLens")
        self.setModal(False)
        self.notices: list[Notice] = []
        self._icon = QLabel()
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._more = QLabel()
        self._details = QPlainTextEdit()
        self._details.setReadOnly(True)
        self._details.setVisible(False)
        self._details.setMinimumHeight(160)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self._toggle = QPushButton("Details")
        self._toggle.setCheckable(True)
        self._toggle.toggled.connect(self._details.setVisible)
        buttons.addButton(self._toggle, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        for widget in (self._icon, self._message, self._more, self._details, buttons):
            layout.addWidget(widget)

    def add(self, notice: Notice) -> None:
        self.notices.append(notice)
        first = self.notices[0]
        if len(self.notices) == 1:
            icon = {
                Severity.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
                Severity.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
            }.get(first.severity, QStyle.StandardPixmap.SP_MessageBoxCritical)
            self._icon.setPixmap(self.style().standardIcon(icon).pixmap(32, 32))
            self._message.setText(first.message)
        extra = len(self.notices) - 1
        self._more.setText(f"…and {extra} more (see Details)." if extra else "")
        self._more.setVisible(bool(extra))
        self._details.setPlainText("\n\n".join(self._detail_text(n) for n in self.notices))
        self._toggle.setEnabled(any(n.details for n in self.notices) or extra > 0)

    @staticmethod
    def _detail_text(notice: Notice) -> str:
        head = f"[{notice.severity.value}] {notice.message}"
        return f"{head}\n{notice.details}" if notice.details else head

    def summary(self) -> str:
        return self._message.text() + (f" {self._more.text()}" if self._more.text() else "")


class ErrorReporter(QObject):
    """Lives on the GUI thread; `attach(notifier)` subscribes a listener that may be called from any thread.

    The listener only emits `_received`, a signal of this GUI-thread object, so the dialog is always built
    on the GUI thread. INFO notices go to `info` (for the status bar), not to a dialog.
    """

    _received = Signal(object)
    info = Signal(str)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__()
        self._parent_widget = parent_widget
        self._unsubscribe: Callable[[], None] | None = None
        self.dialog: ErrorDialog | None = None
        self.dialogs_opened = 0
        self._received.connect(self._on_notice, Qt.ConnectionType.QueuedConnection)

    def attach(self, source: Notifier) -> None:
        self.detach()
        self._unsubscribe = source.subscribe(self._listener)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def set_parent_widget(self, widget: QWidget | None) -> None:
        self._parent_widget = widget

    def _listener(self, notice: Notice) -> None:
        self._received.emit(notice)  # any thread -> queued to the GUI thread

    def _on_notice(self, notice: Notice) -> None:
        if notice.severity == Severity.INFO:
            self.info.emit(notice.message)
            return
        if self.is_open():
            assert self.dialog is not None
            self.dialog.add(notice)
            return
        self.close_dialog()
        self.dialog = ErrorDialog(self._parent_widget)
        self.dialog.add(notice)
        self.dialogs_opened += 1
        self.dialog.show()
        self.dialog.raise_()

    def is_open(self) -> bool:
        return self.dialog is not None and shiboken6.isValid(self.dialog) and self.dialog.isVisible()

    def close_dialog(self) -> None:
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = None


def startup_error_box(message: str, details: str) -> QMessageBox:
    """A critical message box for an error that stopped the app from starting; the traceback under Details."""
    box = QMessageBox(QMessageBox.Icon.Critical, "LocalLens", message, QMessageBox.StandardButton.Ok)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    return box


def show_startup_error(message: str, details: str) -> None:
    """Show `startup_error_box` and wait until the user closes it (there is no window to return to)."""
    startup_error_box(message, details).exec()
