"""Before / after pictures of the background plate (core.plate, session 19) on a tune clip: the video-file
pipeline's `remove` cut-out onto black, without the plate (left) and with it (right): the 200 px square beside the
left edge of the face, enlarged 2.5x.

    .venv/bin/python bench/quality_plate_picture.py [--clip call-P005] [--frame 60] -> docs/img/plate-<clip>.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import bench_quality as bq  # noqa: E402
import quality_live_variants as qlv  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.lookahead import video_lookahead  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402


def alpha_at(segmenter, frames: list[np.ndarray], index: int, plate: bool) -> np.ndarray:
    pipeline = Pipeline(segmenter, EffectParams(effect="remove"), temporal=True, video=True)
    pipeline.full_edges = True
    pipeline.plate = plate
    with video_lookahead(pipeline) as look:
        for i, rgb in enumerate(look.feed(frames[:index + 1])):
            alpha = pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask
    return np.clip(alpha, 0.0, 1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="call-P005")
    parser.add_argument("--frame", type=int, default=60)
    args = parser.parse_args()
    frames, truths = qlv.load_clip(args.clip)
    frames, truth = frames[:args.frame + 1], truths[args.frame]
    segmenter = bq.Ours().segmenter
    ys, xs = np.nonzero(truth)
    y0, x0 = int(ys.min()) + 84, max(0, int(xs.min()) + 74)
    side = []
    for plate in (False, True):
        alpha = alpha_at(segmenter, frames, args.frame, plate)
        cut = (frames[args.frame].astype(np.float32) * alpha[..., None] + 0.5).astype(np.uint8)
        side.append(cv2.resize(cut[y0:y0 + 200, x0:x0 + 200], None, fx=2.5, fy=2.5, interpolation=cv2.INTER_NEAREST))
    picture = np.hstack([side[0], np.full((side[0].shape[0], 8, 3), 255, np.uint8), side[1]])
    out = REPO / "docs" / "img" / f"plate-{args.clip}.png"
    cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
