"""Call clips with motions nobody tuned on (issue #9, session 16): does the video flicker target hold off the one
motion every other clip shares?

Every clip of the set moves the same way (tools/build_evalset.py's `video_path`: still, one long move while the
camera pans, still, a quick move back). Here each clip gets a seeded random path instead: holds of 8-20 frames
between moves of 8-30 frames (faster than the set's 60-frame move), each key a random horizontal place (0.3-0.7 of
the width), height (0.7-1.0 of the frame), lean (-10..10 degrees) and camera pan (0-0.7). People: the held-out
ones; backgrounds drawn from all six. Scored once, as they were built; the variants are
bench/quality_live_variants.py's.

    .venv/bin/python bench/quality_motion.py [--seeds 1,2] [--variants before,live-auto,live,video] \
        [--out bench/results/quality_motion.json]
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "tools")]

import bench_quality as bq  # noqa: E402
import build_evalset as be  # noqa: E402
import quality_live_variants as qlv  # noqa: E402

OUT = REPO / ".cache" / "evalset-motion"
PEOPLE = be.HELD_OUT
Key = tuple[int, tuple[float, float, float, float]]


def random_keys(rng: np.random.Generator, frames: int = be.VIDEO_FRAMES) -> list[Key]:
    """(frame, (cx, height, angle, pan)) keys: a hold to start, then moves and holds until the last frame."""

    def pose() -> tuple[float, float, float, float]:
        return (round(float(rng.uniform(0.3, 0.7)), 3), round(float(rng.uniform(0.7, 1.0)), 3),
                round(float(rng.uniform(-10, 10)), 1), round(float(rng.uniform(0.0, 0.7)), 3))

    here = pose()
    t = int(rng.integers(8, 21))
    keys = [(0, here), (t, here)]
    while t < frames - 1:
        t = min(frames - 1, t + int(rng.integers(8, 31)))
        here = pose()
        keys.append((t, here))
        if t < frames - 1:
            t = min(frames - 1, t + int(rng.integers(8, 21)))
            keys.append((t, here))
    return keys


def path_of(keys: list[Key]) -> Callable[[int], tuple[float, float, float, float]]:
    """`video_path`'s easing between these keys instead of the set's."""
    return functools.partial(be.keyed, keys)


def clips_for(seed: int) -> dict[str, tuple[str, str, list[Key]]]:
    """clip name -> (person, background, keys) for this seed."""
    rng = np.random.default_rng([16, seed])
    out = {}
    for pid in PEOPLE:
        background = str(rng.choice(be.BACKGROUNDS))
        out[f"motion{seed}-{pid}-{background}"] = (pid, background, random_keys(rng))
    return out


def before(frames: list[np.ndarray], segmenter) -> list[np.ndarray]:
    """Today's pipeline before #9 as a variant (its IoU on moving frames and lag, next to the others')."""
    pipeline = bq.OursBefore()
    pipeline.segmenter = segmenter
    return list(pipeline.clip(frames))


qlv.VARIANTS["before"] = before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--variants", default="before,live-auto,live,video")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality_motion.json")
    args = parser.parse_args()
    clips: dict[str, tuple[str, str, list[Key]]] = {}
    for seed in args.seeds.split(","):
        clips |= clips_for(int(seed))
    for clip, (pid, background, keys) in clips.items():
        if not (OUT / "video" / clip / f"{be.VIDEO_FRAMES - 1:03d}.truth.png").exists():
            be.build_video(OUT, clip, pid, background, {f"{pid}/portrait": be.load_person(pid, "portrait")},
                           path=path_of(keys))
        print(clip, "keys", [k[0] for k in keys], flush=True)

    def load(clip: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        folder = OUT / "video" / clip
        n = len(list(folder.glob("*.truth.png")))
        return ([bq.read_rgb(folder / f"{t:03d}.png") for t in range(n)],
                [bq.read_mask(folder / f"{t:03d}.truth.png") > 0 for t in range(n)])

    qlv.load_clip = load
    sys.argv = [sys.argv[0], "--clips", ",".join(clips), "--variants", args.variants, "--out", str(args.out)]
    return qlv.main()


if __name__ == "__main__":
    raise SystemExit(main())
