"""Cost of the live temporal + edge steps (issue #9): the blur pipeline end to end, before and after, side by side.

bench_core's own measurement (`desktop_app.benchmark.run_effect`: the model alone and the pipeline alternately
on each frame, one ORT and one OpenCV thread, the bundled sample video cover-fitted to the size), run in blocks
that rotate between the pipeline as before #9 (plain moving average, plain upsample), as before W19 (change-gated
average + hysteresis + `masks.refine_edges` at the grid: live now) and with the edges at full resolution
(`edges_full.refine_edges_full`: video files now), who goes first rotating too; medians over the blocks.
Interleaving the pipelines frame by frame instead was measured to charge ~1 ms of cache/allocator noise to
whichever runs second, so blocks.

    .venv/bin/python bench/bench_temporal_cost.py [--frames 100] [--blocks 6] [--sizes 1280x720 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_quality import LegacyEMA  # noqa: E402

from desktop_app import benchmark  # noqa: E402
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

KEYS = ("total", "total_cpu", "model_only_cpu", "mask", "compose")


def before_pipeline(*args: object, **kwargs: object) -> Pipeline:
    """The pipeline as it was before: plain moving average, no edge refinement."""
    pipe = Pipeline(*args, **kwargs)  # type: ignore[arg-type]
    pipe._refiner = LegacyEMA()
    pipe.edges = False
    return pipe


def full_edges_pipeline(*args: object, **kwargs: object) -> Pipeline:
    """The pipeline with W19's edges at full resolution (the video-file path; live keeps the grid edges)."""
    pipe = Pipeline(*args, **kwargs)  # type: ignore[arg-type]
    pipe.full_edges = True
    return pipe


VARIANTS = {"before": before_pipeline, "grid edges": Pipeline, "after": full_edges_pipeline}


def run(seg: Segmenter, size: tuple[int, int], frames: int, blocks: int) -> dict:
    base, _ = benchmark.sample_frames()
    clip = [bg.cover_fit(f, size) for f in base]
    names = list(VARIANTS)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for block in range(blocks):
            for name in names[block % len(names):] + names[:block % len(names)]:
                benchmark.Pipeline = VARIANTS[name]  # type: ignore[assignment]
                rows[name].append(benchmark.run_effect(seg, clip, EffectParams(effect="blur"), frames))
    finally:
        benchmark.Pipeline = Pipeline  # type: ignore[assignment]
    out = {name: {k: round(float(np.median([r[k] for r in block_rows])), 2) for k in KEYS}
           for name, block_rows in rows.items()}
    for name, block_rows in rows.items():
        out[name]["blocks_total_cpu"] = [round(r["total_cpu"], 2) for r in block_rows]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per variant")
    parser.add_argument("--sizes", nargs="+", default=["1280x720"])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "temporal_cost.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    seg = Segmenter(device="cpu", threads=1)
    result = {"machine": benchmark.machine(), "frames_per_block": args.frames, "blocks": args.blocks, "sizes": {}}
    print(f"{'size':>10} {'what':>10} {'wall ms':>8} {'cpu ms':>8} {'model cpu':>9} {'mask':>6} {'compose':>8}")
    for text in args.sizes:
        width, height = (int(v) for v in text.split("x"))
        row = run(seg, (width, height), args.frames, args.blocks)
        result["sizes"][text] = row
        for name, r in row.items():
            print(f"{text:>10} {name:>10} {r['total']:8.2f} {r['total_cpu']:8.2f} {r['model_only_cpu']:9.2f} "
                  f"{r['mask']:6.2f} {r['compose']:8.2f}")
        print(f"{text:>10} after - before: {row['after']['total_cpu'] - row['before']['total_cpu']:+.2f} ms CPU, "
              f"after - grid edges: {row['after']['total_cpu'] - row['grid edges']['total_cpu']:+.2f} ms CPU")
    result["load_average"] = list(os.getloadavg())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
