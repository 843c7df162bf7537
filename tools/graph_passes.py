"""Exact graph rewrites that make the converted models faster in onnxruntime without changing their output.

Used by tools/build_models.py (after conversion) and tools/quantize.py (the GPU variant). Each pass keeps the
function computed: outputs agree with the unrewritten graph to float rounding (build_models.py checks it).
Measured on selfie-general FP32, 1 thread (docs/models.md "Graph rewrites"):

- `commute_resize_conv`: the decoder upsamples 128/24/16 channels bilinearly and then mixes them with a 1x1
  convolution. Both are linear and a bilinear (or nearest) resize is a per-channel convex combination, so
  Conv1x1(Resize(x)) == Resize(Conv1x1(x)): the convolution runs on 1/4 of the pixels and the resize on
  fewer channels.
- `bypass_vector_reshapes`: the squeeze-and-excite branches reshape [1,C,1,1] vectors to the same shape (or
  to [1,1,1,C] and transpose back). A no-op for the data, but each one forces onnxruntime's blocked NCHWc
  layout back to NCHW and out again.
- `expand_channel_scales` (CPU only): the squeeze-and-excite product x * s with s of shape [1,C,1,1] is a
  broadcast Mul, which onnxruntime's NCHWc layout does not support, so every one costs two full-size
  reorders. Expanding s to x's shape first (a nearest Resize, which NCHWc runs natively) keeps the whole
  graph in NCHWc. `collapse_channel_scales` undoes it for GPU variants, where a broadcast Mul is native.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference


def shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Static shapes of every tensor (onnx shape inference) and initializer."""
    graph = shape_inference.infer_shapes(model).graph
    known = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*graph.value_info, *graph.input, *graph.output]
    }
    known.update({t.name: list(t.dims) for t in graph.initializer})
    return known


