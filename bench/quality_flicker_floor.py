"""What flicker a perfectly steady mask scores when it misses (or overshoots) the person by a few pixels (session 15).

Flicker (bench/quality_metrics.py) counts the mask's pixels that change from one frame to the next where the truth
does not. A mask whose edge lies r pixels inside the person's, the same in every frame, still changes where the
person moves, r pixels inside the truth's edge, where the truth stays person: for r at least the motion of a frame
it is counted in full. This script scores the truth itself eroded (and dilated) by r pixels on each clip, so a clip's
flicker can be read against the floor that its boundary error alone sets: on grass and gravel, where the model
misses frizzy hair by several pixels (boundary F 0.52-0.72), that floor is above before #9's own flicker.

    .venv/bin/python bench/quality_flicker_floor.py [--clips call-P007-grass call-P009-gravel ...]
        -> bench/results/quality_flicker_floor.json
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

import quality_live_variants as qv  # noqa: E402
import quality_metrics as qm  # noqa: E402

RADII = (1, 2, 4, 8)
DEFAULT_CLIPS = ["call-P008", "call-P006", "call-P007", "call-P009", "call-P010", *qv.HELD_OUT2]


def shifted(truths: list[np.ndarray], radius: int, grow: bool) -> list[np.ndarray]:
    """Every truth mask eroded (or dilated, `grow`) by a disc of `radius` pixels: the same error in every frame."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    op = cv2.dilate if grow else cv2.erode
    return [op(t.astype(np.uint8), kernel) > 0 for t in truths]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=DEFAULT_CLIPS)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "quality_flicker_floor.json")
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    for clip in args.clips:
        _, truths = qv.load_clip(clip)
        row: dict[str, float] = {}
        for radius in RADII:
            for grow in (False, True):
                preds = shifted(truths, radius, grow)
                key = f"{'dilated' if grow else 'eroded'}_{radius}px"
                row[f"{key}_flicker"] = round(qm.flicker(preds, truths), 5)
                row[f"{key}_boundary_f"] = round(float(np.mean([qm.boundary_f(p, t) for p, t in
                                                               zip(preds, truths, strict=True)])), 4)
        rows[clip] = row
        print(f"{clip:18} " + " ".join(f"{k.removesuffix('_flicker')} {v:.4f}" for k, v in row.items()
                                       if k.endswith("_flicker")), flush=True)
    args.json.write_text(json.dumps({"benchmark": "quality_flicker_floor", "note": __doc__.splitlines()[0],
                                     "clips": rows}, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
