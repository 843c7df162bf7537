"""What the tools build: the two bundled models, where they come from, and how models/manifest.json is written.

Shared by build_models.py and quantize.py (run from the tools venv); the app reads the manifest through
desktop_app/core/models.py and never imports this.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "models"
MANIFEST = MODELS_DIR / "manifest.json"
CACHE = ROOT / ".cache" / "build"

MEDIAPIPE_VERSION = "0.10.14"
INPUT_NAME = "input_1"
OUTPUT_NAME = "mask"


@dataclass(frozen=True)
class ModelDef:
    id: str
    title: str
    tflite: str  # path inside the mediapipe wheel
    width: int
    height: int
    stem: str  # file name stem in models/, e.g. selfie_general -> selfie_general_fp32.onnx
    model_selection: int  # MediaPipe's solutions.selfie_segmentation model_selection
    tflite_sha256: str  # of the file in the wheel: the build fails if the source ever changes

    def file(self, precision: str) -> str:
        return f"{self.stem}_{precision}.onnx"


MODELS: tuple[ModelDef, ...] = (
    ModelDef(
        "selfie-general",
        "MediaPipe Selfie Segmentation (general, 256x256)",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        256,
        256,
        "selfie_general",
        0,
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    ),
    ModelDef(
        "selfie-landscape",
        "MediaPipe Selfie Segmentation (landscape, 256x144)",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        256,
        144,
        "selfie_landscape",
        1,
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
    ),
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class VariantResult:
    """One measured, gate-passing variant as it goes into the manifest."""

    precision: str
    file: str
    devices: list[str]
    cpu_ms: float
    iou_mean: float
    iou_worst: float


def manifest_entry(model: ModelDef, variants: list[VariantResult]) -> dict:
    return {
        "id": model.id,
        "kind": "person-segmentation",
        "title": model.title,
        "input": {
            "name": INPUT_NAME,
            "shape": [1, model.height, model.width, 3],
            "layout": "NHWC",
            "dtype": "float32",
            "range": [0.0, 1.0],
            "color": "RGB",
            "resize": "corner-aligned-bilinear",
        },
        "output": {
            "name": OUTPUT_NAME,
            "shape": [1, model.height, model.width, 1],
            "layout": "NHWC",
            "kind": "probability",
        },
        "variants": [
            {
                "precision": v.precision,
                "file": v.file,
                "sha256": sha256(MODELS_DIR / v.file),
                "bytes": (MODELS_DIR / v.file).stat().st_size,
                "devices": v.devices,
                "cpu_ms": round(v.cpu_ms, 3),
                "iou_mean": round(v.iou_mean, 5),
                "iou_worst": round(v.iou_worst, 5),
            }
            for v in variants
        ],
        "source": {"package": "mediapipe", "version": MEDIAPIPE_VERSION, "file": model.tflite},
        "license": "Apache-2.0",
        "license_file": "LICENSES/mediapipe-Apache-2.0.txt",
    }


def write_manifest(entries: list[dict]) -> None:
    """Write models/manifest.json (schema_version 1, docs/architecture.md) atomically. Entries of other kinds
    already listed and not in `entries` (the person detector: tools/build_detector.py) are kept, after them."""
    ids = {e["id"] for e in entries}
    kept = []
    if MANIFEST.exists():
        kept = [m for m in json.loads(MANIFEST.read_text())["models"]
                if m["id"] not in ids and m.get("kind") != "person-segmentation"]
    data = {"schema_version": 1, "models": [*entries, *kept]}
    tmp = MANIFEST.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(MANIFEST)


def cpu_session(path: Path):
    """An onnxruntime CPU session as the app runs it: 1 intra-op thread, spinning off."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_mask(session, rgb_model_size: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB already at model size -> (h, w) float32 probability."""
    x = (rgb_model_size.astype(np.float32) / 255.0)[None]
    return session.run(None, {session.get_inputs()[0].name: x})[0][0, :, :, 0]


def interleaved_latency_ms(paths: dict[str, Path], shape: tuple[int, int], runs: int = 300) -> dict[str, float]:
    """Median CPU latency per model, all models run round-robin in one loop so machine noise hits all alike."""
    sessions = {k: cpu_session(p) for k, p in paths.items()}
    rng = np.random.default_rng(0)
    x = rng.random((1, shape[0], shape[1], 3), dtype=np.float32)
    feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
    for k, s in sessions.items():  # warm up
        for _ in range(20):
            s.run(None, feeds[k])
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(runs):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[k])
            times[k].append((time.perf_counter() - t0) * 1000.0)
    return {k: statistics.median(v) for k, v in times.items()}
