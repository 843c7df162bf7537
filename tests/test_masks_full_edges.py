"""edges_full (the colour fast guided filter applied at the frame's full resolution) on synthetic frames with a
known edge, and its use in the pipeline for video frames."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from grid_fakes import GridSegmenter

from desktop_app.core import edges_full
from desktop_app.core.edges_full import (
    apply_coefficients,
    colour_coefficients,
    fit_guide,
    refine_edges_colour,
    refine_edges_full,
)
from desktop_app.core.frames import Frame
from desktop_app.core.masks import MaskRefiner, frame_threshold, refine_edges, soft_threshold, upsample
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline

GRID_H, GRID_W = 36, 64  # a small model grid (the fit runs at half of it: 18x32)
FRAME_H, FRAME_W = 180, 320  # 5x the grid
EDGE_X = 163  # the person: columns >= 163; not on a grid or fit-cell boundary
BACKGROUND = (40, 40, 40)
PERSON = (200, 180, 170)


def scene(offset: float = 0.8, person: tuple[int, int, int] = PERSON, background: tuple[int, int, int] = BACKGROUND
          ) -> tuple[np.ndarray, np.ndarray]:
    """A frame whose right part is the person, and a model-like alpha ramp (2 grid px wide) at the grid whose 0.5
    crossing sits `offset` grid px left of the true edge (4 frame px for 0.8)."""
    rgb = np.empty((FRAME_H, FRAME_W, 3), np.uint8)
    rgb[:, :EDGE_X] = background
    rgb[:, EDGE_X:] = person
    xs = np.arange(GRID_W, dtype=np.float32)
    alpha = np.clip((xs - (EDGE_X / 5 - 0.5 - offset)) / 2.0 + 0.5, 0, 1)
    return rgb, np.repeat(alpha[None, :], GRID_H, axis=0).astype(np.float32)


def crossing(row: np.ndarray) -> float:
    """Where `row` first reaches 0.5, linearly interpolated between pixel centres (pixel x's centre is x)."""
    i = int(np.argmax(row >= 0.5))
    if i == 0:
        return 0.0
    lo, hi = float(row[i - 1]), float(row[i])
    return i - 1 + (0.5 - lo) / (hi - lo)


@pytest.mark.parametrize("offset", [0.8, -0.8])
def test_the_edge_lands_on_the_frames_sharp_edge_within_half_a_pixel(offset: float) -> None:
    rgb, alpha = scene(offset)
    row = FRAME_H // 2
    assert abs(crossing(upsample(alpha, (FRAME_H, FRAME_W))[row]) - (EDGE_X - 0.5)) >= 3.5  # the model misses by 4
    out = refine_edges_full(rgb, alpha)
    assert out.shape == (FRAME_H, FRAME_W) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    # The true boundary lies between pixels EDGE_X - 1 and EDGE_X (x = EDGE_X - 0.5), in every row.
    assert all(abs(crossing(out[y]) - (EDGE_X - 0.5)) <= 0.5 for y in range(FRAME_H))
    # At the grid (the step before) it is a pixel or two off.
    grid = upsample(refine_edges(rgb, alpha), (FRAME_H, FRAME_W))
    assert abs(crossing(grid[row]) - (EDGE_X - 0.5)) > 0.5
    # Away from the edge (beyond the filter's window): exactly background and person.
    assert np.all(out[:, :EDGE_X - 40] == 0.0) and np.all(out[:, EDGE_X + 40:] == 1.0)


def test_a_colour_edge_without_a_grey_edge_is_found() -> None:
    """Person and background of the same grey level but different hue: the grey filter has nothing to snap to."""
    person, background = (200, 60, 60), (60, 115, 140)
    grey = cv2.cvtColor(np.array([[person, background]], np.uint8), cv2.COLOR_RGB2GRAY)[0]
    assert abs(int(grey[0]) - int(grey[1])) <= 2
    rgb, alpha = scene(0.8, person, background)
    out = refine_edges_full(rgb, alpha)
    assert abs(crossing(out[FRAME_H // 2]) - (EDGE_X - 0.5)) <= 0.5
    grid = upsample(refine_edges(rgb, alpha), (FRAME_H, FRAME_W))
    assert abs(crossing(grid[FRAME_H // 2]) - (EDGE_X - 0.5)) >= 3.0


def test_colour_coefficients_recover_an_exact_linear_alpha() -> None:
    """Where alpha is a linear function of the colour, the fit returns that function (the 3x3 inverse is right)."""
    rng = np.random.default_rng(0)
    guide = cv2.GaussianBlur(rng.random((40, 60, 3)).astype(np.float32), (0, 0), 1.0)
    a, b = np.array([0.8, -0.5, 0.3], np.float32), 0.2
    alpha = guide @ a + b
    coef = colour_coefficients(guide, alpha, radius=2, eps=1e-8)
    inner = coef[4:-4, 4:-4]
    assert np.allclose(inner[..., :3], a, atol=2e-3) and np.allclose(inner[..., 3], b, atol=2e-3)


def curved_scene(colour: tuple[int, int, int] = PERSON) -> tuple[np.ndarray, np.ndarray]:
    """A textured frame with a round person and the model's blurry, shifted guess of it at the grid."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W]
    person = (yy - 100) ** 2 + (xx - 150) ** 2 < 70 ** 2
    rgb = np.where(person[..., None], np.array(colour, np.uint8), np.array(BACKGROUND, np.uint8))
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    small = cv2.resize(np.roll(person, 4, axis=1).astype(np.float32), (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
    return rgb, soft_threshold(cv2.GaussianBlur(small, (0, 0), 1.0), 0.5, 0.3)


@pytest.mark.parametrize("size", [(FRAME_H, FRAME_W), (171, 333)])
def test_the_band_only_result_is_the_whole_frames(size: tuple[int, int]) -> None:
    """Computing only the edge band's tiles at full size gives the whole-frame computation's mask (and exactly
    it where the tiles do not fit the frame: 171x333 falls back to the whole frame)."""
    rgb, alpha = curved_scene()
    rgb = cv2.resize(rgb, size[::-1], interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(alpha, (GRID_W // 2, GRID_H // 2), interpolation=cv2.INTER_AREA)
    guide = fit_guide(rgb, small.shape)
    coef = colour_coefficients(guide, small)
    band, whole = apply_coefficients(rgb, coef, guide), apply_coefficients(rgb, coef, guide, band_only=False)
    assert band.shape == whole.shape == size
    assert np.count_nonzero((band >= 0.5) != (whole >= 0.5)) <= 2
    assert np.mean(np.abs(band - whole)) < 2e-3
    assert np.array_equal(refine_edges_full(rgb, alpha), band)


def test_band_tiles_are_computed_at_full_size_and_the_rest_is_constant(monkeypatch: pytest.MonkeyPatch) -> None:
    rgb, alpha = curved_scene()
    calls: list[int] = []
    original = edges_full._alpha

    def counting(a: np.ndarray, b: np.ndarray, frame: np.ndarray) -> np.ndarray:
        calls.append(frame.shape[0] * frame.shape[1])
        return original(a, b, frame)

    monkeypatch.setattr(edges_full, "_alpha", counting)
    out = refine_edges_full(rgb, alpha)
    assert len(calls) == 1 and calls[0] < 0.6 * FRAME_H * FRAME_W  # the band, not the frame
    soft = (out > 0.0) & (out < 1.0)
    assert soft.any() and np.count_nonzero(soft) < 0.2 * out.size


def test_flat_frames_and_tiny_frames() -> None:
    _, alpha = scene()
    flat = np.full((FRAME_H, FRAME_W, 3), 120, np.uint8)
    out = refine_edges_full(flat, alpha)  # nothing to snap to: the alpha, locally averaged, its edge where it was
    assert abs(crossing(out[FRAME_H // 2]) - crossing(upsample(alpha, (FRAME_H, FRAME_W))[FRAME_H // 2])) <= 1.0
    assert np.all(out[:, :100] == 0.0) and np.all(out[:, 230:] == 1.0)
    tiny = np.zeros((10, 20, 3), np.uint8)
    assert np.array_equal(refine_edges_full(tiny, alpha), alpha)


def full_edges(pipeline: Pipeline) -> Pipeline:
    pipeline.full_edges = True
    return pipeline


def test_pipeline_uses_full_size_edges_for_video_frames_when_asked() -> None:
    rgb, alpha = scene()
    params = EffectParams(effect="blur", feather=0.3, smoothing=0.0, quality="fast", live_quality="fast")
    video = full_edges(Pipeline(GridSegmenter(alpha), params)).process(Frame(rgb, 0.0, 0, "clip")).mask
    live = Pipeline(GridSegmenter(alpha), params).process(Frame(rgb, 0.0, 0, "clip")).mask  # live fast: the grid
    still = full_edges(Pipeline(GridSegmenter(alpha), params, temporal=False)).process(Frame(rgb, 0.0, 0, "s")).mask
    assert video is not None and live is not None and still is not None
    refined = soft_threshold(alpha, frame_threshold(0.5), 0.3)  # as video and live frames count
    assert np.array_equal(video, refine_edges_full(rgb, refined))
    assert np.array_equal(live, upsample(refine_edges_colour(rgb, refined), (FRAME_H, FRAME_W)))
    # stills: the threshold as it is, no edge step at all
    assert np.array_equal(still, upsample(soft_threshold(alpha, 0.5, 0.3), (FRAME_H, FRAME_W)))
    assert abs(crossing(video[FRAME_H // 2]) - (EDGE_X - 0.5)) <= 0.5


def test_the_video_file_paths_take_full_size_edges() -> None:
    """The CLI's and the window's video exports (not live) turn the full-resolution edges on."""
    import inspect

    from desktop_app import cli
    from desktop_app.core.batch_pipeline import spares
    from desktop_app.ui.exports import pipeline_for_batch

    segmenter, params = GridSegmenter(scene()[1]), EffectParams(effect="blur")
    exported = pipeline_for_batch(segmenter, params)
    spare = spares(segmenter, params)()  # an extra batch worker's pipeline
    assert isinstance(exported, Pipeline) and exported.full_edges
    assert isinstance(spare, Pipeline) and spare.full_edges
    assert "Batch(batch_pipeline(segmenter, params)" in inspect.getsource(cli)
    assert "spare=spares(segmenter, params)" in inspect.getsource(cli)


def changed(masks: list[np.ndarray]) -> float:
    return float(np.mean([np.count_nonzero((a >= 0.5) != (b >= 0.5)) for a, b in itertools.pairwise(masks)]))


def test_noisy_still_scene_is_steadier_with_the_gate_and_the_edge_stays_on_the_frames() -> None:
    rgb, alpha = curved_scene((90, 80, 75))  # a low-contrast edge, and fresh sensor-like noise every frame
    rng = np.random.default_rng(5)
    frames = [np.clip(rgb + rng.normal(0.0, 12.0, rgb.shape), 0, 255).astype(np.uint8) for _ in range(24)]

    def run(gated: bool) -> list[np.ndarray]:
        pipeline = full_edges(Pipeline(GridSegmenter(alpha), EffectParams(effect="blur", feather=0.3, smoothing=0.5,
                                                                          quality="fast")))
        if not gated:
            pipeline._refiner.previous_full = lambda shape: None  # type: ignore[method-assign]
        # The gate alone: W39b's speck step would also drop the noise's own specks (tests/test_specks.py).
        pipeline._refiner.despeckle = lambda alpha, grid=None: alpha  # type: ignore[method-assign]
        return [pipeline.process(Frame(f, i / 30.0, i, "clip")).mask for i, f in enumerate(frames)]

    steady, plain = run(True), run(False)
    assert changed(plain) > 20  # the filter follows the noise at full size ...
    assert changed(steady) < 0.7 * changed(plain)  # ... the gate against the last result holds it still
    clean = refine_edges_full(rgb, alpha)
    assert np.count_nonzero((steady[-1] >= 0.5) != (clean >= 0.5)) < 0.01 * clean.size


def test_steady_full_keeps_the_last_result_only_with_smoothing() -> None:
    refiner = MaskRefiner(smoothing=0.5)
    out = np.zeros((4, 6), np.float32)
    assert refiner.previous_full((4, 6)) is None
    assert refiner.steady_full(out) is out
    assert refiner.previous_full((4, 6)) is out
    assert refiner.previous_full((5, 6)) is None  # another size: no history
    refiner.reset()
    assert refiner.previous_full((4, 6)) is None
    off = MaskRefiner(smoothing=0.0)
    off.steady_full(out)
    assert off.previous_full((4, 6)) is None
