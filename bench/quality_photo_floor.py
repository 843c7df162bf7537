"""Background left in best-quality photo cut-outs, with and without the matte's floor (session 18).

The app's best still (the pipeline, `remove`) on an evaluation set's stills; for each picture, against its truth:
- background alpha per edge pixel: the sum of alpha over truth-background pixels within 16 px of the person,
  divided by the truth's edge length (1.0 = a fully opaque band of background one pixel wide all round);
- person alpha lost per edge pixel: the sum of 1 - alpha over the truth's person pixels, likewise;
- IoU and boundary F (3 px) of alpha >= 0.5, which the floor cannot change.
MediaPipe's own runtime (both models, its soft mask as the alpha, bench/quality_mp_soft_worker.py in
.venvs/mediapipe) on the same stills, side by side.
Run once with `MATTE_FLOOR` 0 (before) and once as shipped; writes bench/results/quality_photo_floor.json.
`--clips call-P002,call-P008`: the same on video clips through the video-file pipeline (the floor after the gate);
with `--no-plate` the video files' background plate (core.plate, session 19) off, as before it.

    .venv/bin/python bench/quality_photo_floor.py [--set .cache/evalset] [--split tune|heldout] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import quality_metrics as qm  # noqa: E402

from desktop_app.core import matting  # noqa: E402
from desktop_app.core import pipeline as pipeline_module  # noqa: E402
from desktop_app.core.batch_pipeline import batch_pipeline  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

SPLITS = {"tune": {f"P00{i}" for i in range(1, 6)}, "heldout": {"P006", "P007", "P008", "P009", "P010"}}


def stills(folder: Path, split: str) -> list[Path]:
    """The set's pictures whose people are all in `split` (by their P0NN ids)."""
    found = sorted(p for p in (folder / "stills").glob("*.png") if ".truth" not in p.name and ".inst" not in p.name)
    return [p for p in found if set(re.findall(r"P0\d\d", p.name)) <= SPLITS[split]]


def scores(alpha: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    near = cv2.dilate(truth.astype(np.uint8), np.ones((33, 33), np.uint8)) > 0
    edge = max(1, int(qm.boundary(truth).sum()))
    return {"iou": qm.iou(alpha >= 0.5, truth), "boundary_f": qm.boundary_f(alpha >= 0.5, truth),
            "background_alpha_per_edge_px": float((alpha * (~truth & near)).sum()) / edge,
            "person_lost_per_edge_px": float(((1.0 - alpha) * truth).sum()) / edge}


def run(paths: list[Path], floor: float) -> dict[str, Any]:
    pipeline_module.MATTE_FLOOR = floor
    segmenter = Segmenter("auto", device="cpu")
    rows = []
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        truth = np.asarray(Image.open(path.with_name(path.stem + ".truth.png"))) > 127
        pipeline = batch_pipeline(segmenter, EffectParams(effect="remove"))
        alpha = np.clip(pipeline.process(Frame(rgb, 0.0, 0, str(path)), still=True).mask, 0.0, 1.0)
        rows.append({"name": path.stem, **{k: round(v, 4) for k, v in scores(alpha, truth).items()}})
    means = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0] if k != "name"}
    return {"floor": floor, "mean": means, "per_image": rows}


def run_clip(folder: Path, floor: float, plate: bool = True) -> dict[str, Any]:
    """A clip through the video-file pipeline (full-size edges, the lookahead), `remove`: the same measures,
    averaged over its frames."""
    from desktop_app.core.lookahead import video_lookahead

    pipeline_module.MATTE_FLOOR = floor
    frames = sorted(p for p in folder.glob("*.png") if ".truth" not in p.name)
    rgbs = [np.asarray(Image.open(p).convert("RGB")) for p in frames]
    truths = [np.asarray(Image.open(p.with_name(p.stem + ".truth.png"))) > 127 for p in frames]
    pipeline = batch_pipeline(Segmenter("auto", device="cpu"), EffectParams(effect="remove", color=(0, 255, 0)))
    pipeline.plate = plate
    rows = []
    with video_lookahead(pipeline) as look:
        for i, rgb in enumerate(look.feed(rgbs)):
            alpha = np.clip(pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask, 0.0, 1.0)
            rows.append(scores(alpha, truths[i]))
    return {"floor": floor, "frames": len(rows),
            "mean": {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}}


def run_mediapipe(paths: list[Path]) -> dict[str, Any]:
    """MediaPipe's own runtime (both models, .venvs/mediapipe) on the same stills, its soft mask as the alpha
    (as its sample blends by it); {} when that venv is missing."""
    python = REPO / ".venvs" / "mediapipe" / "bin" / "python"
    if not python.exists():
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "soft.npz"
        subprocess.run([str(python), str(REPO / "bench" / "quality_mp_soft_worker.py"), str(out),
                        *map(str, paths)], check=True, capture_output=True, timeout=1800)
        soft = dict(np.load(out))
    results = {}
    for model in ("mediapipe-general", "mediapipe-landscape"):
        rows = []
        for path in paths:
            truth = np.asarray(Image.open(path.with_name(path.stem + ".truth.png"))) > 127
            alpha = soft[f"{model}/{path.stem}"].astype(np.float32)
            rows.append({"name": path.stem, **{k: round(v, 4) for k, v in scores(alpha, truth).items()}})
        results[model] = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0] if k != "name"}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_photo_floor.json")
    parser.add_argument("--clips", help="comma-separated clips of the set's video/ to score instead of stills")
    parser.add_argument("--no-plate", action="store_true", help="clips: without the background plate")
    args = parser.parse_args(argv)
    shipped = matting.MATTE_FLOOR
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.clips:
        for clip in args.clips.split(","):
            plate = not args.no_plate
            runs = [run_clip(args.set / "video" / clip, f, plate) for f in (0.0, shipped)]
            for result in runs:
                print(f"{clip} floor {result['floor']} plate {plate}: {result['mean']}")
            results[f"{args.set.name}/video/{clip}" + ("" if plate else " (no plate)")] = {"runs": runs}
        pipeline_module.MATTE_FLOOR = shipped
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}")
        return 0
    paths = stills(args.set, args.split)
    runs = [run(paths, 0.0), run(paths, shipped)]
    pipeline_module.MATTE_FLOOR = shipped
    for result in runs:
        print(f"{args.set.name} {args.split} ({len(paths)} stills) floor {result['floor']}: {result['mean']}")
    theirs = run_mediapipe(paths)
    for model, means in theirs.items():
        print(f"{args.set.name} {args.split} {model}: {means}")
    results[f"{args.set.name}/{args.split}"] = {"stills": len(paths), "runs": runs, "mediapipe": theirs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
