"""The quality setting: "best" sends still photos through `quality.segment_still`, "fast" and every live or video
frame through the per-frame path. A fake still segmenter proves which path ran."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core import quality as still_quality
from desktop_app.core.frames import Frame
from desktop_app.core.masks import soft_threshold, upsample
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import STILL_REFINE_LONG_SIDE, Pipeline
from desktop_app.core.safe_write import is_temp_name

H, W = 90, 120


class RightHalf:
    """The per-frame segmenter: a person on the right half of its 64x64 grid."""

    spec = None

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        self.calls += 1
        mask = np.zeros((64, 64), np.float32)
        mask[:, 32:] = 1.0
        return mask, {"resize": 0.0, "inference": 0.0}


class StillSpy:
    """Stands in for `quality.segment_still`: a person on the LEFT half, at the photo's full size."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, tuple[int, ...]]] = []

    def __call__(self, segmenter: object, rgb: np.ndarray, models: object = None) -> np.ndarray:
        self.calls.append((segmenter, rgb.shape))
        prob = np.zeros(rgb.shape[:2], np.float32)
        prob[:, : rgb.shape[1] // 2] = 0.8
        return prob


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> StillSpy:
    fake = StillSpy()
    monkeypatch.setattr(still_quality, "segment_still", fake)
    return fake


def photo(h: int = H, w: int = W) -> Frame:
    return Frame(np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8), 0.0, 0, "photo.jpg")


