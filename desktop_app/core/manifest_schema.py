"""The manifest's field rules and the per-kind output rules (split out of models.py, which re-exports them).

Each model kind is checked by its own rule: `person-segmentation` has one mask `output`; `person-detection` has
two SSD `outputs` (boxes, score logits); `face-detection` has a `decoder` and the outputs that decoder reads:
`ssd` (MediaPipe face detection: boxes + logits, the anchor count must follow from the decoder's strides and
the input size) or `centerface` (heatmap, scale, offset, landmarks: 1, 2, 2 and 10 channels at input / stride);
`body-segmentation` (MediaPipe's pose landmark model) has three `outputs`: pose landmarks, a presence probability
and the person's segmentation logits at the input's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LAYOUTS = ("NHWC", "NCHW")
# A person detector (SSD) has two outputs instead of one mask: per anchor the raw box + keypoints, and a score logit.
DETECTION_OUTPUTS = ("ssd-boxes", "logits")
DECODERS = ("ssd", "centerface")
# A whole-body segmenter: per body square its landmarks (x, y, z, visibility, presence each), a pose flag, and a mask.
BODY_OUTPUTS = ("pose-landmarks", "probability", "logits")
CENTERFACE_OUTPUTS = (("heatmap", 1), ("scale", 2), ("offset", 2), ("landmarks", 10))


class ManifestError(ValueError):
    """The manifest is missing, not JSON, or does not follow the schema; the message names the problem."""


@dataclass(frozen=True, slots=True)
class OutputSpec:
    name: str
    shape: tuple[int, ...]
    layout: str  # "" for a detector's (N, anchors, values) outputs
    kind: str  # segmentation: "probability" | "logits"; detection: "ssd-boxes" | "logits"; centerface: its names


@dataclass(frozen=True, slots=True)
class DecoderSpec:
    """How a face detector's outputs become faces (see desktop_app/core/faces/decode.py)."""

    type: str  # "ssd" | "centerface"
    min_score: float
    nms_iou: float
    strides: tuple[int, ...] = ()  # ssd: SSD anchor layer strides
    interpolated_scale_aspect_ratio: float = 1.0  # ssd: > 0 adds one anchor per location
    stride: int = 0  # centerface: output cell size in input pixels


# ------------------------------------------------------------------------------------------ field rules


def require_dict(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} must be a JSON object")
    return raw


