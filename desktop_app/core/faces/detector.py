"""FaceDetector: a bundled `face-detection` model (manifest, integrity check, engine, adapter) -> faces."""

from __future__ import annotations

import dataclasses
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
        self.fallback_reason = self.engine.fallback_reason
        cpu_variant = models.choose_variant(spec, gpu=False)
        if not self.engine.is_gpu and self.variant != cpu_variant:
            # The GPU failed (the engine fell back to the CPU and says why): run the CPU's variant (INT8 for
            # CenterFace), not the GPU's FP16 file on the CPU.
            models.verify(cpu_variant)
            self.variant, self.engine = cpu_variant, InferenceEngine(cpu_variant.path, "cpu", threads)
        self.adapter = FaceDetectionAdapter(spec, self.engine.input_meta, min_score=min_score, max_side=max_side)
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray, min_score: float | None = None, max_side: int | None = None) -> list[Detection]:
        """The faces in an (H, W, 3) uint8 RGB frame; `min_score` and `max_side` (CenterFace) for this call only
        (default: the detector's own)."""
        adapter = self.adapter
        with self._lock:
            kept = adapter.min_score, adapter.max_side, getattr(adapter, "options", None)
            try:
                if min_score is not None:
                    adapter.min_score = min_score
                    if kept[2] is not None:
                        adapter.options = dataclasses.replace(kept[2], min_score=min_score)
                if max_side is not None:
                    adapter.max_side = max_side
                return adapter.postprocess(self.engine.run(adapter.preprocess(rgb)))
            finally:
                adapter.min_score, adapter.max_side = kept[0], kept[1]
                if kept[2] is not None:
                    adapter.options = kept[2]
