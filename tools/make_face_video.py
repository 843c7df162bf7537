"""Make the face-tracking test video (issue #11): three synthetic people whose face box is known on every frame,
moving over a real photo, for bench/bench_face_tracking.py.

    .venv/bin/pip install scikit-image openpeople==0.1.2      # see tools/requirements-tools.txt
    .venv/bin/python tools/make_face_video.py [--out .cache/face_video] [--frames 300] [--sheet]

Writes <out>/faces.mp4 (1280x720, 30 fps, H.264 crf 16; ~10 s) and <out>/truth.json: per frame and person the
true face box (pixels) and the visible pixels of that box (not outside the frame, not behind a nearer person).

- People: openpeople==0.1.2's studio portraits (MIT, synthetic, none real) of held-out P006, P008 and P010,
  keyed into cut-outs by tools/build_evalset.py. The face box of each cut-out is found once on the clean,
  unchanged picture by CenterFace FP16 (the bundled GPU variant, run on the CPU; the gate's near-FP32
  reference) and then carried through the known transform of every frame: so the truth does not depend on what
  the detectors see in the moving, blurred frames. Under a rotation it is the box around the rotated ellipse
  inscribed in the face box (a tilted face, not the corners of a tilted square).
- Background: scikit-image's `coffee` (CC0), slowly panned as by a hand-held camera.
- Motion (piecewise linear keyframes below): P008 comes closer (face 70 -> 250 px tall), turns away and back
  (the face squeezed to 30% of its width: a head turn seen from the front) and tilts +-15 degrees; P010 and
  P006 cross each other (P006 in front, so P010 is partly hidden), P006 in quick moves of ~25-30 px/frame with
  motion blur (a line kernel along the motion, 70% of the frame's displacement: a 1/40 s exposure), and both
  leave through the frame's sides. These are where detectors miss.
Deterministic: the same packages give the same truth.json (the MP4's bytes depend on the encoder's build).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

SIZE, FPS = (1280, 720), 30
PEOPLE = ("P008", "P010", "P006")  # back to front
# frame, face centre x, y (px), face height (px), width squeeze (1 = frontal), tilt (degrees)
KEYS: dict[str, list[tuple[int, float, float, float, float, float]]] = {
    "P008": [(0, 900, 260, 70, 1, 0), (120, 860, 300, 250, 1, 0), (135, 860, 300, 250, 0.3, 0),
             (150, 860, 300, 250, 1, 0), (175, 860, 300, 240, 1, 15), (200, 860, 300, 240, 1, -15),
             (215, 860, 300, 240, 1, 0), (250, 1000, 320, 140, 1, 0), (299, 1060, 330, 110, 0.45, 0)],
    "P010": [(0, 1150, 420, 120, 1, 0), (60, 1100, 420, 120, 1, 0), (150, 330, 430, 130, 1, 0),
             (180, 120, 430, 130, 1, 0), (215, -80, 430, 130, 1, 0), (299, -80, 430, 130, 1, 0)],
    "P006": [(0, -90, 400, 110, 1, 0), (30, 60, 400, 110, 1, 0), (60, 120, 405, 110, 1, 0),
             (85, 820, 410, 115, 1, 0), (110, 850, 410, 115, 1, 0), (130, 300, 400, 110, 1, 0),
             (170, 320, 400, 110, 1, 0), (190, 500, 420, 150, 1, 0), (230, 520, 420, 150, 0.35, 0),
             (260, 880, 410, 120, 1, 0), (285, 1400, 410, 120, 1, 0), (299, 1400, 410, 120, 1, 0)],
}
BLUR_SHARE = 0.7  # of a frame's displacement smeared into its picture (an exposure of 0.7 / 30 s)
MIN_VISIBLE = 0.4  # a face counts as visible in a frame when this share of its box is in view


@dataclass(frozen=True)
class Pose:
    cx: float
    cy: float
    height: float
    squeeze: float
    tilt: float


def pose_at(keys: list[tuple[int, float, float, float, float, float]], frame: float) -> Pose:
    """Piecewise linear between keyframes (held after the last)."""
    for (f0, *a), (f1, *b) in itertools.pairwise(keys):
        if f0 <= frame <= f1:
            t = (frame - f0) / (f1 - f0)
            return Pose(*(u + t * (v - u) for u, v in zip(a, b, strict=True)))
    return Pose(*keys[-1][1:])


def person_matrix(face: tuple[float, float, float, float], pose: Pose) -> np.ndarray:
    """2x3 affine from the cut-out's pixels to the frame's: scale to the face height, squeeze x, tilt, move."""
    fx, fy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    s = pose.height / (face[3] - face[1])
    a = np.deg2rad(pose.tilt)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    lin = rot @ np.diag([s * pose.squeeze, s])
    shift = np.array([pose.cx, pose.cy]) - lin @ np.array([fx, fy])
    return np.hstack([lin, shift[:, None]]).astype(np.float64)


def truth_box(face: tuple[float, float, float, float], m: np.ndarray) -> tuple[float, float, float, float]:
    """The box around the transformed ellipse inscribed in `face`."""
    a, b = (face[2] - face[0]) / 2, (face[3] - face[1]) / 2
    centre = m[:, :2] @ np.array([(face[0] + face[2]) / 2, (face[1] + face[3]) / 2]) + m[:, 2]
    half = np.sqrt((m[:, 0] * a) ** 2 + (m[:, 1] * b) ** 2)  # per output axis
    return (float(centre[0] - half[0]), float(centre[1] - half[1]), float(centre[0] + half[0]),
            float(centre[1] + half[1]))


def motion_kernel(dx: float, dy: float) -> np.ndarray | None:
    length = BLUR_SHARE * float(np.hypot(dx, dy))
    if length < 2.0:
        return None
    n = int(np.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    ux, uy = dx / np.hypot(dx, dy), dy / np.hypot(dx, dy)
    for t in np.linspace(-length / 2, length / 2, 4 * n):
        k[round(c + t * uy), round(c + t * ux)] = 1.0
    return k / k.sum()


def face_of(rgb: np.ndarray, detect) -> tuple[float, float, float, float]:
    """The cut-out's face box (pixels): CenterFace FP16 on the clean picture on grey, the best face."""
    h, w = rgb.shape[:2]
    faces = detect(rgb)
    if not faces:
        raise SystemExit("no face found on a clean portrait: the truth cannot be made")
    b = faces[0].box
    return (b[0] * w, b[1] * h, b[2] * w, b[3] * h)


