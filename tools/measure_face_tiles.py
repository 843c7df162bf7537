"""Recall of CenterFace INT8 by face size on 4000 x 3000 photos: one pass at the detector's max_side (640, its
manifest input; 1280) against `faces.tiles.detect_tiled`, and the cost of each.

Faces: the held-out openpeople photos (P006-P010: studio portrait and amateur selfie; tools/faceimages.py's
sources), each face found by CenterFace on the photo at 1280 px, cut out with its surroundings, scaled so the face
is N px tall and pasted 30 to a picture (6 x 5, jittered, so some lie across the tiles' seams) on the bundled
coffee background (assets/backgrounds). A face counts as found when one detection's centre lies in its box and the
heights agree within 2x; detections matching no face, or a face already matched, are counted as extra.

    PYTHONPATH=<openpeople dir>:tools .venv/bin/python tools/measure_face_tiles.py [--sizes 16,20,24,...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector
from desktop_app.core.faces.tiles import detect_tiled

W, H = 4000, 3000


def portraits() -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    import importlib.util

    from faceimages import HELD_OUT  # type: ignore[import-not-found]

    found = importlib.util.find_spec("openpeople")  # its data only (importing it wants pydantic)
    assert found is not None and found.origin is not None, "openpeople==0.1.2 is needed"
    base = Path(found.origin).parent / "data" / "curated"

    detector = FaceDetector(PHOTO_MODEL)
    out = []
    for pid in HELD_OUT:
        for asset in ("studio_portrait", "amateur_selfie"):
            path = base / pid / "assets" / f"{asset}.jpg"
            rgb = cv2.imread(str(path))[..., ::-1].copy()
            scale = 1280 / max(rgb.shape[:2])
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            faces = detector.detect(rgb, max_side=1280)
            if faces:
                x0, y0, x1, y1 = faces[0].box
                h, w = rgb.shape[:2]
                out.append((rgb, (x0 * w, y0 * h, x1 * w, y1 * h)))
    return out


def grid(people: list, size: int, seed: int) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    scene = cv2.imread(str(Path(__file__).resolve().parents[1] / "assets" / "backgrounds" / "coffee.jpg"))[..., ::-1]
    canvas = cv2.resize(scene, (W, H), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(seed)
    truth = []
    for i in range(30):
        rgb, (x0, y0, x1, y1) = people[i % len(people)]
        s = size / (y1 - y0)
        fw, fh = (x1 - x0) * s, size
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = max(x1 - x0, y1 - y0)  # the face with one face-size of surroundings on every side
        ox, oy = max(0, int(cx - 1.5 * half)), max(0, int(cy - 1.5 * half))
        crop = rgb[oy : int(cy + 1.5 * half), ox : int(cx + 1.5 * half)]
        small = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        col, row = i % 6, i // 6
        px = int((col + 0.5) * W / 6 + rng.uniform(-0.25, 0.25) * W / 6 - small.shape[1] / 2)
        py = int((row + 0.5) * H / 5 + rng.uniform(-0.25, 0.25) * H / 5 - small.shape[0] / 2)
        px, py = min(max(px, 0), W - small.shape[1]), min(max(py, 0), H - small.shape[0])
        canvas[py : py + small.shape[0], px : px + small.shape[1]] = small
        fx0, fy0 = px + (x0 - ox) * s, py + (y0 - oy) * s
        truth.append((fx0, fy0, fx0 + fw, fy0 + fh))
    return canvas, truth


def score(found: list, truth: list) -> tuple[int, int]:
    """(faces found, extra detections)."""
    matched: set[int] = set()
    extra = 0
    for face in found:
        x0, y0, x1, y1 = face.box[0] * W, face.box[1] * H, face.box[2] * W, face.box[3] * H
        cx, cy, fh = (x0 + x1) / 2, (y0 + y1) / 2, y1 - y0
        hit = next((i for i, (a, b, c, d) in enumerate(truth)
                    if a <= cx <= c and b <= cy <= d and 0.5 < fh / (d - b) < 2.0), None)
        if hit is None or hit in matched:
            extra += 1
        else:
            matched.add(hit)
    return len(matched), extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="16,20,24,30,40,60,100,200")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    people = portraits()
    detector = FaceDetector(PHOTO_MODEL)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        canvas, truth = grid(people, size, seed=size)
        row: dict[str, object] = {"face_px": size, "faces": len(truth)}
        for name, run in (("single_640", lambda c: detector.detect(c, min_score=0.5)),
                          ("single_1280", lambda c: detector.detect(c, min_score=0.5, max_side=1280)),
                          ("tiled", lambda c: detect_tiled(detector, c, 0.5))):
            start = time.perf_counter()
            found = run(canvas)
            ms = (time.perf_counter() - start) * 1000.0
            hits, extra = score(found, truth)
            row[name] = {"found": hits, "extra": extra, "ms": round(ms, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