def topo_sort(graph: onnx.GraphProto) -> None:
    """Reorder nodes so each comes after the producers of its inputs (stable otherwise)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = [onnx.NodeProto.FromString(n.SerializeToString()) for n in graph.node]
    ordered: list[onnx.NodeProto] = []
    while pending:
        for k, node in enumerate(pending):
            if all(i in available for i in node.input):
                ordered.append(node)
                available.update(node.output)
                pending.pop(k)
                break
        else:
            raise ValueError("the graph has a cycle or an undefined input")
    del graph.node[:]
    graph.node.extend(ordered)


def remove_dead(model: onnx.ModelProto) -> None:
    """Drop nodes whose outputs nothing uses, then initializers nothing uses."""
    graph = model.graph
    live = {o.name for o in graph.output}
    keep: list[onnx.NodeProto] = []
    for node in reversed(list(graph.node)):
        if any(o in live for o in node.output):
            keep.append(node)
            live.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    used = {i for n in graph.node for i in n.input}
    inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _rewire(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == old:
                node.input[k] = new


def consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    """Tensor name -> the nodes that read it."""
    found: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            found.setdefault(name, []).append(node)
    return found


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def commute_resize_conv(model: onnx.ModelProto) -> int:
    """Resize(linear|nearest, by scales) -> Conv 1x1  becomes  Conv 1x1 -> Resize. Returns how many."""
    graph = model.graph
    readers = consumers(graph)
    inits = {t.name: t for t in graph.initializer}
    count = 0
    for resize in graph.node:
        if resize.op_type != "Resize" or _attrs(resize).get("mode", b"nearest") not in (b"linear", b"nearest"):
            continue
        if len(resize.input) >= 4 and resize.input[3]:
            continue  # a `sizes` input would carry the old channel count
        users = readers.get(resize.output[0], [])
        if len(users) != 1 or users[0].op_type != "Conv":
            continue
        conv = users[0]
        weight = inits.get(conv.input[1])
        conv_attrs = _attrs(conv)
        if (
            weight is None
            or list(weight.dims[2:]) != [1, 1]
            or conv_attrs.get("group", 1) != 1
            or list(conv_attrs.get("strides", [1, 1])) != [1, 1]
            or any(conv_attrs.get("pads", [0, 0, 0, 0]))
            or list(conv_attrs.get("dilations", [1, 1])) != [1, 1]
        ):
            continue
        low_res = conv.output[0] + "_before_resize"
        conv.input[0], resize.input[0] = resize.input[0], low_res
        conv.output[0], resize.output[0] = low_res, conv.output[0]
        count += 1
    topo_sort(graph)
    return count


def bypass_vector_reshapes(model: onnx.ModelProto) -> int:
    """Skip Reshape/Transpose chains on tensors with at most one non-1 axis that end in the shape they began with."""
    graph = model.graph
    known = shapes(model)
    producer = {o: n for n in graph.node for o in n.output}
    outputs = {o.name for o in graph.output}

    def is_vector(name: str) -> bool:
        return name in known and sum(d != 1 for d in known[name]) <= 1

    count = 0
    for node in list(graph.node):
        if node.op_type not in ("Reshape", "Transpose") or not is_vector(node.input[0]) or node.output[0] in outputs:
            continue
        origin = node.input[0]
        while origin in producer and producer[origin].op_type in ("Reshape", "Transpose") and is_vector(
            producer[origin].input[0]
        ):
            origin = producer[origin].input[0]
        if known.get(origin) == known.get(node.output[0]):
            _rewire(graph, node.output[0], origin)
            count += 1
    remove_dead(model)
    return count


def expand_channel_scales(model: onnx.ModelProto) -> int:
    """Mul(x [N,C,H,W], s [N,C,1,1]) -> Mul(x, Resize_nearest(s) [N,C,H,W]). Returns how many."""
    graph = model.graph
    known = shapes(model)
    added: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type != "Mul":
            continue
        a, b = node.input
        sa, sb = known.get(a), known.get(b)
        if not sa or not sb or len(sa) != 4 or len(sb) != 4:
            continue
        if sa[2:] == [1, 1] and sb[2:] != [1, 1]:
            a, b, sa, sb = b, a, sb, sa
        if sb[2:] != [1, 1] or sa[2:] == [1, 1] or sa[:2] != sb[:2]:
            continue
        scales = numpy_helper.from_array(np.array([1, 1, sa[2], sa[3]], np.float32), node.output[0] + "_scales")
        graph.initializer.append(scales)
        full = node.output[0] + "_scale_full"
        added.append(
            helper.make_node(
                "Resize",
                [b, "", scales.name],
                [full],
                name=node.output[0] + "_expand",
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            )
        )
        node.input[0], node.input[1] = a, full
    graph.node.extend(added)
    topo_sort(graph)
    return len(added)


def collapse_channel_scales(model: onnx.ModelProto) -> int:
    """Undo `expand_channel_scales` (the broadcast Mul is native on GPUs). Returns how many.

    Found by shape, not by name (the build renames every node): a nearest Resize of an [N,C,1,1] tensor whose
    output only feeds Mul nodes.
    """
    graph = model.graph
    known = shapes(model)
    readers = consumers(graph)
    expands = [
        n
        for n in graph.node
        if n.op_type == "Resize"
        and _attrs(n).get("mode", b"nearest") == b"nearest"
        and (known.get(n.input[0]) or [0, 0, 0])[2:] == [1, 1]
        and readers.get(n.output[0])
        and all(c.op_type == "Mul" for c in readers[n.output[0]])
    ]
    for node in expands:
        _rewire(graph, node.output[0], node.input[0])
    remove_dead(model)
    return len(expands)


def onnxruntime_basic(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxruntime's portable level-1 optimizations (constant folding, transpose push-down), saved offline."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(model, str(src))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(dst)
        options.log_severity_level = 3
        ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(str(dst))
    del optimized.metadata_props[:]
    # onnxruntime stamps every opset domain it knows; keep the model's own (older runtimes, e.g. the DirectML
    # build, may not know the newer ones), after checking the optimized nodes use nothing else.
    own = {o.domain for o in model.opset_import}
    used = {n.domain for n in optimized.graph.node}
    if not used <= own | {"ai.onnx"}:
        raise ValueError(f"onnxruntime's basic optimizations introduced opset domains {sorted(used - own)}")
    del optimized.opset_import[:]
    optimized.opset_import.extend(model.opset_import)
    return optimized
