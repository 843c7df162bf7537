"""The bundled person detector: SSD anchors, decoding, NMS, letterbox (pure, on synthetic outputs where the right
answer is known), its manifest kind, its adapter, and that nothing that picks segmentation models ever picks it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_model import model_entry, write_manifest

from desktop_app import paths
from desktop_app.core import detection, models
from desktop_app.core.adapters import PersonDetectionAdapter, adapter_for
from desktop_app.core.detection import Detection, Letterbox
from desktop_app.core.engine import TensorMeta

BUNDLED = Path(__file__).resolve().parents[1] / "models"


def _detector_entry() -> dict:
    manifest = json.loads((BUNDLED / "manifest.json").read_text(encoding="utf-8"))
    return copy.deepcopy(next(m for m in manifest["models"] if m["kind"] == "person-detection"))


def _bundled_spec() -> models.ModelSpec:
    return models.load_manifest(BUNDLED).of_kind(models.DETECTION)[0]


# ------------------------------------------------------------------------------------------- anchors


def test_pose_anchors_follow_the_ssd_layers() -> None:
    anchors = detection.ssd_anchors()
    assert anchors.shape == (2254, 2)  # 28*28*2 + 14*14*2 + 7*7*6
    np.testing.assert_allclose(anchors[0], anchors[1])  # two anchors per location in a layer
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])  # x runs fastest
    np.testing.assert_allclose(anchors[56], [0.5 / 28, 1.5 / 28])
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])  # stride 16 starts
    np.testing.assert_allclose(anchors[1960:1966], [[0.5 / 7, 0.5 / 7]] * 6)  # three stride-32 layers share a map
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


# ------------------------------------------------------------------------------------------- decode


def _raw(anchors: np.ndarray, people: dict[int, tuple[float, tuple[float, float, float, float], list]]
         ) -> tuple[np.ndarray, np.ndarray]:
    """Raw model outputs with the given anchors firing: {anchor: (logit, (cx, cy, w, h), [(kx, ky) x4])}."""
    boxes = np.zeros((1, len(anchors), 12), np.float32)
    scores = np.full((1, len(anchors), 1), -20.0, np.float32)
    for i, (logit, (cx, cy, w, h), kps) in people.items():
        ax, ay = anchors[i]
        row = [(cx - ax) * 224, (cy - ay) * 224, w * 224, h * 224]
        for kx, ky in kps:
            row += [(kx - ax) * 224, (ky - ay) * 224]
        boxes[0, i] = row
        scores[0, i, 0] = logit
    return boxes, scores


def test_decode_gives_boxes_keypoints_and_sigmoid_scores() -> None:
    anchors = detection.ssd_anchors()
    kps = [(0.5, 0.7), (0.5, 0.3), (0.5, 0.45), (0.5, 0.2)]
    boxes, scores = _raw(anchors, {100: (2.0, (0.4, 0.3, 0.2, 0.1), kps), 2000: (-1.0, (0.8, 0.8, 0.1, 0.1), kps)})
    out_boxes, out_kps, out_scores = detection.decode(boxes, scores, anchors)
    assert len(out_boxes) == 1  # sigmoid(-1) = 0.27 is under the 0.5 threshold
    np.testing.assert_allclose(out_boxes[0], [0.3, 0.25, 0.5, 0.35], atol=1e-6)
    np.testing.assert_allclose(out_kps[0], kps, atol=1e-6)
    np.testing.assert_allclose(out_scores, [1 / (1 + np.exp(-2.0))], rtol=1e-6)


def test_decode_clips_huge_logits_instead_of_overflowing() -> None:
    anchors = detection.ssd_anchors()
    boxes, scores = _raw(anchors, {5: (1e6, (0.5, 0.5, 0.1, 0.1), [(0.5, 0.5)] * 4)})
    scores[0, 6, 0] = -1e6
    with np.errstate(over="raise"):
        _, _, out = detection.decode(boxes, scores, anchors)
    np.testing.assert_allclose(out, [1.0])


# ---------------------------------------------------------------------------------------------- NMS


def test_weighted_nms_averages_a_cluster_and_keeps_separate_people() -> None:
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]], np.float32)
    kps = np.array([[[0.2, 0.2]] * 4, [[0.22, 0.2]] * 4, [[0.7, 0.7]] * 4], np.float32)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    out = detection.nms(boxes, kps, scores, threshold=0.3, weighted=True)
    assert [round(d.score, 3) for d in out] == [0.9, 0.7]  # best first; the 0.6 one merged into the first
    np.testing.assert_allclose(out[0].box, [0.108, 0.1, 0.308, 0.3], atol=1e-6)  # (0.9*0.1 + 0.6*0.12) / 1.5
    np.testing.assert_allclose(out[0].keypoints[0], [0.208, 0.2], atol=1e-6)
    np.testing.assert_allclose(out[1].box, boxes[2], atol=1e-6)
    plain = detection.nms(boxes, kps, scores, threshold=0.3, weighted=False)
    np.testing.assert_allclose(plain[0].box, boxes[0], atol=1e-6)
    assert len(plain) == 2


def test_nms_keeps_boxes_that_overlap_less_than_the_threshold() -> None:
    boxes = np.array([[0.0, 0.0, 0.2, 0.2], [0.15, 0.0, 0.35, 0.2]], np.float32)  # IoU 0.14
    out = detection.nms(boxes, np.zeros((2, 4, 2), np.float32), np.array([0.8, 0.9], np.float32), threshold=0.3)
    assert [round(d.score, 2) for d in out] == [0.9, 0.8]


def test_iou_of_disjoint_nested_and_empty_boxes() -> None:
    box = np.array([0.0, 0.0, 1.0, 1.0])
    others = np.array([[2.0, 2.0, 3.0, 3.0], [0.0, 0.0, 0.5, 1.0], [0.5, 0.5, 0.5, 0.5]])
    np.testing.assert_allclose(detection.iou(box, others), [0.0, 0.5, 0.0])


# ---------------------------------------------------------------------------------------- letterbox


def test_letterbox_keeps_the_aspect_and_maps_back() -> None:
    rgb = np.full((100, 200, 3), 200, np.uint8)
    boxed, pad = detection.letterbox(rgb, (224, 224))
    assert boxed.shape == (224, 224, 3)
    assert pad == Letterbox(0.0, 56 / 224, 0.0, 56 / 224)
    assert (boxed[:56] == 0).all() and (boxed[168:] == 0).all() and (boxed[56:168] == 200).all()
    x, y = pad.to_frame(0.5, 56 / 224)
    assert (x, y) == pytest.approx((0.5, 0.0))
    det = Detection(0.9, (0.25, 0.375, 0.75, 0.625), ((0.5, 0.5),) * 4)
    (back,) = detection.unletterbox([det], pad)
    assert back.box == pytest.approx((0.25, 0.25, 0.75, 0.75))
    assert back.keypoints[0] == pytest.approx((0.5, 0.5))


def test_body_box_is_the_square_around_the_hip_through_the_size_point() -> None:
    det = Detection(0.9, (0.4, 0.1, 0.6, 0.2), ((0.5, 0.5), (0.5, 0.3), (0.5, 0.35), (0.5, 0.25)))
    assert detection.body_box(det, 100, 200, scale=1.25) == (0, 50, 100, 150)  # radius 40 px, x 1.25


# ------------------------------------------------------------------------------------------ adapter


def test_adapter_letterboxes_into_the_model_range_and_maps_detections_back() -> None:
    spec = _bundled_spec()
    adapter = adapter_for(spec, [TensorMeta("input_1", (1, 224, 224, 3), np.float32)])
    assert isinstance(adapter, PersonDetectionAdapter) and adapter.input_size == (224, 224)
    rgb = np.full((100, 200, 3), 255, np.uint8)
    (feed,) = adapter.preprocess(rgb).values()
    assert feed.shape == (1, 224, 224, 3) and feed.dtype == np.float32
    assert feed[0, 0].max() == -1.0 and feed[0, 112].min() == 1.0  # black border -1, white frame +1
    kps = [(0.5, 0.5)] * 4
    boxes, scores = _raw(adapter.anchors, {300: (3.0, (0.5, 0.5, 0.5, 0.25), kps)})
    (person,) = adapter.postprocess([boxes, scores])
    assert person.box == pytest.approx((0.25, 0.25, 0.75, 0.75), abs=1e-5)
    (again,) = adapter.postprocess([scores, boxes])  # found by shape, whatever the session's output order
    assert again.box == person.box


def test_adapter_rejects_outputs_that_are_not_boxes_and_scores() -> None:
    adapter = adapter_for(_bundled_spec(), [TensorMeta("input_1", (1, 224, 224, 3), np.float32)])
    adapter.preprocess(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="not boxes \\+ one score per anchor"):
        adapter.postprocess([np.zeros((1, 10, 12), np.float32), np.zeros((1, 10, 1), np.float32)])


# ------------------------------------------------------------------------------------------ manifest


def test_manifest_parses_a_detector_with_its_two_outputs() -> None:
    spec = _bundled_spec()
    assert spec.id == "pose-detection" and spec.kind == "person-detection"
    assert spec.input.shape == (1, 224, 224, 3) and spec.input.range == (-1.0, 1.0)
    assert [(o.name, o.kind, o.shape) for o in spec.outputs] == [
        ("boxes", "ssd-boxes", (1, 2254, 12)), ("scores", "logits", (1, 2254, 1))]
    assert dict(spec.source)["file"] == "mediapipe/modules/pose_detection/pose_detection.tflite"
    assert spec.license == "Apache-2.0"
    assert "Apache License" in (BUNDLED / spec.license_file).read_text(encoding="utf-8")[:200]
    for variant in spec.variants:
        assert models.file_status(variant) == "ok"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update(kind="depth"), "'kind' must be one of person-segmentation, person-detection"),
        (lambda e: e.update(output=e["outputs"][1]), "has 'outputs' (boxes and scores), not one 'output'"),
        (lambda e: e.pop("outputs"), "must be a list of two outputs"),
        (lambda e: e["outputs"].pop(), "must be a list of two outputs"),
        (lambda e: e["outputs"][0].update(kind="logits"), "needs one output of each kind"),
        (lambda e: e["outputs"][0].update(kind="mask"), "'kind' must be one of ssd-boxes, logits"),
        (lambda e: e["outputs"][1].update(shape=[1, 2253, 1]), "do not match"),
        (lambda e: e["outputs"][0].update(shape=[1, 2254, 12, 1]), "'shape' must be three positive integers"),
    ],
)
def test_detector_schema_problems_are_named(tmp_path: Path, change, message: str) -> None:
    entry = _detector_entry()
    change(entry)
    write_manifest(tmp_path, [model_entry(tmp_path), entry])
    with pytest.raises(models.ManifestError, match=message.replace("(", "\\(").replace(")", "\\)")):
        models.load_manifest(tmp_path)


def test_a_segmentation_model_with_detector_outputs_is_rejected(tmp_path: Path) -> None:
    entry = model_entry(tmp_path)
    entry["outputs"] = _detector_entry()["outputs"]
    write_manifest(tmp_path, [entry])
    with pytest.raises(models.ManifestError, match="has one 'output' \\(its mask\\), not 'outputs'"):
        models.load_manifest(tmp_path)


# ------------------------------------------------------------------------- segmentation is unaffected


def test_segmenter_auto_never_picks_the_detector_even_when_listed_first(tmp_path: Path) -> None:
    from desktop_app.core.segmenter import Segmenter

    write_manifest(tmp_path, [_detector_entry(), model_entry(tmp_path, "selfie-landscape", 256, 144)])
    segmenter = Segmenter("auto", device="cpu", models_dir=tmp_path)  # the detector file is not even there
    assert segmenter.spec.id == "selfie-landscape"
    assert segmenter.may_use() == ["selfie-landscape"]
    segmenter.predict(np.zeros((300, 300, 3), np.uint8))  # a square frame would want `selfie-general`
    assert segmenter.spec.id == "selfie-landscape"


def test_segmenter_refuses_the_detector_by_id() -> None:
    from desktop_app.core.segmenter import Segmenter

    with pytest.raises(models.UnknownModelError, match="'pose-detection' is a person-detection model"):
        Segmenter("pose-detection", device="cpu", models_dir=BUNDLED)


def test_cli_model_choice_lists_only_segmentation_models() -> None:
    from desktop_app.cli import UsageError, check_model_id

    with pytest.raises(UsageError, match=r"known models: auto, selfie-general, selfie-landscape$"):
        check_model_id("pose-detection")


def test_self_test_rule_for_a_detector() -> None:
    from desktop_app.selftest import _check_detections

    face = Detection(0.8, (0.3, 0.26, 0.51, 0.46), ((0.3, 1.0),) * 4)
    assert "1 person(s)" in _check_detections([face])
    with pytest.raises(AssertionError, match="no person found"):
        _check_detections([])
    with pytest.raises(AssertionError, match="not the astronaut"):
        _check_detections([Detection(0.8, (0.0, 0.8, 0.1, 0.9), ((0.0, 0.0),) * 4)])


# ------------------------------------------------------------------------------- the bundled model


def test_bundled_detector_finds_the_astronaut_and_nobody_on_grey() -> None:
    from desktop_app.core.detector import PersonDetector
    from desktop_app.core.imageio import read_image

    detector = PersonDetector(models_dir=BUNDLED)
    rgb = read_image(paths.sample_image()).rgb
    (person, *_) = detector.detect(rgb)
    assert person.score > 0.7
    x0, y0, x1, y1 = person.box  # her face
    assert 0.25 < (x0 + x1) / 2 < 0.55 and 0.2 < (y0 + y1) / 2 < 0.5
    assert person.keypoints[0][1] > 0.8  # the hips: at the bottom edge or below it
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_detector_requires_a_detection_model(tmp_path: Path) -> None:
    from desktop_app.core.detector import NoDetectorError, PersonDetector

    write_manifest(tmp_path, [model_entry(tmp_path)])
    with pytest.raises(NoDetectorError, match="lists no person-detection model"):
        PersonDetector(models_dir=tmp_path)
    with pytest.raises(ValueError, match="is a person-segmentation model, not a person detector"):
        PersonDetector(models_dir=tmp_path, model_id="selfie-general")
