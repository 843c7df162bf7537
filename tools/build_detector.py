"""Reproduce models/pose_detection_fp32.onnx (the bundled person detector) and its manifest entry.

One command, from the repo root, with any Python 3.11:

    python3.11 tools/build_detector.py

Like tools/build_models.py it re-runs itself in the tools venv `.venvs/tools` (created from
tools/requirements-tools.txt if needed; any venv with those packages works too, e.g.
`.venv-tools/bin/python tools/build_detector.py`), then:
1. takes mediapipe/modules/pose_detection/pose_detection.tflite (224x224 SSD person detector, Apache-2.0) from
   the mediapipe==0.10.14 wheel: from `.venvs/mediapipe` when it holds it, else `pip download --no-deps`
   (never a model hub); fails if its sha256 is not the one this script was written for;
2. densifies its weights: 38 of its fp16 kernels are stored sparse (CSR on the last axis) behind TFLite
   `DENSIFY` ops, which tf2onnx cannot read; they are expanded into plain constants and the ops dropped (the
   densified .tflite gives bit-identical outputs in the TFLite interpreter, checked), then
   converts it with tf2onnx (`--tflite --opset 17`); fails if any `TFL_*` node is left (this model has no
   custom ops), renames tensors canonically (input `input_1`, outputs `boxes` (1, 2254, 12) and `scores`
   (1, 2254, 1)) so re-running writes byte-identical files, stores the weights as fp16 again (exact: they are
   fp16 in the .tflite) behind Casts to float32, runs onnx.checker (full_check);
3. compares the ONNX outputs with the stock TFLite interpreter (tensorflow's, which runs this model) on a few
   images letterboxed to 224x224 in [-1, 1]: prints the max abs diff and fails above MAX_ABS_DIFF;
4. writes/updates the `pose-detection` entry (kind `person-detection`) in models/manifest.json, leaving the
   other entries as they are.

Options: --no-manifest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
MEDIAPIPE_SITE = ROOT / ".venvs" / "mediapipe" / "lib" / "python3.11" / "site-packages"
TFLITE = "mediapipe/modules/pose_detection/pose_detection.tflite"
TFLITE_SHA256 = "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
MODEL_ID = "pose-detection"
FILE = "pose_detection_fp32.onnx"
# Float rounding only: the raw box regressors are in input pixels (values up to ~250), the scores are logits.
MAX_ABS_DIFF = {"boxes": 5e-3, "scores": 1e-3}


from toolsvenv import ensure_tools_venv  # noqa: E402

if __name__ == "__main__":
    ensure_tools_venv(__file__, "tf2onnx")

import numpy as np  # noqa: E402

sys.path.insert(0, str(TOOLS))
from modelspec import CACHE, MANIFEST, MEDIAPIPE_VERSION, MODELS_DIR, sha256  # noqa: E402


def source_tflite(tflite: str = TFLITE, expected: str = TFLITE_SHA256) -> Path:
    """`tflite` (a path in the mediapipe wheel; pose_detection.tflite by default) in the cache: from the MediaPipe
    venv, else from the wheel (pip download); fails unless its sha256 is `expected`."""
    CACHE.mkdir(parents=True, exist_ok=True)
    local = CACHE / Path(tflite).name
    venv_copy = MEDIAPIPE_SITE / tflite
    if venv_copy.is_file():
        local.write_bytes(venv_copy.read_bytes())
    else:
        pattern = f"mediapipe-{MEDIAPIPE_VERSION}-cp311-*.whl"
        if not sorted(CACHE.glob(pattern)):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "--python-version", "3.11", f"mediapipe=={MEDIAPIPE_VERSION}", "-d", str(CACHE)],
                           check=True)
        with zipfile.ZipFile(sorted(CACHE.glob(pattern))[0]) as z:
            local.write_bytes(z.read(tflite))
    if sha256(local) != expected:
        raise SystemExit(f"{tflite} is not the file this script was written for (sha256 {sha256(local)})")
    return local


def densify(tflite_path: Path) -> Path:
    """A copy of the model with every DENSIFY op's sparse constant expanded into a dense buffer."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(tflite_path))
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    kept = []
    for op in graph.operators:
        if codes[op.opcodeIndex] != schema.BuiltinOperator.DENSIFY:
            kept.append(op)
            continue
        src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        dims, shape = src.sparsity.dimMetadata, [int(d) for d in src.shape]
        dense_dims = all(d.format == schema.DimensionType.DENSE for d in dims[:-1])
        if (list(src.sparsity.traversalOrder) != list(range(len(shape))) or src.sparsity.blockMap is not None
                or not dense_dims or dims[-1].format != schema.DimensionType.SPARSE_CSR):
            raise SystemExit(f"{dst.name}: a sparsity layout this script does not handle")
        values = np.frombuffer(bytes(model.buffers[src.buffer].data), {1: np.float16, 0: np.float32}[src.type])
        segments = np.asarray(dims[-1].arraySegments.values, np.int64)
        indices = np.asarray(dims[-1].arrayIndices.values, np.int64)
        rows = int(np.prod(shape[:-1]))
        if len(segments) != rows + 1 or segments[-1] != len(values) or len(indices) != len(values):
            raise SystemExit(f"{dst.name}: inconsistent sparse tensor")
        dense = np.zeros((rows, shape[-1]), values.dtype)
        dense[np.repeat(np.arange(rows), np.diff(segments)), indices] = values
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(dense.tobytes(), np.uint8)
        model.buffers.append(buffer)
        dst.buffer, src.buffer, src.sparsity = len(model.buffers) - 1, 0, None
    graph.operators = kept
    out = CACHE / "pose_detection_dense.tflite"
    flatbuffer_utils.write_model(model, str(out))
    print(f"{MODEL_ID}: {len(model.subgraphs[0].operators)} ops after densifying")
    return out


