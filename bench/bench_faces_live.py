"""Live 720p blur + faces per frame on one core (issue #11: target <= 16 ms), side by side with blur alone.

On every frame of tools/make_face_video.py's clip (1280 x 720, three people moving, 300 frames; `--passes` times
through it; `--clip own`: bench/faces_inputs.py's, five faces; `--clip webcam`: its video call, one person), in
one loop, alternating which goes first: (a) the live blur pipeline alone, (b) the live blur + faces pipeline
(`Pipeline(..., live=True)` with `params.faces="blur"`: the faces stage, LIVE_MODEL = MediaPipe full range,
through the tracker, detecting on the frames its DetectionSchedule picks), (b1) the same with the detector on
every frame (`DetectionSchedule(every=1)`: the schedule's gain), (c) the live face detector alone
(`FaceDetector(LIVE_MODEL)`), for the detector's share. While the core has no faces stage, (b) is
the blur pipeline followed by the detector and a box blur of its boxes, timed as one. One onnxruntime thread and
one OpenCV thread (as bench/bench_core.py measures blur); wall and thread-CPU medians, p90 and means (with the
schedule a frame is either detected or not: the mean is the frame's cost over time, the median that of the more
common kind), the share of frames detected, and the load average before and after.
Writes bench/results/faces_live.json (or `--json`).

    .venv/bin/python bench/bench_faces_live.py [--passes 1] [--clip f2|own|webcam] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import faces_inputs  # noqa: E402

from desktop_app.core.faces.detector import LIVE_MODEL, FaceDetector  # noqa: E402

try:
    from desktop_app.core.faces.tracking import DetectionSchedule
except ImportError:  # the code before session 6 (run side by side from an older checkout): every frame detected
    DetectionSchedule = None  # type: ignore[assignment,misc]
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402
from desktop_app.core.video_read import VideoReader  # noqa: E402

TARGET_MS = 16.0
WARMUP = 10


def stats(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "p90": round(float(np.percentile(values, 90)), 3),
            "mean": round(statistics.fmean(values), 3)}


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall ms, this thread's CPU ms, result) of one call (ORT with 1 thread runs in the caller)."""
    cpu0, t0 = time.thread_time(), time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1e3, (time.thread_time() - cpu0) * 1e3, out


