"""Plain callbacks, napari style: the core emits on its own threads, a GUI only listens (and re-emits on its thread)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger("locallens")
T = TypeVar("T")


class Event(Generic[T]):
    """A list of callbacks: `connect(cb)`, `disconnect(cb)`, `emit(value)` (on the emitting thread). A callback
    that raises is logged and skipped: it must not stop the loop that emits."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        with self._lock:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(*args)
            except Exception:
                log.exception("a live-session listener failed")
