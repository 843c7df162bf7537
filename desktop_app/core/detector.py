"""PersonDetector: the bundled `person-detection` model (manifest, integrity check, engine, adapter) -> people."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from desktop_app.core import models
from desktop_app.core.adapters import PersonDetectionAdapter
from desktop_app.core.detection import Detection
from desktop_app.core.engine import Device, InferenceEngine


class NoDetectorError(LookupError):
    """The manifest lists no person-detection model."""


class PersonDetector:
    """`detect(rgb) -> [Detection, ...]` (normalized frame coordinates, best first); thread-safe.

    The first `person-detection` model in the manifest (or `model_id`), its CPU variant unless `device` says
    otherwise, verified by sha256 before it is loaded."""

    def __init__(self, device: Device = "cpu", threads: int = 1, models_dir: Path | str | None = None,
                 model_id: str | None = None, min_score: float = 0.5) -> None:
        spec = models.pick_spec(models.DETECTION, "a person detector", model_id, models_dir, NoDetectorError)
        self.spec = spec
        self.variant = models.choose_variant(spec, gpu=device == "gpu")
        models.verify(self.variant)
        self.engine = InferenceEngine(self.variant.path, device, threads)
        self.adapter = PersonDetectionAdapter(spec, self.engine.input_meta, min_score=min_score)
        self._lock = threading.Lock()

    @property
    def input_size(self) -> tuple[int, int]:
        return self.adapter.input_size

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """The people in an (H, W, 3) uint8 RGB frame (the whole frame, letterboxed to the model's input)."""
        with self._lock:
            return self.adapter.postprocess(self.engine.run(self.adapter.preprocess(rgb)))
