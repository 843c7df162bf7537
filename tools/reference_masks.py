"""Masks from MediaPipe's own runtime (mediapipe==0.10.14 solutions.selfie_segmentation), the ground truth the
converted ONNX models are tested against. Runs only in .venvs/mediapipe (tools/make_mediapipe_venv.sh):

    .venvs/mediapipe/bin/python tools/reference_masks.py
        For every tests/fixtures/reference/*.jpg, writes <image>.<model>.png (8-bit probability, full
        resolution) and <image>.<model>.json (image, model, model_selection, mask shape) for both models.
    .venvs/mediapipe/bin/python tools/reference_masks.py --raw DIR --model-selection 0 --out X.npz
        Float masks for DIR/*.png (used by build_models.py at model size to check the conversion).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "reference"
MODEL_IDS = {0: "selfie-general", 1: "selfie-landscape"}


def mediapipe_mask(rgb: np.ndarray, model_selection: int) -> np.ndarray:
    """(H, W) float32 probability from a fresh SelfieSegmentation (no state carried between images)."""
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection) as seg:
        result = seg.process(np.ascontiguousarray(rgb))
    return np.asarray(result.segmentation_mask, dtype=np.float32)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def raw(folder: Path, model_selection: int, out: Path) -> None:
    masks = {p.stem: mediapipe_mask(read_rgb(p), model_selection) for p in sorted(folder.glob("*.png"))}
    np.savez(out, **masks)


def fixtures() -> None:
    images = sorted(FIXTURES.glob("*.jpg"))
    if not images:
        raise SystemExit(f"no test images in {FIXTURES}")
    for image in images:
        rgb = read_rgb(image)
        for selection, model_id in MODEL_IDS.items():
            mask = mediapipe_mask(rgb, selection)
            stem = f"{image.stem}.{model_id}"
            cv2.imwrite(str(FIXTURES / f"{stem}.png"), np.round(mask * 255.0).astype(np.uint8))
            meta = {
                "image": image.name,
                "model": model_id,
                "model_selection": selection,
                "mask": f"{stem}.png",
                "mask_shape": list(mask.shape),
                "encoding": "uint8 = round(probability * 255)",
                "runtime": f"mediapipe {mp.__version__} solutions.selfie_segmentation",
                "foreground_fraction": round(float((mask > 0.5).mean()), 4),
            }
            (FIXTURES / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n")
            print(f"{stem}: {mask.shape}, foreground {meta['foreground_fraction']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path)
    parser.add_argument("--model-selection", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.raw:
        raw(args.raw, args.model_selection, args.out)
    else:
        fixtures()


if __name__ == "__main__":
    main()