def reference_detector():
    """CenterFace FP16 (the bundled GPU variant) run on the CPU at the picture's full size."""
    from desktop_app.core import models
    from desktop_app.core.engine import InferenceEngine
    from desktop_app.core.faces.adapter import FaceDetectionAdapter
    from desktop_app.core.faces.detector import PHOTO_MODEL

    spec = models.load_manifest().get(PHOTO_MODEL)
    variant = next(v for v in spec.variants if v.precision == "fp16")
    models.verify(variant)
    engine = InferenceEngine(variant.path, "cpu", 2)
    adapter = FaceDetectionAdapter(spec, engine.input_meta, min_score=0.5, max_side=2048)
    return lambda rgb: adapter.postprocess(engine.run(adapter.preprocess(rgb)))


def background(frames: int) -> Iterator[np.ndarray]:
    """`coffee` cover-fitted with 8% to spare, panned 100 px right and 30 px down over the clip (smooth)."""
    from skimage import data

    w, h = SIZE
    img = data.coffee()
    scale = 1.08 * max(w / img.shape[1], h / img.shape[0])
    big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    for i in range(frames):
        t = 0.5 - 0.5 * np.cos(np.pi * i / max(frames - 1, 1))
        m = np.float32([[1, 0, -(4 + 100 * t)], [0, 1, -(4 + 30 * t)]])
        yield cv2.warpAffine(big, m, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def make(out_dir: Path, frames: int, sheet: bool) -> dict:
    import av
    import build_evalset as ev

    detect = reference_detector()
    people = {}
    for pid in PEOPLE:
        rgb, mask = ev.load_person(pid, "portrait", soft=False)  # the face clips keep the hard key
        grey = np.where(mask[..., None], rgb, 118).astype(np.uint8)
        people[pid] = (rgb.astype(np.float32), cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0),
                       face_of(grey, detect))
    out_dir.mkdir(parents=True, exist_ok=True)
    w, h = SIZE
    truth: list[dict] = []
    path = out_dir / "faces.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=FPS, options={"crf": "16", "preset": "medium"})
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    sheet_frames = []
    for i, canvas in enumerate(background(frames)):
        layers = []
        for pid in PEOPLE:
            rgb, alpha, face = people[pid]
            pose = pose_at(KEYS[pid], i)
            m = person_matrix(face, pose)
            prev = pose_at(KEYS[pid], max(i - 1, 0))
            dx, dy = pose.cx - prev.cx, pose.cy - prev.cy
            a = cv2.warpAffine(alpha, m, SIZE, flags=cv2.INTER_LINEAR, borderValue=0)
            p = cv2.warpAffine(rgb * alpha[..., None], m, SIZE, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
            k = motion_kernel(dx, dy)
            if k is not None:
                a, p = cv2.filter2D(a, -1, k), cv2.filter2D(p, -1, k)
            canvas = canvas * (1.0 - a[..., None]) + p  # premultiplied over
            layers.append((pid, truth_box(face, m), a))
        faces = []
        for j, (pid, box, _) in enumerate(layers):
            x0, y0, x1, y1 = (round(v) for v in box)
            area = max(x1 - x0, 1) * max(y1 - y0, 1)
            cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            visible = np.zeros((max(cy1 - cy0, 0), max(cx1 - cx0, 0)), bool)
            if visible.size:
                visible[:] = True
                for _, _, front in layers[j + 1 :]:
                    visible &= front[cy0:cy1, cx0:cx1] < 0.5
            share = float(visible.sum()) / area
            faces.append({"person": pid, "box": [round(v, 2) for v in box], "visible_share": round(share, 4),
                          "visible": share >= MIN_VISIBLE,
                          "hidden_by_front": [[int(v) for v in r] for r in _runs(~visible, cx0, cy0)]})
        truth.append({"frame": i, "faces": faces})
        frame = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
        vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
        for packet in stream.encode(vf):
            container.mux(packet)
        if sheet and i % 15 == 0:
            sheet_frames.append(_annotate(frame, faces, i))
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    if sheet_frames:
        rows = [np.hstack(sheet_frames[r : r + 4]) for r in range(0, len(sheet_frames) - 3, 4)]
        cv2.imwrite(str(out_dir / "sheet.jpg"), cv2.resize(np.vstack(rows), None, fx=0.4, fy=0.4)[..., ::-1])
    meta = {"size": list(SIZE), "fps": FPS, "frames": frames, "video": path.name,
            "min_visible": MIN_VISIBLE, "people": {pid: [round(v, 2) for v in people[pid][2]] for pid in PEOPLE},
            "truth": truth}
    (out_dir / "truth.json").write_text(json.dumps(meta))
    return meta


def _runs(hidden: np.ndarray, x0: int, y0: int) -> list[tuple[int, int, int]]:
    """Run-length of the hidden pixels of a face box, (row, col start, col end) in frame pixels."""
    out = []
    for r in np.flatnonzero(hidden.any(axis=1)):
        row = np.concatenate([[False], hidden[r], [False]])
        d = np.flatnonzero(np.diff(row.astype(np.int8)))
        out.extend((int(r + y0), int(s + x0), int(e + x0)) for s, e in zip(d[::2], d[1::2], strict=True))
    return out


def _annotate(frame: np.ndarray, faces: list[dict], i: int) -> np.ndarray:
    img = frame.copy()
    for f in faces:
        x0, y0, x1, y1 = (round(v) for v in f["box"])
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 255, 0) if f["visible"] else (255, 0, 0), 3)
    cv2.putText(img, str(i), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 0), 4)
    return img


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / ".cache" / "face_video")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--sheet", action="store_true", help="also write sheet.jpg: every 15th frame, truth drawn")
    args = ap.parse_args(argv)
    meta = make(args.out, args.frames, args.sheet)
    visible = sum(f["visible"] for t in meta["truth"] for f in t["faces"])
    print(f"{args.out / meta['video']}: {meta['frames']} frames, {visible} visible face-frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
