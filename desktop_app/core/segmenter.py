"""Segmenter: manifest lookup + integrity check + variant choice + engine + adapter -> small probability mask."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
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

AUTO = "auto"
GENERAL, LANDSCAPE = "selfie-general", "selfie-landscape"
DEFAULT_MODEL = AUTO
# Frames at least this wide for their height go to the landscape model (16:9 is 1.78, 3:2 is 1.5); 4:3 and
# portrait frames to the square general one. MediaPipe made the landscape model for video calls: it sees a
# 16:9 frame undistorted at 256x144 and ran ~2 ms faster per 720p frame here (bench/bench_core.py).
LANDSCAPE_MIN_ASPECT = 1.5


def model_for_frame(width: int, height: int) -> str:
    """The bundled model `auto` uses for a frame of this size."""
    return LANDSCAPE if width >= LANDSCAPE_MIN_ASPECT * height else GENERAL


@dataclass(frozen=True, slots=True)
class _Loaded:
    spec: models.ModelSpec
    variant: models.Variant
    engine: InferenceEngine
    adapter: ModelAdapter
    fallback_reason: str | None


class Segmenter:
    """`predict(rgb) -> (mask_small, {"resize": ms, "inference": ms})`; thread-safe.

    `model_id` is a bundled model id, or `auto`: the landscape model for wide frames and the general one
    for the rest (each loaded once, on first use, then kept). Sessions are rebuilt only when the device or
    thread count changes (`reconfigure`). `spec`, `variant` and `provider` describe the model used last.
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
        self._models_dir = models_dir
        self._available = available
        self._factory = session_factory
        self._lock = threading.Lock()
        self.builds = 0  # sessions built so far (rebuilds are counted, no-op reconfigures are not)
        self._loaded: dict[str, _Loaded] = {}
        self._config: tuple[str, Device, int] = (model_id, device, threads)
        self._use(self._get(self._first_model(model_id)))

    # ------------------------------------------------------------------------------------------ build

    def _first_model(self, model_id: str) -> str:
        segmenters = [m.id for m in self._manifest.of_kind(models.SEGMENTATION)]
        if model_id != AUTO:
            spec = self._manifest.get(model_id)  # an unknown id fails here, naming the known ones
            if spec.kind != models.SEGMENTATION:
                raise models.UnknownModelError(
                    f"model {model_id!r} is a {spec.kind} model, not a segmentation one; "
                    f"segmentation models: {', '.join(segmenters) or 'none'}")
            return model_id
        if not segmenters:
            raise models.UnknownModelError("the model manifest lists no person-segmentation model")
        return GENERAL if GENERAL in segmenters else segmenters[0]

    def _wanted(self, width: int, height: int) -> str:
        model_id = self._config[0]
        if model_id != AUTO:
            return model_id
        wanted = model_for_frame(width, height)
        return wanted if wanted in self._manifest.ids else self._first_model(AUTO)

    def _get(self, model_id: str) -> _Loaded:
        loaded = self._loaded.get(model_id)
        if loaded is None:
            loaded = self._loaded[model_id] = self._load(model_id)
        return loaded

    def _load(self, model_id: str) -> _Loaded:
        _, device, threads = self._config
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
        return _Loaded(spec, variant, engine, adapter_for(spec, engine.input_meta), fallback_reason)

    def may_use(self) -> list[str]:
        """The model ids this segmenter may load: the chosen one, or with `auto` each one it picks by shape."""
        model_id = self._config[0]
        if model_id != AUTO:
            return [model_id]
        ids = [m for m in (GENERAL, LANDSCAPE) if m in self._manifest.ids]
        return ids or [self._first_model(AUTO)]

    def verify_all(self, detector: bool = False) -> None:
        """Check now every model file a later frame may need (`auto` loads the landscape model lazily, on the
        first wide frame), so a missing or tampered one is reported before a batch starts, not midway.
        `detector`: also the person detector that best-quality stills load (on the CPU) on their first photo.

        Raises models.ModelIntegrityError naming the file and the model id.
        """
        if detector:
            for spec in self._manifest.of_kind(models.DETECTION):
                try:
                    models.verify(models.choose_variant(spec, gpu=False))
                except models.ModelIntegrityError as exc:
                    raise models.ModelIntegrityError(f"{exc} (model {spec.id})") from exc
        gpu = self.is_gpu
        for model_id in self.may_use():
            if model_id in self._loaded:
                continue  # loaded (so verified) already
            variant = models.choose_variant(self._manifest.get(model_id), gpu=gpu)
            try:
                models.verify(variant)
            except models.ModelIntegrityError as exc:
                raise models.ModelIntegrityError(f"{exc} (model {model_id})") from exc

    def _use(self, loaded: _Loaded) -> None:
        self.spec, self.variant, self._engine_obj, self._adapter = (
            loaded.spec, loaded.variant, loaded.engine, loaded.adapter)
        self.fallback_reason = loaded.fallback_reason

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
        """Apply a new model/device/threads; build only what is not loaded yet. Returns whether it built."""
        current_model, current_device, current_threads = self._config
        config = (model_id or current_model, device or current_device, threads or current_threads)
        if config == self._config:
            return False
        builds = self.builds
        with self._lock:
            if config[1:] != self._config[1:]:
                self._loaded.clear()  # new device or threads: every session must be rebuilt
            self._config = config
            self._use(self._get(self._first_model(config[0])))
        return self.builds != builds

    def twin(self) -> Segmenter:
        """A segmenter with this one's model, device and threads and sessions of its own, for another thread
        (a batch worker): a session runs one image at a time, and on DirectML it must."""
        model_id, device, threads = self._config
        return Segmenter(model_id, device, threads, self._models_dir, available=self._available,
                         session_factory=self._factory)

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
    def input_size(self) -> tuple[int, int]:
        return self._adapter.input_size

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """(h_model, w_model) float32 probability for an (H, W, 3) uint8 RGB frame, and timings in ms."""
        with self._lock:  # the adapter reuses its input buffer; a reconfigure swaps engine and adapter
            wanted = self._wanted(rgb.shape[1], rgb.shape[0])
            if wanted != self.spec.id:
                self._use(self._get(wanted))
            adapter, engine = self._adapter, self._engine_obj
            start = time.perf_counter()
            feeds = adapter.preprocess(rgb)
            resized = time.perf_counter()
            mask = adapter.postprocess(engine.run(feeds))
            done = time.perf_counter()
        return mask, {"resize": (resized - start) * 1000.0, "inference": (done - resized) * 1000.0}
