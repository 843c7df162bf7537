"""Person detection maths, pure numpy: letterbox, SSD anchors, box decoding, NMS, the body region per person.

Written to match MediaPipe's pose detection graph (mediapipe 0.10.14, modules/pose_detection/
pose_detection_cpu.pbtxt): ImageToTensorCalculator (keep aspect ratio, zero border, range [-1, 1]),
SsdAnchorsCalculator, TensorsToDetectionsCalculator (sigmoid scores, clipped logits), NonMaxSuppressionCalculator
(weighted, IoU 0.3) and DetectionLetterboxRemovalCalculator. The model's box is the FACE; keypoint 0 is the mid-hip
centre and keypoint 1 encodes the full body's size and rotation (keypoints 2/3: the same for the upper body), so a
person's whole body is the circle around keypoint 0 through keypoint 1 (`body_box`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from desktop_app.core.resize import quick_shrink, shrink_area


@dataclass(frozen=True, slots=True)
class AnchorOptions:
    """MediaPipe's SsdAnchorsCalculatorOptions, the subset pose detection uses (fixed-size square anchors)."""

    input_width: int = 224
    input_height: int = 224
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    anchor_offset: float = 0.5
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """MediaPipe's TensorsToDetectionsCalculatorOptions for pose detection."""

    num_keypoints: int = 4
    scale: float = 224.0  # x/y/w/h scale: the model's raw values are in input pixels
    score_clip: float = 100.0
    min_score: float = 0.5
    nms_iou: float = 0.3


POSE_ANCHORS = AnchorOptions()
POSE_DECODE = DecodeOptions()


@dataclass(frozen=True, slots=True)
class Detection:
    """One person, in normalized [0, 1] frame coordinates: the face box, a score and keypoints (x, y)."""

    score: float
    box: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax
    keypoints: tuple[tuple[float, float], ...]


