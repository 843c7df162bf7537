"""A tiny ONNX stand-in for the bundled segmentation models, and a manifest that lists it.

Same I/O as MediaPipe Selfie Segmentation: input `[1, H, W, 3]` float32 NHWC RGB in [0, 1], output
`[1, H, W, 1]` sigmoid probability. The probability is `sigmoid(gain * (mean(rgb) - 0.5))`, so a white
image gives ~1 and a black one ~0: tests can check values, not just shapes. Reusable by any test.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # old enough for any onnxruntime the app supports
GAIN = 10.0


def build_model(
    path: Path, width: int = 256, height: int = 256, layout: str = "NHWC", producer: str = "synthetic"
) -> Path:
    """Write the model to `path`; `producer` changes the bytes (and sha256) without changing behaviour."""
    if layout == "NHWC":
        in_shape, out_shape, axis = [1, height, width, 3], [1, height, width, 1], 3
    else:
        in_shape, out_shape, axis = [1, 3, height, width], [1, 1, height, width], 1
    nodes = [
        helper.make_node("ReduceMean", ["input_1"], ["mean"], axes=[axis], keepdims=1),
        helper.make_node("Sub", ["mean", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["segment_back"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
        numpy_helper.from_array(np.array(GAIN, dtype=np.float32), "gain"),
    ]
    graph = helper.make_graph(
        nodes,
        "synthetic_selfie",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("segment_back", TensorProto.FLOAT, out_shape)],
        initializers,
    )
    model = helper.make_model(graph, producer_name=producer, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def expected_probability(rgb: np.ndarray) -> np.ndarray:
    """What the synthetic model returns for an image already at its input size."""
    mean = rgb.astype(np.float32).mean(axis=2) / 255.0
    return (1.0 / (1.0 + np.exp(-GAIN * (mean - 0.5)))).astype(np.float32)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_entry(
    directory: Path, model_id: str = "selfie-general", width: int = 256, height: int = 256, layout: str = "NHWC"
) -> dict:
    """Build an fp32 (cpu+gpu) and an "fp16" (gpu only) file for one model and return its manifest entry."""
    stem = model_id.replace("-", "_")
    variants = []
    for precision, devices, cpu_ms in (("fp32", ["gpu", "cpu"], 2.5), ("fp16", ["gpu"], 2.6)):
        path = build_model(directory / f"{stem}_{precision}.onnx", width, height, layout, producer=precision)
        variants.append(
            {
                "precision": precision,
                "file": path.name,
                "sha256": sha256(path),
                "bytes": path.stat().st_size,
                "devices": devices,
                "cpu_ms": cpu_ms,
                "iou_mean": 1.0,
                "iou_worst": 1.0,
            }
        )
    if layout == "NHWC":
        in_shape, out_shape = [1, height, width, 3], [1, height, width, 1]
    else:
        in_shape, out_shape = [1, 3, height, width], [1, 1, height, width]
    return {
        "id": model_id,
        "kind": "person-segmentation",
        "title": f"Synthetic {model_id} ({width}x{height})",
        "input": {
            "name": "input_1",
            "shape": in_shape,
            "layout": layout,
            "dtype": "float32",
            "range": [0.0, 1.0],
            "color": "RGB",
            "resize": "corner-aligned-bilinear",
        },
        "output": {"name": "segment_back", "shape": out_shape, "layout": layout, "kind": "probability"},
        "variants": variants,
        "source": {"package": "tests", "version": "0", "file": "tests/synthetic_model.py"},
        "license": "Apache-2.0",
        "license_file": "LICENSES/none.txt",
    }


def write_models_dir(directory: Path, landscape: bool = True) -> Path:
    """A models/ folder with `selfie-general` (256x256) and optionally `selfie-landscape` (256x144)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = [model_entry(directory)]
    if landscape:
        entries.append(model_entry(directory, "selfie-landscape", 256, 144))
    write_manifest(directory, entries)
    return directory


def write_manifest(directory: Path, entries: list[dict]) -> Path:
    path = directory / "manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "models": entries}, indent=2), encoding="utf-8")
    return path
