"""A clean plate of a video's background, learned from its own frames (video files at quality best).

Where the person has been, the background behind them was seen before or after: a plate keeps, per pixel, the
background's colour from the frames where that pixel was surely background (alpha at most `SURE_BACKGROUND`,
`guard` px away from anything more). Then the band around the person's edge is decided against it, as background
matting does (Sengupta et al. 2020, with the plate learned instead of shot): a band pixel's alpha is its colour's
place between the plate's colour and the person's nearby colour, in place of the matte's (both ways: a gap between
curls that shows the plate's colour loses the alpha the matte gave it); and a band pixel that matches the plate
within the frame's noise is background. Textured backgrounds (grass, gravel) whose colours defeat matting from the
frame alone are exactly where the plate knows each pixel.

A camera pan is followed (the median shift of tracked background corners): the plate moves by whole pixels only,
so it is never resampled and never blurs, and the fraction left over is where the frame sits on it: the frame is
compared with, and learned into, the plate at that offset. A frame the tracking or the plate no longer explains (a
cut, a zoom, a change of light) drops the plate and it is learned again; it decides only once it has gone
`MIN_STEADY` frames undropped. A pixel not seen for `MAX_AGE` frames is not trusted (light drifts while a person
stands in front of it).
The plate only ever changes alpha within the band, and a pixel it has never seen keeps the matte's alpha, so a
person who never moves is matted as before. Memory: one float32 RGB frame and two bytes per pixel, at most
`WORK_SIDE` on the long side (13 MB).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

SURE_BACKGROUND = 0.02  # alpha at most this (and `guard` px clear of more) is learned into the plate
RATE = 0.2  # each new sighting's weight once a pixel has been seen (a fresh pixel takes the first sighting)
MIN_SEEN = 2  # sightings before the plate decides a pixel
MAX_AGE = 150  # frames since a pixel's last sighting after which it is no longer trusted (light drifts: 5 s at 30)
NOISE_K = 3.0  # a difference under NOISE_K x the frame's noise from the plate is background
SEPARATION = 0.1  # the person's colour must be this far from the plate's (0-1 RGB) for alpha to be estimated
MAX_NOISE = 0.06  # noise (robust, 0-1 RGB) over which the plate no longer fits the frame: it is dropped
STILL = 0.05  # a tracked shift under this (px) is a still camera: tracking noise does not move the plate
SNAP = 0.1  # a shift this near whole pixels, the plate on whole pixels, is taken as whole (no error carried)
MIN_STEADY = 5  # frames the plate must go undropped before it decides (a hand-held shake drops it most frames)
MIN_AGREE = 0.5  # the share of tracked corners that must move with the median shift
TRACK_SIDE = 480  # the long side the shift is tracked at
WORK_SIDE = 1280  # a larger frame is decided on a copy shrunk to this long side (as the matte is), the change
# upsampled onto its alpha: the plate's cost and memory stop growing with the frame
BASE_SIDE = 540  # the band's widths below are for this short side (960x540) and scale with it
BAND_OUT, BAND_IN, GUARD, FG_RADIUS = 6, 3, 3, 8


def _disc(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _compare(x: np.ndarray, value: float, op: int) -> np.ndarray:
    """`cv2.compare` with a scalar (255 where true, uint8), which the stubs do not know."""
    return cv2.compare(x, value, op)  # type: ignore[call-overload]


def _largest(x: np.ndarray) -> np.ndarray:
    """The largest of an (N, 3) array's columns (numpy's reduce along a short axis is several times slower)."""
    return np.maximum(np.maximum(x[:, 0], x[:, 1]), x[:, 2])


def translate(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`a` moved by (dx, dy) whole pixels, zeros where nothing moved in."""
    out = np.zeros_like(a)
    h, w = a.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = a[max(-dy, 0):h + min(-dy, 0),
                                                                   max(-dx, 0):w + min(-dx, 0)]
    return out


def track_shift(prev: np.ndarray, cur: np.ndarray, mask: np.ndarray | None) -> tuple[float, float] | None:
    """The shift (px, sub-pixel: the median over `mask`'s corners) of `cur` from `prev` (grey, uint8), or None when
    too few are tracked or they disagree (not a pan: the plate is then dropped). No corners (a flat frame): no shift."""
    p0 = cv2.goodFeaturesToTrack(prev, 150, 0.01, 8, mask=mask)
    if p0 is None or len(p0) < 12:
        return 0.0, 0.0
    p1, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, p0.copy(), winSize=(15, 15), maxLevel=3)
    moved = (p1 - p0).reshape(-1, 2)[status.ravel() == 1]
    if len(moved) < 12:
        return None
    median = np.median(moved, axis=0)
    if float(np.mean(np.abs(moved - median).max(axis=1) < 1.0)) < MIN_AGREE:
        return None
    return float(median[0]), float(median[1])


