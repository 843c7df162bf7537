"""The background plate (core.plate) on synthetic clips whose right answer is known: a dark disc (the person)
moving over a textured background, with a matte that misses its rim or takes background with it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.plate import BackgroundPlate, track_shift, translate

H, W, R = 540, 720, 110


def texture(seed: int, width: int = W) -> np.ndarray:
    """A grass-like RGB texture (smoothed noise, strong local contrast), uint8."""
    noise = np.random.default_rng(seed).uniform(60, 230, (H, width, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5) * 1.6 - 100, 0, 255).astype(np.uint8)


def disc(cx: float, cy: float, r: float) -> np.ndarray:
    """A disc's coverage per pixel (anti-aliased, 0-1 float32)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.clip(r + 0.5 - np.hypot(xx - cx, yy - cy), 0.0, 1.0)


def clip(n: int = 24, matte_off: float = -4.0, pan: int = 0, cut_at: int | None = None, drift: float = 0.0
         ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(frame, truth, matte) per frame: the disc moves right 6 px a frame (the camera pans `pan` px a frame);
    the matte is the disc `matte_off` px larger (negative: it misses the rim) with a 2 px ramp."""
    wide = texture(1, W + abs(pan) * n + 1)
    other = texture(2, W + abs(pan) * n + 1)
    out = []
    for t in range(n):
        cx, cy = 220 + 6 * t, 300
        x0 = pan * t if pan >= 0 else abs(pan) * (n - t)
        back = (other if cut_at is not None and t >= cut_at else wide)[:, x0:x0 + W].astype(np.float32)
        if drift:  # the camera moves by `drift` px a frame: a fraction of a pixel at a time
            move = np.float32([[1, 0, drift * t], [0, 1, 0]])
            back = cv2.warpAffine(back, move, (W, H), borderMode=cv2.BORDER_REFLECT)
        cover = disc(cx, cy, R)
        frame = back * (1 - cover[..., None]) + np.float32([35, 28, 25]) * cover[..., None]
        matte = np.clip((R + matte_off + 1.0 - np.hypot(*np.mgrid[0:H, 0:W] - np.array([cy, cx])[:, None, None]))
                        / 2.0, 0, 1).astype(np.float32)
        out.append((np.clip(frame + 0.5, 0, 255).astype(np.uint8), cover >= 0.5, matte))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def run(frames: list[tuple[np.ndarray, np.ndarray, np.ndarray]], plate: BackgroundPlate | None = None
        ) -> list[np.ndarray]:
    plate = plate or BackgroundPlate()
    return [plate.refine(rgb, matte) for rgb, _, matte in frames]


def test_translate_moves_by_whole_pixels_and_fills_zeros() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    moved = translate(a, 1, -1)
    assert moved[0, 1] == a[1, 0] and moved[1, 3] == a[2, 2]
    assert (moved[:, 0] == 0).all() and (moved[2] == 0).all()
    assert not translate(a, 9, 0).any()


def test_track_shift_finds_a_pan_and_refuses_noise() -> None:
    grey = cv2.cvtColor(texture(3, W + 20), cv2.COLOR_RGB2GRAY)
    dx, dy = track_shift(grey[:, 10:10 + W], grey[:, 6:6 + W], None) or (99.0, 99.0)
    assert abs(dx - 4) < 0.3 and abs(dy) < 0.3  # the picture moved 4 px right
    unrelated = cv2.cvtColor(texture(4), cv2.COLOR_RGB2GRAY)
    assert track_shift(grey[:, :W], unrelated, None) is None


def test_the_first_frame_and_a_still_person_keep_the_matte() -> None:
    """Nothing the plate has not seen is decided: frame 0 is the matte itself; a person who never moves keeps
    every pixel of the matte's outline (only background pixels the plate saw may be cleared)."""
    frames = clip(n=1)
    rgb, _, matte = frames[0]
    assert np.array_equal(BackgroundPlate().refine(rgb, matte), matte)
    still = [frames[0]] * 8
    for out in run(still):
        assert np.array_equal(out >= 0.5, matte >= 0.5)


def test_the_rim_the_matte_missed_is_found_once_the_person_moves() -> None:
    frames = clip(matte_off=-4.0)
    outs = run(frames)
    before = [iou(m >= 0.5, t) for _, t, m in frames[12:]]
    after = [iou(o >= 0.5, t) for o, (_, t, _) in zip(outs[12:], frames[12:], strict=True)]
    assert np.mean(before) < 0.935 and np.mean(after) > 0.965  # the trailing edge was never seen
    # the leading edge (right), where the plate saw the background just before, lies on the truth
    _, truth, _ = frames[-1]
    row = outs[-1][300] >= 0.5
    assert abs(int(np.nonzero(row)[0].max()) - int(np.nonzero(truth[300])[0].max())) <= 1


def test_background_the_matte_took_is_cleared() -> None:
    frames = clip(matte_off=3.0)
    outs = run(frames)
    for out, (_, truth, matte) in zip(outs[12:], frames[12:], strict=True):
        kept_before = float((matte * ~truth).sum())
        kept_after = float((out * ~truth).sum())
        assert kept_after < 0.65 * kept_before  # the leading half: the trailing one was never seen
        assert (out[truth] >= 0.5).mean() > 0.995  # the person itself is kept


@pytest.mark.parametrize("pan, drift", [(5, 0.0), (-3, 0.0), (0, 0.37), (0, 1.3)])
def test_a_pan_is_followed(pan: int, drift: float) -> None:
    """Whole-pixel pans both ways, a slow pan (0.37 px a frame) and one off whole pixels (1.3): the plate moves by
    whole pixels and the frame is compared where it sits on it, so the rim is found in every case."""
    frames = clip(matte_off=-4.0, pan=pan, drift=drift)
    plate = BackgroundPlate()
    outs = run(frames, plate)
    assert plate.drops == 0
    after = [iou(o >= 0.5, t) for o, (_, t, _) in zip(outs[12:], frames[12:], strict=True)]
    assert np.mean(after) > 0.96


def test_a_cut_drops_the_plate_and_takes_nothing_of_the_person() -> None:
    frames = clip(matte_off=-4.0, cut_at=14)
    plate = BackgroundPlate()
    outs = run(frames, plate)
    assert plate.drops >= 1
    for out, (_, truth, matte) in zip(outs[14:17], frames[14:17], strict=True):
        assert iou(out >= 0.5, truth) >= iou(matte >= 0.5, truth) - 1e-6


def test_the_pipeline_decides_video_files_against_the_plate_and_forgets_it_on_reset() -> None:
    class Flat:
        def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
            return np.zeros((64, 64), np.float32), {}

    frames = clip(n=3)
    pipeline = Pipeline(Flat(), EffectParams(effect="blur", quality="best"), temporal=True)
    pipeline.full_edges = True
    plate = pipeline._refiner.plate
    for i, (rgb, _, _) in enumerate(frames):
        pipeline.process(Frame(rgb, i / 30.0, i, "clip"))
    assert plate._seen is not None and plate._seen.any()
    pipeline.reset()
    pipeline.process(Frame(frames[0][0], 0.0, 0, "clip"))
    assert int(plate._seen.max()) == 1  # learned again from the one frame since the reset


def test_a_large_frame_is_decided_at_the_working_size() -> None:
    """Over WORK_SIDE the band is decided on a shrunk copy and the change upsampled: the rim is still found, and
    where nothing changed the alpha is the input's to the bit."""
    big = [(cv2.resize(rgb, (2 * W, 2 * H), interpolation=cv2.INTER_LINEAR),
            cv2.resize(truth.astype(np.uint8), (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST) > 0,
            cv2.resize(matte, (2 * W, 2 * H), interpolation=cv2.INTER_LINEAR))
           for rgb, truth, matte in clip(n=14, matte_off=-4.0)]
    assert max(big[0][0].shape) > 1280
    outs = run(big)
    assert np.array_equal(outs[0], big[0][2])
    before = np.mean([iou(m >= 0.5, t) for _, t, m in big[10:]])
    after = np.mean([iou(o >= 0.5, t) for o, (_, t, _) in zip(outs[10:], big[10:], strict=True)])
    assert after > before + 0.02
    far = cv2.dilate(big[-1][1].astype(np.uint8), np.ones((61, 61), np.uint8)) == 0
    assert np.array_equal(outs[-1][far], big[-1][2][far])


def test_an_alpha_not_the_frames_size_is_left_alone() -> None:
    """A frame smaller than the model's grid keeps the grid-sized alpha (the corpus's 64x48 clip did this)."""
    rgb = np.zeros((48, 64, 3), np.uint8)
    alpha = np.ones((256, 256), np.float32)
    plate = BackgroundPlate()
    for _ in range(3):
        assert plate.refine(rgb, alpha) is alpha


def test_a_plate_not_seen_for_max_age_frames_decides_nothing() -> None:
    """Background seen long ago (the light may have changed since) is no longer trusted: the rim the plate found
    while the person moved goes back to the matte's once they have stood still over MAX_AGE frames."""
    from desktop_app.core.plate import MAX_AGE

    moving = clip(n=13, matte_off=-4.0)
    plate = BackgroundPlate()
    run(moving, plate)
    rgb, truth, matte = moving[-1]
    soon = plate.refine(rgb, matte)
    assert iou(soon >= 0.5, truth) > iou(matte >= 0.5, truth) + 0.01  # still decided a few frames later
    for _ in range(MAX_AGE):
        late = plate.refine(rgb, matte)
    assert np.array_equal(late >= 0.5, matte >= 0.5)


def test_see_through_hair_the_matte_took_is_lowered_to_what_its_colour_says() -> None:
    """A ring of strands 30% over the background just outside the disc, which the matte takes whole: where the
    plate saw the background, the ring's alpha becomes its colour's place between plate and person (about 0.3),
    below the matte's, so a gap between curls is not counted as person."""
    frames = []
    for t, (rgb, truth, matte) in enumerate(clip(matte_off=3.0)):
        ring = (disc(220 + 6 * t, 300, R + 3) >= 0.5) & ~truth
        hazed = rgb.astype(np.float32)
        hazed[ring] = 0.3 * np.float32([35, 28, 25]) + 0.7 * hazed[ring]
        frames.append((np.clip(hazed + 0.5, 0, 255).astype(np.uint8), ring, matte))
    outs = run(frames)
    xx = np.mgrid[0:H, 0:W][1]
    for t in range(12, len(frames)):
        ring, matte = frames[t][1], frames[t][2]
        leading = ring & (xx > 220 + 6 * t + 20)  # where the plate saw the background before the disc came
        assert (matte[leading] >= 0.5).all()
        assert (outs[t][leading] < 0.5).mean() > 0.8, t


class DiscSegmenter:
    """The model's grid: the disc's probability (sharp), whatever the frame."""

    spec = None

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        return cv2.resize(disc(300, 270, R), (W // 4, H // 4), interpolation=cv2.INTER_AREA), {}


def test_the_plates_decisions_pass_the_mattes_change_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plate whose estimate moves a little every frame (sensor noise) does not move a still person's edge: its
    decisions go through the matte's change gate (noisy tune clip, still frames: flicker 0.00209 -> 0.00174)."""
    calls: list[int] = []

    def jittery(self: BackgroundPlate, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        calls.append(1)
        soft = (alpha > 0.05) & (alpha < 0.95)
        return np.clip(alpha + soft * (0.04 if len(calls) % 2 else -0.04), 0, 1).astype(np.float32)

    monkeypatch.setattr(BackgroundPlate, "refine", jittery)
    rgb = clip(n=1)[0][0]
    pipe = Pipeline(DiscSegmenter(), EffectParams(effect="blur", quality="best"), temporal=True)
    pipe.full_edges = True
    masks = [pipe.process(Frame(rgb, i / 30.0, i, "clip")).mask for i in range(8)]
    assert len(calls) == 8
    last, before = masks[-1], masks[-2]
    assert last is not None and before is not None
    band = (last > 0.1) & (last < 0.9)
    # a +-0.04 swing each frame: 0.08 between frames ungated, about a third of that through the gate's average
    assert band.sum() > 100 and float(np.median(np.abs(last - before)[band])) < 0.05
