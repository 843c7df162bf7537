"""Reproduce models/pose_landmark_full_fp32.onnx (the bundled whole-body segmenter) and its manifest entry.

One command, from the repo root, with any Python 3.11:

    python3.11 tools/build_pose_segmenter.py

Like tools/build_detector.py it re-runs itself in the tools venv `.venvs/tools`, then:
1. takes mediapipe/modules/pose_landmark/pose_landmark_full.tflite (BlazePose GHUM full, Apache-2.0: 256x256 RGB
   in [0, 1], a person's rotated body square as MediaPipe's pose graph crops it) from the mediapipe==0.10.14 wheel
   (`.venvs/mediapipe`, else `pip download --no-deps`; never a model hub); fails on any other sha256;
2. converts it with tf2onnx (`--tflite --opset 17`), fails if any `TFL_*` node is left, keeps only the three
   outputs the app reads (`landmarks` (1, 195): 39 points x (x, y, z, visibility, presence) in input pixels;
   `presence` (1, 1): the pose flag, a probability; `segmentation` (1, 256, 256, 1): logits of the person in the
   square) and drops what only the others need (heatmap, world landmarks), renames tensors canonically (a re-run
   writes a byte-identical file), stores the fp16 weights as fp16 again behind Casts to float32 (exact);
3. compares the ONNX outputs with the stock TFLite interpreter on a few images: fails above MAX_ABS_DIFF;
4. writes/updates the `pose-segmentation` entry (kind `body-segmentation`) in models/manifest.json.

Options: --no-manifest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent

from toolsvenv import ensure_tools_venv  # noqa: E402

if __name__ == "__main__":
    ensure_tools_venv(__file__, "tf2onnx")

import numpy as np  # noqa: E402

sys.path.insert(0, str(TOOLS))
from build_detector import cpu_ms, rename_canonically, source_tflite, store_fp16  # noqa: E402
from modelspec import CACHE, MANIFEST, MEDIAPIPE_VERSION, MODELS_DIR, sha256  # noqa: E402

TFLITE = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
TFLITE_SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
MODEL_ID = "pose-segmentation"
FILE = "pose_landmark_full_fp32.onnx"
SIDE = 256
# tflite output name -> ours, and its shape
OUTPUTS = {"Identity": ("landmarks", (1, 195)), "Identity_1": ("presence", (1, 1)),
           "Identity_2": ("segmentation", (1, SIDE, SIDE, 1))}
# landmarks in input pixels (0-256); the segmentation compared as probabilities (its logits reach +-1000s and
# differ by up to ~0.2 there, float rounding in XNNPACK vs onnxruntime; near 0.5 that is ~0.01 of probability)
MAX_ABS_DIFF = {"landmarks": 5e-2, "presence": 1e-3, "segmentation": 2e-2}


def canonicalize(model):
    """Keep the three outputs, drop the nodes nothing kept needs, rename tensors/nodes by order of appearance."""
    import onnx

    graph = model.graph
    by_shape = {tuple(d.dim_value for d in o.type.tensor_type.shape.dim): o.name for o in graph.output}
    finals = {by_shape[shape]: name for name, shape in OUTPUTS.values()}
    model = onnx.utils.Extractor(model).extract_model([i.name for i in graph.input], list(finals))
    del model.graph.value_info[:]
    rename_canonically(model, finals, "pose_landmark_full")  # outputs: landmarks, presence, segmentation
    return model


def convert(tflite_path: Path):
    import onnx

    raw = CACHE / "pose_landmark_full_tf2onnx.onnx"
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite_path), "--opset", "17",
                    "--output", str(raw)], check=True, capture_output=True)
    model = onnx.load(str(raw))
    leftover = sorted({n.op_type for n in model.graph.node if n.op_type.startswith("TFL_")})
    if leftover:
        raise SystemExit(f"unconverted TFLite ops remain: {leftover}")
    model = canonicalize(model)
    stored = store_fp16(model)
    onnx.checker.check_model(model, full_check=True)
    print(f"{MODEL_ID}: {len(model.graph.node)} nodes, no TFL_* ops left, {stored} weights stored as fp16")
    return model


def verify_inputs() -> list[np.ndarray]:
    """(1, 256, 256, 3) float32 inputs in [0, 1]: scikit-image photos squashed to the input, and seeded noise."""
    import cv2
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), np.dstack([data.camera()] * 3)]
    inputs = [cv2.resize(p, (SIDE, SIDE), interpolation=cv2.INTER_AREA) for p in photos]
    inputs.append(np.random.default_rng(7).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))
    return [(x.astype(np.float32) / 255.0)[None] for x in inputs]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def verify(tflite_path: Path, onnx_path: Path) -> dict[str, float]:
    """Max abs diff of each kept output between the TFLite interpreter (the original file) and onnxruntime."""
    import onnxruntime as ort
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite_path))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    outs = {o["name"]: o["index"] for o in interp.get_output_details()}
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [name for name, _ in OUTPUTS.values()]
    worst = dict.fromkeys(names, 0.0)
    for x in verify_inputs():
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        ours = dict(zip(names, session.run(names, {"input_1": x}), strict=True))
        for tfl, (name, _) in OUTPUTS.items():
            theirs, mine = interp.get_tensor(outs[tfl]), ours[name]
            if name == "segmentation":
                theirs, mine = _sigmoid(theirs), _sigmoid(mine)
            worst[name] = max(worst[name], float(np.abs(theirs - mine).max()))
    return worst


def manifest_entry(path: Path, ms: float) -> dict:
    return {
        "id": MODEL_ID,
        "kind": "body-segmentation",
        "title": "MediaPipe Pose Landmark full (whole-body segmentation, 256x256)",
        "input": {"name": "input_1", "shape": [1, SIDE, SIDE, 3], "layout": "NHWC", "dtype": "float32",
                  "range": [0.0, 1.0], "color": "RGB", "resize": "rotated-body-square"},
        "outputs": [
            {"name": "landmarks", "shape": [1, 195], "kind": "pose-landmarks"},
            {"name": "presence", "shape": [1, 1], "kind": "probability"},
            {"name": "segmentation", "shape": [1, SIDE, SIDE, 1], "kind": "logits"},
        ],
        "variants": [{"precision": "fp32", "file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size,
                      "devices": ["gpu", "cpu"], "cpu_ms": ms}],
        "source": {"package": "mediapipe", "version": MEDIAPIPE_VERSION, "file": TFLITE},
        "license": "Apache-2.0",
        "license_file": "LICENSES/mediapipe-Apache-2.0.txt",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-manifest", action="store_true")
    args = parser.parse_args()
    tflite_path = source_tflite(TFLITE, TFLITE_SHA256)
    data = convert(tflite_path).SerializeToString()
    path = MODELS_DIR / FILE
    if path.exists() and path.read_bytes() == data:
        print(f"{path.name}: unchanged")
    else:
        path.write_bytes(data)
        print(f"{path.name}: written ({len(data)} bytes)")
    diff = verify(tflite_path, path)
    print(f"{MODEL_ID}: max abs diff vs the TFLite interpreter: " + ", ".join(f"{k} {v:.3g}" for k, v in diff.items()))
    for name, value in diff.items():
        if value > MAX_ABS_DIFF[name]:
            raise SystemExit(f"{MODEL_ID}: {name} differ from TFLite by {value} > {MAX_ABS_DIFF[name]}")
    if args.no_manifest:
        return
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    old = next((m for m in manifest["models"] if m["id"] == MODEL_ID), None)
    if old is not None and old["variants"][0]["sha256"] == sha256(path):
        print("models/manifest.json kept: the body segmenter did not change")
        return
    entry = manifest_entry(path, cpu_ms(path, shape=(1, SIDE, SIDE, 3)))
    manifest["models"] = [m for m in manifest["models"] if m["id"] != MODEL_ID] + [entry]
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"models/manifest.json: {MODEL_ID} entry written")


if __name__ == "__main__":
    main()
