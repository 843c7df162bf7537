"""Background effects at full resolution: the shared `compose` entry and the primitives the effects use.

Each effect (none, blur, replace, remove, mask) is declared with its compose step in its own module
(`*_effect.py`, see `registry`); `compose` dispatches to it.

All full-resolution work is uint8 with OpenCV primitives (measured in bench/bench_core.py); the only
float work is at reduced resolution. The blur is computed at 1/d of the frame size and upsampled, and is
normalised by the background weight so the person's colours do not bleed into the blurred halo.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from desktop_app.core import halvings
from desktop_app.core.buffers import output_array
from desktop_app.core.effects.foreground import (
    SoftEdge,
    blend_soft,
    pixels_at,
)
from desktop_app.core.effects.registry import spec_for
from desktop_app.core.imageio import read_image
from desktop_app.core.params import EffectParams

# Blur radius in full-resolution pixels = strength * longer side / 2000: 32 px at 720p for strength 50.
BLUR_RADIUS_PER_STRENGTH = 1.0 / 2000.0
# The blur runs at 1/d resolution with a radius of at least this many small pixels.
MIN_SMALL_RADIUS = 4
MAX_DOWNSCALE = 8
_WEIGHT_EPS = 1e-3
_CACHE_SIZE = 4
COVER_CROP_FIRST = 4  # cover_fit crops before scaling when the scaled image would be this many frames
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def blur_radius(strength: int, size: tuple[int, int]) -> int:
    """Full-resolution blur radius in pixels for `strength` 1..100 and `size` = (width, height)."""
    return max(1, round(strength * max(size) * BLUR_RADIUS_PER_STRENGTH))


def _downscale_for(radius: int) -> int:
    """A power of two <= MAX_DOWNSCALE leaving at least MIN_SMALL_RADIUS small pixels of radius."""
    d = 1
    while d * 2 <= MAX_DOWNSCALE and radius // (d * 2) >= MIN_SMALL_RADIUS:
        d *= 2
    return d


def _halve(image: np.ndarray, times: int) -> np.ndarray:
    """Downscale by 2**times; bilinear at exactly 1/2 averages 2x2 blocks, several times faster than INTER_AREA.

    The halvings are written into per-thread scratch buffers (the first is 0.7 MB at 720p, every frame): the
    result is overwritten by the next call on this thread, so callers use it before that and never keep it. Inside
    `halvings.shared(image)` the levels are the frame's shared halvings instead (the edge step may have made them)."""
    for step in range(times):
        half = (max(1, image.shape[0] // 2), max(1, image.shape[1] // 2), *image.shape[2:])
        dst = _buffer(f"halve{step}", half) if image.dtype == np.uint8 and not halvings.is_shared(image) else None
        image = halvings.half(image, cv2.INTER_LINEAR, dst)
    return image


_scratch = threading.local()


def _buffer(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A per-thread uint8 scratch array reused across frames (fresh 3-6 MB temporaries measured ~40% slower)."""
    buffers: dict[tuple[str, tuple[int, ...]], np.ndarray] = _scratch.__dict__.setdefault("buffers", {})
    buf = buffers.get((name, shape))
    if buf is None:
        for key in [k for k in buffers if k[0] == name]:
            del buffers[key]
        buf = buffers[(name, shape)] = np.empty(shape, np.uint8)
    return buf


def blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """fg * alpha + bg * (1 - alpha) for uint8 images and an (H, W) uint8 alpha (255 = fg).

    Exact where alpha is 0 or 255, within 1 elsewhere. `out` may be `bg` itself (blended in place).
    """
    alpha3 = cv2.merge((alpha, alpha, alpha), dst=_buffer("alpha3", fg.shape))
    front = cv2.multiply(fg, alpha3, dst=_buffer("front", fg.shape), scale=1.0 / 255.0)
    cv2.bitwise_not(alpha3, dst=alpha3)
    out = cv2.multiply(bg, alpha3, dst=np.empty_like(fg) if out is None else out, scale=1.0 / 255.0)
    return cv2.add(front, out, dst=out)


STRIPS = 12  # the edge-only blend looks for soft pixels in this many horizontal strips
MERGE_GAP = 96  # soft runs in a strip closer than this many columns are blended as one (tuned: fewer calls)
MAX_SOFT_FRACTION = 0.2  # above this fraction of soft pixels, blend the whole frame instead
# Below this many pixels the whole-frame blend is cheaper than finding and blending the edge runs (the
# per-run call overhead wins): measured edge/full 1.27 at 640x480, 1.05 at 960x540, 0.88 at 1024x768.
EDGE_BLEND_MIN_PIXELS = 600_000


def blend_edges(fg: np.ndarray, out: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`out` (the background, modified in place) becomes `blend(fg, out, alpha)`, bit for bit.

    Only the soft edge needs arithmetic: the person (alpha 255) is a masked copy, the background
    (alpha 0) is already there, and the soft pixels are blended in a few column runs per strip. Small
    frames and mostly-soft masks take the whole-frame blend, which is cheaper there.
    """
    height, width = alpha.shape
    if height * width < EDGE_BLEND_MIN_PIXELS:
        return blend(fg, out, alpha, out=out)
    # Scratch for the two masks (1 MB each at 720p, every frame): used only within this call.
    soft = cv2.inRange(alpha, 1, 254, dst=_buffer("soft", alpha.shape))
    if cv2.countNonZero(soft) > MAX_SOFT_FRACTION * height * width:
        return blend(fg, out, alpha, out=out)
    cv2.copyTo(fg, cv2.inRange(alpha, 255, 255, dst=_buffer("solid", alpha.shape)), out)
    # The alpha as three channels once for the whole frame (one contiguous merge: the runs' own merges of strided
    # views and fresh products measured 0.5 ms more at 720p), the products written into a scratch frame.
    alpha3 = cv2.merge((alpha, alpha, alpha), dst=_buffer("alpha3", fg.shape))
    fronts = _buffer("front", fg.shape)
    step = -(-height // STRIPS)
    whole = height // step
    # Which columns hold soft pixels, per strip (numpy's max over rows; cv2.reduce by columns is 10x slower).
    per_strip = soft[: whole * step].reshape(whole, step, width).max(axis=1)
    if whole * step < height:
        per_strip = np.vstack((per_strip, soft[whole * step :].max(axis=0)))
    for y0, y1, x0, x1 in _runs(per_strip, step, height):
        region, a3 = out[y0:y1, x0:x1], alpha3[y0:y1, x0:x1]  # the runs never overlap: a3 inverted in place
        front = cv2.multiply(fg[y0:y1, x0:x1], a3, dst=fronts[y0:y1, x0:x1], scale=1.0 / 255.0)
        cv2.bitwise_not(a3, dst=a3)
        cv2.multiply(region, a3, dst=region, scale=1.0 / 255.0)  # OpenCV writes into the view
        cv2.add(front, region, dst=region)
    return out


def _runs(per_strip: np.ndarray, step: int, height: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) for each run of soft columns in each strip (a row of `per_strip`, `step` frame rows high),
    runs closer than MERGE_GAP columns merged: found for all strips at once (a per-strip loop cost 0.3 ms at 720p)."""
    strips, width = per_strip.shape
    padded = np.zeros((strips, width + 2), np.int8)
    padded[:, 1:-1] = per_strip != 0
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)  # row-major: by strip, then left to right, as the ends
    ends = np.nonzero(edges == -1)[1]
    if rows.size == 0:
        return []
    # A new run unless the last one is in the same strip and its last soft column is within MERGE_GAP of this one.
    new = np.ones(rows.size, bool)
    new[1:] = (rows[1:] != rows[:-1]) | (starts[1:] - ends[:-1] + 1 > MERGE_GAP)
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, rows.size - 1)
    return [(int(r) * step, min(height, (int(r) + 1) * step), int(x0), int(x1))
            for r, x0, x1 in zip(rows[first], starts[first], ends[last], strict=True)]


def to_alpha(mask: np.ndarray) -> np.ndarray:
    """float32 [0, 1] mask -> uint8 0..255 (rounded, saturated), in an `output_array` (pooled on the live path:
    the `mask` effect hands it out as its output)."""
    if mask.dtype == np.uint8:
        return mask
    return cv2.convertScaleAbs(mask, dst=output_array("alpha", mask.shape[:2]), alpha=255.0)


@lru_cache(maxsize=16)
def _tent(radius: int) -> np.ndarray:
    """stackBlur's kernel: weights 1, 2, .., r + 1, .., 2, 1, normalised (one separable pass)."""
    weights = np.concatenate((np.arange(1, radius + 2), np.arange(radius, 0, -1))).astype(np.float32)
    kernel = weights / weights.sum()
    kernel.setflags(write=False)
    return kernel


def blurred_background(rgb: np.ndarray, strength: int, mask_small: np.ndarray | None = None) -> np.ndarray:
    """The frame blurred at 1/d resolution and upsampled; person pixels (per `mask_small`) left out.

    With a mask, the blur is a normalised convolution: blur(image * w) / blur(w) with w = 1 - mask, so
    the halo around the person takes the colours of the background near it, not the person's. The blur
    kernel is stackBlur's tent (triangle) of radius r, applied as two separable passes.
    """
    height, width = rgb.shape[:2]
    radius = blur_radius(strength, (width, height))
    d = _downscale_for(radius)
    small = _halve(rgb, d.bit_length() - 1)
    small_size = (small.shape[1], small.shape[0])
    r = max(1, round(radius / d))
    # The result is frame-sized and becomes the effect's output: an `output_array` (pooled on the live path).
    full = output_array("background", rgb.shape)
    if mask_small is None:
        out_small = cv2.stackBlur(small, (2 * r + 1, 2 * r + 1), dst=full if d == 1 else None)
    else:
        # The mask at the small image's grid (half-pixel centres, as `masks.upsample` maps it to the frame),
        # grown by one small pixel: edge pixels averaged by the downscale hold person colour.
        grown = cv2.dilate(cv2.resize(np.asarray(mask_small, np.float32), small_size, interpolation=cv2.INTER_LINEAR),
                           _CROSS)
        weight = np.subtract(np.float32(1.0), grown, dtype=np.float32).reshape(small.shape[:2])
        # One 4-channel blur of (rgb * w, w): the numerator and the denominator together. OpenCV calls
        # throughout: numpy's mixed-type and strided versions of the same steps measured 2-3x slower, and
        # the separable tent 10% faster than stackBlur on float32 with the same result.
        image = small.astype(np.float32)
        numerator = cv2.multiply(image, cv2.merge((weight, weight, weight)))
        kernel = _tent(r)
        blurred = cv2.sepFilter2D(cv2.merge((numerator, weight)), -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)
        den = np.ascontiguousarray(blurred[..., 3])
        safe = np.maximum(den, np.float32(_WEIGHT_EPS))
        out = cv2.divide(np.ascontiguousarray(blurred[..., :3]), cv2.merge((safe, safe, safe)))
        # Where no background is near (deep inside the person, hidden by it) the unblurred small image stays.
        cv2.copyTo(image, (den <= np.float32(_WEIGHT_EPS)).view(np.uint8), out)
        out_small = cv2.convertScaleAbs(out, dst=full if d == 1 else None)
    if d == 1:
        return out_small
    return cv2.resize(out_small, (width, height), dst=full, interpolation=cv2.INTER_LINEAR)


def cover_fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale `image` to cover `size` = (width, height) keeping its aspect, then crop the centre.

    RGB stays RGB and RGBA stays RGBA (a translucent background keeps its alpha).
    """
    width, height = size
    src_h, src_w = image.shape[:2]
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, math.ceil(src_w * scale - 1e-9)), max(height, math.ceil(src_h * scale - 1e-9))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    if new_w * new_h > COVER_CROP_FIRST * width * height:
        # A panorama frame: scaling the whole image first would allocate far more than the frame (a 1x1
        # swatch for 33000x8 would become 33000x33000); crop the source to the frame's aspect, then scale.
        crop_w, crop_h = min(src_w, max(1, round(width / scale))), min(src_h, max(1, round(height / scale)))
        x0, y0 = (src_w - crop_w) // 2, (src_h - crop_h) // 2
        image = cv2.resize(image[y0 : y0 + crop_h, x0 : x0 + crop_w], (width, height), interpolation=interp)
        return np.ascontiguousarray(image[..., :4])
    if (new_w, new_h) != (src_w, src_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=interp)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.ascontiguousarray(image[y0 : y0 + height, x0 : x0 + width, :4])


class _FitCache:
    """Fitted backgrounds keyed by (image identity, frame size); holds the image so its id stays valid."""

    def __init__(self, capacity: int = _CACHE_SIZE) -> None:
        self._items: OrderedDict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()
        self.fits = 0  # how many times an image was actually refitted (for tests and benchmarks)

    def get(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        key = (id(image), *size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is image:
                self._items.move_to_end(key)
                return hit[1]
        fitted = cover_fit(image, size)
        with self._lock:
            self.fits += 1
            self._items[key] = (image, fitted)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return fitted


_fitted = _FitCache()
_solid = _FitCache()
_colours: dict[tuple[int, int, int], np.ndarray] = {}


def fitted_background(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`cover_fit` with a small cache, so a frame sequence fits its background once."""
    return _fitted.get(image, size)


_split: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def planes(fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fitted RGBA background as contiguous (RGB, alpha), split once per fitted image (last one kept)."""
    with _fitted._lock:
        hit = _split.get("last")
        if hit is not None and hit[0] is fitted:
            return hit[1], hit[2]
    planes = (np.ascontiguousarray(fitted[..., :3]), np.ascontiguousarray(fitted[..., 3]))
    with _fitted._lock:
        _split["last"] = (fitted, *planes)
    return planes


def solid_image(color: tuple[int, int, int], size: tuple[int, int]) -> np.ndarray:
    key = (int(color[0]), int(color[1]), int(color[2]))
    swatch = _colours.get(key)
    if swatch is None:
        swatch = _colours.setdefault(key, np.array([[key]], dtype=np.uint8))
    return _solid.get(swatch, size)


# OpenCV reads a 2-D array of <= 4 elements as a scalar (and some filters want a few pixels): frames
# with a side under this are composed on an edge-replicated copy of this size, then cropped back.
MIN_COMPOSE_SIDE = 8


def compose(
    rgb: np.ndarray,
    mask: np.ndarray,
    params: EffectParams,
    background: np.ndarray | None = None,
    mask_small: np.ndarray | None = None,
    live: bool = False,
) -> np.ndarray:
    """Apply `params.effect` (its declared compose step) to an (H, W, 3) uint8 frame with its (H, W) float32 mask.

    Any H, W >= 1; the steps live in the effects' modules (`registry.spec_for`).

    - `none`: `rgb` itself (not copied).
    - `blur`: the background blurred (see `blurred_background`); person pixels unchanged; soft edges take
      the person's estimated colour except when `live`.
    - `replace`: `background` (RGB or RGBA uint8, any size) cover-fitted to the frame behind the person;
      where it is translucent, the blurred frame shows through it. Soft edges as for blur.
    - `remove`: (H, W, 4) RGBA with the mask as alpha when `params.color` is None, else RGB over the colour.
      Fully transparent pixels are black (nothing of the old background survives in the RGB), and soft
      edges carry the person's estimated colour (`foreground.estimate_foreground`), not the old mix.
    - `mask`: the (H, W) uint8 mask, 0..255, at the frame's size (the pipeline passes the probability).

    `mask_small` is the refined mask at model resolution: the blur leaves the person out of its average.
    `live` (video at frame rate) takes the cheaper one-pass edge colour estimate, for `remove` only.
    """
    spec = spec_for(params.effect)
    if spec.compose is None:
        return rgb
    if min(rgb.shape[0], rgb.shape[1]) < MIN_COMPOSE_SIDE:
        return _compose_tiny(rgb, mask, params, background, mask_small, live)
    return spec.compose(rgb, mask, to_alpha(mask), params, background, mask_small, live)


def blend_person(rgb: np.ndarray, back: np.ndarray, alpha: np.ndarray, edge: SoftEdge | None) -> np.ndarray:
    """`blend_edges(rgb, back, alpha)` (in `back`), then the soft pixels re-blended with the edge colour.

    No full-frame copy of the frame with the edge colour in it: `back` is read at the soft pixels first.
    """
    behind = pixels_at(back, edge)
    return blend_soft(blend_edges(rgb, back, alpha), edge, behind)


def _compose_tiny(
    rgb: np.ndarray,
    mask: np.ndarray,
    params: EffectParams,
    background: np.ndarray | None,
    mask_small: np.ndarray | None,
    live: bool,
) -> np.ndarray:
    """`compose` on an edge-replicated copy at least MIN_COMPOSE_SIDE on each side, cropped back."""
    height, width = rgb.shape[:2]
    bottom, right = max(0, MIN_COMPOSE_SIDE - height), max(0, MIN_COMPOSE_SIDE - width)
    padded = cv2.copyMakeBorder(rgb, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
    padded_mask = np.pad(np.asarray(mask, np.float32), ((0, bottom), (0, right)), mode="edge")
    small = None
    if mask_small is not None:
        small = np.asarray(mask_small, np.float32)
        small = np.pad(small, ((0, max(0, 2 - small.shape[0])), (0, max(0, 2 - small.shape[1]))), mode="edge")
    out = compose(padded, padded_mask, params, background, small, live)
    return np.ascontiguousarray(out[:height, :width])


def load_background(path: Path | str) -> np.ndarray:
    """Read a background image as (H, W, 3) uint8 RGB, or (H, W, 4) RGBA when it has any translucent pixel.

    Uses the app's safe reader (EXIF, modes, bomb guard).

    Raises `desktop_app.core.imageio.ImageReadError` with a message a user can act on.
    """
    image = read_image(Path(path))
    rgb = np.ascontiguousarray(image.rgb[..., :3])
    if image.alpha is None or int(image.alpha.min()) == 255:
        return rgb
    return np.dstack((rgb, image.alpha))
