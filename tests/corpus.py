"""Bad and odd inputs, written on demand into a temp folder, each with the outcome LocalLens must give.

Reused by the I/O tests and the CLI end-to-end tests:

    cases = build_corpus(tmp_path)            # every case
    before = file_hashes(c.path for c in cases)
    ...                                        # run the thing under test
    assert file_hashes(before) == before       # originals untouched

A case is either readable (`ok=True`, `size` = (width, height) after EXIF orientation) or refused with an
error message containing `error`. Everything is synthetic: no network, no committed binaries.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    kind: str  # "image" | "video"
    ok: bool
    error: str | None = None  # substring of the user-facing message when not ok
    size: tuple[int, int] | None = None  # (width, height) when ok


# Small flat-colour test pictures: exact values survive PNG, JPEG gets a tolerance in the tests.
RED = (220, 30, 30)
BLUE = (30, 30, 220)


def two_tone(width: int = 40, height: int = 20) -> np.ndarray:
    """(H, W, 3) uint8: left half RED, right half BLUE."""
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:, : width // 2] = RED
    rgb[:, width // 2 :] = BLUE
    return rgb


def file_hashes(paths: Iterable[Path] | dict[Path, str]) -> dict[Path, str]:
    """sha256 of each file (pass the previous dict to hash the same files again)."""
    return {Path(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ------------------------------------------------------------------------------------------- images


def zero_byte(folder: Path) -> Case:
    path = folder / "empty.jpg"
    path.write_bytes(b"")
    return Case("zero-byte", path, "image", False, "not an image (the file is empty)")


def truncated_jpeg(folder: Path) -> Case:
    buf = io.BytesIO()
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)
    Image.fromarray(noise).save(buf, "JPEG", quality=90)
    path = folder / "truncated.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return Case("truncated-jpeg", path, "image", False, "truncated or corrupt")


def truncated_png(folder: Path) -> Case:
    buf = io.BytesIO()
    noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3), np.uint8)
    Image.fromarray(noise).save(buf, "PNG")
    path = folder / "truncated.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return Case("truncated-png", path, "image", False, "truncated or corrupt")


def png_named_jpg(folder: Path) -> Case:
    path = folder / "really a png.jpg"
    Image.fromarray(two_tone()).save(path, "PNG")
    return Case("png-named-jpg", path, "image", True, size=(40, 20))


def text_named_jpg(folder: Path) -> Case:
    path = folder / "notes.jpg"
    path.write_text("These are my holiday notes, not a picture.\n" * 5)
    return Case("text-named-jpg", path, "image", False, "not an image")


def decompression_bomb(folder: Path, width: int = 30000, height: int = 30000) -> Case:
    """A tiny, well-formed PNG header declaring width x height 8-bit gray (900 MB if ever decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)  # far too little data: decoding would fail, after allocating
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
    path = folder / "bomb.png"
    path.write_bytes(data + _png_chunk(b"IEND", b""))
    mp = width * height / 1e6
    return Case("decompression-bomb", path, "image", False, f"image is too large ({width}x{height} = {mp:.0f}")


def gray16_png(folder: Path) -> tuple[Case, np.ndarray, np.ndarray]:
    """16-bit gray PNG; also returns the stored uint16 values and the expected 8-bit values."""
    values = np.array([[0, 257, 1000, 32768], [65535, 257 * 100, 12345, 65280]], np.uint16)
    path = folder / "gray16.png"
    Image.fromarray(values).save(path, "PNG")
    expected = ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return Case("gray16-png", path, "image", True, size=(4, 2)), values, expected


def cmyk_jpeg(folder: Path) -> Case:
    """Flat CMYK (0, 255, 255, 0) = pure red once converted."""
    path = folder / "cmyk.jpg"
    Image.new("CMYK", (16, 8), (0, 255, 255, 0)).save(path, "JPEG", quality=95)
    return Case("cmyk-jpeg", path, "image", True, size=(16, 8))


def rgba_png(folder: Path) -> Case:
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[..., :3] = RED
    rgba[:, :5, 3] = 255
    rgba[:, 5:, 3] = 64
    path = folder / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path, "PNG")
    return Case("rgba-png", path, "image", True, size=(10, 8))


def grayscale_jpeg(folder: Path) -> Case:
    path = folder / "gray.jpg"
    Image.new("L", (12, 6), 128).save(path, "JPEG", quality=95)
    return Case("grayscale-jpeg", path, "image", True, size=(12, 6))


def palette_transparent_png(folder: Path) -> Case:
    """Palette PNG: index 0 transparent (left half), index 1 opaque RED (right half)."""
    im = Image.new("P", (10, 4), 0)
    im.putpalette([0, 0, 0, *RED] + [0, 0, 0] * 254)
    im.paste(1, (5, 0, 10, 4))
    path = folder / "palette.png"
    im.save(path, "PNG", transparency=0)
    return Case("palette-transparency", path, "image", True, size=(10, 4))


