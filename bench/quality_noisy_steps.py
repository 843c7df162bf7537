"""Where a still person's flicker comes from on a noisy clip (issue #9): today's clip pipeline with its temporal
steps switched off one at a time, on the tune clip only (call-P002-noisy, and its clean twin), no tuning.

    .venv/bin/python bench/quality_noisy_steps.py [--clips call-P002-noisy,call-P002]
    -> bench/results/quality_clips_noisy_steps.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import bench_quality as bq  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402

VARIANTS = {"now (gated average + hysteresis + edge refinement)": {}, "now, edge refinement off": {"edges": False},
            "no smoothing, edge refinement on": {"smoothing": 0.0},
            "no smoothing, edge refinement off (the model alone)": {"smoothing": 0.0, "edges": False},
            "before (plain moving average, no edge refinement)": {"legacy": True, "edges": False}}


def run(segmenter: object, frames: list[np.ndarray], smoothing: float = 0.5, edges: bool = True,
        legacy: bool = False) -> list[np.ndarray]:
    pipeline = Pipeline(segmenter, EffectParams(effect="blur", smoothing=smoothing), temporal=True)
    if legacy:
        pipeline._refiner = bq.LegacyEMA()
    pipeline.edges = edges
    return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask >= 0.5 for i, f in enumerate(frames)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--clips", default="call-P002-noisy,call-P002")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_clips_noisy_steps.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    segmenter = bq.Ours().segmenter
    result: dict[str, dict] = {}
    for clip in args.clips.split(","):
        folder = args.set / "video" / clip
        count = len(list(folder.glob("*.truth.png")))
        frames = [bq.read_rgb(folder / f"{t:03d}.png") for t in range(count)]
        truths = [bq.read_mask(folder / f"{t:03d}.truth.png") > 0 for t in range(count)]
        result[clip] = {}
        for name, kwargs in VARIANTS.items():
            s = bq.clip_scores(run(segmenter, frames, **kwargs), truths)
            result[clip][name] = s
            print(f"{clip:16} {name:52} flicker {s['flicker']:.4f} still {s['still_flicker']:.5f} "
                  f"moving {s['moving_iou']:.3f} bF {s['boundary_f']:.3f} lag {s['lag']}", flush=True)
    args.out.write_text(json.dumps({"clips": result, "command": " ".join(sys.argv[1:])}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
