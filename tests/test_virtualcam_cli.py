"""`locallens live --virtual-camera` as a user runs it: a real process, the real model, the fake backend."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO

from desktop_app.core import virtualcam

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C is a console event on Windows")


def wait_until(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(0.02)


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def start_live(tmp_path: Path, backend: str, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    picture = tmp_path / "me.png"
    cv2.imwrite(str(picture), np.full((90, 160, 3), 128, np.uint8))
    record = tmp_path / "vcam.jsonl"
    env = {**os.environ, virtualcam.BACKEND_ENV: backend, virtualcam.RECORD_ENV: str(record)}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "live", "--virtual-camera", "--camera", str(picture),
         "--resolution", "320x180", "--device", "cpu", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    return proc, record


def test_it_runs_until_ctrl_c_exits_0_and_prints_one_status_line(tmp_path: Path) -> None:
    proc, record = start_live(tmp_path, "fake")
    try:
        wait_until(lambda: len(records(record)) >= 5 or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C in a terminal reaches the whole group, helper included
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Virtual camera on: fake virtual camera (fake), 320x180 at 30 fps")
    assert "Traceback" not in err and "stopped" not in err  # the helper ignored Ctrl+C: the app closed it
    assert {(r["w"], r["h"]) for r in records(record)} == {(320, 180)}


def test_no_backend_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    proc, _record = start_live(tmp_path, "fake-none")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and out == ""
    assert err.strip() == f"error: {virtualcam.no_backend_message()}"


def test_ctrl_c_before_the_wait_loop_still_joins_the_session(tmp_path: Path, monkeypatch) -> None:
    """Under load Ctrl+C can land while the status line is printed, before the loop: the session's threads
    must still be stopped (they are not daemons: left running, the process would never exit)."""
    import threading

    from ui_fakes import FakeSegmenter

    from desktop_app import cli, cli_live

    picture = tmp_path / "me.png"
    cv2.imwrite(str(picture), np.full((90, 160, 3), 128, np.uint8))
    monkeypatch.setenv(virtualcam.BACKEND_ENV, "fake")
    args = cli.build_parser().parse_args(["live", "--virtual-camera", "--camera", str(picture),
                                          "--resolution", "320x180", "--device", "cpu"])

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_live, "print", interrupted, raising=False)
    assert cli_live._run(args, cli_live._params(args), FakeSegmenter(), (320, 180)) == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("locallens-")]


@pytest.mark.parametrize(("extra", "expected"), [([], "auto"), (["--quality", "best"], "best"),
                                                  (["--quality", "fast"], "fast")])
def test_live_quality_comes_from_the_command_line(extra: list[str], expected: str) -> None:
    from desktop_app import cli, cli_live

    args = cli.build_parser().parse_args(["live", "--camera", "me.png", *extra])
    params = cli_live._params(args)
    assert params.live_quality == expected and params.quality == "fast"  # photos' quality: not live's business
