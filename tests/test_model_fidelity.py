"""The bundled ONNX models reproduce MediaPipe's own runtime, and the manifest matches the files it names.

Reference masks in tests/fixtures/reference/ were made by tools/reference_masks.py with mediapipe==0.10.14
`solutions.selfie_segmentation` at full resolution. Our path reproduces MediaPipe's CPU graph: corner-aligned
resize to model size (ImageToTensorCalculator's warp), [0, 1] float NHWC, onnxruntime CPU, then a plain
`cv2.resize` bilinear upsample (TensorsToSegmentationCalculator's `cv::resize`, half-pixel centres).
Measured on these fixtures: IoU 0.9992-1.0000 with that upsample, 0.986-0.995 with a corner-aligned one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from desktop_app.core.resize import resize_corner_aligned

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
REFERENCE = REPO / "tests" / "fixtures" / "reference"
MANIFEST = json.loads((MODELS / "manifest.json").read_text())
SPECS = {m["id"]: m for m in MANIFEST["models"] if m["kind"] == "person-segmentation"}  # the detector: test_detector.py
CASES = sorted(REFERENCE.glob("*.json"))
FP32_MIN_IOU = 0.99
GATE_MIN_IOU = 0.98  # shipped reduced-precision variants: the accuracy gate's mean, here per image


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _our_mask(session: ort.InferenceSession, spec: dict, rgb: np.ndarray) -> np.ndarray:
    _, h, w, _ = spec["input"]["shape"]
    x = resize_corner_aligned(rgb, (w, h)).astype(np.float32)[None] / 255.0
    small = session.run([spec["output"]["name"]], {spec["input"]["name"]: x})[0][0, :, :, 0]
    return cv2.resize(small, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def _case(meta_path: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    meta = json.loads(meta_path.read_text())
    bgr = cv2.imread(str(REFERENCE / meta["image"]), cv2.IMREAD_COLOR)
    reference = cv2.imread(str(REFERENCE / meta["mask"]), cv2.IMREAD_UNCHANGED)
    return meta, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), reference.astype(np.float32) / 255.0


def _variants(precisions: str) -> list[tuple[str, str]]:
    return [
        (model_id, v["precision"])
        for model_id, spec in SPECS.items()
        for v in spec["variants"]
        if (v["precision"] == "fp32") == (precisions == "fp32")
    ]


def test_fixtures_cover_both_models_on_every_image() -> None:
    metas = [json.loads(p.read_text()) for p in CASES]
    images = {m["image"] for m in metas}
    assert len(images) >= 3
    assert {(m["image"], m["model"]) for m in metas} == {(i, m) for i in images for m in SPECS}
    for meta in metas:
        mask = cv2.imread(str(REFERENCE / meta["mask"]), cv2.IMREAD_UNCHANGED)
        assert list(mask.shape) == meta["mask_shape"]


@pytest.mark.parametrize("meta_path", CASES, ids=[p.stem for p in CASES])
def test_fp32_matches_mediapipe_at_full_resolution(meta_path: Path) -> None:
    meta, rgb, reference = _case(meta_path)
    spec = SPECS[meta["model"]]
    (fp32,) = [v for v in spec["variants"] if v["precision"] == "fp32"]
    ours = _our_mask(_session(MODELS / fp32["file"]), spec, rgb)
    assert ours.shape == reference.shape == rgb.shape[:2]
    assert _iou(ours > 0.5, reference > 0.5) >= FP32_MIN_IOU


@pytest.mark.parametrize(("model_id", "precision"), _variants("reduced"))
def test_shipped_reduced_precision_variants_stay_close_to_mediapipe(model_id: str, precision: str) -> None:
    spec = SPECS[model_id]
    (variant,) = [v for v in spec["variants"] if v["precision"] == precision]
    session = _session(MODELS / variant["file"])
    for meta_path in CASES:
        meta, rgb, reference = _case(meta_path)
        if meta["model"] == model_id:
            assert _iou(_our_mask(session, spec, rgb) > 0.5, reference > 0.5) >= GATE_MIN_IOU, meta["image"]


def test_every_manifest_variant_matches_its_file() -> None:
    assert MANIFEST["schema_version"] == 1
    assert set(SPECS) == {"selfie-general", "selfie-landscape"}
    for spec in SPECS.values():
        assert spec["variants"], spec["id"]
        for variant in spec["variants"]:
            data = (MODELS / variant["file"]).read_bytes()
            assert len(data) == variant["bytes"], variant["file"]
            assert hashlib.sha256(data).hexdigest() == variant["sha256"], variant["file"]
        assert "Apache License" in (MODELS / spec["license_file"]).read_text()[:200]


def test_manifest_lists_a_gpu_variant_first_and_a_cpu_variant() -> None:
    for spec in SPECS.values():
        assert "gpu" in spec["variants"][0]["devices"]
        assert spec["variants"][0]["precision"] in {"fp32", "fp16"}
        assert any("cpu" in v["devices"] for v in spec["variants"])
        for variant in spec["variants"]:
            assert variant["iou_mean"] >= 0.98 and variant["iou_worst"] >= 0.95, variant["file"]


@pytest.mark.parametrize("meta_path", CASES, ids=[p.stem for p in CASES])
def test_app_segmenter_on_the_cpu_matches_mediapipe(meta_path: Path) -> None:
    from desktop_app.core.segmenter import Segmenter

    meta, rgb, reference = _case(meta_path)
    small, timings = Segmenter(meta["model"], device="cpu", models_dir=MODELS).predict(rgb)
    _, h, w, _ = SPECS[meta["model"]]["input"]["shape"]
    assert small.shape == (h, w)
    assert {"resize", "inference"} <= set(timings)
    full = cv2.resize(small, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    assert _iou(full > 0.5, reference > 0.5) >= GATE_MIN_IOU
