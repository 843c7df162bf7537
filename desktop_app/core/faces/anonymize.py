"""Hiding faces in a picture: blur, pixelate or a solid box, in an ellipse or the whole (padded) box. Pure numpy/OpenCV.

Each face's normalized box grows by `padding` x its size on every side, is clipped to the frame, and the region
inside it (the inscribed hard ellipse, or the rectangle) is replaced by a version no one can recognise:
- blur: the region shrunk to BLUR_CELLS pixels across (`resize.quick_shrink`: within a level of an exact area
  average; `resize.shrink_area`'s halvings of odd sides took 2 ms for one 440 px face), blurred there with a
  Gaussian of a quarter of that, and enlarged back: the face's own detail is gone whatever its size (the kernel
  scales with the face);
- pixelate: blocks of a sixth of the face's width (never under MIN_BLOCK px), each its area's mean colour;
- box: solid black.
RGBA pictures (a transparent cut-out) keep their alpha: only the colour is hidden. An RGB picture's regions are
hidden straight in it (OpenCV reads and writes the frame's views: no copy of each region, black drawn directly),
an RGBA one's through a copy of the region's colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from desktop_app.core.params import FaceShape, FaceStyle
from desktop_app.core.resize import quick_shrink

Box = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax, normalized to the frame
BLUR_CELLS = 12  # the blurred region's longer side, in small pixels, before it is enlarged back
BLUR_SIGMA = BLUR_CELLS / 4.0  # in small pixels: a quarter of the region (a face-sized kernel)
# pixelate: blocks across the face (unpadded width). 6, the coarse end of 6-8: an eye (~0.2 of the face's width)
# then lies within about one block and eyes, nose and mouth each become one or two flat blocks with no shape left
# in them; at 10 (before) an eye spanned two blocks and the eyes, nose and brows still read as a face's layout.
PIXEL_BLOCKS = 6
MIN_BLOCK = 2  # px: a block never smaller than this
ELLIPSE_SHIFT = 4  # the ellipse is drawn with 4 fractional bits


def pixel_box(box: Box, width: int, height: int, padding: float) -> tuple[float, float, float, float]:
    """The box grown by `padding` x its size on every side, in frame pixels (not clipped, not rounded)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 < x0:
        x0, x1 = x1, x0
    if y1 < y0:
        y0, y1 = y1, y0
    pw, ph = (x1 - x0) * padding, (y1 - y0) * padding
    return (x0 - pw) * width, (y0 - ph) * height, (x1 + pw) * width, (y1 + ph) * height


