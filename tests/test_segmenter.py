"""segmenter.py: model lookup, integrity, variant per provider, no needless rebuilds, bundled models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from synthetic_model import expected_probability, write_models_dir

from desktop_app import paths
from desktop_app.core import models
from desktop_app.core.engine import CPU, CUDA
from desktop_app.core.models import ModelIntegrityError, UnknownModelError
from desktop_app.core.segmenter import Segmenter, model_for_frame


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return write_models_dir(tmp_path / "models")


def _fp16_first_for_gpu(directory: Path) -> None:
    """Reorder variants so the GPU picks fp16 while the CPU still picks fp32."""
    manifest_path = directory / "manifest.json"
    data = json.loads(manifest_path.read_text())
    for entry in data["models"]:
        entry["variants"].reverse()
    manifest_path.write_text(json.dumps(data))


class CudaFactory:
    """Reports CUDA for GPU sessions (running on the CPU underneath), or fails them."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.paths: list[str] = []

    def __call__(self, path: str, options: ort.SessionOptions, providers: list[str]) -> Any:
        self.paths.append(Path(path).name)
        session = ort.InferenceSession(path, sess_options=options, providers=[CPU])
        if providers[0] == CPU:
            return session
        if self.fail:
            raise RuntimeError("CUDA failure 35: CUDA driver version is insufficient")

        class Reporting:
            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            def get_providers(self) -> list[str]:
                return [CUDA, CPU]

        return Reporting()


def test_predict_returns_small_mask_and_timings(models_dir: Path) -> None:
    seg = Segmenter(models_dir=models_dir, device="cpu")
    assert seg.provider == CPU
    assert seg.fallback_reason is None
    assert seg.spec.id == "selfie-general"
    assert seg.variant.precision == "fp32"
    mask, timings = seg.predict(np.full((480, 640, 3), 255, np.uint8))
    assert mask.shape == (256, 256)
    assert mask.dtype == np.float32
    np.testing.assert_allclose(mask, expected_probability(np.full((256, 256, 3), 255, np.uint8)), atol=1e-6)
    assert set(timings) == {"resize", "inference"}
    assert all(value >= 0.0 for value in timings.values())


def test_landscape_model_mask_is_256_wide_144_high(models_dir: Path) -> None:
    seg = Segmenter("selfie-landscape", device="cpu", models_dir=models_dir)
    assert seg.input_size == (256, 144)
    mask, _ = seg.predict(np.zeros((720, 1280, 3), np.uint8))
    assert mask.shape == (144, 256)
    assert float(mask.max()) < 0.01


def test_unknown_model_lists_known_ids(models_dir: Path) -> None:
    with pytest.raises(UnknownModelError, match="'selfie-nope'; known models: selfie-general, selfie-landscape"):
        Segmenter("selfie-nope", models_dir=models_dir)


def test_tampered_model_raises_at_construction(models_dir: Path) -> None:
    path = models_dir / "selfie_general_fp32.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError) as info:
        Segmenter(models_dir=models_dir, device="cpu")
    assert str(path) in str(info.value)
    assert "corrupt or has been tampered with" in str(info.value)
    # The other model still loads.
    assert Segmenter("selfie-landscape", device="cpu", models_dir=models_dir).spec.id == "selfie-landscape"


def test_no_op_reconfigure_keeps_the_session(models_dir: Path) -> None:
    seg = Segmenter(models_dir=models_dir, device="cpu", threads=1)
    engine = seg.engine
    assert seg.builds == 1
    assert seg.reconfigure() is False
    assert seg.reconfigure(model_id="selfie-general", device="cpu", threads=1) is False
    assert seg.engine is engine
    assert seg.builds == 1


def test_reconfigure_rebuilds_on_change(models_dir: Path) -> None:
    seg = Segmenter(models_dir=models_dir, device="cpu", threads=1)
    assert seg.reconfigure(threads=2) is True
    assert seg.builds == 2
    assert seg.reconfigure(model_id="selfie-landscape") is True
    assert seg.builds == 3
    assert seg.spec.id == "selfie-landscape"
    assert seg.predict(np.zeros((100, 100, 3), np.uint8))[0].shape == (144, 256)
    assert seg.reconfigure(model_id="selfie-landscape", threads=2) is False
    assert seg.builds == 3


