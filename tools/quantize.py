"""Reduced-precision variants of the bundled models, kept only behind an accuracy gate; writes the manifest.

Run from the repo root in the tools venv, after tools/build_models.py:

    .venvs/tools/bin/python tools/quantize.py [--runs 300]

For each model it builds candidates from models/*_fp32.onnx into .cache/build/quant/: FP16 weights
(onnxconverter-common, keep_io_types; for GPUs, so without the CPU-only channel-scale expansion), INT8 static
QDQ (u8 activations, s8 per-channel weights; MinMax and percentile calibration), 16-bit activations (QInt16
QDQ via onnxruntime's contrib Q/DQ ops), and INT8 with the most sensitive activations left in float (ranked
by how much quantizing each activation alone damages the FP32 model's masks on the calibration images).
Calibration and evaluation images are disjoint (tools/evalimages.py).

Gate, vs the FP32 ONNX model, mask IoU at threshold 0.5 at model size: mean >= 0.98 and worst >= 0.95.
CPU latency: 1 thread, spinning off, all candidates interleaved in one loop, median of --runs.
A passing variant ships unless another passing one is both smaller and faster (it would never be chosen).
Writes models/<variant>.onnx for shipped variants, removes stale ones, rewrites models/manifest.json, prints
the table and puts it in docs/models.md between the quantize-table markers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import graph_passes
from evalimages import augmented, calibration_set, evaluation_set
from modelspec import (
    CACHE,
    MANIFEST,
    MODELS,
    MODELS_DIR,
    ROOT,
    ModelDef,
    VariantResult,
    cpu_session,
    interleaved_latency_ms,
    manifest_entry,
    run_mask,
    write_manifest,
)

from desktop_app.core.resize import resize_corner_aligned

QUANT = CACHE / "quant"
DOC = ROOT / "docs" / "models.md"
GATE_MEAN, GATE_WORST = 0.98, 0.95
TABLE_START, TABLE_END = "<!-- quantize-table:start -->", "<!-- quantize-table:end -->"


@dataclass
class Candidate:
    name: str  # precision label, e.g. fp16, int8, int8-partial
    path: Path
    note: str
    iou: list[float] = field(default_factory=list)
    cpu_ms: float = 0.0
    error: str = ""

    @property
    def iou_mean(self) -> float:
        return float(np.mean(self.iou)) if self.iou else 0.0

    @property
    def iou_worst(self) -> float:
        return float(np.min(self.iou)) if self.iou else 0.0

    @property
    def passes(self) -> bool:
        return not self.error and self.iou_mean >= GATE_MEAN and self.iou_worst >= GATE_WORST


def at_model_size(images: dict[str, np.ndarray], model: ModelDef) -> dict[str, np.ndarray]:
    return {k: resize_corner_aligned(v, (model.width, model.height)) for k, v in images.items()}


class Reader(CalibrationDataReader):
    def __init__(self, images: list[np.ndarray], input_name: str) -> None:
        self._feeds = iter([{input_name: (img.astype(np.float32) / 255.0)[None]} for img in images])

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def preprocessed(src: Path) -> Path:
    """Where quant_pre_process (shape inference, folding) writes its copy of `src`."""
    return QUANT / f"{src.stem}_pre.onnx"


def make_fp16(src: Path, dst: Path) -> None:
    """FP16 weights for GPUs, without the CPU-only channel-scale expansion (a broadcast Mul is native there)."""
    from onnxconverter_common import float16

    model = onnx.load(str(src))
    graph_passes.collapse_channel_scales(model)
    model = float16.convert_float_to_float16(model, keep_io_types=True)
    onnx.save(model, str(dst))


def make_qdq(
    src: Path,
    dst: Path,
    calib: list[np.ndarray],
    activation: QuantType = QuantType.QUInt8,
    weight: QuantType = QuantType.QInt8,
    method: CalibrationMethod = CalibrationMethod.MinMax,
    exclude: list[str] | None = None,
    reader: CalibrationDataReader | None = None,
) -> None:
    """Static QDQ, per-channel weights. `calib`: NHWC uint8 images fed as RGB / 255 (the selfie models);
    `reader` (instead): ready feeds for a model that takes another input (tools/build_face_models.py)."""
    pre = preprocessed(src)
    if not pre.exists():
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    extra: dict = {}
    if {activation, weight} & {QuantType.QInt16, QuantType.QUInt16}:
        extra["UseQDQContribOps"] = True  # opset 17: 16-bit Q/DQ only as com.microsoft ops
    if method == CalibrationMethod.Percentile:
        extra["CalibPercentile"] = 99.99
    input_name = onnx.load(str(src)).graph.input[0].name
    quantize_static(
        str(pre),
        str(dst),
        reader if reader is not None else Reader(calib, input_name),
        quant_format=QuantFormat.QDQ,
        activation_type=activation,
        weight_type=weight,
        per_channel=True,
        calibrate_method=method,
        nodes_to_exclude=exclude or [],
        extra_options=extra,
    )


def _topological(nodes: list[onnx.NodeProto], available: set[str]) -> list[onnx.NodeProto]:
    ordered, pending = [], list(nodes)
    while pending:
        ready = next(n for n in pending if all(not x or x in available for x in n.input))
        ordered.append(ready)
        available |= set(ready.output)
        pending.remove(ready)
    return ordered


def activation_sensitivity(fp32: Path, qdq: Path, images: list[np.ndarray]) -> list[tuple[float, float, str]]:
    """(worst IoU, mean IoU, tensor) for every activation `qdq` quantizes, when that tensor alone is
    fake-quantized (its calibrated scale/zero point) in the FP32 graph: end to end, so a tensor whose small
    error the rest of the network amplifies ranks high. Most damaging first."""
    import onnxruntime as ort

    qmodel = onnx.load(str(qdq))
    inits = {i.name: i for i in qmodel.graph.initializer}
    params = {
        n.input[0]: (inits[n.input[1]], inits[n.input[2]])
        for n in qmodel.graph.node
        if n.op_type == "QuantizeLinear" and n.input[0] not in inits
    }
    base = onnx.load(str(fp32))
    input_name = base.graph.input[0].name
    produced = {o for n in base.graph.node for o in n.output} | {input_name}
    sources = {input_name} | {i.name for i in base.graph.initializer}
    ref_session = cpu_session(fp32)
    refs = [run_mask(ref_session, img) > 0.5 for img in images]
    ranked = []
    for tensor, (scale, zero) in params.items():
        if tensor not in produced:
            continue
        model = onnx.ModelProto()
        model.CopyFrom(base)
        for node in model.graph.node:
            for i, x in enumerate(node.input):
                if x == tensor:
                    node.input[i] = f"{tensor}__fq"
        s, z = onnx.numpy_helper.to_array(scale), onnx.numpy_helper.to_array(zero)
        model.graph.initializer.extend(
            [onnx.numpy_helper.from_array(s, "__fq_s"), onnx.numpy_helper.from_array(z, "__fq_z")]
        )
        nodes = [
            *model.graph.node,
            onnx.helper.make_node("QuantizeLinear", [tensor, "__fq_s", "__fq_z"], [f"{tensor}__q"]),
            onnx.helper.make_node("DequantizeLinear", [f"{tensor}__q", "__fq_s", "__fq_z"], [f"{tensor}__fq"]),
        ]
        del model.graph.node[:]
        model.graph.node.extend(_topological(nodes, sources | {"__fq_s", "__fq_z"}))
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        ious = [iou(run_mask(session, img) > 0.5, ref) for img, ref in zip(images, refs, strict=True)]
        ranked.append((float(np.min(ious)), float(np.mean(ious)), tensor))
    return sorted(ranked)


def nodes_touching(model_path: Path, tensors: list[str]) -> list[str]:
    """Names of the nodes producing or consuming `tensors`: excluding them keeps the tensors in float."""
    model = onnx.load(str(model_path))
    wanted = set(tensors)
    return [n.name for n in model.graph.node if wanted & (set(n.input) | set(n.output))]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def evaluate(candidate: Candidate, reference: dict[str, np.ndarray], images: dict[str, np.ndarray]) -> None:
    try:
        session = cpu_session(candidate.path)
        candidate.iou = [iou(run_mask(session, images[k]) > 0.5, reference[k] > 0.5) for k in images]
    except Exception as exc:  # a kernel onnxruntime's CPU provider lacks: recorded, not fatal
        candidate.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def build_candidates(
    model: ModelDef, fp32: Path, calib: list[np.ndarray], sens_images: list[np.ndarray], eval_imgs: dict, ref: dict
) -> list[Candidate]:
    stem = model.stem
    cands = [Candidate("fp32", fp32, "converted model, the reference")]
    jobs = [
        ("fp16", "FP16 weights, FP32 I/O", lambda d: make_fp16(fp32, d)),
        ("int8", "INT8 static QDQ, u8 act / s8 per-channel weights, MinMax", lambda d: make_qdq(fp32, d, calib)),
        (
            "int8-pct",
            "INT8 static QDQ, percentile 99.99 calibration",
            lambda d: make_qdq(fp32, d, calib, method=CalibrationMethod.Percentile),
        ),
        (
            "int16act",
            "16-bit activations (QInt16), s8 per-channel weights, contrib Q/DQ",
            lambda d: make_qdq(fp32, d, calib, activation=QuantType.QInt16),
        ),
        (
            "int16",
            "16-bit activations and weights (QInt16), contrib Q/DQ",
            lambda d: make_qdq(fp32, d, calib, activation=QuantType.QInt16, weight=QuantType.QInt16),
        ),
    ]
    for name, note, make in jobs:
        path = QUANT / f"{stem}_{name}.onnx"
        try:
            make(path)
            cands.append(Candidate(name, path, note))
        except Exception as exc:
            cands.append(Candidate(name, path, note, error=f"{type(exc).__name__}: {str(exc)[:120]}"))
    for c in cands:
        if not c.error:
            evaluate(c, ref, eval_imgs)
        print(f"  {c.name}: IoU {c.iou_mean:.4f} / {c.iou_worst:.4f} {c.error}")

    # INT8 with the most damaged activations kept in float: grow the float set until the gate passes.
    int8 = QUANT / f"{stem}_int8.onnx"
    sens = activation_sensitivity(fp32, int8, sens_images)
    ranked = [n for _, _, n in sens]
    print(f"{model.id}: {len(ranked)} quantized activations; most damaging alone (worst/mean IoU):")
    print("   ", ", ".join(f"{n} {w:.3f}/{m:.3f}" for w, m, n in sens[:8]))
    pre = preprocessed(fp32)
    best = None
    for k in (4, 8, 16, 32, 64):
        path = QUANT / f"{stem}_int8-partial{k}.onnx"
        make_qdq(fp32, path, calib, exclude=nodes_touching(pre, ranked[:k]))
        cand = Candidate(f"int8-partial{k}", path, f"INT8 QDQ, the {k} most damaging activations kept float")
        evaluate(cand, ref, eval_imgs)
        print(f"  {cand.name}: IoU {cand.iou_mean:.4f} / {cand.iou_worst:.4f}")
        best = cand
        if cand.passes:
            break
    if best is not None:
        cands.append(best)
    return cands


def shipped(cands: list[Candidate]) -> list[Candidate]:
    """Passing variants not dominated (larger and slower) by another passing variant."""
    ok = [c for c in cands if c.passes]
    size = {c.name: c.path.stat().st_size for c in ok}
    return [
        c
        for c in ok
        if not any(size[o.name] <= size[c.name] and o.cpu_ms < c.cpu_ms and o is not c for o in ok)
        or c.name in {"fp32", "fp16"}
    ]


def table(rows: list[tuple[ModelDef, list[Candidate], list[Candidate]]]) -> str:
    lines = [
        "| model | variant | what | size KB | CPU ms (1 thr) | IoU mean | IoU worst | shipped |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model, cands, ship in rows:
        for c in cands:
            if c.error:
                verdict = f"no: {c.error}"
                lines.append(f"| {model.id} | {c.name} | {c.note} | | | | | {verdict} |")
                continue
            if c in ship:
                verdict = "yes"
            elif c.passes:
                verdict = "no: passes, but another passing variant is smaller and faster"
            else:
                verdict = "no: fails the gate"
            kb = c.path.stat().st_size / 1024
            lines.append(
                f"| {model.id} | {c.name} | {c.note} | {kb:.0f} | {c.cpu_ms:.2f} | {c.iou_mean:.4f} | "
                f"{c.iou_worst:.4f} | {verdict} |"
            )
    return "\n".join(lines)


def update_doc(text: str) -> None:
    if not DOC.exists():
        return
    doc = DOC.read_text()
    if TABLE_START in doc and TABLE_END in doc:
        head, rest = doc.split(TABLE_START, 1)
        _, tail = rest.split(TABLE_END, 1)
        DOC.write_text(f"{head}{TABLE_START}\n{text}\n{TABLE_END}{tail}")


def retime(runs: int) -> None:
    """Re-measure cpu_ms of every listed variant, side by side per model, without rebuilding anything."""
    data = json.loads(MANIFEST.read_text())
    for entry in data["models"]:
        if entry.get("kind") == "face-detection":
            continue  # NCHW / dynamic inputs: tools/build_face_models.py and bench/bench_face_models.py time them
        _, h, w, _ = entry["input"]["shape"]
        paths = {v["precision"]: MODELS_DIR / v["file"] for v in entry["variants"]}
        ms = interleaved_latency_ms(paths, (h, w), runs=runs)
        for v in entry["variants"]:
            v["cpu_ms"] = round(ms[v["precision"]], 3)
        print(entry["id"], {k: round(t, 3) for k, t in ms.items()})
    write_manifest(data["models"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--timing-only", action="store_true", help="re-time the manifest's variants (interleaved) and update cpu_ms"
    )
    args = parser.parse_args()
    if args.timing_only:
        retime(args.runs)
        return
    QUANT.mkdir(parents=True, exist_ok=True)
    from make_assets import astronaut_cutout

    _, alpha = astronaut_cutout()
    eval_full = evaluation_set(alpha)
    calib_plain = calibration_set()
    calib_full = augmented(calib_plain)
    print(
        f"evaluation images: {len(eval_full)}; calibration: {len(calib_plain)} images, "
        f"{len(calib_full)} with augmentation (disjoint from evaluation)"
    )
    rows = []
    entries = []
    results = {}
    for model in MODELS:
        fp32 = MODELS_DIR / model.file("fp32")
        eval_imgs = at_model_size(eval_full, model)
        calib = list(at_model_size(calib_full, model).values())
        sens_images = list(at_model_size(calib_plain, model).values())
        ref_session = cpu_session(fp32)
        ref = {k: run_mask(ref_session, v) for k, v in eval_imgs.items()}
        cands = build_candidates(model, fp32, calib, sens_images, eval_imgs, ref)
        runnable = {c.name: c.path for c in cands if not c.error}
        ms = interleaved_latency_ms(runnable, (model.height, model.width), runs=args.runs)
        for c in cands:
            c.cpu_ms = ms.get(c.name, 0.0)
        ship = shipped(cands)
        rows.append((model, cands, ship))
        # GPU: FP16 first if it ships (half the bytes to move, native on GPUs), else FP32. CPU: every variant.
        order = sorted(ship, key=lambda c: {"fp16": 0, "fp32": 1}.get(c.name, 2))
        variants = []
        for i, c in enumerate(order):
            devices = ["gpu", "cpu"] if c.name in {"fp16", "fp32"} else ["cpu"]
            if i > 0 and "gpu" in devices and c.name != "fp32":
                devices = ["cpu"]
            file = model.file(c.name.replace("-", "_"))
            if c.path != MODELS_DIR / file:
                shutil.copyfile(c.path, MODELS_DIR / file)
            variants.append(VariantResult(c.name, file, devices, c.cpu_ms, c.iou_mean, c.iou_worst))
        keep = {v.file for v in variants}
        for stale in MODELS_DIR.glob(f"{model.stem}_*.onnx"):
            if stale.name not in keep:
                stale.unlink()
        entries.append(manifest_entry(model, variants))
        results[model.id] = [
            {
                "variant": c.name,
                "note": c.note,
                "bytes": c.path.stat().st_size if c.path.exists() else 0,
                "cpu_ms": c.cpu_ms,
                "iou_mean": c.iou_mean,
                "iou_worst": c.iou_worst,
                "error": c.error,
                "passes": c.passes,
                "shipped": c in ship,
                "iou": dict(zip(eval_imgs, c.iou, strict=False)),
            }
            for c in cands
        ]
    write_manifest(entries)
    (CACHE / "quantize_results.json").write_text(json.dumps(results, indent=2))
    text = table(rows)
    print(text)
    update_doc(text)


if __name__ == "__main__":
    main()
