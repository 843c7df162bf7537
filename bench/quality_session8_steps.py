"""Session 8's two stills steps, each added in turn, on the fixed set and on fresh composites (issue #9).

- `before`: the best stills path as it was (a tile's detection under 0.9 ignored; a detected body's crop decides
  in its whole square);
- `+ closer look`: a tile's detection from 0.5 up gets a closer look at its own body square and counts at 0.9
  there (`StillOptions.weak_score`, `people.second_look`);
- `+ own region`: a body's crop decides only inside that body's region, elsewhere in its square the maximum
  (`StillOptions.own_region`);
- `+ faces in the closer look` (the default now): where the person detector stays unsure, the bundled face detector
  may confirm the candidate (a face at 0.75 or more where it saw one; `StillOptions.face_look`).

Per set and split: mean / worst IoU, boundary F, people under 90% covered (in group pictures / in all), median ms
per still (one onnxruntime and one OpenCV thread), and every picture whose IoU moved by more than 0.002.

    .venv/bin/python bench/quality_session8_steps.py [--sets .cache/evalset,.cache/evalset-fresh-seed1,...]
        [--splits tune,heldout] [--out bench/results/quality_session8_steps.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import quality_metrics as qm  # noqa: E402
from quality_experiments import load  # noqa: E402

from desktop_app.core.quality import StillOptions, segment_still  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

STEPS = {
    "before": replace(StillOptions(), weak_score=0.0, own_region=False),
    "+ closer look": replace(StillOptions(), own_region=False, face_look=False),
    "+ own region": replace(StillOptions(), face_look=False),
    "+ faces in the closer look (default)": StillOptions(),
}


def score(segmenter: Segmenter, items: list[dict], options: StillOptions) -> dict:
    rows = []
    for it in items:
        start = time.perf_counter()
        pred = segment_still(segmenter, it["rgb"], options) >= 0.5
        ms = (time.perf_counter() - start) * 1e3
        scores = qm.image_scores(pred, it["truth"], it["inst"])
        cover = [float(c) for c in qm.person_coverage(pred, it["inst"])]
        rows.append({"name": it["name"], "kind": it["kind"], "iou": round(scores["iou"], 4),
                     "boundary_f": round(scores["boundary_f"], 4), "ms": round(ms, 1),
                     "coverage": [round(c, 3) for c in cover], "under_90": sum(c < 0.9 for c in cover)})
    groups = [r["under_90"] for r in rows if r["kind"] == "group"]
    return {"n": len(rows), "mean_iou": round(float(np.mean([r["iou"] for r in rows])), 4),
            "worst_iou": round(float(min(r["iou"] for r in rows)), 4),
            "boundary_f": round(float(np.mean([r["boundary_f"] for r in rows])), 4),
            "group_people": sum(len(r["coverage"]) for r in rows if r["kind"] == "group"),
            "group_under_90": int(sum(groups)), "all_under_90": int(sum(r["under_90"] for r in rows)),
            "ms_median": round(float(np.median([r["ms"] for r in rows])), 1), "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sets = [".cache/evalset"] + [f".cache/evalset-fresh-seed{seed}" for seed in range(1, 6)]
    parser.add_argument("--sets", default=",".join(sets))
    parser.add_argument("--splits", default="tune,heldout")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_session8_steps.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    segmenter = Segmenter("auto", device="cpu", threads=1)
    result: dict = {}
    for root in args.sets.split(","):
        for split in args.splits.split(","):
            items = load(REPO / root, split)
            base = None
            for step, options in STEPS.items():
                res = score(segmenter, items, options)
                moved = [] if base is None else [
                    {"name": r["name"], "iou": [b["iou"], r["iou"]], "coverage": [b["coverage"], r["coverage"]]}
                    for b, r in zip(base, res["rows"], strict=True) if abs(r["iou"] - b["iou"]) > 0.002]
                base = res.pop("rows") if base is None else base
                res.pop("rows", None)
                res["moved"] = moved
                result.setdefault(Path(root).name, {}).setdefault(split, {})[step] = res
                cells = (f"mean {res['mean_iou']:.4f} worst {res['worst_iou']:.3f} bF {res['boundary_f']:.4f} "
                         f"group under 90% {res['group_under_90']}/{res['group_people']} "
                         f"all under 90% {res['all_under_90']}  {res['ms_median']:.0f} ms")
                print(f"{Path(root).name:22} {split:8} {step:38} {cells}", flush=True)
                for m in moved:
                    print(f"    {m['name']:44} IoU {m['iou'][0]:.3f} -> {m['iou'][1]:.3f}  "
                          f"covered {m['coverage'][0]} -> {m['coverage'][1]}", flush=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
