"""Key openpeople's studio pictures (a person on a plain grey backdrop) into exact person masks.

Used by tools/build_evalset.py. The backdrop is not flat (a vignette, a floor that brightens towards the camera),
so it is modelled per picture: a smooth quadratic surface per Lab channel, fitted to the pixels that look like
backdrop and refitted a few times. A pixel far from that surface is person. Three things need care:

- grey clothes (shorts) sit close to the backdrop in lightness: the key uses colour and lightness both, and a
  GrabCut pass (OpenCV) settles the uncertain band from colour models of the sure person and sure backdrop;
- floor shadows are darker than the backdrop but keep its colour: in the lower part of full-body pictures
  (the floor, below the knees) a pixel that is only darker, not differently coloured, is backdrop;
- hair: fine strands are partly backdrop. The hard mask (`key_person`) counts a pixel as person from about a
  quarter of a strand's contrast and fills the small holes between loose curls, so on its own it carries the
  studio's grey between the strands into every composite (a grey halo round frizzy hair, counted as person).
  Portraits are therefore keyed soft near their outline (`soft_key`, since session 20): alpha is the pixel's key
  distance over that of solid person nearby (a difference matte against the modelled backdrop, as a blue-screen
  key is), and the colour is un-mixed from the backdrop, so a composite shows its new background between strands.
"""

from __future__ import annotations

import cv2
import numpy as np

KEY_MAX_SIDE = 1400  # keyed cut-outs are kept at this size: larger than any person in the composites
SOFT_BAND = 48  # px (at KEY_MAX_SIDE) each side of the hard mask's outline that `soft_key` decides
SOFT_FLOOR = 4.0  # key distance at or under which a pixel is backdrop (GrabCut's sure backdrop below)
SOFT_FULL = 25.0  # the least key distance taken for solid person (GrabCut's sure person below)
SOFT_SIGMA = 10.0  # px: how far solid person's distance is averaged and spread for `soft_key`
HAIR_SIGMA, HAIR_DETAIL = 12.0, 5.0  # hair: fine detail (lightness, 0-255) at least this, averaged this wide


