"""The main window: Live and Photos tabs, the shared effects panel, menus, status bar, About."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMainWindow, QMenu, QSplitter, QTabWidget

from desktop_app import APP_NAME
from desktop_app.core.frames import Result
from desktop_app.core.notify import notifier
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.settings import Settings, SettingsStore
from desktop_app.core.sources import list_cameras
from desktop_app.paths import assets_dir
from desktop_app.ui.about import AboutDialog
from desktop_app.ui.controls import EffectsPanel
from desktop_app.ui.live_tab import NO_CAMERA as NO_CAMERA  # re-exported: tests import it from here
from desktop_app.ui.live_tab import CameraLister, LiveTab
from desktop_app.ui.photos_view import PhotosView
from desktop_app.ui.pickers import FolderPicker, ask_snapshot_folder
from desktop_app.ui.status_bar import StatusLabels
from desktop_app.ui.worker import DemoFactory, LiveStats, LiveWorker, ModelLoader, default_demo_source, is_processed


class MainWindow(QMainWindow):
    """LocalLens's window. Call `start()` once shown: the live worker starts, the model loads in the background.

    `frames_processed(n)` counts frames the model has processed (for `--quit-after`); `snapshot_saved(Path)`
    follows each `snapshot()` once the file is written (off the GUI thread). The Live tab (`live_tab`)
    chooses the source and the Mirror; its widgets are also reachable here (`camera_combo`, `mirror_box`...).
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
        self.segmenter: SegmenterLike | None = None
        self.processed_count = 0
        self.last_stats: LiveStats | None = None
        self._closed = False
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)

        self.effects = EffectsPanel(settings, assets_dir() / "backgrounds")
        self.photos = PhotosView(self.effects.params, settings)
        self.worker = LiveWorker(None, self.effects.params(), demo_factory=demo_factory,
                                 retry_interval=retry_interval, mirror=False, parent=self)
        self.live_tab = LiveTab(settings, self.worker, camera_file=camera_file, camera_lister=camera_lister,
                                snapshot_folder_picker=snapshot_folder_picker)
        live = self.live_tab  # its parts, also by the names they had here
        self.live_view, self.snapshot_folder, self.resolution = live.live_view, live.snapshot_folder, live.resolution
        self.camera_combo, self.resolution_combo = live.camera_combo, live.resolution_combo
        self.mirror_box = live.mirror_box
        self.loader = ModelLoader(segmenter_factory, self) if segmenter_factory is not None else None
        self._build_layout()
        self._build_menus()
        self.status = StatusLabels(self.statusBar())
        self.status_labels = self.status.labels
        self._connect()
        self._restore_geometry()

    # ------------------------------------------------------------------------------------------ building

    def _build_layout(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live_tab, "Live")
        self.tabs.addTab(self.photos, "Photos")
        splitter = QSplitter()
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.effects)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)

    def _build_menus(self) -> None:
        Shortcut = QKeySequence | QKeySequence.StandardKey | str | None

        def action(menu: QMenu, text: str, slot: Callable[[], object], shortcut: Shortcut = None) -> QAction:
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

    def _connect(self) -> None:
        self.worker.result_ready.connect(self._on_result)
        self.worker.stats_ready.connect(self._on_stats)
        self.effects.params_changed.connect(self._on_params)
        self.effects.params_changed.connect(self.photos.on_params_changed)
        self.live_tab.status_message.connect(self.show_status_message)
        self.live_tab.snapshot_saved.connect(self.snapshot_saved)
        self.live_tab.virtual_camera.active_changed.connect(self._on_virtual_camera)
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
        self.worker.set_source(self.live_tab.source_factory())
        self.worker.start()
        if self.loader is not None:
            self.loader.start()
        else:
            self.status.no_model()

    def _on_tab_changed(self, _index: int) -> None:
        # Space is the snapshot key on the Live tab only; elsewhere it goes back to the focused widget.
        live = self.tabs.currentWidget() is self.live_tab
        self.snapshot_action.setEnabled(live)
        self.set_live_paused(not live)

    def set_live_paused(self, paused: bool) -> None:
        """Release the camera while the user works on photos (its light goes off, both cores go to the
        photos) and reopen it on return to the Live tab."""
        if self._closed:
            return
        self.live_tab.set_paused(paused)
        if self.live_tab.paused:
            self.status.show_paused()

    def set_virtual_camera(self, on: bool) -> None:
        """Turn the virtual camera on or off (the Live tab's switch; `--virtual-camera` starts with it on)."""
        self.live_tab.virtual_camera.set_on(on)

    def _on_virtual_camera(self, active: bool) -> None:
        self.photos.set_sharing_cpu(active)  # the live effect keeps running beside the photos while it is on
        if self.live_tab.paused:
            self.status.show_paused()

    def _on_params(self, params: EffectParams) -> None:
        self.worker.set_params(params)

    def _on_model_loaded(self, segmenter: SegmenterLike) -> None:
        self.segmenter = segmenter
        self.worker.set_segmenter(segmenter)
        self.photos.set_segmenter(segmenter)
        self.status.model_ready(segmenter)

    def _on_model_failed(self, reason: str) -> None:
        self.status.model_failed(reason)

    def _on_result(self, result: Result) -> None:
        self.live_view.show_result(result)
        if is_processed(result):
            self.processed_count += 1
            self.frames_processed.emit(self.processed_count)

    def _on_stats(self, stats: LiveStats) -> None:
        if self.live_tab.paused:
            return  # a report queued just before the pause
        self.last_stats = stats
        self.status.show_stats(stats, self.live_view.latency_median_ms(last=30))

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
        """Save the processed frame on screen to `snapshot_dir` off the GUI thread; see `LiveTab.snapshot`."""
        return self.live_tab.snapshot()

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

    def keyPressEvent(self, event: QKeyEvent) -> None:
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
        self.live_tab.shutdown()
        if self.store is not None:
            try:
                self.store.save(self.settings)
            except OSError as exc:
                notifier.error(f"Your settings could not be saved: {exc}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

