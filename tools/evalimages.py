"""Evaluation and calibration images for tools/quantize.py: RGB uint8, from packages on this machine.

Evaluation (people): scikit-image astronaut and camera, Debian opencv-doc's messi5, basketball1/2, plus
synthetic variations (flips, crops, scales, rotations, exposure, the astronaut pasted small or large on other
backgrounds). Calibration is disjoint: opencv-doc's vtest.avi pedestrian frames and crops, Megamind.avi
frames, and scikit-image photos without people. opencv-doc images are used here only, never committed;
missing ones are skipped (install Debian's opencv-doc to get them).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def _read(name: str) -> np.ndarray | None:
    bgr = cv2.imread(str(OPENCV_DATA / name), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _frames(name: str, indices: list[int]) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(OPENCV_DATA / name))
    out = []
    for i in indices:
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, bgr = cap.read()
        if ok:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def _gradient(w: int, h: int, a: tuple[int, int, int], b: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    row = np.array(a, np.float32) * (1 - t) + np.array(b, np.float32) * t
    return np.repeat(row, h, axis=0).astype(np.uint8)


def _paste(bg: np.ndarray, person: np.ndarray, alpha: np.ndarray, scale: float, cx: float) -> np.ndarray:
    """Paste the person bottom-anchored at horizontal centre cx (fraction), height = scale * bg height."""
    h, w = bg.shape[:2]
    ph = int(h * scale)
    pw = int(person.shape[1] * ph / person.shape[0])
    p = cv2.resize(person, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32)
    a = cv2.resize(alpha, (pw, ph), interpolation=cv2.INTER_AREA)[..., None]
    x0 = int(cx * w - pw / 2)
    y0 = h - ph
    out = bg.astype(np.float32)
    xs, xe = max(x0, 0), min(x0 + pw, w)
    ys = max(y0, 0)
    out[ys:h, xs:xe] = out[ys:h, xs:xe] * (1 - a[ys - y0 :, xs - x0 : xe - x0]) + (
        p[ys - y0 :, xs - x0 : xe - x0] * a[ys - y0 :, xs - x0 : xe - x0]
    )
    return out.astype(np.uint8)


def _rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def evaluation_set(cutout_alpha: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Named people images. `cutout_alpha`: the astronaut's soft mask (from the FP32 model) for pastes."""
    base: dict[str, np.ndarray] = {
        "astronaut": data.astronaut(),
        "camera": np.dstack([data.camera()] * 3),
    }
    for name in ("messi5.jpg", "basketball1.png", "basketball2.png"):
        img = _read(name)
        if img is not None:
            base[Path(name).stem] = img
    out = dict(base)
    for name, img in base.items():
        h, w = img.shape[:2]
        out[f"{name}-flip"] = np.ascontiguousarray(img[:, ::-1])
        out[f"{name}-crop"] = np.ascontiguousarray(img[h // 8 : h - h // 8, w // 6 : w - w // 6])
        out[f"{name}-rot8"] = _rotate(img, 8.0)
        out[f"{name}-dark"] = (img.astype(np.float32) * 0.55).astype(np.uint8)
        out[f"{name}-small"] = cv2.resize(img, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    if cutout_alpha is not None:
        person = data.astronaut()
        backgrounds = {
            "space": cv2.resize(data.hubble_deep_field(), (1280, 720), interpolation=cv2.INTER_AREA),
            "grad": _gradient(1280, 720, (30, 110, 150), (150, 60, 120)),
            "pale": _gradient(960, 720, (225, 220, 210), (190, 200, 215)),
        }
        for bname, bg in backgrounds.items():
            for scale, cx in ((0.45, 0.3), (0.8, 0.5), (1.0, 0.72)):
                out[f"paste-{bname}-{scale}"] = _paste(bg, person, cutout_alpha, scale, cx)
    return out


def augmented(images: dict[str, np.ndarray], seed: int = 1) -> dict[str, np.ndarray]:
    """Each image plus a flip, more contrast, darker and brighter copies, and a few noise images: wider
    activation ranges than the plain photos, so MinMax calibration does not clip unseen inputs."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, img in images.items():
        f = img.astype(np.float32)
        out[name] = img
        out[f"{name}-flip"] = np.ascontiguousarray(img[:, ::-1])
        out[f"{name}-contrast"] = np.clip((f - 128) * 1.6 + 128, 0, 255).astype(np.uint8)
        out[f"{name}-dark"] = (f * 0.5).astype(np.uint8)
        out[f"{name}-bright"] = np.clip(f * 1.4, 0, 255).astype(np.uint8)
    for i in range(4):
        out[f"noise{i}"] = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    return out


def calibration_set() -> dict[str, np.ndarray]:
    """Named images disjoint from the evaluation set."""
    out: dict[str, np.ndarray] = {
        "coffee": data.coffee(),
        "rocket": data.rocket(),
        "chelsea": data.chelsea(),
    }
    for i, frame in enumerate(_frames("vtest.avi", [40, 200, 360, 520, 680, 780])):
        out[f"vtest{i}"] = frame
        out[f"vtest{i}-crop"] = np.ascontiguousarray(frame[120:330, 150:430])
    for i, frame in enumerate(_frames("Megamind.avi", [30, 120, 210])):
        out[f"megamind{i}"] = frame
    for name in ("left01.jpg", "home.jpg", "fruits.jpg"):
        img = _read(name)
        if img is not None:
            out[Path(name).stem] = img
    return out
