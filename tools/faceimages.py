"""Face images for tools/build_face_models.py and bench/bench_face_models.py: RGB uint8, from packages only.

Sources (all freely licensed, none committed): openpeople==0.1.2's synthetic people photos (MIT; per person a
studio portrait, a studio full-body posture, an amateur selfie, an amateur posture, a character sheet and an
emotions sheet: grids of 4-9 faces), scikit-image's astronaut (public domain), the repo's assets/samples
(astronaut.jpg, camera.jpg) and the held-out composites of tools/build_evalset.py (openpeople cut-outs pasted
at full / half / third height and in groups onto scikit-image photos). Calibration uses people P001-P005,
evaluation P006-P010 (disjoint). `webcam_frames` makes 1280x720 frames with one face at webcam distances.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TUNE = ("P001", "P002", "P003", "P004", "P005")
HELD_OUT = ("P006", "P007", "P008", "P009", "P010")
ASSETS = ("studio_portrait", "studio_posture", "amateur_selfie", "amateur_posture", "character_sheet",
          "emotions_sheet")


def _read(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(bgr[..., ::-1])


def scaled(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """`rgb` shrunk (area) so its longer side is `max_side` (never enlarged)."""
    h, w = rgb.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s >= 1.0:
        return rgb
    return cv2.resize(rgb, (max(round(w * s), 1), max(round(h * s), 1)), interpolation=cv2.INTER_AREA)


def people_photos(pids: tuple[str, ...], max_side: int = 1280) -> dict[str, np.ndarray]:
    """openpeople's six photos of each person, at most `max_side` pixels on the longer side."""
    try:
        from openpeople.io import get_curated_dir
    except ImportError:
        raise SystemExit("openpeople is missing: pip install openpeople==0.1.2") from None
    base = Path(get_curated_dir())
    return {f"{pid}-{a}": scaled(_read(base / pid / "assets" / f"{a}.jpg"), max_side) for pid in pids for a in ASSETS}


def composites() -> dict[str, np.ndarray]:
    """tools/build_evalset.py's held-out stills (people at full, half and third height; groups of 2 and 3)."""
    import build_evalset as ev

    cutouts = {}
    for pid in ev.HELD_OUT:
        for kind in ("portrait", "posture"):
            if not (kind == "posture" and pid in ev.NO_POSTURE):
                cutouts[f"{pid}/{kind}"] = ev.load_person(pid, kind, soft=False)  # as the labels were made
    out = {}
    for still in ev.stills_for("heldout", ev.HELD_OUT):
        bg = ev.load_background(still.background, still.size)
        out[f"evalset-{still.name}"] = ev.compose(bg, [(*cutouts[p.person], p) for p in still.people])[0]
    return out


def small_faces(photos: dict[str, np.ndarray], seed: int = 3) -> dict[str, np.ndarray]:
    """Each photo shrunk to a quarter and pasted into a 1280x720 scikit-image scene: faces of ~15-60 px."""
    from skimage import data

    scene = cv2.resize(data.coffee(), (1280, 720), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    out = {}
    for name, rgb in photos.items():
        small = scaled(rgb, max(rgb.shape[:2]) // 4)
        h, w = small.shape[:2]
        canvas = scene.copy()
        y, x = int(rng.integers(0, 720 - h + 1)), int(rng.integers(0, 1280 - w + 1))
        canvas[y : y + h, x : x + w] = small
        out[f"{name}-small"] = canvas
    return out


def evaluation_images() -> dict[str, np.ndarray]:
    """The gate's images: held-out people photos (1280 and 640 px), their small-face scenes, the evalset
    composites, the astronaut and the repo's samples."""
    from skimage import data

    photos = people_photos(HELD_OUT, 1280)
    out = dict(photos)
    out.update({f"{k}-640": scaled(v, 640) for k, v in photos.items()})
    out.update(small_faces(photos))
    out.update(composites())
    out["skimage-astronaut"] = data.astronaut()
    for name in ("astronaut.jpg", "camera.jpg"):
        out[f"sample-{name}"] = _read(ROOT / "assets" / "samples" / name)
    return out


def calibration_images() -> dict[str, np.ndarray]:
    """Disjoint from evaluation: P001-P005's photos at 640 px and their small-face scenes, and two scikit-image
    photos without faces."""
    from skimage import data

    photos = people_photos(TUNE, 640)
    out = dict(photos)
    out.update(small_faces(people_photos(TUNE[:3], 1280), seed=5))
    out["skimage-chelsea"], out["skimage-rocket"] = data.chelsea(), data.rocket()
    return out


def webcam_frames(portraits: dict[str, tuple[np.ndarray, tuple[float, float, float, float]]],
                  heights: tuple[float, ...] = (0.06, 0.1, 0.15, 0.25, 0.4, 0.6)
                  ) -> list[tuple[str, np.ndarray, tuple[float, float, float, float]]]:
    """1280x720 frames: each (photo, face box in its pixels) scaled so the face is `height` x 720 tall, the
    face centred a little above the middle, grey where the photo does not reach; with the face box in the frame.

    0.6 is a face at ~40 cm from a laptop webcam, 0.1 at ~2.5 m (a 60 degree lens)."""
    frames = []
    for name, (rgb, (x0, y0, x1, y1)) in portraits.items():
        for share in heights:
            s = share * 720 / (y1 - y0)
            img = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            cx, cy = (x0 + x1) / 2 * s, (y0 + y1) / 2 * s
            dx, dy = 640 - cx, 330 - cy
            m = np.float32([[1, 0, dx], [0, 1, dy]])
            frame = cv2.warpAffine(img, m, (1280, 720), borderMode=cv2.BORDER_CONSTANT, borderValue=(118, 118, 118))
            box = (x0 * s + dx, y0 * s + dy, x1 * s + dx, y1 * s + dy)
            frames.append((f"{name}-{share:.2f}", frame, box))
    return frames