def string(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{where}: {key!r} must be a non-empty string")
    return value


def choice(obj: dict[str, Any], key: str, choices: tuple[str, ...], where: str) -> str:
    value = obj.get(key)
    if value not in choices:
        raise ManifestError(f"{where}: {key!r} must be one of {', '.join(choices)}, not {value!r}")
    return value


def shape_of(obj: dict[str, Any], where: str, ndim: int = 4) -> tuple[int, ...]:
    shape = obj.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != ndim
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        words = {2: "two", 3: "three", 4: "four"}.get(ndim, str(ndim))
        raise ManifestError(f"{where}: 'shape' must be {words} positive integers, not {shape!r}")
    return tuple(shape)


def optional_number(obj: dict[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ManifestError(f"{where}: {key!r} must be a number")
    return float(value)


def positive_int(obj: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ManifestError(f"{where}: {key!r} must be a positive integer, not {value!r}")
    return value


def share(obj: dict[str, Any], key: str, where: str, default: float) -> float:
    """A number in (0, 1]: a score threshold or an IoU."""
    value = optional_number(obj, key, where)
    value = default if value is None else value
    if not 0.0 < value <= 1.0:
        raise ManifestError(f"{where}: {key!r} must be in (0, 1], not {value!r}")
    return value


# ----------------------------------------------------------------------------------------- kind rules


def detection_outputs(raw: Any, where: str) -> tuple[OutputSpec, OutputSpec]:
    """Exactly two outputs of one batch and the same anchor count: kind 'ssd-boxes' (>= 4 values per anchor:
    box, then keypoints) and kind 'logits' (one score per anchor); returned as (boxes, scores)."""
    if not isinstance(raw, list) or len(raw) != 2:
        raise ManifestError(f"{where} must be a list of two outputs: {', '.join(DETECTION_OUTPUTS)}")
    found: dict[str, OutputSpec] = {}
    for i, item in enumerate(raw):
        obj = require_dict(item, f"{where}[{i}]")
        kind = choice(obj, "kind", DETECTION_OUTPUTS, f"{where}[{i}]")
        shape = shape_of(obj, f"{where}[{i}]", ndim=3)
        found[kind] = OutputSpec(name=string(obj, "name", f"{where}[{i}]"), shape=shape, layout="", kind=kind)
    if len(found) != 2:
        raise ManifestError(f"{where}: needs one output of each kind: {', '.join(DETECTION_OUTPUTS)}")
    boxes, scores = found["ssd-boxes"], found["logits"]
    if boxes.shape[:2] != scores.shape[:2] or scores.shape[2] != 1 or boxes.shape[2] < 4:
        raise ManifestError(f"{where}: boxes {list(boxes.shape)} and scores {list(scores.shape)} do not match "
                            "(same batch and anchors; >= 4 box values and 1 score per anchor)")
    return boxes, scores


def body_outputs(raw: Any, where: str, size: tuple[int, int]) -> tuple[OutputSpec, OutputSpec, OutputSpec]:
    """Exactly three outputs, one of each kind in BODY_OUTPUTS: 'pose-landmarks' (1, 5 x points), 'probability'
    (1, 1: the pose flag) and 'logits' (1, height, width, 1: the mask, at the input's `size`); returned in that
    order."""
    if not isinstance(raw, list) or len(raw) != 3:
        raise ManifestError(f"{where} must be a list of three outputs: {', '.join(BODY_OUTPUTS)}")
    found: dict[str, OutputSpec] = {}
    for i, item in enumerate(raw):
        obj = require_dict(item, f"{where}[{i}]")
        kind = choice(obj, "kind", BODY_OUTPUTS, f"{where}[{i}]")
        shape = shape_of(obj, f"{where}[{i}]", ndim=4 if kind == "logits" else 2)
        found[kind] = OutputSpec(name=string(obj, "name", f"{where}[{i}]"), shape=shape,
                                 layout="NHWC" if kind == "logits" else "", kind=kind)
    if len(found) != 3:
        raise ManifestError(f"{where}: needs one output of each kind: {', '.join(BODY_OUTPUTS)}")
    points, flag, mask = (found[k] for k in BODY_OUTPUTS)
    width, height = size
    if len(points.shape) != 2 or points.shape[1] % 5 or flag.shape != (1, 1) or mask.shape != (1, height, width, 1):
        raise ManifestError(f"{where}: landmarks {list(points.shape)}, presence {list(flag.shape)} and mask "
                            f"{list(mask.shape)} do not fit a {width}x{height} input (1 x 5n, 1 x 1, "
                            f"1 x {height} x {width} x 1)")
    return points, flag, mask


def ssd_anchor_count(width: int, height: int, strides: tuple[int, ...], interpolated: float) -> int:
    """How many anchors MediaPipe's SsdAnchorsCalculator makes (one aspect ratio; `detection.ssd_anchors`)."""
    total, layer = 0, 0
    while layer < len(strides):
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
        per_cell = (last - layer) * (1 + (1 if interpolated > 0 else 0))
        total += math.ceil(height / strides[layer]) * math.ceil(width / strides[layer]) * per_cell
        layer = last
    return total


def face_detection(obj: dict[str, Any], size: tuple[int, int], layout: str, multiple: int,
                   where: str) -> tuple[tuple[OutputSpec, ...], DecoderSpec]:
    """A face detector's `outputs` and `decoder`, checked against each other and the input (width, height)."""
    raw = require_dict(obj.get("decoder"), f"{where} decoder")
    dwhere = f"{where} decoder"
    kind = choice(raw, "type", DECODERS, dwhere)
    min_score, nms_iou = share(raw, "min_score", dwhere, 0.5), share(raw, "nms_iou", dwhere, 0.3)
    width, height = size
    if kind == "ssd":
        strides = raw.get("strides")
        if not isinstance(strides, list) or not strides or not all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in strides):
            raise ManifestError(f"{dwhere}: 'strides' must be a non-empty list of positive integers")
        interpolated = optional_number(raw, "interpolated_scale_aspect_ratio", dwhere)
        interpolated = 1.0 if interpolated is None else interpolated
        boxes, scores = detection_outputs(obj.get("outputs"), f"{where} outputs")
        anchors = ssd_anchor_count(width, height, tuple(strides), interpolated)
        if boxes.shape[1] != anchors:
            raise ManifestError(f"{where}: the outputs have {boxes.shape[1]} anchors, the decoder's strides "
                                f"{strides} at {width}x{height} give {anchors}")
        if (boxes.shape[2] - 4) % 2:
            raise ManifestError(f"{where}: {boxes.shape[2]} box values are not 4 + 2 per keypoint")
        return (boxes, scores), DecoderSpec(kind, min_score, nms_iou, tuple(strides), interpolated)
    stride = positive_int(raw, "stride", dwhere)
    if layout != "NCHW":
        raise ManifestError(f"{where}: a centerface input is NCHW, not {layout}")
    if multiple and (multiple % stride or width % multiple or height % multiple):
        raise ManifestError(f"{where}: input {width}x{height} and size_multiple {multiple} do not fit stride {stride}")
    outputs = obj.get("outputs")
    if not isinstance(outputs, list) or len(outputs) != len(CENTERFACE_OUTPUTS):
        raise ManifestError(f"{where} outputs must be a list of {', '.join(k for k, _ in CENTERFACE_OUTPUTS)}")
    specs = []
    for i, ((name, channels), item) in enumerate(zip(CENTERFACE_OUTPUTS, outputs, strict=True)):
        owhere = f"{where} outputs[{i}]"
        o = require_dict(item, owhere)
        choice(o, "kind", (name,), owhere)
        shape = shape_of(o, owhere)
        want = (1, channels, height // stride, width // stride)
        if shape != want:
            raise ManifestError(f"{owhere}: a {name} output at {width}x{height} is {list(want)}, not {list(shape)}")
        specs.append(OutputSpec(string(o, "name", owhere), shape, "NCHW", name))
    return tuple(specs), DecoderSpec(kind, min_score, nms_iou, stride=stride)
