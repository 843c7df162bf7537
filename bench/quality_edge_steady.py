"""Still-frame steadiness with the live edge refinement (issue #9, W16): the clip pipeline with the guide gated
over time (`MaskRefiner.steady_guide`) and the refined edge gated again (`MaskRefiner.steady`) on and off, side by
side with the edge refinement off and the model alone, on the tune clips (call-P002-noisy, call-P002).

    .venv/bin/python bench/quality_edge_steady.py [--clips call-P002-noisy,call-P002] [--variants NAME,...]
    -> bench/results/quality_edge_steady.json
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

VARIANTS: dict[str, dict] = {
    "model alone": {"smoothing": 0.0, "edges": False},
    "gate+hysteresis, edges off": {"edges": False},
    "edges on, as before W16": {"steady": False, "guide": False},
    "edges on, guide gated": {"steady": False},
    "edges on, refined edge gated": {"guide": False},
    "edges on, guide + refined edge gated (now)": {},
}


def run(segmenter: object, frames: list[np.ndarray], smoothing: float = 0.5, edges: bool = True,
        steady: bool = True, guide: bool = True) -> list[np.ndarray]:
    """The clip through the blur pipeline (gate + hysteresis at `smoothing`); `steady` / `guide` False switch off
    `MaskRefiner.steady` (the gate after the edge refinement) / `steady_guide` (the gated guide)."""
    pipeline = Pipeline(segmenter, EffectParams(effect="blur", smoothing=smoothing), temporal=True)
    pipeline.edges = edges
    if not steady:
        pipeline._refiner.steady = lambda alpha: alpha  # type: ignore[method-assign]
    if not guide:
        pipeline._refiner.steady_guide = lambda grey: grey  # type: ignore[method-assign]
        pipeline._refiner.steady_unit_guide = lambda guide: guide  # type: ignore[method-assign]  # W39's colour
    return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask >= 0.5 for i, f in enumerate(frames)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--clips", default="call-P002-noisy,call-P002")
    parser.add_argument("--variants", help="comma-separated names (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_edge_steady.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    names = args.variants.split(",") if args.variants else list(VARIANTS)
    segmenter = bq.Ours().segmenter
    result: dict[str, dict] = {}
    for clip in args.clips.split(","):
        folder = args.set / "video" / clip
        count = len(list(folder.glob("*.truth.png")))
        frames = [bq.read_rgb(folder / f"{t:03d}.png") for t in range(count)]
        truths = [bq.read_mask(folder / f"{t:03d}.truth.png") > 0 for t in range(count)]
        result[clip] = {}
        for name in names:
            s = bq.clip_scores(run(segmenter, frames, **VARIANTS[name]), truths)
            result[clip][name] = s
            print(f"{clip:16} {name:44} flicker {s['flicker']:.4f} still {s['still_flicker']:.5f} "
                  f"moving {s['moving_iou']:.3f} bF {s['boundary_f']:.3f} lag {s['lag']}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clips": result, "command": " ".join(sys.argv[1:])}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