def _smooth_fill(lab: np.ndarray, weight: np.ndarray, sigma_frac: float = 0.06) -> np.ndarray:
    """Normalised convolution: the local mean of `lab` over pixels with weight 1, extended smoothly into the
    pixels with weight 0 (computed at 1/8 size: the backdrop varies slowly)."""
    h, w = weight.shape
    sw, sh = max(w // 8, 8), max(h // 8, 8)
    small_w = cv2.resize(weight.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    small_v = cv2.resize(lab * weight[..., None], (sw, sh), interpolation=cv2.INTER_AREA)
    sigma = sigma_frac * max(sw, sh)
    num = cv2.GaussianBlur(small_v, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(small_w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)[..., None]
    for _ in range(6):  # far from any backdrop pixel: widen until something is seen
        if float(den.min()) > 1e-3:
            break
        sigma *= 2
        num = cv2.GaussianBlur(small_v, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        den = cv2.GaussianBlur(small_w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)[..., None]
    est = num / np.maximum(den, 1e-6)
    return cv2.resize(est, (w, h), interpolation=cv2.INTER_LINEAR)


def _distance(diff: np.ndarray, floor_rows: int) -> np.ndarray:
    """Key distance from the backdrop; below `floor_rows` a darker pixel of the same colour is a shadow."""
    chroma = np.sqrt(diff[..., 1] ** 2 + diff[..., 2] ** 2)
    light = diff[..., 0]
    score = np.sqrt(chroma**2 + light**2)
    if floor_rows < diff.shape[0]:
        # Below the waist the wall and floor carry the person's shadows (darker, same grey) and a spotlight
        # (lighter, same grey): there a pixel is person by its colour, or by being far brighter (white clothes).
        low = np.maximum(1.7 * chroma[floor_rows:], light[floor_rows:] - 18.0)
        # Long dark hair reaches the shoulders: far darker than any shadow counts as person down to there.
        hair_end = min(2 * floor_rows, diff.shape[0]) - floor_rows
        low[:hair_end] = np.maximum(low[:hair_end], -light[floor_rows : floor_rows + hair_end] - 40.0)
        score[floor_rows:] = low
    return score


def backdrop_model(lab: np.ndarray, floor_rows: int, iterations: int = 4) -> np.ndarray:
    """(H, W, 3) float32 Lab of the backdrop as it would look without the person: seeded by pixels of the
    border's colour, then refined by normalised convolution over the pixels still taken for backdrop."""
    h, w = lab.shape[:2]
    if floor_rows < h:
        # Full body: the person stands in the middle; per row, interpolate between the two side strips
        # (wall above, floor below, each with its own lightness).
        side = max(w // 14, 4)
        left = np.median(lab[:, :side], axis=1)
        right = np.median(lab[:, -side:], axis=1)
        t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        model = (left[:, None, :] * (1 - t) + right[:, None, :] * t).astype(np.float32)
        model = cv2.GaussianBlur(model, (0, 0), 3.0)
    else:
        strip = np.concatenate([lab[: h // 30].reshape(-1, 3), lab[: h // 2, : w // 25].reshape(-1, 3),
                                lab[: h // 2, -(w // 25) :].reshape(-1, 3)])
        d = lab - np.median(strip, axis=0)
        chroma = np.sqrt(d[..., 1] ** 2 + d[..., 2] ** 2)
        model = _smooth_fill(lab, (chroma < 6.0) & (np.abs(d[..., 0]) < 22.0))
    first = model
    for _ in range(iterations):
        weight = _distance(lab - model, floor_rows) < 6.0
        model = _smooth_fill(lab, weight, 0.04)
    if floor_rows < h:
        model[floor_rows:] = first[floor_rows:]  # the side strips describe the lit floor better than a fill
    return model


def key_person(rgb: np.ndarray, full_body: bool, grabcut: bool = True) -> np.ndarray:
    """(H, W) bool person mask for a studio picture: backdrop model -> key distance -> clean-up."""
    return key_with_backdrop(rgb, full_body, grabcut)[0]


def key_with_backdrop(rgb: np.ndarray, full_body: bool, grabcut: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(hard person mask, the backdrop's modelled Lab) for a studio picture."""
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab = cv2.GaussianBlur(lab, (0, 0), 0.8)
    floor_rows = int(0.15 * h) if full_body else h  # below the hair
    model = backdrop_model(lab, floor_rows)
    score = _distance(lab - model, floor_rows)
    mask = score > 12.0
    if grabcut:
        trimap = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
        trimap[score > 12.0] = cv2.GC_PR_FGD
        trimap[score > 25.0] = cv2.GC_FGD
        trimap[score < 4.0] = cv2.GC_BGD
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), trimap, None, bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
        mask = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
    return clean(mask), model


def soft_key(rgb: np.ndarray, mask: np.ndarray, model: np.ndarray, band: int = SOFT_BAND
             ) -> tuple[np.ndarray, np.ndarray]:
    """(un-mixed RGB float32, alpha float32) of a portrait: hair within `band` px of `mask`'s outline keyed soft,
    the rest as `mask`.

    Hair is where the picture holds fine detail over a wide area (strands); a smooth edge (a shadowed neck, a grey
    shirt: near the backdrop's colour, yet opaque) keeps the hard key. There alpha is the pixel's key distance
    from the backdrop (on the unblurred picture, so strands keep their width) between `SOFT_FLOOR` (0) and that
    of solid person nearby (its mean over the pixels 3 px or more inside, spread outwards; at least `SOFT_FULL`):
    1. Only what joins the person's interior is kept. The colour is the person's with the backdrop taken out,
    F = B + (I - B) / alpha, so alpha x F + (1 - alpha) x a new background is the picture as if shot there.
    Full-body pictures are not for this: their hair is a few pixels in any composite."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    score = _distance(lab - model, rgb.shape[0])
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    # solid person's distance nearby: the mean over pixels well inside, spread outwards (normalised convolution)
    solid = ((inside >= 3) & (score >= SOFT_FULL)).astype(np.float32)
    num = cv2.GaussianBlur(score * solid, (0, 0), SOFT_SIGMA)
    den = cv2.GaussianBlur(solid, (0, 0), SOFT_SIGMA)
    wide_num = cv2.GaussianBlur(score * solid, (0, 0), 4 * SOFT_SIGMA)  # far out: the hair's colour from wider
    wide_den = cv2.GaussianBlur(solid, (0, 0), 4 * SOFT_SIGMA)
    full = np.where(den > 0.05, num / np.maximum(den, 1e-6), wide_num / np.maximum(wide_den, 1e-6))
    full = np.maximum(full, SOFT_FULL)
    soft = np.clip((score - SOFT_FLOOR) / (full - SOFT_FLOOR), 0.0, 1.0)
    # only hair is see-through: where the picture is textured over a wide area (strands), not along a smooth edge
    # (a shadowed neck or a grey shirt is near the backdrop's colour without letting it through)
    lightness = lab[..., 0]
    detail = lightness - cv2.GaussianBlur(lightness, (0, 0), 2.0)
    energy = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), 6.0))
    hair = cv2.GaussianBlur(energy, (0, 0), HAIR_SIGMA) >= HAIR_DETAIL
    near = np.where(mask, inside <= band, outside <= band) & hair
    alpha = np.where(near, soft, mask).astype(np.float32)
    _, labels = cv2.connectedComponents((alpha > 0.05).astype(np.uint8), connectivity=8)
    alpha[~np.isin(labels, np.unique(labels[mask & (inside > band)]))] = 0.0
    backdrop = cv2.cvtColor(np.clip(model + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    picture = rgb.astype(np.float32)
    colour = np.clip(backdrop + (picture - backdrop) / np.maximum(alpha, 0.05)[..., None], 0.0, 255.0)
    colour[alpha >= 0.999] = picture[alpha >= 0.999]
    return colour, alpha


def clean(mask: np.ndarray, min_hole_frac: float = 0.0005) -> np.ndarray:
    """Keep the largest connected part; fill holes smaller than `min_hole_frac` of the picture (real gaps
    between arm and body are larger and stay backdrop)."""
    m = mask.astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if count > 1:  # the person and any part cut off from it (legs below grey shorts), not specks
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = 1 + np.flatnonzero(areas >= 0.02 * areas.max())
        m = np.isin(labels, keep).astype(np.uint8)
    inv = 1 - m
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    limit = min_hole_frac * m.size
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        touches = x == 0 or y == 0 or x + bw == m.shape[1] or y + bh == m.shape[0]
        if not touches and area < limit:
            m[labels == i] = 1
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return m.astype(bool)


def downscale(rgb: np.ndarray, max_side: int = KEY_MAX_SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return rgb
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
