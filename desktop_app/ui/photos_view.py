"""The photos tab: open or drop files, folders and videos; compare before/after; save one or export all.

Nothing heavy runs on the GUI thread: a `_PhotoThread` reads files (thumbnails, which also find unreadable
ones), processes the selected photo through `core.pipeline.Pipeline` (newest request wins) and writes saves
with `core.imageio.write_image` (atomic, never overwrites, no metadata). Exports run through
`BatchWorker` (`core.batch`). Call `shutdown()` before the window goes away: it joins both threads.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSize, QStandardPaths, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.batch import Outcome, Processor, Report
from desktop_app.core.frames import Frame
from desktop_app.core.imageio import SUPPORTED_IMAGE_EXTENSIONS, ImageReadError, output_stem, read_image, write_image
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline, SegmenterLike
from desktop_app.core.settings import Settings
from desktop_app.core.videoio import SUPPORTED_VIDEO_EXTENSIONS, VideoReader, VideoReadError, is_video
from desktop_app.ui.batch_worker import BatchWorker
from desktop_app.ui.compare_view import CompareView
from desktop_app.ui.qimage import to_qimage

THUMB = QSize(64, 48)
PATH_ROLE = Qt.ItemDataRole.UserRole
MODEL_POLL_MS = 250
DISPLAY_MIN = QSize(1280, 960)
LOADING_NOTE = "Loading the model… the effect appears as soon as it is ready"

ProcessorFactory = Callable[[SegmenterLike, EffectParams], Processor]
FolderPicker = Callable[[QWidget, str], Path | None]
FilesPicker = Callable[[QWidget, str], list[Path]]


def _pipeline_for_batch(segmenter: SegmenterLike, params: EffectParams) -> Processor:
    return Pipeline(segmenter, params, temporal=True)  # videos keep smoothing; batch resets per photo


def _ask_folder(parent: QWidget, start: str) -> Path | None:
    name = QFileDialog.getExistingDirectory(parent, "Export to folder", start)
    return Path(name) if name else None


def _ask_files(parent: QWidget, start: str) -> list[Path]:
    patterns = " ".join(f"*{e}" for e in sorted(SUPPORTED_IMAGE_EXTENSIONS | SUPPORTED_VIDEO_EXTENSIONS))
    names, _ = QFileDialog.getOpenFileNames(parent, "Open photos or videos", start,
                                            f"Photos and videos ({patterns});;All files (*)")
    return [Path(n) for n in names]


def pictures_dir() -> Path:
    """The user's Pictures folder (home if the platform has none)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(location) if location else Path.home()


_FORMATS = {2: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}


def _display_image(pixels: np.ndarray, bound: QSize) -> QImage:
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


def _stretch(image: QImage, size: QSize) -> QImage:
    """`image` at exactly `size` (a mask at model resolution over its photo)."""
    if image.size() == size:
        return image
    return image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)


def _wanted(path: Path) -> bool:
    suffix = path.suffix.lower()
    return not path.name.startswith(".") and (
        suffix in SUPPORTED_IMAGE_EXTENSIONS or suffix in SUPPORTED_VIDEO_EXTENSIONS)


@dataclass(slots=True)
class Preview:
    """One processed photo (or a video's first frame) for the comparison view."""

    generation: int
    path: Path
    params: EffectParams | None  # None: the model was not ready, `after` is None
    before: QImage
    after: QImage | None
    pixels: np.ndarray | None  # the result at full resolution, what `save_current` writes


@dataclass(slots=True)
class _PreviewRequest:
    generation: int
    path: Path
    params: EffectParams
    segmenter: SegmenterLike | None
    display: QSize  # device pixels the pictures are shown at: they are scaled here, not on the GUI thread


@dataclass(slots=True)
class _SaveRequest:
    pixels: np.ndarray
    folder: Path
    stem: str
    fmt: str
    source: Path


