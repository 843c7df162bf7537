"""What the edge matting (core.matting, session 16) costs: video files and 12 MP photos, with it and without, one core.

Video: call-P002's frames resized to each size, through the pipeline as `process` and Export all run it (the
lookahead, full-resolution edges), quality best (matted) and fast, in blocks that alternate which goes first; CPU ms
per frame for the whole loop (model, edges, matting, blur compose), medians over the blocks. Photos: three tune
stills upscaled to 12 MP (4000x3000 or 3000x4000) through the best still path with `matting` on and off.

    .venv/bin/python bench/bench_matting_cost.py [--blocks 3] [--frames 40] -> bench/results/matting_cost.json

`--plate` (session 19): video only, quality best with the background plate (core.plate, as shipped) and without,
the frames taken in order (the plate learns from the clip) -> bench/results/plate_cost.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import bench_quality as bq  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.lookahead import video_lookahead  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402

SET = REPO / ".cache" / "evalset"
STILLS = ("P001-full-landscape", "P002-third-landscape", "P003-half-portrait")


def video_ms(segmenter, frames: list, quality: str, plate: bool = True) -> float:
    pipeline = Pipeline(segmenter, EffectParams(effect="blur", quality=quality), temporal=True, video=True)
    pipeline.full_edges = True
    pipeline.plate = plate
    start = time.thread_time()
    with video_lookahead(pipeline) as look:
        for i, rgb in enumerate(look.feed(frames)):
            pipeline.process(Frame(rgb, i / 30.0, i, "clip"))
    return (time.thread_time() - start) * 1e3 / len(frames)


def still_ms(segmenter, rgb, matting: bool) -> float:
    pipeline = Pipeline(segmenter, EffectParams(effect="blur"), temporal=False)
    pipeline.matting = matting
    start = time.thread_time()
    pipeline.process(Frame(rgb, 0.0, 0, "photo"))
    return (time.thread_time() - start) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--plate", action="store_true", help="video: best with the plate and without")
    args = parser.parse_args()
    args.out = args.out or REPO / "bench" / "results" / ("plate_cost.json" if args.plate else "matting_cost.json")
    cv2.setNumThreads(1)
    segmenter = bq.Ours().segmenter
    clip = [bq.read_rgb(SET / "video" / "call-P002" / f"{t:03d}.png") for t in range(0, 120, 120 // args.frames)]
    out: dict = {"video_ms_per_frame": {}, "still_12mp_ms": {}}
    for size in ((960, 540), (1280, 720), (1920, 1080)):
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in clip]
        keys = ("plate", "best") if args.plate else ("best", "fast")
        runs: dict[str, list[float]] = {k: [] for k in keys}
        for block in range(args.blocks):
            for key in keys if block % 2 == 0 else keys[::-1]:
                runs[key].append(video_ms(segmenter, frames, "fast" if key == "fast" else "best",
                                          plate=key == "plate" or not args.plate))
        row = {q: round(statistics.median(v), 1) for q, v in runs.items()}
        out["video_ms_per_frame"][f"{size[0]}x{size[1]}"] = row
        print(f"video {size[0]}x{size[1]}: " + ", ".join(f"{k} {v} ms/frame" for k, v in row.items()), flush=True)
    if args.plate:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.out.relative_to(REPO)}")
        return 0
    for name in STILLS:
        rgb = bq.read_rgb(SET / "stills" / f"{name}.png")
        size = (4000, 3000) if rgb.shape[1] > rgb.shape[0] else (3000, 4000)
        big = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
        runs = {"matted": [], "without": []}
        for block in range(args.blocks):
            for key in ("matted", "without") if block % 2 == 0 else ("without", "matted"):
                runs[key].append(still_ms(segmenter, big, key == "matted"))
        row = {k: round(statistics.median(v)) for k, v in runs.items()}
        out["still_12mp_ms"][name] = row
        print(f"12 MP {name}: matted {row['matted']} ms, without {row['without']} ms", flush=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
