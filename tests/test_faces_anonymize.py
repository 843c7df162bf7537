"""hide_faces on synthetic pictures where the answer is known: a blurred face keeps none of its detail, pixelate
makes blocks of a sixth of the face, box is black; the ellipse leaves the padded box's corners, padding grows the
box, RGBA keeps its alpha, boxes are clipped, odd boxes are safe, the input is never modified."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop_app.core.faces.anonymize import MIN_BLOCK, PIXEL_BLOCKS, hide_faces

H, W = 240, 320
FACE = (0.25, 0.25, 0.5, 0.75)  # 80 x 120 px at (80, 60)


def detailed(seed: int = 1) -> np.ndarray:
    """Noise plus a fine checkerboard: all detail, the worst case for hiding."""
    rng = np.random.default_rng(seed)
    board = ((np.indices((H, W)).sum(axis=0) // 2) % 2 * 160).astype(np.uint8)
    noise = rng.integers(0, 90, (H, W, 3), np.uint8)
    return (board[..., None] + noise).astype(np.uint8)


def features(seed: int = 2) -> np.ndarray:
    """Smooth blobs 8-16 px across: the scale of a face's features (eyes, mouth) at this size."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (H // 8, W // 8, 3), np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)


def high_frequency(rgb: np.ndarray, inside: np.ndarray, sigma: float = 8.0) -> float:
    """Energy of the detail finer than `sigma` px (image minus its blur; 8 = a tenth of the face), over `inside`."""
    image = rgb.astype(np.float32)
    detail = image - cv2.GaussianBlur(image, (0, 0), sigma)
    return float((detail[inside] ** 2).sum())


