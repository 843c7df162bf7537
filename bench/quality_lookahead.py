"""The one-frame lookahead for video files (issue #9, W36): the video-file pipeline (full-resolution edges) with the
model's outputs of t-1, t, t+1 combined centred on t (`core.lookahead`), side by side with no lookahead and a few
of the combinations and causal-smoothing settings tried, on the tune clips (call-P002, call-P002-noisy).

The model runs once per clip; its outputs are replayed for every variant (the same frames, the same order).

    .venv/bin/python bench/quality_lookahead.py [--clips call-P002,call-P002-noisy] [--variants NAME,...]
    -> bench/results/quality_clips_lookahead_tune.json
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


def mean3(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    return ((prev + cur + nxt) / np.float32(3.0)).astype(np.float32)


VARIANTS: dict[str, dict] = {
    "no lookahead (before W36)": {"combine": None},
    "median of three (now)": {},
    "median of three, smoothing 0.3": {"smoothing": 0.3},
    "median of three, smoothing 0": {"smoothing": 0.0},
    "plain mean of three": {"combine": mean3},
    "centred mean, gated 0.5, 1/4 each": {"combine": centred_mean},
    "centred mean, gated 0.3, 1/3 each": {"combine": lambda p, c, n: centred_mean(p, c, n, 0.3, 1 / 3)},
    "blip fill 0.3": {"combine": blip_fill},
    "blip fill 0.1": {"combine": lambda p, c, n: blip_fill(p, c, n, 0.1)},
}


def run(segmenter: object, frames: list[np.ndarray], combine: Combine | None = median3,
        smoothing: float = 0.5) -> list[np.ndarray]:
    """The clip through the video-file blur pipeline (full-resolution edges), the lookahead in front of the model
    fed as core.batch_video feeds it (`combine` None: no lookahead)."""
    pipeline = Pipeline(segmenter, EffectParams(effect="blur", smoothing=smoothing), temporal=True)  # type: ignore[arg-type]
    pipeline.full_edges = True
    feed: object = frames
    if combine is not None:
        look = Lookahead(segmenter, combine)
        pipeline.segmenter = look
        feed = look.feed(frames)
    return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask >= 0.5  # type: ignore[operator]
            for i, f in enumerate(feed)]  # type: ignore[call-overload]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--clips", default="call-P002,call-P002-noisy")
    parser.add_argument("--variants", help="comma-separated names (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_clips_lookahead_tune.json")
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
