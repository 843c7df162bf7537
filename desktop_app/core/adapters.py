"""Model adapters: rgb frame -> session feeds, session outputs -> small mask. One per manifest `kind`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from desktop_app.core import detection
from desktop_app.core.engine import TensorMeta
from desktop_app.core.models import DETECTION, SEGMENTATION, ModelSpec
from desktop_app.core.resize import resize_corner_aligned


@runtime_checkable
class ModelAdapter(Protocol):
    kind: str
    input_size: tuple[int, int]  # (width, height) the session takes

    def preprocess(self, rgb: np.ndarray) -> dict[str, np.ndarray]: ...

    def postprocess(self, outputs: Sequence[np.ndarray]) -> Any:
        """What the kind produces: a (h, w) probability map (segmentation) or a list of detections."""
        ...


class PersonSegmentationAdapter:
    """Image in (NHWC or NCHW, RGB scaled to the manifest range), one-channel probability map out.

    The input buffer is reused between calls: feeds are only valid until the next `preprocess`.
    """

    kind = SEGMENTATION

    def __init__(self, spec: ModelSpec, inputs: Sequence[TensorMeta]) -> None:
        meta = next((m for m in inputs if m.name == spec.input.name), inputs[0])
        self.spec = spec
        self.input_name = meta.name
        self.layout = _layout(meta.shape, spec.input.layout)
        self.input_size = _size(meta.shape, self.layout, spec.input.size)
        width, height = self.input_size
        buffer_shape = (1, height, width, 3) if self.layout == "NHWC" else (1, 3, height, width)
        dtype = meta.dtype if meta.dtype in (np.float32, np.float16) else np.float32
        self._buffer = np.empty(buffer_shape, dtype=dtype)
        low, high = spec.input.range
        self._scale = np.float32((high - low) / 255.0)
        self._offset = np.float32(low)
        self._logits = spec.output.kind == "logits"

    def preprocess(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        """Resize at uint8 (corner-aligned bilinear), then one fused scale into the reused float buffer."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        width, height = self.input_size
        small = (
            rgb if rgb.shape[:2] == (height, width) else resize_corner_aligned(rgb, (width, height), cv2.INTER_LINEAR)
        )
        target = self._buffer[0] if self.layout == "NHWC" else self._buffer[0].transpose(1, 2, 0)
        np.multiply(small, self._scale, out=target, casting="unsafe")
        if self._offset:
            target += self._offset
        return {self.input_name: self._buffer}

    def postprocess(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """(h, w) float32 probability from the first output, whatever its layout."""
        width, height = self.input_size
        out = np.asarray(outputs[0])
        if out.size != width * height:
            raise ValueError(f"model output shape {out.shape} does not hold one {width}x{height} map")
        mask = out.reshape(height, width).astype(np.float32, copy=True)
        if self._logits:
            np.negative(mask, out=mask)
            np.exp(mask, out=mask)
            mask += 1.0
            np.reciprocal(mask, out=mask)
        return mask


class PersonDetectionAdapter:
    """MediaPipe's pose detection (SSD): the frame letterboxed to the input (aspect kept, black around it,
    RGB scaled to the manifest range), and out the people found, as `detection.Detection`s in normalized frame
    coordinates (face box, score, keypoints: mid-hip, full-body size point, mid-shoulder, upper-body size point).

    `preprocess` remembers the letterbox of its frame for the next `postprocess`: one frame at a time.
    """

    kind = DETECTION

    def __init__(self, spec: ModelSpec, inputs: Sequence[TensorMeta], min_score: float = 0.5,
                 nms_iou: float = 0.3, weighted: bool = True) -> None:
        meta = next((m for m in inputs if m.name == spec.input.name), inputs[0])
        self.spec = spec
        self.input_name = meta.name
        self.layout = _layout(meta.shape, spec.input.layout)
        self.input_size = _size(meta.shape, self.layout, spec.input.size)
        width, height = self.input_size
        self.anchors = detection.ssd_anchors(detection.AnchorOptions(input_width=width, input_height=height))
        boxes = spec.outputs[0].shape if spec.outputs else (1, len(self.anchors), 12)
        if boxes[1] != len(self.anchors):
            raise ValueError(f"model {spec.id!r} has {boxes[1]} anchors, the SSD options give {len(self.anchors)}")
        self.options = detection.DecodeOptions(num_keypoints=(boxes[2] - 4) // 2, scale=float(width),
                                               min_score=min_score, nms_iou=nms_iou)
        self.weighted = weighted
        self._dtype = meta.dtype if meta.dtype in (np.float32, np.float16) else np.float32
        low, high = spec.input.range
        self._scale, self._offset = (high - low) / 255.0, low
        self._pad = detection.Letterbox(0.0, 0.0, 0.0, 0.0)

    def preprocess(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        boxed, self._pad = detection.letterbox(rgb, self.input_size)
        tensor = boxed.astype(np.float32) * np.float32(self._scale) + np.float32(self._offset)
        if self.layout == "NCHW":
            tensor = tensor.transpose(2, 0, 1)
        return {self.input_name: np.ascontiguousarray(tensor[None], dtype=self._dtype)}

    def postprocess(self, outputs: Sequence[np.ndarray]) -> list[detection.Detection]:
        """The people found, best first, after weighted NMS, mapped back from the letterbox to the frame."""
        arrays = [np.asarray(o, np.float32) for o in outputs]
        scores = next((a for a in arrays if a.shape[-1] == 1), None)
        boxes = next((a for a in arrays if a.shape[-1] >= 4), None)
        if scores is None or boxes is None or scores.size != len(self.anchors):
            raise ValueError(f"detector outputs {[a.shape for a in arrays]} are not boxes + one score per anchor")
        found = detection.decode(boxes, scores, self.anchors, self.options)
        people = detection.nms(*found, threshold=self.options.nms_iou, weighted=self.weighted)
        return detection.unletterbox(people, self._pad)


from desktop_app.core.faces.adapter import FaceDetectionAdapter  # noqa: E402  (it needs nothing from here)

ADAPTERS: dict[str, type] = {
    PersonSegmentationAdapter.kind: PersonSegmentationAdapter,
    PersonDetectionAdapter.kind: PersonDetectionAdapter,
    FaceDetectionAdapter.kind: FaceDetectionAdapter,
}


def adapter_for(spec: ModelSpec, inputs: Sequence[TensorMeta]) -> ModelAdapter:
    """The adapter for `spec.kind`, sized from the session's inputs."""
    try:
        cls = ADAPTERS[spec.kind]
    except KeyError:
        raise ValueError(
            f"model {spec.id!r} has kind {spec.kind!r}, which has no adapter; known kinds: {', '.join(ADAPTERS)}"
        ) from None
    return cls(spec, inputs)


def _layout(shape: tuple[int | None, ...], declared: str) -> str:
    """The session's layout when its shape says so (channels of 3 last or second), else the manifest's."""
    if len(shape) == 4:
        if shape[3] == 3 and shape[1] != 3:
            return "NHWC"
        if shape[1] == 3 and shape[3] != 3:
            return "NCHW"
    return declared


def _size(shape: tuple[int | None, ...], layout: str, declared: tuple[int, int]) -> tuple[int, int]:
    """(width, height) from the session's input shape; dynamic dimensions take the manifest's value."""
    if len(shape) != 4:
        return declared
    height, width = (shape[1], shape[2]) if layout == "NHWC" else (shape[2], shape[3])
    return (width or declared[0], height or declared[1])
