"""Before / after pictures of stills for docs/: each still through two stills-path variants of
bench/quality_session9.py, side by side (missed person pixels blue, false person pixels red).

    .venv/bin/python bench/quality_pictures.py --variants no-head,default \
        .cache/evalset-fresh-seed5:s5-tune-13-portraits-P001-P004-P005 ...   # -> docs/img/heads-<name[:10]>.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import quality_metrics as qm  # noqa: E402
from bench_quality import error_picture  # noqa: E402
from quality_session9 import VARIANTS  # noqa: E402

from desktop_app.core.quality import segment_still  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stills", nargs="+", help="SET:NAME, e.g. .cache/evalset:group3-P001-P002-P003")
    parser.add_argument("--variants", default="no-head,default")
    parser.add_argument("--prefix", default="heads")
    parser.add_argument("--height", type=int, default=360)
    args = parser.parse_args()
    segmenter = Segmenter("auto", device="cpu", threads=1)
    for item in args.stills:
        root, name = item.split(":")
        stem = REPO / root / "stills" / name
        rgb = np.ascontiguousarray(cv2.imread(f"{stem}.png")[..., ::-1])
        truth = cv2.imread(f"{stem}.truth.png", 0) > 0
        pictures = []
        for variant in args.variants.split(","):
            pred = segment_still(segmenter, rgb, VARIANTS[variant]) >= 0.5
            print(f"{name} {variant} IoU {qm.image_scores(pred, truth, None)['iou']:.4f}")
            pictures += [error_picture(rgb, pred, truth, args.height), np.full((args.height, 6, 3), 255, np.uint8)]
        out = REPO / "docs" / "img" / f"{args.prefix}-{name[:10]}.png"
        cv2.imwrite(str(out), np.hstack(pictures[:-1])[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
