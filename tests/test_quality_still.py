"""desktop_app.core.quality on synthetic photos with a fake segmenter whose behaviour is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core.quality import StillOptions, refine, regions, segment_still

RED = (220, 30, 30)


class FakeSegmenter:
    """'Person' = red pixels, but like the selfie models it cannot see people that are small in its input:
    red parts under `min_frac` of the input are reported as background. Counts its calls."""

    input_size = (256, 256)

    def __init__(self, min_frac: float = 0.01) -> None:
        self.min_frac = min_frac
        self.calls = 0

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        self.calls += 1
        small = cv2.resize(rgb, self.input_size, interpolation=cv2.INTER_AREA).astype(np.int16)
        red = (small[..., 0] > 150) & (small[..., 1] < 90) & (small[..., 2] < 90)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(red.astype(np.uint8))
        prob = np.zeros(red.shape, np.float32)
        for i in range(1, count):
            if stats[i, cv2.CC_STAT_AREA] >= self.min_frac * red.size:
                prob[labels == i] = 1.0
        return prob, {}


def photo(h: int, w: int, people: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(60, 140, (h, w, 3), dtype=np.uint8)
    rgb[..., 0] = np.minimum(rgb[..., 0], 120)  # the background is never red
    truth = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in people:
        cv2.ellipse(truth.view(np.uint8), ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2),
                    0, 0, 360, 1, -1)
    rgb[truth] = RED
    return rgb, truth


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_output_is_full_resolution_float32_alpha() -> None:
    rgb, truth = photo(900, 1600, [(600, 150, 1000, 880)])
    alpha = segment_still(FakeSegmenter(), rgb)
    assert alpha.shape == (900, 1600) and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert iou(alpha >= 0.5, truth) > 0.97


def test_small_people_missed_by_the_whole_frame_are_found() -> None:
    rgb, truth = photo(1200, 1800, [(200, 700, 260, 1000), (1400, 600, 1470, 950)])  # ~0.8% of the frame each
    whole_only = StillOptions(tile_frac=0.0, crops=False, specks=False, holes=False, snap=False)
    assert not (segment_still(FakeSegmenter(), rgb, whole_only) >= 0.5).any()
    found = segment_still(FakeSegmenter(), rgb) >= 0.5
    assert iou(found, truth) > 0.9
    assert found[850, 230] and found[775, 1435]


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        segment_still(FakeSegmenter(), np.zeros((10, 10), np.uint8))


def test_tiles_cover_the_picture_and_stay_square() -> None:
    boxes = list(regions.tiles(1000, 600, 300, 0.5))
    cover = np.zeros((600, 1000), bool)
    for x0, y0, x1, y1 in boxes:
        assert x1 - x0 == y1 - y0 == 300
        cover[y0:y1, x0:x1] = True
    assert cover.all()
    assert list(regions.tiles(200, 200, 300)) == [(-50, -50, 250, 250)]  # a tile larger than the picture: centred


def test_tile_side_is_the_share_of_the_shorter_side_grown_for_panoramas() -> None:
    assert regions.tile_side(1000, 600, 0.5) == 300
    assert regions.tile_side(100, 20, 0.1) == 16  # 16 at least
    side = regions.tile_side(33000, 800, 0.25)  # a panorama: a 200 side would need 329 x 7 tiles
    assert side > 200
    assert len(list(regions.tiles(33000, 800, side))) <= 24
    assert len(list(regions.tiles(33000, 800, int((side - 1) / 1.25)))) > 24  # the smallest side that fits


def test_person_boxes_are_square_with_margin_and_merge_neighbours() -> None:
    mask = np.zeros((400, 600), bool)
    mask[100:300, 100:150] = True  # 200 tall, 50 wide
    (box,) = regions.person_boxes(mask, margin=0.1)
    x0, y0, x1, y1 = box
    assert x1 - x0 == y1 - y0 == 240 and (x0 + x1) // 2 == 125 and (y0 + y1) // 2 == 200
    mask[100:300, 160:200] = True  # a second person right next to the first: one box for both
    assert len(regions.person_boxes(mask, margin=0.1)) == 1
    mask[0:2, 0:2] = True  # a speck under min_area gets no box
    assert len(regions.person_boxes(mask, margin=0.1)) == 1


def test_crop_padded_replicates_the_edge() -> None:
    rgb = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    crop = regions.crop_padded(rgb, (-2, 0, 2, 4))
    assert crop.shape == (4, 4, 3)
    assert (crop[:, 0] == rgb[:, 0]).all() and (crop[:, 2] == rgb[:, 0]).all()


def test_specks_and_holes() -> None:
    prob = np.zeros((200, 200), np.float32)
    prob[20:180, 40:160] = 1.0
    prob[90:94, 90:94] = 0.0  # a hole inside the person
    prob[5:8, 5:8] = 1.0  # a speck
    out = refine.fill_holes(refine.remove_specks(prob))
    assert out[5, 5] < 0.5 and out[91, 91] == 1.0 and out[100, 100] == 1.0


def test_snap_edges_moves_a_blurry_edge_onto_the_photo_edge() -> None:
    rgb = np.zeros((200, 200, 3), np.uint8)
    rgb[:, 100:] = 255  # the photo's edge at x = 100
    prob = np.tile(np.clip((np.arange(200, dtype=np.float32) - 80) / 40, 0, 1), (200, 1))  # ramp 80..120
    snapped = refine.snap_edges(rgb, prob, radius_frac=0.04, eps=1e-4)
    assert snapped.shape == (200, 200)
    jump = snapped[100, 100] - snapped[100, 99]
    assert jump > 0.2  # the ramp rises 0.025 per pixel; the filtered mask steps where the photo does
    assert snapped[100, 60] < 0.05 and snapped[100, 140] > 0.95


def test_model_runs_whole_frame_then_one_crop_per_person_per_round() -> None:
    big, _ = photo(600, 800, [(100, 0, 700, 600)])  # fills the frame: no crop
    fake = FakeSegmenter()
    segment_still(fake, big)
    assert fake.calls == 1
    two, truth = photo(600, 900, [(100, 150, 250, 550), (600, 150, 750, 550)])  # seen whole: no tiles
    fake = FakeSegmenter()
    alpha = segment_still(fake, two, StillOptions(crop_rounds=2))
    assert fake.calls == 1 + 2 * 2
    assert iou(alpha >= 0.5, truth) > 0.95


def test_panoramas_and_tiny_pictures_stay_cheap() -> None:
    fake = FakeSegmenter()
    alpha = segment_still(fake, np.zeros((8, 33000, 3), np.uint8))  # nobody in it: would tile
    assert alpha.shape == (8, 33000) and fake.calls == 1  # too thin to tile
    fake = FakeSegmenter()
    segment_still(fake, np.zeros((400, 12000, 3), np.uint8))
    assert fake.calls <= 1 + 24
    assert segment_still(FakeSegmenter(), np.zeros((1, 1, 3), np.uint8)).shape == (1, 1)
