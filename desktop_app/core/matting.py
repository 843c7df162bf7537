"""Closed-form matting (Levin, Lischinski & Weiss 2008) in the band around a mask's edge, with box filters only.

The mask says where the person is to within a few pixels; hair and other fine edges are decided here from the
picture's colours. Pixels well inside the mask's 0.5 edge are person (alpha 1), well outside it background (0),
each person's band sized to that person (`trimap`); the band gets the alpha that minimises the matting Laplacian's
energy alpha^T L alpha with the rest fixed: in every small window alpha is as near as it can be to an affine
function of the colours. He, Sun & Tang (2010): L p is proportional to p - W p, where W is the colour guided filter
with the same window, so each product is box filters and a 3x3 inverse per pixel precomputed, and the system is
solved by conjugate gradients, warm-started from the mask's own alpha. Only the tiles that hold the band are
computed (`_Tiles`). No other library: numpy and OpenCV's box filters.

Measured (docs/quality.md, "Session 16"): on the tune clips the video files' flicker falls from 0.356x to 0.282x of
before #9 and boundary F rises 0.930 -> 0.946 (call-P004, curly hair on grass: 0.797 -> 0.860); on the tune photos
mean IoU 0.964 -> 0.970, boundary F 0.818 -> 0.848. About 0.1 s per 960x540 frame on one core: for video files
and photos, not live frames. Checked on one grass frame against pymatting 1.1.16's `estimate_alpha_cf` (float64,
ichol-preconditioned): 97% of the band on the same side of 0.5.
"""

from __future__ import annotations

import cv2
import numpy as np

# A 5x5 window (Levin et al. take 3x3): information crosses the band in fewer iterations (20 converge where 3x3
# takes 80), for the same boundary F. eps regularises each window's colour covariance (1e-7 in Levin et al.).
MATTE_RADIUS = 2
MATTE_EPS = 1e-6
# The band around each person's edge, as shares of the person's size (the longer side of its bounding box): the
# model's misses scale with the person in its input. 3 px inside and 8 outside for a 500 px tall person.
INNER_SHARE = 0.006
OUTER_SHARE = 0.016
ITERATIONS = 20
TOLERANCE = 1e-4  # relative residual at which the conjugate gradients stop early
# Alpha under this is background. The band's faint alpha is mostly background texture that resembles the person's
# edge (light stones beside a white shirt), which a cut-out shows as ghosts; on the stills (session 18, tune / held
# out) background alpha per edge pixel 0.795 / 0.858 -> 0.593 / 0.647, person alpha lost 1.066 / 1.067 -> 1.083 /
# 1.089, IoU and boundary F the same (docs/quality.md, "Session 18"). Video files apply it after the change gate.
MATTE_FLOOR = 0.2


def floored(alpha: np.ndarray, floor: float = MATTE_FLOOR) -> np.ndarray:
    """A new float32 array: `alpha` with values under `floor` set to 0 (OpenCV's to-zero threshold, which keeps
    what is above its bar: the bar just under `floor`; 0.09 ms a 720p frame, where numpy's where took 2.3)."""
    bar = float(np.nextafter(np.float32(floor), np.float32(0.0)))
    alpha = np.asarray(alpha, np.float32)
    return cv2.threshold(alpha, bar, 0.0, cv2.THRESH_TOZERO)[1].reshape(alpha.shape)


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def trimap(person: np.ndarray, inner: float = INNER_SHARE, outer: float = OUTER_SHARE
           ) -> tuple[np.ndarray, np.ndarray]:
    """(known person, unknown band) as bool arrays from the (H, W) bool `person`; the rest is known background.
    Each connected part is eroded by `inner` and dilated by `outer` times the longer side of its bounding box
    (at least 1 and 2 px)."""
    mask = person.astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    sure = np.zeros(person.shape, bool)
    maybe = np.zeros(person.shape, bool)
    height, width = person.shape
    for k in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[k])
        size = max(w, h)
        r_in, r_out = max(1, round(inner * size)), max(2, round(outer * size))
        x0, y0, x1, y1 = max(0, x - r_out), max(0, y - r_out), min(width, x + w + r_out), min(height, y + h + r_out)
        part = (labels[y0:y1, x0:x1] == k).astype(np.uint8)
        sure[y0:y1, x0:x1] |= cv2.erode(part, _disc(r_in), borderType=cv2.BORDER_REPLICATE) > 0
        maybe[y0:y1, x0:x1] |= cv2.dilate(part, _disc(r_out)) > 0
    return sure, maybe & ~sure


