"""Reproduce assets/samples/, assets/backgrounds/ and the test images in tests/fixtures/reference/.

Run from the repo root in the tools venv (after tools/build_models.py, whose FP32 model cuts the astronaut out
for the synthetic video):

    .venvs/tools/bin/python tools/make_assets.py

Every photo comes from scikit-image's bundled data (licenses in assets/README.md); the rest is generated
with seeded randomness, so the output is the same on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from modelspec import MODELS_DIR, cpu_session, run_mask  # noqa: E402

from desktop_app.core.resize import resize_corner_aligned  # noqa: E402

SAMPLES = ROOT / "assets" / "samples"
BACKGROUNDS = ROOT / "assets" / "backgrounds"
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
BG_SIZE = (1920, 1080)
VIDEO_SIZE = (1280, 720)
FPS = 30
SECONDS = 6


def write_jpeg(path: Path, rgb: np.ndarray, quality: int = 88) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SystemExit(f"could not write {path}")
    print(f"{path.relative_to(ROOT)}: {rgb.shape[1]}x{rgb.shape[0]}, {path.stat().st_size // 1024} KB")


def cover(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale to cover `size` = (w, h) and centre-crop."""
    w, h = size
    scale = max(w / rgb.shape[1], h / rgb.shape[0])
    resized = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    y = (resized.shape[0] - h) // 2
    x = (resized.shape[1] - w) // 2
    return np.ascontiguousarray(resized[y : y + h, x : x + w])


def gradient(size: tuple[int, int]) -> np.ndarray:
    """A soft diagonal teal-to-violet gradient."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (xx / w * 0.7 + yy / h * 0.3)[..., None]
    a = np.array([24, 120, 140], np.float32)
    b = np.array([96, 48, 140], np.float32)
    return np.clip(a * (1 - t) + b * t, 0, 255).astype(np.uint8)


def bokeh(size: tuple[int, int], seed: int = 3) -> np.ndarray:
    """Out-of-focus warm lights over a dark blue gradient."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = gradient(size).astype(np.float32) * 0.35
    lights = np.zeros((h, w, 3), np.float32)
    for _ in range(90):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        r = int(rng.integers(20, 90))
        colour = rng.choice([[255, 190, 90], [255, 140, 60], [250, 230, 170], [120, 180, 255]])
        layer = np.zeros_like(lights)
        cv2.circle(layer, c, r, [float(v) * rng.uniform(0.2, 0.6) for v in colour], -1, cv2.LINE_AA)
        lights = np.maximum(lights, layer)
    lights = cv2.GaussianBlur(lights, (0, 0), 6)
    return np.clip(img + lights, 0, 255).astype(np.uint8)


def astronaut_cutout() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut and a soft alpha from our FP32 general model at full resolution."""
    rgb = data.astronaut()
    session = cpu_session(MODELS_DIR / "selfie_general_fp32.onnx")
    small = run_mask(session, resize_corner_aligned(rgb, (256, 256)))
    alpha = resize_corner_aligned(small, (rgb.shape[1], rgb.shape[0]))
    alpha = np.clip((alpha - 0.3) / 0.4, 0.0, 1.0)  # firmer edges than the raw probability
    return rgb, alpha.astype(np.float32)


def composite(bg: np.ndarray, person: np.ndarray, alpha: np.ndarray, t: float) -> np.ndarray:
    """One video frame at time fraction t: the person sways left-right, zooms in and out, bottom-anchored."""
    h, w = bg.shape[:2]
    scale = (0.95 + 0.2 * np.sin(2 * np.pi * t)) * h / person.shape[0]
    pw, ph = int(person.shape[1] * scale), int(person.shape[0] * scale)
    p = cv2.resize(person, (pw, ph), interpolation=cv2.INTER_AREA)
    a = cv2.resize(alpha, (pw, ph), interpolation=cv2.INTER_AREA)[..., None]
    cx = int(w / 2 + 0.28 * w * np.sin(2 * np.pi * t * 2))
    x0, y0 = cx - pw // 2, h - ph
    frame = bg.astype(np.float32)
    xs, xe = max(x0, 0), min(x0 + pw, w)
    ys, ye = max(y0, 0), h
    pa = a[ys - y0 : ye - y0, xs - x0 : xe - x0]
    pp = p[ys - y0 : ye - y0, xs - x0 : xe - x0].astype(np.float32)
    frame[ys:ye, xs:xe] = frame[ys:ye, xs:xe] * (1 - pa) + pp * pa
    return frame.astype(np.uint8)


def walk_video(path: Path, person: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Write the fake-camera clip (mp4v); return its middle frame."""
    bg = cover(bokeh(BG_SIZE, seed=11), VIDEO_SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, VIDEO_SIZE)
    if not writer.isOpened():
        raise SystemExit("cv2.VideoWriter cannot write mp4v here")
    n = FPS * SECONDS
    middle = None
    for i in range(n):
        frame = composite(bg, person, alpha, i / n)
        if i == n // 3:
            middle = frame
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    print(f"{path.relative_to(ROOT)}: {n} frames, {path.stat().st_size // 1024} KB")
    assert middle is not None
    return middle


def main() -> None:
    astronaut = data.astronaut()
    camera = np.dstack([data.camera()] * 3)
    write_jpeg(SAMPLES / "astronaut.jpg", astronaut, 92)
    write_jpeg(SAMPLES / "camera.jpg", camera, 92)

    write_jpeg(BACKGROUNDS / "bokeh.jpg", bokeh(BG_SIZE), 85)
    write_jpeg(BACKGROUNDS / "gradient.jpg", gradient(BG_SIZE), 85)
    write_jpeg(BACKGROUNDS / "rocket.jpg", cover(data.rocket(), BG_SIZE), 85)
    write_jpeg(BACKGROUNDS / "coffee.jpg", cover(data.coffee(), BG_SIZE), 85)

    person, alpha = astronaut_cutout()
    frame = walk_video(SAMPLES / "walk.mp4", person, alpha)

    # Test images for the reference masks: portrait, square, landscape, grayscale; small JPEGs.
    write_jpeg(REFERENCE / "astronaut.jpg", astronaut, 90)
    write_jpeg(REFERENCE / "astronaut_tall.jpg", np.ascontiguousarray(astronaut[:, 96:384]), 90)
    write_jpeg(REFERENCE / "camera.jpg", camera, 90)
    write_jpeg(REFERENCE / "walk_frame.jpg", cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA), 90)


if __name__ == "__main__":
    main()
