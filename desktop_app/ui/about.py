"""The About dialog: version, the promise that nothing leaves the computer, and every bundled component's licence.

The models come from `models/manifest.json`; the software from `assets/licenses/index.json` (written by
`tools/collect_licenses.py`); the sample pictures and backgrounds from `assets/README.md`. Each text can be read
in the dialog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME, __version__
from desktop_app.paths import assets_dir, models_dir

PROMISE = "On-device background effects. Pictures never leave this computer: no network is used."


@dataclass(frozen=True, slots=True)
class LicenseEntry:
    """One bundled component from the licence index."""

    id: str
    name: str
    version: str
    license: str
    file: str
    note: str = ""
    platform: str = "all"
    program: str = "LocalLens"  # "locallens-vcam": only in the separate virtual-camera helper


def load_license_index(folder: Path) -> tuple[list[LicenseEntry], list[dict[str, Any]], str | None]:
    """(components, not_collected, problem) from `folder/index.json`; a missing or bad index is no crash."""
    try:
        data = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        entries = [LicenseEntry(**{k: str(e.get(k, "")) for k in ("id", "name", "version", "license", "file",
                                                                     "note")}, platform=str(e.get("platform", "all")),
                                program=str(e.get("program", "LocalLens")))
                   for e in data["components"]]
        skipped = [s for s in data.get("not_collected", []) if isinstance(s, dict)]
        return entries, skipped, None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [], [], f"The licence list could not be read: {exc}"


def license_text(folder: Path, entry: LicenseEntry) -> str:
    """The component's heading, note and full licence text."""
    head = f"{entry.name} {entry.version}\nLicence: {entry.license}\n\n{entry.note}".rstrip()
    try:
        text = (folder / entry.file).read_text(encoding="utf-8")
    except (OSError, ValueError):
        text = f"(licence file {entry.file} missing)"
    return f"{head}\n\n{text}"


def _models_section(models: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Overview lines for the models, and (title, text) for each distinct model licence file."""
    try:
        manifest = json.loads((models / "manifest.json").read_text(encoding="utf-8"))
        entries = manifest.get("models", [])
    except (OSError, ValueError, AttributeError) as exc:
        return [f"The model list could not be read: {exc}"], []
    lines: list[str] = []
    texts: list[tuple[str, str]] = []
    for entry in entries:
        lines.append(f"Model: {entry.get('title', entry.get('id'))} — license {entry.get('license', 'unknown')}")
        source = entry.get("source") or {}
        if source:
            lines.append(f"  from {source.get('package', '')} {source.get('version', '')}".rstrip())
    seen: set[str] = set()
    for entry in entries:
        name = entry.get("license_file")
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            texts.append((name, (models / name).read_text(encoding="utf-8")))
        except OSError:
            texts.append((name, "(license file missing)"))
    return lines, texts


def _assets_text(assets: Path) -> str:
    try:
        return (assets / "README.md").read_text(encoding="utf-8")
    except OSError:
        return "(assets/README.md missing: the sample pictures' sources and licences are not listed)"


def about_text(models: Path, licenses: Path | None = None, assets: Path | None = None) -> str:
    """Everything the dialog shows first: version, models and their licence texts, every bundled component."""
    assets = assets or assets_dir()
    licenses = licenses or assets / "licenses"
    lines = [f"{APP_NAME} {__version__}", PROMISE, ""]
    model_lines, model_texts = _models_section(models)
    lines += model_lines
    lines += ["", "Bundled software (select one on the left to read its licence):"]
    components, skipped, problem = load_license_index(licenses)
    if problem:
        lines.append(problem)
    for entry in components:
        where = "" if entry.platform == "all" else f" ({entry.platform} builds)"
        if entry.program != "LocalLens":
            where += f" (only in {entry.program})"
        lines.append(f"  {entry.name} {entry.version} — {entry.license}{where}")
    for item in skipped:
        lines.append(f"  {item.get('name')} — {item.get('license')} ({item.get('platform')} builds; its licence "
                     "text is added when tools/collect_licenses.py runs where it is installed)")
    lgpl = [entry for entry in components if entry.license.startswith("LGPL")]
    if lgpl:
        lines += ["", f"Under the LGPL: {', '.join(e.name for e in lgpl)}. They ship as unmodified shared libraries "
                  "inside the app folder, which you may replace with your own builds of the same versions (each "
                  "entry says where they are and where their source is)."]
        if {"libheif", "libde265"} <= {e.id for e in lgpl}:
            lines.append("HEIC photos are read with libheif and libde265 under the LGPL-3.0, the same way as Qt; "
                         "the app ships no HEIC encoder.")
    if any(e.id == "openh264" for e in components):
        lines.append("Videos are written as H.264 with Cisco's OpenH264 (BSD-2-Clause) inside FFmpeg (LGPL-3.0 or "
                     "later); GPL encoders (x264, x265) are not included. Cisco's H.264 patent licence covers only "
                     "the binaries Cisco distributes, not this copy.")
    for entry in components:
        if entry.program != "LocalLens":
            lines.append(f"{entry.program} is a separate program that ships beside {APP_NAME} and talks to it "
                         f"through a pipe; it contains {entry.name.split(' (')[0]} under the {entry.license}. Its "
                         "source: see that entry (a written offer of the complete source code of that program).")
    lines += ["", "Sample pictures, video and backgrounds: public domain or CC0 (see Assets).", ""]
    for name, text in model_texts:
        lines += [f"===== {name} =====", text, ""]
    return "\n".join(lines).rstrip() + "\n"


class AboutDialog(QDialog):
    """The overview, then each licence: a list on the left, the text on the right."""

    def __init__(self, parent: QWidget | None = None, models: Path | None = None,
                 assets: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self._models = models or models_dir()
        self._assets = assets or assets_dir()
        self._licenses = self._assets / "licenses"
        self.components, _skipped, _problem = load_license_index(self._licenses)
        header = QLabel(f"<b>{APP_NAME} {__version__}</b><br>{PROMISE}")
        header.setTextFormat(Qt.TextFormat.RichText)
        header.setWordWrap(True)
        self.list = QListWidget()
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self._add("Overview", "overview")
        _lines, model_texts = _models_section(self._models)
        for name, _text in model_texts:
            self._add(f"Models: {Path(name).name}", f"model:{name}")
        for entry in self.components:
            self._add(f"{entry.name} — {entry.license}", f"component:{entry.id}")
        self._add("Assets (pictures, video)", "assets")
        self.list.currentItemChanged.connect(self._on_current)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([330, 530])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.list.setCurrentRow(0)
        self.resize(860, 560)

    def _add(self, label: str, key: str) -> None:
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, key)
        self.list.addItem(item)

    def text_for(self, key: str) -> str:
        """The text shown for a list key: overview, model:<file>, component:<id> or assets."""
        if key == "overview":
            return about_text(self._models, self._licenses, self._assets)
        if key == "assets":
            return _assets_text(self._assets)
        kind, _, name = key.partition(":")
        if kind == "model":
            return dict(_models_section(self._models)[1]).get(name, "(license file missing)")
        entry = next((e for e in self.components if e.id == name), None)
        return license_text(self._licenses, entry) if entry else "(unknown component)"

    def show_key(self, key: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.list.setCurrentRow(row)
                return
        raise KeyError(key)

    def _on_current(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None:
            self.browser.setPlainText(self.text_for(str(current.data(Qt.ItemDataRole.UserRole))))
            self.browser.moveCursor(self.browser.textCursor().MoveOperation.Start)
