"""MediaPipe's soft masks for bench/quality_photo_floor.py; runs in .venvs/mediapipe (tools/make_mediapipe_venv.sh).

Both selfie models of mediapipe==0.10.14 (solutions.selfie_segmentation; 0 general, 1 landscape), a fresh graph per
picture, on the named stills: the full-resolution probability as MediaPipe's own sample blends by it, written as
float16 arrays to one .npz (keys `<model>/<stem>`):

    .venvs/mediapipe/bin/python bench/quality_mp_soft_worker.py OUT.npz STILL.png [STILL.png ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

MODELS = {0: "mediapipe-general", 1: "mediapipe-landscape"}


def main() -> int:
    out, paths = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    arrays = {}
    for path in paths:
        rgb = np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])
        for selection, name in MODELS.items():
            with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=selection) as seg:
                prob = seg.process(rgb).segmentation_mask
            arrays[f"{name}/{path.stem}"] = np.clip(prob, 0.0, 1.0).astype(np.float16)
    np.savez_compressed(out, **arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
