"""Edges at the frame's full resolution (video files): a colour "fast guided filter" (He & Sun 2015).

The guided filter's linear coefficients (a 3-vector `a` and an offset `b` per pixel, q = a . I + b) are fitted
against the frame in RGB at half the model's grid (128x72 for the 256x144 landscape grid), then applied to the
FULL-resolution frame, so the mask's edge lands on the picture's own edges at frame pixels, not on grid cells
(3.75-5 frame px each). Colour, not grey: dark hair against a dark background of another hue has no grey edge.
Measured on call-P002 (docs/quality.md, "Edges at full resolution"): flicker 0.0112 -> 0.0066. About +3.5 ms
CPU at 720p, too much for live's budget: `Pipeline.full_edges` is on for video files only.

Only the edge band is computed at full resolution: away from it the fitted alpha is exactly 0 or 1 (the snap), so
the frame is covered by the fit grid's own result upsampled (one single-channel resize) and overwritten in the
tiles where the fit grid's alpha is between 0 and 1 or changes from one cell to the next (about 13% of a 720p
frame), all tiles side by side in one wide image: a and b upsampled separably (`_band_up`), one multiply.

`refine_edges_colour` is the same filter for live frames (W39): fitted at half the model's grid (a quarter until
session 14) and applied at the grid (docs/quality.md, "Session 6: flicker" and "Session 14").
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from desktop_app.core import halvings
from desktop_app.core.masks import EDGE_SNAP, gated_average

# Radius 2 cells of the half grid (the window of radius 4 at the grid), tuned on call-P002 (docs/quality.md). eps
# 1e-4 since session 14 (1e-3 before; tuned on six clips, "Session 14"): the fit follows weaker colour edges, and the
# held-out clips' flicker fell 0.448x -> 0.379x of before #9, every one of them at or under 0.5x.
FULL_EDGE_RADIUS = 2
FULL_EDGE_EPS = 1e-4
# cv2's RGB -> grey weights: the per-channel products are summed by one float grey conversion, so `a` takes 1/w.
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)
_STRETCH = 1.0 / (1.0 - 2.0 * EDGE_SNAP)


def fit_guide(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The (H, W, 3) uint8 frame as float32 0..1 at `size` = (h, w): halved (area) while at least twice that size,
    then bilinear (as `masks.refine_edges` does for grey)."""
    h, w = size
    small = rgb
    while small.shape[1] >= 2 * w and small.shape[0] >= 2 * h:
        small = halvings.half(small, cv2.INTER_AREA)  # the frame's shared halvings where there are some
    guide = cv2.resize(np.ascontiguousarray(small), (w, h), interpolation=cv2.INTER_LINEAR)
    return guide.astype(np.float32) * np.float32(1.0 / 255.0)


def _box(x: np.ndarray, ksize: tuple[int, int]) -> np.ndarray:
    return cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT)


