"""Cost of the live temporal + edge steps (issue #9): the blur pipeline end to end, before and after, side by side.

Per frame, in an order that rotates from frame to frame: the model alone, the pipeline as before (plain
moving average, plain upsample) and as it is now (change-gated average + hysteresis + `masks.refine_edges`),
one ORT and one OpenCV thread, on the bundled sample video cover-fitted to each size. Medians of wall and of
this thread's CPU time, in ms.

    .venv/bin/python bench/bench_temporal_cost.py [--frames 300] [--sizes 1280x720 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_quality import LegacyEMA  # noqa: E402

from desktop_app.benchmark import machine, sample_frames  # noqa: E402
from desktop_app.core import pipeline as pipeline_mod  # noqa: E402
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

WARMUP = 10


def scaled(pipe: Pipeline, scale: float, rgb: np.ndarray, i: int) -> object:
    """`pipe.process` with refine_edges at another apply scale."""
    original = pipeline_mod.refine_edges
    pipeline_mod.refine_edges = partial(original, scale=scale)
    try:
        return pipe.process(Frame(rgb, i / 30, i, "bench"))
    finally:
        pipeline_mod.refine_edges = original


def run(size: tuple[int, int], frames: int, edge_scales: list[float] | None = None) -> dict:
    seg = Segmenter(device="cpu", threads=1)
    base, _ = sample_frames()
    clip = [bg.cover_fit(f, size) for f in base]
    params = EffectParams(effect="blur")
    before = Pipeline(seg, params, temporal=True)
    before._refiner = LegacyEMA()
    before.edges = False
    after = Pipeline(seg, params, temporal=True)
    runs: dict[str, Callable] = {"model": (lambda rgb, i: seg.predict(rgb)),
                                 "before": (lambda rgb, i: before.process(Frame(rgb, i / 30, i, "bench"))),
                                 "after": (lambda rgb, i: after.process(Frame(rgb, i / 30, i, "bench")))}
    for scale in edge_scales or []:
        variant = Pipeline(seg, params, temporal=True)
        runs[f"edge x{scale:g}"] = partial(scaled, variant, scale)
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    mask_ms: dict[str, list[float]] = {k: [] for k in runs if k != "model"}
    for i in range(WARMUP + frames):
        rgb = clip[i % len(clip)]
        names = list(runs)
        names = names[i % len(names):] + names[: i % len(names)]  # who runs first rotates: no fixed neighbour
        for name in names:
            fn = runs[name]
            c0, w0 = time.thread_time(), time.perf_counter()
            out = fn(rgb, i)
            c1, w1 = time.thread_time(), time.perf_counter()
            if i >= WARMUP:
                wall[name].append((w1 - w0) * 1e3)
                cpu[name].append((c1 - c0) * 1e3)
                if name in mask_ms:
                    mask_ms[name].append(out.timings["mask"])
    row = {k: {"wall_ms": round(float(np.median(v)), 2), "cpu_ms": round(float(np.median(cpu[k])), 2)}
           for k, v in wall.items()}
    for k, v in mask_ms.items():
        row[k]["mask_stage_ms"] = round(float(np.median(v)), 3)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--sizes", nargs="+", default=["1280x720"])
    parser.add_argument("--edge-scale", type=float, nargs="+", help="also time these masks.refine_edges scales")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "temporal_cost.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    result = {"machine": machine(), "frames": args.frames, "load_average": list(os.getloadavg()), "sizes": {}}
    print(f"{'size':>10} {'what':>9} {'wall ms':>8} {'cpu ms':>8} {'mask stage':>10}")
    for text in args.sizes:
        width, height = (int(v) for v in text.split("x"))
        row = run((width, height), args.frames, args.edge_scale)
        result["sizes"][text] = row
        for name, r in row.items():
            mask = r.get("mask_stage_ms", float("nan"))
            print(f"{text:>10} {name:>9} {r['wall_ms']:8.2f} {r['cpu_ms']:8.2f} {mask:10.3f}")
        extra = row["after"]["cpu_ms"] - row["before"]["cpu_ms"]
        print(f"{text:>10} after - before: {extra:+.2f} ms CPU")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
