"""bench/bench_quality.py's picture of where a still person's mask flickers (the noisy clips, issue #9)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_still_picture(folder: Path, clip: str, frames: list[np.ndarray], truths: list[np.ndarray],
                        preds: dict[str, list[np.ndarray]], repo: Path) -> str | None:
    """The clip's longest stretch where the truth does not move: every pixel that flipped at least once in it, red
    on the stretch's last frame in grey, one tile per method (--clips-only --pictures; none without a stretch)."""
    still = [t for t in range(1, len(truths)) if np.array_equal(truths[t], truths[t - 1])]
    runs: list[list[int]] = []
    for t in still:
        if runs and runs[-1][-1] == t - 1:
            runs[-1].append(t)
        else:
            runs.append([t])
    if not runs:
        return None
    stretch = max(runs, key=len)
    last = stretch[-1]
    grey = np.dstack([cv2.cvtColor(frames[last], cv2.COLOR_RGB2GRAY)] * 3).astype(np.float32) * 0.8
    tiles = []
    for p in preds.values():
        flipped = np.zeros_like(truths[0])
        for t in stretch:
            flipped |= p[t] != p[t - 1]
        tile = grey.copy()
        edge = cv2.morphologyEx(p[last].astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        tile[edge] = tile[edge] * 0.5 + np.array([255, 255, 255]) * 0.5
        tile[flipped] = (255, 30, 30)
        tile = tile.astype(np.uint8)
        tiles.append(cv2.resize(tile, (round(tile.shape[1] * 180 / tile.shape[0]), 180), interpolation=cv2.INTER_AREA))
    sheet = np.hstack([np.pad(tile, ((0, 0), (0, 4), (0, 0)), constant_values=255) for tile in tiles])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"video-{clip}-still-{stretch[0] - 1:03d}-{last:03d}.png"
    cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"{path.name}: {', '.join(preds)}")
    return str(path.relative_to(repo))
