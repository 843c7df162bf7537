"""Where video flicker sits and what W39 tried against it (issue #9, session 6), on the tune clips only.

The model runs once per clip; its outputs are replayed through the pipeline for every variant (same frames, same
order). Each row also splits the flicker (bench/quality_metrics.py: pixels that change where the truth does not,
over the person's area, mean over frame pairs) by where the changed pixels lie: within 3 px of the true edge
("band"), deeper inside the person ("interior"), further out in the background ("far"); and says which share comes
from the frame pairs where the person moves and from the 5 worst pairs (spikes vs a steady wobble).

    .venv/bin/python bench/quality_flicker.py [--clips call-P002,call-P002-noisy] [--variants "NAME;..."]
    -> bench/results/quality_clips_session6_tune.json
    .venv/bin/python bench/quality_flicker.py --pictures --clips call-P002   # -> docs/img/flicker-*.png
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import bench_quality as bq  # noqa: E402
from quality_edge_full import Cached  # noqa: E402

from desktop_app.core import edges_full, masks, specks  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.lookahead import Lookahead  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402


def grey_edges(pipeline: Pipeline) -> None:
    """Live's edge step before W39: the grey guided filter at the grid against the gated grey guide."""
    refiner = pipeline._refiner
    pipeline._edges = lambda rgb, refined: refiner.steady(  # type: ignore[method-assign]
        masks.refine_edges(rgb, refined, grey_filter=refiner.steady_guide))


def no_edges(pipeline: Pipeline) -> None:
    pipeline.edges = False


def fit(divisor: int, radius: int) -> dict[str, Any]:
    return {"constants": {"LIVE_FIT_DIVISOR": divisor, "LIVE_EDGE_RADIUS": radius}}


def colour_at(scale: int, divisor: int = 2, radius: int = 2) -> Callable[[Pipeline], None]:
    """The colour fit at 1/`divisor` of the grid, applied at `scale` x the grid (the guide gated at that size)."""
    def setup(pipeline: Pipeline) -> None:
        refiner = pipeline._refiner

        def edges(rgb: np.ndarray, refined: np.ndarray) -> np.ndarray:
            h, w = refined.shape
            big = cv2.resize(refined, (w * scale, h * scale), interpolation=cv2.INTER_LINEAR)
            saved = edges_full.LIVE_FIT_DIVISOR, edges_full.LIVE_EDGE_RADIUS
            edges_full.LIVE_FIT_DIVISOR, edges_full.LIVE_EDGE_RADIUS = divisor * scale, radius
            try:
                return refiner.steady(edges_full.refine_edges_colour(rgb, big, guide_filter=refiner.steady_unit_guide))
            finally:
                edges_full.LIVE_FIT_DIVISOR, edges_full.LIVE_EDGE_RADIUS = saved
        pipeline._edges = edges  # type: ignore[method-assign]
    return setup


def no_specks(pipeline: Pipeline) -> None:
    """Without W39b's speck step (core.specks: the edge step's output as it is)."""
    pipeline._refiner.despeckle = lambda alpha, grid=None: alpha  # type: ignore[method-assign]


