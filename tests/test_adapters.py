"""adapters.py: pre/post-processing shapes, layouts, value ranges and the kind registry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from synthetic_model import expected_probability, model_entry, write_manifest

from desktop_app.core import models
from desktop_app.core.adapters import (
    ADAPTERS,
    ModelAdapter,
    PersonDetectionAdapter,
    PersonSegmentationAdapter,
    adapter_for,
)
from desktop_app.core.engine import InferenceEngine, TensorMeta
from desktop_app.core.faces.adapter import FaceDetectionAdapter
from desktop_app.core.resize import resize_corner_aligned


def _spec(tmp_path: Path, width: int = 256, height: int = 256, layout: str = "NHWC") -> models.ModelSpec:
    write_manifest(tmp_path, [model_entry(tmp_path, width=width, height=height, layout=layout)])
    return models.load_manifest(tmp_path).get("selfie-general")


def _gradient(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def test_registry_maps_kind_to_adapter() -> None:
    assert {"person-segmentation": PersonSegmentationAdapter, "person-detection": PersonDetectionAdapter,
            "face-detection": FaceDetectionAdapter} == ADAPTERS


def test_unknown_kind_is_a_clear_error(tmp_path: Path) -> None:
    spec = dataclasses.replace(_spec(tmp_path), kind="depth")
    with pytest.raises(ValueError, match="kind 'depth', which has no adapter; known kinds: person-segmentation"):
        adapter_for(spec, [TensorMeta("input_1", (1, 256, 256, 3), np.float32)])


def test_nhwc_preprocess_resizes_and_scales(tmp_path: Path) -> None:
    spec = _spec(tmp_path, 256, 144)
    adapter = adapter_for(spec, [TensorMeta("input_1", (1, 144, 256, 3), np.float32)])
    assert isinstance(adapter, ModelAdapter)
    assert adapter.input_size == (256, 144)
    rgb = _gradient(480, 640)
    feeds = adapter.preprocess(rgb)
    assert list(feeds) == ["input_1"]
    tensor = feeds["input_1"]
    assert tensor.shape == (1, 144, 256, 3)
    assert tensor.dtype == np.float32
    expected = resize_corner_aligned(rgb, (256, 144)).astype(np.float32) / 255.0
    np.testing.assert_allclose(tensor[0], expected, atol=1e-6)


def test_input_buffer_is_reused(tmp_path: Path) -> None:
    adapter = adapter_for(_spec(tmp_path), [TensorMeta("input_1", (1, 256, 256, 3), np.float32)])
    first = adapter.preprocess(_gradient(300, 200))["input_1"]
    second = adapter.preprocess(np.zeros((256, 256, 3), np.uint8))["input_1"]
    assert first is second
    assert float(second.max()) == 0.0


def test_size_comes_from_the_session_shape(tmp_path: Path) -> None:
    spec = _spec(tmp_path)  # manifest says 256x256
    adapter = adapter_for(spec, [TensorMeta("input_1", (1, 128, 160, 3), np.float32)])
    assert adapter.input_size == (160, 128)
    dynamic = adapter_for(spec, [TensorMeta("input_1", (None, None, None, 3), np.float32)])
    assert dynamic.input_size == (256, 256)


def test_nchw_layout_matches_nhwc_output(tmp_path: Path) -> None:
    nhwc_dir, nchw_dir = tmp_path / "nhwc", tmp_path / "nchw"
    rgb = _gradient(240, 320)
    masks = []
    for directory, layout in ((nhwc_dir, "NHWC"), (nchw_dir, "NCHW")):
        directory.mkdir()
        spec = _spec(directory, layout=layout)
        eng = InferenceEngine(spec.variants[0].path, device="cpu")
        adapter = adapter_for(spec, eng.input_meta)
        feeds = adapter.preprocess(rgb)
        expected_shape = (1, 256, 256, 3) if layout == "NHWC" else (1, 3, 256, 256)
        assert feeds["input_1"].shape == expected_shape
        masks.append(adapter.postprocess(eng.run(feeds)))
    assert masks[0].shape == masks[1].shape == (256, 256)
    np.testing.assert_allclose(masks[0], masks[1], atol=1e-6)


def test_postprocess_squeezes_to_float32_map(tmp_path: Path) -> None:
    adapter = adapter_for(_spec(tmp_path, 256, 144), [TensorMeta("input_1", (1, 144, 256, 3), np.float32)])
    out = np.linspace(0, 1, 144 * 256, dtype=np.float32).reshape(1, 144, 256, 1)
    mask = adapter.postprocess([out])
    assert mask.shape == (144, 256)
    assert mask.dtype == np.float32
    assert mask.flags.c_contiguous
    np.testing.assert_array_equal(mask, out[0, :, :, 0])
    assert adapter.postprocess([out.astype(np.float16)]).dtype == np.float32


def test_postprocess_rejects_a_wrong_size(tmp_path: Path) -> None:
    adapter = adapter_for(_spec(tmp_path), [TensorMeta("input_1", (1, 256, 256, 3), np.float32)])
    with pytest.raises(ValueError, match=r"does not hold one 256x256 map"):
        adapter.postprocess([np.zeros((1, 128, 128, 1), np.float32)])


def test_logits_output_gets_a_sigmoid(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    spec = dataclasses.replace(spec, output=dataclasses.replace(spec.output, kind="logits"))
    adapter = adapter_for(spec, [TensorMeta("input_1", (1, 256, 256, 3), np.float32)])
    logits = np.zeros((1, 256, 256, 1), np.float32)
    logits[0, 0, 0, 0] = 50.0
    mask = adapter.postprocess([logits])
    assert mask[0, 0] == pytest.approx(1.0)
    assert mask[1, 1] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)]
)
def test_preprocess_rejects_non_rgb_uint8(tmp_path: Path, bad: np.ndarray) -> None:
    adapter = adapter_for(_spec(tmp_path), [TensorMeta("input_1", (1, 256, 256, 3), np.float32)])
    with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 RGB image"):
        adapter.preprocess(bad)


def test_end_to_end_values_match_the_synthetic_model(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    eng = InferenceEngine(spec.variants[0].path, device="cpu")
    adapter = adapter_for(spec, eng.input_meta)
    rgb = _gradient(256, 256)
    mask = adapter.postprocess(eng.run(adapter.preprocess(rgb)))
    np.testing.assert_allclose(mask, expected_probability(rgb), atol=1e-5)
