"""Privacy is the product: the CLI and the app run with networking blocked and never open a socket."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

GUARD = REPO / "tests" / "netguard"


def run_guarded(args: list[str], tmp_path: Path, unshare: bool = False) -> tuple[subprocess.CompletedProcess, str]:
    log = tmp_path / "sockets.log"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "LOCALLENS_NETGUARD_LOG": str(log),
           "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, str(REPO / "main.py"), *args]
    if unshare:
        cmd = ["unshare", "-rn", *cmd]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc, log.read_text() if log.exists() else ""


def test_the_guard_really_blocks_sockets(tmp_path: Path) -> None:
    """Without this, a broken guard would make every test below pass vacuously."""
    log = tmp_path / "sockets.log"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "LOCALLENS_NETGUARD_LOG": str(log)}
    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError as e:\n    print(e)"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "blocked by the LocalLens test guard" in proc.stdout
    assert "create_connection" in log.read_text()


def test_process_runs_with_no_network(tmp_path: Path) -> None:
    sample = REPO / "assets" / "samples" / "astronaut.jpg"
    proc, sockets = run_guarded(["process", str(sample), "--out", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sockets == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".locallens-output", "astronaut_blur.png"]


def test_self_test_runs_with_no_network(tmp_path: Path) -> None:
    proc, sockets = run_guarded(["self-test"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sockets == ""


def test_gui_runs_with_no_network(tmp_path: Path) -> None:
    video = REPO / "assets" / "samples" / "walk.mp4"
    proc, sockets = run_guarded(["--camera", str(video), "--quit-after", "20"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sockets == ""


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="unshare -rn is not permitted here")
def test_process_in_a_namespace_without_network(tmp_path: Path) -> None:
    sample = REPO / "assets" / "samples" / "astronaut.jpg"
    proc, sockets = run_guarded(["process", str(sample), "--effect", "remove", "--out", str(tmp_path / "o")],
                                tmp_path, unshare=True)
    assert proc.returncode == 0, proc.stderr
    assert sockets == ""
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [".locallens-output", "astronaut_remove.png"]