def colour_coefficients(guide: np.ndarray, alpha: np.ndarray, radius: int = FULL_EDGE_RADIUS,
                        eps: float = FULL_EDGE_EPS) -> np.ndarray:
    """The colour guided filter's mean coefficients: (h, w, 4) float32 (a_r, a_g, a_b, b), q = a . I + b for the
    (h, w, 3) guide I in 0..1 and the (h, w) `alpha`; a closed-form inverse of each pixel's 3x3 covariance."""
    ksize = (2 * radius + 1, 2 * radius + 1)
    p = np.asarray(alpha, dtype=np.float32)
    r, g, b = guide[..., 0], guide[..., 1], guide[..., 2]
    mean_i, mean_p = _box(guide, ksize), _box(p, ksize)
    cov = _box(guide * p[..., None], ksize) - mean_i * mean_p[..., None]
    sq = _box(guide * guide, ksize) - mean_i * mean_i + np.float32(eps)  # rr gg bb (+ eps on the diagonal)
    cross = _box(np.dstack((r * g, r * b, g * b)), ksize)
    mr, mg, mb = mean_i[..., 0], mean_i[..., 1], mean_i[..., 2]
    s_rr, s_gg, s_bb = sq[..., 0], sq[..., 1], sq[..., 2]
    s_rg, s_rb, s_gb = cross[..., 0] - mr * mg, cross[..., 1] - mr * mb, cross[..., 2] - mg * mb
    # Cofactors of the symmetric [[rr, rg, rb], [rg, gg, gb], [rb, gb, bb]].
    c_rr, c_gg, c_bb = s_gg * s_bb - s_gb * s_gb, s_rr * s_bb - s_rb * s_rb, s_rr * s_gg - s_rg * s_rg
    c_rg, c_rb, c_gb = s_rb * s_gb - s_rg * s_bb, s_rg * s_gb - s_rb * s_gg, s_rg * s_rb - s_rr * s_gb
    inv_det = np.float32(1.0) / (s_rr * c_rr + s_rg * c_rg + s_rb * c_rb)
    v_r, v_g, v_b = cov[..., 0], cov[..., 1], cov[..., 2]
    coef = np.empty((*p.shape, 4), np.float32)
    coef[..., 0] = (c_rr * v_r + c_rg * v_g + c_rb * v_b) * inv_det
    coef[..., 1] = (c_rg * v_r + c_gg * v_g + c_gb * v_b) * inv_det
    coef[..., 2] = (c_rb * v_r + c_gb * v_g + c_bb * v_b) * inv_det
    coef[..., 3] = mean_p - (coef[..., 0] * mr + coef[..., 1] * mg + coef[..., 2] * mb)
    return _box(coef, ksize)


TILE_CELLS = 2  # the band is computed in tiles of 2x2 fit cells (20x20 frame px at 720p), all tiles at once


