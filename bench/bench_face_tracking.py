"""Frames where a visible face is exposed, before and after FaceTracker (issue #11, "Video and live").

The test video (tools/make_face_video.py, into .cache/face_video/): 1280x720, 30 fps, 10 s, three people whose
face boxes are known on every frame. Each frame goes through the real detector (desktop_app.core.faces.detector
FaceDetector: LIVE_MODEL; PHOTO_MODEL at full size as video files use it, and at 640 px; min score 0.5 = the
default face_threshold, 1 thread), then the hidden region is modelled as the faces effect draws it: each box
grown by the default face_padding 0.2 on every side, the ellipse inscribed in it (core/faces/coverage.py). A
visible face (>= 40% of its box in view) is EXPOSED on a frame when under 90% of its visible box pixels lie in
the hidden region. Before: the frame's raw detections; after: `FaceTracker().update(detections)` (defaults).

Also: detector recall (a detection whose centre is in the truth box at a height within 2x), the runs of exposed
frames before tracking (how long the detector's blinks are: why the hold is 10), a sweep of the hold, the share of
the frame hidden (tracking's price) and the tracker's cost per frame (CPU time; also on a synthetic crowd of 30).

    .venv/bin/python tools/make_face_video.py
    .venv/bin/python bench/bench_face_tracking.py [--json bench/results/face_tracking.json] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core.detection import Detection  # noqa: E402
from desktop_app.core.faces.coverage import inside  # noqa: E402
from desktop_app.core.faces.detector import LIVE_MODEL, PHOTO_MODEL, FaceDetector  # noqa: E402
from desktop_app.core.faces.tracking import DetectionSchedule, FaceTracker  # noqa: E402

VIDEO_DIR = REPO / ".cache" / "face_video"
PADDING, SHAPE, NEEDED = 0.2, "ellipse", 0.9
HOLDS = (0, 3, 5, 10, 15, 20)
# (name, model, max_side): live; video files as the faces stage runs them (CenterFace at full size, up to 1920 px:
# core/faces/tiles.py FULL_PASS_SIDE); and CenterFace at the detector's default 640 px (cheaper, fewer small faces)
RUNS = ((LIVE_MODEL, LIVE_MODEL, None), (f"{PHOTO_MODEL}@1280", PHOTO_MODEL, 1280),
        (f"{PHOTO_MODEL}@640", PHOTO_MODEL, 640))


def visible_points(face: dict, size: tuple[int, int], stride: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres (every `stride`-th) of the face box that are in the frame and not behind a nearer person."""
    w, h = size
    x0, y0, x1, y1 = (round(v) for v in face["box"])
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    vis = np.ones((max(cy1 - cy0, 0), max(cx1 - cx0, 0)), bool)
    for r, s, e in face["hidden_by_front"]:
        vis[r - cy0, s - cx0 : e - cx0] = False
    vis = vis[::stride, ::stride]
    ys, xs = np.nonzero(vis)
    return xs * stride + cx0 + 0.5, ys * stride + cy0 + 0.5


def covered_share(points: tuple[np.ndarray, np.ndarray], boxes: list[tuple[float, ...]],
                  size: tuple[int, int]) -> float:
    xs, ys = points
    if xs.size == 0:
        return 1.0
    w, h = size
    px = [(b[0] * w, b[1] * h, b[2] * w, b[3] * h) for b in boxes]
    return float(inside(xs, ys, px, PADDING, SHAPE).mean())


def found(face: dict, dets: list[Detection], size: tuple[int, int]) -> bool:
    x0, y0, x1, y1 = face["box"]
    w, h = size
    for d in dets:
        cx, cy = (d.box[0] + d.box[2]) / 2 * w, (d.box[1] + d.box[3]) / 2 * h
        ratio = (d.box[3] - d.box[1]) * h / max(y1 - y0, 1e-6)
        if x0 <= cx <= x1 and y0 <= cy <= y1 and 0.5 <= ratio <= 2.0:
            return True
    return False


def detect_video(model: str, max_side: int | None, meta: dict) -> tuple[list[list[Detection]], list[float]]:
    """Every frame of the video through FaceDetector(model): detections per frame and ms per frame."""
    import av

    detector = FaceDetector(model, "cpu", threads=1, min_score=0.5, max_side=max_side)
    out, ms = [], []
    with av.open(str(VIDEO_DIR / meta["video"])) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            t = time.perf_counter()
            out.append(detector.detect(rgb))
            ms.append((time.perf_counter() - t) * 1000)
    if len(out) != meta["frames"]:
        raise SystemExit(f"{meta['video']}: {len(out)} frames decoded, truth has {meta['frames']}")
    return out, ms