class _PhotoThread(QThread):
    """Saves first, then the newest preview request, then thumbnails; stops between tasks."""

    thumbnail = Signal(str, QImage)
    unreadable = Signal(str, str)  # path, one-line reason
    processed = Signal(object)  # Preview
    failed = Signal(int, str)  # preview generation, message
    saved = Signal(str)
    save_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("locallens-photos")
        self._cond = threading.Condition()
        self._stop = False
        self._preview: _PreviewRequest | None = None
        self._saves: deque[_SaveRequest] = deque()
        self._thumbs: deque[Path] = deque()
        self._cache: tuple[Path, np.ndarray] | None = None
        self._before: tuple[Path, QSize, QImage] | None = None
        self._pipeline: Pipeline | None = None

    # requests (any thread)

    def request_thumbnails(self, paths: Iterable[Path]) -> None:
        with self._cond:
            self._thumbs.extend(paths)
            self._cond.notify()

    def request_preview(self, request: _PreviewRequest) -> None:
        with self._cond:
            self._preview = request  # an older request nobody started is simply replaced
            self._cond.notify()

    def request_save(self, request: _SaveRequest) -> None:
        with self._cond:
            self._saves.append(request)
            self._cond.notify()

    def cancel_thumbnails(self) -> None:
        with self._cond:
            self._thumbs.clear()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    # the loop

    def run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or bool(self._saves or self._preview or self._thumbs))
                if self._stop:
                    return
                task: Any
                if self._saves:
                    task = self._saves.popleft()
                elif self._preview is not None:
                    task, self._preview = self._preview, None
                else:
                    task = self._thumbs.popleft()
            try:
                if isinstance(task, _SaveRequest):
                    self._save(task)
                elif isinstance(task, _PreviewRequest):
                    self._process(task)
                else:
                    self._thumbnail(task)
            except Exception as exc:  # one bad task must not end the thread
                generation = task.generation if isinstance(task, _PreviewRequest) else -1
                self.failed.emit(generation, f"{type(exc).__name__}: {exc}")

    def _read(self, path: Path, keep: bool = True) -> np.ndarray:
        """Full-resolution RGB of a photo or a video's first frame; `keep` caches it (the selected one)."""
        if self._cache is not None and self._cache[0] == path:
            return self._cache[1]
        if is_video(path):
            with VideoReader(path) as reader:
                rgb = next(iter(reader), None)
            if rgb is None:
                raise VideoReadError(path, "the video has no frames")
        else:
            rgb = read_image(path).rgb
        if keep:
            self._cache = (path, rgb)
        return rgb

    def _thumbnail(self, path: Path) -> None:
        try:
            rgb = self._read(path, keep=False)  # never evicts the selected photo
        except (ImageReadError, VideoReadError) as exc:
            self.unreadable.emit(str(path), str(exc))
            return
        except OSError as exc:
            self.unreadable.emit(str(path), f"{path.name}: {exc.strerror or exc}")
            return
        self.thumbnail.emit(str(path), _display_image(rgb, THUMB))

    def _process(self, request: _PreviewRequest) -> None:
        try:
            rgb = self._read(request.path)
        except (ImageReadError, VideoReadError) as exc:
            self.unreadable.emit(str(request.path), str(exc))
            return
        cached = self._before
        if cached is not None and cached[0] == request.path and cached[1] == request.display:
            before = cached[2]
        else:
            before = _display_image(rgb, request.display)
            self._before = (request.path, request.display, before)
        if request.segmenter is None:
            self.processed.emit(Preview(request.generation, request.path, None, before, None, None))
            return
        pipeline = self._pipeline
        if pipeline is None or pipeline.segmenter is not request.segmenter:
            pipeline = self._pipeline = Pipeline(request.segmenter, request.params, temporal=False)
        pipeline.set_params(request.params)
        pipeline.reset()
        result = pipeline.process(Frame(rgb, 0.0, 0, str(request.path)))
        # A mask at model resolution is stretched over its photo.
        after = _stretch(_display_image(result.pixels, request.display), before.size())
        self.processed.emit(Preview(request.generation, request.path, request.params, before, after,
                                    result.pixels))

    def _save(self, request: _SaveRequest) -> None:
        try:
            request.folder.mkdir(parents=True, exist_ok=True)
            path = write_image(request.pixels, request.folder, request.stem, request.fmt, inputs=[request.source])
        except Exception as exc:  # ImageWriteError, OSError: the message is for the user
            self.save_failed.emit(str(exc))
            return
        self.saved.emit(str(path))


