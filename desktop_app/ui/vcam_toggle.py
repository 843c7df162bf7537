"""The Live tab's "Virtual camera" switch and its status line (device / what to install / "Stopped: reason").

Turning it on opens the `VirtualCamera` off the GUI thread (starting the helper takes a moment; a missing
driver is said at once, in the status line, instead of a dialog), then adds it as a sink of the live session.
A camera that fails mid-call is dropped by the session, which sends the notice; the switch goes off and the
status line keeps the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from desktop_app.core.sinks import FrameSink, SinkError
from desktop_app.core.virtualcam import VirtualCamera
from desktop_app.ui.worker import LiveWorker

VirtualCameraFactory = Callable[[], VirtualCamera]
OutputFormat = Callable[[], tuple[tuple[int, int], float]]  # ((width, height), fps) the camera opens at
STARTING = "Starting…"


def default_factory() -> VirtualCamera:
    """The app's virtual camera (looked up when the switch is turned on, so tests can replace it)."""
    return VirtualCamera.from_environment()


class VirtualCameraToggle(QWidget):
    """`active_changed(bool)` when frames start or stop going to the virtual camera."""

    active_changed = Signal(bool)
    _opened = Signal(object, str)  # (camera, error or "") from the opening thread

    def __init__(self, worker: LiveWorker, output_format: OutputFormat,
                 factory: VirtualCameraFactory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker, self._format, self._factory = worker, output_format, factory
        self.camera: VirtualCamera | None = None  # streaming and attached to the session
        self._opening: threading.Thread | None = None
        self._candidate: VirtualCamera | None = None  # being opened
        self.box = QCheckBox("Virtual camera")
        self.box.setToolTip("Send the processed picture to a virtual camera: pick it as the camera in Zoom, "
                            "Teams, Meet or any call app. The live view keeps running while it is on.")
        self.status = QLabel("")
        self.status.setAccessibleName("Virtual camera status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the install line
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box)
        row.addWidget(self.status, 1)
        self.box.toggled.connect(self._on_toggled)
        self._opened.connect(self._on_opened)
        self.worker.sink_removed.connect(self._on_sink_removed)

    @property
    def active(self) -> bool:
        return self.camera is not None

    @property
    def busy(self) -> bool:
        """Opening: the switch waits for the helper's answer."""
        return self._opening is not None

    def set_on(self, on: bool) -> None:
        self.box.setChecked(on)

    def _on_toggled(self, checked: bool) -> None:
        if checked:
            self._start()
        else:
            self._turn_off("Off")

    def _start(self) -> None:
        if self.busy or self.active:
            return
        size, fps = self._format()
        camera = self._candidate = (self._factory or default_factory)()
        self.box.setEnabled(False)
        self.status.setText(STARTING)
        self._opening = threading.Thread(target=self._open, args=(camera, size, fps), name="vcam-open")
        self._opening.start()

    def _open(self, camera: VirtualCamera, size: tuple[int, int], fps: float) -> None:
        try:
            camera.open(size, fps)
        except SinkError as exc:
            self._opened.emit(camera, str(exc))
        except Exception as exc:  # a bug must still turn the switch back off with a reason
            self._opened.emit(camera, f"Virtual camera could not start: {exc}")
        else:
            self._opened.emit(camera, "")

    def _on_opened(self, camera: VirtualCamera, error: str) -> None:
        if camera is not self._candidate:
            return  # shut down meanwhile: already closed
        self._join_opening()
        self._candidate = None
        self.box.setEnabled(True)
        if error or not self.box.isChecked():
            camera.close()
            self._set_box(False)
            self.status.setText(error or "Off")
            return
        self.camera = camera
        self.worker.add_sink(camera)
        self.status.setText(f"On: {camera.opened_device}")
        self.status.setToolTip(f"{camera.opened_device} ({camera.opened_backend}), "
                               f"{camera.size[0]} × {camera.size[1]} at {camera.fps:g} fps")
        self.active_changed.emit(True)

    def _on_sink_removed(self, sink: FrameSink) -> None:
        if sink is not self.camera:
            return
        self.camera = None
        self._set_box(False)
        reason = getattr(sink, "failure", None) or "the virtual camera failed."
        self.status.setText(f"Stopped: {reason}")
        self.active_changed.emit(False)

    def _turn_off(self, text: str) -> None:
        camera, self.camera = self.camera, None
        if camera is not None:
            self.worker.remove_sink(camera)  # closes it: the helper ends, call apps see the camera stop
            camera.close()
            self.status.setText(text)
            self.active_changed.emit(False)
        elif not self.busy:
            self.status.setText(text)

    def _set_box(self, on: bool) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(on)
        self.box.blockSignals(False)

    def _join_opening(self) -> None:
        if self._opening is not None:
            self._opening.join()
            self._opening = None

    def shutdown(self) -> None:
        """Wait for an open in progress and turn the camera off (the window is closing)."""
        self._join_opening()
        if self._candidate is not None:  # opened (or failed) but its answer was not handled yet
            self._candidate.close()
            self._candidate = None
        self._turn_off("Off")
