"""Small faces in large photos: the tiles cover the picture with the overlap the whole-picture pass needs, a face
cut by a seam is taken from the tile that holds it whole (no duplicates), boxes map back to the photo; and on the
real detector a 4000 x 3000 grid of 30 faces of 24-40 px is found whole, which one pass at 1280 px misses."""

from __future__ import annotations

import cv2
import numpy as np

from desktop_app import paths
from desktop_app.core.detection import Detection
from desktop_app.core.faces import tiles
from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector
from desktop_app.core.faces.tiles import detect_tiled, merge, overlap_for, spans, tile_grid
from desktop_app.core.imageio import read_image


def test_spans_cover_the_length_with_the_overlap_and_tiles_of_about_the_size() -> None:
    assert spans(1000, 1536, 100) == [(0, 1000)]
    for length, tile, overlap in ((4000, 1536, 108), (3000, 1536, 108), (33000, 1536, 40), (1537, 1536, 300)):
        parts = spans(length, tile, overlap)
        assert parts[0][0] == 0 and parts[-1][1] == length
        assert all(b - a <= tile + 1 for a, b in parts)
        assert all(parts[i][1] - parts[i + 1][0] >= overlap for i in range(len(parts) - 1))
    assert len(tile_grid(4000, 3000, 1536, overlap_for(4000, 3000))) == 9
    assert overlap_for(4000, 3000) == 108  # a face of 32 px at 1280 (100 px here) + the margins


class Painted:
    """A fake detector that 'finds' each of `faces` (pixel boxes in `photo`) in what it is given, clipped to it as
    CenterFace clips a face cut by the picture's edge; a face under 20 px once shrunk to `max_side` is missed. It
    tells where a tile lies by comparing it with the photo's noise at each of `grid`'s places."""

    def __init__(self, photo: np.ndarray, faces: list[tuple[int, int, int, int]],
                 grid: list[tuple[int, int, int, int]] = ()) -> None:  # type: ignore[assignment]
        self.photo, self.faces, self.grid = photo, faces, list(grid)
        self.calls: list[tuple[int, int, int | None]] = []

    def detect(self, rgb: np.ndarray, min_score: float | None = None, max_side: int | None = None) -> list[Detection]:
        h, w = rgb.shape[:2]
        self.calls.append((w, h, max_side))
        ox, oy = next(((x0, y0) for x0, y0, x1, y1 in [(0, 0, *self.photo.shape[1::-1]), *self.grid]
                       if (x1 - x0, y1 - y0) == (w, h) and np.array_equal(self.photo[y0:y1, x0:x1], rgb)))
        scale = 1.0 if max_side is None else min(1.0, max_side / max(w, h))
        found = []
        for x0, y0, x1, y1 in self.faces:
            cx0, cy0, cx1, cy1 = max(x0 - ox, 0), max(y0 - oy, 0), min(x1 - ox, w), min(y1 - oy, h)
            if cx1 - cx0 >= 4 and cy1 - cy0 >= 4 and (y1 - y0) * scale >= 20:
                found.append(Detection(0.9, (cx0 / w, cy0 / h, cx1 / w, cy1 / h), ()))
        return found


def test_a_face_across_a_seam_is_found_once_whole_and_small_faces_come_from_the_tiles() -> None:
    width, height = 4000, 3000
    grid = tile_grid(width, height, tiles.TILE_SIDE, overlap_for(width, height))
    (_, _, ax1, _), (bx0, _, _, _) = grid[0], grid[1]
    assert ax1 > bx0  # the first two tiles overlap over bx0..ax1
    across = (ax1 - 30, 500, ax1 + 10, 540)  # 40 px, cut by the first tile's right edge, whole in the second
    small = (200, 200, 224, 226)  # 26 px tall: too small for the whole-picture pass (8 px there)
    big = (bx0 - 150, 1000, bx0 + 150, 1300)  # 300 px across the second tile's left edge: the whole picture's
    photo = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
    detector = Painted(photo, [across, small, big], grid)
    found = detect_tiled(detector, photo, 0.5)
    assert detector.calls[0] == (width, height, tiles.GLOBAL_SIDE) and len(detector.calls) == 1 + len(grid)
    boxes = sorted((round(f.box[0] * width), round(f.box[1] * height), round(f.box[2] * width),
                    round(f.box[3] * height)) for f in found)
    assert boxes == sorted([across, small, big])  # each once, whole, in photo pixels
    raw = Painted(photo, [across, small, big], grid)
    pieces = sum(len(raw.detect(np.ascontiguousarray(photo[y0:y1, x0:x1]), 0.5, max(x1 - x0, y1 - y0)))
                 for x0, y0, x1, y1 in grid)
    assert pieces > 4  # the tiles saw cut pieces of `across` and `big` too: those were dropped, not kept


