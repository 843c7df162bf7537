"""Project rules that code review alone would let slip: the core is Qt-free and nothing talks to the network."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "desktop_app"
QT_MODULES = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}
NETWORK_MODULES = {"socket", "requests", "urllib3", "httpx", "aiohttp", "http", "urllib", "ftplib",
                   "smtplib", "websocket", "websockets", "ssl"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_only_the_ui_imports_qt() -> None:
    offenders = [
        str(p.relative_to(REPO)) for p in python_files(PACKAGE)
        if "ui" not in p.relative_to(PACKAGE).parts and imported_roots(p) & QT_MODULES
    ]
    assert python_files(PACKAGE / "core"), "the core package is missing"
    assert offenders == []


def test_the_ui_does_no_pixel_math_of_its_own() -> None:
    """Image processing lives in the core, where the CLI and the tests exercise it without a window."""
    offenders = [str(p.relative_to(REPO)) for p in python_files(PACKAGE / "ui") if imported_roots(p) & {"cv2", "PIL"}]
    assert python_files(PACKAGE / "ui"), "the ui package is missing"
    assert offenders == []


def test_the_rule_catches_a_qt_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("def f():\n    from PySide6.QtCore import QObject\n")
    assert imported_roots(sample) & QT_MODULES == {"PySide6"}


def test_no_network_capable_imports_anywhere_in_the_app() -> None:
    files = [*python_files(PACKAGE), REPO / "main.py"]
    offenders = {str(p.relative_to(REPO)): sorted(imported_roots(p) & NETWORK_MODULES) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}
