"""The one-frame lookahead for video files (issue #9, W36): the video-file pipeline (full-resolution edges) with the
model's outputs of t-1, t, t+1 combined centred on t (`core.lookahead`), side by side with no lookahead and a few
of the combinations and causal-smoothing settings tried, on the tune clips (call-P002, call-P002-noisy).

The model runs once per clip; its outputs are replayed for every variant (the same frames, the same order).

    .venv/bin/python bench/quality_lookahead.py [--clips call-P002,call-P002-noisy] [--variants "NAME;..."]
    -> bench/results/quality_clips_lookahead_tune.json
    .venv/bin/python bench/quality_lookahead.py --cost --out bench/results/quality_clips_lookahead_cost.json
    .venv/bin/python bench/quality_lookahead.py --pictures --clips call-P002,call-P008   # -> docs/img/lookahead-*.png
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
from quality_edge_full import Cached  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.lookahead import Combine, Lookahead, median3  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402


def centred_mean(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray, width: float = 0.5,
                 weight: float = 0.25) -> np.ndarray:
    """A centred average (`weight` each neighbour) where the two neighbours agree, t itself where they do not
    (a moving edge: t-1 and t+1 differ by `width` or more)."""
    agree = np.clip(1.0 - np.abs(prev - nxt) / width, 0.0, 1.0).astype(np.float32)
    return (cur + agree * np.float32(weight) * (prev + nxt - 2.0 * cur)).astype(np.float32)


def blip_fill(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray, margin: float = 0.3) -> np.ndarray:
    """t, except where it departs from both neighbours on the same side by more than `margin`: their mean."""
    low, high = np.minimum(prev, nxt), np.maximum(prev, nxt)
    blip = (cur < low - margin) | (cur > high + margin)
    return np.where(blip, (prev + nxt) * np.float32(0.5), cur).astype(np.float32)


def gated_neighbours(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray, width: float = 0.5,
                     weight: float = 1 / 3, first: Combine | None = None) -> np.ndarray:
    """Each neighbour pulls t toward it by `weight` where it nearly agrees with t, not at all where it departs by
    `width` or more (the causal change gate's rule, both ways); `first` (e.g. the median) makes t first."""
    base = first(prev, cur, nxt) if first is not None else cur
    out = base.copy()
    for other in (prev, nxt):
        diff = other - base
        out += np.clip(1.0 - np.abs(diff) / width, 0.0, 1.0) * np.float32(weight) * diff
    return out.astype(np.float32)


def mean3(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    return ((prev + cur + nxt) / np.float32(3.0)).astype(np.float32)


class FlowLookahead(Lookahead):
    """The lookahead with t-1's and t+1's outputs warped onto t by optical flow (DIS, ultrafast, at the model's
    grid in grey) before they are combined: motion-compensated, so averaging no longer blurs a moving edge."""

    def __init__(self, segmenter: object, combine: Combine, radius: int = 1) -> None:
        super().__init__(segmenter, combine, radius=1)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._prev_rgb: np.ndarray | None = None

    def _grey(self, rgb: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)

    def _warp(self, mask: np.ndarray, here: np.ndarray, there: np.ndarray) -> np.ndarray:
        flow = self._dis.calc(here, there, None)  # here(x) ~ there(x + flow)
        h, w = mask.shape
        grid = np.mgrid[0:h, 0:w].astype(np.float32)
        return cv2.remap(mask, grid[1] + flow[..., 0], grid[0] + flow[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        ahead, prev_rgb = (self._ahead[0] if self._ahead else None), self._prev_rgb
        self._prev_rgb = rgb
        timings: dict[str, float] = {}
        cur = self._run(rgb, timings)
        self._ahead = []
        nxt = self._run(ahead, timings) if ahead is not None and ahead is not rgb else None
        prev = self._behind[-1] if self._behind else None
        self._behind = [cur]
        if prev is None or nxt is None or prev_rgb is None or ahead is None:
            return cur, timings
        here = self._grey(rgb, cur.shape)
        prev = self._warp(prev, here, self._grey(prev_rgb, cur.shape))
        nxt = self._warp(nxt, here, self._grey(ahead, cur.shape))
        return self.combine(prev, cur, nxt), timings


VARIANTS: dict[str, dict] = {
    "no lookahead (before W36)": {"combine": None},
    "median of three (W36)": {},
    "median of five (now, W39)": {"radius": 2},
    "median of three, smoothing 0.3": {"smoothing": 0.3},
    "median of three, smoothing 0": {"smoothing": 0.0},
    "plain mean of three": {"combine": mean3},
    "centred mean, gated 0.5, 1/4 each": {"combine": centred_mean},
    "centred mean, gated 0.3, 1/3 each": {"combine": lambda p, c, n: centred_mean(p, c, n, 0.3, 1 / 3)},
    "blip fill 0.3": {"combine": blip_fill},
    "blip fill 0.1": {"combine": lambda p, c, n: blip_fill(p, c, n, 0.1)},
    "median of three, smoothing 0.7": {"smoothing": 0.7},
    "median of three, smoothing 0.6": {"smoothing": 0.6},
    "no lookahead, smoothing 0.7": {"combine": None, "smoothing": 0.7},
    "gated neighbours 1/3": {"combine": gated_neighbours},
    "median, then gated neighbours 1/3": {"combine": lambda p, c, n: gated_neighbours(p, c, n, first=median3)},
    "flow-warped median of three": {"flow": True},
    "flow-warped mean of three": {"flow": True, "combine": mean3},
    "flow-warped mean of three, smoothing 0.3": {"flow": True, "combine": mean3, "smoothing": 0.3},
}


def run(segmenter: object, frames: list[np.ndarray], combine: Combine | None = median3,
        smoothing: float = 0.5, flow: bool = False, radius: int = 1) -> list[np.ndarray]:
    """The clip through the video-file blur pipeline (full-resolution edges), the lookahead in front of the model
    fed as core.batch_video feeds it (`combine` None: no lookahead; `radius` 1: the three-frame window W36 tried
    these variants with, 2: the five-frame one of W39)."""
    pipeline = Pipeline(segmenter, EffectParams(effect="blur", smoothing=smoothing), temporal=True)  # type: ignore[arg-type]
    pipeline.full_edges = True
    feed: object = frames
    if combine is not None:
        look = (FlowLookahead if flow else Lookahead)(segmenter, combine, radius=radius)
        pipeline.segmenter = look
        feed = look.feed(frames)
    return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask >= 0.5  # type: ignore[operator]
            for i, f in enumerate(feed)]  # type: ignore[call-overload]


def cost(segmenter: object, frames: list[np.ndarray], blocks: int = 6) -> dict[str, float]:
    """The lookahead's extra cost per frame: the video-file pipeline with and without it on the same frames, in
    alternating blocks (per-frame wall and CPU ms, medians over all frames), and the wrapper's own work alone
    (a model output's median of three at the grid; timeit, median of 7 runs of 1000)."""
    import time
    import timeit

    times: dict[str, list[float]] = {"without": [], "with": [], "without_cpu": [], "with_cpu": []}
    for block in range(2 * blocks):
        name = "with" if block % 2 else "without"
        pipeline = Pipeline(segmenter, EffectParams(effect="blur"), temporal=True)  # type: ignore[arg-type]
        pipeline.full_edges = True
        look = Lookahead(segmenter)
        if name == "with":
            pipeline.segmenter = look
        feed = look.feed(frames) if name == "with" else iter(frames)
        for i, rgb in enumerate(feed):
            wall, cpu = time.perf_counter(), time.process_time()
            pipeline.process(Frame(rgb, i / 30.0, i, "clip"))
            times[name].append((time.perf_counter() - wall) * 1e3)
            times[f"{name}_cpu"].append((time.process_time() - cpu) * 1e3)
    small = segmenter.predict(frames[0])[0]  # type: ignore[attr-defined]
    grid = [small, np.clip(small + 0.1, 0, 1), np.clip(small - 0.1, 0, 1)]
    combine_us = float(np.median(timeit.repeat(lambda: median3(*grid), number=1000, repeat=7))) * 1e3
    out = {k: round(float(np.median(v)), 2) for k, v in times.items()}
    return out | {"difference_ms": round(out["with"] - out["without"], 2),
                  "difference_cpu_ms": round(out["with_cpu"] - out["without_cpu"], 2),
                  "median3_us_at_grid": round(combine_us, 1), "grid": list(small.shape),
                  "frame": list(frames[0].shape[:2]), "frames_per_block": len(frames), "blocks_each": blocks}


def picture(segmenter: object, clip: str, frames: list[np.ndarray], truths: list[np.ndarray]) -> str:
    """docs/img/lookahead-<clip>-<t>.png: the frame where the lookahead changes the mask most, without it | with it
    (bench_quality's error pictures: missed person pixels blue, false ones red)."""
    cached = Cached(segmenter, frames)
    before = run(cached, frames, combine=None)
    cached.index = 0
    after = run(cached, frames)
    t = max(range(len(frames)), key=lambda i: int(np.count_nonzero(before[i] != after[i])))
    tiles = [bq.error_picture(frames[t], p[t], truths[t], height=270) for p in (before, after)]
    sheet = np.hstack([np.pad(tile, ((0, 0), (0, 4), (0, 0)), constant_values=255) for tile in tiles])
    path = REPO / "docs" / "img" / f"lookahead-{clip}-{t:03d}.png"
    cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return str(path.relative_to(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--clips", default="call-P002,call-P002-noisy")
    parser.add_argument("--variants", help="names separated by ; (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_clips_lookahead_tune.json")
    parser.add_argument("--pictures", action="store_true", help="only the before/after pictures (docs/img/)")
    parser.add_argument("--cost", action="store_true", help="only the extra cost per frame (real model, 1 thread)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.cost:
        folder = args.set / "video" / args.clips.split(",")[0]
        clip_frames = [bq.read_rgb(folder / f"{t:03d}.png") for t in range(40)]
        measured = cost(bq.Ours().segmenter, clip_frames)
        print(json.dumps(measured, indent=1))
        args.out.write_text(json.dumps({"cost": measured, "command": " ".join(sys.argv[1:])}, indent=1) + "\n")
        print(f"wrote {args.out}")
        return 0
    names = args.variants.split(";") if args.variants else list(VARIANTS)
    segmenter = bq.Ours().segmenter
    result: dict[str, dict] = {}
    for clip in args.clips.split(","):
        folder = args.set / "video" / clip
        count = len(list(folder.glob("*.truth.png")))
        frames = [bq.read_rgb(folder / f"{t:03d}.png") for t in range(count)]
        truths = [bq.read_mask(folder / f"{t:03d}.truth.png") > 0 for t in range(count)]
        if args.pictures:
            print(picture(segmenter, clip, frames, truths))
            continue
        cached = Cached(segmenter, frames)
        result[clip] = {}
        for name in names:
            cached.index = 0
            s = bq.clip_scores(run(cached, frames, **VARIANTS[name]), truths)
            result[clip][name] = s
            print(f"{clip:16} {name:36} flicker {s['flicker']:.4f} still {s['still_flicker']:.5f} "
                  f"moving {s['moving_iou']:.3f} bF {s['boundary_f']:.3f} lag {s['lag']}", flush=True)
    if args.pictures:
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clips": result, "command": " ".join(sys.argv[1:])}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
