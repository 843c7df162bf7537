"""What tools/build_face_models.py builds and bench/bench_face_models.py measures: the face detectors, canonical
tensor names, how each
is run (the app's decoding: desktop_app/core/faces/decode.py), detection matching and interleaved latency."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop_app.core.detection import AnchorOptions, DecodeOptions, Detection, iou, letterbox, ssd_anchors
from desktop_app.core.faces import decode as fd

CENTERFACE_OUTPUTS = ("heatmap", "scale", "offset", "landmarks")


def canonicalize(model, input_name: str, finals: dict[str, str], graph_name: str) -> None:
    """Rename the input, the outputs (`finals`: old -> new) and every other tensor/node by order of appearance
    (t0.., w0..), so re-running writes byte-identical files; outputs sorted by the order of `finals`."""
    graph = model.graph
    old_input = graph.input[0].name
    init_names = {i.name for i in graph.initializer}
    rename: dict[str, str] = {old_input: input_name, **finals}
    counter = {"t": 0, "w": 0}

    def canon(name: str) -> str:
        if not name:
            return name
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
    graph.input[0].name = input_name
    order = list(finals.values())
    for out in graph.output:
        out.name = rename[out.name]
    outputs = sorted(graph.output, key=lambda o: order.index(o.name))
    del graph.output[:]
    graph.output.extend(outputs)
    inits = [i for i in graph.initializer if i.name in rename]
    for t in inits:
        t.name = rename[t.name]
    inits.sort(key=lambda t: int(t.name[1:]))
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]
    graph.name = graph_name
    graph.doc_string = model.doc_string = ""  # tf2onnx writes the source's absolute path here
    model.producer_name, model.producer_version = "locallens-build_face_models", "1"


@dataclass(frozen=True)
class MPModel:
    id: str
    title: str
    member: str  # path inside the mediapipe wheel
    sha256: str
    stem: str
    size: int  # square input side
    anchors: int
    anchor_options: AnchorOptions
    decode: DecodeOptions

    @property
    def file(self) -> str:
        return f"{self.stem}_fp32.onnx"


MP_MODELS = (
    MPModel("face-short-range", "MediaPipe Face Detection (short range, 128x128)",
            "mediapipe/modules/face_detection/face_detection_short_range.tflite",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8", "face_short_range", 128, 896,
            fd.SHORT_RANGE_ANCHORS, fd.SHORT_RANGE_DECODE),
    MPModel("face-full-range", "MediaPipe Face Detection (full range, 192x192)",
            "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
            "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1", "face_full_range", 192, 2304,
            fd.FULL_RANGE_ANCHORS, fd.FULL_RANGE_DECODE),
)


def cpu_session(path: Path, threads: int = 1):
    """An onnxruntime CPU session as the app runs it: `threads` intra-op threads, spinning off."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def centerface_detect(session, rgb: np.ndarray, max_side: int, threshold: float = 0.5) -> list[Detection]:
    """Faces (normalized frame coordinates) found by a CenterFace session on `rgb` shrunk to `max_side`."""
    img, pad = fd.fit_padded(rgb, max_side)
    x = img.transpose(2, 0, 1)[None].astype(np.float32)
    heat, scale, offset, marks = session.run(list(CENTERFACE_OUTPUTS), {"input": x})
    found = fd.centerface_decode(heat, scale, offset, marks, (img.shape[1], img.shape[0]), threshold)
    return fd.to_frame(fd.suppress(found, 0.3, weighted=False), pad)


_ANCHORS: dict[str, np.ndarray] = {}


def mediapipe_detect(session, rgb: np.ndarray, spec: MPModel, threshold: float | None = None) -> list[Detection]:
    """Faces found by a MediaPipe face detector session (letterboxed input in [-1, 1], weighted NMS)."""
    if spec.id not in _ANCHORS:
        _ANCHORS[spec.id] = ssd_anchors(spec.anchor_options)
    boxed, pad = letterbox(rgb, (spec.size, spec.size))
    x = (boxed.astype(np.float32) / 127.5 - 1.0)[None]
    raw_boxes, raw_scores = session.run(["boxes", "scores"], {"input": x})
    opts = spec.decode if threshold is None else DecodeOptions(
        spec.decode.num_keypoints, spec.decode.scale, spec.decode.score_clip, threshold, spec.decode.nms_iou)
    found = fd.ssd_decode(raw_boxes, raw_scores, _ANCHORS[spec.id], opts)
    return fd.to_frame(fd.suppress(found, opts.nms_iou, weighted=True), pad)


def match_counts(ref: list, got: list, threshold: float = 0.5) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of boxes `got` vs `ref`: greedy one-to-one matching
    by IoU (highest first), a pair counts at IoU >= `threshold`."""
    if not ref or not got:
        return 0, len(got), len(ref)
    r, g = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    ious = np.stack([iou(box, g) for box in r])  # (R, G)
    tp = 0
    while ious.size and ious.max() >= threshold:
        i, j = np.unravel_index(int(np.argmax(ious)), ious.shape)
        tp += 1
        ious[i, :] = -1
        ious[:, j] = -1
    return tp, len(got) - tp, len(ref) - tp


def interleaved_ms(paths: dict[str, Path], size: tuple[int, int] | int, runs: int = 40, nhwc: bool = False,
                   threads: int = 1) -> dict[str, float]:
    """Median latency per model (ms) on one input of `size` (width, height), all models round-robin in one loop
    so machine noise hits all alike. NCHW 0-255 input unless `nhwc` (MediaPipe, [-1, 1])."""
    w, h = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(0)
    x = (rng.random((1, h, w, 3), dtype=np.float32) * 2 - 1) if nhwc else rng.random((1, 3, h, w),
                                                                                     dtype=np.float32) * 255
    sessions = {k: cpu_session(p, threads) for k, p in paths.items()}
    feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
    for k, s in sessions.items():
        for _ in range(3):
            s.run(None, feeds[k])
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(runs):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[k])
            times[k].append((time.perf_counter() - t0) * 1000.0)
    return {k: statistics.median(v) for k, v in times.items()}
