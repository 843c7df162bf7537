"""The file dialogs the UI asks through, as plain functions so views take them as parameters (tests pass fakes).

Also the one rule for turning a name picked in a Save As dialog into what `write_image` needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop_app.core.imageio import SUPPORTED_IMAGE_EXTENSIONS
from desktop_app.core.videoio import SUPPORTED_VIDEO_EXTENSIONS

FolderPicker = Callable[[QWidget, str], Path | None]  # (parent, start folder) -> folder or None
FilesPicker = Callable[[QWidget, str], list[Path]]  # (parent, start folder) -> files ([] = cancelled)
SavePicker = Callable[[QWidget, Path, bool], Path | None]  # (parent, proposed path, video?) -> path or None

# What a picked extension means; anything else keeps the name and adds the default format's extension.
SAVE_FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}


def pictures_dir() -> Path:
    """The user's Pictures folder (home if the platform has none)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(location) if location else Path.home()


def ask_folder(parent: QWidget, start: str) -> Path | None:
    name = QFileDialog.getExistingDirectory(parent, "Export to folder", start)
    return Path(name) if name else None


def ask_snapshot_folder(parent: QWidget, start: str) -> Path | None:
    name = QFileDialog.getExistingDirectory(parent, "Save snapshots to folder", start)
    return Path(name) if name else None


def ask_files(parent: QWidget, start: str) -> list[Path]:
    patterns = " ".join(f"*{e}" for e in sorted(SUPPORTED_IMAGE_EXTENSIONS | SUPPORTED_VIDEO_EXTENSIONS))
    names, _ = QFileDialog.getOpenFileNames(parent, "Open photos or videos", start,
                                            f"Photos and videos ({patterns});;All files (*)")
    return [Path(n) for n in names]


def ask_save_path(parent: QWidget, proposed: Path, video: bool) -> Path | None:
    """A Save As dialog starting at `proposed` (its folder and name). Its own overwrite question stays on,
    but a confirmed existing name is still never replaced: the save takes the next free `-N` name."""
    if video:
        filters = "MP4 video (*.mp4)"
    else:
        filters = "PNG image (*.png);;JPEG image (*.jpg *.jpeg);;WebP image (*.webp)"
        wanted = {"png": 0, "jpg": 1, "jpeg": 1, "webp": 2}.get(proposed.suffix.lower().lstrip("."), 0)
        selected = filters.split(";;")[wanted]
        name, _ = QFileDialog.getSaveFileName(parent, "Save the result as", str(proposed), filters, selected)
        return Path(name) if name else None
    name, _ = QFileDialog.getSaveFileName(parent, "Save the video as", str(proposed), filters)
    return Path(name) if name else None


def image_target(chosen: Path, default_fmt: str) -> tuple[Path, str, str]:
    """(folder, stem, format) for a picked image name: the extension picks png/jpg/webp; a name without one
    of those keeps its whole name and gets `default_fmt`'s extension (`photo` -> `photo.png`)."""
    fmt = SAVE_FORMATS.get(chosen.suffix.lower())
    if fmt is None:
        return chosen.parent, chosen.name, default_fmt
    return chosen.parent, chosen.stem, fmt


def video_target(chosen: Path) -> tuple[Path, str]:
    """(folder, stem) for a picked video name; the output is always MP4."""
    if chosen.suffix.lower() == ".mp4":
        return chosen.parent, chosen.stem
    return chosen.parent, chosen.name
