"""Run a model-building tool inside `.venvs/tools` (tf2onnx, onnx, the pinned converters: requirements-tools.txt).

Standard library only: each tool calls `ensure_tools_venv(__file__)` before it imports anything else.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
TOOLS_VENV = TOOLS.parent / ".venvs" / "tools"


def ensure_tools_venv(script: str, have: str | None = None) -> None:
    """Re-exec `script` inside .venvs/tools (creating it first if needed), unless this Python is that venv or
    already has the module `have` (e.g. "tf2onnx")."""
    if Path(sys.prefix).resolve() == TOOLS_VENV.resolve():
        return
    if have is not None and importlib.util.find_spec(have) is not None:
        return
    py = TOOLS_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(TOOLS / "requirements-tools.txt")], check=True)
    os.execv(str(py), [str(py), script, *sys.argv[1:]])