class _GuidedOperator:
    """p -> W p, the colour guided filter of `guide` (h, w, 3 float32 0..1) with `eps`: each window's mean mu and
    inverse covariance C precomputed, so a product is (a, b) = (C (box(I p) - mu box(p)), box(p) - a . mu), then
    box(a) . I + box(b): eight box filters and some thirty multiply-adds, all on contiguous planes."""

    def __init__(self, guide: np.ndarray, radius: int, eps: float) -> None:
        self.ksize = (2 * radius + 1, 2 * radius + 1)
        g64 = guide.astype(np.float64)  # the covariances in float64: float32 cancels them below eps
        box = self._box
        mean = box(g64)
        sq = box(g64 * g64) - mean * mean
        r, g, b = g64[..., 0], g64[..., 1], g64[..., 2]
        cross = box(np.dstack((r * g, r * b, g * b)))
        mr, mg, mb = mean[..., 0], mean[..., 1], mean[..., 2]
        s_rr, s_gg, s_bb = sq[..., 0] + eps, sq[..., 1] + eps, sq[..., 2] + eps
        s_rg, s_rb, s_gb = cross[..., 0] - mr * mg, cross[..., 1] - mr * mb, cross[..., 2] - mg * mb
        c_rr, c_gg, c_bb = s_gg * s_bb - s_gb * s_gb, s_rr * s_bb - s_rb * s_rb, s_rr * s_gg - s_rg * s_rg
        c_rg, c_rb, c_gb = s_rb * s_gb - s_rg * s_bb, s_rg * s_gb - s_rb * s_gg, s_rg * s_rb - s_rr * s_gb
        inv_det = 1.0 / np.maximum(s_rr * c_rr + s_rg * c_rg + s_rb * c_rb, eps ** 3)  # det >= eps^3 (PSD + eps)
        self.inverse = [np.ascontiguousarray(c * inv_det, np.float32) for c in (c_rr, c_rg, c_rb, c_gg, c_gb, c_bb)]
        self.mean = [np.ascontiguousarray(m, np.float32) for m in (mr, mg, mb)]
        self.planes = [np.ascontiguousarray(guide[..., c]) for c in range(3)]

    def _box(self, x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, self.ksize, borderType=cv2.BORDER_REFLECT)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        box = self._box
        mean_p = box(p)
        v = []
        for plane, mu in zip(self.planes, self.mean, strict=True):
            x = box(plane * p)
            x -= mu * mean_p
            v.append(x)
        i_rr, i_rg, i_rb, i_gg, i_gb, i_bb = self.inverse
        b = mean_p
        out = None
        for row, plane, mu in zip(((i_rr, i_rg, i_rb), (i_rg, i_gg, i_gb), (i_rb, i_gb, i_bb)), self.planes, self.mean,
                                  strict=True):
            a = row[0] * v[0]
            a += row[1] * v[1]
            a += row[2] * v[2]
            b -= a * mu
            term = box(a)
            term *= plane
            out = term if out is None else out + term
        assert out is not None
        out += box(b)
        return out


TILE = 16  # the band is solved in tiles of this many pixels a side that hold unknown pixels, all side by side


def matte(rgb: np.ndarray, alpha: np.ndarray, inner: float = INNER_SHARE, outer: float = OUTER_SHARE,
          radius: int = MATTE_RADIUS, eps: float = MATTE_EPS, iterations: int = ITERATIONS,
          tolerance: float = TOLERANCE) -> np.ndarray:
    """(H, W) float32 alpha in [0, 1]: `alpha` (float 0..1, or bool) with the band around its 0.5 edge re-solved
    by closed-form matting against the (H, W, 3) uint8 `rgb`; outside the band 0 or 1."""
    alpha = np.asarray(alpha, dtype=np.float32)
    sure, band = trimap(alpha >= 0.5, inner, outer)
    out = sure.astype(np.float32)
    tiles = _Tiles(band, 2 * radius)
    if tiles.count == 0:
        return out
    start = np.where(band, np.clip(alpha, 0.0, 1.0), out)
    guided = _GuidedOperator(tiles.gather(rgb.astype(np.float32) * np.float32(1.0 / 255.0)), radius, eps)
    solved = _solve(guided, tiles, start, band, iterations, tolerance)
    tiles.scatter(out, np.clip(solved, 0.0, 1.0), band)
    return out


def matte_fitted(rgb: np.ndarray, alpha: np.ndarray, long_side: int, soften: float = 0.0, floor: float = 0.0
                 ) -> np.ndarray:
    """`matte` on the frame and alpha area-shrunk to at most `long_side` (the cost grows with the band's area),
    alpha under `floor` set to 0, then blurred by a Gaussian of `soften` times the long side (the user's edge
    feather; none at 0), upsampled bilinearly to the (H, W) frame."""
    height, width = alpha.shape
    scale = min(1.0, long_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = scale < 1.0
    out = matte(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if small else rgb,
                cv2.resize(np.asarray(alpha, np.float32), size, interpolation=cv2.INTER_AREA) if small else alpha)
    if floor > 0.0:
        out = floored(out, floor)
    sigma = soften * max(size)
    if sigma >= 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR) if small else out


