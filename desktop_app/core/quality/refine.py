"""Mask clean-up for still photos: specks removed, small holes filled, edges snapped to the photo (guided filter)."""

from __future__ import annotations

import cv2
import numpy as np


def remove_specks(prob: np.ndarray, threshold: float = 0.5, min_frac: float = 0.05) -> np.ndarray:
    """Zero the connected person parts smaller than `min_frac` of the largest one (stray false positives)."""
    mask = (prob >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return prob
    areas = stats[1:, cv2.CC_STAT_AREA]
    small = 1 + np.flatnonzero(areas < min_frac * areas.max())
    if small.size == 0:
        return prob
    out = prob.copy()
    out[np.isin(labels, small)] = np.minimum(out[np.isin(labels, small)], threshold * 0.5)
    return out


def fill_holes(prob: np.ndarray, threshold: float = 0.5, max_frac: float = 0.002) -> np.ndarray:
    """Raise to 1 the enclosed non-person parts smaller than `max_frac` of the picture (gaps the model left
    inside a person; a real gap between arm and body is larger and touches the background)."""
    background = (prob < threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    h, w = prob.shape
    limit = max_frac * h * w
    out = prob
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area < limit and x > 0 and y > 0 and x + bw < w and y + bh < h:
            if out is prob:
                out = prob.copy()
            out[labels == i] = 1.0
    return out


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide in [0, 1]: `src` smoothed, its edges following the guide's."""
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def snap_edges(rgb: np.ndarray, prob: np.ndarray, radius_frac: float = 0.004, eps: float = 1e-3,
               max_pixels: int = 3_000_000) -> np.ndarray:
    """Upsample `prob` to `rgb`'s size with its edges following the photo's (a guided filter at up to
    `max_pixels`, then a bilinear upsample). Radius is `radius_frac` of the picture's longer side."""
    h, w = rgb.shape[:2]
    scale = min(1.0, (max_pixels / (h * w)) ** 0.5)
    gw, gh = max(round(w * scale), 1), max(round(h * scale), 1)
    guide_rgb = rgb if scale == 1.0 else cv2.resize(rgb, (gw, gh), interpolation=cv2.INTER_AREA)
    guide = cv2.cvtColor(guide_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1.0 / 255.0)
    src = cv2.resize(prob.astype(np.float32), (gw, gh), interpolation=cv2.INTER_LINEAR)
    radius = max(round(radius_frac * max(gw, gh)), 1)
    out = np.clip(guided_filter(guide, src, radius, eps), 0.0, 1.0)
    if (gh, gw) != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out.astype(np.float32, copy=False)