def exif_rotated_jpeg(folder: Path) -> Case:
    """Stored 40x20 (RED left, BLUE right) with orientation 6: shown 20x40, RED on top, BLUE below."""
    im = Image.fromarray(two_tone(40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = folder / "rotated.jpg"
    im.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return Case("exif-rotated", path, "image", True, size=(20, 40))


SECRET = "LOCALLENS-PRIVATE-MARKER"


def jpeg_with_gps(folder: Path) -> Case:
    """A JPEG with EXIF text and GPS coordinates that must never reach an output."""
    im = Image.fromarray(two_tone(32, 16))
    exif = Image.Exif()
    exif[0x010E] = SECRET  # ImageDescription
    exif[0x013B] = SECRET  # Artist
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 24.0)
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 3.0)
    path = folder / "with gps.jpg"
    im.save(path, "JPEG", quality=95, exif=exif.tobytes(), comment=SECRET.encode())
    return Case("jpeg-with-gps", path, "image", True, size=(32, 16))


def unicode_name(folder: Path) -> Case:
    path = folder / "fötö 写真 été 1.png"
    Image.fromarray(two_tone(8, 4)).save(path, "PNG")
    return Case("unicode-name", path, "image", True, size=(8, 4))


def missing_path(folder: Path) -> Case:
    return Case("missing-path", folder / "does not exist.jpg", "image", False, "file not found")


def directory_named_jpg(folder: Path) -> Case:
    path = folder / "album.jpg"
    path.mkdir(exist_ok=True)
    return Case("directory", path, "image", False, "is a folder")


def unwritable_dir(folder: Path) -> Path:
    """An output folder that cannot be created even as root: its parent is a regular file."""
    blocker = folder / "not-a-folder"
    blocker.write_text("a file where a folder should be\n")
    return blocker / "out"


# ------------------------------------------------------------------------------------------- videos

VIDEO_COLORS: tuple[tuple[int, int, int], ...] = ((200, 40, 40), (40, 200, 40), (40, 40, 200))


def short_video(folder: Path, frames: int = 9, fps: float = 12.0, size: tuple[int, int] = (64, 48)) -> Case:
    """mp4v video, frame i a flat RGB VIDEO_COLORS[i % 3]."""
    path = folder / "short clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(frames):
        rgb = np.empty((size[1], size[0], 3), np.uint8)
        rgb[:] = VIDEO_COLORS[i % 3]
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return Case("short-video", path, "video", True, size=size)


def corrupt_video(folder: Path) -> Case:
    path = folder / "corrupt.mp4"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, np.uint8).tobytes())
    return Case("corrupt-video", path, "video", False, "not a video")


def empty_video(folder: Path) -> Case:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return Case("empty-video", path, "video", False, "the file is empty")


def tiny_video(folder: Path, size: tuple[int, int] = (1, 64), frames: int = 4) -> Case:
    """A valid 1xN (or Nx1) video (MJPG in AVI: mp4v refuses such sizes); MP4 cannot hold it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tiny {size[0]}x{size[1]}.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for _ in range(frames):
        writer.write(np.full((size[1], size[0], 3), 120, np.uint8))
    writer.release()
    w, h = size
    return Case(f"tiny-video-{w}x{h}", path, "video", False, f"too small to save as MP4 ({w}x{h}; needs at least 2x2)")


def long_multibyte_name(folder: Path) -> Case:
    """A valid image whose name is 253 UTF-8 bytes: `<stem>_blur.png` would pass the 255-byte limit."""
    path = folder / ("写" * 83 + ".png")
    Image.fromarray(two_tone(8, 4)).save(path, "PNG")
    return Case("long-multibyte-name", path, "image", True, size=(8, 4))


def newline_name(folder: Path) -> Case:
    """Not an image, and a newline in its name: its failure must still be one line."""
    path = folder / "line one\nline two.jpg"
    path.write_text("not a picture\n")
    return Case("newline-name", path, "image", False, "line one\\nline two.jpg: not an image")


# ------------------------------------------------------------------------------------------- all

IMAGE_BUILDERS: tuple[Callable[[Path], Case], ...] = (
    zero_byte, truncated_jpeg, truncated_png, png_named_jpg, text_named_jpg, decompression_bomb,
    cmyk_jpeg, rgba_png, grayscale_jpeg, palette_transparent_png, exif_rotated_jpeg, jpeg_with_gps,
    unicode_name,
)
VIDEO_BUILDERS: tuple[Callable[[Path], Case], ...] = (short_video, corrupt_video)


HOSTILE_BUILDERS: tuple[Callable[[Path], Case], ...] = (
    tiny_video, lambda folder: tiny_video(folder, (64, 1)), long_multibyte_name, newline_name,
)


def build_hostile(folder: Path) -> list[Case]:
    """Inputs that once stopped a batch or produced no output (sizes, names); each with its exact outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    return [build(folder) for build in HOSTILE_BUILDERS]


def build_corpus(folder: Path, videos: bool = True) -> list[Case]:
    """Write every file case (images, and videos unless `videos=False`) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = [build(folder) for build in IMAGE_BUILDERS]
    cases.append(gray16_png(folder)[0])
    if videos:
        cases += [build(folder) for build in VIDEO_BUILDERS]
    return cases


def listing(folder: Path) -> list[str]:
    """Sorted names in `folder`, leaving out the list of outputs LocalLens keeps there (`.locallens-output`)."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name != ".locallens-output")