class _Tiles:
    """The TILE x TILE tiles of a frame that hold unknown pixels, each gathered with a `halo` of its neighbours'
    pixels (the frame's edge replicated past it) into one wide (S, n * S) image, S = TILE + 2 * halo: the guided
    filter of such an image is exact in every tile's interior, whatever the box filters mix across tile seams.
    The tiles' own pixels form a (TILE, n, TILE) array, the layout of `inside`."""

    def __init__(self, band: np.ndarray, halo: int) -> None:
        height, width = band.shape
        t = TILE
        rows, cols = -(-height // t), -(-width // t)
        padded = np.zeros((rows * t, cols * t), bool)
        padded[:height, :width] = band
        self.ty, self.tx = np.nonzero(padded.reshape(rows, t, cols, t).any(axis=(1, 3)))
        n = self.count = int(self.ty.size)
        self.halo, self.side = halo, t + 2 * halo
        span = np.arange(self.side) - halo
        self._y = np.clip(self.ty[:, None] * t + span[None, :], 0, height - 1)  # (n, S): clamped at the edges
        self._x = np.clip(self.tx[:, None] * t + span[None, :], 0, width - 1)
        iy = self.ty[:, None] * t + np.arange(t)[None, :]  # (n, T): past the frame's edge for edge tiles
        ix = self.tx[:, None] * t + np.arange(t)[None, :]
        self.real = np.moveaxis((iy < height)[:, :, None] & (ix < width)[:, None, :], 0, 1)  # (T, n, T)
        ky, kx = np.minimum(iy, height - 1), np.minimum(ix, width - 1)
        self._flat = np.moveaxis(ky[:, :, None] * width + kx[:, None, :], 0, 1)  # (T, n, T) frame indices
        # Each frame pixel's place in the (T, n, T) layout, or n * T * T (a zero slot) outside every tile.
        place = np.full(height * width, n * t * t, np.int64)
        place[self._flat[self.real]] = np.arange(n * t * t).reshape(t, n, t)[self.real]
        self._place = self.gather(place.reshape(height, width))  # (S, n * S) indices into [p, 0]

    def gather(self, image: np.ndarray) -> np.ndarray:
        """(H, W[, C]) -> the tiles with their halos side by side: (S, n * S[, C])."""
        g = np.moveaxis(image[self._y[:, :, None], self._x[:, None, :]], 0, 1)  # (S, n, S[, C])
        return np.ascontiguousarray(g.reshape(self.side, self.count * self.side, *image.shape[2:]))

    def spread(self, values: np.ndarray) -> np.ndarray:
        """(T, n, T) values on the tiles (zero everywhere else) -> their wide (S, n * S) image."""
        return np.append(values.reshape(-1), np.float32(0.0))[self._place]

    def interior(self, image: np.ndarray) -> np.ndarray:
        """(H, W) -> the tiles' own pixels, (T, n, T)."""
        return image.reshape(-1)[self._flat]

    def inside(self, wide: np.ndarray) -> np.ndarray:
        """A wide (S, n * S) image's tile interiors, (T, n, T)."""
        h = self.halo
        return wide.reshape(self.side, self.count, self.side)[h:h + TILE, :, h:h + TILE]

    def scatter(self, image: np.ndarray, values: np.ndarray, where: np.ndarray) -> None:
        """Write (T, n, T) `values` into the (H, W) `image` at the pixels where `where` (H, W bool) holds."""
        keep = self.real & self.interior(where)
        image.reshape(-1)[self._flat[keep]] = values[keep]


def _solve(guided: _GuidedOperator, tiles: _Tiles, start: np.ndarray, band: np.ndarray, iterations: int,
           tolerance: float) -> np.ndarray:
    """Conjugate gradients for (p - W p) = 0 on the band's pixels, every other pixel fixed at `start`'s value,
    the band warm-started at `start`; the tiles' interiors (T, n, T)."""
    free = (tiles.real & tiles.interior(band)).astype(np.float32)

    def laplacian(wide: np.ndarray) -> np.ndarray:
        return (tiles.inside(wide) - tiles.inside(guided(wide))) * free

    x = tiles.interior(start).astype(np.float32)
    r = -laplacian(tiles.gather(start.astype(np.float32)))
    p = r.copy()
    rr = float(np.vdot(r, r))
    stop = tolerance * tolerance * max(rr, 1e-30)
    for _ in range(iterations):
        if rr <= stop:
            break
        ap = laplacian(tiles.spread(p))
        curvature = float(np.vdot(p, ap))
        if not curvature > 1e-12 * rr:  # flat: a band with nothing known around it (a frame all band), or NaN
            break
        step = rr / curvature
        x += np.float32(step) * p
        r -= np.float32(step) * ap
        rr_next = float(np.vdot(r, r))
        p = r + np.float32(rr_next / rr) * p
        rr = rr_next
    return x
