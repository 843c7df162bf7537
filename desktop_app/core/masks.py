"""Person masks: upsampling as MediaPipe does it, soft threshold/feather and motion-aware temporal smoothing.

The pipeline refines at the model's resolution (256x256: a few tenths of a millisecond) and then upsamples;
the bilinear upsample turns the refined edge into a smooth ramp at full resolution. Refining after the
upsample gives the same picture at several times the cost (bench/bench_core.py measures both orders).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from desktop_app.core.plate import BackgroundPlate
from desktop_app.core.specks import SpeckFilter

# Edge blur: at feather 1 a Gaussian with sigma = 1% of the mask's longer side (2.56 px at 256x256),
# so the softness is a fraction of the picture whether the mask is refined small or at full resolution.
EDGE_SIGMA_PER_FEATHER = 0.01
# Half-width of the soft-threshold ramp at feather 1: threshold 0.5 -> ramp over probabilities 0..1.
RAMP_HALF_WIDTH_PER_FEATHER = 0.5


def upsample(mask_small: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """(h, w) float32 mask -> (H, W) float32 for `size` = (H, W), bilinear with half-pixel centres.

    This is what MediaPipe's own graph does for the output mask (a plain cv::resize; only the *input* is
    resized corner-aligned): measured against its masks, IoU 0.9992-1.0000 vs 0.986-0.995 corner-aligned
    (docs/models.md). It is also the cheapest upsample OpenCV has. `out`, a C-contiguous (H, W) float32 array,
    receives the result (the live path's pooled buffer: no 3.7 MB allocation per 720p frame); a mask already
    at `size` is returned as it is, not copied into `out`.
    """
    height, width = size
    mask = np.ascontiguousarray(mask_small, dtype=np.float32)
    if mask.shape == (height, width):
        return mask
    if out is not None and (out.shape != (height, width) or out.dtype != np.float32
                            or not out.flags.c_contiguous):
        raise ValueError(f"upsample: out must be a C-contiguous ({height}, {width}) float32 array")
    return cv2.resize(mask, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)


# The model's (smoothed) probability at its grid where video and live frames count as person, at the default
# threshold 0.5. Session 15 set 0.4 (the outline lay there on the evaluation set as it was); session 20 found that
# set counting the studio's grey between loose curls as person and corrected it, and on the corrected set 0.5 is
# better on every path (tune clips, flicker x before #9: live best 0.463 -> 0.433, live fast 0.546 -> 0.519, video
# files 0.356 -> 0.319; held out, scored once: 0.420 -> 0.390, 0.502 -> 0.477; docs/quality.md, "Session 20").
# Kept as a knee (frame_threshold) so that another value can be measured again.
VIDEO_EDGE_PROBABILITY = 0.5


def frame_threshold(threshold: float) -> float:
    """The user's threshold (0..1; 0.5 by default) as the probability video and live frames count as person:
    0.5 -> VIDEO_EDGE_PROBABILITY, 0 and 1 kept, linear on each side."""
    knee = VIDEO_EDGE_PROBABILITY
    if threshold <= 0.5:
        return threshold * knee / 0.5
    return knee + (threshold - 0.5) * (1.0 - knee) / 0.5


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


# Change-gated smoothing: the weight of the history falls linearly from `smoothing` (new and old agree) to 0
# when they differ by GATE_WIDTH or more, so a moving edge (a jump of ~1 in probability) is followed at once
# and only small disagreements (noise) are averaged. Tuned on call-P002 (docs/quality.md, "Video and live").
GATE_WIDTH = 0.5
# The same gate for the edge refinement's guide (the frame in grey, 0..1): sensor noise (a few grey levels at the
# grid) is averaged, a change of more than this is followed at once. Tried 0.05/0.1/0.2 on call-P002-noisy: still
# flicker 0.00041/0.00038/0.00037 with `steady`, boundary F 0.802/0.802/0.801 (docs/quality.md, last section).
GUIDE_GATE_WIDTH = 0.1
# Hysteresis: a pixel's person/background decision flips only when its probability crosses the threshold by
# this margin per unit of smoothing (0.1 at the default smoothing 0.5), on the side away from its last state.
HYSTERESIS_PER_SMOOTHING = 0.2


class MaskRefiner:
    """Motion-aware temporal smoothing, then a soft threshold with hysteresis.

    `smoothing` is the most weight the previous frames get (0 = off: no memory at all). Per pixel the weight
    shrinks as the new probability departs from the history (`GATE_WIDTH`): where they nearly agree the mask
    is averaged hard, where they disagree the new frame wins at once, so motion is followed without lag.
    `refine` also keeps each pixel's last decision and shifts its probability by +-`HYSTERESIS_PER_SMOOTHING`
    * smoothing toward it, so a pixel near the threshold does not flip back and forth.
    The attributes may be changed between frames; `reset()` forgets the history (a new video, a still photo);
    a change of shape resets too.
    """

    def __init__(self, threshold: float = 0.5, feather: float = 0.3, smoothing: float = 0.0) -> None:
        self.threshold = threshold
        self.feather = feather
        self.smoothing = smoothing
        self._state: np.ndarray | None = None
        self._person: np.ndarray | None = None  # last decision per pixel (bool), for the hysteresis
        self._edge_state: np.ndarray | None = None  # the gated average of the edge-refined alpha (`steady`)
        self._guide_state: np.ndarray | None = None  # the gated average of the edge refinement's guide
        self._matte_state: np.ndarray | None = None  # the gated average of the matted alpha (`steady_matte`)
        self._specks = SpeckFilter()  # specks and holes of the edge-refined alpha (`despeckle`)
        self.plate = BackgroundPlate()  # the video's background seen so far (video files at quality best)

    def reset(self) -> None:
        self._state = None
        self._person = None
        self._edge_state = None
        self._guide_state = None
        self._matte_state = None
        self._specks.reset()
        self.plate.reset()

    def smooth(self, mask: np.ndarray) -> np.ndarray:
        """The change-gated moving average of the probabilities including `mask` (float32, same shape)."""
        mask = np.asarray(mask, dtype=np.float32)
        if self.smoothing <= 0.0:
            self.reset()
            return mask
        if self._state is None or self._state.shape != mask.shape:
            self.reset()
            self._state = mask.copy()
            return self._state
        self._state = gated_average(self._state, mask, self.smoothing)
        return self._state

    def _hysteresis(self, mask: np.ndarray) -> np.ndarray:
        """`mask` shifted toward each pixel's last decision; records the new decisions."""
        margin = float(self.smoothing) * HYSTERESIS_PER_SMOOTHING
        if margin <= 0.0:
            self._person = None
            return mask
        if self._person is not None and self._person.shape == mask.shape:
            shifted = np.multiply(self._person, np.float32(2.0 * margin), dtype=np.float32)  # 0 or 2 * margin
            shifted += mask
            shifted -= np.float32(margin)
            mask = np.clip(shifted, 0.0, 1.0, out=shifted)
        self._person = mask >= self.threshold
        return mask

    def refine(self, mask: np.ndarray) -> np.ndarray:
        """(h, w) float32 probabilities -> (h, w) float32 alpha in [0, 1]."""
        return soft_threshold(self._hysteresis(self.smooth(mask)), self.threshold, self.feather)

    def steady(self, alpha: np.ndarray) -> np.ndarray:
        """The edge-refined alpha (`refine_edges` of `refine`'s output) through the same change gate, with a
        history of its own: the guided filter follows the frame's noise where the person sits still, and this
        averages that away again, while a moving edge (a jump of ~1) is followed at once. No second hysteresis:
        on call-P002 it cost boundary F (0.80 -> 0.79) for a still flicker the gate alone nearly reaches."""
        alpha = np.asarray(alpha, dtype=np.float32)
        if self.smoothing <= 0.0:
            self._edge_state = None
            return alpha
        self._edge_state = _next_state(self._edge_state, alpha, self.smoothing)
        return self._edge_state

    def despeckle(self, alpha: np.ndarray, grid: tuple[int, int] | None = None) -> np.ndarray:
        """The edge-refined alpha with specks dropped and small holes filled at `threshold` (`core.specks`); the
        pieces kept last frame keep at half the size while smoothing is on (no memory with smoothing 0). `grid`:
        the model's (h, w) when `alpha` is larger (full-resolution edges), so holes under a grid cell are filled."""
        if self.smoothing <= 0.0:
            self._specks.reset()
        self._specks.threshold = self.threshold
        cell = 1.0 if grid is None else alpha.shape[0] * alpha.shape[1] / float(grid[0] * grid[1])
        return self._specks.clean(alpha, cell)

    def steady_full(self, alpha: np.ndarray) -> np.ndarray:
        """Record the full-resolution edges' result (`edges_full.refine_edges_full`, which gates against the one
        recorded before: `previous_full`); returns it."""
        self._edge_state = alpha if self.smoothing > 0.0 else None
        return alpha

    def steady_matte(self, alpha: np.ndarray) -> np.ndarray:
        """The matted alpha (`core.matting`) through the change gate with a history of its own: a still person's
        edge does not follow the sensor noise (noisy tune clip, still flicker 0.0015 -> 0.0007), a moving one is
        followed at once."""
        if self.smoothing <= 0.0:
            self._matte_state = None
            return alpha
        self._matte_state = _next_state(self._matte_state, alpha, self.smoothing)
        return self._matte_state

    def previous_full(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The last `steady_full` result if it has this (H, W) shape and smoothing is on, else None."""
        state = self._edge_state
        return state if self.smoothing > 0.0 and state is not None and state.shape == shape else None

    def steady_guide(self, grey: np.ndarray, full_scale: float = 255.0) -> np.ndarray:
        """The edge refinement's guide (the frame in grey, uint8 or float 0..`full_scale`; or in colour, (h, w, 3))
        as a change-gated average (`GUIDE_GATE_WIDTH` of the full scale), float32: the guided filter is fitted
        against a frame whose noise is averaged where nothing moves. Pass as
        `refine_edges(..., grey_filter=refiner.steady_guide)` or `edges_full.refine_edges_full(...,
        guide_filter=refiner.steady_unit_guide)`."""
        grey = np.asarray(grey, dtype=np.float32)
        if self.smoothing <= 0.0:
            self._guide_state = None
            return grey
        self._guide_state = _next_state(self._guide_state, grey, self.smoothing, GUIDE_GATE_WIDTH * full_scale)
        return self._guide_state

    def steady_unit_guide(self, guide: np.ndarray) -> np.ndarray:
        """`steady_guide` for a guide in 0..1 (the full-resolution edges' colour guide at the fit grid)."""
        return self.steady_guide(guide, 1.0)


def _next_state(state: np.ndarray | None, new: np.ndarray, smoothing: float, width: float = GATE_WIDTH
                ) -> np.ndarray:
    """`gated_average`'s next step from `state`; a copy of `new` to start (or after a change of size)."""
    if state is None or state.shape != new.shape:
        return new.copy()
    return gated_average(state, new, smoothing, width)


def gated_average(state: np.ndarray, new: np.ndarray, smoothing: float, width: float = GATE_WIDTH) -> np.ndarray:
    """One step of the change-gated moving average: a fresh array (callers may hold the previous result).

    keep = smoothing * max(0, 1 - |new - old| / width); result = old + (1 - keep) * (new - old)."""
    diff = new - state
    follow = np.abs(diff)
    follow *= np.float32(smoothing / width)
    follow += np.float32(1.0 - smoothing)
    np.minimum(follow, 1.0, out=follow)
    diff *= follow
    return state + diff


# The grey edge refinement (live's edge step until W39; live now takes `edges_full.refine_edges_colour`, which
# sees edges of hue too and reaches further: docs/quality.md, "Session 6: flicker"). A guided filter (He et al.)
# whose coefficients are fitted at the model's grid against
# the frame in grey and applied at EDGE_SCALE x the grid, so the edge follows the frame's own edges. Radius 1 grid
# pixel, eps 1e-3, tuned on call-P002 (docs/quality.md). Applied at the grid itself (scale 1) it keeps most of
# the gain for a third of the cost of 2.5x (640x360): +0.8 ms vs +3 ms at 720p in the pipeline, side by side.
EDGE_SCALE = 1.0
EDGE_RADIUS = 1
EDGE_EPS = 1e-3
EDGE_SNAP = 0.03  # alpha below this becomes 0, above 1 - this 1: the soft band stays as wide as before


def _box(x: np.ndarray, ksize: tuple[int, int]) -> np.ndarray:
    return cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT)


def refine_edges(rgb: np.ndarray, alpha: np.ndarray, scale: float = EDGE_SCALE, radius: int = EDGE_RADIUS,
                 eps: float = EDGE_EPS, grey_filter: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """(h, w) alpha at model resolution -> float32 alpha in [0, 1] at `scale` x that size (at most the frame's),
    its edges snapped to those of the (H, W, 3) uint8 frame. `grey_filter` (e.g. `MaskRefiner.steady_guide`)
    maps the frame in grey at the apply size (uint8) to the grey actually used (same shape, 0..255)."""
    h, w = alpha.shape
    frame_h, frame_w = rgb.shape[:2]
    out_w, out_h = min(round(w * scale), frame_w), min(round(h * scale), frame_h)
    src = np.asarray(alpha, dtype=np.float32)
    if out_w < w or out_h < h:  # a frame smaller than the grid: nothing finer to snap to
        return src
    # Bilinear to the apply size (an exact 2x2 average for 720p; an area resize costs twice as much at 1080p
    # for the same scores on call-P002), then grey.
    mid = rgb if (out_h, out_w) == (frame_h, frame_w) else cv2.resize(rgb, (out_w, out_h),
                                                                       interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(np.ascontiguousarray(mid), cv2.COLOR_RGB2GRAY)
    if grey_filter is not None:
        grey = grey_filter(grey)
    # To the grid: halve (cheap area average, anti-aliased) while still larger than twice the grid, then linear.
    small = grey
    while small.shape[1] >= 2 * w and small.shape[0] >= 2 * h:
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
    guide = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) * np.float32(1.0 / 255.0)
    grey = grey.astype(np.float32, copy=False)
    ksize = (2 * radius + 1, 2 * radius + 1)
    mean_i, mean_p = _box(guide, ksize), _box(src, ksize)
    var_i = _box(guide * guide, ksize) - mean_i * mean_i
    a = (_box(guide * src, ksize) - mean_i * mean_p) / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    # a takes the 1/255 so the uint8 grey frame is used as it is.
    a, b = _box(a, ksize) * np.float32(1.0 / 255.0), _box(b, ksize)
    if (out_h, out_w) != (h, w):
        a = cv2.resize(a, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    out = cv2.multiply(a, grey, dtype=cv2.CV_32F)
    cv2.add(out, b, dst=out)
    # The fit leaves faint non-zero values over textured background and faint dents in the person; a
    # stretch by EDGE_SNAP at both ends makes them exactly 0 and 1 again, so the compose blends only the edge.
    cv2.addWeighted(out, 1.0 / (1.0 - 2.0 * EDGE_SNAP), out, 0.0, -EDGE_SNAP / (1.0 - 2.0 * EDGE_SNAP), dst=out)
    return np.clip(out, 0.0, 1.0, out=out)

