"""The Live tab's Record button: start/stop recording the processed live view (Ctrl+R).

Recording attaches a new `Recorder` as a sink of the live worker; stopping removes it (which finalises the
file). While recording the button shows the elapsed time; afterwards a notice gives the saved path. Its menu
chooses the recordings folder (`settings.recording_dir`, default <Videos>/LocalLens).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton, QWidget

from desktop_app.core.notify import notifier
from desktop_app.core.recorder import Recorder, default_recordings_dir
from desktop_app.core.settings import Settings
from desktop_app.core.sinks import FrameSink, SinkError
from desktop_app.ui.pickers import FolderPicker
from desktop_app.ui.snapshots import display_path

SHORTCUT = "Ctrl+R"
TICK_MS = 500


class SinkHost(Protocol):
    """What the button needs of the live worker."""

    sink_removed: SignalInstance  # a sink that failed and was dropped (its notice is already out)

    def add_sink(self, sink: FrameSink) -> None: ...

    def remove_sink(self, sink: FrameSink) -> None: ...


def ask_recording_folder(parent: QWidget, start: str) -> Path | None:
    name = QFileDialog.getExistingDirectory(parent, "Save recordings to folder", start)
    return Path(name) if name else None


def elapsed_text(seconds: float) -> str:
    """0:07, 12:34, 1:02:03."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RecordButton(QToolButton):
    """"● Record" / "■ Stop 0:12", with a menu for the folder. `saved(Path)` follows a finished recording;
    `failed(str)` a recording that stopped on an error (after its notice)."""

    saved = Signal(object)
    failed = Signal(str)
    recording_changed = Signal(bool)

    def __init__(self, settings: Settings, host: SinkHost, *, picker: FolderPicker = ask_recording_folder,
                 recorder_factory: Callable[[Path], Recorder] = Recorder,
                 clock: Callable[[], float] = time.monotonic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings, self._host, self._pick = settings, host, picker
        self._factory, self._clock = recorder_factory, clock
        self.recorder: Recorder | None = None
        self.last_path: Path | None = None
        self._started_at = 0.0
        self.setAccessibleName("Record")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays the snapshot key
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self)
        self.folder_action = menu.addAction("Recordings folder…")
        self.folder_action.triggered.connect(self.choose_folder)
        self.setMenu(menu)
        self.record_shortcut = QShortcut(QKeySequence(SHORTCUT), self)
        self.record_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)  # only while the Live tab shows it
        self.record_shortcut.activated.connect(self.toggle)
        self.clicked.connect(self.toggle)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._show)
        host.sink_removed.connect(self._on_sink_removed)
        self._show()

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def folder(self) -> Path:
        return Path(self._settings.recording_dir) if self._settings.recording_dir else default_recordings_dir()

    def set_folder(self, folder: Path) -> None:
        self._settings.recording_dir = str(folder)
        self._show()

    def choose_folder(self) -> bool:
        """Ask for a folder (starting at the current one); False if cancelled. Applies to the next recording."""
        chosen = self._pick(self, str(self.folder()))
        if chosen is None:
            return False
        self.set_folder(chosen)
        return True

    def toggle(self) -> None:
        if self.recording:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        """Record from the next processed frame on (the file is created when that frame arrives)."""
        if self.recording:
            return
        self.recorder = self._factory(self.folder())
        self._started_at = self._clock()
        self._host.add_sink(self.recorder)
        self._timer.start()
        self._show()
        self.recording_changed.emit(True)

    def stop(self) -> Path | None:
        """Stop and finalise; a notice gives the saved path (or says why there is none). Returns the path."""
        recorder = self.recorder
        if recorder is None:
            return None
        self._host.remove_sink(recorder)  # closes it: the last fragment is written, the file finalised
        with contextlib.suppress(SinkError):
            recorder.close()  # idempotent; the host may swallow what close raised, so the error is read below
        return self._finished(recorder, notice_given=False)

    def _on_sink_removed(self, sink: object) -> None:
        """The session dropped the recorder after it failed (the session gave the notice)."""
        if sink is self.recorder and self.recorder is not None:
            self._finished(self.recorder, notice_given=True)

    def _finished(self, recorder: Recorder, *, notice_given: bool) -> Path | None:
        self.recorder = None
        self._timer.stop()
        stats, error = recorder.stats, recorder.error
        path = stats.path if stats.path is not None and stats.path.exists() else None
        if path is not None:
            self.last_path = path
        if error is not None:
            if not notice_given:
                notifier.warning(f"Recording stopped: {error}")
            self.failed.emit(error)
        elif path is not None:
            notifier.info(f"Recording saved: {path} ({elapsed_text(stats.duration)}, {stats.frames_written} frames)")
            self.saved.emit(path)
        else:
            notifier.info("Nothing was recorded: no processed frame arrived.")
        self._show()
        self.recording_changed.emit(False)
        return path

    def _show(self) -> None:
        folder = display_path(self.folder())
        if self.recording:
            self.setText(f"■ Stop {elapsed_text(self._clock() - self._started_at)}")
            self.setToolTip(f"Stop recording ({SHORTCUT}); the video goes to {folder}")
        else:
            self.setText("● Record")
            last = f"\nLast recording: {self.last_path}" if self.last_path is not None else ""
            self.setToolTip(f"Record the processed live view to a video in {folder} ({SHORTCUT}){last}")
        self.folder_action.setText(f"Recordings folder: {folder}…")
