"""Which large buffers does the live path still allocate per frame? (issue #10's soak, docs/benchmarks.md)

Runs the Qt-free live path for `--frames` frames: the fake camera (walk.mp4 at 1280x720, unpaced), the live
pipeline (blur), the mirrored preview into a pooled buffer and `sinks.to_rgb`, as `live.LiveSession` does, on one
thread. Run it under strace with a fixed mmap threshold so that every block of at least that size is an mmap:

    MALLOC_MMAP_THRESHOLD_=262144 strace -f -e trace=mmap,openat -o /tmp/trace python bench/probe_large_allocs.py

The frames loop is marked in the trace by opening two marker paths; `--count TRACE` then prints the number and
sizes of anonymous mmaps >= 256 KiB per frame between the markers.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MARK_START, MARK_END = "/tmp/locallens-probe-start", "/tmp/locallens-probe-end"
MIN_BYTES = 256 * 1024


def open_marker(path: str) -> None:
    """An openat of `path` in the trace (it need not exist)."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_RDONLY))


def run(frames: int, warmup: int) -> None:
    from desktop_app.core import buffers, live, sinks
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline
    from desktop_app.core.segmenter import Segmenter
    from desktop_app.core.sources import VideoFileSource

    source = VideoFileSource(REPO / "assets" / "samples" / "walk.mp4", paced=False, size=(1280, 720))
    source.open()
    pipeline = Pipeline(Segmenter(device="cpu"), EffectParams(effect="blur"), temporal=True)
    preview = buffers.BufferPool()
    kept: collections.deque = collections.deque(maxlen=2)  # results in flight / the last one a sink repeats

    def one() -> None:
        result = pipeline.process(source.read())
        shown = live.mirrored(result.pixels, out=preview.take(result.pixels.shape, result.pixels.dtype))
        kept.append((result, shown, sinks.to_rgb(result.pixels)))

    for _ in range(warmup):
        one()
    open_marker(MARK_START)
    for _ in range(frames):
        one()
    open_marker(MARK_END)
    print(f"frames {frames}")


def count(trace: Path, frames: int) -> None:
    inside, sizes = False, collections.Counter()
    for line in trace.read_text().splitlines():
        if MARK_START in line:
            inside = True
        elif MARK_END in line:
            break
        elif inside and "mmap(NULL" in line and "MAP_ANONYMOUS" in line:
            size = int(re.search(r"mmap\(NULL, (\d+)", line).group(1))  # type: ignore[union-attr]
            if size >= MIN_BYTES:
                sizes[size] += 1
    total = sum(sizes.values())
    megabytes = sum(s * n for s, n in sizes.items()) / frames / 2**20
    print(f"{total / frames:.2f} mmaps >= 256 KiB per frame, {megabytes:.2f} MB per frame")
    for size, n in sorted(sizes.items(), key=lambda kv: -kv[0] * kv[1]):
        print(f"  {size / 2**20:7.2f} MB x {n / frames:.2f} per frame")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--count", type=Path, help="count the mmaps in this strace output instead of running")
    args = parser.parse_args()
    if args.count:
        count(args.count, args.frames)
    else:
        run(args.frames, args.warmup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
