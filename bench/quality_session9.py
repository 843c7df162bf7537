"""Session 9's stills variants (issue #9), each the default best stills path with one change, on the fixed set and
on fresh composites, two worker processes side by side (one onnxruntime and one OpenCV thread each).

Per set and split: mean / worst IoU, boundary F, group people under 90% covered, median ms per still, and every
picture whose IoU moved by more than 0.005 against the default (or whose coverage crossed 90%).

    .venv/bin/python bench/quality_session9.py --variants default,flip-mean [--splits tune]
        [--sets .cache/evalset,.cache/evalset-fresh-seed1,...] [--out bench/results/quality_session9.json]
    .venv/bin/python bench/quality_session9.py --time-12mp group3-P001-P002-P003,P002-third-landscape
        [--time-variants no-head,default]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import quality_metrics as qm  # noqa: E402
from quality_experiments import load  # noqa: E402

from desktop_app.core.quality import StillOptions, segment_still  # noqa: E402

VARIANTS: dict[str, StillOptions] = {
    "default": StillOptions(),
    "session8": replace(StillOptions(), bodies=""),
    "flip-mean": replace(StillOptions(), flip="mean"),
    "flip-max": replace(StillOptions(), flip="max"),
    "bodies-replace": replace(StillOptions(), bodies="replace"),
    "bodies-mean": replace(StillOptions(), bodies="mean"),
    "bodies-max": replace(StillOptions(), bodies="max"),
    "axis-agree0": replace(StillOptions(), axis_agree=0.0),
    "feet.05": replace(StillOptions(), region_feet=0.05),
    "snap.008": replace(StillOptions(), snap_radius=0.008),
    "axis.4": replace(StillOptions(), axis_crop_size=0.4),
    "no-sharpen": replace(StillOptions(), sharpen=False),
    "nose0": replace(StillOptions(), nose_margin=0.0),
    "no-unexplained": replace(StillOptions(), unexplained=0.0),
    "unexplained.01": replace(StillOptions(), unexplained=0.01),
    "nose.5": replace(StillOptions(), nose_margin=0.5),
    "no-head": replace(StillOptions(), head_crops=0.0),
    "head.6": replace(StillOptions(), head_crops=0.6),
    "head.8": replace(StillOptions(), head_crops=0.8),
    "head-anyone": replace(StillOptions(), head_side_by_side=False),
    "no-agree": replace(StillOptions(), body_agree=0.0),
    "agree.05": replace(StillOptions(), body_agree=0.05, body_agree_open=0, body_agree_shared=False),
    "agree.1": replace(StillOptions(), body_agree=0.1, body_agree_open=0, body_agree_shared=False),
    "agree.2": replace(StillOptions(), body_agree=0.2, body_agree_open=0, body_agree_shared=False),
    "agree.05-o5": replace(StillOptions(), body_agree=0.05, body_agree_open=5, body_agree_shared=False),
    "agree.05-o9": replace(StillOptions(), body_agree=0.05, body_agree_open=9, body_agree_shared=False),
    "agree.2-o5": replace(StillOptions(), body_agree=0.2, body_agree_open=5, body_agree_shared=False),
    "agree.2-o9": replace(StillOptions(), body_agree=0.2, body_agree_open=9, body_agree_shared=False),
    "agree0-o9": replace(StillOptions(), body_agree=1e-6, body_agree_open=9, body_agree_shared=False),
    "agree.05-sh": replace(StillOptions(), body_agree=0.05, body_agree_open=0, body_agree_shared=True),
    "agree.05-o9-sh": replace(StillOptions(), body_agree=0.05, body_agree_open=9, body_agree_shared=True),
    "agree0-sh": replace(StillOptions(), body_agree=1e-6, body_agree_open=0, body_agree_shared=True),
    "agree0-o9-sh": replace(StillOptions(), body_agree=1e-6, body_agree_open=9, body_agree_shared=True),
    "agree.05-o5-sh": replace(StillOptions(), body_agree=0.05, body_agree_open=5, body_agree_shared=True),
    "agree.05-o13-sh": replace(StillOptions(), body_agree=0.05, body_agree_open=13, body_agree_shared=True),
    "agree.1-o9-sh": replace(StillOptions(), body_agree=0.1, body_agree_open=9, body_agree_shared=True),
    "agree.2-o9-sh": replace(StillOptions(), body_agree=0.2, body_agree_open=9, body_agree_shared=True),
}


def _score(job: tuple[str, str, str]) -> dict:
    variant, root, split = job
    from desktop_app.core.segmenter import Segmenter

    cv2.setNumThreads(1)
    segmenter = Segmenter("auto", device="cpu", threads=1)
    options = VARIANTS[variant]
    rows = []
    for it in load(REPO / root, split):
        start = time.perf_counter()
        pred = segment_still(segmenter, it["rgb"], options) >= 0.5
        ms = (time.perf_counter() - start) * 1e3
        scores = qm.image_scores(pred, it["truth"], it["inst"])
        cover = [float(c) for c in qm.person_coverage(pred, it["inst"])]
        rows.append({"name": it["name"], "kind": it["kind"], "iou": round(scores["iou"], 4),
                     "boundary_f": round(scores["boundary_f"], 4), "ms": round(ms, 1),
                     "coverage": [round(c, 4) for c in cover]})
    groups = [c for r in rows if r["kind"] == "group" for c in r["coverage"]]
    return {"variant": variant, "set": Path(root).name, "split": split, "n": len(rows),
            "mean_iou": round(float(np.mean([r["iou"] for r in rows])), 4),
            "worst_iou": round(float(min(r["iou"] for r in rows)), 4),
            "boundary_f": round(float(np.mean([r["boundary_f"] for r in rows])), 4),
            "group_people": len(groups), "group_under_90": int(sum(c < 0.9 for c in groups)),
            "ms_median": round(float(np.median([r["ms"] for r in rows])), 1), "rows": rows}


def time_12mp(names: list[str], root: Path, repeat: int = 5, variants: tuple[str, ...] = ("session8", "default")
              ) -> dict:
    """ms per 12 MP photo (evaluation stills upscaled to 4000x3000 / 3000x4000) for `variants` (session 8's path and
    today's), alternating, median of `repeat` each."""
    from desktop_app.core.segmenter import Segmenter

    cv2.setNumThreads(1)
    segmenter = Segmenter("auto", device="cpu", threads=1)
    out: dict = {}
    for name in names:
        rgb = cv2.imread(str(root / "stills" / f"{name}.png"))[..., ::-1]
        size = (4000, 3000) if rgb.shape[1] > rgb.shape[0] else (3000, 4000)
        photo = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC))
        times: dict[str, list[float]] = {v: [] for v in variants}
        for variant in times:
            segment_still(segmenter, photo, VARIANTS[variant])  # warm-up (models loaded once)
        for _ in range(repeat):
            for variant, bucket in times.items():
                start = time.perf_counter()
                segment_still(segmenter, photo, VARIANTS[variant])
                bucket.append((time.perf_counter() - start) * 1e3)
        out[name] = {v: round(float(np.median(t)), 1) for v, t in times.items()}
        print(f"12 MP {name:36} " + "  ".join(f"{v} {ms:.0f} ms" for v, ms in out[name].items()), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sets = [".cache/evalset"] + [f".cache/evalset-fresh-seed{seed}" for seed in range(1, 5)]
    parser.add_argument("--sets", default=",".join(sets))
    parser.add_argument("--splits", default="tune")
    parser.add_argument("--variants", default="default")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_session9.json")
    parser.add_argument("--time-12mp", default="", help="only time these stills (comma-separated) at 12 MP")
    parser.add_argument("--time-variants", default="session8,default", help="the variants --time-12mp times")
    args = parser.parse_args()
    if args.time_12mp:
        timed = time_12mp(args.time_12mp.split(","), REPO / args.sets.split(",")[0],
                          variants=tuple(args.time_variants.split(",")))
        old = json.loads(args.out.read_text()) if args.out.exists() else {}
        old["time_12mp_ms"] = timed
        args.out.write_text(json.dumps(old, indent=1) + "\n")
        return 0
    jobs = [(v, root, split) for v in args.variants.split(",") for root in args.sets.split(",")
            for split in args.splits.split(",")]
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_score, jobs))
    for res in results:
        old.setdefault(res["set"], {}).setdefault(res["split"], {})[res["variant"]] = res
    args.out.write_text(json.dumps(old, indent=1) + "\n")
    totals: dict[str, list[float]] = {}
    for res in results:
        base = old[res["set"]][res["split"]].get("default")
        cells = (f"mean {res['mean_iou']:.4f} worst {res['worst_iou']:.3f} bF {res['boundary_f']:.4f} "
                 f"group under 90% {res['group_under_90']}/{res['group_people']}  {res['ms_median']:.0f} ms")
        print(f"{res['set']:22} {res['split']:8} {res['variant']:22} {cells}")
        t = totals.setdefault(res["variant"], [0.0, 0, 0, 0.0])
        t[0] += res["mean_iou"] * res["n"]
        t[1] += res["n"]
        t[2] += res["group_under_90"]
        t[3] = min(t[3] or 1.0, res["worst_iou"])
        if base is None or res["variant"] == "default":
            continue
        for b, r in zip(base["rows"], res["rows"], strict=True):
            crossed = any((x < 0.9) != (y < 0.9) for x, y in zip(b["coverage"], r["coverage"], strict=True))
            if abs(r["iou"] - b["iou"]) > 0.005 or crossed:
                print(f"    {r['name']:44} IoU {b['iou']:.3f} -> {r['iou']:.3f}  covered {b['coverage']} -> "
                      f"{r['coverage']}")
    for variant, (s, n, under, worst) in totals.items():
        print(f"TOTAL {variant:22} mean {s / n:.4f} over {n}  group under 90% {under}  worst {worst:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
