"""Cut-out privacy and edge colour: nothing of the old background survives in a `remove` output."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core.effects.background import blend, compose
from desktop_app.core.effects.foreground import estimate_foreground
from desktop_app.core.frames import Frame
from desktop_app.core.masks import soft_threshold, upsample
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline

H, W = 240, 320


def texture(seed: int, base: tuple[int, int, int], cell: int, h: int = H, w: int = W) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 40.0, (h // cell, w // cell, 3)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(field + rng.normal(0.0, 10.0, (h, w, 3)) + np.float32(base), 0, 255).astype(np.uint8)


def person_alpha(h: int = H, w: int = W, feather: float = 0.4) -> np.ndarray:
    """The pipeline's kind of alpha: a blob refined at model size and upsampled (a soft band a few px wide)."""
    small = np.zeros((144, 256), np.float32)
    cv2.ellipse(small, (128, 50), (28, 36), 0, 0, 360, 1.0, -1)
    cv2.ellipse(small, (128, 144), (80, 60), 0, 0, 360, 1.0, -1)
    return cv2.convertScaleAbs(upsample(soft_threshold(small, 0.5, feather), (h, w)), alpha=255.0)


@pytest.fixture(scope="module")
def case() -> dict[str, np.ndarray]:
    fg = texture(1, (210, 150, 120), 12)
    bg = texture(2, (30, 120, 50), 20)
    alpha = person_alpha()
    return {"F": fg, "B": bg, "alpha": alpha, "I": blend(fg, bg, alpha)}


def band_error(pixels: np.ndarray, target: np.ndarray, alpha: np.ndarray) -> float:
    band = (alpha > 0) & (alpha < 255)
    return float(np.abs(pixels[band].astype(np.float64) - target[band]).mean())


def corr_with(pixels: np.ndarray, other: np.ndarray, alpha: np.ndarray) -> float:
    band = (alpha > 0) & (alpha < 255)
    a, b = pixels[band].astype(np.float64), other[band].astype(np.float64)
    return float(np.corrcoef((a - a.mean(0)).ravel(), (b - b.mean(0)).ravel())[0, 1])


IMAGES = {
    "noise": lambda: np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8),
    "white": lambda: np.full((H, W, 3), 255, np.uint8),
    "texture": lambda: texture(5, (128, 128, 128), 10),
    "gradient": lambda: np.dstack([np.tile(np.linspace(0, 255, W, dtype=np.uint8), (H, 1))] * 3),
}
MASKS = {
    "person": lambda: person_alpha().astype(np.float32) / 255.0,
    "random": lambda: np.random.default_rng(6).random((H, W), dtype=np.float32) * 2.0 - 0.5,  # many 0s and 1s
    "hard": lambda: (person_alpha() > 128).astype(np.float32),
    "empty": lambda: np.zeros((H, W), np.float32),
}


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("image_name", list(IMAGES))
def test_no_image_content_in_the_transparent_area(image_name: str, mask_name: str, live: bool) -> None:
    rgb, mask = IMAGES[image_name](), np.clip(MASKS[mask_name](), 0.0, 1.0)
    out = compose(rgb, mask, EffectParams(effect="remove"), live=live)
    transparent = out[..., 3] == 0
    assert transparent.any()
    assert not out[..., :3][transparent].any()  # alpha 0 => RGB exactly (0, 0, 0)


def test_no_image_content_in_the_transparent_area_through_the_pipeline() -> None:
    class Segmenter:
        spec = None

        def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
            return person_alpha(144, 256).astype(np.float32) / 255.0, {}

    for temporal in (False, True):
        rgb = IMAGES["texture"]()
        out = Pipeline(Segmenter(), EffectParams(effect="remove"), temporal=temporal).process(Frame(rgb, 0.0)).pixels
        transparent = out[..., 3] == 0
        assert transparent.mean() > 0.2
        assert not out[..., :3][transparent].any()


@pytest.mark.parametrize("passes", [1, 2])
def test_edge_colour_is_the_person_not_the_old_background(case: dict[str, np.ndarray], passes: int) -> None:
    fg, bg, alpha, image = case["F"], case["B"], case["alpha"], case["I"]
    estimate = estimate_foreground(image, alpha, passes=passes)
    naive, ours = band_error(image, fg, alpha), band_error(estimate, fg, alpha)
    assert naive > 30  # the composite's edge really is a mix
    assert ours < 0.5 * naive
    assert corr_with(estimate, bg, alpha) < 0.6 * corr_with(image, bg, alpha)
    assert np.array_equal(estimate[alpha == 255], image[alpha == 255])  # the person itself is untouched


def test_remove_cut_out_edges_carry_the_estimated_person_colour(case: dict[str, np.ndarray]) -> None:
    fg, alpha, image = case["F"], case["alpha"], case["I"]
    out = compose(image, alpha.astype(np.float32) / 255.0, EffectParams(effect="remove"))
    assert np.array_equal(out[..., 3], alpha)
    assert band_error(out[..., :3], fg, alpha) < 0.5 * band_error(image, fg, alpha)


@pytest.mark.parametrize("effect", ["remove", "replace"])
def test_green_screen_and_replace_edges_lose_the_old_background(case: dict[str, np.ndarray], effect: str) -> None:
    fg, alpha, image = case["F"], case["alpha"], case["I"]
    new_bg = texture(9, (60, 60, 200), 16)
    if effect == "remove":
        params, behind, background = EffectParams(effect="remove", color=(0, 177, 64)), None, None
        behind = np.broadcast_to(np.array((0, 177, 64), np.uint8), image.shape).copy()
    else:
        params, behind, background = EffectParams(effect="replace"), new_bg, new_bg
    mask = alpha.astype(np.float32) / 255.0
    out = compose(image, mask, params, background=background)
    truth = blend(fg, behind, alpha)
    naive = blend(image, behind, alpha)
    assert band_error(out, truth, alpha) < 0.6 * band_error(naive, truth, alpha)
    assert np.array_equal(out[alpha == 0], truth[alpha == 0])
    live = compose(image, mask, params, background=background, live=True)
    if effect == "remove":  # a live green screen uses the one-pass estimate
        assert band_error(live, truth, alpha) < 0.6 * band_error(naive, truth, alpha)
    else:  # a live replace keeps the frame time it had: the plain edge blend
        assert np.abs(live.astype(int) - naive).max() <= 1


def test_still_blur_edges_lose_the_old_background_and_live_blur_is_unchanged(case: dict[str, np.ndarray]) -> None:
    from desktop_app.core.effects.background import blend_edges, blurred_background

    fg, alpha, image = case["F"], case["alpha"], case["I"]
    mask = alpha.astype(np.float32) / 255.0
    params = EffectParams(effect="blur", strength=40)
    behind = blurred_background(image, 40, mask)
    truth = blend(fg, behind, alpha)
    still = compose(image, mask, params, mask_small=mask)
    live = compose(image, mask, params, mask_small=mask, live=True)
    assert np.array_equal(live, blend_edges(image, behind.copy(), alpha))  # live: the frame time stays as it was
    assert band_error(still, truth, alpha) < 0.6 * band_error(live, truth, alpha)
    assert np.array_equal(still[alpha == 255], image[alpha == 255])
