"""Face detector benchmark: the bundled face models side by side in one run (after tools/build_face_models.py).

1. Speed, 1 onnxruntime thread, all models interleaved in one loop (medians): CenterFace FP32 (the gate's
   reference, in .cache/build/quant) vs the shipped INT8, at 1280x736 (a 720p frame at full size) and 640x384
   (720p halved), and MediaPipe short range (128) and full range (192); plus end to end per 720p frame through
   the app's adapters (resize/letterbox + model + decoding + NMS).
2. Recall at webcam distances: 1280x720 frames with one face 6%-60% of the frame tall (tools/faceimages.py
   webcam_frames, held-out people P006-P010, studio portraits and amateur selfies).
3. Recall on small faces (photos): the held-out photos shrunk into 1280x720 scenes, faces of ~10-80 px.
Truth: CenterFace FP32's faces (score > 0.5) on the photo at 1280 px, carried through the known scale and paste.
A face counts as found when a detection's centre lies in its truth box and the two boxes' heights are within a
factor 2 (the models draw boxes differently: MediaPipe's is tighter). Run in the tools venv:

    .venvs/tools/bin/python bench/bench_face_models.py [--runs 40] [--json bench/results/face_models.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tools")]

from faceimages import HELD_OUT, people_photos, scaled, webcam_frames  # noqa: E402
from facemodels import centerface_detect, cpu_session, interleaved_ms  # noqa: E402

from desktop_app.core import models  # noqa: E402
from desktop_app.core.adapters import adapter_for  # noqa: E402
from desktop_app.core.engine import InferenceEngine  # noqa: E402

FP32 = REPO / ".cache" / "build" / "quant" / "centerface_fp32.onnx"


def found(truth: tuple[float, float, float, float], faces: list, w: int, h: int) -> bool:
    x0, y0, x1, y1 = truth
    for f in faces:
        fx0, fy0, fx1, fy1 = f.box[0] * w, f.box[1] * h, f.box[2] * w, f.box[3] * h
        cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
        ratio = (fy1 - fy0) / max(y1 - y0, 1e-6)
        if x0 <= cx <= x1 and y0 <= cy <= y1 and 0.5 <= ratio <= 2.0:
            return True
    return False


class App:
    """A bundled face model as the app runs it: manifest spec, CPU variant, engine (1 thread), adapter."""

    def __init__(self, model_id: str, max_side: int | None = None, precision: str | None = None) -> None:
        spec = models.load_manifest().get(model_id)
        variant = next(v for v in spec.variants if v.precision == precision) if precision else \
            models.choose_variant(spec, gpu=False)
        self.engine = InferenceEngine(variant.path, "cpu", 1)
        self.adapter = adapter_for(spec, self.engine.input_meta)
        if max_side:
            self.adapter.max_side = max_side  # type: ignore[attr-defined]

    def __call__(self, rgb: np.ndarray) -> list:
        return self.adapter.postprocess(self.engine.run(self.adapter.preprocess(rgb)))


def truth_faces(photos: dict[str, np.ndarray]) -> dict[str, list[tuple[float, float, float, float]]]:
    session = cpu_session(FP32)
    out = {}
    for name, rgb in photos.items():
        h, w = rgb.shape[:2]
        out[name] = [(f.box[0] * w, f.box[1] * h, f.box[2] * w, f.box[3] * h)
                     for f in centerface_detect(session, rgb, 1280, 0.5)]
    return out


def small_face_scenes(photos, truths, shrink=(3, 5, 8)):
    """(name, 1280x720 frame, truth boxes) per photo and shrink factor: the photo shrunk, centred on grey."""
    scenes = []
    for name, rgb in photos.items():
        for k in shrink:
            small = scaled(rgb, max(rgb.shape[:2]) // k)
            s = small.shape[1] / rgb.shape[1]
            frame = np.full((720, 1280, 3), 118, np.uint8)
            h, w = small.shape[:2]
            y, x = (720 - h) // 2, (1280 - w) // 2
            frame[y : y + h, x : x + w] = small
            boxes = [(a * s + x, b * s + y, c * s + x, d * s + y) for a, b, c, d in truths[name]]
            scenes.append((f"{name}/{k}", frame, boxes))
    return scenes


def recall(detectors: dict, cases: list, bucket_of) -> dict:
    table: dict[str, dict[str, list[int]]] = {k: {} for k in detectors}
    for _, frame, boxes in cases:
        h, w = frame.shape[:2]
        for key, detect in detectors.items():
            faces = detect(frame)
            for box in boxes:
                cell = table[key].setdefault(bucket_of(box), [0, 0])
                cell[0] += found(box, faces, w, h)
                cell[1] += 1
    return {k: {b: {"found": f, "faces": n, "recall": round(f / n, 3)} for b, (f, n) in sorted(v.items())}
            for k, v in table.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "face_models.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    manifest = models.load_manifest()
    cf = manifest.get("face-centerface")
    int8 = models.choose_variant(cf, gpu=False)
    mp = {m.id: models.choose_variant(m, gpu=False).path for m in manifest.of_kind(models.FACE_DETECTION)
          if m.decoder is not None and m.decoder.type == "ssd"}
    result: dict = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                                "threads": 1}, "files": {}}
    for spec in manifest.of_kind(models.FACE_DETECTION):
        for v in spec.variants:
            result["files"][v.file] = v.bytes
    # 1. model-only speed, interleaved
    speed = {}
    for size in ((1280, 736), (640, 384)):
        ms = interleaved_ms({"fp32": FP32, int8.precision: int8.path}, size, args.runs)
        speed[f"centerface {size[0]}x{size[1]}"] = {k: round(v, 2) for k, v in ms.items()} | {
            "int8_speedup": round(ms["fp32"] / ms[int8.precision], 2)}
    for model_id, path in mp.items():
        side = manifest.get(model_id).input.size[0]
        speed[model_id] = {"fp32": round(interleaved_ms({"fp32": path}, side, args.runs, nhwc=True)["fp32"], 2)}
    result["model_ms"] = speed
    # end to end at 720p through the app's adapters, interleaved
    photos = people_photos(HELD_OUT, 1280)
    frame = cv2.resize(photos["P006-amateur_selfie"], (1280, 720))
    apps = {"centerface-int8@1280": App("face-centerface", 1280), "centerface-int8@640": App("face-centerface", 640),
            f"centerface-{cf.variants[0].precision}@640": App("face-centerface", 640, cf.variants[0].precision)}
    apps.update({f"{k}": App(k) for k in mp})
    times: dict[str, list[float]] = {k: [] for k in apps}
    for _ in range(3):
        for a in apps.values():
            a(frame)
    for _ in range(max(args.runs // 2, 5)):
        for k, a in apps.items():
            t0 = time.perf_counter()
            a(frame)
            times[k].append((time.perf_counter() - t0) * 1000)
    result["end_to_end_720p_ms"] = {k: round(float(np.median(v)), 2) for k, v in times.items()}
    # 2. webcam distances
    portraits = {k: v for k, v in photos.items() if k.endswith(("studio_portrait", "amateur_selfie"))}
    truths = truth_faces(photos)
    singles = {k: (v, truths[k][0]) for k, v in portraits.items() if len(truths[k]) == 1}
    frames = webcam_frames(singles)
    cases = [(n, f, [b]) for n, f, b in frames]
    detectors = {k: apps[k] for k in ("centerface-int8@640", "centerface-int8@1280", *mp)}
    result["webcam_recall"] = recall(detectors, cases, lambda b: f"face {round((b[3] - b[1]) / 720, 2):.2f} of 720")
    result["webcam_faces"] = len(cases)
    # 3. small faces in photos
    scenes = small_face_scenes(photos, truths)

    def size_bucket(b) -> str:
        px = b[3] - b[1]
        return next(f"<{t} px" for t in (20, 30, 45, 70, 120, 10_000) if px < t)

    result["small_face_recall"] = recall(detectors, scenes, size_bucket)
    result["small_face_scenes"] = len(scenes)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
