"""Test setup: headless Qt, a fresh settings/log folder per test, and no threads left running."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets empty config and data folders: no test sees another's settings or the user's."""
    root = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("LOCALLENS_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("LOCALLENS_DATA_DIR", str(root / "data"))
    return root


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves a Python thread running (a worker that was not stopped)."""
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()
                and (not t.daemon or t.name.startswith("batch-"))]  # batch helpers are daemons, still joined
    for thread in leftover:
        thread.join(timeout=5)
    still = [t.name for t in leftover if t.is_alive()]
    assert not still, f"threads left running: {still}"
