"""Measure the frozen app's start-up: launch to a visible window, and the `self-test` wall time (Linux).

Window: the app runs on a private Xvfb display with the xcb plugin (as on a desktop) and the bundled sample
as camera; `xdotool search --sync --onlyvisible --name '^LocalLens$'` returns when the main window is
mapped. "Cold" runs first evict every file of the frozen folder from the page cache
(`posix_fadvise(DONTNEED)`, only our files: the shared machine's cache is left alone); "warm" runs do not.

    python installer/measure_startup.py [--runs 5] [--app dist/LocalLens/LocalLens] [--json FILE]

Needs Debian's `xvfb` and `xdotool`. Never touches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def evict(folder: Path) -> None:
    """Drop `folder`'s files from the page cache so the next start reads them from disk."""
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    for number in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            display = f":{number}"
            proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    return proc, display
                time.sleep(0.05)
            proc.kill()
    raise SystemExit("could not start Xvfb")


def window_time(app: Path, display: str, camera: Path, timeout: float) -> float:
    """Seconds from launching `app` until its main window is visible."""
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    env.pop("LOCALLENS_ROOT", None)
    started = time.perf_counter()
    proc = subprocess.Popen([str(app), "--camera", str(camera)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "^LocalLens$"], env=env,
                       check=True, timeout=timeout, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def self_test_time(app: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("LOCALLENS_ROOT", None)
    started = time.perf_counter()
    subprocess.run([str(app), "self-test"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "LocalLens" / "LocalLens")
    parser.add_argument("--camera", type=Path, default=ROOT / "assets" / "samples" / "walk.mp4")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        raise SystemExit("Linux only (Xvfb + xdotool)")
    for tool in ("Xvfb", "xdotool"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install xvfb xdotool")
    folder = args.app.resolve().parent
    xvfb, display = start_xvfb()
    try:
        cold, warm = [], []
        for _ in range(args.runs):
            evict(folder)
            cold.append(window_time(args.app, display, args.camera, args.timeout))
            warm.append(window_time(args.app, display, args.camera, args.timeout))
        evict(folder)
        test_cold = self_test_time(args.app)
        test_warm = [self_test_time(args.app) for _ in range(args.runs)]
    finally:
        xvfb.terminate()
        xvfb.wait()
    result = {
        "window_cold_s": [round(x, 3) for x in cold], "window_warm_s": [round(x, 3) for x in warm],
        "window_cold_median_s": round(statistics.median(cold), 3),
        "window_warm_median_s": round(statistics.median(warm), 3),
        "self_test_cold_s": round(test_cold, 3), "self_test_warm_median_s": round(statistics.median(test_warm), 3),
    }
    print(f"window visible: cold median {result['window_cold_median_s']} s {result['window_cold_s']}, "
          f"warm median {result['window_warm_median_s']} s {result['window_warm_s']}")
    print(f"self-test: cold {result['self_test_cold_s']} s, warm median {result['self_test_warm_median_s']} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
