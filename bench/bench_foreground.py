"""Edge foreground colour: blur-fusion (desktop_app) vs pymatting's estimate_foreground_ml vs the naive mix.

Synthetic composites with a known answer: a textured foreground F over a textured background B with the
app's own soft alpha (a person-like blob at model resolution, soft-thresholded and upsampled as the
pipeline does). Reports, in the 0 < alpha < 255 band: the mean absolute error of the estimated F against
the true F, its correlation with B, the halo when the estimate is blended over a new background (error
vs the true F over it: mean |a * (F_est - F)|, so the same for a replaced background, a green screen or
the blur effect's blurred frame), and the time at 720p and 12 MP
(median ms, wall clock, this machine's default OpenCV threads). The app's estimator runs two passes for
stills and one (`passes=1`) for live video.

pymatting needs numba, so it is a benchmark-only dependency (bench/requirements-bench.txt); without it the
script measures the app's estimator only. Run from the repository root:

    python bench/bench_foreground.py [--out bench/results/foreground.json] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.core.effects.background import blend
from desktop_app.core.effects.foreground import estimate_foreground
from desktop_app.core.masks import soft_threshold, upsample

SIZES = {"720p": (1280, 720), "12MP": (4000, 3000)}


def texture(size: tuple[int, int], seed: int, base: tuple[int, int, int], cell: int) -> np.ndarray:
    """Smooth colour blobs around `base` plus fine noise: (H, W, 3) uint8."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 40.0, (max(2, height // cell), max(2, width // cell), 3)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0.0, 12.0, (height, width, 3)).astype(np.float32)
    return np.clip(field + fine + np.float32(base), 0, 255).astype(np.uint8)


def person_alpha(size: tuple[int, int], feather: float = 0.3) -> np.ndarray:
    """The pipeline's alpha for a head-and-shoulders blob: refined at 256x144, upsampled, uint8."""
    width, height = size
    small = np.zeros((144, 256), np.float32)
    cv2.ellipse(small, (128, 50), (28, 36), 0, 0, 360, 1.0, -1)
    cv2.ellipse(small, (128, 144), (80, 60), 0, 0, 360, 1.0, -1)
    small = cv2.GaussianBlur(small, (0, 0), 2.0)
    alpha = upsample(soft_threshold(small, 0.5, feather), (height, width))
    return cv2.convertScaleAbs(alpha, alpha=255.0)


def composite(size: tuple[int, int], seed: int = 0) -> dict[str, np.ndarray]:
    fg = texture(size, seed, (200, 150, 120), 24)
    bg = texture(size, seed + 1, (40, 110, 60), 48)
    new_bg = texture(size, seed + 2, (60, 60, 200), 40)
    alpha = person_alpha(size)
    image = blend(fg, bg, alpha)
    return {"F": fg, "B": bg, "new_B": new_bg, "alpha": alpha, "I": image}


def band_scores(estimate: np.ndarray, case: dict[str, np.ndarray]) -> dict[str, float]:
    band = (case["alpha"] > 0) & (case["alpha"] < 255)
    est, fg, bg = (case_arr[band].astype(np.float64) for case_arr in (estimate, case["F"], case["B"]))
    corr = float(np.corrcoef((est - est.mean(0)).ravel(), (bg - bg.mean(0)).ravel())[0, 1])
    halo_est = blend(estimate, case["new_B"], case["alpha"])[band].astype(np.float64)
    halo_true = blend(case["F"], case["new_B"], case["alpha"])[band].astype(np.float64)
    return {
        "band_pixels": int(band.sum()),
        "f_mae": float(np.abs(est - fg).mean()),
        "corr_with_b": corr,
        # = mean |a * (F_est - F)|: the same over any new background, a replaced one or the blurred frame.
        "halo_mae": float(np.abs(halo_est - halo_true).mean()),
    }


def timed(fn, repeat: int) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    out = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times)), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/foreground.json"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-pymatting", action="store_true", help="skip pymatting even if it is installed")
    args = parser.parse_args()
    try:
        if args.no_pymatting:
            raise ImportError
        from pymatting import estimate_foreground_ml  # type: ignore[import-not-found]
    except ImportError:
        estimate_foreground_ml = None

    results: dict[str, object] = {"cv2": cv2.__version__, "cv2_threads": cv2.getNumThreads(),
                                  "load_average_before": list(os.getloadavg())}
    for name, size in SIZES.items():
        case = composite(size)
        row: dict[str, object] = {"size": list(size)}
        row["naive"] = band_scores(case["I"], case)
        for passes, label in ((2, "blur_fusion"), (1, "blur_fusion_live_one_pass")):
            ms, est = timed(lambda c=case, p=passes: estimate_foreground(c["I"], c["alpha"], passes=p), args.repeat)
            row[label] = {**band_scores(est, case), "ms": ms}
        if estimate_foreground_ml is not None:
            image = case["I"].astype(np.float64) / 255.0
            a = case["alpha"].astype(np.float64) / 255.0
            repeat = 1 if name == "12MP" else max(1, args.repeat // 2)
            ms, est_ml = timed(lambda i=image, a=a: estimate_foreground_ml(i, a), repeat)
            est_u8 = np.clip(est_ml * 255.0 + 0.5, 0, 255).astype(np.uint8)
            row["pymatting_ml"] = {**band_scores(est_u8, case), "ms": ms}
        results[name] = row
        print(name, json.dumps(row, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