class BackgroundPlate:
    """One video's plate (see the module docstring); `refine` each frame in order, `reset` for a new video."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._plate: np.ndarray | None = None
        self._seen: np.ndarray | None = None
        self._age: np.ndarray | None = None  # frames since each pixel was last seen (uint16, saturating)
        self._grey: np.ndarray | None = None
        self._sure: np.ndarray | None = None
        self.drops = 0  # plates dropped (a cut, a move not followed, a light change)
        self._steady = 0  # frames since the plate was last dropped
        self._offset = (0.0, 0.0)  # where the frame sits on the plate past whole pixels: frame(x) = plate(x - offset)

    def _drop(self) -> None:
        self._steady = 0
        self._offset = (0.0, 0.0)
        if self._seen is not None:
            self.drops += int(self._seen.any())  # a plate with nothing in it is not counted
            self._seen[:] = 0

    def refine(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """`alpha` (float32, rgb's size) with its edge band decided against the plate where the plate knows the
        pixels; then this frame's sure background learned. The input is not modified. An alpha of another size than
        the frame (a frame smaller than the model's grid keeps the grid's) is returned as it is."""
        height, width = alpha.shape
        if rgb.shape[:2] != (height, width) or rgb.ndim != 3 or rgb.shape[2] != 3:
            return alpha
        scale = WORK_SIDE / max(height, width)
        if scale >= 1.0:
            return self._refine(rgb, alpha)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # bilinear, not area: 4x cheaper at 1080p -> 720p, and the decisions need no anti-aliasing
        small = cv2.resize(np.asarray(alpha, np.float32), size, interpolation=cv2.INTER_LINEAR)
        change = self._refine(cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR), small) - small
        if not change.any():
            return alpha
        out = alpha + cv2.resize(change, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(out, 0.0, 1.0, out=out)

    def _refine(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        h, w = alpha.shape
        if self._plate is None or self._plate.shape[:2] != (h, w):
            self._plate = np.zeros((h, w, 3), np.float32)
            self._seen = np.zeros((h, w), np.uint8)
            self._age = np.zeros((h, w), np.uint16)
            self._one = np.ones((h, w), np.uint8)
            self._one16 = np.ones((h, w), np.uint16)
            self._grey = self._sure = None
        assert self._seen is not None
        scale = min(h, w) / BASE_SIDE
        guard, out_r, in_r, fg_r = (max(1, round(v * scale)) for v in (GUARD, BAND_OUT, BAND_IN, FG_RADIUS))
        # sure background (255): alpha at most SURE_BACKGROUND, `guard` px clear of more (a square: separable)
        sure = cv2.erode(_compare(alpha, SURE_BACKGROUND, cv2.CMP_LE), np.ones((2 * guard + 1,) * 2, np.uint8))
        self._follow(rgb)
        view = self._shifted(self._plate, 1.0)  # the plate where the frame sits on it
        noise = self._noise(rgb, sure, view)
        result = alpha
        if noise is not None and noise > MAX_NOISE * 255:
            self._drop()
            noise = None
        self._steady += 1
        if noise is not None and self._steady > MIN_STEADY:
            result = self._decide(rgb, alpha, view, noise, out_r, in_r, fg_r)
        self._learn(rgb, sure)
        return result

    def _follow(self, rgb: np.ndarray) -> None:
        """Move the plate with the camera (tracked on a small grey copy over last frame's sure background)."""
        h, w = rgb.shape[:2]
        f = min(1.0, TRACK_SIDE / max(h, w))
        small = (max(1, round(w * f)), max(1, round(h * f)))
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if f < 1:
            grey = cv2.resize(grey, small, interpolation=cv2.INTER_AREA)
        prev, self._grey = self._grey, grey
        if prev is None or self._sure is None or prev.shape != grey.shape:
            return
        mask = cv2.resize(self._sure, small, interpolation=cv2.INTER_NEAREST)
        shift = track_shift(prev, grey, mask)
        if shift is None:
            self._drop()
            return
        fx, fy = shift[0] / f, shift[1] / f
        if max(abs(fx), abs(fy)) < STILL:
            return
        # the plate moves by whole pixels only (never resampled, so it never blurs); the fraction left over is
        # where the frame sits on it, and the frame is compared and learned there (`_view`, `_learn`)
        if max(abs(fx - round(fx)), abs(fy - round(fy))) < SNAP and self._offset == (0.0, 0.0):
            fx, fy = float(round(fx)), float(round(fy))  # a whole-pixel pan: tracking's error is not carried
        tx, ty = self._offset[0] + fx, self._offset[1] + fy
        dx, dy = round(tx), round(ty)
        self._offset = (tx - dx, ty - dy)
        if (dx, dy) != (0, 0):
            assert self._plate is not None and self._seen is not None
            assert self._age is not None
            self._plate, self._seen = translate(self._plate, dx, dy), translate(self._seen, dx, dy)
            self._age = translate(self._age, dx, dy)  # moved-in pixels are unseen (seen 0) whatever their age

    def _shifted(self, image: np.ndarray, sign: float, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """`image` moved by `sign` x the offset (bilinear), or itself while the offset is under a hundredth."""
        ox, oy = self._offset
        if max(abs(ox), abs(oy)) < 0.01:
            return image
        move = np.array([[1, 0, sign * ox], [0, 1, sign * oy]], np.float32)
        return cv2.warpAffine(image, move, (image.shape[1], image.shape[0]), flags=interpolation,
                              borderMode=cv2.BORDER_REPLICATE)

    def _known(self, where: Any) -> np.ndarray:
        """Whether the plate decides the pixels at `where` (an index): seen MIN_SEEN times, last within MAX_AGE."""
        assert self._seen is not None and self._age is not None
        return (self._seen[where] >= MIN_SEEN) & (self._age[where] <= MAX_AGE)

    def _noise(self, rgb: np.ndarray, sure: np.ndarray, view: np.ndarray) -> float | None:
        """The frame's robust noise against the plate over its sure background that the plate knows (1.4826 x the
        median difference over every 8th row and column, 0-255), or None while the plate knows too little of it."""
        assert self._plate is not None and self._seen is not None
        pick = (sure[::8, ::8] > 0) & self._known(np.s_[::8, ::8])
        if np.count_nonzero(pick) < 200:
            return None
        diff = _largest(np.abs(rgb[::8, ::8][pick].astype(np.float32) - view[::8, ::8][pick]))
        return float(np.median(diff)) * 1.4826 + 0.25

    def _decide(self, rgb: np.ndarray, alpha: np.ndarray, view: np.ndarray, noise: float, out_r: int, in_r: int,
                fg_r: int) -> np.ndarray:
        """The band's pixels that the plate knows, re-decided (module docstring); only the person's box is computed."""
        assert self._plate is not None and self._seen is not None
        ys, xs = np.nonzero(cv2.dilate((alpha[::8, ::8] >= 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)))
        if len(ys) == 0:
            return alpha
        pad = out_r + fg_r + 8
        h, w = alpha.shape
        y0, y1 = max(0, int(ys.min()) * 8 - pad), min(h, int(ys.max()) * 8 + 8 + pad)
        x0, x1 = max(0, int(xs.min()) * 8 - pad), min(w, int(xs.max()) * 8 + 8 + pad)
        box = np.s_[y0:y1, x0:x1]
        a, img = alpha[box], rgb[box]
        p = _compare(a, 0.5, cv2.CMP_GE)
        square = np.ones((2 * out_r + 1,) * 2, np.uint8)  # separable, so cheap at any size
        band = (cv2.dilate(p, square) > 0) & (cv2.erode(p, _disc(in_r)) == 0) & self._known(box)
        if not band.any():
            return alpha
        size = (2 * fg_r + 1, 2 * fg_r + 1)
        inner = (a >= 0.95).astype(np.uint8)
        n = cv2.boxFilter(inner, cv2.CV_32F, size, normalize=False)
        sums = cv2.boxFilter(cv2.copyTo(img, inner), cv2.CV_32F, size, normalize=False)
        ys, xs = np.nonzero(band)
        count, sums = n[ys, xs], sums[ys, xs]
        at = (ys + y0) * w + (xs + x0)  # the band's pixels in the whole frame (whose flat views are free)
        pix, back = rgb.reshape(-1, 3)[at].astype(np.float32), view.reshape(-1, 3)[at]
        gap = sums / np.maximum(count, 1)[:, None] - back
        spread = np.einsum("ij,ij->i", gap, gap)
        matched = _largest(np.abs(pix - back)) < NOISE_K * noise
        estimate = np.clip(np.einsum("ij,ij->i", pix - back, gap) / np.maximum(spread, 1e-6), 0.0, 1.0)
        use = (count > 3) & (spread > (SEPARATION * 255) ** 2) & ~matched
        out = alpha.copy()
        flat = out.reshape(-1)
        flat[at[use]] = estimate[use]
        flat[at[matched]] = 0.0
        return out

    def _learn(self, rgb: np.ndarray, sure: np.ndarray) -> None:
        """This frame's sure background into the plate: a fresh pixel takes it, a seen one blends it in."""
        assert self._plate is not None and self._seen is not None
        self._sure = sure  # tracking's mask, in the frame's own place
        rgb, sure = self._shifted(rgb, -1.0), self._shifted(sure, -1.0, cv2.INTER_NEAREST)  # onto the plate
        fresh = cv2.bitwise_and(sure, _compare(self._seen, 0, cv2.CMP_EQ))
        cv2.accumulateWeighted(rgb, self._plate, RATE, mask=sure)
        cv2.accumulateWeighted(rgb, self._plate, 1.0, mask=fresh)
        cv2.add(self._seen, self._one, dst=self._seen, mask=sure)
        assert self._age is not None
        cv2.add(self._age, self._one16, dst=self._age)  # saturates at 65535
        cv2.subtract(self._age, self._age, dst=self._age, mask=sure)
