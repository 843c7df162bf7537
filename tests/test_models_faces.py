"""The `face-detection` manifest kind: checked by its own rule (decoder + the outputs it reads), and the bundled
face detectors: listed, verified by sha256, and run through their adapter on synthetic and real inputs."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from desktop_app import paths
from desktop_app.core import models
from desktop_app.core.engine import TensorMeta
from desktop_app.core.faces.adapter import FaceDetectionAdapter
from desktop_app.core.models import ManifestError

VARIANT = {"precision": "fp32", "file": "x.onnx", "sha256": "0" * 64, "devices": ["cpu"]}
SSD = {
    "id": "face-ssd", "kind": "face-detection", "title": "t",
    "input": {"name": "input", "shape": [1, 128, 128, 3], "layout": "NHWC", "range": [-1.0, 1.0],
              "resize": "letterbox"},
    "outputs": [{"name": "boxes", "shape": [1, 896, 16], "kind": "ssd-boxes"},
                {"name": "scores", "shape": [1, 896, 1], "kind": "logits"}],
    "decoder": {"type": "ssd", "strides": [8, 16, 16, 16], "interpolated_scale_aspect_ratio": 1.0,
                "min_score": 0.5, "nms_iou": 0.3},
    "variants": [VARIANT],
}
CENTER = {
    "id": "face-cf", "kind": "face-detection", "title": "t",
    "input": {"name": "input", "shape": [1, 3, 64, 96], "layout": "NCHW", "range": [0.0, 255.0],
              "size_multiple": 32},
    "outputs": [{"name": n, "shape": [1, c, 16, 24], "kind": n}
                for n, c in (("heatmap", 1), ("scale", 2), ("offset", 2), ("landmarks", 10))],
    "decoder": {"type": "centerface", "stride": 4, "min_score": 0.5, "nms_iou": 0.3},
    "variants": [VARIANT],
}


def parse(entry: dict) -> models.ModelSpec:
    return models.parse_manifest({"schema_version": 1, "models": [entry]}, Path("/nowhere")).models[0]


def changed(entry: dict, path: str, value: object) -> dict:
    out = copy.deepcopy(entry)
    *keys, last = path.split(".")
    node = out
    for k in keys:
        node = node[int(k)] if k.isdigit() else node[k]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return out


def test_both_face_decoders_parse_into_typed_specs() -> None:
    ssd, cf = parse(SSD), parse(CENTER)
    assert ssd.kind == cf.kind == models.FACE_DETECTION
    assert ssd.decoder is not None and ssd.decoder.strides == (8, 16, 16, 16) and ssd.output.name == "scores"
    assert cf.decoder is not None and cf.decoder.stride == 4 and cf.input.size_multiple == 32
    assert [o.kind for o in cf.outputs] == ["heatmap", "scale", "offset", "landmarks"] and cf.output.name == "heatmap"


@pytest.mark.parametrize(("entry", "path", "value", "message"), [
    (SSD, "decoder", None, "decoder must be a JSON object"),
    (SSD, "decoder.type", "yolo", "'type' must be one of ssd, centerface"),
    (SSD, "decoder.strides", [8, 16], "896 anchors, the decoder's strides"),
    (SSD, "decoder.min_score", 1.5, "'min_score' must be in"),
    (SSD, "outputs.1.shape", [1, 895, 1], "do not match"),
    (SSD, "outputs.0.shape", [1, 896, 15], "not 4 \\+ 2 per keypoint"),
    (CENTER, "outputs.1.shape", [1, 3, 16, 24], "a scale output at 96x64 is \\[1, 2, 16, 24\\]"),
    (CENTER, "outputs.2.kind", "landmarks", "'kind' must be one of offset"),
    (CENTER, "outputs", [], "outputs must be a list of heatmap"),
    (CENTER, "input.layout", "NHWC", "needs 3 channels|is NCHW"),
    (CENTER, "input.size_multiple", 30, "do not fit stride 4"),
    (CENTER, "decoder.stride", 0, "'stride' must be a positive integer"),
    (CENTER, "output", {"name": "m"}, "has 'outputs'"),
])
def test_a_face_detector_that_breaks_its_kinds_rule_is_refused_by_name(entry: dict, path: str, value: object,
                                                                       message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse(changed(entry, path, value))


def test_the_person_detector_rule_is_unchanged_by_the_new_kind() -> None:
    person = changed(changed(SSD, "kind", "person-detection"), "decoder", None)
    assert parse(person).decoder is None  # no decoder needed for a person detector
    odd = changed(changed(person, "outputs.0.shape", [1, 5, 12]), "outputs.1.shape", [1, 5, 1])
    assert parse(odd).outputs[0].shape == (1, 5, 12)  # its anchors are the adapter's business, as before
    with pytest.raises(ManifestError, match="decoder must be a JSON object"):
        parse(changed(odd, "kind", "face-detection"))


def test_the_centerface_adapter_maps_a_synthetic_face_back_to_the_frame() -> None:
    spec = parse(CENTER)
    adapter = FaceDetectionAdapter(spec, [TensorMeta("input", (1, 3, None, None), np.float32)])
    feeds = adapter.preprocess(np.zeros((90, 160, 3), np.uint8))  # -> 96x54, padded to 96x64
    assert feeds["input"].shape == (1, 3, 64, 96)
    heat, scale = np.zeros((1, 1, 16, 24), np.float32), np.zeros((1, 2, 16, 24), np.float32)
    heat[0, 0, 6, 12] = 0.9
    scale[0, :, 6, 12] = np.log(24 / 4), np.log(16 / 4)  # 16 wide, 24 tall around (50, 26)
    outs = [heat, scale, np.zeros((1, 2, 16, 24), np.float32), np.zeros((1, 10, 16, 24), np.float32)]
    (face,) = adapter.postprocess(outs)
    assert face.score == pytest.approx(0.9)
    assert face.box == pytest.approx((42 / 96, 14 / 54, 58 / 96, 38 / 54), abs=1e-5)
    with pytest.raises(ValueError, match="heatmap, scale, offset, landmarks"):
        adapter.postprocess(outs[:3])


def bundled() -> models.Manifest:
    return models.load_manifest(paths.models_dir())


def test_the_bundled_face_detectors_are_listed_verified_and_small() -> None:
    faces = bundled().of_kind(models.FACE_DETECTION)
    assert {m.id for m in faces} == {"face-centerface", "face-short-range", "face-full-range"}
    for spec in faces:
        for variant in spec.variants:
            models.verify(variant)
            assert variant.bytes < 4_000_000, f"{variant.file} is {variant.bytes} bytes"
    centerface = bundled().get("face-centerface")
    cpu = models.choose_variant(centerface, gpu=False)
    assert cpu.precision.startswith("int8") and cpu.f1 is not None and cpu.f1 >= 0.95  # shipped behind the gate
    assert models.choose_variant(centerface, gpu=True).precision == "fp16"  # the float variant for GPUs


@pytest.mark.parametrize("model_id", ["face-centerface", "face-short-range", "face-full-range"])
def test_each_bundled_face_detector_finds_the_astronauts_face(model_id: str) -> None:
    from desktop_app.core.adapters import adapter_for
    from desktop_app.core.engine import InferenceEngine
    from desktop_app.core.imageio import read_image

    spec = bundled().get(model_id)
    variant = models.choose_variant(spec, gpu=False)
    engine = InferenceEngine(variant.path, "cpu")
    adapter = adapter_for(spec, engine.input_meta)
    rgb = read_image(paths.sample_image()).rgb
    faces = adapter.postprocess(engine.run(adapter.preprocess(rgb)))
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    assert 0.3 < (x0 + x1) / 2 < 0.6 and 0.1 < (y0 + y1) / 2 < 0.4 and faces[0].score > 0.7


def test_face_detector_loads_by_id_refuses_other_kinds_and_finds_the_small_face_only_at_full_size() -> None:
    from desktop_app.core.faces.detector import LIVE_MODEL, FaceDetector
    from desktop_app.core.imageio import read_image

    with pytest.raises(ValueError, match="not a face detector"):
        FaceDetector("selfie-general")
    rgb = read_image(paths.sample_image()).rgb  # 512x512, the face ~90 px tall
    scene = np.full((1024, 1536, 3), 118, np.uint8)
    scene[400:528, 700:828] = rgb[::4, ::4]  # the astronaut at a quarter: a ~22 px face in a 1536 px photo
    assert len(FaceDetector(max_side=1536).detect(scene)) == 1
    assert FaceDetector(max_side=384).detect(scene) == []  # shrunk 4x more, the face is gone: why photos run big
    assert len(FaceDetector(LIVE_MODEL).detect(rgb)) == 1


def test_a_face_detector_whose_gpu_fails_runs_the_cpu_variant_and_says_why(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from desktop_app.core.engine import InferenceEngine
    from desktop_app.core.faces import detector as detector_module

    opened: list[tuple[str, str]] = []

    class GpuFails(InferenceEngine):
        def __init__(self, path, device="auto", threads=1, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(path, "cpu", threads)  # the GPU provider failed: the session runs on the CPU
            opened.append((str(path), device))
            if device == "gpu":
                self.fallback_reason = "GPU failed: test"

    monkeypatch.setattr(detector_module, "InferenceEngine", GpuFails)
    found = detector_module.FaceDetector(detector_module.PHOTO_MODEL, device="gpu")
    assert [device for _, device in opened] == ["gpu", "cpu"]
    assert opened[0][0].endswith("centerface_fp16.onnx") and opened[1][0].endswith("centerface_int8.onnx")
    assert found.variant.precision == "int8" and found.fallback_reason == "GPU failed: test"
