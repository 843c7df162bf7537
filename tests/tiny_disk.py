"""A real full disk for tests: a tiny tmpfs mounted on a folder (Linux, as root), else the test skips."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def mount_tiny_tmpfs(folder: Path, size: str) -> bool:
    """Create `folder` and mount a tmpfs of `size` (e.g. "64k") on it; False where that is not permitted."""
    folder.mkdir()
    if sys.platform != "linux" or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0