LIVE: dict[str, dict[str, Any]] = {
    "model alone (no smoothing, no edges)": {"smoothing": 0.0, "setup": no_edges},
    "live, edges off": {"setup": no_edges},
    "live before W39: grey edges at the grid": {"setup": grey_edges},
    "live now: colour, fit 1/4 grid r1, applied at the grid": {},
    "live round one: colour edges, no speck step": {"setup": no_specks},
    "live now, specks only (no holes filled)": {"constants_specks": {"HOLE_OF_FRAME": 0.0}},
    "live now, holes only (no specks dropped)": {"constants_specks": {"SPECK_OF_FRAME": 0.0}},
    "live now, holes under 0.1% of the frame filled at the grid too": {"constants_specks": {"HOLE_CELLS": 1e9}},
    "colour, fit 1/2 grid r1": fit(2, 1),
    "colour, fit 1/2 grid r2": fit(2, 2),
    "colour, fit at the grid r1": fit(1, 1),
    "colour, fit at the grid r2": fit(1, 2),
    "colour, fit 1/4 grid r2": fit(4, 2),
    "colour, fit 1/2 grid r2, applied at 2x the grid": {"setup": colour_at(2)},
    "live now, guide not gated": {"setup": lambda p: setattr(p._refiner, "steady_unit_guide", lambda g: g)},
    "live now, refined edge not gated": {"setup": lambda p: setattr(p._refiner, "steady", lambda a: a)},
    "live now, smoothing 0.3": {"smoothing": 0.3},
    "live now, smoothing 0.6": {"smoothing": 0.6},
    "live now, smoothing 0.7": {"smoothing": 0.7},
    "live now, hysteresis 0.1 x smoothing": {"constants_masks": {"HYSTERESIS_PER_SMOOTHING": 0.1}},
    "live now, hysteresis 0.3 x smoothing": {"constants_masks": {"HYSTERESIS_PER_SMOOTHING": 0.3}},
}
VIDEO: dict[str, dict[str, Any]] = {
    "video files, no lookahead": {"video": True, "radius": 0},
    "video files before W39: median of three": {"video": True, "radius": 1},
    "video files now: median of five": {"video": True, "radius": 2},
    "video files, median of five, smoothing 0.7": {"video": True, "radius": 2, "smoothing": 0.7},
    "video files round one: median of five, no speck step": {"video": True, "radius": 2, "setup": no_specks},
    "video files now, specks only (no holes filled)": {"video": True, "radius": 2,
                                                       "constants_specks": {"HOLE_OF_FRAME": 0.0}},
    "video files now, holes only (no specks dropped)": {"video": True, "radius": 2,
                                                        "constants_specks": {"SPECK_OF_FRAME": 0.0}},
    "video files now, holes under 0.02% of the frame": {"video": True, "radius": 2,
                                                        "constants_specks": {"HOLE_OF_FRAME": 0.0002}},
    "video files now, holes under 2 grid cells": {"video": True, "radius": 2, "constants_specks": {"HOLE_CELLS": 2.0}},
    "video files now, holes under 4 grid cells": {"video": True, "radius": 2, "constants_specks": {"HOLE_CELLS": 4.0}},
    "video files now, holes under 0.1% of the frame (any cells)": {"video": True, "radius": 2,
                                                                   "constants_specks": {"HOLE_CELLS": 1e9}},
    "video files now, specks under 0.3% of the frame": {"video": True, "radius": 2,
                                                        "constants_specks": {"SPECK_OF_FRAME": 0.003}},
}
VARIANTS = LIVE | VIDEO


def run(segmenter: Cached, frames: list[np.ndarray], smoothing: float = 0.5, setup: Callable | None = None,
        video: bool = False, radius: int = 0, constants: dict | None = None, constants_masks: dict | None = None,
        constants_specks: dict | None = None) -> list[np.ndarray]:
    """The clip through the blur pipeline: live (grid edges, no lookahead) or as a video file (full-resolution edges,
    the lookahead of `radius` fed as core.batch_video feeds it)."""
    saved = {k: getattr(edges_full, k) for k in constants or {}}
    saved_masks = {k: getattr(masks, k) for k in constants_masks or {}}
    saved_specks = {k: getattr(specks, k) for k in constants_specks or {}}
    for key, value in (constants_specks or {}).items():
        setattr(specks, key, value)
    for key, value in (constants or {}).items():
        setattr(edges_full, key, value)
    for key, value in (constants_masks or {}).items():
        setattr(masks, key, value)
    try:
        segmenter.index = 0
        pipeline = Pipeline(segmenter, EffectParams(effect="blur", smoothing=smoothing), temporal=True)  # type: ignore[arg-type]
        pipeline.full_edges = video
        if setup is not None:
            setup(pipeline)
        feed: Any = frames
        if radius:
            look = Lookahead(segmenter, radius=radius)
            pipeline.segmenter = look
            feed = look.feed(frames)
        return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask >= 0.5  # type: ignore[operator]
                for i, f in enumerate(feed)]
    finally:
        for key, value in saved.items():
            setattr(edges_full, key, value)
        for key, value in saved_masks.items():
            setattr(masks, key, value)
        for key, value in saved_specks.items():
            setattr(specks, key, value)


