"""The frame's shared halvings (`core.halvings`): the same pixels as each step's own resize, computed once."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from grid_fakes import GridSegmenter

from desktop_app.core import halvings
from desktop_app.core.edges_full import fit_guide, refine_edges_half
from desktop_app.core.effects import background as bg_mod


def frame(h: int = 360, w: int = 640, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_a_shared_level_is_computed_once_and_equals_the_steps_own_resizes() -> None:
    rgb = frame()
    with halvings.shared(rgb):
        first = halvings.half(rgb)
        assert halvings.half(rgb) is first  # the second caller takes the same array
        assert halvings.is_shared(first) and halvings.half(first) is halvings.half(first)
        quarter = halvings.half(first)
    assert not halvings.is_shared(first)  # released with the block
    assert np.array_equal(first, cv2.resize(rgb, (320, 180), interpolation=cv2.INTER_AREA))  # the 2x2 average
    assert np.array_equal(quarter, cv2.resize(first, (160, 90), interpolation=cv2.INTER_AREA))


def test_the_edge_step_and_the_blur_share_the_half_frame_and_give_the_same_pixels() -> None:
    rgb = frame(720, 1280)
    alpha = np.zeros((144, 256), np.float32)
    alpha[30:130, 90:170] = 1.0
    alone_edges = refine_edges_half(rgb, alpha)
    alone_blur = bg_mod.blurred_background(rgb, 50, alpha).copy()
    made: list[tuple[int, int]] = []
    real_resize = cv2.resize

    def counting(image: np.ndarray, size: tuple[int, int], *args: object, **kwargs: object) -> np.ndarray:
        if image is rgb:
            made.append(size)
        return real_resize(image, size, *args, **kwargs)

    cv2.resize = counting
    try:
        with halvings.shared(rgb):
            edges = refine_edges_half(rgb, alpha)
            blur = bg_mod.blurred_background(rgb, 50, alpha)
    finally:
        cv2.resize = real_resize
    assert made == [(640, 360)]  # the frame halved once for both steps
    np.testing.assert_array_equal(edges, alone_edges)
    np.testing.assert_array_equal(blur, alone_blur)


def test_odd_sides_are_not_shared_and_keep_each_callers_own_resize() -> None:
    rgb = frame(361, 641)
    with halvings.shared(rgb):
        area = halvings.half(rgb, cv2.INTER_AREA)
        assert not halvings.is_shared(area)
        assert np.array_equal(area, cv2.resize(rgb, (320, 180), interpolation=cv2.INTER_AREA))
        assert np.array_equal(halvings.half(rgb), cv2.resize(rgb, (320, 180), interpolation=cv2.INTER_LINEAR))
    guide = fit_guide(frame(), (72, 128))  # outside a block: the step's own halvings, as before
    assert guide.shape == (72, 128, 3) and guide.dtype == np.float32


def test_blocks_do_not_nest() -> None:
    rgb = frame()
    with halvings.shared(rgb), pytest.raises(RuntimeError), halvings.shared(rgb):
        pass
    with halvings.shared(rgb):  # the failed block left the state as it was: a new block opens
        assert halvings.half(rgb) is halvings.half(rgb)


def test_a_live_best_frame_is_halved_once_for_the_edge_step_and_the_blur(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.frames import Frame
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline

    rgb = frame(720, 1280, seed=3)
    alpha = np.zeros((144, 256), np.float32)
    alpha[30:130, 90:170] = 1.0
    halved: list[tuple[int, int]] = []
    real_resize = cv2.resize

    def counting(image: np.ndarray, size: tuple[int, int], *args: object, **kwargs: object) -> np.ndarray:
        if image is rgb and tuple(size) == (640, 360):
            halved.append(size)
        return real_resize(image, size, *args, **kwargs)

    monkeypatch.setattr(cv2, "resize", counting)
    pipeline = Pipeline(GridSegmenter(alpha), EffectParams(effect="blur", live_quality="best"))
    for index in range(3):
        pipeline.process(Frame(rgb, index / 30, index, "cam"))
    assert halved == [(640, 360)] * 3  # one halving a frame (two before session 15: one per step)
    assert not halvings.is_shared(rgb)  # every frame's block closed
