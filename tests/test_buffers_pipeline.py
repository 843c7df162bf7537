"""Pooled live outputs (issue #10's hour-long call): the live pipeline's frame-sized outputs (the upsampled mask,
the alpha, the composed frame) and the file camera's frames are reused buffers, never overwritten while anyone
still holds them; the results are the same as with fresh arrays, and stills never pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from av_clips import clip
from test_pipeline import FakeSegmenter, disc

from desktop_app.core import buffers, masks
from desktop_app.core.buffers import PoolSet, output_array, pooled_outputs
from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.sources import FRAME_POOL_KEEP, Camera, VideoFileSource

BIG = (600, 1040)  # over EDGE_BLEND_MIN_PIXELS: the edge-only blend with its scratch masks
PARAMS = {"blur": EffectParams(effect="blur"), "mask": EffectParams(effect="mask"),
          "remove": EffectParams(effect="remove"), "green": EffectParams(effect="remove", color=(0, 255, 0))}


def frames(count: int, shape: tuple[int, int] = (120, 160)) -> list[Frame]:
    rng = np.random.default_rng(7)
    return [Frame(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), 0.0, i, "cam") for i in range(count)]


def masks_moving(count: int) -> list[np.ndarray]:
    return [np.roll(disc(), i, axis=1) for i in range(count)]


def test_output_array_pools_only_inside_pooled_outputs() -> None:
    pools = PoolSet(prefill=False)
    with pooled_outputs(pools):
        first = output_array("x", (4, 4))
        first_id = id(first)
        held = output_array("x", (4, 4))  # `first` is still referenced: a second buffer
        assert held is not first
        del first
        assert id(output_array("x", (4, 4))) == first_id  # let go of: reused
        assert output_array("y", (2, 3), np.float32).dtype == np.float32  # each name its own pool
    assert pools.allocated == 3
    outside = output_array("x", (4, 4))
    assert pools.allocated == 3 and id(outside) != first_id


@pytest.mark.parametrize("effect", sorted(PARAMS))
def test_live_outputs_are_reused_once_dropped_and_equal_fresh_ones(effect: str) -> None:
    shape = BIG if effect == "blur" else (120, 160)
    shots = frames(12, shape)
    pooled = Pipeline(FakeSegmenter(*masks_moving(12)), PARAMS[effect], temporal=True)
    fresh = Pipeline(FakeSegmenter(*masks_moving(12)), PARAMS[effect], temporal=True)
    fresh.pooled = False
    pixel_ids, mask_ids = set(), set()
    for shot in shots:
        got, want = pooled.process(shot), fresh.process(shot)
        assert np.array_equal(got.pixels, want.pixels) and np.array_equal(got.mask, want.mask)
        pixel_ids.add(got.pixels.__array_interface__["data"][0])
        mask_ids.add(got.mask.__array_interface__["data"][0])
        del got, want
    # Nothing held the results: the same one or two buffers every frame (fresh arrays: a new one each frame).
    assert len(pixel_ids) <= 2 and len(mask_ids) <= 2
    expected = {"blur": {"mask", "alpha", "background"}, "mask": {"mask", "alpha"}, "remove": {"mask", "alpha", "rgba"},
                "green": {"mask", "alpha", "background"}}[effect]
    assert expected <= set(pooled._pools.pools)
    # The prefill and nothing after it (fresh arrays: one per frame).
    assert all(pool.allocated == pool.keep for pool in pooled._pools.pools.values())


def test_a_result_still_held_is_never_overwritten_by_later_frames() -> None:
    """What a sink repeats, the GUI paints or a snapshot writes keeps its pixels and mask while it is held."""
    shots = frames(10, BIG)
    pipeline = Pipeline(FakeSegmenter(*masks_moving(10)), EffectParams(effect="blur"), temporal=True)
    held = [pipeline.process(shots[0]), pipeline.process(shots[1])]
    copies = [(r.pixels.copy(), r.mask.copy()) for r in held]
    view = held[0].pixels[10:20]  # a view keeps the buffer alive as well
    held_mask_only = held[1].mask
    del held[1]
    for shot in shots[2:]:
        pipeline.process(shot)
    assert np.array_equal(held[0].pixels, copies[0][0]) and np.array_equal(held[0].mask, copies[0][1])
    assert np.array_equal(view, copies[0][0][10:20])
    assert np.array_equal(held_mask_only, copies[1][1])


def test_stills_never_pool() -> None:
    """A photo pipeline allocates its outputs afresh (a pool would keep 12 MP buffers around after the photo)."""
    pipeline = Pipeline(FakeSegmenter(), EffectParams(effect="blur"), temporal=False)
    for shot in frames(3):
        result = pipeline.process(shot)
        del result
    assert pipeline._pools.allocated == 0


def test_upsample_writes_into_out_and_rejects_a_wrong_one() -> None:
    small = np.random.default_rng(1).random((16, 16), dtype=np.float32)
    out = np.empty((40, 30), np.float32)
    assert masks.upsample(small, (40, 30), out=out) is out
    assert np.array_equal(out, masks.upsample(small, (40, 30)))
    with pytest.raises(ValueError, match="out must be"):
        masks.upsample(small, (40, 30), out=np.empty((40, 31), np.float32))


def test_the_file_camera_reuses_frames_only_once_let_go_of(tmp_path: Path) -> None:
    path = clip(tmp_path / "cam.mp4", seconds=1.0, fps=10, audio=None)
    source = VideoFileSource(path, loop=True, paced=False)
    source.open()
    try:
        kept = source.read().pixels
        copy = kept.copy()
        addresses = set()
        for _ in range(15):
            shot = source.read()
            addresses.add(shot.pixels.__array_interface__["data"][0])
            del shot
        assert np.array_equal(kept, copy)  # the frame still held was never written into
        assert kept.__array_interface__["data"][0] not in addresses
        assert source._pool.allocated == FRAME_POOL_KEEP  # its prefill: no fresh array per frame
    finally:
        source.close()


class _FakeCapture:
    """cv2.VideoCapture's `read(image)`: writes into `image` when it fits, as OpenCV does."""

    def __init__(self) -> None:
        self.n = 0

    def read(self, image: np.ndarray | None = None) -> tuple[bool, np.ndarray]:
        self.n += 1
        if image is None or image.shape != (8, 10, 3):
            image = np.empty((8, 10, 3), np.uint8)
        image[:] = self.n
        return True, image

    def release(self) -> None:
        pass


def test_the_camera_reuses_frames_only_once_let_go_of() -> None:
    camera = Camera(0, "fake")
    camera._cap = _FakeCapture()  # type: ignore[assignment]
    kept = camera.read().pixels
    addresses = set()
    for _ in range(5):
        shot = camera.read()
        addresses.add(shot.pixels.__array_interface__["data"][0])
        del shot
    assert int(kept[0, 0, 0]) == 1 and kept.__array_interface__["data"][0] not in addresses
    assert len(addresses) == 1 and camera._pool.allocated == FRAME_POOL_KEEP


def test_pooled_outputs_restores_the_previous_pools() -> None:
    outer, inner = PoolSet(prefill=False), PoolSet(prefill=False)
    with pooled_outputs(outer):
        with pooled_outputs(inner):
            output_array("x", (2, 2))
        output_array("x", (2, 2))
    assert outer.allocated == 1 and inner.allocated == 1
    assert getattr(buffers._active, "pools", None) is None
