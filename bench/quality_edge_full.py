"""Full-resolution live edges (issue #9, W19): the clip pipeline with the edges snapped at the model's grid in grey
(`masks.refine_edges`, before W19) and at the frame's full resolution in colour (`edges_full.refine_edges_full`,
now), side by side, with a few of the variants tried, on the tune clips (call-P002, call-P002-noisy).

    .venv/bin/python bench/quality_edge_full.py [--clips call-P002,call-P002-noisy] [--variants NAME,...]
    -> bench/results/quality_edge_full.json
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import bench_quality as bq  # noqa: E402

from desktop_app.core import edges_full  # noqa: E402
from desktop_app.core import pipeline as pipeline_module  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402


def _radius(radius: int) -> Callable[..., np.ndarray]:
    return functools.partial(edges_full.refine_edges_full, radius=radius)


VARIANTS: dict[str, dict] = {
    "grid grey (before W19)": {"full": False},
    "full colour r1": {"fn": _radius(1)},
    "full colour r2 (now)": {},
    "full colour r3": {"fn": _radius(3)},
    "full colour r2 guide not gated": {"guide": False},
    "full colour r2 output not gated": {"steady": False},
}


def run(segmenter: object, frames: list[np.ndarray], full: bool = True, guide: bool = True, steady: bool = True,
        fn: Callable[..., np.ndarray] | None = None) -> list[np.ndarray]:
    """The clip through the blur pipeline; `full` False: the grid edges; `guide` / `steady` False: the colour guide
    / the full-resolution result not gated over time; `fn`: another full-resolution step."""
    pipeline = Pipeline(segmenter, EffectParams(effect="blur"), temporal=True)
    pipeline.full_edges = full
    if not guide:
        pipeline._refiner.steady_unit_guide = lambda g: g  # type: ignore[method-assign]
    if not steady:
        pipeline._refiner.previous_full = lambda shape: None  # type: ignore[method-assign]
    original = pipeline_module.refine_edges_full
    if fn is not None:
        pipeline_module.refine_edges_full = fn  # type: ignore[assignment]
    try:
        return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask >= 0.5 for i, f in enumerate(frames)]
    finally:
        pipeline_module.refine_edges_full = original  # type: ignore[assignment]


class Cached:
    """The segmenter's outputs for one clip, computed once and replayed for every variant."""

    def __init__(self, segmenter: object, frames: list[np.ndarray]) -> None:
        self.spec = segmenter.spec  # type: ignore[attr-defined]
        self.masks = [segmenter.predict(f)[0] for f in frames]  # type: ignore[attr-defined]
        self.index = 0

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        mask = self.masks[self.index % len(self.masks)]
        self.index += 1
        return mask, {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--clips", default="call-P002,call-P002-noisy")
    parser.add_argument("--variants", help="comma-separated names (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_edge_full.json")
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
        cached = Cached(segmenter, frames)
        result[clip] = {}
        for name in names:
            cached.index = 0
            s = bq.clip_scores(run(cached, frames, **VARIANTS[name]), truths)
            result[clip][name] = s
            print(f"{clip:16} {name:36} flicker {s['flicker']:.4f} still {s['still_flicker']:.5f} "
                  f"moving {s['moving_iou']:.3f} bF {s['boundary_f']:.3f} lag {s['lag']}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clips": result, "command": " ".join(sys.argv[1:])}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
