"""tools/graph_passes.py: each rewrite keeps the output and removes what it says; the shipped models carry them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import graph_passes  # noqa: E402

C, H, W = 16, 8, 8


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array.astype(np.float32) if array.dtype.kind == "f" else array, name)


def decoder_block() -> onnx.ModelProto:
    """Resize (bilinear x2) -> Conv 1x1 -> squeeze-and-excite (pool, no-op reshapes, conv, sigmoid) -> Mul."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["up"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Conv", ["up", "w", "b"], ["y"], kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["y"], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "same_shape"], ["pooled2"]),
        helper.make_node("Conv", ["pooled2", "w_se", "b_se"], ["se"], kernel_shape=[1, 1]),
        helper.make_node("Sigmoid", ["se"], ["s"]),
        helper.make_node("Reshape", ["s", "nhwc_shape"], ["s_nhwc"]),
        helper.make_node("Transpose", ["s_nhwc"], ["s_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Mul", ["y", "s_nchw"], ["out"]),
    ]
    inits = [
        _init("scales", np.array([1, 1, 2, 2], np.float32)),
        _init("w", rng.standard_normal((C // 2, C, 1, 1))),
        _init("b", rng.standard_normal(C // 2)),
        _init("w_se", rng.standard_normal((C // 2, C // 2, 1, 1))),
        _init("b_se", rng.standard_normal(C // 2)),
        numpy_helper.from_array(np.array([1, C // 2, 1, 1], np.int64), "same_shape"),
        numpy_helper.from_array(np.array([1, 1, 1, C // 2], np.int64), "nhwc_shape"),
    ]
    graph = helper.make_graph(
        nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, H, W])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, C // 2, 2 * H, 2 * W])], inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(1).random((1, C, H, W), dtype=np.float32)


def test_the_1x1_conv_moves_before_the_resize(x: np.ndarray) -> None:
    model = decoder_block()
    expected = run(model, x)
    assert graph_passes.commute_resize_conv(model) == 1
    assert ops(model)[:2] == ["Conv", "Resize"]
    conv_out = shape_inference.infer_shapes(model).graph.value_info
    assert [d.dim_value for d in next(v for v in conv_out if v.name == "y_before_resize").type.tensor_type.shape.dim] \
        == [1, C // 2, H, W]  # the conv now runs at the low resolution
    np.testing.assert_allclose(run(model, x), expected, atol=1e-5)


def test_no_op_vector_reshapes_are_bypassed(x: np.ndarray) -> None:
    model = decoder_block()
    expected = run(model, x)
    assert graph_passes.bypass_vector_reshapes(model) == 2  # pooled2 (same shape) and s_nchw (round trip)
    assert "Reshape" not in ops(model) and "Transpose" not in ops(model)
    np.testing.assert_allclose(run(model, x), expected, atol=1e-6)


def test_channel_scales_expand_and_collapse_back(x: np.ndarray) -> None:
    model = decoder_block()
    expected = run(model, x)
    graph_passes.bypass_vector_reshapes(model)
    assert graph_passes.expand_channel_scales(model) == 1
    mul = next(n for n in model.graph.node if n.op_type == "Mul")
    shapes = graph_passes.shapes(model)
    assert shapes[mul.input[0]] == shapes[mul.input[1]] == [1, C // 2, 2 * H, 2 * W]  # no broadcast left
    np.testing.assert_allclose(run(model, x), expected, atol=1e-6)
    assert graph_passes.collapse_channel_scales(model) == 1
    assert "Resize" in ops(model) and ops(model).count("Resize") == 1  # only the bilinear one is left
    np.testing.assert_allclose(run(model, x), expected, atol=1e-6)


def test_a_resize_by_sizes_is_left_alone(x: np.ndarray) -> None:
    model = decoder_block()
    resize = model.graph.node[0]
    resize.input[2] = ""
    resize.input.append("sizes")
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, C, 2 * H, 2 * W], np.int64), "sizes"))
    assert graph_passes.commute_resize_conv(model) == 0


def _broadcast_muls(path: Path) -> int:
    model = onnx.load(str(path))
    shapes = graph_passes.shapes(model)
    count = 0
    for node in model.graph.node:
        if node.op_type == "Mul":
            dims = [shapes.get(i) for i in node.input]
            if all(d and len(d) == 4 for d in dims) and dims[0] != dims[1]:
                count += 1
    return count


@pytest.mark.parametrize("model_id", ["selfie-general", "selfie-landscape"])
def test_the_shipped_cpu_variant_is_rewritten_and_the_gpu_one_keeps_native_broadcasts(model_id: str) -> None:
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["id"] == model_id)
    files = {v["precision"]: ROOT / "models" / v["file"] for v in entry["variants"]}
    assert _broadcast_muls(files["fp32"]) == 0  # every squeeze-and-excite scale expanded (NCHWc on CPUs)
    if "fp16" in files:
        assert _broadcast_muls(files["fp16"]) == 10  # collapsed back: a broadcast Mul is native on GPUs
    for path in files.values():
        assert _linear_resizes_feeding_1x1_convs(path) == (0, 3)  # all three decoder convs moved before


def _linear_resizes_feeding_1x1_convs(path: Path) -> tuple[int, int]:
    """(bilinear resizes whose output goes into a 1x1 conv, bilinear resizes fed by a 1x1 conv)."""
    model = onnx.load(str(path))
    by_output = {o: n for n in model.graph.node for o in n.output}
    inits = {t.name: t for t in model.graph.initializer}

    def is_1x1_conv(node: onnx.NodeProto | None) -> bool:
        return node is not None and node.op_type == "Conv" and list(inits[node.input[1]].dims[2:]) == [1, 1]

    resizes = [n for n in model.graph.node if n.op_type == "Resize"
               and helper.get_attribute_value(next(a for a in n.attribute if a.name == "mode")) == b"linear"]

    def producer(name: str) -> onnx.NodeProto | None:  # through the Casts FP16 puts around a Resize
        node = by_output.get(name)
        while node is not None and node.op_type == "Cast":
            node = by_output.get(node.input[0])
        return node

    readers = graph_passes.consumers(model.graph)

    def users(name: str) -> list[onnx.NodeProto]:
        return [u for c in readers.get(name, []) for u in (users(c.output[0]) if c.op_type == "Cast" else [c])]

    after = sum(any(is_1x1_conv(c) for c in users(r.output[0])) for r in resizes)
    before = sum(is_1x1_conv(producer(r.input[0])) for r in resizes)
    return after, before


def test_the_shipped_models_load_in_older_runtimes() -> None:
    # onnxruntime stamps every opset domain it knows when it saves a model; the DirectML build (1.24) may not
    # know the newer ones, so the build keeps the converted model's own imports and IR version.
    for path in sorted((ROOT / "models").glob("*.onnx")):
        model = onnx.load(str(path))
        assert model.ir_version <= 8, path.name
        assert {o.domain for o in model.opset_import} <= {"", "ai.onnx.ml"}, path.name
        assert {n.domain for n in model.graph.node} <= {""}, path.name
