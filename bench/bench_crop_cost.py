"""Cost of session 13's live crop (issue #9, `core.person_crop`): the live blur pipeline end to end with the model
on the whole frame (before), on a square crop around the person (now) and, since session 14, with live quality
"best" (the edges snapped at half the frame's size, `edges_full.refine_edges_half`), side by side in one run; and
the crop with session 13's live edge fit (a quarter of the grid, not half: `crop, s13 edges`).

bench_core's measurement (`desktop_app.benchmark.run_effect`: one ORT and one OpenCV thread, the bundled sample
video's frames resized to each size), in blocks that alternate which variant goes first; medians over the blocks.

    .venv/bin/python bench/bench_crop_cost.py [--frames 100] [--blocks 8] [--sizes 1280x720 640x480]
    -> bench/results/crop_cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app import benchmark  # noqa: E402
from desktop_app.core import edges_full  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

KEYS = ("total_cpu", "total", "inference", "resize", "mask", "compose", "model_only_cpu", "p90_total")


def edge_step_ms(frames: list) -> dict[str, float]:
    """`refine_edges_colour` alone at 720p's 256x144 grid, fitted at a quarter (session 13) and half (now) of it."""
    import time

    import numpy as np

    rgb = cv2.resize(frames[0], (1280, 720), interpolation=cv2.INTER_AREA)
    alpha = cv2.GaussianBlur((np.indices((144, 256))[1] > 128).astype(np.float32), (0, 0), 2)
    out = {}
    saved = edges_full.LIVE_FIT_DIVISOR
    for divisor in (4, 2):
        edges_full.LIVE_FIT_DIVISOR = divisor
        times = []
        for _ in range(300):
            start = time.thread_time()
            edges_full.refine_edges_colour(rgb, alpha)
            times.append((time.thread_time() - start) * 1e3)
        out[f"fit_divisor_{divisor}"] = round(statistics.median(times), 3)
    edges_full.LIVE_FIT_DIVISOR = saved
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "640x480"])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "crop_cost.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    seg = Segmenter("auto", device="cpu", threads=1)
    divisor_now = edges_full.LIVE_FIT_DIVISOR
    source, name = benchmark.sample_frames(24)
    out: dict = {"benchmark": "bench_crop_cost", "frames": name, "sizes": {}}
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in source]
        variants = {"whole frame": (False, "fast", 2), "crop, s13 edges": (True, "fast", 4),
                    "crop": (True, "fast", 2), "crop, live best": (True, "best", 2)}
        rows: dict[str, list[dict]] = {name: [] for name in variants}
        for block in range(args.blocks):
            order = list(variants) if block % 2 == 0 else list(variants)[::-1]
            for name in order:
                crop, live_quality, divisor = variants[name]
                params = EffectParams(effect="blur", live_quality=live_quality)
                edges_full.LIVE_FIT_DIVISOR = divisor
                rows[name].append(benchmark.run_effect(seg, frames, params, args.frames, crop=crop))
        edges_full.LIVE_FIT_DIVISOR = divisor_now
        table = {k: {key: round(statistics.median(r[key] for r in v), 3) for key in KEYS} | {
            "cropped_frames_per_block": v[0]["cropped_frames"]} for k, v in rows.items()}
        out["sizes"][size] = table
        for k, row in table.items():
            print(f"{size:9} {k:16} " + " ".join(f"{key} {row[key]}" for key in (*KEYS, "cropped_frames_per_block")))
    out["edge_step_ms_720p_grid"] = edge_step_ms(source)
    print("edge step alone (256x144 grid, 720p frame):", out["edge_step_ms_720p_grid"])
    out["load_after"] = os.getloadavg()
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
