"""Ablations of desktop_app.core.quality.segment_still on the evaluation set (tune split unless --split).

Each variant turns one step on or off (StillOptions); prints mean/worst IoU, boundary F and covered-people per
kind, and ms per picture on this machine (one onnxruntime and one OpenCV thread). Writes
bench/results/quality_experiments.json.

    .venv/bin/python bench/quality_experiments.py [--split tune|heldout] [--variants base,tiles,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import quality_metrics as qm  # noqa: E402

from desktop_app.core.quality import StillOptions, segment_still  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

NONE = StillOptions(whole=True, tile_frac=0.0, crops=False, specks=False, holes=False, snap=False, detect=False)
PHASE2 = replace(StillOptions(), detect=False, axis_crops=False)  # phase 2's default: the "default*" variants vary it
W13 = replace(StillOptions(), axis_crops=False)  # the detector's default (the "detect*" variants vary it)
_C1 = replace(NONE, crop_rounds=1, crop_merge=0.3, tiles_only_if_empty=True, tile_frac=0.5)
CHAIN: dict[str, StillOptions] = {  # the steps added one at a time, in the order docs/quality.md shows them
    "1 whole frame (as today; no refine)": replace(NONE, tile_frac=0.0),
    "2 + person crops": replace(_C1, tile_frac=0.0, crops=True),
    "3 + merge boxes only at 60% overlap": replace(_C1, tile_frac=0.0, crops=True, crop_merge=0.6),
    "4 + second crop round": replace(_C1, tile_frac=0.0, crops=True, crop_merge=0.6, crop_rounds=2),
    "5 + tiles when nobody is found": replace(_C1, crops=True, crop_merge=0.6, crop_rounds=2),
    "6 + guided-filter edges": replace(StillOptions(), detect=False),
    "7 + specks and holes": replace(StillOptions(), specks=True, holes=True, detect=False),
    "8 + find the people first": W13,
    "9 + crops along the bodies (default)": StillOptions(),
}
VARIANTS: dict[str, StillOptions] = {
    **CHAIN,
    "whole": NONE,
    "whole+crops": replace(NONE, crops=True),
    "letterbox": replace(NONE, letterbox=True),
    "default+letterbox": replace(PHASE2, letterbox=True),
    "default+both-min": replace(PHASE2, both_models="min"),
    "default+both-max": replace(PHASE2, both_models="max"),
    "default-1round": replace(PHASE2, crop_rounds=1),
    "default+3rounds": replace(PHASE2, crop_rounds=3),
    "tiles": replace(NONE, tile_frac=0.5, tiles_only_if_empty=False),
    "tiles.4": replace(NONE, tile_frac=0.4, tiles_only_if_empty=False),
    "tiles.6": replace(NONE, tile_frac=0.6, tiles_only_if_empty=False),
    "tiles+crops": replace(NONE, tile_frac=0.5, crops=True, tiles_only_if_empty=False),
    "tiles+crops(max)": replace(NONE, tile_frac=0.5, crops=True, crop_mode="max", tiles_only_if_empty=False),
    "tiles+crops+clean": replace(NONE, tile_frac=0.5, crops=True, specks=True, holes=True, tiles_only_if_empty=False),
    "default": PHASE2,
    "default+clean": replace(PHASE2, specks=True, holes=True),
    "whole+crops+clean": replace(NONE, crops=True, specks=True, holes=True),
    "whole+crops+clean+snap": replace(NONE, crops=True, specks=True, holes=True, snap=True),
    "whole+crops+clean+snap8": replace(NONE, crops=True, specks=True, holes=True, snap=True, snap_radius=0.008),
    "whole+crops+clean+snap2": replace(NONE, crops=True, specks=True, holes=True, snap=True, snap_radius=0.002),
    "whole+crops+clean+snap-eps": replace(NONE, crops=True, specks=True, holes=True, snap=True, snap_eps=1e-2),
    "whole+crops+snap": replace(NONE, crops=True, snap=True),
    "whole+crops+holes+snap": replace(NONE, crops=True, holes=True, snap=True),
    "fallback-tiles+crops+snap": replace(NONE, crops=True, snap=True, tile_frac=0.5, tiles_only_if_empty=True),
    "default-nomerge": replace(PHASE2, crop_merge=2.0),
    "default-merge.3": replace(PHASE2, crop_merge=0.3),
    "whole+crops.25": replace(NONE, crops=True, crop_margin=0.25),
    "whole+crops.08": replace(NONE, crops=True, crop_margin=0.08),
    # finding the people first (docs/quality.md "Finding the people first"); each: the default with one change
    "nodetect": replace(W13, detect=False),
    "detect": W13,
    "detect-square": replace(W13, region_aspect=1.0),
    "detect-square-pad.1": replace(W13, region_aspect=1.0, region_pad=0.1),
    "detect-aspect.6": replace(W13, region_aspect=0.6),
    "detect-aspect.5": replace(W13, region_aspect=0.5),
    "detect-pad.1": replace(W13, region_pad=0.1),
    "detect-pad.2": replace(W13, region_pad=0.2),
    "detect-body1.5": replace(W13, body_scale=1.5),
    "detect-notiles": replace(W13, detect_tile_frac=0.0),
    "detect-tilescore.8": replace(W13, detect_tile_score=0.8),
    "detect-nocrops": replace(W13, detect_crops=False),
    "detect-1round": replace(W13, crop_rounds=1),
    # W17: the feet and lower legs in group photos (the default now has axis crops 0.5, agreement 0.1);
    # each the W17 default with one change, or (axis.*, without agreement) the W13 default with axis crops
    "noaxis": replace(StillOptions(), axis_crops=False),
    "axis.6": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6),
    "axis.5": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.5),
    "axis.75": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.75),
    "axis.6-max.6": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6, axis_crop_max=0.6),
    "axis.6-max.75": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6, axis_crop_max=0.75),
    "axis.6-lower": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6, axis_parts="lower"),
    "axis.6-agree.1": replace(StillOptions(), axis_crop_size=0.6, axis_agree=0.1),
    "axis.6-agree.02": replace(StillOptions(), axis_crop_size=0.6, axis_agree=0.02),
    "axis.6-agree.05": replace(StillOptions(), axis_crop_size=0.6, axis_agree=0.05),
    "axis.6-agree.2": replace(StillOptions(), axis_crop_size=0.6, axis_agree=0.2),
    "axis.5-agree.1": replace(StillOptions(), axis_crop_size=0.5, axis_agree=0.1),
    "axis.6-connected": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6, axis_connected=True),
    "axis.6-lower-connected": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6, axis_parts="lower",
                                      axis_connected=True),
    "feet.1": replace(StillOptions(), axis_crops=False, region_feet=0.1),
    "feet.05": replace(StillOptions(), axis_crops=False, region_feet=0.05),
    "axis.6+feet.1": replace(StillOptions(), axis_agree=0.0, axis_crop_size=0.6, region_feet=0.1),
    # session 8: a tile's detection under the tiles' bar (0.9) gets a closer look from this score up (0.5 now)
    "noweak": replace(StillOptions(), weak_score=0.0),
    "weak.3": replace(StillOptions(), weak_score=0.3),
    "noown": replace(StillOptions(), own_region=False),  # a body's crop decides in its whole square, as before
    "exclusive": replace(StillOptions(), own_exclusive=True),  # ... and not in other people's regions
    "noface": replace(StillOptions(), face_look=False),  # the closer look asks the person detector only
}


def load(root: Path, split: str) -> list[dict]:
    manifest = json.loads((root / "manifest.json").read_text())
    items = []
    for s in manifest["stills"]:
        if s["split"] != split:
            continue
        stem = root / "stills" / s["name"]
        rgb = np.ascontiguousarray(cv2.imread(str(stem) + ".png")[..., ::-1])
        items.append({"name": s["name"], "kind": s["kind"], "rgb": rgb,
                      "truth": cv2.imread(str(stem) + ".truth.png", 0) > 0,
                      "inst": cv2.imread(str(stem) + ".inst.png", cv2.IMREAD_UNCHANGED)})
    return items


def run(segmenter: Segmenter, items: list[dict], options: StillOptions) -> dict:
    rows, times = [], []
    for it in items:
        t0 = time.perf_counter()
        pred = segment_still(segmenter, it["rgb"], options) >= 0.5
        times.append((time.perf_counter() - t0) * 1e3)
        rows.append({"kind": it["kind"], "name": it["name"], **qm.image_scores(pred, it["truth"], it["inst"])})
    out = {}
    for kind in ("full", "half", "third", "group", "all"):
        sel = [r for r in rows if kind in (r["kind"], "all")]
        if not sel:  # a set without this kind (the fresh composites have no "full")
            out[kind] = {"mean_iou": float("nan"), "worst_iou": float("nan"), "boundary_f": float("nan"),
                         "covered_90": float("nan")}
            continue
        out[kind] = {"mean_iou": round(float(np.mean([r["iou"] for r in sel])), 4),
                     "worst_iou": round(float(np.min([r["iou"] for r in sel])), 4),
                     "boundary_f": round(float(np.mean([r["boundary_f"] for r in sel])), 4),
                     "covered_90": round(float(np.mean([r["covered_90"] for r in sel])), 4)}
    out["ms_median"] = round(float(np.median(times)), 1)
    out["worst"] = sorted(rows, key=lambda r: r["iou"])[:3]
    return out


def time_12mp(segmenter: Segmenter, root: Path, repeat: int = 5) -> dict:
    """ms per 4000x3000 photo (tuning pictures upscaled) for each step added, median of `repeat` per picture."""
    from desktop_app.core.frames import Frame
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline

    names = ("P001-full-landscape", "P002-third-landscape", "P003-half-portrait")
    photos = []
    for name in names:
        rgb = cv2.imread(str(root / "stills" / f"{name}.png"))[..., ::-1]
        size = (4000, 3000) if rgb.shape[1] > rgb.shape[0] else (3000, 4000)
        photos.append(np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)))
    steps = CHAIN
    out: dict = {}
    pipeline = Pipeline(segmenter, EffectParams(effect="blur"), temporal=False)
    for label, fn in [("app pipeline (blur, incl. compose)", lambda rgb: pipeline.process(Frame(rgb, 0.0)))] + [
            (k, lambda rgb, o=o: segment_still(segmenter, rgb, o)) for k, o in steps.items()]:
        per = {}
        for name, rgb in zip(names, photos, strict=True):
            fn(rgb)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn(rgb)
                times.append((time.perf_counter() - t0) * 1e3)
            per[name] = round(float(np.median(times)), 1)
        out[label] = per
        print(f"{label:36} " + "  ".join(f"{n} {v:.0f} ms" for n, v in per.items()), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--split", default="tune", choices=("tune", "heldout"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--time-12mp", action="store_true", help="only time the steps on 12 MP photos")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_experiments.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    segmenter = Segmenter("auto", device="cpu", threads=1)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.time_12mp:
        results["ms_12mp_one_core"] = time_12mp(segmenter, args.set)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        return 0
    items = load(args.set, args.split)
    for name in args.variants.split(","):
        res = run(segmenter, items, VARIANTS[name])
        res["options"] = asdict(VARIANTS[name])
        results.setdefault(args.split, {})[name] = res
        cells = "  ".join(f"{k} {res[k]['mean_iou']:.3f}/{res[k]['worst_iou']:.3f}/{res[k]['boundary_f']:.2f}/"
                          f"{res[k]['covered_90']:.2f}" for k in ("full", "half", "third", "group", "all"))
        worst = ", ".join(f"{w['name']} {w['iou']:.2f}" for w in res["worst"])
        print(f"{name:20} {cells}  {res['ms_median']:.0f} ms   worst: {worst}", flush=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
