"""Cost of W39's live edges (issue #9): the 720p blur pipeline end to end with the grey grid edge step (before W39),
the colour one (`edges_full.refine_edges_colour`, round one) and the colour one with W39b's speck step
(`core.specks`, now), side by side in one run.

bench_temporal_cost's measurement (`desktop_app.benchmark.run_effect`, as bench_core times a live frame: one ORT
and one OpenCV thread), in blocks that alternate which variant goes first; medians over the blocks, and the edge
steps alone on one 720p frame (timeit, best of 5).

    .venv/bin/python bench/bench_flicker_cost.py [--frames 100] [--blocks 8] [--sizes 1280x720 ...]
    -> bench/results/flicker_cost.json (W39b's run: --json bench/results/flicker_cost_session6b.json)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import timeit
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_temporal_cost import KEYS  # noqa: E402

from desktop_app import benchmark  # noqa: E402
from desktop_app.core.edges_full import refine_edges_colour  # noqa: E402
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.masks import MaskRefiner, refine_edges  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402


class GreyEdges(Pipeline):
    """The pipeline with live's edge step as before W39: the grey guided filter at the grid (`masks.refine_edges`)
    against the grey guide's change-gated average."""

    def _edges(self, rgb: np.ndarray, refined: np.ndarray) -> np.ndarray:
        if self.full_edges:
            return super()._edges(rgb, refined)
        refiner = self._refiner
        return refiner.steady(refine_edges(rgb, refined, grey_filter=refiner.steady_guide))


class NoSpecks(Pipeline):
    """W39's round one: the colour grid edges without W39b's speck step (`MaskRefiner.despeckle`)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._refiner.despeckle = lambda alpha, grid=None: alpha  # type: ignore[method-assign]


VARIANTS = {"before W39 (grey grid)": GreyEdges, "W39 round one (colour)": NoSpecks,
            "now (colour + specks)": Pipeline}


def edge_steps_ms(size: tuple[int, int]) -> dict[str, float]:
    """The two edge steps alone (with their gates) on one frame of `size`, a 256x144 grid alpha: ms, best of 5."""
    base, _ = benchmark.sample_frames()
    rgb = bg.cover_fit(base[0], size)
    alpha = np.zeros((144, 256), np.float32)
    alpha[20:, 90:170] = 1.0
    alpha = cv2.GaussianBlur(alpha, (0, 0), 2.0)
    grey, colour, specks = MaskRefiner(smoothing=0.5), MaskRefiner(smoothing=0.5), MaskRefiner(smoothing=0.5)
    steps = {"grey": lambda: grey.steady(refine_edges(rgb, alpha, grey_filter=grey.steady_guide)),
             "colour": lambda: colour.steady(refine_edges_colour(rgb, alpha, guide_filter=colour.steady_unit_guide)),
             "colour + specks": lambda: specks.despeckle(specks.steady(refine_edges_colour(
                 rgb, alpha, guide_filter=specks.steady_unit_guide))),
             "specks alone": lambda: specks.despeckle(alpha)}
    return {name: round(min(timeit.repeat(fn, number=200, repeat=5)) / 200 * 1e3, 3) for name, fn in steps.items()}


def run(seg: Segmenter, size: tuple[int, int], frames: int, blocks: int) -> dict:
    base, _ = benchmark.sample_frames()
    clip = [bg.cover_fit(f, size) for f in base]
    names = list(VARIANTS)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for block in range(blocks):
            for name in names[block % len(names):] + names[:block % len(names)]:
                benchmark.Pipeline = VARIANTS[name]  # type: ignore[assignment]
                rows[name].append(benchmark.run_effect(seg, clip, EffectParams(effect="blur"), frames))
    finally:
        benchmark.Pipeline = Pipeline  # type: ignore[assignment]
    return {name: {k: round(float(np.median([r[k] for r in block_rows])), 2) for k in KEYS}
            for name, block_rows in rows.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per block")
    parser.add_argument("--blocks", type=int, default=8, help="blocks per variant")
    parser.add_argument("--sizes", nargs="+", default=["1280x720"])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "flicker_cost.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    seg = Segmenter(device="cpu", threads=1)
    result: dict = {"machine": benchmark.machine(), "frames_per_block": args.frames, "blocks": args.blocks,
                    "load_average_start": list(os.getloadavg()), "sizes": {}, "edge_steps_ms": {}}
    print(f"{'size':>10} {'what':>24} {'wall ms':>8} {'cpu ms':>8} {'model cpu':>9} {'mask':>6} {'compose':>8}")
    for text in args.sizes:
        width, height = (int(v) for v in text.split("x"))
        row = run(seg, (width, height), args.frames, args.blocks)
        result["sizes"][text] = row
        result["edge_steps_ms"][text] = edge_steps_ms((width, height))
        for name, r in row.items():
            print(f"{text:>10} {name:>24} {r['total']:8.2f} {r['total_cpu']:8.2f} {r['model_only_cpu']:9.2f} "
                  f"{r['mask']:6.2f} {r['compose']:8.2f}")
        print(f"{text:>10} edge steps alone (ms): {result['edge_steps_ms'][text]}")
    result["load_average_end"] = list(os.getloadavg())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
