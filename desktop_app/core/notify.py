"""The one Qt-free error path: exception hooks, worker errors and notices reach every listener and the log.

The UI subscribes a listener that shows a dialog (one at a time); the CLI prints. Listeners run on the
thread that reported, so a GUI listener must hand the notice over to its own thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import TracebackType

log = logging.getLogger("locallens")


class Severity(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Notice:
    severity: Severity
    message: str  # one sentence a user can read
    details: str = ""  # traceback or technical detail, for the log and a "details" button


Listener = Callable[[Notice], None]


class Notifier:
    """Fan-out of notices to listeners; a failing listener is logged, never raised into the reporter."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self, severity: Severity, message: str, details: str = "") -> Notice:
        notice = Notice(severity, message, details)
        level = {Severity.INFO: logging.INFO, Severity.WARNING: logging.WARNING}.get(severity, logging.ERROR)
        log.log(level, "%s%s", message, f"\n{details}" if details else "")
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(notice)
            except Exception:  # a broken listener must not take the reporter down
                log.exception("notice listener failed")
        return notice

    def info(self, message: str) -> Notice:
        return self.notify(Severity.INFO, message)

    def warning(self, message: str, details: str = "") -> Notice:
        return self.notify(Severity.WARNING, message, details)

    def error(self, message: str, details: str = "") -> Notice:
        return self.notify(Severity.ERROR, message, details)

    def exception(self, message: str, exc: BaseException) -> Notice:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return self.error(f"{message}: {exc}" if str(exc) else message, details)

    def install_hooks(self) -> Callable[[], None]:
        """Route `sys.excepthook` and `threading.excepthook` here; returns a function that restores them."""
        old_sys, old_thread = sys.excepthook, threading.excepthook

        def sys_hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            if issubclass(kind, KeyboardInterrupt):
                old_sys(kind, exc, tb)
                return
            details = "".join(traceback.format_exception(kind, exc, tb))
            self.error(f"Unexpected error: {exc or kind.__name__}", details)

        def thread_hook(args: threading.ExceptHookArgs) -> None:
            if args.exc_value is None or isinstance(args.exc_value, SystemExit):
                return
            details = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
            name = args.thread.name if args.thread else "a background thread"
            self.error(f"Unexpected error in {name}: {args.exc_value}", details)

        sys.excepthook, threading.excepthook = sys_hook, thread_hook

        def restore() -> None:
            sys.excepthook, threading.excepthook = old_sys, old_thread

        return restore


notifier = Notifier()
"""The process-wide notifier."""


def setup_file_log(path: str | None) -> logging.Handler | None:
    """Log notices (and everything at INFO and above) to `path` in the user's data folder.

    Returns the handler it added (the caller may remove it again), or None if `path` is None or already logged to.
    """
    if path is None or any(getattr(h, "baseFilename", None) == os.path.abspath(path) for h in log.handlers):
        return None
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def remove_file_log(handler: logging.Handler | None) -> None:
    """Undo `setup_file_log` (closes the file)."""
    if handler is not None:
        log.removeHandler(handler)
        handler.close()
