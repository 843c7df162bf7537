"""The photos tab: open or drop files, folders and videos; compare before/after; save one or export all.

Nothing heavy runs on the GUI thread: `photo_worker.PhotoThread` reads files, makes previews and writes
saved photos; exports (and saving a video, which is an export of that one item) run through `BatchWorker`
(`core.batch`). Save asks where (a Save As dialog), Export all asks for a folder; both remember the answer
in the settings. The model arrives once, through `set_segmenter`. Call `shutdown()` before the window goes
away: it joins both threads. With faces on, a photo's faces are outlined for review (`face_review.FacesBar`):
its preview, its save and Export all hide exactly the reviewed boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.settings import Settings
from desktop_app.ui.compare_view import CompareView
from desktop_app.ui.display import display_size
from desktop_app.ui.exports import ExportBar, ExportJob, ProcessorFactory, pipeline_for_batch, saved_text
from desktop_app.ui.face_review import FacesBar
from desktop_app.ui.opened_items import OpenedItems, local_paths
from desktop_app.ui.photo_save import PendingSave, SavesResults
from desktop_app.ui.photo_worker import FinderFactory, PhotoThread, Preview, PreviewRequest
from desktop_app.ui.pickers import (
    FilesPicker,
    FolderPicker,
    SavePicker,
    ask_files,
    ask_folder,
    ask_save_path,
    pictures_dir,
)

__all__ = ["LOADING_NOTE", "PhotosView", "Preview"]

LOADING_NOTE = "Loading the model… the effect appears as soon as it is ready"
EMPTY_NOTE = "Drop photos, folders or videos here, or use Open…"
SHARED_CPU_NOTE = "The virtual camera is on: the live effect keeps running for your call and shares the CPU."


class PhotosView(QWidget, SavesResults):
    """Opened photos/videos, a before/after view of the selected one, Save and Export all."""

    preview_shown = Signal(object)  # Preview now on screen
    saved = Signal(object)  # Path written by save_current (a photo, or a video once exported)
    export_finished = Signal(object)  # core.batch.Report

    def __init__(self, params_provider: Callable[[], EffectParams], settings: Settings,
                 parent: QWidget | None = None, *, segmenter: SegmenterLike | None = None,
                 processor_factory: ProcessorFactory = pipeline_for_batch, folder_picker: FolderPicker = ask_folder,
                 files_picker: FilesPicker = ask_files, save_picker: SavePicker = ask_save_path,
                 face_finder: FinderFactory | None = None) -> None:
        super().__init__(parent)
        self._settings, self._processor_factory = settings, processor_factory
        self._pick_folder, self._pick_files, self._pick_save = folder_picker, files_picker, save_picker
        self._params = params_provider()
        self._segmenter = segmenter
        self._generation = 0
        self._shown: Preview | None = None
        self._waiting_preview = False  # shown without the effect: re-process when the model arrives
        self._pending_save: PendingSave | None = None
        self._stale = False  # params changed while hidden
        self._closed = False

        self.setAcceptDrops(True)
        self._build()
        self._thread = PhotoThread(self, face_finder)
        self._thread.thumbnail.connect(self.opened.set_thumbnail)
        self._thread.unreadable.connect(self._on_unreadable)
        self._thread.processed.connect(self._on_processed)
        self._thread.failed.connect(self._on_failed)
        self._thread.saved.connect(self._on_saved)
        self._thread.save_failed.connect(self._on_save_failed)
        self._thread.start()
        self._sync_buttons()

    # ------------------------------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.opened = OpenedItems()
        self.item_list, self.error_list = self.opened.list, self.opened.error_list
        self.item_list.currentItemChanged.connect(self._on_selection)

        # Shortcuts (Ctrl+O, Ctrl+S, Ctrl+Shift+E) belong to the main window's File menu, which calls these.
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.open_dialog)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save the selected result where you choose (never replaces a file)")
        self.save_button.clicked.connect(self.save_current)
        self.export_button = QPushButton("Export all…")
        self.export_button.clicked.connect(lambda: self.export_all())
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.save_button, self.export_button, self.clear_button):
            buttons.addWidget(button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.opened, 1)

        self.compare = CompareView()
        self.compare.set_note(EMPTY_NOTE)
        self.faces_bar = FacesBar(self.compare.update)
        self.faces_bar.changed.connect(self._request_preview)
        self.compare.set_overlay(self.faces_bar.overlay)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.faces_bar)
        right_layout.addWidget(self.compare, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 700])

        self.exports = ExportBar(lambda: self._params, lambda: self._settings.output_format,
                                 lambda s, p: self.faces_bar.wrap(self._processor_factory(s, p), p), self)
        self.exports.saved.connect(self.saved)
        self.exports.item_failed.connect(self.opened.add_error)
        self.exports.finished.connect(self.export_finished)
        self.exports.busy_changed.connect(self._sync_buttons)
        self.exports.set_segmenter(self._segmenter)
        self.batch, self.status_label = self.exports.batch, self.exports.status_label
        self.progress_bar, self.cancel_button = self.exports.progress_bar, self.exports.cancel_button

        self.shared_cpu_note = QLabel(SHARED_CPU_NOTE)
        self.shared_cpu_note.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.shared_cpu_note)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.exports)

    def set_sharing_cpu(self, sharing: bool) -> None:
        """Say (one line) that the virtual camera keeps the live effect running beside the photos."""
        self.shared_cpu_note.setVisible(sharing)

    def _busy(self) -> bool:
        """An export (or a video save) is running or waiting for the model."""
        return self.exports.busy()

    def _sync_buttons(self) -> None:
        has_items = self.item_list.count() > 0
        self.save_button.setEnabled(self.item_list.currentItem() is not None)
        self.export_button.setEnabled(has_items and not self._busy())
        self.clear_button.setEnabled(has_items and not self._busy())

    # ------------------------------------------------------------------------------------------ items

    def paths(self) -> list[Path]:
        """The listed (readable so far) items, in order."""
        return self.opened.paths()

    def errors(self) -> list[str]:
        return self.opened.errors()

    def current_path(self) -> Path | None:
        return self.opened.current_path()

    def shown(self) -> Preview | None:
        """What the comparison view shows now."""
        return self._shown

    def add_paths(self, paths: Iterable[Path]) -> None:
        """Add files, folders (recursively: photos and videos) and videos; unreadable ones go to the errors."""
        new = self.opened.add(paths)  # the first is selected if nothing was: its preview goes first
        if new:
            self._settings.last_open_dir = str(new[-1].parent)
            self._thread.request_thumbnails(new)
        elif self.opened.is_empty():
            self.status_label.setText("No photos or videos found there.")
        self._sync_buttons()

    def clear(self) -> None:
        """Forget every item and error (files on disk are untouched)."""
        if self._busy():
            return
        self._thread.cancel_thumbnails()
        self.opened.clear()
        self._generation += 1
        self._shown = None
        self._pending_save = None
        self.faces_bar.clear()
        self.compare.clear()
        self.compare.set_note(EMPTY_NOTE)
        self.status_label.clear()
        self._sync_buttons()

    def open_dialog(self) -> None:
        start = self._settings.last_open_dir or str(pictures_dir())
        paths = self._pick_files(self, start)
        if paths:
            self.add_paths(paths)

    # drops

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(paths)

    # thread reports

    @Slot(str, str)
    def _on_unreadable(self, path_text: str, message: str) -> None:
        if not self.opened.drop_unreadable(Path(path_text), message):  # the selection moves on
            return
        if self.opened.is_empty():
            self._shown = None
            self.compare.clear()
            self.compare.set_note("None of these files could be opened.")
        self._sync_buttons()

    # ------------------------------------------------------------------------------------------ preview

    @Slot(object)
    def on_params_changed(self, params: EffectParams) -> None:
        """The effect changed: re-process the selected photo (when the tab is next shown, if hidden,
        so a slider dragged on the Live tab does not re-process a big photo on a shared CPU)."""
        self._params = params
        if self.isVisible():
            self._request_preview()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._request_preview()

    @Slot(object)
    def set_segmenter(self, segmenter: SegmenterLike | None) -> None:
        """The model is loaded (the one way it arrives): process what was waiting for it."""
        self._segmenter = segmenter
        self.exports.set_segmenter(segmenter)
        if segmenter is not None and self._waiting_preview:
            self._request_preview()

    def _on_selection(self, *_args: object) -> None:
        self._pending_save = None
        self._sync_buttons()
        self._request_preview()

    def _request_preview(self) -> None:
        path = self.current_path()
        if path is None or self._closed:
            return
        self._generation += 1
        self._waiting_preview = self._segmenter is None
        if self._shown is None or self._shown.path != path:
            self.compare.set_note("Opening…")
        faces, review = self.faces_bar.request_for(path, self._params)
        self._thread.request_preview(PreviewRequest(self._generation, path, self._params, self._segmenter,
                                                    display_size(self.compare), faces, review))

    @Slot(object)
    def _on_processed(self, preview: Preview) -> None:
        if preview.generation != self._generation:
            return  # an older request finished after a newer one was made
        self._shown = preview
        self.compare.set_qimages(preview.before, preview.after)
        self.compare.set_note(LOADING_NOTE if preview.after is None else "")
        if self.faces_bar.show_preview(preview, self._params):
            self._request_preview()  # it hid other boxes than the review's (edits kept across a re-detection)
        self.preview_shown.emit(preview)
        self._write_pending_save()

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        text = f"Could not apply the effect: {message}"
        if generation == self._generation:
            self.compare.set_note(text)
        notifier.error(text)

    # ------------------------------------------------------------------------------------------ save

    @Slot(str, str)
    def _on_saved(self, path_text: str, asked: str) -> None:
        path = Path(path_text)
        self.status_label.setText(saved_text(path, asked))
        self.saved.emit(path)

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self.status_label.setText(f"Not saved: {message}")
        notifier.error(f"The picture was not saved: {message}")

    # ------------------------------------------------------------------------------------------ export

    def export_all(self, folder: Path | None = None) -> bool:
        """Process every opened item into `folder` (asked for, starting at the last one, if None) off the
        GUI thread. Returns False when nothing starts (no items, no folder chosen, an export already running).
        """
        roots = self.opened.roots()
        if self._busy() or not roots:
            return False
        if folder is None:
            folder = self._pick_folder(self, self._settings.last_export_dir or str(pictures_dir()))
            if folder is None:
                return False
        folder = Path(folder)
        self._settings.last_export_dir = str(folder)
        self.opened.clear_errors()  # the batch reports every failing input again
        self.exports.begin(ExportJob(roots, folder))
        return True

    def cancel_export(self) -> None:
        """Stop the export between files (or mid-video); finished files stay, no partial file is left."""
        self.exports.cancel()

    # ------------------------------------------------------------------------------------------ teardown

    def shutdown(self) -> None:
        """Cancel any export and join both threads; call from the window's closeEvent (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.exports.shutdown()
        self._thread.stop()
        self._thread.wait()
