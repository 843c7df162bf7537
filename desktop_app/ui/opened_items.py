"""The Photos tab's list of opened photos and videos (with thumbnails) over its list of problems.

`OpenedItems` knows which files are listed, which folders/files were opened (the roots an export walks
again) and which files turned out unreadable; it never reads a file itself (the photo thread does).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop_app.core.batch import scan_folder
from desktop_app.ui.photo_worker import THUMB

PATH_ROLE = Qt.ItemDataRole.UserRole


def local_paths(event: QDropEvent | QDragEnterEvent) -> list[Path]:
    """The local files and folders a drag carries ([] for anything else)."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class OpenedItems(QWidget):
    """`list` (a QListWidget: one item per readable file, in order) over "Problems" (`error_list`), which
    is shown only while it has entries."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._roots: list[Path] = []
        self._items: dict[Path, QListWidgetItem] = {}
        self._bad: set[Path] = set()
        self.list = QListWidget()
        self.list.setIconSize(THUMB)
        self.list.setAccessibleName("Opened photos and videos")
        self.error_list = QListWidget()
        self.error_list.setAccessibleName("Files that could not be processed")
        self.error_list.setWordWrap(True)
        self.error_list.setMaximumHeight(120)
        self.error_label = QLabel("Problems")
        self.error_label.setBuddy(self.error_list)
        self.error_list.hide()
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.error_list)

    def paths(self) -> list[Path]:
        """The listed (readable so far) items, in order."""
        return [Path(self.list.item(i).data(PATH_ROLE)) for i in range(self.list.count())]

    def roots(self) -> list[Path]:
        """What was opened (files and folders), in order: what an export processes."""
        return list(self._roots)

    def errors(self) -> list[str]:
        return [self.error_list.item(i).text() for i in range(self.error_list.count())]

    def current_path(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(PATH_ROLE)) if item is not None else None

    def is_empty(self) -> bool:
        return not self._items

    def add(self, paths: Iterable[Path]) -> list[Path]:
        """List files and the photos and videos under folders (recursively), skipping those already listed
        or found unreadable; a missing path becomes a problem. The first new file is selected if none is.
        Returns the newly listed files."""
        new: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                self.add_error(path, f"{path.name}: no such file or folder")
                continue
            if path not in self._roots:
                self._roots.append(path)
            found = scan_folder(path) if path.is_dir() else [path]
            for file in found:
                if file in self._items or file in self._bad:
                    continue
                item = QListWidgetItem(file.name)
                item.setData(PATH_ROLE, str(file))
                item.setToolTip(str(file))
                self._items[file] = item
                self.list.addItem(item)
                new.append(file)
        if new and self.list.currentItem() is None:
            self.list.setCurrentItem(self._items[new[0]])
        return new

    def clear(self) -> None:
        """Forget every item, root and problem (files on disk are untouched)."""
        self._roots.clear()
        self._items.clear()
        self._bad.clear()
        self.list.clear()
        self.clear_errors()

    def add_error(self, path: Path, message: str) -> None:
        item = QListWidgetItem(message)
        item.setToolTip(str(path))
        self.error_list.addItem(item)
        self.error_list.show()
        self.error_label.show()

    def clear_errors(self) -> None:
        self.error_list.clear()
        self.error_list.hide()
        self.error_label.hide()

    @Slot(str, QImage)
    def set_thumbnail(self, path: str, image: QImage) -> None:
        item = self._items.get(Path(path))
        if item is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def drop_unreadable(self, path: Path, message: str) -> bool:
        """Move a listed file that cannot be read to the problems (the selection moves on to a readable
        item); False if it was not listed (already dropped, or cleared since)."""
        item = self._items.pop(path, None)
        if path in self._bad or item is None:
            return False
        self._bad.add(path)
        self.add_error(path, message)
        self.list.takeItem(self.list.row(item))
        return True
