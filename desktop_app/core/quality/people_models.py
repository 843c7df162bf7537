"""The models the stills path loads besides the segmenter, as one set: the person detector, the face detector of
its closer look and the whole-body segmenter. Qt-free.

Each model runs one image at a time (it holds a lock around its run) and on one CPU thread, so two threads that
share a set wait on each other: most of a best-quality photo's time is the detector. `SHARED` is the set every
pipeline uses unless it is given its own; a batch's extra workers get their own (`PeopleModels()`, docs/
architecture.md "Batch"), so photos on two cores run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from desktop_app.core.quality.people import Detects, SegmentsBodies


class PeopleModels:
    """Each model loaded on first use and kept; None (reported once per set) when it cannot be loaded, so the
    stills path works on without it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}

    def _once(self, key: str, load: Callable[[], Any], failed: Callable[[Exception], None]) -> Any:
        with self._lock:
            if key not in self._loaded:
                try:
                    self._loaded[key] = load()
                except Exception as exc:  # a missing/tampered file or no such model in the manifest
                    failed(exc)
                    self._loaded[key] = None
            return self._loaded[key]

    def detector(self) -> Detects | None:
        """The bundled person detector; None when it cannot be loaded (the window is told)."""
        def load() -> Detects:
            from desktop_app.core.detector import PersonDetector

            return PersonDetector(device="cpu", threads=1)

        def failed(exc: Exception) -> None:
            from desktop_app.core.notify import notifier  # the window shows it once; the log keeps it

            notifier.warning("The person detector could not be loaded, so best-quality photos are made "
                             f"without it (people may be missed or background kept). {exc}")

        return self._once("person", load, failed)

    def face_detector(self) -> Detects | None:
        """The bundled live face detector (MediaPipe full range) for `people.second_look`; None (logged) when it
        cannot be loaded: the closer look then asks the person detector only."""
        def load() -> Detects:
            from desktop_app.core.faces.detector import LIVE_MODEL, FaceDetector

            return FaceDetector(LIVE_MODEL, device="cpu", threads=1)

        def failed(exc: Exception) -> None:
            from desktop_app.core.notify import log

            log.warning("the face detector could not be loaded for best-quality photos: %s", exc)

        return self._once("face", load, failed)

    def body_segmenter(self) -> SegmentsBodies | None:
        """The bundled whole-body segmenter; None (logged) when it cannot be loaded: the stills path then keeps
        the selfie model's bodies."""
        def load() -> SegmentsBodies:
            from desktop_app.core.body_segmenter import BodySegmenter

            return BodySegmenter(device="cpu", threads=1)

        def failed(exc: Exception) -> None:
            from desktop_app.core.notify import log

            log.warning("the body segmenter could not be loaded for best-quality photos: %s", exc)

        return self._once("body", load, failed)


SHARED = PeopleModels()  # every pipeline's set unless it is given its own (Pipeline.people)
