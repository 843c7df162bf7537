"""Where each side's time goes (bench/bench_faces_vs_deface.py), and each side's boxes for the agreement.

deface: bench/deface_worker.py in .venvs/deface (its own functions, timed one by one). Ours, in this process: the
process start (`locallens --version`), the CLI's model loads (the face model's sha256 check and session; the
segmenter as well before the faces stage existed), and per photo / video frame: decode, detect and blur (the
faces stage's own split, as the CLI runs it; before the stage existed: FaceDetector + bench/faces_core_cli.py's
box blur), encode (JPEG for photos, H.264 for the video). Medians in ms.
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


def deface_steps(photos: list[Path], video: Path, threshold: float, stride: int, cache: Path | None = None) -> dict:
    """deface_worker's result; kept in `cache` (a JSON file) and read back from it when it is there (deface's
    boxes do not depend on our side: a rerun for ours only saves minutes on a loaded machine)."""
    if cache is not None and cache.is_file():
        kept = json.loads(cache.read_text())
        if sorted(kept["photos"]) == sorted(p.name for p in photos):
            kept["reused_from"] = str(cache)
            return kept
    out = subprocess.run([str(DEFACE_PY), str(REPO / "bench" / "deface_worker.py"), "--threshold", str(threshold),
                          "--stride", str(stride), "--video", str(video), *map(str, photos)],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    result["process_start_s"] = start_s([str(DEFACE_PY.parent / "deface"), "--version"])
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(result))
    return result


class Ours:
    """Our side, one frame at a time: `detect` (the boxes the CLI would hide, before tracking) and `process`
    (detection + blur, timed inside). With the faces stage (the CLI's own path): `Pipeline(NoSegmenter,
    effect none + faces blur, video=True)`, photos as stills (tiled CenterFace for large photos), video frames through
    the tracker; `process` is the pipeline's and `last_ms` its detect / hide split. Before the stage exists:
    FaceDetector(PHOTO_MODEL) at full size and the stand-in's box blur."""

    def __init__(self, threshold: float) -> None:
        from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector
        from desktop_app.core.params import EffectParams
        from desktop_app.core.pipeline import Pipeline

        self.threshold = threshold
        self.pipe = None
        t0 = time.perf_counter()
        try:
            from desktop_app.cli_models import NoSegmenter, verify_face_models

            params = EffectParams(effect="none", faces="blur", face_threshold=threshold)
            verify_face_models(params, "cpu")
            self.pipe = Pipeline(NoSegmenter("cpu"), params, temporal=True, video=True)
            self.pipe.faces.detector(PHOTO_MODEL)  # load now (the stage loads on first use)
            self.by = "the faces stage (Pipeline with NoSegmenter, as `locallens process --effect none --faces`)"
        except (ImportError, AttributeError, TypeError, ValueError):
            from desktop_app.core.segmenter import Segmenter

            Segmenter("auto", device="auto").verify_all(detector=True)  # what `process` loaded and checked
            self.detector = FaceDetector(PHOTO_MODEL, min_score=threshold)
            self.by = "FaceDetector + the stand-in's box blur (no faces stage in the core yet)"
        self.load_s = time.perf_counter() - t0
        self.last_ms: dict[str, float] = {}

    def detect(self, rgb: np.ndarray, still: bool) -> list:
        if self.pipe is not None:
            return self.pipe.faces.find(rgb, self.threshold, still)
        self.detector.adapter.max_side = max(rgb.shape[:2])
        return self.detector.detect(rgb)

    def process(self, rgb: np.ndarray, still: bool, index: int) -> np.ndarray:
        if self.pipe is None:
            from faces_core_cli import blur_boxes

            t0 = time.perf_counter()
            faces = self.detect(rgb, still)
            t1 = time.perf_counter()
            out = blur_boxes(np.array(rgb), faces, 0.2)
            self.last_ms = {"detect": (t1 - t0) * 1e3, "hide": (time.perf_counter() - t1) * 1e3}
            return out
        from desktop_app.core.frames import Frame

        if still:
            self.pipe.reset()
        result = self.pipe.process(Frame(rgb, time.perf_counter(), index, "photo" if still else "video"), still=still)
        self.last_ms = dict(self.pipe.faces.last_ms)
        return result.pixels


def ours_steps(photos: list[Path], video: Path, threshold: float, stride: int) -> dict:
    import cv2

    from desktop_app.core.imageio import read_image, write_image
    from desktop_app.core.video_read import VideoReader
    from desktop_app.core.video_write import VideoWriter

    cv2.setNumThreads(1)
    result: dict = {"process_start_s": start_s([str(LOCALLENS), "--version"])}
    ours = Ours(threshold)
    result.update({"model_load_s": round(ours.load_s, 3), "by": ours.by, "photos": {}})
    with tempfile.TemporaryDirectory(prefix="ours-profile-") as tmp:
        for path in photos:
            ta = time.perf_counter()
            rgb = read_image(path).rgb
            tb = time.perf_counter()
            pixels = ours.process(rgb, True, 0)
            tc = time.perf_counter()
            write_image(pixels, tmp, path.stem, "jpg")
            td = time.perf_counter()
            result["photos"][path.name] = {
                "boxes": [[*f.box, f.score] for f in ours.detect(rgb, True)],
                "ms": {"read": round((tb - ta) * 1e3, 2), "detect": round(ours.last_ms["detect"], 2),
                       "blur": round(ours.last_ms["hide"], 2), "faces_total": round((tc - tb) * 1e3, 2),
                       "write": round((td - tc) * 1e3, 2)}}
        parts: dict[str, list[float]] = {"read": [], "detect": [], "blur": [], "faces_total": [], "write": []}
        boxes: dict[str, list] = {}
        with VideoReader(video) as reader, VideoWriter(tmp, "profile", reader.fps) as writer:
            it = iter(reader)
            i = 0
            while True:
                ta = time.perf_counter()
                rgb = next(it, None)
                if rgb is None:
                    break
                tb = time.perf_counter()
                pixels = ours.process(rgb, False, i)
                tc = time.perf_counter()
                writer.write(pixels)
                td = time.perf_counter()
                if i % stride == 0:
                    boxes[str(i)] = [[*f.box, f.score] for f in ours.detect(rgb, False)]
                for k, v in (("read", tb - ta), ("faces_total", tc - tb), ("write", td - tc)):
                    parts[k].append(v * 1e3)
                parts["detect"].append(ours.last_ms["detect"])
                parts["blur"].append(ours.last_ms["hide"])
                i += 1
    result["video"] = {"frames_read": i, "boxes": boxes,
                       "ms_median": {k: round(statistics.median(v), 2) for k, v in parts.items()},
                       "ms_total": {k: round(sum(v), 1) for k, v in parts.items()}}
    return result