def faces_pipeline(seg: Segmenter, strength: int) -> tuple[Pipeline, bool]:
    """(live blur + faces pipeline, whether it has a faces stage of its own)."""
    try:
        params = EffectParams(effect="blur", strength=strength, faces="blur")
        pipe = Pipeline(seg, params, temporal=True, live=True)
    except (TypeError, ValueError):
        pipe = None
    if pipe is not None and len(pipe.stages) > 1:
        return pipe, True
    return Pipeline(seg, EffectParams(effect="blur", strength=strength), temporal=True, live=True), False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=1, help="times through the 300-frame clip")
    parser.add_argument("--clip", choices=("f2", "own", "webcam"), default="f2", help="tools/make_face_video.py's "
                        "clip (default), bench/faces_inputs.py's own or its video call")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "faces_live.json")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    video = faces_inputs.clip_only(args.clip)
    load_before = list(os.getloadavg())
    seg = Segmenter(device="cpu", threads=1)
    blur_only = Pipeline(seg, EffectParams(effect="blur", strength=50), temporal=True, live=True)
    with_faces, staged = faces_pipeline(seg, 50)
    every_frame, _ = faces_pipeline(seg, 50)
    if staged and DetectionSchedule is not None:
        every_frame.faces.schedule = DetectionSchedule(every=1)  # type: ignore[attr-defined]
    detected: list[bool] = []
    detector = FaceDetector(LIVE_MODEL, device="cpu", threads=1)
    from faces_core_cli import blur_boxes

    def combined(frame: Frame) -> dict[str, float]:
        """(b): the pipeline's own faces stage, or blur + detector + box blur; its timings."""
        if staged:
            timings = dict(with_faces.process(frame).timings)
            split = with_faces.faces.last_ms  # type: ignore[attr-defined]
            detected.append(bool(getattr(with_faces.faces, "last_detected", True)))
            return {**timings, "faces_detect": split["detect"], "faces_blur": split["hide"]}
        result = with_faces.process(frame)
        t0 = time.perf_counter()
        faces = detector.detect(frame.pixels)
        t1 = time.perf_counter()
        blur_boxes(np.array(result.pixels), faces, 0.2)
        t2 = time.perf_counter()
        return {**result.timings, "faces_detect": (t1 - t0) * 1e3, "faces_blur": (t2 - t1) * 1e3}

    walls: dict[str, list[float]] = {"blur": [], "blur+faces": [], "blur+faces every frame": [], "detector": []}
    cpus: dict[str, list[float]] = {k: [] for k in walls}
    stage_ms: dict[str, list[float]] = {}
    counts: list[int] = []
    n = 0
    for p in range(args.passes):
        with VideoReader(video) as reader:
            for i, rgb in enumerate(reader):
                frame = Frame(rgb, time.perf_counter(), i, f"clip-{p}")
                runs = {"blur": lambda f=frame: blur_only.process(f), "blur+faces": lambda f=frame: combined(f),
                        "blur+faces every frame": lambda f=frame: every_frame.process(f),
                        "detector": lambda f=frame: detector.detect(f.pixels)}
                order = list(runs) if n % 2 == 0 else list(reversed(runs))
                reps = WARMUP if n == 0 else 1  # warm every path on the first frame
                for _ in range(reps):
                    results = {k: timed(runs[k]) for k in order}
                if reps > 1:
                    del detected[:-1]  # the warm-up repeats of frame 0
                for k, (wall, cpu, _) in results.items():
                    walls[k].append(wall)
                    cpus[k].append(cpu)
                for k, v in results["blur+faces"][2].items():
                    stage_ms.setdefault(k, []).append(v)
                counts.append(len(results["detector"][2]))
                n += 1
    wall = {k: stats(v) for k, v in walls.items()}
    cpu = {k: stats(v) for k, v in cpus.items()}
    total = wall["blur+faces"]["median"]
    load_after = list(os.getloadavg())
    det = wall["detector"]["median"]
    result = {
        "benchmark": "faces_live", "size": "1280x720", "frames": n, "clip": video.name,
        "faces_by": "the pipeline's faces stage" if staged else "blur pipeline + FaceDetector + box blur (no "
                    "faces stage in the core yet)",
        "detector": f"{LIVE_MODEL} (FaceDetector, cpu, 1 thread)", "ort_threads": 1, "cv2_threads": 1,
        "target_ms": TARGET_MS, "wall_ms": wall, "cpu_ms": cpu,
        "meets_target": total <= TARGET_MS, "meets_target_cpu": cpu["blur+faces"]["median"] <= TARGET_MS,
        "meets_target_mean": wall["blur+faces"]["mean"] <= TARGET_MS,
        "meets_target_cpu_mean": cpu["blur+faces"]["mean"] <= TARGET_MS,
        "frames_detected_share": round(sum(detected) / len(detected), 4) if detected else None,
        "faces_cost_cpu_ms": {"median": round(cpu["blur+faces"]["median"] - cpu["blur"]["median"], 3),
                              "mean": round(cpu["blur+faces"]["mean"] - cpu["blur"]["mean"], 3)},
        "faces_cost_ms": round(total - wall["blur"]["median"], 3),
        "detector_share": round(det / total, 3), "detector_share_cpu": round(
            cpu["detector"]["median"] / cpu["blur+faces"]["median"], 3),
        "detector_share_in_stage": round(statistics.median(stage_ms["faces_detect"]) / total, 3),
        "stage_ms_median": {k: round(statistics.median(v), 3) for k, v in stage_ms.items()},
        "stage_ms_mean": {k: round(statistics.fmean(v), 3) for k, v in stage_ms.items()},
        "faces_per_frame": {"median": statistics.median(counts), "min": min(counts), "max": max(counts)},
        "load_average": load_after, "load_average_before": load_before,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }
    print(f"{n} frames 1280x720, one core; faces by {result['faces_by']}")
    for k in walls:
        print(f"  {k:>22}: wall {wall[k]['median']:6.2f} ms (p90 {wall[k]['p90']:6.2f}, mean {wall[k]['mean']:6.2f}), "
              f"cpu {cpu[k]['median']:6.2f} (mean {cpu[k]['mean']:6.2f})")
    print(f"  frames detected: {result['frames_detected_share']}")
    print(f"  blur + faces {total:.2f} ms vs target {TARGET_MS:.0f}: {'ok' if result['meets_target'] else 'MISSED'}"
          f" (cpu {'ok' if result['meets_target_cpu'] else 'MISSED'}); detector share {result['detector_share']:.0%} "
          f"(inside the stage {result['detector_share_in_stage']:.0%})")
    print(f"  stages: {result['stage_ms_median']}; load {os.getloadavg()[0]:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
