"""Instruction counts per frame, which the machine's load does not change (valgrind --tool=callgrind).

    valgrind --tool=callgrind python bench/callgrind_frames.py N EFFECT 720|1080

processes N moving frames of the sample through `Pipeline` (temporal, live; ONNX Runtime and OpenCV on one thread).
Run it for two N and subtract to get one frame's count without start-up (bench/results/callgrind_1080p_replace.json
compares two checkouts that way, with PYTHONPATH set to each).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.segmenter import Segmenter

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    cv2.setNumThreads(1)
    count, effect = int(sys.argv[1]), sys.argv[2]
    width, height = (1920, 1080) if sys.argv[3] == "1080" else (1280, 720)
    backgrounds = REPO / "assets" / "backgrounds"
    background = backgrounds / sorted(os.listdir(backgrounds))[0] if effect == "replace" else None
    pipeline = Pipeline(Segmenter(device="cpu", threads=1), EffectParams(effect=effect, background=background),
                        temporal=True)
    photo = cv2.cvtColor(cv2.imread(str(REPO / "assets" / "samples" / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
    for i in range(count):
        frame = np.ascontiguousarray(cv2.resize(np.roll(photo, 7 * i, axis=1), (width, height)))
        pipeline.process(Frame(frame, 0.0, i, "callgrind"))


if __name__ == "__main__":
    main()
