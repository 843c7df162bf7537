"""Fresh call clips (issue #9, session 13): the live paths on people and backgrounds the clips were not tuned on.

The fixed set has two clips (call-P002 tune, call-P008 held out). This builds one more clip per other person of the
set (tools/build_evalset.py's `build_video`: the same motion, the camera panning; each person on a background of
their own) into .cache/evalset-clips-fresh/, and scores on each, side by side: live before session 13 (the whole
frame), live now (the crop around the person, core.person_crop) and the video files' path. Nothing was tuned on
these clips. Flicker is also given against today's pipeline before #9 (the plain moving average, no edges).

    .venv/bin/python bench/quality_fresh_clips.py [--people P001,P003,...] -> bench/results/quality_fresh_clips.json
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
import build_evalset as be  # noqa: E402
import quality_metrics as qm  # noqa: E402

OUT = REPO / ".cache" / "evalset-clips-fresh"


def build(people: list[str]) -> list[str]:
    clips = []
    for i, pid in enumerate(people):
        clip = f"call-{pid}"
        if not (OUT / "video" / clip / f"{be.VIDEO_FRAMES - 1:03d}.truth.png").exists():
            cutouts = {f"{pid}/portrait": be.load_person(pid, "portrait")}
            be.build_video(OUT, clip, pid, be.BACKGROUNDS[(i + 1) % len(be.BACKGROUNDS)], cutouts)
        clips.append(clip)
    return clips


def load(clip: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    folder = OUT / "video" / clip
    frames, truths = [], []
    for t in range(be.VIDEO_FRAMES):
        frames.append(np.ascontiguousarray(cv2.imread(str(folder / f"{t:03d}.png"))[..., ::-1]))
        truths.append(cv2.imread(str(folder / f"{t:03d}.truth.png"), 0) > 0)
    return frames, truths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    others = [p for p in be.TUNE + be.HELD_OUT if p not in ("P002", "P008")]
    parser.add_argument("--people", default=",".join(others))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "quality_fresh_clips.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clips = build(args.people.split(","))
    base = bq.Ours()
    methods: list[bq.Ours] = [bq.OursBefore(), bq.OursLiveNoCrop(), bq.OursLive(), base]
    for m in methods:
        m.segmenter = base.segmenter
    table: dict[str, dict] = {}
    for clip in clips:
        frames, truths = load(clip)
        rows = {}
        for m in methods:
            preds = m.clip(frames)
            s = qm.video_scores(preds, truths)
            still, _ = bq.still_flicker(preds, truths)
            rows[m.name] = {k: round(float(v), 5) for k, v in s.items()} | {"still_flicker": round(still, 5)}
        before = rows["ours-before"]["flicker"]
        for name, row in rows.items():
            row["flicker_x_before"] = round(row["flicker"] / before, 3)
            print(f"{clip:10} {name:18} IoU moving {row['moving_iou']:.3f} bF {row['boundary_f']:.3f} flicker "
                  f"{row['flicker']:.4f} ({row['flicker_x_before']:.2f}x) still {row['still_flicker']:.5f} "
                  f"lag {row['lag']:.0f}", flush=True)
        table[clip] = rows
    names = [m.name for m in methods]
    mean = {n: round(float(np.mean([table[c][n]["flicker_x_before"] for c in clips])), 3) for n in names}
    print("mean flicker x before #9:", mean)
    args.json.write_text(json.dumps({"benchmark": "quality_fresh_clips", "clips": table,
                                     "mean_flicker_x_before": mean}, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