class PhotosView(QWidget):
    """Opened photos/videos, a before/after view of the selected one, Save and Export all."""

    preview_shown = Signal(object)  # Preview now on screen
    saved = Signal(object)  # Path written by save_current
    export_finished = Signal(object)  # core.batch.Report

    def __init__(self, params_provider: Callable[[], EffectParams],
                 segmenter_provider: Callable[[], SegmenterLike | None], settings: Settings,
                 parent: QWidget | None = None, *, processor_factory: ProcessorFactory = _pipeline_for_batch,
                 folder_picker: FolderPicker = _ask_folder, files_picker: FilesPicker = _ask_files) -> None:
        super().__init__(parent)
        self._params_provider, self._segmenter_provider = params_provider, segmenter_provider
        self._settings, self._processor_factory = settings, processor_factory
        self._pick_folder, self._pick_files = folder_picker, files_picker
        self._params = params_provider()
        self._roots: list[Path] = []
        self._items: dict[Path, QListWidgetItem] = {}
        self._bad: set[Path] = set()
        self._generation = 0
        self._shown: Preview | None = None
        self._waiting_preview = False  # shown without the effect: re-process when the model is ready
        self._save_pending = False
        self._stale = False  # params changed while hidden
        self._export_pending: Path | None = None
        self._notes: list[str] = []
        self._export_folder: Path | None = None
        self._closed = False

        self.setAcceptDrops(True)
        self._build()
        self._thread = _PhotoThread(self)
        self._thread.thumbnail.connect(self._on_thumbnail)
        self._thread.unreadable.connect(self._on_unreadable)
        self._thread.processed.connect(self._on_processed)
        self._thread.failed.connect(self._on_failed)
        self._thread.saved.connect(self._on_saved)
        self._thread.save_failed.connect(self._on_save_failed)
        self._thread.start()
        self.batch = BatchWorker(self)
        self.batch.progress.connect(self._on_progress)
        self.batch.item_done.connect(self._on_item_done)
        self.batch.finished.connect(self._on_export_finished)
        self._model_timer = QTimer(self)
        self._model_timer.setInterval(MODEL_POLL_MS)
        self._model_timer.timeout.connect(self.on_model_ready)

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
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save the result next to your other exports (never overwrites)")
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
        self.compare.set_note("Drop photos, folders or videos here, or use Open…")
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.compare)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 700])

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.cancel_button.hide()
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.progress_bar)
        bottom.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        running = self.batch.is_running() if hasattr(self, "batch") else False
        has_items = self.item_list.count() > 0
        self.save_button.setEnabled(self.item_list.currentItem() is not None)
        self.export_button.setEnabled(has_items and not running)
        self.clear_button.setEnabled(has_items and not running)

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
        if self.batch.is_running():
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
        self.compare.clear()
        self.compare.set_note("Drop photos, folders or videos here, or use Open…")
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

    @Slot()
    def on_model_ready(self) -> None:
        """The model is loaded: process what was waiting for it (also polled while something waits)."""
        if self._segmenter_provider() is None:
            return
        self._model_timer.stop()
        if self._waiting_preview:
            self._request_preview()
        if self._export_pending is not None:
            folder, self._export_pending = self._export_pending, None
            self._start_export(folder)

    def _on_selection(self, *_args: object) -> None:
        self._sync_buttons()
        self._save_pending = False
        self._request_preview()

    def _request_preview(self) -> None:
        path = self.current_path()
        if path is None or self._closed:
            return
        self._generation += 1
        segmenter = self._segmenter_provider()
        self._waiting_preview = segmenter is None
        if segmenter is None:
            self._model_timer.start()
        if self._shown is None or self._shown.path != path:
            self.compare.set_note("Opening…")
        self._thread.request_preview(_PreviewRequest(self._generation, path, self._params, segmenter,
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
        if self._save_pending and preview.pixels is not None:
            self._save_pending = False
            self.save_current()

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        text = f"Could not apply the effect: {message}"
        if generation == self._generation:
            self.compare.set_note(text)
        notifier.error(text)

    # ------------------------------------------------------------------------------------------ save

    def save_folder(self) -> Path:
        """Where Save writes: the last export folder, else the user's Pictures folder."""
        last = self._settings.last_export_dir
        return Path(last) if last else pictures_dir()

    def save_current(self) -> bool:
        """Save the selected result into `save_folder()` without a dialog; `saved(Path)` follows.

        Never overwrites (a new name is chosen). If the result is not ready yet, it is saved when it is.
        Returns False when there is nothing to save.
        """
        path = self.current_path()
        if path is None:
            return False
        shown = self._shown
        if shown is None or shown.path != path or shown.pixels is None or shown.generation != self._generation:
            self._save_pending = True
            self.status_label.setText("Saving when the result is ready…")
            return True
        assert shown.params is not None
        self._thread.request_save(_SaveRequest(shown.pixels, self.save_folder(),
                                               output_stem(path, shown.params.effect),
                                               self._settings.output_format, path))
        return True

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        self.status_label.setText(f"Saved {path}")
        self.saved.emit(Path(path))

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self.status_label.setText(f"Not saved: {message}")
        notifier.error(f"The picture was not saved: {message}")

    # ------------------------------------------------------------------------------------------ export

    def export_all(self, folder: Path | None = None) -> bool:
        """Process every opened item into `folder` (asked for if None) off the GUI thread.

        Returns False when nothing starts (no items, no folder chosen, an export already running).
        """
        if self.batch.is_running() or not self._roots:
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
        if self._segmenter_provider() is None:
            self._export_pending = folder
            self.status_label.setText("The export starts as soon as the model is loaded…")
            self.cancel_button.setEnabled(True)
            self.cancel_button.show()
            self._model_timer.start()
            return True
        self._start_export(folder)
        return True

    def _start_export(self, folder: Path) -> None:
        segmenter = self._segmenter_provider()
        assert segmenter is not None
        params = self._params
        self._notes = []
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.status_label.setText(f"Exporting to {folder}…")
        self.batch.start(list(self._roots), folder, self._processor_factory(segmenter, params), params,
                         self._settings.output_format)
        self._export_folder = folder
        self._sync_buttons()

    def cancel_export(self) -> None:
        """Stop the export between files (or mid-video); finished files stay, no partial file is left."""
        if self._export_pending is not None:
            self._export_pending = None
            self.cancel_button.hide()
            self.status_label.setText("Export cancelled.")
        if self.batch.is_running():
            self.batch.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling…")

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        if done < total:
            self.status_label.setText(f"Exporting {Path(path).name} ({done + 1} of {total})…")

    @Slot(object)
    def _on_item_done(self, outcome: Outcome) -> None:
        if outcome.error is not None:
            self._add_error(outcome.source, outcome.error)
        self._notes.extend(f"{outcome.source.name}: {note}" for note in outcome.notes)

    @Slot(object)
    def _on_export_finished(self, report: Report) -> None:
        self.progress_bar.hide()
        self.cancel_button.hide()
        done, failed = len(report.succeeded), len(report.failed)
        text = f"Exported {done} file{'s' if done != 1 else ''} to {self._export_folder}"
        if failed:
            text += f"; {failed} could not be processed (see Problems)"
        if report.cancelled:
            text += "; cancelled (files not started were skipped, no partial files)"
        if self._notes:
            text += ".\n" + "\n".join(self._notes)
        self.status_label.setText(text)
        self._sync_buttons()
        self.export_finished.emit(report)

    # ------------------------------------------------------------------------------------------ teardown

    def shutdown(self) -> None:
        """Cancel any export and join both threads; call from the window's closeEvent (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._model_timer.stop()
        self.batch.stop()
        self._thread.stop()
        self._thread.wait()
