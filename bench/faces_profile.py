"""Where each side's time goes (bench/bench_faces_vs_deface.py), and each side's boxes for the agreement.

deface: bench/deface_worker.py in .venvs/deface (its own functions, timed one by one). Ours, in this process: the
process start (`locallens --version`), the CLI's model loads (segmenter + verification of every model file it may
need, the face detector), and per photo / video frame: decode, detect (FaceDetector: CenterFace INT8 at the
photo's full size), blur (the faces stage when the pipeline has one, else bench/faces_core_cli.py's box blur),
encode (JPEG for photos, H.264 for the video). Medians in ms.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFACE_PY = REPO / ".venvs" / "deface" / "bin" / "python"
LOCALLENS = Path(sys.executable).parent / "locallens"


def image_size(path: Path) -> list[int]:
    from PIL import Image

    with Image.open(path) as im:
        return list(im.size)


def strip_boxes(side: dict) -> dict:
    """`side` without the boxes (kept for the agreement, too long for the JSON)."""
    out = {k: v for k, v in side.items() if k not in ("photos", "video")}
    out["photos_ms"] = {n: p["ms"] for n, p in side["photos"].items()}
    out["video"] = {k: v for k, v in side["video"].items() if k != "boxes"}
    return out


def start_s(cmd: list[str], n: int = 3) -> float:
    """Median wall seconds of a command (a process start, imports and exit)."""
    values = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        values.append(time.perf_counter() - t0)
    return round(statistics.median(values), 3)


def deface_steps(photos: list[Path], video: Path, threshold: float, stride: int) -> dict:
    out = subprocess.run([str(DEFACE_PY), str(REPO / "bench" / "deface_worker.py"), "--threshold", str(threshold),
                          "--stride", str(stride), "--video", str(video), *map(str, photos)],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    result["process_start_s"] = start_s([str(DEFACE_PY.parent / "deface"), "--version"])
    return result


def _faces_pipeline(threshold: float):
    """A Pipeline with the faces stage (effect none, faces blur), or None while the core has no faces stage."""
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline
    from desktop_app.core.segmenter import Segmenter

    try:
        params = EffectParams(effect="none", faces="blur", face_threshold=threshold)
        pipe = Pipeline(Segmenter("auto", device="cpu"), params, temporal=True, live=False)
    except (TypeError, ValueError):
        return None
    return pipe if len(pipe.stages) > 1 else None


def _blur(pipe, rgb: np.ndarray, faces: list, threshold: float) -> tuple[np.ndarray, dict]:
    """(blurred frame, the stage timings) by the faces stage, or the stand-in's box blur."""
    if pipe is None:
        from faces_core_cli import blur_boxes

        return blur_boxes(rgb.copy(), faces, 0.2), {}
    from desktop_app.core.frames import Frame

    result = pipe.process(Frame(rgb, time.perf_counter(), 0, "bench"), still=False)
    return result.pixels, dict(result.timings)


def ours_steps(photos: list[Path], video: Path, threshold: float, stride: int) -> dict:
    import cv2

    from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector
    from desktop_app.core.imageio import read_image, write_image
    from desktop_app.core.segmenter import Segmenter
    from desktop_app.core.video_read import VideoReader
    from desktop_app.core.video_write import VideoWriter

    cv2.setNumThreads(1)
    result: dict = {"process_start_s": start_s([str(LOCALLENS), "--version"])}
    t0 = time.perf_counter()
    Segmenter("auto", device="auto").verify_all(detector=True)  # what `process` loads and checks up front
    t1 = time.perf_counter()
    detector = FaceDetector(PHOTO_MODEL, min_score=threshold)
    t2 = time.perf_counter()
    pipe = _faces_pipeline(threshold)
    result.update({"segmenter_load_verify_s": round(t1 - t0, 3), "face_detector_load_s": round(t2 - t1, 3),
                   "blur_by": "faces stage (Pipeline)" if pipe else "stand-in box blur (no faces stage yet)",
                   "photos": {}})
    with tempfile.TemporaryDirectory(prefix="ours-profile-") as tmp:
        for path in photos:
            ta = time.perf_counter()
            rgb = read_image(path).rgb
            tb = time.perf_counter()
            detector.adapter.max_side = max(rgb.shape[:2])
            faces = detector.detect(rgb)
            tc = time.perf_counter()
            if pipe is not None:
                pipe.reset()
            pixels, stage = _blur(pipe, rgb, faces, threshold)
            td = time.perf_counter()
            write_image(pixels, tmp, path.stem, "jpg")
            te = time.perf_counter()
            ms = {"read": tb - ta, "detect": tc - tb, "blur_stage": td - tc, "write": te - td}
            result["photos"][path.name] = {
                "boxes": [[*f.box, f.score] for f in faces],
                "ms": {**{k: round(v * 1e3, 2) for k, v in ms.items()},
                       **{f"stage_{k}": round(v, 2) for k, v in stage.items()}}}
        parts: dict[str, list[float]] = {"read": [], "detect": [], "blur_stage": [], "write": []}
        boxes: dict[str, list] = {}
        if pipe is not None:
            pipe.reset()
        with VideoReader(video) as reader, VideoWriter(tmp, "profile", reader.fps) as writer:
            it = iter(reader)
            i = 0
            while True:
                ta = time.perf_counter()
                rgb = next(it, None)
                if rgb is None:
                    break
                tb = time.perf_counter()
                detector.adapter.max_side = max(rgb.shape[:2])
                faces = detector.detect(rgb)
                tc = time.perf_counter()
                pixels, _ = _blur(pipe, rgb, faces, threshold)
                td = time.perf_counter()
                writer.write(pixels)
                te = time.perf_counter()
                if i % stride == 0:
                    boxes[str(i)] = [[*f.box, f.score] for f in faces]
                for k, v in zip(parts, (tb - ta, tc - tb, td - tc, te - td), strict=True):
                    parts[k].append(v * 1e3)
                i += 1
    result["video"] = {"frames_read": i, "boxes": boxes,
                       "ms_median": {k: round(statistics.median(v), 2) for k, v in parts.items()},
                       "ms_total": {k: round(sum(v), 1) for k, v in parts.items()}}
    return result
