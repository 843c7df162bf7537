"""Issue #9's photo targets on a bench_quality.py result (e.g. the fresh composites), and error pictures.

    .venv/bin/python bench/quality_fresh_report.py bench/results/quality_fresh_seed1.json \
        [--method ours-detector] [--pictures DIR --set SET_DIR [--worst 3]] [--markdown FILE]

Per split (all kinds together), for `--method`: mean IoU >= 0.85 and >= the better MediaPipe model + 0.08,
worst image IoU >= 0.50, boundary F >= 0.60, and no person in a group picture under 90% covered. Lists every
picture that misses a per-picture target (IoU under 0.50, or a group picture with someone under 90%), with each
person's coverage. --pictures: the `--worst` lowest-IoU pictures of `--method` re-segmented by ours (fast),
ours-detector and both MediaPipe models, one error picture each side by side (bench_quality.error_picture:
missed person blue, false person red), written as DIR/<name>.png.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

MP_MODELS = ("mediapipe-general", "mediapipe-landscape")
SHOWN = ("ours", "ours-still-path", "ours-detector", *MP_MODELS)


def table_lines(result: dict[str, Any]) -> list[str]:
    lines = ["| method | split | kind | n | mean IoU | worst IoU | boundary F | people >= 90% covered |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for method in [m for m in SHOWN if m in result["table"]]:
        for split, kinds in result["table"][method].items():
            for kind, s in kinds.items():
                if s["n"]:
                    lines.append(f"| {method} | {split} | {kind} | {s['n']} | {s['mean_iou']:.3f} | "
                                 f"{s['worst_iou']:.3f} | {s['boundary_f']:.3f} | "
                                 f"{s['people'] - s['people_under_90']}/{s['people']} "
                                 f"({s['people_under_90']} under) |")
    return lines


def target_lines(result: dict[str, Any], method: str) -> list[str]:
    lines = ["| split | target | measured | status |", "| --- | --- | --- | --- |"]
    for split in ("tune", "heldout"):
        s = result["table"][method][split]["all"]
        best_mp = max(MP_MODELS, key=lambda m: result["table"][m][split]["all"]["mean_iou"])
        mp = result["table"][best_mp][split]["all"]["mean_iou"]
        groups = [r for r in result["per_image"][method] if r["split"] == split and r["kind"] == "group"]
        people = sum(r["people"] for r in groups)
        under = sum(r["under_90"] for r in groups)
        rows = [("mean IoU >= 0.85", f"{s['mean_iou']:.3f}", s["mean_iou"] >= 0.85),
                ("mean IoU >= best MediaPipe + 0.08", f"{s['mean_iou'] - mp:+.3f} ({best_mp} {mp:.3f})",
                 s["mean_iou"] >= mp + 0.08),
                ("worst image IoU >= 0.50", f"{s['worst_iou']:.3f}", s["worst_iou"] >= 0.50),
                ("boundary F >= 0.60", f"{s['boundary_f']:.3f}", s["boundary_f"] >= 0.60),
                ("no group person under 90% covered", f"{under} of {people} under", under == 0)]
        lines += [f"| {split} | {t} | {v} | {'met' if ok else 'NOT met'} |" for t, v, ok in rows]
    return lines


def misses(result: dict[str, Any], method: str) -> list[dict[str, Any]]:
    return [r for r in result["per_image"][method]
            if r["iou"] < 0.50 or (r["kind"] == "group" and r["under_90"])]


def write_pictures(set_dir: Path, names: list[str], folder: Path) -> list[Path]:
    import bench_quality as bq

    cv2.setNumThreads(1)
    ours = [bq.Ours(), bq.StillDetect()]
    ours[1].segmenter = ours[0].segmenter
    mp = bq.mediapipe_masks(set_dir, cached=True)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        stem = set_dir / "stills" / name
        rgb, truth = bq.read_rgb(stem.with_suffix(".png")), bq.read_mask(Path(f"{stem}.truth.png")) > 0
        preds = [o.still(rgb) for o in ours] + [bq.unpack(mp[f"{m}/{name}"], truth.shape) for m in MP_MODELS]
        tiles = [bq.error_picture(rgb, p, truth, height=360) for p in preds]
        sheet = np.hstack([np.pad(t, ((0, 0), (0, 6), (0, 0)), constant_values=255) for t in tiles])
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), sheet[..., ::-1])
        out.append(path)
        print(f"{path}: ours, ours-detector, {', '.join(MP_MODELS)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path)
    parser.add_argument("--method", default="ours-detector")
    parser.add_argument("--set", type=Path, help="the set the result scored (for --pictures)")
    parser.add_argument("--pictures", type=Path, help="write error pictures of the worst pictures here")
    parser.add_argument("--worst", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    result = json.loads(args.result.read_text())
    lines = [*table_lines(result), "", f"Targets ({args.method}):", "", *target_lines(result, args.method)]
    lines += ["", f"Pictures missing a per-picture target ({args.method}):", "",
              "| picture | split | kind | IoU | boundary F | coverage per person |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in misses(result, args.method):
        cover = ", ".join(f"{c:.3f}" for c in r.get("coverage", []))
        lines.append(f"| {r['name']} | {r['split']} | {r['kind']} | {r['iou']:.3f} | {r['boundary_f']:.3f} | {cover} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.pictures:
        if args.set is None:
            raise SystemExit("--pictures needs --set")
        worst = sorted(result["per_image"][args.method], key=lambda r: r["iou"])[: args.worst]
        write_pictures(args.set, [r["name"] for r in worst], args.pictures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
