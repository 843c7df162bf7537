"""Live snapshots: where they go (shown in the Live tab's bar, changeable) and a writer off the GUI thread.

Encoding a 720p PNG takes 50-100 ms; `SnapshotWriter` does it on one background thread, in order, and
reports `saved(Path)` / `failed(str)` back on the GUI thread. The folder defaults to <Pictures>/LocalLens
and is created only when the first snapshot is written (`write_image` creates it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from desktop_app import APP_NAME
from desktop_app.core.imageio import write_image
from desktop_app.core.settings import Settings
from desktop_app.ui.pickers import FolderPicker, ask_snapshot_folder, pictures_dir


def default_snapshot_dir() -> Path:
    return pictures_dir() / APP_NAME


def display_path(path: Path) -> str:
    """`~/Pictures/LocalLens` for a folder under home, the full path otherwise."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


class SnapshotWriter(QObject):
    """`write(pixels, folder, stem)` returns at once; the PNG is written atomically, never overwriting."""

    saved = Signal(object)  # Path
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool: ThreadPoolExecutor | None = None

    def write(self, pixels: np.ndarray, folder: Path, stem: str) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="locallens-snapshot")
        self._pool.submit(self._write, pixels, folder, stem)

    def _write(self, pixels: np.ndarray, folder: Path, stem: str) -> None:
        try:
            path = write_image(pixels, folder, stem, "png")
        except Exception as exc:  # ImageWriteError, OSError: the message is for the user
            self.failed.emit(str(exc))
            return
        self.saved.emit(path)

    def shutdown(self) -> None:
        """Finish the snapshots already taken, then end the thread (idempotent)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class SnapshotFolder(QWidget):
    """"Snapshots: ~/Pictures/LocalLens  [Change…]": the folder, stored in `settings.snapshot_dir`."""

    def __init__(self, settings: Settings, picker: FolderPicker = ask_snapshot_folder,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings, self._pick = settings, picker
        self.label = QLabel()
        self.change_button = QPushButton("Change…")
        self.change_button.setToolTip("Choose the folder snapshots are saved to")
        self.change_button.clicked.connect(self.choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.change_button)
        self._show()

    def folder(self) -> Path:
        return Path(self._settings.snapshot_dir) if self._settings.snapshot_dir else default_snapshot_dir()

    def set_folder(self, folder: Path) -> None:
        self._settings.snapshot_dir = str(folder)
        self._show()

    def choose(self) -> bool:
        """Ask for a folder (starting at the current one); False if cancelled."""
        chosen = self._pick(self, str(self.folder()))
        if chosen is None:
            return False
        self.set_folder(chosen)
        return True

    def _show(self) -> None:
        folder = self.folder()
        self.label.setText(f"Snapshots: {display_path(folder)}")
        self.label.setToolTip(f"Snapshots (Space) are saved to {folder}")
