"""The one conversion point from effect outputs to what sinks accept."""

import numpy as np
import pytest

from desktop_app.core.sinks import GREEN_SCREEN, FrameSink, SinkFrame, to_rgb


def test_rgb_passes_through_and_a_mask_becomes_gray_rgb() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    assert np.array_equal(to_rgb(rgb), rgb)
    mask = np.arange(20, dtype=np.uint8).reshape(4, 5)
    out = to_rgb(mask)
    assert out.shape == (4, 5, 3) and all(np.array_equal(out[:, :, c], mask) for c in range(3))


def test_a_cut_out_is_composited_over_the_background_colour() -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (200, 100, 50, 255)  # opaque person
    rgba[0, 1] = (0, 0, 0, 0)  # transparent: only the colour shows
    rgba[1, 0] = (200, 100, 50, 128)  # half
    out = to_rgb(rgba)
    assert tuple(out[0, 0]) == (200, 100, 50)
    assert tuple(out[0, 1]) == GREEN_SCREEN
    assert np.abs(out[1, 0].astype(int) - [100, 138, 57]).max() <= 1
    assert tuple(to_rgb(rgba, (255, 255, 255))[0, 1]) == (255, 255, 255)


def test_anything_else_is_refused() -> None:
    with pytest.raises(ValueError):
        to_rgb(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError):
        to_rgb(np.zeros((2, 2, 3), np.float32))


def test_a_sink_frame_knows_its_size_and_a_sink_class_fits_the_protocol() -> None:
    class Sink:
        name = "test"

        def open(self, size: tuple[int, int], fps: float) -> None: ...

        def send(self, frame: SinkFrame) -> None: ...

        def close(self) -> None: ...

    assert SinkFrame(np.zeros((3, 7, 3), np.uint8), 0.0, 0).size == (7, 3)
    assert isinstance(Sink(), FrameSink)
