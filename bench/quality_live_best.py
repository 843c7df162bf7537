"""Could live frames take a "best" path? Flicker and cost of the stronger live variants tried in session 7 (#9).

The live target (flicker <= 0.5x of before #9, within the 10 ms live budget) was not met by the grid edge step
(0.61x / 0.65x). This puts the stronger steps that need no frame ahead (so add no latency) on the live path, side by
side on the tune and held-out clips (bench_quality's harness and metrics, MediaPipe from its cached masks):

- `live` the app's live pipeline today (colour edges at the model's grid);
- `live-mirror` the same, the model's output averaged with that of the mirrored frame (mirrored back);
- `full` edges at full resolution (the video files' pipeline without its lookahead);
- `full-mirror` both; `full-mirror-s0.7` both with smoothing 0.7 (default 0.5).

and the cost: 720p blur end to end (one ORT and one OpenCV thread) of `live` and of `full-mirror`, alternating per
frame on tools/make_face_video.py's clip. Writes bench/results/quality_live_best.json (or `--json`).

    .venv/bin/python bench/quality_live_best.py [--clips call-P002,call-P008] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import bench_quality as bq  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

CLIP = REPO / ".cache" / "face_video" / "faces.mp4"


class Mirrored:
    """A segmenter whose prediction is averaged with the mirrored frame's: two model runs, and the resize done twice
    (`predict`, then `preprocess` again), so its cost here is an upper bound by one resize (0.23 ms at 720p)."""

    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.spec = segmenter.spec

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        seg = self.segmenter
        mask, timings = seg.predict(rgb)
        adapter, engine = seg.adapter, seg.engine
        start = time.perf_counter()
        feeds = adapter.preprocess(rgb)  # the model's input; the mirror commutes with the corner-aligned resize
        mirrored = {k: np.ascontiguousarray(v[:, :, ::-1]) for k, v in feeds.items()}
        other = adapter.postprocess(engine.run(mirrored))[:, ::-1]
        timings["inference"] += (time.perf_counter() - start) * 1000.0
        return ((mask + other) * np.float32(0.5)).astype(np.float32), timings


def pipeline(segmenter: Any, full: bool, smoothing: float = 0.5) -> Pipeline:
    pipe = Pipeline(segmenter, EffectParams(effect="blur", smoothing=smoothing), temporal=True)
    pipe.full_edges = full
    return pipe


def variant(name: str, mirror: bool, full: bool, smoothing: float = 0.5) -> bq.Ours:
    class Variant(bq.Ours):
        def clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
            seg = Mirrored(self.segmenter) if mirror else self.segmenter
            pipe = pipeline(seg, full, smoothing)
            masks = (pipe.process(Frame(rgb, i / 30.0, i, "cam")).mask for i, rgb in enumerate(frames))
            return [m >= 0.5 for m in masks]  # type: ignore[operator]

    Variant.name = name
    return Variant()


def cost(frames: int = 150) -> dict[str, float]:
    cap, rgbs = cv2.VideoCapture(str(CLIP)), []
    while len(rgbs) < frames:
        ok, bgr = cap.read()
        if not ok:
            break
        rgbs.append(np.ascontiguousarray(bgr[..., ::-1]))
    seg = Segmenter("auto", device="cpu", threads=1)
    pipes = {"live": pipeline(seg, False), "full-mirror": pipeline(Mirrored(seg), True)}
    times: dict[str, list[float]] = {k: [] for k in pipes}
    for rep in range(3):
        for i, rgb in enumerate(rgbs):
            for name in (list(pipes) if (i + rep) % 2 else list(pipes)[::-1]):
                start = time.perf_counter()
                pipes[name].process(Frame(rgb, i / 30.0, i, "cam"))
                times[name].append((time.perf_counter() - start) * 1000.0)
    return {k: round(statistics.median(v[10:]), 3) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="call-P002,call-P008,call-P002-noisy,call-P008-noisy")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "quality_live_best.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    methods = [variant("live", False, False), variant("live-mirror", True, False), variant("full", False, True),
               variant("full-mirror", True, True), variant("full-mirror-s0.7", True, True, 0.7)]
    result = bq.evaluate(REPO / ".cache" / "evalset", methods, clips_only=True, clip_methods=methods,
                         clips=args.clips.split(","))
    keys = ("flicker", "flicker_still", "iou_moving", "boundary_f", "lag")
    table = {clip: {m: {k: s[k] for k in keys if k in s} for m, s in scores.items() if isinstance(s, dict)}
             for clip, scores in result["videos"].items()}
    for clip, rows in table.items():
        for method, row in rows.items():
            print(f"{clip:16s} {method:20s} {row}")
    ms = cost() if CLIP.exists() else {}
    print("720p blur end to end, ms (median):", ms)
    args.json.write_text(json.dumps({"benchmark": "quality_live_best", "clips": table, "blur_720p_ms": ms}, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