def canonicalize(model) -> None:
    """Rename tensors and nodes by order of appearance; name the outputs `boxes` and `scores`."""
    by_shape = {tuple(d.dim_value for d in o.type.tensor_type.shape.dim): o for o in model.graph.output}
    finals = {by_shape[(1, 2254, 12)].name: "boxes", by_shape[(1, 2254, 1)].name: "scores"}
    rename_canonically(model, finals, "pose_detection")


def rename_canonically(model, finals: dict[str, str], name: str) -> None:
    """Tensors renamed t0, t1, ... and weights w0, w1, ... by order of appearance, nodes `<op>_<k>`, the outputs
    named by `finals` (old name -> new) and sorted by it: a re-run of a conversion writes the same bytes."""
    graph = model.graph
    keep = {i.name for i in graph.input}
    init_names = {i.name for i in graph.initializer}
    rename: dict[str, str] = {}
    counter = {"t": 0, "w": 0}

    def canon(name: str) -> str:
        if not name or name in keep:
            return name
        if name in finals:
            return finals[name]
        if name not in rename:
            kind = "w" if name in init_names else "t"
            rename[name] = f"{kind}{counter[kind]}"
            counter[kind] += 1
        return rename[name]

    for k, node in enumerate(graph.node):
        ins, outs = [canon(n) for n in node.input], [canon(n) for n in node.output]
        del node.input[:], node.output[:]
        node.input.extend(ins)
        node.output.extend(outs)
        node.name = f"{node.op_type}_{k}"
    for out in graph.output:
        out.name = finals[out.name]
    outputs = sorted(graph.output, key=lambda o: o.name)
    del graph.output[:]
    graph.output.extend(outputs)
    inits = sorted(graph.initializer, key=lambda t: int(rename[t.name][1:]))
    for t in inits:
        t.name = rename[t.name]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    vis = [v for v in graph.value_info if v.name in rename]
    for v in vis:
        v.name = rename[v.name]
    del graph.value_info[:]
    graph.value_info.extend(sorted(vis, key=lambda v: (v.name[0], int(v.name[1:]))))
    graph.name = name
    model.doc_string = ""


def convert(tflite_path: Path):
    import onnx

    raw = CACHE / "pose_detection_tf2onnx.onnx"
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(densify(tflite_path)), "--opset", "17",
                    "--output", str(raw)], check=True, capture_output=True)
    model = onnx.load(str(raw))
    leftover = sorted({n.op_type for n in model.graph.node if n.op_type.startswith("TFL_")})
    if leftover:
        raise SystemExit(f"unconverted TFLite ops remain: {leftover}")
    canonicalize(model)
    stored = store_fp16(model)
    onnx.checker.check_model(model, full_check=True)
    print(f"{MODEL_ID}: {len(model.graph.node)} nodes, no TFL_* ops left, {stored} weights stored as fp16")
    return model


