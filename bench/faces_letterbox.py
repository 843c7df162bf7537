"""The live face detector's input shrink: `shrink_area` (an area average, before) vs `quick_shrink` (bilinear to
twice the size + one 2x2 halving, session 6), side by side on the same frames (issue #11's live budget).

For each: recall at webcam distances (bench/bench_face_models.py's 60 frames, one face 6%-60% of 720 tall, held-out
people P006-P010) and on the small-face scenes (393 faces); on the tracking clip (tools/make_face_video.py,
.cache/face_video) the detector's recall and the face-frames exposed before and after FaceTracker (defaults), and
with the live detection schedule; the detector's CPU ms per 720p frame (1 thread, interleaved, medians).
Truth for the photos: CenterFace INT8 (the shipped photo model; the gate measured it at F1 1.000 vs FP32 at 0.5)
on each photo at 1280 px, carried through the known scaling (bench_face_models.py uses FP32, not kept here).
Needs openpeople==0.1.2 (as bench_face_models.py). Writes bench/results/faces_letterbox.json.

    .venv/bin/python bench/faces_letterbox.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "tools")]

import bench_face_tracking as tracking_bench  # noqa: E402
from bench_face_models import recall, small_face_scenes  # noqa: E402
from faceimages import HELD_OUT, people_photos, webcam_frames  # noqa: E402

from desktop_app.core.faces.detector import LIVE_MODEL, PHOTO_MODEL, FaceDetector  # noqa: E402
from desktop_app.core.video_read import VideoReader  # noqa: E402

SHRINKS = {"area (before)": False, "quick (session 6)": True}


def detector(quick: bool) -> FaceDetector:
    d = FaceDetector(LIVE_MODEL, "cpu", threads=1, min_score=0.5)
    d.adapter.quick = quick  # type: ignore[attr-defined]
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "faces_letterbox.json")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    dets = {k: detector(q) for k, q in SHRINKS.items()}
    calls = {k: (lambda rgb, d=d: d.detect(rgb)) for k, d in dets.items()}
    # photos: webcam distances and small faces
    photos = people_photos(HELD_OUT, 1280)
    truth_model = FaceDetector(PHOTO_MODEL, "cpu", threads=1, min_score=0.5, max_side=1280)
    truths = {}
    for name, rgb in photos.items():
        h, w = rgb.shape[:2]
        truths[name] = [(f.box[0] * w, f.box[1] * h, f.box[2] * w, f.box[3] * h) for f in truth_model.detect(rgb)]
    portraits = {k: (v, truths[k][0]) for k, v in photos.items()
                 if k.endswith(("studio_portrait", "amateur_selfie")) and len(truths[k]) == 1}
    cases = [(n, f, [b]) for n, f, b in webcam_frames(portraits)]
    result: dict = {"benchmark": "faces_letterbox", "model": LIVE_MODEL, "min_score": 0.5,
                    "webcam_faces": len(cases),
                    "webcam_recall": recall(calls, cases, lambda b: f"face {round((b[3] - b[1]) / 720, 2):.2f} of 720")}

    def size_bucket(b: tuple[float, float, float, float]) -> str:
        px = b[3] - b[1]
        return next(f"<{t} px" for t in (20, 30, 45, 70, 120, 10_000) if px < t)

    scenes = small_face_scenes(photos, truths)
    result["small_face_scenes"] = len(scenes)
    result["small_face_recall"] = recall(calls, scenes, size_bucket)
    # the tracking clip: recall, exposure, CPU ms (interleaved)
    meta = json.loads((tracking_bench.VIDEO_DIR / "truth.json").read_text())
    size = tuple(meta["size"])
    points = {(t["frame"], f["person"]): tracking_bench.visible_points(f, size) for t in meta["truth"]  # type: ignore[arg-type]
              for f in t["faces"] if f["visible"]}
    per: dict[str, list] = {k: [] for k in dets}
    cpu: dict[str, list[float]] = {k: [] for k in dets}
    with VideoReader(tracking_bench.VIDEO_DIR / meta["video"]) as reader:
        for i, rgb in enumerate(reader):
            order = list(dets) if i % 2 == 0 else list(reversed(dets))
            for k in order:
                t = time.thread_time()
                per[k].append(dets[k].detect(rgb))
                cpu[k].append((time.thread_time() - t) * 1e3)
    visible = [(t["frame"], f) for t in meta["truth"] for f in t["faces"] if f["visible"]]
    clip = {}
    for k, frames in per.items():
        found = sum(tracking_bench.found(f, frames[i], size) for i, f in visible)  # type: ignore[arg-type]
        before = tracking_bench.evaluate([[d.box for d in f] for f in frames], meta, points)
        after = tracking_bench.evaluate(tracking_bench.track(frames)[0], meta, points)
        scheduled, detected = tracking_bench.track_scheduled(frames, 2, 3, 0.1, 30)  # the default
        sched = tracking_bench.evaluate(scheduled, meta, points)
        clip[k] = {"recall": round(found / len(visible), 4), "exposed_before": before["exposed"],
                   "exposed_after_tracking": after["exposed"], "spans_after": after["exposed_spans"],
                   "exposed_with_schedule": sched["exposed"],
                   "schedule_detected_share": round(detected / len(frames), 3),
                   "detect_cpu_ms_median": round(statistics.median(cpu[k]), 3)}
    result["clip"] = clip
    result["clip_face_frames_visible"] = len(visible)
    result["load_average"] = list(os.getloadavg())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
