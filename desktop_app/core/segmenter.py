"""Segmenter: manifest lookup + integrity check + variant choice + engine + adapter -> small probability mask."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np

from desktop_app.core import models
from desktop_app.core.adapters import ModelAdapter, adapter_for
from desktop_app.core.engine import (
    CPU,
    DEFAULT_THREADS,
    Device,
    InferenceEngine,
    SessionFactory,
    choose_providers,
    is_gpu_provider,
)

DEFAULT_MODEL = "selfie-general"


class Segmenter:
    """`predict(rgb) -> (mask_small, {"resize": ms, "inference": ms})`; thread-safe.

    The session is rebuilt only when the model, device or thread count changes (`reconfigure`).
    `available` and `session_factory` pass through to the engine for tests.
    """

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        device: Device = "auto",
        threads: int = DEFAULT_THREADS,
        models_dir: Path | str | None = None,
        *,
        available: list[str] | None = None,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self._manifest = models.load_manifest(models_dir)
        self._available = available
        self._factory = session_factory
        self._lock = threading.Lock()
        self.builds = 0  # sessions built so far (rebuilds are counted, no-op reconfigures are not)
        self._config: tuple[str, str, int] = ("", "", 0)
        self._build(model_id, device, threads)

    # ------------------------------------------------------------------------------------------ build

    def _build(self, model_id: str, device: Device, threads: int) -> None:
        spec = self._manifest.get(model_id)
        wanted = choose_providers(device, self._providers(), sys.platform)
        variant = models.choose_variant(spec, gpu=wanted[0] != CPU)
        models.verify(variant)
        engine = self._make_engine(variant.path, device, threads)
        fallback_reason = engine.fallback_reason
        cpu_variant = models.choose_variant(spec, gpu=False)
        if not engine.is_gpu and variant != cpu_variant:
            # The GPU failed: run the variant chosen for the CPU instead of the GPU's one.
            models.verify(cpu_variant)
            variant, engine = cpu_variant, self._make_engine(cpu_variant.path, "cpu", threads)
        adapter = adapter_for(spec, engine.input_meta)
        with self._lock:
            self.spec, self.variant, self._engine_obj, self._adapter = spec, variant, engine, adapter
            self.fallback_reason = fallback_reason
            self._config = (model_id, device, threads)

    def _providers(self) -> list[str]:
        if self._available is not None:
            return self._available
        from desktop_app.core.engine import available_providers

        return available_providers()

    def _make_engine(self, path: Path, device: Device, threads: int) -> InferenceEngine:
        self.builds += 1
        return InferenceEngine(path, device, threads, available=self._available, session_factory=self._factory)

    def reconfigure(
        self, model_id: str | None = None, device: Device | None = None, threads: int | None = None
    ) -> bool:
        """Apply a new model/device/threads; rebuild only if one changed. Returns whether it rebuilt."""
        current_model, current_device, current_threads = self._config
        config = (model_id or current_model, device or current_device, threads or current_threads)
        if config == self._config:
            return False
        self._build(*config)
        return True

    # ------------------------------------------------------------------------------------------ use

    @property
    def engine(self) -> InferenceEngine:
        return self._engine_obj

    @property
    def adapter(self) -> ModelAdapter:
        return self._adapter

    @property
    def provider(self) -> str:
        return self._engine_obj.provider

    @property
    def is_gpu(self) -> bool:
        return is_gpu_provider(self.provider)

    @property
    def model_ids(self) -> list[str]:
        return self._manifest.ids

    @property
    def input_size(self) -> tuple[int, int]:
        return self._adapter.input_size

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """(h_model, w_model) float32 probability for an (H, W, 3) uint8 RGB frame, and timings in ms."""
        with self._lock:  # the adapter reuses its input buffer; a reconfigure swaps engine and adapter
            adapter, engine = self._adapter, self._engine_obj
            start = time.perf_counter()
            feeds = adapter.preprocess(rgb)
            resized = time.perf_counter()
            mask = adapter.postprocess(engine.run(feeds))
            done = time.perf_counter()
        return mask, {"resize": (resized - start) * 1000.0, "inference": (done - resized) * 1000.0}
