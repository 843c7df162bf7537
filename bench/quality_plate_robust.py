"""The background plate (core.plate, session 19) where the set's clips are kind to it: every clip pans by whole
pixels with a steady exposure. Tune clips perturbed three ways, video files at quality best with and without it:

- `exposure`: the frame's gain swinging +-12% over 90 frames (auto-exposure hunting);
- `subpixel`: the camera drifting 0.37 px right and 0.13 px down a frame (a slow pan);
- `jitter`: the whole frame shaken by up to 2 px a frame (hand-held), the person with it.
The truth is moved the same way. Flicker as a multiple of before #9's on the same perturbed frames.

    .venv/bin/python bench/quality_plate_robust.py [--clips call-P002,call-P005]
        -> bench/results/quality_plate_robust.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "tools")]

import bench_quality as bq  # noqa: E402
import quality_live_variants as qlv  # noqa: E402
import quality_metrics as qm  # noqa: E402

KINDS = ("exposure", "subpixel", "jitter")


def perturbed(frames: list[np.ndarray], truths: list[np.ndarray], kind: str) -> tuple[list, list]:
    rng = np.random.default_rng(7)
    out_f, out_t = [], []
    for t, (rgb, truth) in enumerate(zip(frames, truths, strict=True)):
        if kind == "exposure":
            gain = 1.0 + 0.12 * np.sin(2 * np.pi * t / 90)
            out_f.append(np.clip(rgb.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8))
            out_t.append(truth)
            continue
        dx, dy = (0.37 * t, 0.13 * t) if kind == "subpixel" else (rng.uniform(-2, 2), rng.uniform(-2, 2))
        m = np.float32([[1, 0, dx - 25], [0, 1, dy - 10]])
        size = (rgb.shape[1], rgb.shape[0])
        out_f.append(cv2.warpAffine(rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
        out_t.append(cv2.warpAffine(truth.astype(np.float32), m, size, flags=cv2.INTER_LINEAR) >= 0.5)
    return out_f, out_t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="call-P002,call-P005")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_plate_robust.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    segmenter = bq.Ours().segmenter
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    for clip in args.clips.split(","):
        frames, truths = qlv.load_clip(clip)
        for kind in KINDS:
            f, t = perturbed(frames, truths, kind)
            before = bq.OursBefore()
            before.segmenter = segmenter
            base = qm.flicker(before.clip(f), t)
            rows = {}
            for plate in (False, True):
                s = qm.video_scores(qlv._video(f, segmenter, plate=plate), t)
                rows["plate" if plate else "no-plate"] = {
                    "x_before": round(s["flicker"] / base, 3), "boundary_f": round(float(s["boundary_f"]), 4),
                    "moving_iou": round(float(s["moving_iou"]), 4), "lag": int(s["lag"])}
            result[f"{clip}/{kind}"] = rows
            print(clip, kind, rows, flush=True)
            args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
