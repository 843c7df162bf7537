"""The photos tab's work queue: one thread that reads, previews and saves, so the GUI thread never does.

`PhotoThread` takes saves first, then the newest preview request (an older one nobody started is simply
replaced), then thumbnails (which also find unreadable files). Previews run through `core.pipeline.Pipeline`
and are scaled for the screen here; saves go through `core.imageio.write_image` (atomic, never overwrites).
With faces on, a photo's faces are found here too (the review step's detections, never on the GUI thread) and
the preview hides exactly the boxes it is given (`Frame.faces`): what a save writes is what was reviewed.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, QSize, QThread, Signal
from PySide6.QtGui import QImage

from desktop_app.core.detection import Detection
from desktop_app.core.frames import Frame
from desktop_app.core.imageio import ImageReadError, read_image, write_image
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline, SegmenterLike
from desktop_app.core.videoio import VideoReader, VideoReadError, is_video
from desktop_app.ui.display import display_image, stretch

THUMB = QSize(64, 48)
Box = tuple[float, float, float, float]  # normalized (xmin, ymin, xmax, ymax) in the original photo


class FaceFinder(Protocol):
    """What the review step asks for faces: `detect(rgb) -> [Detection]` (FaceDetector is one)."""

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


FinderFactory = Callable[[float], FaceFinder]  # the face threshold -> a detector using it


class _PhotoFaceFinder:
    """The faces stage's own photo detection (`faces.tiles.detect_tiled`: CenterFace at full size, tiled above
    1920 px, faces from 20 px), so the review outlines exactly what saving without a review would hide."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._detector: Any = None

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector
        from desktop_app.core.faces.tiles import detect_tiled

        if self._detector is None:
            threads = max(1, min(4, os.cpu_count() or 1))
            self._detector = FaceDetector(PHOTO_MODEL, threads=threads, min_score=self.threshold)
        return detect_tiled(self._detector, rgb, self.threshold)


def _inside(v: float) -> float:
    """A normalized coordinate clipped to the photo (the review keeps its boxes within it)."""
    return min(1.0, max(0.0, float(v)))


def photo_face_finder(threshold: float) -> FaceFinder:
    """The photos' detector at `threshold`: the one place the review step's detections come from."""
    return _PhotoFaceFinder(threshold)


@dataclass(slots=True)
class Preview:
    """One processed photo (or a video's first frame) for the comparison view."""

    generation: int
    path: Path
    params: EffectParams | None  # None: the model was not ready, `after` is None
    before: QImage
    after: QImage | None
    pixels: np.ndarray | None  # the result at full resolution, what a save writes
    faces: tuple[Box, ...] | None = None  # the boxes the result hid (Frame.faces); None: detected by the stage
    detected: tuple[Box, ...] | None = None  # the detector's faces at `threshold`, when it ran for this preview
    threshold: float = 0.0


@dataclass(slots=True)
class PreviewRequest:
    generation: int
    path: Path
    params: EffectParams
    segmenter: SegmenterLike | None
    display: QSize  # device pixels the pictures are shown at: they are scaled here, not on the GUI thread
    faces: tuple[Box, ...] | None = None  # reviewed boxes to hide; None with faces on: detect them here
    review: bool = False  # faces on for a photo: find its faces (when `faces` is None) for the review step


@dataclass(slots=True)
class SaveRequest:
    pixels: np.ndarray
    folder: Path
    stem: str
    fmt: str
    source: Path  # the original: never written over
    faces: tuple[Box, ...] | None = None  # the reviewed boxes the pixels hid (what the person checked)