def hidden_area(boxes: list[tuple[float, ...]], size: tuple[int, int]) -> float:
    """Share of the frame in the hidden region (a 160x90 grid)."""
    xs, ys = np.meshgrid((np.arange(160) + 0.5) / 160 * size[0], (np.arange(90) + 0.5) / 90 * size[1])
    w, h = size
    return float(inside(xs, ys, [(b[0] * w, b[1] * h, b[2] * w, b[3] * h) for b in boxes], PADDING, SHAPE).mean())


def evaluate(per_frame: list[list[tuple[float, ...]]], meta: dict, points: dict) -> dict:
    """Exposed face-frames, their runs and the hidden share of the frame for one sequence of hidden boxes."""
    size = tuple(meta["size"])
    exposed: list[tuple[int, str]] = []
    shares = []
    for t, boxes in zip(meta["truth"], per_frame, strict=True):
        for f in t["faces"]:
            if f["visible"]:
                share = covered_share(points[t["frame"], f["person"]], boxes, size)  # type: ignore[arg-type]
                shares.append(share)
                if share < NEEDED:
                    exposed.append((t["frame"], f["person"]))
    runs: Counter[int] = Counter()
    by_person: dict[str, list[int]] = {}
    for frame, person in exposed:
        by_person.setdefault(person, []).append(frame)
    spans = []
    for person, frames in sorted(by_person.items()):
        start = prev = frames[0]
        for f in [*frames[1:], None]:
            if f is not None and f == prev + 1:
                prev = f
                continue
            runs[prev - start + 1] += 1
            spans.append(f"{person} {start}-{prev}" if prev > start else f"{person} {start}")
            if f is not None:
                start = prev = f
    area = statistics.fmean(hidden_area(b, size) for b in per_frame)  # type: ignore[arg-type]
    return {"exposed": len(exposed), "mean_coverage": round(statistics.fmean(shares), 4),
            "exposed_runs": dict(sorted(runs.items())), "exposed_spans": spans, "hidden_frame_share": round(area, 4)}


def track(dets: list[list[Detection]], hold: int = 10) -> tuple[list[list[tuple[float, ...]]], list[float]]:
    tracker = FaceTracker(hold=hold)
    out, us = [], []
    for d in dets:
        t = time.process_time()  # CPU time: the shared machine's load does not count
        faces = tracker.update(d)
        us.append((time.process_time() - t) * 1e6)
        out.append([f.box for f in faces])
    return out, us


# live: the detection schedules tried (every, min_hits, max_speed, recent); every=1: detect every frame
SCHEDULES = ((1, 3, 0.1, 30), (2, 3, 0.1, 30), (2, 3, 0.1, 15), (2, 3, 0.1, 60), (2, 3, 0.1, 0), (2, 2, 0.1, 30),
             (2, 3, 0.2, 30), (2, 3, 1e9, 30), (3, 3, 0.1, 30), (3, 3, 0.1, 0))
OFFSETS = 8  # each schedule from start frames 0..7: which frames it skips depends on the phase


def track_scheduled(dets: list[list[Detection]], every: int, min_hits: int, max_speed: float,
                    recent: int = 30) -> tuple[list[list[tuple[float, ...]]], int]:
    """The faces stage's live loop on recorded detections: `DetectionSchedule` decides per frame, a skipped
    frame's detections are not used (`FaceTracker.coast`). (Hidden boxes per frame, frames detected.)"""
    tracker, schedule = FaceTracker(), DetectionSchedule(every, min_hits, max_speed, recent)
    out, detected = [], 0
    for d in dets:
        if schedule.due(tracker):
            detected += 1
            faces = tracker.update(d)
        else:
            faces = tracker.coast()
        out.append([f.box for f in faces])
    return out, detected


def schedule_sweep(dets: list[list[Detection]], meta: dict, points: dict) -> dict:
    """Per schedule of SCHEDULES: exposed face-frames and the share of frames detected, from frame 0 and as
    the mean (and max) over OFFSETS start frames (the clip's first frames dropped, truth with them)."""
    sweep = {}
    for every, hits, speed, recent in SCHEDULES:
        runs = []
        for off in range(OFFSETS):
            boxes, detected = track_scheduled(dets[off:], every, hits, speed, recent)
            r = evaluate(boxes, {**meta, "truth": meta["truth"][off:]}, points)
            runs.append((r, detected / len(boxes)))
        first = runs[0][0]
        sweep[f"every={every} min_hits={hits} max_speed={speed:g} recent={recent}"] = {
            "exposed": first["exposed"], "exposed_spans": first["exposed_spans"],
            "detected_share": round(runs[0][1], 4), "hidden_frame_share": first["hidden_frame_share"],
            "exposed_mean_over_offsets": round(statistics.fmean(r["exposed"] for r, _ in runs), 2),
            "exposed_max_over_offsets": max(r["exposed"] for r, _ in runs),
            "detected_share_mean_over_offsets": round(statistics.fmean(d for _, d in runs), 4)}
    return sweep


