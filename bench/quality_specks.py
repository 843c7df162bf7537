"""W39b's speck step on the stills, side by side (issue #9, session 6 round two): every still of the set through
the pipeline with and without `MaskRefiner.despeckle`, and what changes: IoU, boundary F, the people covered under
90% and the worst coverage. The stills' fast path (bench_quality's `ours`: `temporal=False`) has no edge step and
so no speck step: identical by construction. What is checked is the LIVE pipeline (`temporal=True`: colour edges
at the grid, then the speck step) given each still as a camera frame (`--pipeline live`, the default), and the video
files' one (`--pipeline video`: full-resolution edges): groups and raised hands in front of a camera.

    .venv/bin/python bench/quality_specks.py  # -> bench/results/quality_specks_stills.json
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

import bench_quality as bq  # noqa: E402
import quality_metrics as qm  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--pipeline", choices=("live", "video", "fast"), default="live")
    parser.add_argument("--out", type=Path, help="default bench/results/quality_specks_stills_<pipeline>.json")
    args = parser.parse_args()
    args.out = args.out or REPO / "bench" / "results" / f"quality_specks_stills_{args.pipeline}.json"
    cv2.setNumThreads(1)
    segmenter = bq.Ours().segmenter
    manifest = json.loads((args.set / "manifest.json").read_text())
    rows: list[dict[str, Any]] = []
    for still in manifest["stills"]:
        stem = args.set / "stills" / still["name"]
        rgb, truth = bq.read_rgb(stem.with_suffix(".png")), bq.read_mask(Path(f"{stem}.truth.png")) > 0
        inst = bq.read_mask(Path(f"{stem}.inst.png"))
        row: dict[str, Any] = {"name": still["name"], "kind": still["kind"], "split": still["split"]}
        for label, specks in (("without", False), ("with", True)):
            params = EffectParams(effect="blur", quality="fast")
            pipeline = Pipeline(segmenter, params, temporal=args.pipeline != "fast")
            pipeline.full_edges = args.pipeline == "video"
            if not specks:
                pipeline._refiner.despeckle = lambda alpha, grid=None: alpha  # type: ignore[method-assign]
            mask = pipeline.process(Frame(rgb, 0.0, 0, "still")).mask
            assert mask is not None
            pred = mask >= 0.5
            cover = qm.person_coverage(pred, inst)
            row[label] = {"iou": round(qm.iou(pred, truth), 4), "boundary_f": round(qm.boundary_f(pred, truth), 4),
                          "under_90": int(sum(c < 0.9 for c in cover)), "min_coverage": round(min(cover or [1.0]), 4),
                          "pixels": int(np.count_nonzero(pred))}
        row["changed"] = row["with"]["pixels"] != row["without"]["pixels"]
        rows.append(row)
    summary: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        for kind in sorted({r["kind"] for r in rows}):
            sel = [r for r in rows if r["split"] == split and r["kind"] == kind]
            if sel:
                summary[f"{split}/{kind}"] = {label: {
                    "mean_iou": round(float(np.mean([r[label]["iou"] for r in sel])), 4),
                    "boundary_f": round(float(np.mean([r[label]["boundary_f"] for r in sel])), 4),
                    "under_90": sum(r[label]["under_90"] for r in sel),
                    "min_coverage": min(r[label]["min_coverage"] for r in sel)} for label in ("without", "with")}
                summary[f"{split}/{kind}"]["images_changed"] = sum(r["changed"] for r in sel)
    for key, value in summary.items():
        print(f"{key:20} {value}")
    args.out.write_text(json.dumps({"pipeline": args.pipeline, "summary": summary, "images": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