def split(preds: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, float]:
    """The flicker by where the changed pixels lie (band <= 3 px of the true edge / interior / far) and when."""
    parts = {"band": 0.0, "interior": 0.0, "far": 0.0}
    per_pair = []
    for t in range(1, len(preds)):
        changed = (preds[t] != preds[t - 1]) & (truths[t] == truths[t - 1])
        area = max(np.count_nonzero(truths[t]), 1)
        person = truths[t].astype(np.uint8)
        depth = np.where(truths[t], cv2.distanceTransform(person, cv2.DIST_L2, 3),
                         cv2.distanceTransform(1 - person, cv2.DIST_L2, 3))
        parts["band"] += np.count_nonzero(changed & (depth <= 3)) / area
        parts["interior"] += np.count_nonzero(changed & truths[t] & (depth > 3)) / area
        parts["far"] += np.count_nonzero(changed & ~truths[t] & (depth > 3)) / area
        per_pair.append(np.count_nonzero(changed) / area)
    pairs = np.array(per_pair)
    moving = [t - 1 for t in qm_moving(truths)]
    total = max(float(pairs.sum()), 1e-12)
    return {k: round(v / len(pairs), 5) for k, v in parts.items()} | {
        "moving_share": round(float(pairs[moving].sum()) / total, 3),
        "worst5_share": round(float(np.sort(pairs)[-5:].sum()) / total, 3)}


def qm_moving(truths: list[np.ndarray]) -> list[int]:
    return bq.qm.moving_frames(truths)


def picture(clip: str, frames: list[np.ndarray], truths: list[np.ndarray], cached: Cached) -> str:
    """docs/img/flicker-<clip>-<t>.png: live before W39 (grey edges) | live now (colour edges) at the frame where the
    two masks differ most (bench_quality's error pictures: missed person pixels blue, false ones red)."""
    before = run(cached, frames, **LIVE["live before W39: grey edges at the grid"])
    after = run(cached, frames)
    t = max(range(len(frames)), key=lambda i: int(np.count_nonzero(before[i] != after[i])))
    tiles = [bq.error_picture(frames[t], p[t], truths[t], height=270) for p in (before, after)]
    sheet = np.hstack([np.pad(tile, ((0, 0), (0, 4), (0, 0)), constant_values=255) for tile in tiles])
    path = REPO / "docs" / "img" / f"flicker-{clip}-{t:03d}.png"
    cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return str(path.relative_to(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--clips", default="call-P002,call-P002-noisy")
    parser.add_argument("--variants", help="names separated by ; (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_clips_session6_tune.json")
    parser.add_argument("--pictures", action="store_true", help="only the live before/after pictures (docs/img/)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    names = args.variants.split(";") if args.variants else list(VARIANTS)
    segmenter = bq.Ours().segmenter
    result: dict[str, dict] = {}
    for clip in args.clips.split(","):
        folder = args.set / "video" / clip
        count = len(list(folder.glob("*.truth.png")))
        frames = [bq.read_rgb(folder / f"{t:03d}.png") for t in range(count)]
        truths = [bq.read_mask(folder / f"{t:03d}.truth.png") > 0 for t in range(count)]
        cached = Cached(segmenter, frames)
        if args.pictures:
            print(picture(clip, frames, truths, cached))
            continue
        result[clip] = {}
        for name in names:
            preds = run(cached, frames, **VARIANTS[name])
            s = bq.clip_scores(preds, truths) | split(preds, truths)
            s["flicker_unrounded"] = round(float(bq.qm.video_scores(preds, truths)["flicker"]), 7)
            result[clip][name] = s
            print(f"{clip:16} {name:54} flicker {s['flicker_unrounded']:.6f} still {s['still_flicker']:.5f} "
                  f"moving {s['moving_iou']:.3f} bF {s['boundary_f']:.3f} lag {s['lag']} | band {s['band']:.4f} "
                  f"interior {s['interior']:.4f} far {s['far']:.4f} moving-share {s['moving_share']:.2f} "
                  f"worst5 {s['worst5_share']:.2f}", flush=True)
    if args.pictures:
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clips": result, "command": " ".join(sys.argv[1:])}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
