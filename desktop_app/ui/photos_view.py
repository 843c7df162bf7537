"""The photos tab: open or drop files, folders and videos; compare before/after; save one or export all.

Nothing heavy runs on the GUI thread: `photo_worker.PhotoThread` reads files, makes previews and writes
saved photos; exports (and saving a video, which is an export of that one item) run through `BatchWorker`
(`core.batch`). Save asks where (a Save As dialog), Export all asks for a folder; both remember the answer
in the settings. The model arrives once, through `set_segmenter`. Call `shutdown()` before the window goes
away: it joins both threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.imageio import SUPPORTED_IMAGE_EXTENSIONS, output_stem
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.settings import Settings
from desktop_app.core.videoio import SUPPORTED_VIDEO_EXTENSIONS, is_video
from desktop_app.ui.compare_view import CompareView
from desktop_app.ui.exports import ExportBar, ExportJob, ProcessorFactory, pipeline_for_batch, saved_text
from desktop_app.ui.photo_worker import THUMB, PhotoThread, Preview, PreviewRequest, SaveRequest
from desktop_app.ui.pickers import (
    FilesPicker,
    FolderPicker,
    SavePicker,
    ask_files,
    ask_folder,
    ask_save_path,
    image_target,
    pictures_dir,
    video_target,
)

__all__ = ["LOADING_NOTE", "PhotosView", "Preview"]

PATH_ROLE = Qt.ItemDataRole.UserRole
DISPLAY_MIN = QSize(1280, 960)
LOADING_NOTE = "Loading the model… the effect appears as soon as it is ready"
EMPTY_NOTE = "Drop photos, folders or videos here, or use Open…"

def _wanted(path: Path) -> bool:
    suffix = path.suffix.lower()
    return not path.name.startswith(".") and (
        suffix in SUPPORTED_IMAGE_EXTENSIONS or suffix in SUPPORTED_VIDEO_EXTENSIONS)


@dataclass(slots=True)
class _PendingSave:
    """A photo whose destination was chosen before its result was ready."""

    source: Path
    folder: Path
    stem: str
    fmt: str


class PhotosView(QWidget):
    """Opened photos/videos, a before/after view of the selected one, Save and Export all."""

    preview_shown = Signal(object)  # Preview now on screen
    saved = Signal(object)  # Path written by save_current (a photo, or a video once exported)
    export_finished = Signal(object)  # core.batch.Report

    def __init__(self, params_provider: Callable[[], EffectParams], settings: Settings,
                 parent: QWidget | None = None, *, segmenter: SegmenterLike | None = None,
                 processor_factory: ProcessorFactory = pipeline_for_batch, folder_picker: FolderPicker = ask_folder,
                 files_picker: FilesPicker = ask_files, save_picker: SavePicker = ask_save_path) -> None:
        super().__init__(parent)
        self._settings, self._processor_factory = settings, processor_factory
        self._pick_folder, self._pick_files, self._pick_save = folder_picker, files_picker, save_picker
        self._params = params_provider()
        self._segmenter = segmenter
        self._roots: list[Path] = []
        self._items: dict[Path, QListWidgetItem] = {}
        self._bad: set[Path] = set()
        self._generation = 0
        self._shown: Preview | None = None
        self._waiting_preview = False  # shown without the effect: re-process when the model arrives
        self._pending_save: _PendingSave | None = None
        self._stale = False  # params changed while hidden
        self._closed = False

        self.setAcceptDrops(True)
        self._build()
        self._thread = PhotoThread(self)
        self._thread.thumbnail.connect(self._on_thumbnail)
        self._thread.unreadable.connect(self._on_unreadable)
        self._thread.processed.connect(self._on_processed)
        self._thread.failed.connect(self._on_failed)
        self._thread.saved.connect(self._on_saved)
        self._thread.save_failed.connect(self._on_save_failed)
        self._thread.start()
        self._sync_buttons()

    # ------------------------------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.item_list = QListWidget()
        self.item_list.setIconSize(THUMB)
        self.item_list.setAccessibleName("Opened photos and videos")
        self.item_list.currentItemChanged.connect(self._on_selection)
        self.error_list = QListWidget()
        self.error_list.setAccessibleName("Files that could not be processed")
        self.error_list.setWordWrap(True)
        self.error_list.setMaximumHeight(120)
        self.error_label = QLabel("Problems")
        self.error_label.setBuddy(self.error_list)
        self.error_list.hide()
        self.error_label.hide()

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
        left_layout.addWidget(self.item_list, 1)
        left_layout.addWidget(self.error_label)
        left_layout.addWidget(self.error_list)

        self.compare = CompareView()
        self.compare.set_note(EMPTY_NOTE)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.compare)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 700])

        self.exports = ExportBar(lambda: self._params, lambda: self._settings.output_format,
                                 self._processor_factory, self)
        self.exports.saved.connect(self.saved)
        self.exports.item_failed.connect(self._add_error)
        self.exports.finished.connect(self.export_finished)
        self.exports.busy_changed.connect(self._sync_buttons)
        self.exports.set_segmenter(self._segmenter)
        self.batch, self.status_label = self.exports.batch, self.exports.status_label
        self.progress_bar, self.cancel_button = self.exports.progress_bar, self.exports.cancel_button

        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.exports)

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
        return [Path(self.item_list.item(i).data(PATH_ROLE)) for i in range(self.item_list.count())]

    def errors(self) -> list[str]:
        return [self.error_list.item(i).text() for i in range(self.error_list.count())]

    def current_path(self) -> Path | None:
        item = self.item_list.currentItem()
        return Path(item.data(PATH_ROLE)) if item is not None else None

    def shown(self) -> Preview | None:
        """What the comparison view shows now."""
        return self._shown

    def add_paths(self, paths: Iterable[Path]) -> None:
        """Add files, folders (recursively: photos and videos) and videos; unreadable ones go to the errors."""
        new: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                self._add_error(path, f"{path.name}: no such file or folder")
                continue
            if path not in self._roots:
                self._roots.append(path)
            found = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p)) if path.is_dir() else [path]
            for file in found:
                if file in self._items or file in self._bad:
                    continue
                item = QListWidgetItem(file.name)
                item.setData(PATH_ROLE, str(file))
                item.setToolTip(str(file))
                self._items[file] = item
                self.item_list.addItem(item)
                new.append(file)
        if new:
            self._settings.last_open_dir = str(new[-1].parent)
            if self.item_list.currentItem() is None:
                self.item_list.setCurrentItem(self._items[new[0]])  # its preview goes first
            self._thread.request_thumbnails(new)
        elif not self._items:
            self.status_label.setText("No photos or videos found there.")
        self._sync_buttons()

    def clear(self) -> None:
        """Forget every item and error (files on disk are untouched)."""
        if self._busy():
            return
        self._thread.cancel_thumbnails()
        self._roots.clear()
        self._items.clear()
        self._bad.clear()
        self.item_list.clear()
        self.error_list.clear()
        self.error_list.hide()
        self.error_label.hide()
        self._generation += 1
        self._shown = None
        self._pending_save = None
        self.compare.clear()
        self.compare.set_note(EMPTY_NOTE)
        self.status_label.clear()
        self._sync_buttons()

    def _add_error(self, path: Path, message: str) -> None:
        item = QListWidgetItem(message)
        item.setToolTip(str(path))
        self.error_list.addItem(item)
        self.error_list.show()
        self.error_label.show()

    def open_dialog(self) -> None:
        start = self._settings.last_open_dir or str(pictures_dir())
        paths = self._pick_files(self, start)
        if paths:
            self.add_paths(paths)

    # drops

    @staticmethod
    def _local_paths(event: QDropEvent | QDragEnterEvent) -> list[Path]:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._local_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(paths)

    # thread reports

    @Slot(str, QImage)
    def _on_thumbnail(self, path: str, image: QImage) -> None:
        item = self._items.get(Path(path))
        if item is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    @Slot(str, str)
    def _on_unreadable(self, path_text: str, message: str) -> None:
        path = Path(path_text)
        item = self._items.pop(path, None)
        if path in self._bad or item is None:
            return
        self._bad.add(path)
        self._add_error(path, message)
        self.item_list.takeItem(self.item_list.row(item))  # selection moves on to a readable item
        if not self._items:
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
        self._thread.request_preview(PreviewRequest(self._generation, path, self._params, self._segmenter,
                                                    self._display_size()))

    def _display_size(self) -> QSize:
        """The comparison view in device pixels (at least DISPLAY_MIN, so a small window still looks sharp)."""
        ratio = self.compare.devicePixelRatioF()
        size = self.compare.size()
        return QSize(max(DISPLAY_MIN.width(), round(size.width() * ratio)),
                     max(DISPLAY_MIN.height(), round(size.height() * ratio)))

    @Slot(object)
    def _on_processed(self, preview: Preview) -> None:
        if preview.generation != self._generation:
            return  # an older request finished after a newer one was made
        self._shown = preview
        self.compare.set_qimages(preview.before, preview.after)
        self.compare.set_note(LOADING_NOTE if preview.after is None else "")
        self.preview_shown.emit(preview)
        self._write_pending_save()

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        text = f"Could not apply the effect: {message}"
        if generation == self._generation:
            self.compare.set_note(text)
        notifier.error(text)

    # ------------------------------------------------------------------------------------------ save

    def save_folder(self) -> Path:
        """Where the Save As dialog starts: the last folder saved to, else the last export folder, else
        the user's Pictures folder."""
        last = self._settings.last_save_dir or self._settings.last_export_dir
        return Path(last) if last else pictures_dir()

    def save_current(self) -> bool:
        """Ask where to save the selected result (name proposed: `<stem>_<effect>.<fmt>`), then save it.

        A photo is written by the photo thread once its result is ready (`saved(Path)` follows); a video
        is exported whole through `BatchWorker`, with progress and Cancel. A picked name that exists is
        never replaced: the next free `name-1`, `name-2`... is written and the status line says so.
        Returns False when nothing is saved (nothing selected, dialog cancelled, an export running).
        """
        path = self.current_path()
        if path is None:
            return False
        if is_video(path):
            return self._save_video(path)
        fmt = self._settings.output_format
        chosen = self._pick_save(self, self.save_folder() / f"{output_stem(path, self._params.effect)}.{fmt}",
                                 False)
        if chosen is None or self.current_path() != path:
            return False
        folder, stem, fmt = image_target(chosen, fmt)
        self._settings.last_save_dir = str(folder)
        self._pending_save = _PendingSave(path, folder, stem, fmt)
        if not self._write_pending_save():
            self.status_label.setText("Saving when the result is ready…")
        return True

    def _write_pending_save(self) -> bool:
        """Hand the pending save to the photo thread if the current result is on screen."""
        pending, shown = self._pending_save, self._shown
        if (pending is None or shown is None or shown.path != pending.source or shown.pixels is None
                or shown.generation != self._generation):
            return False
        self._pending_save = None
        self._thread.request_save(SaveRequest(shown.pixels, pending.folder, pending.stem, pending.fmt,
                                              pending.source))
        return True

    def _save_video(self, path: Path) -> bool:
        if self._busy():
            self.status_label.setText("An export is running; save the video when it has finished.")
            return False
        chosen = self._pick_save(self, self.save_folder() / f"{output_stem(path, self._params.effect)}.mp4", True)
        if chosen is None or self._busy():
            return False
        folder, stem = video_target(chosen)
        self._settings.last_save_dir = str(folder)
        self.exports.begin(ExportJob([path], folder, save_as=stem))
        return True

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
        if self._busy() or not self._roots:
            return False
        if folder is None:
            folder = self._pick_folder(self, self._settings.last_export_dir or str(pictures_dir()))
            if folder is None:
                return False
        folder = Path(folder)
        self._settings.last_export_dir = str(folder)
        self.error_list.clear()  # the batch reports every failing input again
        self.error_list.hide()
        self.error_label.hide()
        self.exports.begin(ExportJob(list(self._roots), folder))
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
