"""FaceDetector: a bundled `face-detection` model (manifest, integrity check, engine, adapter) -> faces."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from desktop_app.core import models
from desktop_app.core.detection import Detection
from desktop_app.core.engine import Device, InferenceEngine
from desktop_app.core.faces.adapter import FaceDetectionAdapter

LIVE_MODEL, PHOTO_MODEL = "face-full-range", "face-centerface"  # by measurement: docs/models.md, "Face detectors"


class FaceDetector:
    """`detect(rgb) -> [Detection, ...]` (faces in normalized frame coordinates, best first); thread-safe.

    `model_id`: LIVE_MODEL (MediaPipe full range: fast, faces from ~10% of the frame height) or PHOTO_MODEL
    (CenterFace: small faces; `max_side` is the longer side the frame is shrunk to, never enlarged). The CPU
    variant unless `device` says otherwise, verified by sha256 before it is loaded."""

    def __init__(self, model_id: str = PHOTO_MODEL, device: Device = "cpu", threads: int = 1,
                 models_dir: Path | str | None = None, min_score: float | None = None,
                 max_side: int | None = None) -> None:
        spec = models.load_manifest(models_dir).get(model_id)
        if spec.kind != models.FACE_DETECTION:
            raise ValueError(f"model {model_id!r} is a {spec.kind} model, not a face detector")
        self.spec = spec
        self.variant = models.choose_variant(spec, gpu=device == "gpu")
        models.verify(self.variant)
        self.engine = InferenceEngine(self.variant.path, device, threads)
        self.adapter = FaceDetectionAdapter(spec, self.engine.input_meta, min_score=min_score, max_side=max_side)
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """The faces in an (H, W, 3) uint8 RGB frame."""
        with self._lock:
            return self.adapter.postprocess(self.engine.run(self.adapter.preprocess(rgb)))
