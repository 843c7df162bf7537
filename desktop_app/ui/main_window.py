"""The main window: Live and Photos tabs, the shared effects panel, menus, status bar, About."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME
from desktop_app.core.frames import Result
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.settings import Settings, SettingsStore
from desktop_app.core.sources import (
    RESOLUTIONS,
    Camera,
    CameraInfo,
    FrameSource,
    SourceError,
    list_cameras,
    open_fake_camera,
)
from desktop_app.paths import assets_dir
from desktop_app.ui.about import AboutDialog
from desktop_app.ui.controls import EffectsPanel
from desktop_app.ui.live_view import LiveView
from desktop_app.ui.photos_view import PhotosView
from desktop_app.ui.pickers import FolderPicker, ask_snapshot_folder
from desktop_app.ui.snapshots import SnapshotFolder, SnapshotWriter
from desktop_app.ui.worker import DemoFactory, LiveStats, LiveWorker, ModelLoader, default_demo_source, is_processed

CameraLister = Callable[[], list[CameraInfo]]
NO_CAMERA = "No camera was found. Plug one in (it is picked up automatically) or drop photos on the window."
LIVE_STATS = ("capture", "processed", "inference", "latency", "dropped")  # cleared while the camera is released


def camera_factory(name: str | None, resolution: tuple[int, int],
                   lister: CameraLister = list_cameras) -> Callable[[], FrameSource]:
    """A factory that finds the camera by name each time it is called (indices change on replug).

    `name=None` takes the first camera there is; no match raises `SourceError` (the worker retries).
    """
    def make() -> FrameSource:
        cameras = lister()
        match = [c for c in cameras if c.name == name] if name else cameras[:1]
        if not match:
            raise SourceError(f"{name} is not connected." if name else NO_CAMERA)
        return Camera(match[0].index, match[0].name, resolution)

    return make


class MainWindow(QMainWindow):
    """LocalLens's window. Call `start()` once shown: the live worker starts, the model loads in the background.

    `frames_processed(n)` counts frames the model has processed (for `--quit-after`); `snapshot_saved(Path)`
    follows each `snapshot()` once the file is written (off the GUI thread).

    Mirror: the remembered `settings.mirror` is for real cameras; a file used as a camera (`--camera FILE`)
    and the demo sample start unmirrored (text in them would read backwards) and the box then toggles
    them for this session only.
    """

    frames_processed = Signal(int)
    snapshot_saved = Signal(object)

    def __init__(
        self,
        settings: Settings,
        store: SettingsStore | None = None,
        *,
        camera_file: Path | None = None,
        segmenter_factory: Callable[[], SegmenterLike] | None = None,
        demo_factory: DemoFactory | None = default_demo_source,
        camera_lister: CameraLister = list_cameras,
        retry_interval: float = 2.0,
        snapshot_folder_picker: FolderPicker = ask_snapshot_folder,
    ) -> None:
        super().__init__()
        self.settings, self.store = settings, store
        self.camera_file = camera_file
        self._lister = camera_lister
        self.segmenter: SegmenterLike | None = None
        self.processed_count = 0
        self._file_mirror = False  # this session's Mirror for a file used as a camera
        self._demo_mirror = False  # ... and for the demo sample
        self.last_stats: LiveStats | None = None
        self._model_state = "Loading model…"
        self._closed = False
        self._live_paused = False  # the camera is released while the Photos tab is in front
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)

        self.effects = EffectsPanel(settings, assets_dir() / "backgrounds")
        self.live_view = LiveView()
        self.photos = PhotosView(self.effects.params, settings)
        self.snapshot_folder = SnapshotFolder(settings, snapshot_folder_picker)
        self.snapshot_writer = SnapshotWriter(self)
        self.worker = LiveWorker(None, self.effects.params(), demo_factory=demo_factory,
                                 retry_interval=retry_interval, mirror=False, parent=self,
                                 demo_mirror=self._demo_mirror)
        self.loader = ModelLoader(segmenter_factory, self) if segmenter_factory is not None else None
        self._build_layout()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self._restore_geometry()

    # ------------------------------------------------------------------------------------------ building

    def _build_layout(self) -> None:
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
        self._fill_cameras()
        self.worker.set_mirror(self._source_mirror())
        self._sync_mirror_box()

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Camera"))
        bar.addWidget(self.camera_combo, 1)
        bar.addWidget(self.resolution_combo)
        bar.addWidget(self.mirror_box)
        bar.addStretch(1)
        bar.addWidget(self.snapshot_folder)
        bar.addWidget(self.snapshot_button)
        live = QWidget()
        column = QVBoxLayout(live)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(bar)
        column.addWidget(self.live_view, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(live, "Live")
        self.tabs.addTab(self.photos, "Photos")
        self.live_tab = live
        splitter = QSplitter()
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.effects)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)

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

    def _build_menus(self) -> None:
        def action(menu, text: str, slot: Callable[[], object], shortcut: QKeySequence | str | None = None):  # type: ignore[no-untyped-def]
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Open…", self.open_files, QKeySequence.StandardKey.Open)
        action(file_menu, "Open &Folder…", self.open_folder)
        action(file_menu, "&Save…", self.save, QKeySequence.StandardKey.Save)
        action(file_menu, "&Export All…", self.export_all, "Ctrl+Shift+E")
        self.snapshot_action = action(file_menu, "Take &Snapshot", self.snapshot_shortcut, "Space")
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Live", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        action(view_menu, "&Photos", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self.fullscreen_action = action(view_menu, "&Full Screen", self.toggle_full_screen, "F11")
        self.fullscreen_action.setCheckable(True)
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, f"&About {APP_NAME}", self.show_about)

    def _build_status_bar(self) -> None:
        self.status_labels: dict[str, QLabel] = {}
        for key, tip in (("source", "What the live view shows"), ("capture", "Frames per second from the camera"),
                         ("processed", "Frames per second with the effect applied"),
                         ("inference", "Model time per frame"), ("latency", "Capture-to-screen delay (median)"),
                         ("dropped", "Frames skipped because a newer one arrived"),
                         ("provider", "Where the model runs")):
            label = QLabel()
            label.setToolTip(tip)
            self.status_labels[key] = label
            self.statusBar().addPermanentWidget(label)
        self._update_provider_label()

    def _connect(self) -> None:
        self.worker.result_ready.connect(self._on_result)
        self.worker.stats_ready.connect(self._on_stats)
        self.worker.message_changed.connect(self.live_view.set_message)
        self.worker.source_changed.connect(self._on_source_changed)
        self.effects.params_changed.connect(self._on_params)
        self.effects.params_changed.connect(self.photos.on_params_changed)
        self.camera_combo.currentIndexChanged.connect(self._on_camera_changed)
        self.resolution_combo.currentIndexChanged.connect(self._on_camera_changed)
        self.mirror_box.toggled.connect(self._on_mirror)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.snapshot_writer.saved.connect(self._on_snapshot_saved)
        self.snapshot_writer.failed.connect(self._on_snapshot_failed)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        if self.loader is not None:
            self.loader.loaded.connect(self._on_model_loaded)
            self.loader.failed.connect(self._on_model_failed)

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode("ascii")))
        else:
            self.resize(1200, 760)

    # ------------------------------------------------------------------------------------------ live

    def start(self) -> None:
        """Start the live worker on the chosen source and load the model in the background."""
        self.worker.set_source(self.source_factory())
        self.worker.start()
        if self.loader is not None:
            self.loader.start()
        else:
            self._model_state = "No model"
            self._update_provider_label()

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

    def _on_tab_changed(self, _index: int) -> None:
        # Space is the snapshot key on the Live tab only; elsewhere it goes back to the focused widget.
        live = self.tabs.currentWidget() is self.live_tab
        self.snapshot_action.setEnabled(live)
        self.set_live_paused(not live)

    def set_live_paused(self, paused: bool) -> None:
        """Release the camera while the user works on photos (its light goes off, both cores go to the
        photos) and reopen it on return to the Live tab."""
        if self._closed or paused == self._live_paused:
            return
        if paused and self.worker.is_running():
            self._live_paused = True
            self.worker.stop()
            self.live_view.set_message("Live view paused while the Photos tab is open.")
            self.status_labels["source"].setText("paused")
            for key in LIVE_STATS:  # no camera runs: no fps to show until the Live tab is back
                self.status_labels[key].clear()
                self.status_labels[key].hide()
        elif not paused:
            self._live_paused = False
            self.live_view.set_message("")
            self.worker.set_source(self.source_factory())
            self.worker.start()

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

    def _on_params(self, params: EffectParams) -> None:
        self.worker.set_params(params)

    def _on_model_loaded(self, segmenter: SegmenterLike) -> None:
        self.segmenter = segmenter
        self.worker.set_segmenter(segmenter)
        self.photos.set_segmenter(segmenter)
        self._model_state = ""
        self._update_provider_label()

    def _on_model_failed(self, reason: str) -> None:
        self._model_state = "Model unavailable"
        self.status_labels["provider"].setToolTip(reason)
        self._update_provider_label()

    def _on_result(self, result: Result) -> None:
        self.live_view.show_result(result)
        if is_processed(result):
            self.processed_count += 1
            self.frames_processed.emit(self.processed_count)

    def _on_stats(self, stats: LiveStats) -> None:
        if self._live_paused:
            return  # a report queued just before the pause
        self.last_stats = stats
        labels = self.status_labels
        labels["source"].setText(f"{stats.source}{' (demo)' if stats.on_demo else ''}")
        labels["capture"].setText(f"capture {stats.capture_fps:.1f} fps")
        labels["processed"].setText(f"processed {stats.processed_fps:.1f} fps" if stats.model_ready else "")
        labels["inference"].setText(f"inference {stats.inference_ms:.1f} ms" if stats.inference_ms else "")
        latency = self.live_view.latency_median_ms(last=30)
        labels["latency"].setText(f"latency {latency:.0f} ms" if latency is not None else "")
        labels["dropped"].setText(f"dropped {stats.dropped}")
        for key in LIVE_STATS:
            labels[key].show()
        self._update_provider_label()

    def _update_provider_label(self) -> None:
        label = self.status_labels["provider"]
        if self.segmenter is None:
            label.setText(self._model_state)
            return
        provider = str(getattr(self.segmenter, "provider", "")).removesuffix("ExecutionProvider")
        reason = getattr(self.segmenter, "fallback_reason", None)
        label.setText(f"{provider} (fallback: {reason})" if reason else provider)
        label.setToolTip(reason or f"The model runs on {provider}")

    def show_status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    # ------------------------------------------------------------------------------------------ actions

    def snapshot_shortcut(self) -> None:
        if self.tabs.currentWidget() is self.live_tab:
            self.snapshot()

    @property
    def snapshot_dir(self) -> Path:
        """Where snapshots go (shown in the Live tab's bar; `settings.snapshot_dir`, default <Pictures>/LocalLens)."""
        return self.snapshot_folder.folder()

    @snapshot_dir.setter
    def snapshot_dir(self, folder: Path) -> None:
        self.snapshot_folder.set_folder(Path(folder))

    def snapshot(self) -> bool:
        """Save the processed frame on screen to `snapshot_dir` off the GUI thread (never overwriting,
        atomic, no metadata); `snapshot_saved(Path)` follows. False when there is nothing to save."""
        result = self.live_view.current_result()
        if result is None:
            self.show_status_message("Nothing to save yet.")
            return False
        stem = f"{APP_NAME}-{datetime.now():%Y%m%d-%H%M%S}"
        self.snapshot_writer.write(result.pixels, self.snapshot_dir, stem)
        return True

    def _on_snapshot_saved(self, path: Path) -> None:
        self.show_status_message(f"Saved {path}")
        self.snapshot_saved.emit(path)

    def _on_snapshot_failed(self, message: str) -> None:
        notifier.error(f"The snapshot could not be saved: {message}")

    def save(self) -> None:
        if self.tabs.currentWidget() is self.photos:
            self.photos.save_current()
        else:
            self.snapshot()

    def export_all(self) -> None:
        self.tabs.setCurrentWidget(self.photos)
        self.photos.export_all()

    def open_files(self) -> None:
        self.tabs.setCurrentWidget(self.photos)
        self.photos.open_dialog()

    def open_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Open a folder", self.settings.last_open_dir)
        if name:
            self.open_paths([Path(name)])

    def open_paths(self, paths: list[Path]) -> None:
        """Hand files/folders/videos to the Photos tab and show it."""
        if not paths:
            return
        self.settings.last_open_dir = str(paths[0] if paths[0].is_dir() else paths[0].parent)
        self.tabs.setCurrentWidget(self.photos)
        self.photos.add_paths(paths)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.fullscreen_action.setChecked(self.isFullScreen())

    def show_about(self) -> QDialog:
        dialog = AboutDialog(self)
        dialog.show()
        return dialog

    # ------------------------------------------------------------------------------------------ events

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key() == Qt.Key.Key_Escape and self.isFullScreen():
            self.toggle_full_screen()
            return
        super().keyPressEvent(event)

    def shutdown(self) -> None:
        """Stop every thread and save the settings (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        self.worker.stop()
        if self.loader is not None:
            self.loader.wait()
        self.photos.shutdown()
        self.snapshot_writer.shutdown()
        if self.store is not None:
            try:
                self.store.save(self.settings)
            except OSError as exc:
                notifier.error(f"Your settings could not be saved: {exc}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

