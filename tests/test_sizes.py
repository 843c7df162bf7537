"""Every effect works for any frame size: tiny frames, thin strips and panoramas past OpenCV's 32767 px."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.effects.background import compose
from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline

BACKGROUND = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
EFFECTS = {
    "none": EffectParams(effect="none"),
    "blur": EffectParams(effect="blur", smoothing=0.0),
    "replace": EffectParams(effect="replace", background=Path("unused.png"), smoothing=0.0),
    "remove": EffectParams(effect="remove", smoothing=0.0),
    "remove+color": EffectParams(effect="remove", color=(0, 177, 64), smoothing=0.0),
    "mask": EffectParams(effect="mask", smoothing=0.0),
}
CHANNELS = {"none": 3, "blur": 3, "replace": 3, "remove": 4, "remove+color": 3, "mask": None}


class HalfSegmenter:
    """The person is the left three quarters of the picture, sharp (a mask at model resolution)."""

    spec = None

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        mask = np.zeros((144, 256), np.float32)
        mask[:, :192] = 1.0
        return mask, {}


def run(size: tuple[int, int], effect: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    height, width = size
    rgb = np.random.default_rng(height * 7 + width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    pipe = Pipeline(HalfSegmenter(), EFFECTS[effect].with_(background=None, feather=0.0), temporal=False)
    if effect == "replace":  # the background image without a file: the loader is not what is tested here
        pipe._load = type("Loaded", (), {"result": staticmethod(lambda: BACKGROUND), "path": None})()  # type: ignore[assignment]
        pipe.set_params = None  # type: ignore[assignment,method-assign]
        pipe._params = EFFECTS[effect].with_(feather=0.0)
    result = pipe.process(Frame(rgb, 0.0))
    return rgb, result.pixels, result.mask


def check(rgb: np.ndarray, out: np.ndarray, mask: np.ndarray | None, effect: str) -> None:
    height, width = rgb.shape[:2]
    channels = CHANNELS[effect]
    assert out.dtype == np.uint8
    assert out.shape == ((height, width) if channels is None else (height, width, channels))
    if effect == "blur":
        assert mask is not None
        person = mask == 1.0  # the person, fully opaque: its pixels exactly as they were
        assert person.any()
        assert np.array_equal(out[person], rgb[person])


@pytest.mark.parametrize("effect", list(EFFECTS))
@pytest.mark.parametrize("size", [(1, 1), (1, 4), (4, 1), (2, 2), (3, 1000), (1000, 3), (5, 5), (7, 9)])
def test_tiny_and_thin_frames_through_every_effect(size: tuple[int, int], effect: str) -> None:
    rgb, out, mask = run(size, effect)
    check(rgb, out, mask, effect)


@pytest.mark.parametrize("effect", list(EFFECTS))
@pytest.mark.parametrize("size", [(8, 33000), (33000, 8)])
def test_panoramas_past_32767_pixels_through_every_effect(size: tuple[int, int], effect: str) -> None:
    rgb, out, mask = run(size, effect)
    check(rgb, out, mask, effect)


def test_compose_of_a_single_pixel() -> None:
    rgb = np.array([[[10, 20, 30]]], np.uint8)
    out = compose(rgb, np.zeros((1, 1), np.float32), EffectParams(effect="remove"))
    assert out.shape == (1, 1, 4)
    assert not out.any()  # transparent and black
    assert compose(rgb, np.ones((1, 1), np.float32), EffectParams(effect="blur")).tolist() == [[[10, 20, 30]]]


@pytest.mark.parametrize("size", [(8, 33000), (33000, 8), (1, 1), (1, 4), (4, 1), (3, 1000)])
def test_panoramas_and_tiny_frames_through_a_real_segmenter(tmp_path: Path, size: tuple[int, int]) -> None:
    from synthetic_model import write_models_dir

    from desktop_app.core.segmenter import Segmenter

    seg = Segmenter(models_dir=write_models_dir(tmp_path / "models"), device="cpu", threads=1)
    rgb = np.full((*size, 3), 230, np.uint8)  # bright: the synthetic model calls it a person
    result = Pipeline(seg, EffectParams(effect="remove", smoothing=0.0), temporal=False).process(Frame(rgb, 0.0))
    assert result.pixels.shape == (*size, 4)
    assert (result.pixels[..., 3] > 200).all()
