"""Start-up checks and failures that happen before (or instead of) the window: never exit silently.

`display_problem` runs before the QApplication exists: without a display Qt would abort the process with a
misleading message about libxcb-cursor0. `report_startup_failure` shows, prints and logs anything raised while
the window is being built.
"""

from __future__ import annotations

import ctypes
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from desktop_app import APP_NAME
from desktop_app.core.notify import log

EXIT_NO_DISPLAY = 2
EXIT_STARTUP_FAILED = 1

def _program() -> str:
    """How the user starts the commands: `locallens` from a pip install, the executable's name when frozen."""
    return Path(sys.executable).name if getattr(sys, "frozen", False) else "locallens"


def no_display_message(program: str = "locallens") -> str:
    return (
        f"{APP_NAME}: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open: "
        "it needs a desktop session.\n"
        f"Headless commands work without one: `{program} process PHOTO`, `{program} self-test`, "
        f"`{program} models` (see `{program} --help`).\n"
        "To run the window without a screen anyway (tests, CI), set QT_QPA_PLATFORM=offscreen."
    )


NO_DISPLAY = no_display_message()

# The system libraries Qt's xcb platform plugin loads, by soname, and the Debian/Ubuntu package of each.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def _uses_x11_or_wayland(platform: str) -> bool:
    return platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "sunos"))


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """The message to print when the window cannot open for want of a display; None when it can try."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not _uses_x11_or_wayland(platform):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa and qpa.split(":")[0] not in ("xcb", "wayland"):
        return None  # offscreen, minimal, eglfs, vnc...: no display needed
    if qpa.startswith("xcb"):
        found = env.get("DISPLAY")
    elif qpa.startswith("wayland"):
        found = env.get("WAYLAND_DISPLAY")
    else:
        found = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    return None if found else no_display_message(_program())


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def missing_xcb_packages(env: Mapping[str, str] | None = None, platform: str | None = None,
                         loadable: Callable[[str], bool] = _loadable) -> list[str]:
    """Debian/Ubuntu packages whose libraries the xcb plugin needs and the loader cannot find ([] if not on X11)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    qpa = env.get("QT_QPA_PLATFORM", "")
    if not _uses_x11_or_wayland(platform) or not env.get("DISPLAY") or (qpa and not qpa.startswith("xcb")):
        return []
    return [package for soname, package in XCB_LIBRARIES.items() if not loadable(soname)]


def xcb_warning(packages: list[str]) -> str:
    return (f"{APP_NAME}: the window needs system libraries that are missing: {', '.join(packages)}.\n"
            f"On Debian/Ubuntu: sudo apt-get install {' '.join(packages)}\n"
            "If Qt now reports that it could not load the \"xcb\" platform plugin, this is why.")


def report_startup_failure(exc: BaseException, open_log: Callable[[], Path | None],
                           show: Callable[[str, str], None] | None) -> int:
    """Log (with the traceback), print and, when `show` is given, show an error raised before the event loop."""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = f"{APP_NAME} could not start: {exc}" if str(exc) else f"{APP_NAME} could not start ({type(exc).__name__})"
    try:
        log_path = open_log()
    except Exception:  # the report must get out even if the log cannot be opened
        log_path = None
    log.error("%s\n%s", message, details)
    where = f"Details are in {log_path}." if log_path else "The log file could not be opened."
    print(f"{message}\n{where}\n{details}", file=sys.stderr, flush=True)
    if show is not None:
        try:
            show(f"{message}\n\n{where}", details)
        except Exception:  # a dialog that cannot open must not hide the first error: it was printed
            log.exception("the start-up error dialog could not be shown")
    return EXIT_STARTUP_FAILED
