"""MediaPipe's input resize: a corner-aligned bilinear warp, not cv2.resize's half-pixel centres.

Measured (docs/models.md): MediaPipe feeds its model this way, and matching it is what makes our masks
agree with its own (IoU >= 0.999 at full resolution). The warp is done with `cv2.remap` on fixed-point
maps cached per (source size, model size): 0.30 ms instead of 0.50 ms for `cv2.warpAffine` at 720p -> 256x256.
When shrinking, every sample and its right/lower neighbour lie inside the image (x * W / w <= W - 1), so the
border mode never changes a pixel; BORDER_CONSTANT skips OpenCV's per-pixel border handling (0.32 vs 0.44 ms
at 640x480 -> 256x256).
`cv2.remap` takes sides under 32767 pixels only (int16 maps); past that (panoramas) the image is resized
in tiles of the output, each remapping only the source rows and columns it samples.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

REMAP_LIMIT = 32767  # SHRT_MAX: cv2.remap's limit on every side of the source, the maps and the output
_TILE = 8192


@lru_cache(maxsize=16)
def _maps(src_size: tuple[int, int], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point remap tables sampling source pixel (x * W / w, y * H / h) for output (x, y)."""
    (src_w, src_h), (width, height) = src_size, size
    xs = np.arange(width, dtype=np.float32) * np.float32(src_w / width)
    ys = np.arange(height, dtype=np.float32) * np.float32(src_h / height)
    map_x, map_y = np.meshgrid(xs, ys)
    fixed, fraction = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    fixed.setflags(write=False)
    fraction.setflags(write=False)
    return fixed, fraction


def resize_corner_aligned(
    image: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """Resize `image` to `size` = (width, height) mapping pixel (0, 0) to (0, 0) and scaling by dst/src."""
    width, height = int(size[0]), int(size[1])
    if max(width, height, image.shape[0], image.shape[1]) >= REMAP_LIMIT:
        return _resize_tiled(image, (width, height), interpolation)
    fixed, fraction = _maps((image.shape[1], image.shape[0]), (width, height))
    inside = image.shape[1] >= width and image.shape[0] >= height
    border = cv2.BORDER_CONSTANT if inside else cv2.BORDER_REPLICATE
    return cv2.remap(image, fixed, fraction, interpolation, borderMode=border)


def _taps(src: int, dst: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """For outputs start..stop-1 on one axis: the source indices they read, and their positions among them."""
    pos = np.arange(start, stop, dtype=np.float32) * np.float32(src / dst)
    left = np.floor(pos).astype(np.int64)
    index = np.unique(np.concatenate((left, np.minimum(left + 1, src - 1))))
    return index, (np.searchsorted(index, left) + (pos - left)).astype(np.float32)


def _resize_tiled(image: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """The same sampling for any side length: output tiles, each from the source samples it needs.

    Neighbouring source columns stay neighbours in the gathered tile (left + 1 follows left), and past the
    last column the border is replicated, as in the one-call path.
    """
    width, height = size
    src_h, src_w = image.shape[:2]
    out = np.empty((height, width, *image.shape[2:]), image.dtype)
    for y0 in range(0, height, _TILE):
        y1 = min(height, y0 + _TILE)
        rows, map_y = _taps(src_h, height, y0, y1)
        band = image[rows]
        for x0 in range(0, width, _TILE):
            x1 = min(width, x0 + _TILE)
            cols, map_x = _taps(src_w, width, x0, x1)
            tile = np.ascontiguousarray(band[:, cols])
            grid_x, grid_y = np.meshgrid(map_x, map_y)
            fixed, fraction = cv2.convertMaps(grid_x, grid_y, cv2.CV_16SC2)
            out[y0:y1, x0:x1] = cv2.remap(tile, fixed, fraction, interpolation, borderMode=cv2.BORDER_REPLICATE)
    return out


def fit_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """`image` area-averaged to at most `long_side` (aspect kept, each side >= 1); itself when it is that small."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def shrink_area(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` area-averaged to `size` (width, height), fast for big factors: halved (2x2 means, OpenCV's quick
    path) while the result stays at least twice the target, then one area resize. At 1280x720 -> 192x108: 1.1 ms
    instead of 3.2 ms for one cv2.resize, mean difference 0.3 of 255 levels."""
    width, height = size
    while image.shape[1] // 2 >= 2 * width and image.shape[0] // 2 >= 2 * height:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def quick_shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` shrunk to `size` (width, height) cheaply: one bilinear resize to `size` x 2^j, the least j >= 1
    with a factor under 4 (at 720p -> 192 x 108: to 384 x 216, 3.3; 1080p: to 768 x 432, 2.5), then j exact 2x2
    area halvings (OpenCV's fast path; it needs even sides, which `shrink_area`'s halvings of an odd side are
    not: an odd 443 x 441 face region took 2.1 ms there). Under a factor of 2: one area resize. 720p -> 192 x 108:
    0.45 ms instead of `shrink_area`'s 1.2-1.9 ms, within 1.3 levels (of 255) of it on average. The live face
    detector's input and the faces' hiding (recall measured in docs/benchmarks.md "Session 6")."""
    width, height = size
    if rgb.shape[1] < 2 * width or rgb.shape[0] < 2 * height:
        return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    j = 1
    while rgb.shape[1] >= 4 * (width << j) and rgb.shape[0] >= 4 * (height << j):
        j += 1
    image = cv2.resize(rgb, (width << j, height << j), interpolation=cv2.INTER_LINEAR)
    for level in range(j - 1, -1, -1):
        image = cv2.resize(image, (width << level, height << level), interpolation=cv2.INTER_AREA)
    return image