def test_merge_keeps_the_best_of_overlapping_or_nested_boxes() -> None:
    a = Detection(0.9, (0.1, 0.1, 0.2, 0.2), ())
    same = Detection(0.8, (0.11, 0.1, 0.21, 0.2), ())
    inside = Detection(0.7, (0.12, 0.12, 0.16, 0.16), ())
    other = Detection(0.6, (0.5, 0.5, 0.6, 0.6), ())
    assert merge([inside, same, other, a]) == [a, other]
    assert merge([]) == []


def test_a_small_photo_takes_one_full_size_pass() -> None:
    photo = np.zeros((1080, 1920, 3), np.uint8)
    detector = Painted(photo, [(10, 10, 30, 30)])
    assert len(detect_tiled(detector, photo, 0.5)) == 1 and detector.calls == [(1920, 1080, 1920)]


def face_grid(count: int = 30, sizes: tuple[int, int] = (24, 40)) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """The astronaut's face (with its surroundings) pasted `count` times, 24-40 px tall, on a 4000 x 3000 grey
    photo, 6 x 5, some across the tiles' seams; and where each face is."""
    rgb = read_image(paths.sample_image()).rgb  # the face: about x 182-269, y 57-179 of 512
    fx0, fy0, fx1, fy1 = 182, 57, 269, 179
    crop = rgb[0:300, 100:360]  # the head and shoulders
    canvas = np.full((3000, 4000, 3), 110, np.uint8)
    rng = np.random.default_rng(7)
    truth = []
    for i in range(count):
        size = sizes[0] + (sizes[1] - sizes[0]) * i / (count - 1)
        s = size / (fy1 - fy0)
        small = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        col, row = i % 6, i // 6
        x = int((col + 0.5) * 4000 / 6 + rng.uniform(-150, 150))
        y = int((row + 0.5) * 3000 / 5 + rng.uniform(-150, 150))
        canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
        truth.append((x + (fx0 - 100) * s, y + fy0 * s, x + (fx1 - 100) * s, y + fy1 * s))
    return canvas, truth


def found_faces(faces: list[Detection], truth: list[tuple[float, ...]]) -> tuple[int, int]:
    """(faces found, extra detections): a face is found by one detection whose centre lies in its box."""
    matched, extra = set(), 0
    for face in faces:
        cx, cy = (face.box[0] + face.box[2]) / 2 * 4000, (face.box[1] + face.box[3]) / 2 * 3000
        hit = next((i for i, (x0, y0, x1, y1) in enumerate(truth) if x0 <= cx <= x1 and y0 <= cy <= y1), None)
        if hit is None or hit in matched:
            extra += 1
        else:
            matched.add(hit)
    return len(matched), extra


def test_a_grid_of_30_small_faces_on_a_12_megapixel_photo_is_found_whole() -> None:
    canvas, truth = face_grid()
    detector = FaceDetector(PHOTO_MODEL)
    assert found_faces(detect_tiled(detector, canvas, 0.5), truth) == (30, 0)  # every face, once
    single, _ = found_faces(detector.detect(canvas, min_score=0.5, max_side=1280), truth)
    assert single < 15  # one pass at 1280 px misses most of them: why large photos are tiled
