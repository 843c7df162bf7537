"""FaceStage: the pipeline's second stage, hiding every face in the output of the background effect.

Off (nothing runs, nothing is loaded) while `params.faces` is None. Otherwise the faces are the ones a person
reviewed (`Frame.faces`) when set, else the detector's on the input frame (`state.frame.pixels`, not the composed
output) with `params.face_threshold` as the lowest score:
- a live camera frame: LIVE_MODEL (MediaPipe full range; docs/models.md, "Face detectors"), through the
  `FaceTracker` so a face the detector misses for a frame stays hidden; the detector runs on the frames
  `DetectionSchedule` says (every frame while there is no face, a face is new, missed or fast, and for a second
  after one was lost; every second frame while all are steady, the tracker carrying the boxes on the others:
  docs/benchmarks.md "Session 6");
- a video file's frame (`Pipeline.video`): PHOTO_MODEL (CenterFace) at full size up to FULL_PASS_SIDE, through the
  tracker too;
- a still photo: PHOTO_MODEL over tiles at full size for large photos (`tiles.detect_tiled`: faces from 20 px).
The detectors are made on first use on the segmenter's device and thread count. A detector that fails raises: a
frame never goes out with a face exposed because detection failed (live shows its "not working" frame).
`timings["faces"]` is the stage's time; `last_ms` splits it into detection and hiding (`last_detected`: whether
the detector ran on the last frame). Faces are hidden in place when the stage's input is the background effect's
own new picture (not the frame itself), else in a copy. `find` gives the faces it would hide in a photo (for a
review step to outline; `Frame.faces` then carries the reviewed boxes, which are padded like detected ones).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop_app.core.detection import Detection
from desktop_app.core.effects.registry import FACE_DETECTION
from desktop_app.core.engine import DEFAULT_THREADS, Device
from desktop_app.core.faces.anonymize import hide_faces
from desktop_app.core.faces.detector import LIVE_MODEL, PHOTO_MODEL
from desktop_app.core.faces.tiles import FULL_PASS_SIDE, Detects, detect_tiled
from desktop_app.core.faces.tracking import DetectionSchedule, FaceTracker

if TYPE_CHECKING:
    from desktop_app.core.pipeline import StageState

DetectorFactory = Callable[[str, Device, int], Detects]  # (model id, device, threads) -> a detector


def default_detector(model_id: str, device: Device, threads: int) -> Detects:
    from desktop_app.core.faces.detector import FaceDetector

    return FaceDetector(model_id, device=device, threads=threads)


def engine_config(segmenter: Any) -> tuple[Device, int]:
    """(device, threads) the segmenter's engine runs with: the GPU if it is on one, else the CPU."""
    device: Device = "gpu" if bool(getattr(segmenter, "is_gpu", False)) else "cpu"
    threads = getattr(getattr(segmenter, "engine", None), "threads", None)
    return device, threads if isinstance(threads, int) and threads >= 1 else DEFAULT_THREADS


class FaceStage:
    """The faces stage of `pipeline` (which says `temporal`, `video` and holds the segmenter); see the module
    docstring. `make_detector` builds a detector on first use (tests pass fakes)."""

    name = "faces"
    model_kind = FACE_DETECTION

    def __init__(self, pipeline: Any, make_detector: DetectorFactory | None = None) -> None:
        self._pipeline = pipeline
        self.make_detector: DetectorFactory = make_detector or default_detector
        self._detectors: dict[str, Detects] = {}
        self._lock = threading.Lock()
        self.tracker = FaceTracker()
        self.schedule = DetectionSchedule()
        self.last_ms = {"detect": 0.0, "hide": 0.0}
        self.last_detected = False
        self._active = False

    def model_for(self, still: bool) -> str:
        """PHOTO_MODEL for photos and video files, LIVE_MODEL for a live camera's frames."""
        pipeline = self._pipeline
        return PHOTO_MODEL if still or pipeline.video or not pipeline.temporal else LIVE_MODEL

    def detector(self, model_id: str) -> Detects:
        """The detector for `model_id`, made on first use (on the segmenter's device); raises if it cannot be."""
        with self._lock:
            found = self._detectors.get(model_id)
            if found is None:
                device, threads = engine_config(self._pipeline.segmenter)
                found = self._detectors[model_id] = self.make_detector(model_id, device, threads)
            return found

    def run(self, state: StageState) -> None:
        params = state.params
        if params.faces is None:
            if self._active:  # turned off: tracks held from before must not come back when it is turned on again
                self.reset()
                self._active = False
            return
        self._active = True
        start = time.perf_counter()
        reviewed = state.frame.faces  # a person's review replaces detection
        boxes = [tuple(b) for b in reviewed] if reviewed is not None else [f.box for f in self._detect(state)]
        detected = time.perf_counter()
        if boxes:
            pixels = state.pixels
            # the background effect's own new picture is this stage's to change; the input frame never is
            owned = pixels.flags.writeable and not np.may_share_memory(pixels, state.frame.pixels)
            state.pixels = hide_faces(pixels, boxes, params.faces, params.face_shape, params.face_padding,
                                      in_place=owned)
        done = time.perf_counter()
        self.last_ms = {"detect": (detected - start) * 1000.0, "hide": (done - detected) * 1000.0}
        state.timings[self.name] = (done - start) * 1000.0

    def _detect(self, state: StageState) -> list[Detection]:
        tracked = self._pipeline.temporal and not state.still
        if tracked and self.model_for(state.still) == LIVE_MODEL and not self.schedule.due(self.tracker):
            self.last_detected = False
            return self.tracker.coast()  # a steady live frame: the tracker carries the boxes on
        self.last_detected = True
        faces = self.find(state.frame.pixels, state.params.face_threshold, state.still)
        return self.tracker.update(faces) if tracked else faces

    def find(self, rgb: np.ndarray, threshold: float, still: bool = True) -> list[Detection]:
        """The faces this stage would hide in `rgb` (a photo by default: what a review step outlines), before any
        tracking; loads the detector on first use and raises if it fails."""
        model = self.model_for(still)
        detector = self.detector(model)
        if model == LIVE_MODEL:
            return detector.detect(rgb, min_score=threshold)
        if still:
            return detect_tiled(detector, rgb, threshold)
        return detector.detect(rgb, min_score=threshold, max_side=min(max(rgb.shape[:2]), FULL_PASS_SIDE))

    def reset(self) -> None:
        self.tracker.reset()
        self.schedule.reset()
