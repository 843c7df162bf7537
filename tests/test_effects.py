"""effects.background: each effect on synthetic frames with known answers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from desktop_app.core.effects import background as bg_mod
from desktop_app.core.effects.background import (
    blend,
    blend_edges,
    blur_radius,
    compose,
    cover_fit,
    fitted_background,
    load_background,
)
from desktop_app.core.masks import upsample
from desktop_app.core.params import EffectParams

H, W = 120, 160


def noise(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def disc_small(size: int = 64, radius: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return (((xx - size // 2) ** 2 + (yy - size // 2) ** 2) <= radius**2).astype(np.float32)


def hard_disc(h: int = H, w: int = W, radius: int = 30) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (((xx - w // 2) ** 2 + (yy - h // 2) ** 2) <= radius**2).astype(np.float32)


def test_none_returns_the_frame_itself() -> None:
    rgb = noise()
    assert compose(rgb, hard_disc(), EffectParams(effect="none")) is rgb


def test_blur_keeps_person_pixels_and_blurs_background() -> None:
    rgb, mask = noise(), hard_disc()
    out = compose(rgb, mask, EffectParams(effect="blur", strength=60))
    person, back = mask == 1.0, mask == 0.0
    assert out.shape == rgb.shape
    assert out.dtype == np.uint8
    assert np.array_equal(out[person], rgb[person])
    # Uniform noise has std ~74; blurred it is far smoother.
    assert rgb[back].astype(np.float32).std() > 70
    assert out[back].astype(np.float32).std() < 25


def test_stronger_blur_is_smoother() -> None:
    rgb, mask = noise(480, 640), np.zeros((480, 640), np.float32)
    stds = [compose(rgb, mask, EffectParams(effect="blur", strength=s)).astype(np.float32).std() for s in (5, 30, 90)]
    assert stds[0] > stds[1] > stds[2]


def test_blur_radius_scales_with_frame_size() -> None:
    assert blur_radius(50, (1280, 720)) == 32
    assert blur_radius(50, (1920, 1080)) == 48
    assert blur_radius(1, (64, 48)) == 1


def test_blur_with_the_small_mask_keeps_person_colours_out_of_the_halo() -> None:
    # A red person on a blue background: the blurred background next to the person should stay blue.
    small = disc_small(64, 16)
    mask = upsample(small, (256, 256))
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[..., 2] = 255
    rgb[mask > 0.5] = (255, 0, 0)
    params = EffectParams(effect="blur", strength=100)
    halo = (mask == 0.0) & (upsample(cv2.dilate(small, np.ones((7, 7), np.uint8)), (256, 256)) > 0)
    assert halo.sum() > 1000
    with_mask = compose(rgb, mask, params, mask_small=small)
    without = compose(rgb, mask, params)
    assert int(with_mask[halo][:, 0].max()) <= 12  # no red in the halo (a trace from upsampling geometry)
    assert int(without[halo][:, 0].max()) > 60  # the plain blur smears the red: the test can tell


@pytest.mark.parametrize("radius", [1, 4, 6, 9])
def test_the_separable_tent_is_stack_blur(radius: int) -> None:
    image = np.random.default_rng(radius).random((90, 160, 4), dtype=np.float32)
    kernel = bg_mod._tent(radius)
    assert kernel.size == 2 * radius + 1 and abs(float(kernel.sum()) - 1.0) < 1e-6
    tent = cv2.sepFilter2D(image, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)
    stack = cv2.stackBlur(image, (2 * radius + 1, 2 * radius + 1))
    inner = (slice(radius + 1, -radius - 1), slice(radius + 1, -radius - 1))
    assert np.abs(tent - stack)[inner].max() < 1e-4  # the same kernel
    assert np.abs(tent - stack).max() < 0.02  # stackBlur's own edge handling differs slightly at r >= 6


def test_replace_puts_exact_background_where_mask_is_zero() -> None:
    rgb, mask, back_img = noise(), hard_disc(), noise(seed=5)
    out = compose(rgb, mask, EffectParams(effect="replace", background=Path("x.png")), background=back_img)
    assert np.array_equal(out[mask == 0.0], back_img[mask == 0.0])
    assert np.array_equal(out[mask == 1.0], rgb[mask == 1.0])


def test_replace_without_background_is_an_error() -> None:
    with pytest.raises(ValueError, match="background"):
        compose(noise(), hard_disc(), EffectParams(effect="replace", background=Path("x.png")))


def test_soft_mask_blends_between_within_one_level() -> None:
    fg, back = noise(seed=1), noise(seed=2)
    alpha = np.random.default_rng(3).integers(0, 256, (H, W), dtype=np.uint8)
    a = alpha.astype(np.float64)[..., None] / 255.0
    exact = fg * a + back * (1.0 - a)
    assert np.abs(blend(fg, back, alpha).astype(np.float64) - exact).max() <= 1.0


@pytest.mark.parametrize("feather", [0.0, 0.15, 0.3])
def test_edge_only_blend_is_bit_identical_to_the_full_blend(feather: float) -> None:
    from desktop_app.core.masks import soft_threshold

    small = cv2.GaussianBlur(disc_small(64, 20), (0, 0), 2.0)  # 1 inside, 0 outside, a soft ring
    ring = (small > 0.01) & (small < 0.99)
    small[ring] = np.clip(small[ring] + 0.2 * np.random.default_rng(8).random(int(ring.sum())) - 0.1, 0, 1)
    alpha = bg_mod.to_alpha(upsample(soft_threshold(small, 0.5, feather), (720, 1280)))
    fg, back = noise(720, 1280, seed=1), noise(720, 1280, seed=2)
    soft = np.count_nonzero((alpha > 0) & (alpha < 255))
    assert np.count_nonzero(alpha == 255) > 1000
    assert alpha.size >= bg_mod.EDGE_BLEND_MIN_PIXELS  # large enough for the edge-only path
    assert 0 < soft < bg_mod.MAX_SOFT_FRACTION * alpha.size  # the edge-only path, not the fallback
    out = blend_edges(fg, back.copy(), alpha)
    assert np.array_equal(out, blend(fg, back, alpha))


def test_small_frames_take_the_whole_frame_blend(monkeypatch: pytest.MonkeyPatch) -> None:
    alpha = bg_mod.to_alpha(upsample(disc_small(64, 20), (H, W)))
    fg, back = noise(seed=1), noise(seed=2)
    calls: list[int] = []
    real_blend = bg_mod.blend

    def spy(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real_blend(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bg_mod, "blend", spy)
    assert alpha.size < bg_mod.EDGE_BLEND_MIN_PIXELS
    out = blend_edges(fg, back.copy(), alpha)
    assert calls == [1]
    assert np.array_equal(out, real_blend(fg, back, alpha))


def test_edge_only_blend_falls_back_when_most_pixels_are_soft() -> None:
    alpha = np.random.default_rng(9).integers(1, 255, (H, W), dtype=np.uint8)
    fg, back = noise(seed=1), noise(seed=2)
    assert np.array_equal(blend_edges(fg, back.copy(), alpha), blend(fg, back, alpha))


def thirds(w: int, h: int, horizontal: bool) -> np.ndarray:
    """An image in three bands red | green | blue (left to right, or top to bottom)."""
    img = np.zeros((h, w, 3), np.uint8)
    n = w if horizontal else h
    for i, colour in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
        band = slice(i * n // 3, (i + 1) * n // 3)
        if horizontal:
            img[:, band] = colour
        else:
            img[band, :] = colour
    return img


def test_cover_fit_crops_the_centre_of_a_wide_background() -> None:
    out = cover_fit(thirds(300, 100, horizontal=True), (100, 100))
    assert out.shape == (100, 100, 3)
    assert np.all(out == (0, 255, 0))


def test_cover_fit_crops_the_centre_of_a_tall_background() -> None:
    out = cover_fit(thirds(100, 300, horizontal=False), (100, 100))
    assert out.shape == (100, 100, 3)
    assert np.all(out == (0, 255, 0))


def test_cover_fit_scales_up_a_small_background_to_cover() -> None:
    # 50x25 (2:1) into 100x100: scaled x4 to 200x100 and the centre 100 columns kept.
    src = np.zeros((25, 50, 3), np.uint8)
    src[:, :25] = (255, 0, 0)
    src[:, 25:] = (0, 0, 255)
    out = cover_fit(src, (100, 100))
    assert out.shape == (100, 100, 3)
    assert np.all(out[:, :45] == (255, 0, 0))
    assert np.all(out[:, 55:] == (0, 0, 255))


def test_cover_fit_scales_down_a_large_background() -> None:
    out = cover_fit(np.full((1000, 2000, 3), 77, np.uint8), (160, 120))
    assert out.shape == (120, 160, 3)
    assert out.flags["C_CONTIGUOUS"]
    assert np.all(out == 77)


def test_fitted_background_is_cached_per_image_and_size() -> None:
    image = noise(300, 400, seed=9)
    before = bg_mod._fitted.fits
    first = fitted_background(image, (160, 120))
    assert fitted_background(image, (160, 120)) is first
    assert bg_mod._fitted.fits == before + 1
    fitted_background(image, (80, 60))
    assert bg_mod._fitted.fits == before + 2
    fitted_background(image.copy(), (160, 120))  # another image: refitted
    assert bg_mod._fitted.fits == before + 3


def test_remove_transparent_uses_the_mask_as_alpha() -> None:
    rgb = noise()
    mask = np.random.default_rng(4).random((H, W), dtype=np.float32)
    out = compose(rgb, mask, EffectParams(effect="remove"))
    assert out.shape == (H, W, 4)
    assert np.array_equal(out[..., 3], np.round(mask * 255).astype(np.uint8))
    opaque = out[..., 3] == 255
    assert np.array_equal(out[..., :3][opaque], rgb[opaque])  # the person itself is untouched


def test_remove_with_a_colour_gives_a_solid_background() -> None:
    rgb, mask = noise(), hard_disc()
    out = compose(rgb, mask, EffectParams(effect="remove", color=(0, 177, 64)))
    assert out.shape == (H, W, 3)
    assert np.all(out[mask == 0.0] == (0, 177, 64))
    assert np.array_equal(out[mask == 1.0], rgb[mask == 1.0])


def test_mask_effect_returns_the_full_size_mask_as_uint8() -> None:
    mask = np.linspace(0, 1, H * W, dtype=np.float32).reshape(H, W)
    small = np.zeros((256, 256), np.float32)  # the refined small mask plays no part in the mask output
    out = compose(noise(), mask, EffectParams(effect="mask"), mask_small=small)
    assert out.dtype == np.uint8
    assert out.shape == (H, W)
    assert np.array_equal(out, np.round(mask * 255).astype(np.uint8))


def test_mask_effect_of_a_hard_mask() -> None:
    mask = hard_disc()
    out = compose(noise(), mask, EffectParams(effect="mask"))
    assert out.shape == (H, W)
    assert np.array_equal(out, (mask * 255).astype(np.uint8))


def test_load_background_reads_rgb(tmp_path: Path) -> None:
    rgb = noise(30, 40, seed=7)
    path = tmp_path / "bg.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    loaded = load_background(path)
    assert loaded.shape == (30, 40, 3)
    assert np.array_equal(loaded, rgb)


def test_a_half_transparent_background_shows_the_blurred_frame_through(tmp_path: Path) -> None:
    # A red PNG at alpha 128: behind the person, half red and half the blurred frame, not red on black.
    rgba = np.zeros((60, 80, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 128
    path = tmp_path / "overlay.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    back_img = load_background(path)
    assert back_img.shape == (60, 80, 4)
    rgb, mask = noise(), hard_disc()
    params = EffectParams(effect="replace", background=path, strength=40)
    out = compose(rgb, mask, params, background=back_img)
    behind = bg_mod.blurred_background(rgb, 40)
    expected = blend(np.full_like(rgb, (255, 0, 0)), behind, np.full((H, W), 128, np.uint8))
    far = (mask == 0.0) & (cv2.dilate(mask, np.ones((41, 41), np.uint8)) == 0.0)  # beyond the person's blur halo
    assert np.abs(out[far].astype(int) - expected[far]).max() <= 2
    assert out[far][:, 1:].mean() > 20  # not black where the overlay is translucent
    person = mask == 1.0
    assert np.array_equal(out[person], rgb[person])


def test_an_opaque_png_background_stays_rgb(tmp_path: Path) -> None:
    rgba = np.full((30, 40, 4), 255, np.uint8)
    path = tmp_path / "opaque.png"
    assert cv2.imwrite(str(path), rgba)
    assert load_background(path).shape == (30, 40, 3)


def _runs_reference(per_strip: np.ndarray, step: int, height: int) -> list[tuple[int, int, int, int]]:
    """The per-strip loop `blend_edges` ran before session 15 (soft columns, split at gaps over MERGE_GAP)."""
    out = []
    for index, strip_columns in enumerate(per_strip):
        columns = np.flatnonzero(strip_columns)
        if columns.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(columns) > bg_mod.MERGE_GAP)
        starts = columns[np.concatenate(([0], breaks + 1))]
        ends = columns[np.concatenate((breaks, [columns.size - 1]))] + 1
        y0, y1 = index * step, min(height, (index + 1) * step)
        out += [(y0, y1, int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_soft_runs_are_found_for_all_strips_at_once_as_strip_by_strip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    per_strip = np.zeros((13, 1280), np.uint8)
    for row in range(13):  # a few runs per strip, some a gap of exactly MERGE_GAP apart, one at each border
        for _ in range(rng.integers(0, 6)):
            x0 = int(rng.integers(0, 1270))
            per_strip[row, x0 : x0 + int(rng.integers(1, 40))] = 255
    per_strip[1, :5] = per_strip[1, 1275:] = 255
    per_strip[2] = 0
    per_strip[2, [100, 100 + bg_mod.MERGE_GAP, 101 + 2 * bg_mod.MERGE_GAP]] = 255  # merged, then split
    runs = bg_mod._runs(per_strip, 60, 770)
    assert runs == _runs_reference(per_strip, 60, 770)
    assert (120, 180, 100, 101 + bg_mod.MERGE_GAP) in runs and (120, 180, 101 + 2 * bg_mod.MERGE_GAP,
                                                                 102 + 2 * bg_mod.MERGE_GAP) in runs
    assert runs[-1][1] <= 770
    assert bg_mod._runs(np.zeros((12, 64), np.uint8), 60, 720) == []


def test_edge_only_blend_with_several_people_and_a_last_short_strip_is_bit_identical() -> None:
    small = np.zeros((151, 256), np.float32)
    for cx in (30, 90, 200):  # three people: several runs per strip, gaps over and under MERGE_GAP at full size
        small[40:140, cx - 12 : cx + 12] = 1.0
    alpha = bg_mod.to_alpha(upsample(cv2.GaussianBlur(small, (0, 0), 1.5), (755, 1280)))  # 755: a short last strip
    fg, back = noise(755, 1280, seed=3), noise(755, 1280, seed=4)
    assert 0 < np.count_nonzero((alpha > 0) & (alpha < 255)) < bg_mod.MAX_SOFT_FRACTION * alpha.size
    assert np.array_equal(blend_edges(fg, back.copy(), alpha), blend(fg, back, alpha))
