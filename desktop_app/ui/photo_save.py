"""Save for the photos tab (`PhotosView` mixes it in): ask where, then hand the shown result to the photo thread
(a photo) or export the one item (a video). A picked name that exists is never replaced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PySide6.QtWidgets import QLabel, QWidget

from desktop_app.core.imageio import output_stem
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings
from desktop_app.core.videoio import is_video
from desktop_app.ui.exports import ExportBar, ExportJob
from desktop_app.ui.face_review import FacesBar
from desktop_app.ui.photo_worker import PhotoThread, Preview, SaveRequest
from desktop_app.ui.pickers import SavePicker, image_target, pictures_dir, video_target


@dataclass(slots=True)
class PendingSave:
    """A photo whose destination was chosen before its result was ready."""

    source: Path
    folder: Path
    stem: str
    fmt: str


class SavesResults:
    """Save one result: `save_current` and what it needs. The view provides the attributes below."""

    _settings: Settings
    _params: EffectParams
    _pick_save: SavePicker
    _pending_save: PendingSave | None
    _shown: Preview | None
    _generation: int
    _thread: PhotoThread
    faces_bar: FacesBar
    exports: ExportBar
    status_label: QLabel
    current_path: Callable[[], Path | None]
    _busy: Callable[[], bool]

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
        proposed = self.save_folder() / f"{output_stem(path, self._params.effect)}.{fmt}"
        chosen = self._pick_save(cast(QWidget, self), proposed, False)
        if chosen is None or self.current_path() != path:
            return False
        folder, stem, fmt = image_target(chosen, fmt)
        self._settings.last_save_dir = str(folder)
        self._pending_save = PendingSave(path, folder, stem, fmt)
        if not self._write_pending_save():
            self.status_label.setText("Saving when the result is ready…")
        return True

    def _write_pending_save(self) -> bool:
        """Hand the pending save to the photo thread if the current result is on screen."""
        pending, shown = self._pending_save, self._shown
        if (pending is None or shown is None or shown.path != pending.source or shown.pixels is None
                or shown.generation != self._generation or not self.faces_bar.matches(shown, self._params)):
            return False
        self._pending_save = None
        self._thread.request_save(SaveRequest(shown.pixels, pending.folder, pending.stem, pending.fmt,
                                              pending.source, shown.faces))
        return True

    def _save_video(self, path: Path) -> bool:
        if self._busy():
            self.status_label.setText("An export is running; save the video when it has finished.")
            return False
        proposed = self.save_folder() / f"{output_stem(path, self._params.effect)}.mp4"
        chosen = self._pick_save(cast(QWidget, self), proposed, True)
        if chosen is None or self._busy():
            return False
        folder, stem = video_target(chosen)
        self._settings.last_save_dir = str(folder)
        self.exports.begin(ExportJob([path], folder, save_as=stem))
        return True
