"""Person masks: MediaPipe's corner-aligned upsampling, soft threshold/feather and temporal smoothing.

The pipeline refines at the model's resolution (256x256: a few tenths of a millisecond) and then upsamples;
the bilinear upsample turns the refined edge into a smooth ramp at full resolution. Refining after the
upsample gives the same picture at several times the cost (bench/bench_core.py measures both orders).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

from desktop_app.core.resize import resize_corner_aligned

# Edge blur: at feather 1 a Gaussian with sigma = 1% of the mask's longer side (2.56 px at 256x256),
# so the softness is a fraction of the picture whether the mask is refined small or at full resolution.
EDGE_SIGMA_PER_FEATHER = 0.01
# Half-width of the soft-threshold ramp at feather 1: threshold 0.5 -> ramp over probabilities 0..1.
RAMP_HALF_WIDTH_PER_FEATHER = 0.5


# The fast upsample may place samples this far (in model pixels) from the corner-aligned position;
# cv2.warpAffine itself rounds positions to 1/32 pixel.
MAX_OFFSET_ERROR = 1.0 / 24.0
MAX_EXTRA = 0.25  # at most this fraction of extra output rows/columns for the fast path


class AxisPlan(NamedTuple):
    """cv2.resize (half-pixel centres) made corner-aligned on one axis: pad `before`/`after` source
    pixels, resize to `padded` output pixels, keep output pixels [crop, crop + n_out)."""

    before: int
    after: int
    padded: int
    crop: int
    error: float  # in source pixels


@lru_cache(maxsize=64)
def axis_plan(n_in: int, n_out: int) -> AxisPlan | None:
    """A padding/crop for which cv2.resize samples output x at source x * n_in / n_out (+- error).

    cv2.resize maps output x to source (x + 0.5) * s - 0.5. With the source padded by `before` pixels,
    a longer output `padded` (a multiple of b, so the scale s = n_in / n_out = a / b stays exact) and a crop
    of `crop` output pixels, the offset error is ((2 crop + 1) a - (2 before + 1) b) / (2 b) for s = a / b. Returns the
    cheapest plan within MAX_OFFSET_ERROR and MAX_EXTRA, or None (use warpAffine).
    """
    ratio = Fraction(n_in, n_out)
    a, b = ratio.numerator, ratio.denominator
    best: AxisPlan | None = None
    for crop in range(0, 2 * b + 1):
        before = max(0, round(((2 * crop + 1) * a / b - 1) / 2))
        error = abs((2 * crop + 1) * a - (2 * before + 1) * b) / (2 * b)
        if error > MAX_OFFSET_ERROR:
            continue
        padded = -(-(n_out + crop) // b) * b
        while padded * a // b - n_in - before < 1:
            padded += b
        plan = AxisPlan(before, padded * a // b - n_in - before, padded, crop, error)
        if best is None or (plan.padded, plan.error) < (best.padded, best.error):
            best = plan
    if best is None or best.padded > n_out * (1 + MAX_EXTRA) + 2:
        return None
    return best


def upsample(mask_small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 mask -> (H, W) float32 for `size` = (H, W), bilinear, corner-aligned like MediaPipe.

    Uses cv2.resize on a padded source and crops (about 3x faster than warpAffine at 720p/1080p) when a
    plan within MAX_OFFSET_ERROR exists for both axes, else `resize_corner_aligned`. The result may be a
    row-strided view into a slightly larger array (not C-contiguous); `np.ascontiguousarray` if needed.
    """
    height, width = size
    mask = np.ascontiguousarray(mask_small, dtype=np.float32)
    if mask.shape == (height, width):
        return mask
    rows, cols = axis_plan(mask.shape[0], height), axis_plan(mask.shape[1], width)
    if rows is None or cols is None:
        return resize_corner_aligned(mask, (width, height))
    padded = cv2.copyMakeBorder(mask, rows.before, rows.after, cols.before, cols.after, cv2.BORDER_REPLICATE)
    big = cv2.resize(padded, (cols.padded, rows.padded), interpolation=cv2.INTER_LINEAR)
    return big[rows.crop : rows.crop + height, cols.crop : cols.crop + width]  # a view: copying costs 0.5 ms


def soft_threshold(mask: np.ndarray, threshold: float, feather: float) -> np.ndarray:
    """Map probabilities to alpha: a hard step at `threshold` for feather 0, else a smoothstep ramp.

    The ramp spans threshold +- feather * 0.5, clipped to [0, 1] so that 0 and 1 stay reachable, and is
    followed by a small Gaussian edge blur proportional to `feather` and to the mask size.
    """
    half = feather * RAMP_HALF_WIDTH_PER_FEATHER
    low, high = max(threshold - half, 0.0), min(threshold + half, 1.0)
    if high - low <= 1e-6:
        return (mask >= threshold).astype(np.float32)
    x = np.clip((mask - np.float32(low)) * np.float32(1.0 / (high - low)), 0.0, 1.0, dtype=np.float32)
    alpha = x * x * (np.float32(3.0) - np.float32(2.0) * x)
    sigma = feather * EDGE_SIGMA_PER_FEATHER * max(mask.shape)
    if sigma >= 0.3:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return alpha


class MaskRefiner:
    """Temporal smoothing (an exponential moving average of the probabilities) then a soft threshold.

    `smoothing` is the weight of the previous frames (0 = off). The attributes may be changed between
    frames; `reset()` forgets the history (a new video, a still photo); a change of shape resets too.
    """

    def __init__(self, threshold: float = 0.5, feather: float = 0.3, smoothing: float = 0.0) -> None:
        self.threshold = threshold
        self.feather = feather
        self.smoothing = smoothing
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        self._state = None

    def smooth(self, mask: np.ndarray) -> np.ndarray:
        """The moving average of the probabilities including `mask` (float32, same shape)."""
        mask = np.asarray(mask, dtype=np.float32)
        if self.smoothing <= 0.0:
            self._state = None
            return mask
        if self._state is None or self._state.shape != mask.shape:
            self._state = mask.copy()
        else:
            keep = float(self.smoothing)
            self._state = cv2.addWeighted(self._state, keep, mask, 1.0 - keep, 0.0)
        return self._state

    def refine(self, mask: np.ndarray) -> np.ndarray:
        """(h, w) float32 probabilities -> (h, w) float32 alpha in [0, 1]."""
        return soft_threshold(self.smooth(mask), self.threshold, self.feather)