def bench_model(name: str, model: str, max_side: int | None, meta: dict, points: dict, reuse: bool) -> dict:
    cache = VIDEO_DIR / f"detections-{name}.json"
    if reuse and cache.exists():
        saved = json.loads(cache.read_text())
        dets = [[Detection(s, tuple(b), ()) for s, b in frame] for frame in saved["dets"]]  # type: ignore[arg-type]
        ms = saved["ms"]
    else:
        dets, ms = detect_video(model, max_side, meta)
        cache.write_text(json.dumps({"dets": [[(d.score, d.box) for d in f] for f in dets], "ms": ms}))
    size = tuple(meta["size"])
    visible = [(t["frame"], f) for t in meta["truth"] for f in t["faces"] if f["visible"]]
    recall = sum(found(f, dets[i], size) for i, f in visible) / len(visible)  # type: ignore[arg-type]
    before = evaluate([[d.box for d in f] for f in dets], meta, points)
    tracked, _ = track(dets)
    after = evaluate(tracked, meta, points)
    costs = []
    for _ in range(7):
        costs.append(statistics.fmean(track(dets)[1]))
    sweep = {}
    for hold in HOLDS:
        r = evaluate(track(dets, hold)[0], meta, points)
        sweep[str(hold)] = {"exposed": r["exposed"], "hidden_frame_share": r["hidden_frame_share"]}
    false_frames = sum(1 for i, frame in enumerate(dets) for d in frame
                       if not any(found(f, [d], size) for f in meta["truth"][i]["faces"]))  # type: ignore[arg-type]
    schedules = schedule_sweep(dets, meta, points) if model == LIVE_MODEL else None
    return {"model": model, "max_side": max_side, "face_frames_visible": len(visible),
            "detector_recall": round(recall, 4),
            "detector_ms_median": round(statistics.median(ms), 2), "false_detections": false_frames,
            "before": before, "after": after,
            "tracker_us_per_frame": {"median_of_7_means": round(statistics.median(costs), 1),
                                     "min": round(min(costs), 1)},
            "hold_sweep": sweep, **({"live_schedules": schedules} if schedules else {})}


def crowd_cost(faces: int = 30, frames: int = 300, seed: int = 0) -> float:
    """The tracker's mean us per frame on a synthetic crowd: `faces` faces drifting, each missed 10% of frames."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 0.9, (faces, 2))
    seq = [[Detection(0.9, (x + 0.0005 * i, y, x + 0.0005 * i + 0.04, y + 0.07), ()) for x, y in base
            if rng.random() > 0.1] for i in range(frames)]
    means = []
    for _ in range(5):
        means.append(statistics.fmean(track(seq)[1]))
    return statistics.median(means)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "face_tracking.json")
    ap.add_argument("--reuse", action="store_true", help="reuse the detections cached by an earlier run")
    args = ap.parse_args(argv)
    truth_path = VIDEO_DIR / "truth.json"
    if not truth_path.exists():
        raise SystemExit(f"{truth_path} is missing: run tools/make_face_video.py first")
    meta = json.loads(truth_path.read_text())
    size = tuple(meta["size"])
    points = {(t["frame"], f["person"]): visible_points(f, size) for t in meta["truth"]  # type: ignore[arg-type]
              for f in t["faces"] if f["visible"]}
    results = {"machine": {"platform": platform.platform(), "python": platform.python_version(), "threads": 1},
               "video": {"size": meta["size"], "fps": meta["fps"], "frames": meta["frames"],
                         "people": len(meta["people"]), "min_visible": meta["min_visible"]},
               "rule": f"exposed = under {NEEDED:.0%} of a visible face's box in the hidden region "
                       f"(padding {PADDING}, {SHAPE})",
               "models": {}}
    for name, model, max_side in RUNS:
        r = bench_model(name, model, max_side, meta, points, args.reuse)
        results["models"][name] = r
        print(f"{name}: {r['face_frames_visible']} visible face-frames, recall {r['detector_recall']:.3f}; "
              f"exposed before {r['before']['exposed']} -> after {r['after']['exposed']}; "
              f"tracker {r['tracker_us_per_frame']['median_of_7_means']} us/frame; "
              f"hold sweep {r['hold_sweep']}")
        print(f"   runs before {r['before']['exposed_runs']}; left after: {r['after']['exposed_spans']}")
        for k, v in r.get("live_schedules", {}).items():
            print(f"   {k}: exposed {v['exposed']} {v['exposed_spans']} (offsets: mean "
                  f"{v['exposed_mean_over_offsets']}, max {v['exposed_max_over_offsets']}), detected "
                  f"{v['detected_share_mean_over_offsets']:.0%}")
    results["tracker_us_per_frame_30_faces"] = round(crowd_cost(), 1)
    print(f"tracker, 30 faces: {results['tracker_us_per_frame_30_faces']} us/frame")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