class PhotoThread(QThread):
    """Saves first, then the newest preview request, then thumbnails; stops between tasks."""

    thumbnail = Signal(str, QImage)
    unreadable = Signal(str, str)  # path, one-line reason
    processed = Signal(object)  # Preview
    failed = Signal(int, str)  # preview generation, message
    saved = Signal(str, str)  # the path written, the name that was asked for
    save_failed = Signal(str)

    def __init__(self, parent: QObject | None = None, finder_factory: FinderFactory | None = None) -> None:
        super().__init__(parent)
        self._finder_factory = finder_factory or photo_face_finder  # the review step's detector
        self._finder: tuple[float, FaceFinder] | None = None
        self._found: tuple[Path, float, tuple[Box, ...]] | None = None
        self.setObjectName("locallens-photos")
        self._cond = threading.Condition()
        self._stop = False
        self._preview: PreviewRequest | None = None
        self._saves: deque[SaveRequest] = deque()
        self._thumbs: deque[Path] = deque()
        self._cache: tuple[Path, np.ndarray] | None = None
        self._before: tuple[Path, QSize, QImage] | None = None
        self._pipeline: Pipeline | None = None

    # requests (any thread)

    def request_thumbnails(self, paths: Iterable[Path]) -> None:
        with self._cond:
            self._thumbs.extend(paths)
            self._cond.notify()

    def request_preview(self, request: PreviewRequest) -> None:
        with self._cond:
            self._preview = request
            self._cond.notify()

    def request_save(self, request: SaveRequest) -> None:
        with self._cond:
            self._saves.append(request)
            self._cond.notify()

    def cancel_thumbnails(self) -> None:
        with self._cond:
            self._thumbs.clear()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    # the loop

    def run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or bool(self._saves or self._preview or self._thumbs))
                if self._stop:
                    return
                task: Any
                if self._saves:
                    task = self._saves.popleft()
                elif self._preview is not None:
                    task, self._preview = self._preview, None
                else:
                    task = self._thumbs.popleft()
            try:
                if isinstance(task, SaveRequest):
                    self._save(task)
                elif isinstance(task, PreviewRequest):
                    self._process(task)
                else:
                    self._thumbnail(task)
            except Exception as exc:  # one bad task must not end the thread
                generation = task.generation if isinstance(task, PreviewRequest) else -1
                self.failed.emit(generation, f"{type(exc).__name__}: {exc}")

    def _read(self, path: Path, keep: bool = True) -> np.ndarray:
        """Full-resolution RGB of a photo or a video's first frame; `keep` caches it (the selected one)."""
        if self._cache is not None and self._cache[0] == path:
            return self._cache[1]
        if is_video(path):
            with VideoReader(path) as reader:
                rgb = next(iter(reader), None)
            if rgb is None:
                raise VideoReadError(path, "the video has no frames")
        else:
            rgb = read_image(path).rgb
        if keep:
            self._cache = (path, rgb)
        return rgb

    def _thumbnail(self, path: Path) -> None:
        try:
            rgb = self._read(path, keep=False)  # never evicts the selected photo
        except (ImageReadError, VideoReadError) as exc:
            self.unreadable.emit(str(path), str(exc))
            return
        except OSError as exc:
            self.unreadable.emit(str(path), f"{path.name}: {exc.strerror or exc}")
            return
        self.thumbnail.emit(str(path), display_image(rgb, THUMB))

    def _process(self, request: PreviewRequest) -> None:
        try:
            rgb = self._read(request.path)
        except (ImageReadError, VideoReadError) as exc:
            self.unreadable.emit(str(request.path), str(exc))
            return
        cached = self._before
        if cached is not None and cached[0] == request.path and cached[1] == request.display:
            before = cached[2]
        else:
            before = display_image(rgb, request.display)
            self._before = (request.path, request.display, before)
        faces, detected, threshold = request.faces, None, request.params.face_threshold
        if request.review and faces is None:
            faces = detected = self._detect(request.path, rgb, threshold)
        if request.segmenter is None:
            self.processed.emit(Preview(request.generation, request.path, None, before, None, None, faces, detected,
                                        threshold))
            return
        pipeline = self._pipeline
        if pipeline is None or pipeline.segmenter is not request.segmenter:
            pipeline = self._pipeline = Pipeline(request.segmenter, request.params, temporal=False)
        pipeline.set_params(request.params)
        pipeline.reset()
        # A video's first frame is previewed as its export will process it: per frame, not the stills path.
        frame = Frame(rgb, 0.0, 0, str(request.path), faces if request.params.faces is not None else None)
        result = pipeline.process(frame, still=not is_video(request.path))
        after = stretch(display_image(result.pixels, request.display), before.size())
        self.processed.emit(Preview(request.generation, request.path, request.params, before, after,
                                    result.pixels, frame.faces, detected, threshold))

    def _detect(self, path: Path, rgb: np.ndarray, threshold: float) -> tuple[Box, ...]:
        """The photo's faces at `threshold` (kept for the selected photo: a re-render does not re-detect)."""
        found = self._found
        if found is not None and found[0] == path and found[1] == threshold:
            return found[2]
        finder = self._finder
        if finder is None or finder[0] != threshold:
            finder = self._finder = (threshold, self._finder_factory(threshold))
        boxes = tuple((_inside(x0), _inside(y0), _inside(x1), _inside(y1)) for x0, y0, x1, y1 in
                      (face.box for face in finder[1].detect(rgb)))
        self._found = (path, threshold, boxes)
        return boxes

    def _save(self, request: SaveRequest) -> None:
        try:
            path = write_image(request.pixels, request.folder, request.stem, request.fmt, inputs=[request.source])
        except Exception as exc:  # ImageWriteError, OSError: the message is for the user
            self.save_failed.emit(str(exc))
            return
        self.saved.emit(str(path), f"{request.stem}.{request.fmt}")
