"""core.specks (W39b): specks dropped, small holes filled, people and hands kept; and the pipeline's use of it."""

from __future__ import annotations

import numpy as np
import pytest
from grid_fakes import GridSegmenter

from desktop_app.core.frames import Frame
from desktop_app.core.masks import MaskRefiner
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.specks import SpeckFilter

H, W = 144, 256  # the landscape model's grid: SPECK_OF_FRAME's bound is 0.001 * 36864 = 36.9 cells


def person_alpha() -> np.ndarray:
    """A person of ~6000 cells (a head and a body) with a soft one-cell rim, touching the bottom edge."""
    alpha = np.zeros((H, W), np.float32)
    alpha[60:, 90:160] = 1.0  # body, 84 x 70
    alpha[25:60, 110:140] = 1.0  # head
    return alpha


def test_a_speck_is_dropped_with_its_soft_rim_and_the_person_kept() -> None:
    alpha = person_alpha()
    alpha[20:24, 20:24] = 0.9  # a 16-cell speck on the background
    alpha[19, 20:24] = 0.3  # its soft rim
    out = SpeckFilter().clean(alpha)
    assert np.all(out[18:26, 18:26] == 0.0)
    np.testing.assert_array_equal(out[:, 60:], alpha[:, 60:])  # the person as it was
    assert alpha[20, 20] == np.float32(0.9)  # the input is not modified


def test_two_people_of_very_different_sizes_are_both_kept() -> None:
    alpha = person_alpha()
    alpha[100:112, 220:226] = 1.0  # a far person of 72 cells: 1.2% of the near one, 0.2% of the frame
    out = SpeckFilter().clean(alpha)
    np.testing.assert_array_equal(out, alpha)


def test_a_detached_hand_of_a_plausible_size_is_kept() -> None:
    """A raised hand cut off from the arm: 7x7 = 49 cells (0.8% of the person, 0.13% of the frame) stays; the rule is
    that a piece goes only when it is under 2% of the largest AND under 0.1% of the frame."""
    alpha = person_alpha()
    alpha[30:37, 170:177] = 1.0
    np.testing.assert_array_equal(SpeckFilter().clean(alpha), alpha)


def test_a_hole_under_a_grid_cell_is_filled_but_a_cell_a_big_one_and_a_gap_open_to_the_border_are_not() -> None:
    """At full resolution (here 4x4 pixels a grid cell) a pinhole smaller than a cell is the edge step's and is filled;
    a hole of a cell or more is the model's own (a gap between a small person's legs), so at the grid none is."""
    alpha = np.repeat(np.repeat(person_alpha(), 4, 0), 4, 1)
    alpha[320:323, 480:483] = 0.0  # a 3x3 pinhole in the body: 9 px, under a cell (16 px)
    alpha[360:365, 400:405] = 0.0  # a 5x5 hole: 25 px, over a cell
    alpha[400:520, 380:460] = 0.0  # an opening between an arm and the body: real background
    alpha[480:, 600:620] = 0.0  # a notch open to the frame's bottom edge
    out = SpeckFilter().clean(alpha, cell_area=16.0)
    assert np.all(out[320:323, 480:483] == 1.0)
    assert np.all(out[360:365, 400:405] == 0.0)
    assert np.all(out[401:519, 381:459] == 0.0) and np.all(out[481:, 601:619] == 0.0)
    grid = person_alpha()
    grid[80:81, 120:121] = 0.0  # a one-cell hole at the grid stays
    np.testing.assert_array_equal(SpeckFilter().clean(grid), grid)


def test_a_piece_kept_last_frame_stays_at_half_the_size_a_new_one_does_not() -> None:
    big, small = person_alpha(), person_alpha()
    big[20:27, 20:26] = 1.0  # 42 cells: over the bound (36.9), kept
    small[20:25, 20:25] = 1.0  # 25 cells: under the bound, over half of it
    speck = SpeckFilter()
    assert np.all(speck.clean(big)[20:27, 20:26] == 1.0)
    assert np.all(speck.clean(small)[20:25, 20:25] == 1.0)  # it was kept: it stays (no blinking)
    speck.reset()
    assert np.all(speck.clean(small)[20:25, 20:25] == 0.0)  # new at that size: a speck
    tiny = person_alpha()
    tiny[20:23, 20:23] = 1.0  # 9 cells: under half the bound, dropped even though it was there
    speck.clean(big)
    assert np.all(speck.clean(tiny)[20:23, 20:23] == 0.0)


def test_nothing_to_clean_returns_the_alpha_unchanged() -> None:
    alpha = person_alpha()
    assert SpeckFilter().clean(alpha) is alpha
    empty = np.zeros((H, W), np.float32)
    assert SpeckFilter().clean(empty) is empty


def frame_and_model() -> tuple[np.ndarray, np.ndarray]:
    """A frame 4x the grid showing the person (flat colours) and a model output with a speck on the background that
    the picture gives no reason for (a bright 5x5 patch under it, the kind of false patch a cup makes)."""
    person = person_alpha()
    rgb = np.full((H * 4, W * 4, 3), (40, 100, 200), np.uint8)
    rgb[np.repeat(np.repeat(person, 4, 0), 4, 1) >= 0.5] = (180, 60, 40)
    rgb[80:100, 80:100] = (230, 230, 230)
    model = person.copy()
    model[20:25, 20:25] = 0.95
    return rgb, model


@pytest.mark.parametrize("full_edges", [False, True])
def test_the_pipeline_drops_the_models_speck_live_and_for_video_files(full_edges: bool) -> None:
    """Fails on the pipeline before W39b (no speck step): the speck is in its mask at the frame's size."""
    rgb, model = frame_and_model()
    pipeline = Pipeline(GridSegmenter(model), EffectParams(effect="blur", smoothing=0.5, quality="fast"))
    pipeline.full_edges = full_edges
    for i in range(3):
        mask = pipeline.process(Frame(rgb, i / 30, i, "clip")).mask
        assert mask is not None
        # the speck and its soft rim are gone: nothing of them reaches the 8-bit output (live's colour edges leave a
        # trace under 0.001 beside the dropped rim)
        assert mask[70:110, 70:110].max() < 0.5 / 255, i
        assert mask[400:, 400:600].min() == 1.0, i  # the person is there


def test_a_still_has_no_speck_memory() -> None:
    """With smoothing 0 (photos) a piece under the bound is dropped even after one over it was kept; with smoothing
    on (video) it stays."""
    big, small = person_alpha(), person_alpha()
    big[20:27, 20:26] = 1.0
    small[20:25, 20:25] = 1.0
    for smoothing, kept in ((0.0, False), (0.5, True)):
        refiner = MaskRefiner(smoothing=smoothing)
        assert np.all(refiner.despeckle(big)[20:27, 20:26] == 1.0)
        assert np.all(refiner.despeckle(small)[20:25, 20:25] == float(kept)), smoothing
        refiner.reset()
        assert np.all(refiner.despeckle(small)[20:25, 20:25] == 0.0)  # reset: a new source has no memory


def test_the_refiner_fills_pinholes_only_given_the_models_grid() -> None:
    """`despeckle(alpha, grid)` (the video files' full-resolution edges) knows a cell's size; at the grid (live) no
    hole is filled."""
    alpha = np.repeat(np.repeat(person_alpha(), 4, 0), 4, 1)
    alpha[320:323, 480:483] = 0.0
    refiner = MaskRefiner(smoothing=0.5)
    assert np.all(refiner.despeckle(alpha, (H, W))[320:323, 480:483] == 1.0)
    refiner.reset()
    assert np.all(refiner.despeckle(alpha)[320:323, 480:483] == 0.0)
