"""Cost of W16's steadier live edges (issue #9): the 720p blur pipeline end to end as before #9's temporal work,
as it was before W16 (gated guide and gated refined edge off), and as it is now, side by side in one run.

bench_temporal_cost's measurement (`desktop_app.benchmark.run_effect`, one ORT and one OpenCV thread), in blocks
that rotate which variant goes first; medians over the blocks.

    .venv/bin/python bench/bench_edge_steady_cost.py [--frames 100] [--blocks 6] [--sizes 1280x720 ...]
    -> bench/results/edge_steady_cost.json
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

from bench_temporal_cost import KEYS, before_pipeline  # noqa: E402

from desktop_app import benchmark  # noqa: E402
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402


def pre_w16_pipeline(*args: object, **kwargs: object) -> Pipeline:
    """Today's pipeline with the gated guide and the gated refined edge switched off."""
    pipe = Pipeline(*args, **kwargs)  # type: ignore[arg-type]
    pipe._refiner.steady = lambda alpha: alpha  # type: ignore[method-assign]
    pipe._refiner.steady_guide = lambda grey: grey  # type: ignore[method-assign]
    return pipe


VARIANTS = {"before #9": before_pipeline, "before W16": pre_w16_pipeline, "now": Pipeline}


def run(seg: Segmenter, size: tuple[int, int], frames: int, blocks: int) -> dict:
    base, _ = benchmark.sample_frames()
    clip = [bg.cover_fit(f, size) for f in base]
    names = list(VARIANTS)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for block in range(blocks):
            for name in names[block % 3:] + names[:block % 3]:
                benchmark.Pipeline = VARIANTS[name]  # type: ignore[assignment]
                rows[name].append(benchmark.run_effect(seg, clip, EffectParams(effect="blur"), frames))
    finally:
        benchmark.Pipeline = Pipeline  # type: ignore[assignment]
    return {name: {k: round(float(np.median([r[k] for r in block_rows])), 2) for k in KEYS}
            for name, block_rows in rows.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per variant")
    parser.add_argument("--sizes", nargs="+", default=["1280x720"])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "edge_steady_cost.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    seg = Segmenter(device="cpu", threads=1)
    result = {"machine": benchmark.machine(), "frames_per_block": args.frames, "blocks": args.blocks, "sizes": {}}
    print(f"{'size':>10} {'what':>11} {'wall ms':>8} {'cpu ms':>8} {'model cpu':>9} {'mask':>6} {'compose':>8}")
    for text in args.sizes:
        width, height = (int(v) for v in text.split("x"))
        row = run(seg, (width, height), args.frames, args.blocks)
        result["sizes"][text] = row
        for name, r in row.items():
            print(f"{text:>10} {name:>11} {r['total']:8.2f} {r['total_cpu']:8.2f} {r['model_only_cpu']:9.2f} "
                  f"{r['mask']:6.2f} {r['compose']:8.2f}")
    result["load_average"] = list(os.getloadavg())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
