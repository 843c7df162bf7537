"""What an image file is, from its content: identify it as Pillow does minus Pillow's global pixel limit, register the
read-only HEIF plugin when a file is ISO-BMFF, and say in a few words why a file Pillow cannot open is not read."""

from __future__ import annotations

import threading
from typing import IO

from PIL import Image, ImageFile

_heif_lock = threading.Lock()
_heif_registered = False

# Magic numbers of formats Pillow reads: a file starting like this that Pillow cannot open is corrupt.
_KNOWN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
_STILL_BRANDS = _HEIF_BRANDS | {b"avif", b"avis"}  # AVIF: Pillow's own plugin


def register_heif() -> None:
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            import pi_heif  # read-only HEIF plugin: libheif + libde265 (LGPL-3.0), no encoder

            pi_heif.register_heif_opener()
            _heif_registered = True


def ftyp_brand(head: bytes) -> bytes | None:
    return head[8:12] if len(head) >= 12 and head[4:8] == b"ftyp" else None


def sniff_failure(head: bytes) -> str:
    """Why Pillow could not identify a file, from its first bytes."""
    brand = ftyp_brand(head)
    if brand in _STILL_BRANDS:
        return "the file is truncated or corrupt"
    if brand is not None:
        return "unsupported format (this looks like a video; drop it as a video file)"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "the file is truncated or corrupt"
    for magic, _name in _KNOWN_MAGIC:
        if head.startswith(magic):
            return "the file is truncated or corrupt"
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "unsupported format (SVG)"
    if head.startswith(b"8BPS"):
        return "unsupported format (Photoshop PSD)"
    if head.startswith(b"%PDF"):
        return "unsupported format (PDF)"
    return "not an image (unrecognised content)"


def open_unchecked(fh: IO[bytes]) -> ImageFile.ImageFile | None:
    """Identify the file like Image.open, minus Pillow's global pixel limit (ours is checked next)."""
    Image.init()
    fh.seek(0)
    prefix = fh.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept and accept(prefix) is not True:
            continue
        try:
            fh.seek(0)
            return factory(fh, "")
        except (SyntaxError, IndexError, TypeError, ValueError, OSError):
            continue
    return None
