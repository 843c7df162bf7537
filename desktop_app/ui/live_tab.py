"""The Live tab: its bar (camera, resolution, Mirror, snapshot folder, Snapshot, Record) and the Virtual camera
switch over the live view.

It chooses what the live worker (the Qt face of `core.live.LiveSession`) plays (a camera found by name, a file
used as a camera), keeps the Mirror box true to what is on screen, releases the camera while paused, and writes
snapshots off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app import APP_NAME
from desktop_app.core.notify import notifier
from desktop_app.core.settings import Settings
from desktop_app.core.sources import NO_CAMERA as NO_CAMERA  # re-exported: the window and tests import it here
from desktop_app.core.sources import (
    RESOLUTIONS,
    Camera,
    CameraLister,
    FrameSource,
    list_cameras,
    open_fake_camera,
)
from desktop_app.core.sources import camera_factory as core_camera_factory
from desktop_app.ui.live_view import LiveView
from desktop_app.ui.pickers import FolderPicker, ask_snapshot_folder
from desktop_app.ui.record_button import RecordButton
from desktop_app.ui.snapshots import SnapshotFolder, SnapshotWriter
from desktop_app.ui.vcam_toggle import VirtualCameraFactory, VirtualCameraToggle
from desktop_app.ui.worker import LiveWorker

PAUSED_NOTE = "Live view paused while the Photos tab is open."


def camera_factory(name: str | None, resolution: tuple[int, int],
                   lister: CameraLister = list_cameras) -> Callable[[], FrameSource]:
    """core.sources.camera_factory (shared with `locallens live`), opening this module's `Camera`."""
    return core_camera_factory(name, resolution, lister, lambda index, found, size: Camera(index, found, size))