def ellipse_of(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box[0] * W, box[1] * H, box[2] * W, box[3] * H
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    return (((xs - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2 + ((ys - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2) <= 0.95


def test_a_blurred_face_keeps_under_5_percent_of_its_detail_and_nothing_outside_changes() -> None:
    rgb = detailed()
    before = rgb.copy()
    out = hide_faces(rgb, [FACE], "blur", "ellipse", padding=0.0)
    np.testing.assert_array_equal(rgb, before)  # the input is untouched
    inside = ellipse_of(FACE)
    inner = np.zeros_like(inside)
    inner[75:165, 90:150] = True  # well inside the face (the blur's own edge is the ellipse's, not detail)
    assert high_frequency(out, inner & inside) < 0.05 * high_frequency(rgb, inner & inside)
    for weak in (3.0, 6.0):  # the measure tells a weak blur: a Gaussian of sigma 6 px keeps more than 5%
        blurred = cv2.GaussianBlur(features(), (0, 0), weak)
        assert high_frequency(blurred, inner & inside) > 0.05 * high_frequency(features(), inner & inside)
    hidden = hide_faces(features(), [FACE], "blur", "ellipse", padding=0.0)
    assert high_frequency(hidden, inner & inside) < 0.05 * high_frequency(features(), inner & inside)
    changed = (out != rgb).any(axis=2)
    assert changed[inside].mean() > 0.9
    outside = np.ones((H, W), bool)
    outside[59:181, 79:161] = False  # the face's box, one pixel of rounding around it
    assert not changed[outside].any()
    # the mean colour stays near the face's (a blur, not a paint-over)
    assert abs(float(out[inside].mean()) - float(rgb[inside].mean())) < 12


def test_the_blur_scales_with_the_face_so_a_large_face_is_as_unrecognisable() -> None:
    big = cv2.resize(features(), (W * 4, H * 4), interpolation=cv2.INTER_CUBIC)  # a 320 x 480 px face, features
    out = hide_faces(big, [FACE], "blur", "rect", padding=0.0)                   # of 32-64 px
    face = (slice(300, 660), slice(360, 600))  # inside the face: its own crop, measured the same way for both
    region = np.ones((360, 240), bool)
    assert high_frequency(out[face], region, 32.0) < 0.05 * high_frequency(big[face], region, 32.0)
    fixed = cv2.GaussianBlur(big, (0, 0), 12.0)  # a kernel that hides a small face leaves most of a large one
    assert high_frequency(fixed[face], region, 32.0) > 0.3 * high_frequency(big[face], region, 32.0)


def test_pixelate_makes_a_sixth_of_the_face_blocks_never_under_two_pixels() -> None:
    rgb = detailed()
    out = hide_faces(rgb, [FACE], "pixelate", "rect", padding=0.0)
    assert PIXEL_BLOCKS == 6  # 10 (before) left the eyes, nose and brows readable as a face's layout
    block = round(0.25 * W / 6)  # 13 px: the 80 px wide face is 6 whole blocks and a sliver
    region = out[60:180, 80:160]  # the box starts on a block corner
    for by in range(0, 120, block):
        for bx in range(0, 80, block):
            cell = region[by : by + block, bx : bx + block].reshape(-1, 3)
            assert (cell == cell[0]).all(), (by, bx)
    colours = len(np.unique(region.reshape(-1, 3), axis=0))
    assert 20 < colours <= 7 * 10  # blocks, not one colour, and no more than 7 x 10 of them (not 10 x 15)
    tiny = (0.5, 0.5, 0.5 + 6 / W, 0.5 + 6 / H)  # a 6 px face: blocks of MIN_BLOCK, not of 1 px
    small = hide_faces(rgb, [tiny], "pixelate", "rect", padding=0.0)[120:126, 160:166]
    assert MIN_BLOCK == 2
    for by in range(0, 6, 2):
        for bx in range(0, 6, 2):
            cell = small[by : by + 2, bx : bx + 2].reshape(-1, 3)
            assert (cell == cell[0]).all()


def test_box_is_solid_black_in_the_ellipse_and_the_padded_corners_keep_the_picture() -> None:
    rgb = np.full((H, W, 3), 200, np.uint8)
    out = hide_faces(rgb, [FACE], "box", "ellipse", padding=0.2)
    padded = (0.2, 0.15, 0.55, 0.85)  # the box grown by 20% of its size on every side
    assert (out[ellipse_of(padded)] == 0).all()
    assert (out[int(0.5 * H), int(0.21 * W)] == 0).all()  # inside the padding, beyond the unpadded box
    assert (out[int(0.16 * H), int(0.21 * W)] == 200).all()  # the padded box's corner: outside the ellipse
    rect = hide_faces(rgb, [FACE], "box", "rect", padding=0.2)
    assert (rect[int(0.16 * H), int(0.21 * W)] == 0).all()  # the rectangle covers its corners
    assert (rect[36:204, 64:176] == 0).all() and (rect[:35] == 200).all() and (rect[:, 177:] == 200).all()


def test_rgba_keeps_its_alpha_and_hides_the_colour() -> None:
    rgba = np.dstack((detailed(), np.linspace(0, 255, W, dtype=np.uint8)[None, :].repeat(H, 0)))
    for style in ("blur", "pixelate", "box"):
        out = hide_faces(rgba, [FACE], style, "ellipse")  # type: ignore[arg-type]
        assert out.shape == rgba.shape
        np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
        assert (out[..., :3] != rgba[..., :3]).any()
    assert (hide_faces(rgba, [FACE], "box", "rect")[100, 120, :3] == 0).all()


def test_boxes_are_clipped_to_the_frame_and_odd_boxes_are_safe() -> None:
    rgb = detailed()
    edge = hide_faces(rgb, [(-0.1, -0.2, 0.1, 0.2)], "box", "rect", padding=0.0)  # over the top-left corner
    assert (edge[: int(0.2 * H), : int(0.1 * W)] == 0).all() and (edge[60:, 40:] == rgb[60:, 40:]).all()
    corner = hide_faces(rgb, [(-0.1, -0.2, 0.1, 0.2)], "box", "ellipse", padding=0.0)
    assert (corner[0, 0] == 0).all()  # the ellipse's centre is the corner: still hidden
    for odd in [(0.5, 0.5, 0.5, 0.5), (2.0, 2.0, 3.0, 3.0), (-1.0, -1.0, -0.5, -0.5), (0.5, 0.5, 0.5001, 0.9),
                (float("nan"), 0.1, 0.2, 0.3), (0.4, 0.4, 0.41, 0.41)]:
        out = hide_faces(rgb, [odd], "blur", "ellipse", padding=0.0)
        assert out.shape == rgb.shape and out is not rgb
    flipped = hide_faces(rgb, [(0.5, 0.75, 0.25, 0.25)], "box", "rect", padding=0.0)  # corners swapped
    assert (flipped[60:180, 80:160] == 0).all()
    assert hide_faces(rgb, [], "box") is not rgb
    np.testing.assert_array_equal(hide_faces(rgb, [], "box"), rgb)
    one = np.zeros((1, 1, 3), np.uint8) + 9
    assert hide_faces(one, [(0.0, 0.0, 1.0, 1.0)], "pixelate", "ellipse").shape == (1, 1, 3)
    with pytest.raises(ValueError, match="uint8"):
        hide_faces(np.zeros((4, 4), np.uint8), [FACE], "box")
    with pytest.raises(ValueError, match="unknown face style"):
        hide_faces(rgb, [FACE], "smudge")  # type: ignore[arg-type]


def test_padding_grows_every_side_by_its_share_of_the_size() -> None:
    rgb = np.full((H, W, 3), 100, np.uint8)
    out = hide_faces(rgb, [FACE], "box", "rect", padding=0.5)  # 80 x 120 -> 160 x 240 (clipped: 0..240 tall)
    changed = (out != rgb).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert (xs.min(), xs.max() + 1) == (40, 200) and (ys.min(), ys.max() + 1) == (0, 240)


@pytest.mark.parametrize("style", ["blur", "pixelate", "box"])
@pytest.mark.parametrize("shape", ["ellipse", "rect"])
def test_in_place_hides_in_the_callers_picture_and_rgb_matches_the_rgba_path(style: str, shape: str) -> None:
    rgb = features()
    faces = [FACE, (0.6, 0.1, 0.9, 0.45), (0.9, 0.8, 1.2, 1.1)]  # one clipped by the frame's corner
    copied = hide_faces(rgb, faces, style, shape)  # type: ignore[arg-type]
    own = rgb.copy()
    out = hide_faces(own, faces, style, shape, in_place=True)  # type: ignore[arg-type]
    assert out is own  # no copy of the frame: the stage's own picture is changed
    np.testing.assert_array_equal(own, copied)
    rgba = np.dstack([rgb, np.full((H, W), 77, np.uint8)])
    # RGB is drawn straight into the frame's view; RGBA through a copy of its colour: the same pixels
    np.testing.assert_array_equal(hide_faces(rgba, faces, style, shape)[..., :3], copied)  # type: ignore[arg-type]