def hide_faces(pixels: np.ndarray, boxes: Iterable[Sequence[float]], style: FaceStyle, shape: FaceShape = "ellipse",
               padding: float = 0.2, in_place: bool = False) -> np.ndarray:
    """`pixels` ((H, W, 3) RGB or (H, W, 4) RGBA uint8) with every face in `boxes` hidden: in a copy (the input
    is never modified) unless `in_place` (the caller owns `pixels`: no full-frame copy; `pixels` is returned).
    Boxes outside the frame, empty or under a pixel are skipped; the rest are clipped to it."""
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise ValueError(f"faces are hidden in (H, W, 3|4) uint8 pictures, not {pixels.shape} {pixels.dtype}")
    if style not in ("blur", "pixelate", "box"):
        raise ValueError(f"unknown face style {style!r}; choose one of blur, pixelate, box")
    if shape not in ("ellipse", "rect"):
        raise ValueError(f"unknown face shape {shape!r}; choose one of ellipse, rect")
    out = pixels if in_place else pixels.copy()
    height, width = out.shape[:2]
    for box in boxes:
        fx0, fy0, fx1, fy1 = pixel_box(tuple(box), width, height, padding)  # type: ignore[arg-type]
        if not all(np.isfinite((fx0, fy0, fx1, fy1))):
            continue
        x0, y0 = max(0, int(np.floor(fx0))), max(0, int(np.floor(fy0)))
        x1, y1 = min(width, int(np.ceil(fx1))), min(height, int(np.ceil(fy1)))
        if x1 - x0 < 1 or y1 - y0 < 1 or fx1 - fx0 < 1.0 or fy1 - fy0 < 1.0:
            continue
        view = out[y0:y1, x0:x1, :3]
        # RGB: the view of the frame is a cv::Mat (only its row step differs), so OpenCV reads and writes it
        # in place; RGBA's colour channels are not one (pixels 4 bytes apart): a copy, written back
        direct = out.shape[2] == 3
        region = view if direct else np.ascontiguousarray(view)
        inner = (fx0 - x0, fy0 - y0, fx1 - x0, fy1 - y0)
        if style == "box" and direct:  # no picture to make: black drawn straight into the frame
            if shape == "ellipse":
                cv2.ellipse(region, *_ellipse_geometry(inner), 0.0, 0.0, 360.0, (0, 0, 0), thickness=-1,
                            lineType=cv2.LINE_8, shift=ELLIPSE_SHIFT)
            else:
                region[...] = 0
            continue
        face_width = (fx1 - fx0) / (1.0 + 2.0 * padding)  # the unpadded face, for the block size
        hidden = _hidden(region, style, face_width)
        if shape == "ellipse":  # the ellipse hidden, its corners as they were
            cv2.copyTo(hidden, _ellipse(region.shape[:2], inner), region)
        else:
            region[...] = hidden
        if not direct:
            view[...] = region
    return out


def _hidden(region: np.ndarray, style: FaceStyle, face_width: float) -> np.ndarray:
    """The (h, w, 3) region made unrecognisable."""
    h, w = region.shape[:2]
    if style == "box":
        return np.zeros_like(region)
    if style == "pixelate":
        block = max(MIN_BLOCK, round(face_width / PIXEL_BLOCKS))
        cols, rows = -(-w // block), -(-h // block)
        small = quick_shrink(region, (cols, rows))
        # an integer factor: nearest makes exact block x block squares
        return np.ascontiguousarray(cv2.resize(small, (cols * block, rows * block),
                                               interpolation=cv2.INTER_NEAREST)[:h, :w])
    scale = BLUR_CELLS / max(h, w)
    if scale >= 1.0:  # a face this small: one mean colour is all a blur of its size would leave
        return np.broadcast_to(region.reshape(-1, 3).mean(axis=0).round().astype(np.uint8), region.shape).copy()
    small = quick_shrink(region, (max(1, round(w * scale)), max(1, round(h * scale))))
    small = cv2.GaussianBlur(small, (0, 0), BLUR_SIGMA, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _ellipse(size: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    """(h, w) uint8, 255 inside the ellipse inscribed in `box` (pixels, relative to the region; it may reach
    outside the region where the box was clipped to the frame), 0 outside: a hard edge, drawn at 1/16 px."""
    mask = np.zeros(size, np.uint8)
    cv2.ellipse(mask, *_ellipse_geometry(box), 0.0, 0.0, 360.0, 255, thickness=-1, lineType=cv2.LINE_8,
                shift=ELLIPSE_SHIFT)
    return mask


def _ellipse_geometry(box: tuple[float, float, float, float]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(centre, axes) of the ellipse inscribed in `box` (pixels), in OpenCV's fixed point (ELLIPSE_SHIFT bits)."""
    x0, y0, x1, y1 = box
    one = 1 << ELLIPSE_SHIFT
    # pixel centres are at +0.5: OpenCV's integer coordinates name centres, so shift the box by half a pixel
    centre = (round(((x0 + x1) / 2.0 - 0.5) * one), round(((y0 + y1) / 2.0 - 0.5) * one))
    axes = (max(round((x1 - x0) / 2.0 * one), 1), max(round((y1 - y0) / 2.0 * one), 1))
    return centre, axes