class LiveTab(QWidget):
    """The bar and the live view; `worker` is the live loop it feeds (started and stopped by its owner).

    `snapshot_saved(Path)` follows each `snapshot()` once the file is written; `status_message(str)` is a
    short note for the status bar.

    Mirror: the remembered `settings.mirror` is for real cameras; a file used as a camera and the demo
    sample start unmirrored (text in them would read backwards) and the box then toggles them for this
    session only. It flips the preview (and snapshots) only: sinks such as a virtual camera get the frame
    the right way round (call apps mirror their own self-view).
    """

    snapshot_saved = Signal(object)
    status_message = Signal(str)

    def __init__(self, settings: Settings, worker: LiveWorker, *, camera_file: Path | None = None,
                 camera_lister: CameraLister = list_cameras,
                 snapshot_folder_picker: FolderPicker = ask_snapshot_folder,
                 virtual_camera_factory: VirtualCameraFactory | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings, self.worker, self.camera_file = settings, worker, camera_file
        self._lister = camera_lister
        self._file_mirror = False  # this session's Mirror for a file used as a camera
        self._demo_mirror = False  # ... and for the demo sample
        self.paused = False  # the camera is released (the Photos tab is in front)
        self._hidden = False  # the Photos tab is in front (the session still runs while the virtual camera is on)
        self._vcam_factory = virtual_camera_factory
        self.live_view = LiveView()
        self.snapshot_folder = SnapshotFolder(settings, snapshot_folder_picker)
        self.snapshot_writer = SnapshotWriter(self)
        self.record_button = RecordButton(settings, worker)  # Ctrl+R; its own widget (see record_button.py)
        self._build()
        self.worker.set_demo_mirror(self._demo_mirror)
        self.worker.set_mirror(self._source_mirror())
        self._sync_mirror_box()
        self._connect()

    def _build(self) -> None:
        self.camera_combo = QComboBox()
        self.camera_combo.setAccessibleName("Camera")
        self.camera_combo.setMinimumContentsLength(18)
        self.resolution_combo = QComboBox()
        self.resolution_combo.setAccessibleName("Resolution")
        for w, h in RESOLUTIONS:
            self.resolution_combo.addItem(f"{w} × {h}")
        wanted = tuple(self.settings.resolution)
        self.resolution_combo.setCurrentIndex(RESOLUTIONS.index(wanted) if wanted in RESOLUTIONS else 1)
        self.mirror_box = QCheckBox("Mirror")
        self.mirror_box.setToolTip("Flip the picture left to right, like a mirror (remembered for cameras)")
        self.snapshot_button = QPushButton("Snapshot")
        self.snapshot_button.setToolTip("Save the processed picture to the snapshot folder (Space)")
        self.snapshot_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays the snapshot key
        self.virtual_camera = VirtualCameraToggle(self.worker, self._virtual_camera_format, self._vcam_factory)
        self._fill_cameras()

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Camera"))
        bar.addWidget(self.camera_combo, 1)
        bar.addWidget(self.resolution_combo)
        bar.addWidget(self.mirror_box)
        bar.addStretch(1)
        bar.addWidget(self.snapshot_folder)
        bar.addWidget(self.snapshot_button)
        bar.addWidget(self.record_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(bar)
        column.addWidget(self.virtual_camera)
        column.addWidget(self.live_view, 1)

    def _connect(self) -> None:
        self.worker.message_changed.connect(self.live_view.set_message)
        self.worker.source_changed.connect(self._on_source_changed)
        self.camera_combo.currentIndexChanged.connect(self._on_camera_changed)
        self.resolution_combo.currentIndexChanged.connect(self._on_camera_changed)
        self.mirror_box.toggled.connect(self._on_mirror)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.snapshot_writer.saved.connect(self._on_snapshot_saved)
        self.snapshot_writer.failed.connect(self._on_snapshot_failed)
        self.virtual_camera.active_changed.connect(self._on_virtual_camera)

    def _fill_cameras(self) -> None:
        combo = self.camera_combo
        combo.blockSignals(True)
        combo.clear()
        if self.camera_file is not None:
            combo.addItem(f"File: {self.camera_file.name}", f"file:{self.camera_file}")
        cameras = self._lister()
        for camera in cameras:
            combo.addItem(camera.name, f"camera:{camera.name}")
        if combo.count() == 0:
            combo.addItem("No camera found", "first:")
        if self.camera_file is None and self.settings.camera_name:
            index = combo.findData(f"camera:{self.settings.camera_name}")
            combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    # ------------------------------------------------------------------------------------------ source

    def source_factory(self) -> Callable[[], FrameSource]:
        kind, value = self.camera_choice()
        resolution = self.resolution()
        if kind == "file":
            path = Path(value)
            return lambda: open_fake_camera(path, size=resolution)
        return camera_factory(value or None, resolution, self._lister)

    def camera_choice(self) -> tuple[str, str]:
        """("file", path) | ("camera", name) | ("first", "")."""
        kind, _, value = str(self.camera_combo.currentData() or "first:").partition(":")
        return kind, value

    def resolution(self) -> tuple[int, int]:
        return RESOLUTIONS[max(self.resolution_combo.currentIndex(), 0)]

    def _on_camera_changed(self, _index: int = 0) -> None:
        kind, value = self.camera_choice()
        if kind == "camera":
            self.settings.camera_name = value
        self.settings.resolution = self.resolution()
        self.worker.set_mirror(self._source_mirror())
        self.worker.set_source(self.source_factory())
        self._sync_mirror_box()

    def _on_source_changed(self, name: str) -> None:
        """The shown source changed (the Mirror box follows it); a camera plugged in while "No camera found"
        was shown is listed and selected by name."""
        self._sync_mirror_box()
        if self.camera_choice()[0] != "first" or self.worker.on_demo:
            return
        self._fill_cameras()
        index = self.camera_combo.findData(f"camera:{name}")
        if index >= 0:
            self.camera_combo.blockSignals(True)
            self.camera_combo.setCurrentIndex(index)
            self.camera_combo.blockSignals(False)
            self.settings.camera_name = name

    def set_paused(self, paused: bool) -> None:
        """The Photos tab is in front (True) or the Live tab is back (False): release the camera (its light goes
        off, both cores go to the photos), or reopen it on the chosen source. While the virtual camera is on the
        session keeps running (a call must not freeze). Pausing a worker that is not running does nothing."""
        self._hidden = paused
        self._apply_pause()

    def _apply_pause(self) -> None:
        pause = self._hidden and not self.virtual_camera.active
        if pause == self.paused:
            return
        if pause and self.worker.is_running():
            self.paused = True
            self.record_button.stop()  # a paused session closes its sinks: the recording ends here, saved
            self.worker.stop()
            self.live_view.set_message(PAUSED_NOTE)
        elif not pause:
            self.paused = False
            self.live_view.set_message("")
            self.worker.set_source(self.source_factory())
            self.worker.start()

    # ------------------------------------------------------------------------------------------ virtual camera

    def _virtual_camera_format(self) -> tuple[tuple[int, int], float]:
        """What the virtual camera opens at: the session's output size and rate (what it opens sinks at)."""
        session = self.worker.session
        return session.output_size, session.output_fps

    def _on_virtual_camera(self, active: bool) -> None:
        """On: the session runs even behind the Photos tab. Off while hidden: release the camera now."""
        self._apply_pause()

    # ------------------------------------------------------------------------------------------ mirror

    def _source_mirror(self) -> bool:
        """Mirror for the chosen real source: remembered for cameras, this session's choice for a file."""
        return self._file_mirror if self.camera_choice()[0] == "file" else self.settings.mirror

    def _sync_mirror_box(self) -> None:
        """Show the Mirror state of what is on screen (the demo, or the chosen source)."""
        self.mirror_box.blockSignals(True)
        self.mirror_box.setChecked(self._demo_mirror if self.worker.on_demo else self._source_mirror())
        self.mirror_box.blockSignals(False)

    def _on_mirror(self, checked: bool) -> None:
        if self.worker.on_demo:
            self._demo_mirror = checked
            self.worker.set_demo_mirror(checked)
            return
        if self.camera_choice()[0] == "file":
            self._file_mirror = checked
        else:
            self.settings.mirror = checked
        self.worker.set_mirror(checked)

    # ------------------------------------------------------------------------------------------ snapshots

    def snapshot(self) -> bool:
        """Save the processed frame on screen to the snapshot folder off the GUI thread (never overwriting,
        atomic, no metadata); `snapshot_saved(Path)` follows. False when there is nothing to save."""
        result = self.live_view.current_result()
        if result is None:
            self.status_message.emit("Nothing to save yet.")
            return False
        stem = f"{APP_NAME}-{datetime.now():%Y%m%d-%H%M%S}"
        self.snapshot_writer.write(result.pixels, self.snapshot_folder.folder(), stem)
        return True

    def _on_snapshot_saved(self, path: Path) -> None:
        self.status_message.emit(f"Saved {path}")
        self.snapshot_saved.emit(path)

    def _on_snapshot_failed(self, message: str) -> None:
        notifier.error(f"The snapshot could not be saved: {message}")

    def shutdown(self) -> None:
        """Turn the virtual camera off, finish the snapshots already taken and the recording (the worker is
        stopped by its owner)."""
        self.virtual_camera.shutdown()
        self.record_button.stop()
        self.snapshot_writer.shutdown()