def store_fp16(model) -> int:  # model: onnx.ModelProto
    """Store each float32 weight that fp16 holds exactly (all of them: the .tflite keeps its kernels in fp16)
    as fp16 with a Cast to float32 in front: half the file, the same values (onnxruntime folds the Casts)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    casts = []
    for init in graph.initializer:
        values = numpy_helper.to_array(init)
        if values.dtype != np.float32 or values.size < 64:
            continue
        if not np.array_equal(values.astype(np.float16).astype(np.float32), values):
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}_fp16"))
        casts.append(helper.make_node("Cast", [f"{name}_fp16"], [name], name=f"Cast_{name}", to=TensorProto.FLOAT))
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    return len(casts)


def verify_inputs() -> list[np.ndarray]:
    """(1, 224, 224, 3) float32 inputs in [-1, 1]: scikit-image photos letterboxed, and seeded noise."""
    from skimage import data

    sys.path.insert(0, str(ROOT))
    from desktop_app.core.detection import letterbox

    photos = [data.astronaut(), data.coffee(), data.chelsea(), np.dstack([data.camera()] * 3)]
    boxed = [letterbox(p, (224, 224))[0] for p in photos]
    boxed.append(np.random.default_rng(7).integers(0, 256, (224, 224, 3), dtype=np.uint8))
    return [(b.astype(np.float32) / 127.5 - 1.0)[None] for b in boxed]


def verify(tflite_path: Path, onnx_path: Path) -> dict[str, float]:
    """Max abs diff of each output between the TFLite interpreter (the original file) and onnxruntime."""
    import onnxruntime as ort
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite_path))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    outs = {tuple(o["shape"]): o["index"] for o in interp.get_output_details()}
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = {"boxes": 0.0, "scores": 0.0}
    for x in verify_inputs():
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        theirs = [interp.get_tensor(outs[(1, 2254, 12)]), interp.get_tensor(outs[(1, 2254, 1)])]
        ours = session.run(["boxes", "scores"], {"input_1": x})
        for name, a, b in zip(("boxes", "scores"), theirs, ours, strict=True):
            worst[name] = max(worst[name], float(np.abs(a - b).max()))
    return worst


def manifest_entry(path: Path, cpu_ms: float) -> dict:
    return {
        "id": MODEL_ID,
        "kind": "person-detection",
        "title": "MediaPipe Pose Detection (person detector, 224x224)",
        "input": {"name": "input_1", "shape": [1, 224, 224, 3], "layout": "NHWC", "dtype": "float32",
                  "range": [-1.0, 1.0], "color": "RGB", "resize": "letterbox"},
        "outputs": [
            {"name": "boxes", "shape": [1, 2254, 12], "kind": "ssd-boxes"},
            {"name": "scores", "shape": [1, 2254, 1], "kind": "logits"},
        ],
        "variants": [{"precision": "fp32", "file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size,
                      "devices": ["gpu", "cpu"], "cpu_ms": cpu_ms}],
        "source": {"package": "mediapipe", "version": MEDIAPIPE_VERSION, "file": TFLITE},
        "license": "Apache-2.0",
        "license_file": "LICENSES/mediapipe-Apache-2.0.txt",
    }


def cpu_ms(path: Path, runs: int = 50, shape: tuple[int, ...] = (1, 224, 224, 3)) -> float:
    import statistics
    import time

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.zeros(shape, np.float32)
    session.run(None, {"input_1": x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"input_1": x})
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-manifest", action="store_true")
    args = parser.parse_args()
    tflite_path = source_tflite()
    data = convert(tflite_path).SerializeToString()
    path = MODELS_DIR / FILE
    if path.exists() and path.read_bytes() == data:
        print(f"{path.name}: unchanged")
    else:
        path.write_bytes(data)
        print(f"{path.name}: written ({len(data)} bytes)")
    diff = verify(tflite_path, path)
    print(f"{MODEL_ID}: max abs diff vs the TFLite interpreter: boxes {diff['boxes']:.3g} px, "
          f"score logits {diff['scores']:.3g}")
    for name, value in diff.items():
        if value > MAX_ABS_DIFF[name]:
            raise SystemExit(f"{MODEL_ID}: {name} differ from TFLite by {value} > {MAX_ABS_DIFF[name]}")
    if args.no_manifest:
        return
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    old = next((m for m in manifest["models"] if m["id"] == MODEL_ID), None)
    if old is not None and old["variants"][0]["sha256"] == sha256(path):
        print("models/manifest.json kept: the detector did not change")
        return
    entry = manifest_entry(path, cpu_ms(path))
    manifest["models"] = [m for m in manifest["models"] if m["id"] != MODEL_ID] + [entry]
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print("models/manifest.json: pose-detection entry written")


if __name__ == "__main__":
    main()