def apply_coefficients(rgb: np.ndarray, coef: np.ndarray, guide: np.ndarray, band_only: bool = True,
                       previous: np.ndarray | None = None, smoothing: float = 0.0) -> np.ndarray:
    """q = a . I + b on the (H, W, 3) uint8 frame at its full size from the fit grid's (h, w, 4) `coef` (fitted
    against `guide`), a and b bilinear with half-pixel centres, `masks.refine_edges`' snap included: (H, W) float32
    alpha in [0, 1]. `band_only`: at full resolution only in the tiles where the fit grid's alpha is not a constant
    0 or 1 (elsewhere the fit grid's alpha upsampled); the whole frame where the tiles do not fit the frame.
    `previous` (the last frame's result, same size) and `smoothing` > 0: the new alpha goes through the change gate
    against it (`masks.gated_average`), in the band only: elsewhere it is a constant 0 or 1, which the gate takes at
    once anyway (a jump of 1) or leaves as it was."""
    height, width = rgb.shape[:2]
    h, w = coef.shape[:2]
    coef = coef * np.float32(_STRETCH)
    coef[..., 3] -= np.float32(EDGE_SNAP * _STRETCH)
    q = np.einsum("hwc,hwc->hw", coef[..., :3], guide) + coef[..., 3]  # the alpha at the fit grid itself
    np.clip(q, 0.0, 1.0, out=q)
    a = np.ascontiguousarray(coef[..., :3] * (np.float32(1.0 / 255.0) / _GREY_WEIGHTS))  # frame 0..255, grey sum
    b = np.ascontiguousarray(coef[..., 3])
    tile = TILE_CELLS
    if not band_only or h % tile or w % tile or (tile * height) % h or (tile * width) % w or height < h or width < w:
        size = (width, height)
        full = _alpha(cv2.resize(a, size, interpolation=cv2.INTER_LINEAR),
                      cv2.resize(b, size, interpolation=cv2.INTER_LINEAR), rgb)
        return full if previous is None or smoothing <= 0.0 else gated_average(previous, full, smoothing)
    person = (q >= 0.5).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    core = ((q > 0.0) & (q < 1.0)) | (cv2.dilate(person, kernel) != cv2.erode(person, kernel))
    band = core.reshape(h // tile, tile, w // tile, tile).any(axis=(1, 3))
    out = cv2.resize(q, (width, height), interpolation=cv2.INTER_LINEAR)
    iy, ix = np.nonzero(band)
    if iy.size == 0:
        return out
    tile_h, tile_w = tile * height // h, tile * width // w
    n = iy.size
    # Every tile as rows of one wide image: (tile_h, n, tile_w); the frame's tiles cut the same way (a copy).
    frame_tiles = rgb.reshape(h // tile, tile_h, w // tile, tile_w, 3).transpose(1, 0, 2, 3, 4)[:, iy, ix]
    alpha = _alpha(_band_up(a, iy, ix, tile_h, tile_w, width).reshape(tile_h, n * tile_w, 3),
                   _band_up(b, iy, ix, tile_h, tile_w, width).reshape(tile_h, n * tile_w),
                   frame_tiles.reshape(tile_h, n * tile_w, 3)).reshape(tile_h, n, tile_w)
    tiles = out.reshape(h // tile, tile_h, w // tile, tile_w).transpose(1, 0, 2, 3)
    if previous is not None and smoothing > 0.0:
        before = previous.reshape(h // tile, tile_h, w // tile, tile_w).transpose(1, 0, 2, 3)[:, iy, ix]
        alpha = gated_average(before, alpha, smoothing)
    tiles[:, iy, ix] = alpha
    return out


def _band_up(x: np.ndarray, iy: np.ndarray, ix: np.ndarray, tile_h: int, tile_w: int, width: int) -> np.ndarray:
    """The fit grid's `x` (h, w[, c]) bilinear (half-pixel centres) at frame size, only in the tiles (iy, ix) of
    TILE_CELLS cells a side: (tile_h, n, tile_w[, c]), equal to the whole frame's `cv2.resize` there. Separable:
    the grid's rows resized to the frame's width (the whole grid: small), then per tile its TILE_CELLS + 2 rows
    (one replicated above and below at the frame's border) interpolated down the tile, the same weights for
    every tile (a tile spans a whole number of frame pixels), all tiles side by side in one pass per row."""
    h = x.shape[0]
    tile = TILE_CELLS
    wide = cv2.copyMakeBorder(cv2.resize(x, (width, h), interpolation=cv2.INTER_LINEAR), 1, 1, 0, 0,
                              cv2.BORDER_REPLICATE)  # (h + 2, W[, c])
    extra = wide.shape[2:]
    # Each tile's rows of `wide` down the first axis, its columns across: (tile + 2, n, tile_w[, c]) in one gather.
    rows = iy[None, :] * tile + np.arange(tile + 2)[:, None]
    cols = ix[:, None] * tile_w + np.arange(tile_w)[None, :]
    flat = wide[rows[:, :, None], cols[None, :, :]].reshape(tile + 2, -1)
    lo, frac = _row_weights(h, tile_h, x.shape[0] * tile_h // tile)
    up = np.empty((tile_h, flat.shape[1]), np.float32)
    for row in range(tile_h):
        cv2.addWeighted(flat[lo[row]], 1.0 - frac[row], flat[lo[row] + 1], frac[row], 0.0, dst=up[row])
    return up.reshape(tile_h, iy.size, tile_w, *extra)


def _row_weights(h: int, tile_h: int, height: int) -> tuple[list[int], list[float]]:
    """For each frame row of a tile: the crop row below it and the weight of the one after (bilinear, half-pixel
    centres; crop row 1 is the tile's first grid row)."""
    coord = (np.arange(tile_h) + 0.5) * (h / height) - 0.5 + 1.0
    lo = np.floor(coord).astype(int)
    return lo.tolist(), (coord - lo).tolist()


def _alpha(a: np.ndarray, b: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """a . I + b, clipped to [0, 1], per pixel (a already over the grey weights: one float grey conversion sums)."""
    out = cv2.cvtColor(cv2.multiply(a, rgb, dtype=cv2.CV_32F), cv2.COLOR_RGB2GRAY)
    out += b
    return np.clip(out, 0.0, 1.0, out=out)


def refine_edges_full(rgb: np.ndarray, alpha: np.ndarray, radius: int = FULL_EDGE_RADIUS, eps: float = FULL_EDGE_EPS,
                      guide_filter: Callable[[np.ndarray], np.ndarray] | None = None,
                      previous: np.ndarray | None = None, smoothing: float = 0.0, fit_divisor: int = 2
                      ) -> np.ndarray:
    """(h, w) alpha at the model's grid -> (H, W) float32 alpha in [0, 1] at the (H, W, 3) uint8 frame's size, its
    edges on the frame's own colour edges at full resolution. The fit runs at 1/`fit_divisor` of the grid (default:
    half); `guide_filter` (e.g. `MaskRefiner.steady_unit_guide`) maps that (h/2, w/2, 3) float32 0..1 guide to the
    one fitted against; `previous` / `smoothing`: the change gate against the last result (`apply_coefficients`). A
    frame not larger than the fit grid: the alpha as it is."""
    src = np.asarray(alpha, dtype=np.float32)
    fit_h, fit_w = max(src.shape[0] // fit_divisor, 1), max(src.shape[1] // fit_divisor, 1)
    if rgb.shape[0] <= fit_h or rgb.shape[1] <= fit_w:
        return src
    small = cv2.resize(src, (fit_w, fit_h), interpolation=cv2.INTER_AREA)
    guide = fit_guide(rgb, (fit_h, fit_w))
    if guide_filter is not None:
        guide = guide_filter(guide)
    if previous is not None and previous.shape != rgb.shape[:2]:
        previous = None
    return apply_coefficients(rgb, colour_coefficients(guide, small, radius, eps), guide, True, previous, smoothing)


def refine_edges_half(rgb: np.ndarray, alpha: np.ndarray, radius: int = FULL_EDGE_RADIUS, eps: float = FULL_EDGE_EPS,
                      guide_filter: Callable[[np.ndarray], np.ndarray] | None = None,
                      previous: np.ndarray | None = None, smoothing: float = 0.0) -> np.ndarray:
    """`refine_edges_full` on the frame at half its size per side (a 2x2 average where the side is even): the alpha
    at that size, (H // 2, W // 2). Live quality "best" (session 14): the video files' band step, fitted at the same
    half grid, for about a quarter of its pixels: +1.4-1.6 ms at 720p over the grid step, flicker 0.526x -> 0.445x of
    before #9 on the held-out clips (docs/quality.md, "Session 14")."""
    height, width = rgb.shape[0] // 2, rgb.shape[1] // 2
    if height < 1 or width < 1:
        return np.asarray(alpha, dtype=np.float32)
    even = rgb.shape[0] % 2 == 0 and rgb.shape[1] % 2 == 0
    half = halvings.half(rgb, cv2.INTER_LINEAR if even else cv2.INTER_AREA)  # shared with the blur (`halvings`)
    return refine_edges_full(half, alpha, radius, eps, guide_filter, previous, smoothing)


# Live edges (W39): the same colour guided filter, fitted at half the model's grid (128x72 for 256x144) with radius 1
# and applied at the grid itself, against the frame resized straight to the grid (one bilinear resize). Session 14,
# on six tune clips (docs/quality.md, "Session 14"): fitted at a quarter of the grid with eps 1e-3, as from W39 to
# session 13, flicker 0.566x of before #9; at half the grid 0.521x, and with eps 3e-4 0.507x, for +0.14 ms a frame.
LIVE_EDGE_RADIUS = 1
LIVE_FIT_DIVISOR = 2
LIVE_EDGE_EPS = 3e-4

def _shrink(x: np.ndarray) -> np.ndarray:
    """`x` (h, w, 3) averaged down by LIVE_FIT_DIVISOR per side: exact halvings (a bilinear resize to half an even
    size is the 2x2 average; in colour cheaper than one area resize) while sizes are even, then area."""
    h, w = x.shape[:2]
    size = (max(w // LIVE_FIT_DIVISOR, 1), max(h // LIVE_FIT_DIVISOR, 1))
    while x.shape[1] >= 2 * size[0] and x.shape[0] >= 2 * size[1] and x.shape[0] % 2 == 0 and x.shape[1] % 2 == 0:
        x = cv2.resize(x, (x.shape[1] // 2, x.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    return x if x.shape[:2] == (size[1], size[0]) else cv2.resize(x, size, interpolation=cv2.INTER_AREA)


def refine_edges_colour(rgb: np.ndarray, alpha: np.ndarray, radius: int | None = None,
                        eps: float | None = None, guide_filter: Callable[[np.ndarray], np.ndarray] | None = None,
                        fit_filter: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """(h, w) alpha at the model's grid -> (h, w) float32 alpha in [0, 1], its edges on the (H, W, 3) uint8 frame's
    colour edges as seen at the grid: the colour guided filter fitted at 1/LIVE_FIT_DIVISOR of the grid and applied
    at the grid, with `masks.refine_edges`' snap. `guide_filter` (e.g. `MaskRefiner.steady_unit_guide`) maps the
    (h, w, 3) float32 0..1 guide at the grid to the one used; `fit_filter` the same for the smaller guide fitted
    against. A frame smaller than the grid, or a grid under LIVE_FIT_DIVISOR cells a side: the alpha as it is.

    The same sums as `colour_coefficients`, one plane at a time (small planar OpenCV calls: cheaper at this size),
    the mean `a` over the grey weights so that one grey conversion of a * I sums a . I (as `apply_coefficients`)."""
    radius = LIVE_EDGE_RADIUS if radius is None else radius
    eps = LIVE_EDGE_EPS if eps is None else eps
    src = np.asarray(alpha, dtype=np.float32)
    h, w = src.shape
    if rgb.shape[0] < h or rgb.shape[1] < w or h < LIVE_FIT_DIVISOR or w < LIVE_FIT_DIVISOR:
        return src
    guide = cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    guide *= np.float32(1.0 / 255.0)
    if guide_filter is not None:
        guide = guide_filter(guide)
    fit = _shrink(guide)
    if fit_filter is not None:
        fit = fit_filter(fit)
    p = cv2.resize(src, (fit.shape[1], fit.shape[0]), interpolation=cv2.INTER_AREA)
    k = (2 * radius + 1, 2 * radius + 1)
    r, g, b = (np.ascontiguousarray(fit[..., c]) for c in range(3))
    mr, mg, mb, mp = _box(r, k), _box(g, k), _box(b, k), _box(p, k)

    def var(x: np.ndarray, y: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:  # box(x y) - mx my
        out = _box(x * y, k)
        out -= mx * my
        return out

    e = np.float32(eps)
    s_rr, s_gg, s_bb = var(r, r, mr, mr) + e, var(g, g, mg, mg) + e, var(b, b, mb, mb) + e
    s_rg, s_rb, s_gb = var(r, g, mr, mg), var(r, b, mr, mb), var(g, b, mg, mb)
    v_r, v_g, v_b = var(r, p, mr, mp), var(g, p, mg, mp), var(b, p, mb, mp)
    # Cofactors of the symmetric covariance, its inverse times v: a = C v / det.
    c_rr, c_gg, c_bb = s_gg * s_bb - s_gb * s_gb, s_rr * s_bb - s_rb * s_rb, s_rr * s_gg - s_rg * s_rg
    c_rg, c_rb, c_gb = s_rb * s_gb - s_rg * s_bb, s_rg * s_gb - s_rb * s_gg, s_rg * s_rb - s_rr * s_gb
    inv_det = s_rr * c_rr
    inv_det += s_rg * c_rg
    inv_det += s_rb * c_rb
    np.divide(np.float32(_STRETCH), inv_det, out=inv_det)  # the snap's stretch folded in
    coef = np.empty((*p.shape, 3), np.float32)
    offset = (mp - np.float32(EDGE_SNAP)) * np.float32(_STRETCH)
    for c, (x, y, z), m, weight in ((0, (c_rr, c_rg, c_rb), mr, _GREY_WEIGHTS[0]),
                                    (1, (c_rg, c_gg, c_gb), mg, _GREY_WEIGHTS[1]),
                                    (2, (c_rb, c_gb, c_bb), mb, _GREY_WEIGHTS[2])):
        a = x * v_r
        a += y * v_g
        a += z * v_b
        a *= inv_det
        offset -= a * m
        coef[..., c] = a * np.float32(1.0 / weight)  # over the grey weights: one grey conversion sums a . I
    grid = (w, h)
    out: np.ndarray = cv2.resize(_box(offset, k), grid, interpolation=cv2.INTER_LINEAR)
    a_up = cv2.resize(_box(coef, k), grid, interpolation=cv2.INTER_LINEAR)
    out += cv2.cvtColor(cv2.multiply(a_up, guide, dst=a_up), cv2.COLOR_RGB2GRAY)
    return np.clip(out, 0.0, 1.0, out=out)
