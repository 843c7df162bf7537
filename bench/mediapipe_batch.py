"""MediaPipe's side of bench/bench_batch_vs_mediapipe.py: a plain single-process batch script.

Runs in .venvs/mediapipe (tools/make_mediapipe_venv.sh). For every `*.jpg` in IN, in name order: decode
(`cv2.imread`), segment (MediaPipe's own `SelfieSegmentation.process`, model_selection as LocalLens's `auto`),
blur the background, encode (`cv2.imwrite`) into OUT; one photo after another, no threads of its own (OpenCV
and MediaPipe keep their default internal threading, as a plain script gets). Prints one JSON line.

--compose plain: the MediaPipe sample's way, `cv2.GaussianBlur(image, (55, 55), 0)` blended by the soft mask.
--compose ours: LocalLens's MaskRefiner + effects.background.compose (numpy + OpenCV, imported from this repo),
so only the runtime and the scheduling differ from LocalLens.

    .venvs/mediapipe/bin/python bench/mediapipe_batch.py IN OUT --format png [--compose plain|ours]
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

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--format", choices=("png", "jpg"), default="png")
    parser.add_argument("--compose", choices=("plain", "ours"), default="plain")
    args = parser.parse_args()
    import mediapipe as mp

    refine = compose = None
    if args.compose == "ours":
        sys.path.insert(0, str(REPO))
        from desktop_app.core.effects import background as bg
        from desktop_app.core.masks import MaskRefiner
        from desktop_app.core.params import EffectParams

        params = EffectParams("blur")
        refiner = MaskRefiner(params.threshold, params.feather, params.smoothing)
        refine, compose = refiner.refine, (lambda rgb, m: bg.compose(rgb, m, params, None, mask_small=m))
    paths = sorted(args.inputs.glob("*.jpg"))
    args.out.mkdir(parents=True, exist_ok=True)
    first = cv2.imread(str(paths[0]))
    wide = first.shape[1] >= 1.5 * first.shape[0]
    encode = [cv2.IMWRITE_JPEG_QUALITY, 92] if args.format == "jpg" else []  # Pillow's quality on our side
    stages: dict[str, list[float]] = {"read": [], "segment": [], "blur": [], "write": []}
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1 if wide else 0) as seg:
        cpu0, t0 = time.process_time(), time.perf_counter()
        for path in paths:
            ta = time.perf_counter()
            bgr = cv2.imread(str(path))
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            tb = time.perf_counter()
            mask = seg.process(rgb).segmentation_mask
            tc = time.perf_counter()
            if compose is None:
                blurred = cv2.GaussianBlur(bgr, (55, 55), 0)
                alpha = mask[:, :, None]
                out = (bgr * alpha + blurred * (1.0 - alpha)).astype(np.uint8)
            else:
                refiner.reset()
                out = cv2.cvtColor(compose(rgb, refine(mask)), cv2.COLOR_RGB2BGR)
            td = time.perf_counter()
            if not cv2.imwrite(str(args.out / f"{path.stem}_blur.{args.format}"), out, encode):
                raise SystemExit(f"cannot write {path.stem}")
            for name, ms in zip(stages, (tb - ta, tc - tb, td - tc, time.perf_counter() - td), strict=True):
                stages[name].append(ms * 1e3)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps({"photos": len(paths), "seconds": seconds, "photos_per_s": len(paths) / seconds,
                      "cpu_s": cpu, "stage_ms": {k: round(float(np.median(v)), 2) for k, v in stages.items()},
                      "mediapipe": mp.__version__, "opencv": cv2.__version__,
                      "cv2_threads": cv2.getNumThreads(), "pid": os.getpid()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
