"""masks.refine_edges (live edge refinement) and its use in the pipeline, on synthetic frames with a known edge."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from grid_fakes import GridSegmenter

from desktop_app.core.edges_full import refine_edges_colour
from desktop_app.core.frames import Frame
from desktop_app.core.masks import frame_threshold, refine_edges, soft_threshold, upsample
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline

GRID_H, GRID_W = 36, 64  # a small model grid
FRAME_H, FRAME_W = 180, 320  # 5x the grid
EDGE_X = 161  # the person's edge in the frame: columns >= 161 (grid position 32.2)


def scene(offset: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """A frame whose right part (the person) is bright, and a model-like alpha ramp (2 grid px wide) whose 0.5
    crossing sits `offset` grid px left of the true edge (4 frame px for 0.8: a model's typical miss)."""
    rgb = np.full((FRAME_H, FRAME_W, 3), 40, np.uint8)
    rgb[:, EDGE_X:] = (200, 180, 170)
    xs = np.arange(GRID_W, dtype=np.float32)
    alpha = np.clip((xs - (EDGE_X / 5 - 0.5 - offset)) / 2.0 + 0.5, 0, 1)
    return rgb, np.repeat(alpha[None, :], GRID_H, axis=0).astype(np.float32)


def first_person_column(mask: np.ndarray) -> int:
    """The leftmost column counted as person (>= 0.5) in the middle row."""
    return int(np.argmax(mask[mask.shape[0] // 2] >= 0.5))


@pytest.mark.parametrize("offset", [0.8, -0.8])
def test_refine_edges_snaps_the_edge_to_the_frame(offset: float) -> None:
    rgb, alpha = scene(offset)
    plain = upsample(alpha, (FRAME_H, FRAME_W))
    assert abs(first_person_column(plain) - EDGE_X) >= 4  # the model's edge misses by 4 frame px
    # Applied at the grid (the default) or at 2.5x it (half this frame): within 2 frame px of the true edge ...
    snapped = upsample(refine_edges(rgb, alpha), (FRAME_H, FRAME_W))
    assert abs(first_person_column(snapped) - EDGE_X) <= 2
    mid = refine_edges(rgb, alpha, scale=2.5)
    assert mid.shape == (90, 160)
    assert abs(first_person_column(upsample(mid, (FRAME_H, FRAME_W))) - EDGE_X) <= 2
    # ... and applied at the frame's own size, on it.
    full = refine_edges(rgb, alpha, scale=FRAME_W / GRID_W)
    assert full.shape == (FRAME_H, FRAME_W)
    assert abs(first_person_column(full) - EDGE_X) <= 1
    assert snapped.dtype == np.float32
    assert snapped.min() >= 0.0 and snapped.max() <= 1.0


def test_refine_edges_output_size_and_flat_frames() -> None:
    rgb, alpha = scene()
    out = refine_edges(rgb, alpha, scale=2.5)
    assert out.shape == (round(GRID_H * 2.5), round(GRID_W * 2.5))
    assert refine_edges(rgb, alpha, scale=10).shape == (FRAME_H, FRAME_W)  # never larger than the frame
    # A flat frame has no edge to follow: the alpha comes back (locally averaged), its edge where it was.
    flat = np.full_like(rgb, 120)
    smooth = upsample(refine_edges(flat, alpha), (FRAME_H, FRAME_W))
    assert abs(first_person_column(smooth) - first_person_column(upsample(alpha, (FRAME_H, FRAME_W)))) <= 1
    assert np.allclose(smooth[:, :100], 0.0, atol=1e-4) and np.allclose(smooth[:, 220:], 1.0, atol=1e-4)
    # A frame smaller than the grid is left alone.
    tiny = np.zeros((10, 20, 3), np.uint8)
    assert np.array_equal(refine_edges(tiny, alpha), alpha)


def test_pipeline_snaps_edges_for_video_but_not_for_stills_or_the_mask_effect() -> None:
    rgb, alpha = scene()
    # fast: stills take the plain path; live frames the grid step
    params = EffectParams(effect="blur", feather=0.3, smoothing=0.0, quality="fast", live_quality="fast")
    video = Pipeline(GridSegmenter(alpha), params).process(Frame(rgb, 0.0, 0, "clip")).mask
    still = Pipeline(GridSegmenter(alpha), params, temporal=False).process(Frame(rgb, 0.0, 0, "still")).mask
    assert video is not None and still is not None
    refined = soft_threshold(alpha, frame_threshold(0.5), 0.3)  # video frames: masks.frame_threshold
    assert np.array_equal(video, upsample(refine_edges_colour(rgb, refined), (FRAME_H, FRAME_W)))
    # stills: the threshold as it is, and the plain upsample
    assert np.array_equal(still, upsample(soft_threshold(alpha, 0.5, 0.3), (FRAME_H, FRAME_W)))
    assert abs(first_person_column(video) - EDGE_X) < abs(first_person_column(still) - EDGE_X)
    probability = Pipeline(GridSegmenter(alpha), params.with_(effect="mask")).process(Frame(rgb, 0.0, 0, "clip"))
    assert probability.mask is not None
    assert np.array_equal(probability.mask, upsample(alpha, (FRAME_H, FRAME_W)))  # the probability, untouched


def noisy_frames(count: int, sigma: float, seed: int = 0) -> list[np.ndarray]:
    """`scene()`'s frame with fresh sensor-like noise every frame (the person sits still)."""
    rng = np.random.default_rng(seed)
    rgb, _ = scene()
    return [np.clip(rgb + rng.normal(0.0, sigma, rgb.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def changed_pixels(masks: list[np.ndarray]) -> float:
    """Mean count of pixels whose person/background decision changes from one frame to the next."""
    return float(np.mean([np.count_nonzero((a >= 0.5) != (b >= 0.5)) for a, b in itertools.pairwise(masks)]))


def test_still_noisy_scene_keeps_a_steady_mask_with_snapped_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The edge refinement fits against each noisy frame; `MaskRefiner.steady` averages that noise away again."""
    from desktop_app.core import masks

    # This scene's model puts the person's edge at probability 0.5 exactly: video frames count from 0.5 here
    # whatever masks.VIDEO_EDGE_PROBABILITY says (tested below).
    monkeypatch.setattr(masks, "VIDEO_EDGE_PROBABILITY", 0.5)
    _, alpha = scene()
    rng = np.random.default_rng(1)
    probs = [np.clip(alpha + rng.normal(0.0, 0.03, alpha.shape), 0, 1).astype(np.float32) for _ in range(30)]
    frames = noisy_frames(30, 12.0)

    def run(steady: bool) -> list[np.ndarray]:
        segmenter = GridSegmenter(probs[0])
        pipeline = Pipeline(segmenter, EffectParams(effect="blur", feather=0.3, smoothing=0.5, quality="fast",
                                                    live_quality="fast"))
        if not steady:  # the pipeline before: the refined edge straight to the upsample
            pipeline._refiner.steady = lambda a: a  # type: ignore[method-assign]
        out = []
        for i, (rgb, prob) in enumerate(zip(frames, probs, strict=True)):
            segmenter.mask = prob
            out.append(pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask)
        return out

    steady, plain = run(True), run(False)
    assert changed_pixels(plain) > 10  # the guided filter alone follows the noise ...
    assert changed_pixels(steady) < 0.75 * changed_pixels(plain)  # ... the gate holds it still
    # ... and the edge stays where the refinement puts it on the clean frame, row by row (not the model's).
    rgb, _ = scene()
    clean = Pipeline(GridSegmenter(alpha), EffectParams(effect="blur", feather=0.3, smoothing=0.5, quality="fast",
                                                        live_quality="fast"))
    unsnapped = Pipeline(GridSegmenter(alpha), clean.params)
    unsnapped.edges = False
    for i in range(6):
        target = clean.process(Frame(rgb, i / 30.0, i, "clip")).mask
        model = unsnapped.process(Frame(rgb, i / 30.0, i, "clip")).mask
    assert target is not None and model is not None
    assert first_person_column(target) != first_person_column(model)
    cols = np.array([np.argmax(mask >= 0.5, axis=1) for mask in steady[5:]])
    assert np.median(cols) == first_person_column(target)
    assert np.all(np.abs(cols - first_person_column(target)) <= 3)


def test_moving_edge_is_followed_without_lag() -> None:
    """An edge that jumps 20 frame px (4 grid px) a frame, frame and model together: each frame's mask has it
    where that frame has it, not where the history had it."""
    params = EffectParams(effect="blur", feather=0.3, smoothing=0.5, quality="fast")
    segmenter = GridSegmenter(scene()[1])
    pipeline = Pipeline(segmenter, params)
    for i, shift in enumerate(range(0, 100, 20)):
        rgb = np.full((FRAME_H, FRAME_W, 3), 40, np.uint8)
        rgb[:, EDGE_X - shift:] = (200, 180, 170)
        xs = np.arange(GRID_W, dtype=np.float32)
        segmenter.mask = np.repeat(np.clip((xs - ((EDGE_X - shift) / 5 - 0.5)) / 2.0 + 0.5, 0, 1)[None, :],
                                   GRID_H, axis=0).astype(np.float32)
        mask = pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask
        assert mask is not None
        assert abs(first_person_column(mask) - (EDGE_X - shift)) <= 2


def test_video_frames_count_the_users_threshold_where_the_models_outline_lies(monkeypatch: pytest.MonkeyPatch
                                                                               ) -> None:
    from desktop_app.core import masks

    assert frame_threshold(0.5) == masks.VIDEO_EDGE_PROBABILITY == 0.5  # since session 20: the threshold itself
    monkeypatch.setattr(masks, "VIDEO_EDGE_PROBABILITY", 0.4)  # the knee as session 15 set it, still supported
    assert frame_threshold(0.5) == 0.4
    assert frame_threshold(0.0) == 0.0 and frame_threshold(1.0) == pytest.approx(1.0)
    assert frame_threshold(0.25) == pytest.approx(0.2) and frame_threshold(0.75) == pytest.approx(0.7)
    values = [frame_threshold(t) for t in np.linspace(0.0, 1.0, 21)]
    assert values == sorted(values)  # a higher threshold is never less strict
    rgb, _ = scene()
    prob = np.zeros((GRID_H, GRID_W), np.float32)
    prob[:, GRID_W // 2 :] = 0.9
    prob[:, GRID_W // 2 - 8 : GRID_W // 2] = 0.45  # a band the model is less sure of (a ring of hair)
    params = EffectParams(effect="blur", feather=0.0, smoothing=0.0, quality="fast", live_quality="fast")
    video = Pipeline(GridSegmenter(prob), params)
    video.edges = False  # the threshold alone
    still = Pipeline(GridSegmenter(prob), params, temporal=False)
    cell = FRAME_W // GRID_W
    band = (slice(None), slice((GRID_W // 2 - 6) * cell, (GRID_W // 2 - 2) * cell))
    video_mask, still_mask = (p.process(Frame(rgb, 0.0, 0, "clip")).mask for p in (video, still))
    assert video_mask is not None and still_mask is not None
    assert np.all(video_mask[band] >= 0.5)  # video and live frames: person from 0.4
    assert np.all(still_mask[band] < 0.5)  # photos: the threshold as it is
    strict = Pipeline(GridSegmenter(prob), params.with_(threshold=0.6))  # 0.6 -> 0.52: the band is background again
    strict.edges = False
    strict_mask = strict.process(Frame(rgb, 0.0, 0, "clip")).mask
    assert strict_mask is not None and np.all(strict_mask[band] < 0.5)


def test_a_photo_through_a_video_pipeline_keeps_the_users_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's batch runs photos through its video pipeline as stills (`process(frame, still=True)`), with the
    user's threshold even where video frames count from another probability (a knee of 0.4 here)."""
    from desktop_app.core import masks

    monkeypatch.setattr(masks, "VIDEO_EDGE_PROBABILITY", 0.4)
    rgb, _ = scene()
    prob = np.zeros((GRID_H, GRID_W), np.float32)
    prob[:, GRID_W // 2 - 8 :] = 0.45
    params = EffectParams(effect="blur", feather=0.0, smoothing=0.0, quality="fast", live_quality="fast")
    pipeline = Pipeline(GridSegmenter(prob), params, temporal=True, video=True)
    photo = pipeline.process(Frame(rgb, 0.0, 0, "photo.jpg"), still=True).mask
    frame = pipeline.process(Frame(rgb, 0.0, 0, "clip.mp4")).mask
    assert photo is not None and frame is not None
    assert np.all(photo < 0.5) and np.all(frame[:, -20:] >= 0.5)