def ssd_anchors(options: AnchorOptions = POSE_ANCHORS) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1], in the model's output order; fixed-size anchors (w = h = 1).

    Layers with the same stride share one feature map; each location gets one anchor per aspect ratio plus
    the interpolated one (so 2 per layer here): 28x28x2 + 14x14x2 + 7x7x6 = 2254 for pose detection."""
    centres: list[np.ndarray] = []
    strides = options.strides
    layer = 0
    while layer < len(strides):
        count = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            count += len(options.aspect_ratios) + (1 if options.interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        fh = int(np.ceil(options.input_height / strides[layer]))
        fw = int(np.ceil(options.input_width / strides[layer]))
        ys, xs = np.meshgrid((np.arange(fh) + options.anchor_offset) / fh,
                             (np.arange(fw) + options.anchor_offset) / fw, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, count, axis=0))
        layer = last
    return np.concatenate(centres).astype(np.float32)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           options: DecodeOptions = POSE_DECODE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (M, 4) xmin ymin xmax ymax, keypoints (M, K, 2), scores (M,)) of the anchors above `min_score`.

    raw_boxes: (N, 4 + 2K) per anchor x_centre, y_centre, w, h, then keypoint x, y (MediaPipe's
    `reverse_output_order`), in input pixels relative to the anchor centre; raw_scores: (N,) logits."""
    raw_boxes = np.asarray(raw_boxes, np.float32).reshape(len(anchors), -1)
    logits = np.clip(np.asarray(raw_scores, np.float32).reshape(len(anchors)), -options.score_clip, options.score_clip)
    scores = (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    keep = scores >= options.min_score
    raw, anchor, scores = raw_boxes[keep], anchors[keep], scores[keep]
    centre = raw[:, 0:2] / options.scale + anchor
    half = raw[:, 2:4] / options.scale / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    k = options.num_keypoints
    keypoints = raw[:, 4 : 4 + 2 * k].reshape(-1, k, 2) / options.scale + anchor[:, None, :]
    return boxes, keypoints, scores


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (4,) box with each of (M, 4) boxes; 0 where both are empty."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float = 0.3,
        weighted: bool = True) -> list[Detection]:
    """Non-maximum suppression, best first. Weighted (MediaPipe's WEIGHTED): each kept detection's box and
    keypoints are the score-weighted mean of every remaining candidate overlapping it by more than `threshold`
    IoU (itself included), and those candidates are dropped; plain: the best box is kept as it is."""
    order = np.argsort(-scores, kind="stable")
    remaining = list(order)
    out: list[Detection] = []
    while remaining:
        best = remaining[0]
        rest = np.asarray(remaining)
        overlap = iou(boxes[best], boxes[rest])
        group = rest[(overlap > threshold) | (rest == best)]
        if weighted:
            w = scores[group][:, None]
            box = (boxes[group] * w).sum(0) / w.sum()
            kps = (keypoints[group] * w[:, :, None]).sum(0) / w.sum()
        else:
            box, kps = boxes[best], keypoints[best]
        out.append(Detection(float(scores[best]), tuple(float(v) for v in box),  # type: ignore[arg-type]
                             tuple((float(x), float(y)) for x, y in kps)))
        dropped = set(group.tolist())
        remaining = [i for i in remaining if i not in dropped]
    return out


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where the frame lies inside the square model input, as shares of the input (MediaPipe's padding)."""

    left: float
    top: float
    right: float
    bottom: float

    def to_frame(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Normalized input coordinates -> normalized frame coordinates."""
        return ((x - self.left) / (1.0 - self.left - self.right), (y - self.top) / (1.0 - self.top - self.bottom))


def letterbox(rgb: np.ndarray, size: tuple[int, int], quick: bool = False) -> tuple[np.ndarray, Letterbox]:
    """The frame scaled to fit `size` (width, height) keeping its aspect, centred, black (zero) around it;
    shrunk by `shrink_area` (an area average), or by `quick_shrink` when `quick`."""
    h, w = rgb.shape[:2]
    tw, th = size
    scale = min(tw / w, th / h)
    nw, nh = min(max(round(w * scale), 1), tw), min(max(round(h * scale), 1), th)
    if scale < 1.0:
        small = quick_shrink(rgb, (nw, nh)) if quick else shrink_area(rgb, (nw, nh))
    else:
        small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x0, y0 = (tw - nw) // 2, (th - nh) // 2
    out = np.zeros((th, tw, 3), np.uint8)
    out[y0 : y0 + nh, x0 : x0 + nw] = small
    return out, Letterbox(x0 / tw, y0 / th, (tw - nw - x0) / tw, (th - nh - y0) / th)


def unletterbox(detections: list[Detection], pad: Letterbox) -> list[Detection]:
    """Detections on the letterboxed input -> on the frame (normalized; may reach outside [0, 1])."""
    out = []
    for d in detections:
        x0, y0 = pad.to_frame(d.box[0], d.box[1])
        x1, y1 = pad.to_frame(d.box[2], d.box[3])
        kps = tuple(tuple(float(v) for v in pad.to_frame(x, y)) for x, y in d.keypoints)
        out.append(Detection(d.score, (float(x0), float(y0), float(x1), float(y1)), kps))  # type: ignore[arg-type]
    return out


def body_box(det: Detection, width: int, height: int, scale: float = 1.25) -> tuple[int, int, int, int]:
    """The square (x0, y0, x1, y1) in pixels around the person's whole body: centred on keypoint 0 (mid-hip),
    side = 2 x the distance to keypoint 1 x `scale` (MediaPipe's pose ROI: AlignmentPointsRects + 1.25)."""
    (hx, hy), (sx, sy) = det.keypoints[0], det.keypoints[1]
    cx, cy = hx * width, hy * height
    radius = float(np.hypot((sx - hx) * width, (sy - hy) * height))
    half = max(radius * scale, 4.0)
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
