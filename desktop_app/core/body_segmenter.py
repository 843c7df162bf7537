"""BodySegmenter: the bundled `body-segmentation` model (MediaPipe's pose landmark model, full) -> one person's mask.

MediaPipe's pose graph crops each person found by the person detector to a square along the body (centred on the
mid-hip, side 2 x 1.25 x the hip-to-size-point distance, turned so the body stands upright) and runs the landmark
model there, which also returns a mask of that person, trained on whole bodies (the selfie models were trained on
heads and shoulders). `segment` does the same crop with one affine warp and warps the mask back into the picture.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from desktop_app.core import models
from desktop_app.core.detection import Detection
from desktop_app.core.engine import Device, InferenceEngine


class NoBodySegmenterError(LookupError):
    """The manifest lists no body-segmentation model."""


@dataclass(frozen=True, slots=True)
class BodyMask:
    """One person's mask in the picture: `prob` (H, W) float32 in [0, 1], 0 outside the body square; `inside`
    (H, W) bool, where the body square lies; `presence` the model's pose flag (how sure it is of a body there);
    `points` (39, 2) float32, the model's landmarks in picture pixels (0 the nose; BlazePose's 33 body points
    and 6 of its own)."""

    prob: np.ndarray
    inside: np.ndarray
    presence: float
    points: np.ndarray


def body_square(det: Detection, width: int, height: int, scale: float = 1.25) -> tuple[float, float, float, float]:
    """(cx, cy, side, rotation) in pixels / radians: MediaPipe's pose ROI from a detection (keypoint 0 the mid-hip,
    keypoint 1 the point whose distance gives the body's size and direction; rotation 0 for someone upright,
    positive when the body leans clockwise)."""
    (hx, hy), (px, py) = det.keypoints[0], det.keypoints[1]
    cx, cy = hx * width, hy * height
    dx, dy = (px - hx) * width, (py - hy) * height
    side = max(2.0 * math.hypot(dx, dy) * scale, 8.0)
    rotation = math.pi / 2.0 - math.atan2(-dy, dx)
    rotation = (rotation + math.pi) % (2.0 * math.pi) - math.pi
    return cx, cy, side, rotation


def square_matrix(cx: float, cy: float, side: float, rotation: float, size: int) -> np.ndarray:
    """The 2x3 affine that takes a pixel of the (size x size) model input to its point in the picture."""
    k = side / size
    c, s = math.cos(rotation) * k, math.sin(rotation) * k
    # input pixel centre (u + 0.5, v + 0.5) - size / 2, rotated and scaled, then moved to the square's centre
    half = size / 2.0 - 0.5
    return np.array([[c, -s, cx - c * half + s * half], [s, c, cy - s * half - c * half]], np.float64)


def crop_square(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The (size, size, 3) input the matrix describes, black outside the picture; a large square is first
    area-averaged down (bilinear sampling alone would alias it)."""
    shrink = math.hypot(matrix[0, 0], matrix[1, 0])  # picture pixels per input pixel
    if shrink > 1.5:
        factor = 1.0 / shrink
        small = cv2.resize(rgb, (max(round(rgb.shape[1] * factor), 1), max(round(rgb.shape[0] * factor), 1)),
                           interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / rgb.shape[1], small.shape[0] / rgb.shape[0]
        # the picture's pixel centres (x + 0.5) map to (x + 0.5) * s in the small copy
        matrix = np.array([[matrix[0, 0] * sx, matrix[0, 1] * sx, (matrix[0, 2] + 0.5) * sx - 0.5],
                           [matrix[1, 0] * sy, matrix[1, 1] * sy, (matrix[1, 2] + 0.5) * sy - 0.5]])
        rgb = small
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def paste_square(values: np.ndarray, matrix: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """`values` (size x size, float32) warped into a (height, width) picture, 0 outside the square; and where the
    square lies (bool)."""
    size = values.shape[0]
    out = cv2.warpAffine(values, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0.0)
    inside = cv2.warpAffine(np.ones((size, size), np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return out, inside


class BodySegmenter:
    """`segment(rgb, person) -> BodyMask`; thread-safe. The first `body-segmentation` model in the manifest (or
    `model_id`), its CPU variant unless `device` says otherwise, verified by sha256 before it is loaded."""

    def __init__(self, device: Device = "cpu", threads: int = 1, models_dir: Path | str | None = None,
                 model_id: str | None = None) -> None:
        spec = models.pick_spec(models.BODY_SEGMENTATION, "a body segmenter", model_id, models_dir,
                                NoBodySegmenterError)
        self.spec = spec
        self.variant = models.choose_variant(spec, gpu=device == "gpu")
        models.verify(self.variant)
        self.engine = InferenceEngine(self.variant.path, device, threads)
        width, height = spec.input.size
        if width != height:
            raise ValueError(f"model {spec.id!r} takes {width}x{height}; a body square needs a square input")
        self.size = width
        low, high = spec.input.range
        self._scale, self._offset = (high - low) / 255.0, low
        self._names = [o.name for o in spec.outputs]  # landmarks, presence, segmentation
        order = [m.name for m in self.engine.output_meta]
        self._index = [order.index(name) for name in self._names]
        self._lock = threading.Lock()

    def segment(self, rgb: np.ndarray, person: Detection, scale: float = 1.25) -> BodyMask:
        """`person`'s mask in the (H, W, 3) uint8 RGB picture `rgb` (a detection in its normalized coordinates)."""
        height, width = rgb.shape[:2]
        matrix = square_matrix(*body_square(person, width, height, scale), self.size)
        tensor = crop_square(rgb, matrix, self.size).astype(np.float32) * np.float32(self._scale)
        tensor += np.float32(self._offset)
        with self._lock:
            outputs = self.engine.run({self.spec.input.name: tensor[None]})
        presence = float(np.asarray(outputs[self._index[1]]).reshape(-1)[0])
        marks = np.asarray(outputs[self._index[0]], np.float64).reshape(-1, 5)[:, :2]
        points = (marks @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
        logits = np.asarray(outputs[self._index[2]], np.float32).reshape(self.size, self.size)
        prob = (1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))).astype(np.float32)
        inside_prob, inside = paste_square(prob, matrix, width, height)
        return BodyMask(inside_prob, inside, presence, points)
