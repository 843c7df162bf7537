"""Core benchmark: per-stage medians of Pipeline.process for blur and replace at 480p, 720p and 1080p.

For each size and effect the pipeline and the model alone (`segmenter.predict`) run alternately on the
same frames, so their ratio is measured side by side under the same machine noise. One onnxruntime thread
and one OpenCV thread (the one-core target). Also: where the compose time goes, and refining the mask at
model resolution vs at full resolution. Prints tables and writes bench/results/core.json.

    python bench/bench_core.py [--frames 200] [--json bench/results/core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.benchmark import SIZES, describe, machine, markdown, measure, median, sample_frames  # noqa: E402
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.masks import MaskRefiner, upsample  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402


def timed(fn: Callable[[], object], n: int) -> float:
    """Median CPU time of this thread in ms (parts are small: wall time would mostly measure neighbours)."""
    values = []
    for _ in range(n):
        start = time.thread_time()
        fn()
        values.append((time.thread_time() - start) * 1e3)
    return median(values)


def compose_parts(seg: object, frame: np.ndarray, size: tuple[int, int], n: int) -> dict:
    """Where the mask and blur-compose time goes at one size (the same mask every call)."""
    width, height = size
    mask_small, _ = seg.predict(frame)  # type: ignore[attr-defined]
    refiner = MaskRefiner(0.5, 0.3, 0.0)
    refined = refiner.refine(mask_small)
    mask = upsample(refined, (height, width))
    alpha = bg.to_alpha(mask)
    blurred = bg.blurred_background(frame, 50, refined)
    return {
        "refine_small": timed(lambda: refiner.refine(mask_small), n),
        "upsample": timed(lambda: upsample(refined, (height, width)), n),
        "to_alpha": timed(lambda: bg.to_alpha(mask), n),
        "blurred_background": timed(lambda: bg.blurred_background(frame, 50, refined), n),
        "blurred_background_plain": timed(lambda: bg.blurred_background(frame, 50), n),
        "blend_edges": timed(lambda: bg.blend_edges(frame, blurred, alpha), n),  # what compose uses
        "blend_full_frame": timed(lambda: bg.blend(frame, blurred, alpha, out=blurred), n),
        "full_res_gaussian_reference": timed(lambda: cv2.GaussianBlur(frame, (0, 0), 16), max(10, n // 10)),
    }


def refine_order(seg: object, frame: np.ndarray, size: tuple[int, int], n: int) -> dict:
    """Refine at model resolution then upsample (what the pipeline does) vs upsample then refine."""
    width, height = size
    mask_small, _ = seg.predict(frame)  # type: ignore[attr-defined]
    refiner = MaskRefiner(0.5, 0.3, 0.0)
    small_first = upsample(refiner.refine(mask_small), (height, width))
    full_first = refiner.refine(upsample(mask_small, (height, width)))
    a, b = small_first > 0.5, full_first > 0.5
    return {
        "refine_then_upsample_ms": timed(lambda: upsample(refiner.refine(mask_small), (height, width)), n),
        "upsample_then_refine_ms": timed(lambda: refiner.refine(upsample(mask_small, (height, width))), n),
        "mean_abs_diff": round(float(np.abs(small_first - full_first).mean()), 4),
        "iou_at_0.5": round(float((a & b).sum() / max(1, (a | b).sum())), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "core.json")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    seg = Segmenter(device="cpu", threads=1)
    seg_label = describe(seg)
    base, frames_label = sample_frames()
    print(f"model: {seg_label}; frames: {frames_label}; {args.frames} frames each")
    rows = measure(seg, args.frames)

    parts = {}
    order = {}
    print("\nwhere the mask + blur compose time goes (CPU ms, median):")
    for width, height in SIZES:
        frame = bg.cover_fit(base[0], (width, height))
        key = f"{width}x{height}"
        parts[key] = compose_parts(seg, frame, (width, height), args.frames // 2)
        order[key] = refine_order(seg, frame, (width, height), args.frames // 4)
        print(f"  {key:>10}: " + ", ".join(f"{k} {v:.2f}" for k, v in parts[key].items()))
    print("\nrefine at model resolution then upsample vs upsample then refine (CPU ms, median):")
    for key, values in order.items():
        print(f"  {key:>10}: {values}")

    result = {
        "benchmark": "core",
        "model": seg_label,
        "frames_source": frames_label,
        "frames_per_row": args.frames,
        "ort_threads": 1,
        "cv2_threads": cv2.getNumThreads(),
        "load_average": list(os.getloadavg()),
        "machine": machine(),
        "rows": rows,
        "compose_parts_ms": parts,
        "refine_order": order,
    }
    print("\n" + markdown(rows, os.getloadavg()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
