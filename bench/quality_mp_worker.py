"""MediaPipe's side of bench/bench_quality.py; runs in .venvs/mediapipe (tools/make_mediapipe_venv.sh).

For every still of the evaluation set and every frame of its clips, both selfie models (0 general, 1 landscape)
of MediaPipe's own runtime (mediapipe==0.10.14 solutions.selfie_segmentation) make the full-resolution mask;
person = probability >= 0.5. Stills: a fresh graph per picture. Clips: one graph per clip and model, frames in
order (as a video call would run it). Writes one .npz of bit-packed masks (by rename: a hard-linked copy of an
older one elsewhere keeps its contents); with CLIPS (comma-separated clip names) only those clips, no stills:

    .venvs/mediapipe/bin/python bench/quality_mp_worker.py EVALSET_DIR OUT.npz [CLIPS]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

MODELS = {0: "mediapipe-general", 1: "mediapipe-landscape"}


def read_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


def main() -> int:
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    only = sys.argv[3].split(",") if len(sys.argv) > 3 else None
    manifest = json.loads((root / "manifest.json").read_text())
    if only is not None:
        manifest = {"stills": [], "videos": [v for v in manifest["videos"] if v["clip"] in only]}
    solution = mp.solutions.selfie_segmentation.SelfieSegmentation
    result: dict[str, np.ndarray] = {}
    for still in manifest["stills"]:
        rgb = read_rgb(root / "stills" / f"{still['name']}.png")
        for selection, model in MODELS.items():
            with solution(model_selection=selection) as seg:
                mask = np.asarray(seg.process(rgb).segmentation_mask) >= 0.5
            result[f"{model}/{still['name']}"] = np.packbits(mask)
    for clip in manifest["videos"]:
        folder = root / "video" / clip["clip"]
        for selection, model in MODELS.items():
            with solution(model_selection=selection) as seg:
                for t in range(clip["frames"]):
                    mask = np.asarray(seg.process(read_rgb(folder / f"{t:03d}.png")).segmentation_mask) >= 0.5
                    result[f"{model}/{clip['clip']}/{t:03d}"] = np.packbits(mask)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(tmp, **result)
    os.replace(tmp, out)
    print(json.dumps({"mediapipe": mp.__version__, "masks": len(result)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
