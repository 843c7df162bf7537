"""Runs in .venvs/deface (tools/make_deface_venv.sh): deface 1.5.0's own code, step by step, for
bench/bench_faces_vs_deface.py. Prints one JSON object on stdout.

For each photo: `imageio.v2.imread`, `CenterFace(in_shape=None)(frame, threshold)` (the CLI's defaults: the
network at the photo's full size rounded up to multiples of 32), `anonymize_frame` (blur, ellipse, mask scale 1.3)
and `imageio.imsave` to a temporary JPEG, each timed; the boxes (pixels -> normalized) and scores. For the video:
the same per frame through imageio's ffmpeg reader and writer (libx264, as the CLI), boxes every `stride`-th frame.
Also the import time of deface's CLI module and the model load (onnx load, dynamic shapes, session).

    .venvs/deface/bin/python bench/deface_worker.py --threshold 0.2 --stride 5 [--video V] PHOTO...
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

t_import = time.perf_counter()
import imageio  # noqa: E402
import imageio.v2 as iio  # noqa: E402
import numpy as np  # noqa: E402
from deface import deface as cli  # noqa: E402
from deface.centerface import CenterFace  # noqa: E402

IMPORT_S = time.perf_counter() - t_import
ANONYMIZE = {"mask_scale": 1.3, "replacewith": "blur", "ellipse": True, "draw_scores": False, "replaceimg": None,
             "mosaicsize": 20}


def boxes(dets: np.ndarray, width: int, height: int) -> list[list[float]]:
    """deface's (x1, y1, x2, y2, score) pixel rows as normalized [x0, y0, x1, y1, score]."""
    return [[float(d[0]) / width, float(d[1]) / height, float(d[2]) / width, float(d[3]) / height, float(d[4])]
            for d in dets]


def photo(centerface: CenterFace, path: Path, threshold: float, out: Path) -> dict:
    t0 = time.perf_counter()
    frame = iio.imread(path)
    t1 = time.perf_counter()
    dets, _ = centerface(frame, threshold=threshold)
    t2 = time.perf_counter()
    found = boxes(dets, frame.shape[1], frame.shape[0])
    cli.anonymize_frame(dets, frame, **ANONYMIZE)
    t3 = time.perf_counter()
    imageio.imsave(out, frame)
    t4 = time.perf_counter()
    ms = {"read": t1 - t0, "detect": t2 - t1, "anonymize": t3 - t2, "write": t4 - t3}
    return {"size": [frame.shape[1], frame.shape[0]], "boxes": found,
            "ms": {k: round(v * 1e3, 2) for k, v in ms.items()}}


def video(centerface: CenterFace, path: Path, threshold: float, stride: int, out: Path) -> dict:
    reader = imageio.get_reader(str(path))
    meta = reader.get_meta_data()
    writer = imageio.get_writer(str(out), format="FFMPEG", mode="I", fps=meta["fps"], codec="libx264")
    parts: dict[str, list[float]] = {"read": [], "detect": [], "anonymize": [], "write": []}
    frames: dict[str, list] = {}
    it = reader.iter_data()
    t_start = time.perf_counter()
    i = 0
    while True:
        t0 = time.perf_counter()
        try:
            frame = next(it)
        except StopIteration:
            break
        t1 = time.perf_counter()
        dets, _ = centerface(frame, threshold=threshold)
        t2 = time.perf_counter()
        if i % stride == 0:
            frames[str(i)] = boxes(dets, frame.shape[1], frame.shape[0])
        cli.anonymize_frame(dets, frame, **ANONYMIZE)
        t3 = time.perf_counter()
        writer.append_data(frame)
        t4 = time.perf_counter()
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            parts[k].append(v * 1e3)
        i += 1
    t_close = time.perf_counter()
    reader.close()
    writer.close()
    close_s = time.perf_counter() - t_close
    return {"frames_read": i, "boxes": frames, "ms_median": {k: round(statistics.median(v), 2) for k, v in
                                                            parts.items()},
            "ms_total": {k: round(sum(v), 1) for k, v in parts.items()},
            "loop_s": round(t_close - t_start, 3), "close_s": round(close_s, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path)
    parser.add_argument("--threshold", type=float, default=0.2)
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--video", type=Path)
    args = parser.parse_args()
    printed = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(printed):  # "Running on <provider>."
        centerface = CenterFace(in_shape=None, backend="auto")
    load_s = time.perf_counter() - t0
    provider = centerface.sess.get_providers() if centerface.backend == "onnxrt" else []
    result = {"deface": cli.__version__, "backend": centerface.backend, "providers": provider,
              "printed": printed.getvalue().strip(), "import_s": round(IMPORT_S, 3), "model_load_s": round(load_s, 3),
              "photos": {}, "video": None}
    with tempfile.TemporaryDirectory(prefix="deface-worker-") as tmp:
        for path in args.photos:
            result["photos"][path.name] = photo(centerface, path, args.threshold, Path(tmp) / path.name)
        if args.video is not None:
            result["video"] = video(centerface, args.video, args.threshold, args.stride, Path(tmp) / "out.mp4")
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