def test_reconfigure_does_not_rehash(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seg = Segmenter(models_dir=models_dir, device="cpu")
    monkeypatch.setattr(models.hashlib, "sha256", lambda: pytest.fail("re-hashed an unchanged file"))
    assert seg.reconfigure(threads=2) is True


def test_gpu_provider_uses_the_gpu_variant(models_dir: Path) -> None:
    _fp16_first_for_gpu(models_dir)
    factory = CudaFactory(fail=False)
    seg = Segmenter(models_dir=models_dir, available=[CUDA, CPU], session_factory=factory)
    assert seg.provider == CUDA
    assert seg.is_gpu
    assert seg.variant.precision == "fp16"
    assert seg.fallback_reason is None
    assert factory.paths == ["selfie_general_fp16.onnx"]


def test_gpu_failure_falls_back_to_the_cpu_variant(models_dir: Path) -> None:
    _fp16_first_for_gpu(models_dir)
    factory = CudaFactory(fail=True)
    seg = Segmenter(models_dir=models_dir, available=[CUDA, CPU], session_factory=factory)
    assert seg.provider == CPU
    assert seg.variant.precision == "fp32"
    assert seg.fallback_reason is not None
    assert "CUDA driver version is insufficient" in seg.fallback_reason
    assert factory.paths == ["selfie_general_fp16.onnx", "selfie_general_fp16.onnx", "selfie_general_fp32.onnx"]
    mask, _ = seg.predict(np.full((64, 64, 3), 255, np.uint8))
    assert float(mask.min()) > 0.99


def test_a_twin_takes_the_same_gpu_variant_on_sessions_of_its_own(models_dir: Path) -> None:
    """A batch worker's segmenter (Segmenter.twin): same model, device, provider and variant, its own session
    (DirectML runs one image at a time per session)."""
    _fp16_first_for_gpu(models_dir)
    factory = CudaFactory(fail=False)
    seg = Segmenter(models_dir=models_dir, available=[CUDA, CPU], session_factory=factory, threads=2)
    twin = seg.twin()
    assert (twin.provider, twin.variant.precision, twin.engine.threads) == (CUDA, "fp16", 2)
    assert twin.engine is not seg.engine and twin._config == seg._config
    assert factory.paths == ["selfie_general_fp16.onnx"] * 2


# ------------------------------------------------------------------------------------- bundled models

BUNDLED = paths.models_dir()
needs_bundled = pytest.mark.skipif(
    not (BUNDLED / "manifest.json").exists(), reason="models/manifest.json not produced yet"
)


def _bundled_ids() -> list[str]:
    if not (BUNDLED / "manifest.json").exists():
        return []
    return [spec.id for spec in models.load_manifest(BUNDLED).of_kind(models.SEGMENTATION)]


@needs_bundled
def test_bundled_manifest_lists_the_contract_models() -> None:
    manifest = models.load_manifest(BUNDLED)
    assert {"selfie-general", "selfie-landscape"} <= set(manifest.ids)
    assert manifest.get("selfie-general").input.size == (256, 256)
    assert manifest.get("selfie-landscape").input.size == (256, 144)


@needs_bundled
def test_every_bundled_variant_is_intact() -> None:
    for spec in models.load_manifest(BUNDLED).models:
        for variant in spec.variants:
            assert models.file_status(variant) == "ok", variant.file


@needs_bundled
@pytest.mark.parametrize("model_id", _bundled_ids())
def test_every_bundled_model_gives_a_probability_mask(model_id: str) -> None:
    seg = Segmenter(model_id, device="cpu")
    width, height = seg.spec.input.size
    for variant in seg.spec.variants:
        seg_variant = _run_variant(seg.spec, variant)
        rng = np.random.default_rng(0)
        mask, _ = seg_variant.predict(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
        assert mask.shape == (height, width), variant.file
        assert mask.dtype == np.float32
        assert float(mask.min()) >= 0.0
        assert float(mask.max()) <= 1.0
        assert np.isfinite(mask).all()


def _run_variant(spec: models.ModelSpec, variant: models.Variant) -> Any:
    """A Segmenter-like predictor on one given variant (the Segmenter itself picks by device)."""
    from desktop_app.core.adapters import adapter_for
    from desktop_app.core.engine import InferenceEngine

    models.verify(variant)
    engine = InferenceEngine(variant.path, device="cpu")
    adapter = adapter_for(spec, engine.input_meta)

    class Predictor:
        def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
            return adapter.postprocess(engine.run(adapter.preprocess(rgb))), {}

    return Predictor()


@pytest.mark.parametrize(
    ("size", "model_id"),
    [((1280, 720), "selfie-landscape"), ((1920, 1080), "selfie-landscape"), ((600, 400), "selfie-landscape"),
     ((640, 480), "selfie-general"), ((720, 1280), "selfie-general"), ((512, 512), "selfie-general")],
)
def test_auto_picks_the_model_by_frame_shape(size: tuple[int, int], model_id: str) -> None:
    assert model_for_frame(*size) == model_id


def test_auto_loads_each_model_once_and_switches_per_frame(models_dir: Path) -> None:
    seg = Segmenter("auto", device="cpu", models_dir=models_dir)
    assert (seg.spec.id, seg.builds) == ("selfie-general", 1)
    for _ in range(3):
        wide, _ = seg.predict(np.zeros((720, 1280, 3), np.uint8))
        assert wide.shape == (144, 256) and seg.spec.id == "selfie-landscape"
        square, _ = seg.predict(np.zeros((480, 640, 3), np.uint8))
        assert square.shape == (256, 256) and seg.spec.id == "selfie-general"
    assert seg.builds == 2  # one session per model, kept
    assert seg.reconfigure(threads=2) is True  # a new thread count rebuilds what is in use
    assert seg.builds == 3


def test_verify_all_reports_a_damaged_second_model_before_any_frame(models_dir: Path) -> None:
    """`auto` loads the landscape model lazily: verify_all must find it damaged before the first wide frame."""
    (models_dir / "selfie_landscape_fp32.onnx").unlink()
    segmenter = Segmenter(models_dir=models_dir, device="cpu")  # the general model alone loads fine
    missing = r"selfie_landscape_fp32\.onnx is missing.*\(model selfie-landscape\)"
    with pytest.raises(ModelIntegrityError, match=missing):
        segmenter.verify_all()
    assert segmenter.may_use() == ["selfie-general", "selfie-landscape"]
    Segmenter("selfie-general", models_dir=models_dir, device="cpu").verify_all()  # one model: nothing else needed
