"""The application shell: QApplication, log file, error hooks, settings, the window, the model in the background.

`run_app` is what `main.py gui` calls. `create_app_window` builds everything but the event loop, for tests.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop_app import APP_NAME, __version__
from desktop_app.core.engine import as_device
from desktop_app.core.notify import log, notifier, setup_file_log
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.settings import Settings, SettingsStore, data_dir
from desktop_app.core.sources import CameraInfo, list_cameras
from desktop_app.paths import assets_dir
from desktop_app.ui.error_dialog import ErrorReporter, show_startup_error
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.startup import (
    EXIT_NO_DISPLAY,
    display_problem,
    missing_xcb_packages,
    report_startup_failure,
    xcb_warning,
)
from desktop_app.ui.worker import DemoFactory, default_demo_source

LOG_NAME = "locallens.log"


@dataclass
class AppWindow:
    """What `create_app_window` built; `close()` undoes it (window, threads, hooks, log handler)."""

    window: MainWindow
    errors: ErrorReporter
    settings: Settings
    store: SettingsStore
    settings_problem: str | None
    log_path: Path | None
    _restore_hooks: Callable[[], None] = field(repr=False, default=lambda: None)

    def close(self) -> None:
        self.window.close()  # stops the worker, the loader and the photo threads; saves settings
        self.errors.detach()
        self.errors.close_dialog()
        self._restore_hooks()
        for handler in list(log.handlers):
            if self.log_path is not None and getattr(handler, "baseFilename", None) == str(self.log_path):
                log.removeHandler(handler)
                handler.close()


def _default_segmenter_factory(model_id: str, device: str) -> Callable[[], SegmenterLike]:
    def build() -> SegmenterLike:
        from desktop_app.core.segmenter import Segmenter

        return Segmenter(model_id, device=as_device(device))

    return build


def _open_log() -> Path | None:
    try:
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        setup_file_log(str(path))
        return path
    except OSError:  # a read-only profile must not stop the app
        return None


def create_app_window(
    camera: Path | None = None,
    device: str = "auto",
    *,
    segmenter_factory: Callable[[], SegmenterLike] | None = None,
    demo_factory: DemoFactory | None = default_demo_source,
    camera_lister: Callable[[], list[CameraInfo]] = list_cameras,
    store: SettingsStore | None = None,
    retry_interval: float = 2.0,
    show: bool = True,
    start: bool = True,
) -> AppWindow:
    """Build the window and everything around it; a QApplication must exist. The caller runs the loop.

    A settings problem (corrupt file) is reported through `notifier` once the window is up.
    """
    log_path = _open_log()
    restore_hooks = notifier.install_hooks()
    errors = ErrorReporter()
    errors.attach(notifier)
    window: MainWindow | None = None
    try:
        store = store or SettingsStore()
        outcome = store.load()
        settings = outcome.settings
        chosen = device if device != "auto" else settings.device  # a command-line choice is not saved
        factory = segmenter_factory or _default_segmenter_factory(settings.model_id, chosen)
        window = MainWindow(settings, store, camera_file=camera, segmenter_factory=factory,
                            demo_factory=demo_factory, camera_lister=camera_lister, retry_interval=retry_interval)
        errors.set_parent_widget(window)
        errors.info.connect(window.show_status_message)
        if show:
            window.show()
        if start:
            window.start()
    except BaseException:  # undo what was set up, so a caller that reports the error leaves nothing behind
        if window is not None:
            window.close()
        errors.detach()
        restore_hooks()
        raise
    if outcome.problem:
        problem = outcome.problem
        QTimer.singleShot(0, window, lambda: notifier.warning(problem))  # after the window is up
    return AppWindow(window, errors, settings, store, outcome.problem, log_path, restore_hooks)


def seconds_since_process_start() -> float | None:
    """Wall time since this process started (Linux /proc); None elsewhere."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / ticks
    except (OSError, ValueError, IndexError):
        return None


def _log_window_up(started: float) -> None:
    since_process = seconds_since_process_start()
    log.info("window up %.0f ms after run_app, %s ms after process start",
             (time.perf_counter() - started) * 1000, f"{since_process * 1000:.0f}" if since_process else "?")


class _QuitAfter(QObject):
    """Quits the event loop with 0 once `n` frames were processed, with 1 if the model fails to load."""

    def __init__(self, app: QApplication, n: int) -> None:
        super().__init__()
        self.app, self.n = app, n

    @Slot(int)
    def on_processed(self, count: int) -> None:
        if count >= self.n:
            self.app.quit()

    @Slot(str)
    def on_model_failed(self, _reason: str) -> None:
        self.app.exit(1)  # a smoke test must fail, not hang, when no frame can ever be processed


def configure_application(app: QApplication) -> None:
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setApplicationDisplayName(APP_NAME)
    for name in ("locallens.png", "locallens-512.png"):
        icon = assets_dir() / "icons" / name
        if icon.is_file():
            app.setWindowIcon(QIcon(str(icon)))
            break


WindowFactory = Callable[..., AppWindow]


def run_app(camera: Path | None = None, quit_after: int | None = None, device: str = "auto", *,
            window_factory: WindowFactory | None = None, virtual_camera: bool = False) -> int:
    """Open the window and run until it closes (or until `quit_after` processed frames); the exit code.

    Never exits silently: no display gives a clear message and 2; anything raised before the event loop runs
    is shown in a message box (when a QApplication exists), printed to stderr and logged, and gives 1.
    """
    started = time.perf_counter()
    if QApplication.instance() is None:
        problem = display_problem()
        if problem:
            print(problem, file=sys.stderr, flush=True)
            return EXIT_NO_DISPLAY
        missing = missing_xcb_packages()
        if missing:  # a warning only: Qt may still find them (a bundled copy), and it says so itself if not
            print(xcb_warning(missing), file=sys.stderr, flush=True)
    try:
        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        configure_application(app)  # before anything asks QStandardPaths for folders
        if camera is not None and not Path(camera).exists():
            print(f"error: --camera {camera}: no such file", file=sys.stderr)
            return 2
        parts = (window_factory or create_app_window)(Path(camera) if camera else None, device)
    except Exception as exc:
        show = show_startup_error if QApplication.instance() is not None else None
        return report_startup_failure(exc, _open_log, show)
    QTimer.singleShot(0, parts.window, lambda: _log_window_up(started))
    if virtual_camera:  # `--virtual-camera`: on from the start (a missing driver shows in its status line)
        parts.window.set_virtual_camera(True)
    quitter = None
    if quit_after is not None:
        quitter = _QuitAfter(app, quit_after)
        parts.window.frames_processed.connect(quitter.on_processed)
        if parts.window.loader is not None:
            parts.window.loader.failed.connect(quitter.on_model_failed)
    try:
        code = app.exec()
    finally:
        parts.close()
    return int(code)