def photo_of_right_half(h: int = H, w: int = W) -> Frame:
    """`photo()` with the right half (RightHalf's person) brighter: the person is in the picture too (the live edge
    step follows the frame's colour edges; on pure noise it has none to follow)."""
    frame = photo(h, w)
    frame.pixels[...] = frame.pixels // 4
    frame.pixels[:, w // 2:] += 160
    return frame


def left_is_person(mask: np.ndarray) -> bool:
    w = mask.shape[1]
    return bool(mask[:, : w // 2 - 4].min() > 0.5 and mask[:, w // 2 + 4 :].max() < 0.5)


def right_is_person(mask: np.ndarray) -> bool:
    w = mask.shape[1]
    return bool(mask[:, w // 2 + 4 :].min() > 0.5 and mask[:, : w // 2 - 4].max() < 0.5)


@pytest.mark.parametrize("effect", ["blur", "remove", "replace", "mask"])
def test_best_stills_take_their_mask_from_segment_still(spy: StillSpy, effect: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    back = tmp_path / "back.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(back)
    seg = RightHalf()
    params = EffectParams(effect=effect, background=back if effect == "replace" else None, feather=0.0)
    result = Pipeline(seg, params, temporal=False).process(photo())
    assert len(spy.calls) == 1 and spy.calls[0] == (seg, (H, W, 3))
    assert seg.calls == 0  # the per-frame predict is not run on top
    assert result.mask is not None and result.mask.shape == (H, W)
    assert left_is_person(result.mask)
    if effect == "mask":  # the probability itself, never thresholded
        assert result.pixels.shape == (H, W) and int(result.pixels[0, 0]) == round(0.8 * 255)
    if effect == "remove":  # RGBA at full size, the left half opaque
        assert result.pixels.shape == (H, W, 4) and left_is_person(result.pixels[..., 3] / 255.0)


def test_a_temporal_pipeline_takes_the_best_path_only_for_frames_marked_still(spy: StillSpy) -> None:
    """Batch's images go through the video pipeline marked `still=True`; its video frames are not marked."""
    pipe = Pipeline(RightHalf(), EffectParams(feather=0.0, smoothing=0.0), temporal=True)
    assert left_is_person(pipe.process(photo(), still=True).mask)
    assert right_is_person(pipe.process(photo_of_right_half()).mask)
    assert len(spy.calls) == 1


@pytest.mark.parametrize("make", [
    lambda seg, params: Pipeline(seg, params, temporal=True),  # live, video
    lambda seg, params: Pipeline(seg, params, temporal=True, live=False),
    lambda seg, params: Pipeline(seg, params.with_(quality="fast"), temporal=False),  # a fast still
])
def test_live_video_and_fast_stills_never_take_the_still_path(spy: StillSpy, make) -> None:  # type: ignore[no-untyped-def]
    seg = RightHalf()
    result = make(seg, EffectParams(feather=0.0, smoothing=0.0)).process(photo_of_right_half())
    assert spy.calls == [] and seg.calls == 1
    assert right_is_person(result.mask)


def test_fast_stills_are_the_per_frame_path_exactly(spy: StillSpy) -> None:
    params = EffectParams(quality="fast", threshold=0.4, feather=0.5)
    result = Pipeline(RightHalf(), params, temporal=False).process(photo())
    expected = upsample(soft_threshold(RightHalf().predict(photo().pixels)[0], 0.4, 0.5), (H, W))
    np.testing.assert_array_equal(result.mask, expected)


def test_set_params_switches_quality_from_the_next_photo(spy: StillSpy) -> None:
    pipe = Pipeline(RightHalf(), EffectParams(quality="fast", feather=0.0), temporal=False)
    assert right_is_person(pipe.process(photo()).mask)
    pipe.set_params(pipe.params.with_(quality="best"))
    assert left_is_person(pipe.process(photo()).mask)


def test_best_refines_a_big_photo_small_and_matches_refining_at_full_size(spy: StillSpy) -> None:
    """Past STILL_REFINE_LONG_SIDE the threshold/feather runs on an area-averaged copy: the edge stays put."""
    h, w = 64, STILL_REFINE_LONG_SIDE * 2
    params = EffectParams(effect="blur", threshold=0.5, feather=0.4)
    pipeline = Pipeline(RightHalf(), params, temporal=False)
    pipeline.matting = False  # the refine's size alone (the matting that follows: tests/test_matting.py)
    result = pipeline.process(photo(h, w))
    full = soft_threshold(spy(None, np.zeros((h, w, 3), np.uint8)), 0.5, 0.4)
    assert result.mask.shape == (h, w)
    assert float(np.abs(result.mask - full).max()) < 0.02
    assert result.timings["inference"] >= 0.0 and set(result.timings) == {"resize", "inference", "mask", "compose"}


def test_best_blur_keeps_the_person_and_blurs_the_rest(spy: StillSpy) -> None:
    f = photo()
    result = Pipeline(RightHalf(), EffectParams(effect="blur", feather=0.0, strength=80), temporal=False).process(f)
    np.testing.assert_array_equal(result.pixels[:, : W // 2 - 8], f.pixels[:, : W // 2 - 8])
    assert np.abs(result.pixels[:, W // 2 + 8 :].astype(int) - f.pixels[:, W // 2 + 8 :]).mean() > 20


def test_the_real_segment_still_runs_through_the_pipeline() -> None:
    """No spy: the package's own function with the per-frame fake, any size down to a pixel."""
    for h, w in ((H, W), (1, 1), (8, 300)):
        result = Pipeline(RightHalf(), EffectParams(effect="remove"), temporal=False).process(photo(h, w))
        assert result.pixels.shape == (h, w, 4)


# ------------------------------------------------------------------------------------ the CLI, real model


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from desktop_app.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def inputs(tmp_path):  # type: ignore[no-untyped-def]
    from corpus import short_video, two_tone
    from PIL import Image

    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(two_tone(40, 30)).save(folder / "photo.png")
    return folder / "photo.png", short_video(folder, frames=5, size=(64, 48)).path


@pytest.mark.parametrize("quality", ["best", "fast"])
def test_cli_quality_reaches_the_photos_and_the_summary(
        quality: str, inputs, tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    real, calls = still_quality.segment_still, []

    def counting(segmenter, rgb, models=None):  # type: ignore[no-untyped-def]
        calls.append(rgb.shape)
        return real(segmenter, rgb, models=models)

    monkeypatch.setattr(still_quality, "segment_still", counting)
    photo_path, video = inputs
    code, stdout, _ = run_cli(capsys, "process", str(photo_path), str(video), "--quality", quality,
                              "--out", str(tmp_path / "out"))
    assert code == 0
    assert f"2 of 2 inputs processed (blur, {quality} quality for photos, " in stdout
    assert calls == ([(30, 40, 3)] if quality == "best" else [])  # the photo only: video frames never


def test_cli_quality_is_checked(inputs, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code, _, stderr = run_cli(capsys, "process", str(inputs[0]), "--quality", "ultra", "--out", str(tmp_path))
    assert code == 2 and "invalid choice: 'ultra'" in stderr


@pytest.mark.parametrize(("fmt", "photo_out", "video_out"), [
    (None, "photo_mask.png", "short clip_mask.mp4"),  # unset: images PNG, videos MP4 as before
    ("png", "photo_mask.png", "short clip_mask"),  # explicit png: the video becomes a PNG sequence
    ("jpg", "photo_mask.jpg", "short clip_mask.mp4"),
    ("webp", "photo_mask.webp", "short clip_mask.mp4"),
])
def test_cli_format_is_resolved_per_input(fmt, photo_out, video_out, inputs, tmp_path,  # type: ignore[no-untyped-def]
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from corpus import file_hashes
    from PIL import Image

    from desktop_app.core.batch import OUTPUT_MARKER, recorded_outputs

    before = file_hashes(inputs)
    out = tmp_path / "out"
    extra = ["--format", fmt] if fmt else []
    code, _, stderr = run_cli(capsys, "process", *map(str, inputs), "--effect", "mask", *extra, "--out", str(out))
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([OUTPUT_MARKER, photo_out, video_out])
    assert recorded_outputs(out) == {photo_out, video_out}
    note = f"note: short clip.mp4: --format {fmt} is for images: the video was saved as MP4"
    assert (note in stderr) == (fmt in ("jpg", "webp"))
    if fmt == "png":
        frames = sorted((out / video_out).iterdir())
        assert [p.name for p in frames] == [f"00000{i}.png" for i in range(1, 6)]
        assert {(Image.open(p).mode, Image.open(p).size) for p in frames} == {("L", (64, 48))}
    assert not [p for p in tmp_path.rglob("*") if is_temp_name(p.name)]
    assert file_hashes(before) == before


def test_cli_png_sequences_of_cut_outs_are_transparent(inputs, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    code, _, stderr = run_cli(capsys, "process", str(inputs[1]), "--effect", "remove", "--format", "png",
                              "--out", str(tmp_path / "out"))
    assert code == 0 and "green screen" not in stderr
    first = Image.open(tmp_path / "out" / "short clip_remove" / "000001.png")
    assert first.mode == "RGBA" and first.size == (64, 48)
