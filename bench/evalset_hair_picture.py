"""The evaluation set's hair before and after session 20's soft key: one clip frame from each, truth edge drawn.

Left: the set as it was (`tools/build_evalset.py --hard-hair`): the studio's grey pasted between the curls and
counted as person. Right: the set now (evalset_key.soft_key): the background seen between the strands.

    .venv/bin/python bench/evalset_hair_picture.py --old DIR --new DIR [--clip call-P002-grass] [--frame 50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent


def tile(folder: Path, frame: int) -> tuple[np.ndarray, np.ndarray]:
    rgb = cv2.imread(str(folder / f"{frame:03d}.png"))
    truth = cv2.imread(str(folder / f"{frame:03d}.truth.png"), cv2.IMREAD_GRAYSCALE) > 0
    return rgb, truth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="a set built with --hard-hair (its video/ folder)")
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--clip", default="call-P002-grass")
    parser.add_argument("--frame", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "evalset-soft-hair.png")
    args = parser.parse_args()
    tiles = []
    for root in (args.old, args.new):
        rgb, truth = tile(root / "video" / args.clip, args.frame)
        if root == args.old:  # the same box on both: beside the hair, a third of the way down the head
            ys, _ = np.nonzero(truth)
            y0 = int(ys.min()) + 30
            x0 = max(int(np.nonzero(truth[y0 + 65])[0].min()) - 45, 0)
        box = np.s_[y0 : y0 + 130, x0 : x0 + 110]
        edge = cv2.morphologyEx(truth.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((2, 2), np.uint8)) > 0
        drawn = rgb.copy()
        drawn[edge] = (0, 255, 0)
        pair = np.hstack([rgb[box], np.full((130, 3, 3), 255, np.uint8), drawn[box]])
        tiles.append(cv2.resize(pair, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST))
    gap = np.full((tiles[0].shape[0], 12, 3), 255, np.uint8)
    cv2.imwrite(str(args.out), np.hstack([tiles[0], gap, tiles[1]]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
