"""Would the landscape selfie model see edges better at a larger input? (session 8, tried and left out)

The bundled model is fixed at 256x144. Its only size-bound nodes are 10 nearest-neighbour Resizes that tf2onnx made
to broadcast a 1x1 pooled vector (squeeze-and-excite) to a fixed grid; dropping them (the Mul broadcasts anyway)
gives a copy that runs at any size divisible by 16, bit-identical at 256x144 (checked here). The clips are then run
through the live and the video-file pipelines with the model at each size (the mask resized back to the grid by
area, so every later step is unchanged), and the model alone is timed (one thread).

    .venv/bin/python bench/quality_model_input.py [--clips call-P002] [--sizes 320x176,384x208]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import bench_quality as bq  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.resize import resize_corner_aligned  # noqa: E402

MODEL = REPO / "models" / "selfie_landscape_fp32.onnx"


def any_size_copy(src: Path, dst: Path) -> int:
    """Write a copy of `src` without the nearest Resizes of 1x1 tensors, height and width left free; returns how
    many were dropped."""
    model = onnx.load(str(src))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in shape_inference.infer_shapes(model).graph.value_info}
    drop = {}
    for node in model.graph.node:
        mode = next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "mode"), b"")
        if node.op_type == "Resize" and mode == b"nearest":
            shape = shapes.get(node.input[0])
            assert shape and shape[2:] == [1, 1], (node.name, shape)
            drop[node.output[0]] = node.input[0]
    kept = [n for n in model.graph.node if not (n.op_type == "Resize" and n.output[0] in drop)]
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = drop.get(name, name)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    for tensor in list(model.graph.input) + list(model.graph.output):
        dims = tensor.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "h", "w"
    del model.graph.value_info[:]
    onnx.save(model, str(dst))
    return len(drop)


class AtSize:
    """A segmenter (for the pipeline) whose mask comes from the any-size copy at `size`, resized to the grid."""

    def __init__(self, segmenter: Any, session: ort.InferenceSession, size: tuple[int, int]) -> None:
        self.segmenter, self.session, self.size = segmenter, session, size
        self.spec = segmenter.spec

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        grid, timings = self.segmenter.predict(rgb)  # keeps the spec and adapter the pipeline reads
        small = resize_corner_aligned(rgb, self.size, cv2.INTER_LINEAR).astype(np.float32) * np.float32(1 / 255)
        out = self.session.run(None, {"input_1": small[None]})[0][0, :, :, 0]
        return cv2.resize(out, (grid.shape[1], grid.shape[0]), interpolation=cv2.INTER_AREA), timings


def variant(name: str, session: ort.InferenceSession | None, size: tuple[int, int] | None, full: bool) -> bq.Ours:
    class Variant(bq.Ours):
        def clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
            seg = AtSize(self.segmenter, session, size) if session is not None and size else self.segmenter
            pipe = Pipeline(seg, EffectParams(effect="blur"), temporal=True)
            pipe.full_edges = full
            return [pipe.process(Frame(rgb, i / 30, i, "cam")).mask >= 0.5  # type: ignore[operator]
                    for i, rgb in enumerate(frames)]

    Variant.name = name
    return Variant()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="call-P002")
    parser.add_argument("--sizes", default="320x176,384x208")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "quality_model_input.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.log_severity_level = 1, 3
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "any_size.onnx"
        dropped = any_size_copy(MODEL, copy)
        session = ort.InferenceSession(str(copy), options, providers=["CPUExecutionProvider"])
    original = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
    probe = np.random.default_rng(0).random((1, 144, 256, 3), dtype=np.float32)
    same = float(np.abs(original.run(None, {"input_1": probe})[0] - session.run(None, {"input_1": probe})[0]).max())
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    model_ms = {}
    for w, h in [(256, 144), *sizes]:
        x = np.random.default_rng(1).random((1, h, w, 3), dtype=np.float32)
        session.run(None, {"input_1": x})
        times = []
        for _ in range(30):
            start = time.perf_counter()
            session.run(None, {"input_1": x})
            times.append((time.perf_counter() - start) * 1e3)
        model_ms[f"{w}x{h}"] = round(float(np.median(times)), 2)
    methods = [variant("live", None, None, False), variant("full", None, None, True)]
    for w, h in sizes:
        methods += [variant(f"live-{w}x{h}", session, (w, h), False), variant(f"full-{w}x{h}", session, (w, h), True)]
    result = bq.evaluate(REPO / ".cache" / "evalset", methods, clips_only=True, clip_methods=methods,
                         clips=args.clips.split(","))
    keys = ("iou", "moving_iou", "boundary_f", "flicker", "lag")
    table = {clip: {m: {k: s[k] for k in keys} for m, s in scores.items() if isinstance(s, dict)}
             for clip, scores in result["videos"].items()}
    for clip, rows in table.items():
        for method, row in rows.items():
            print(f"{clip:12} {method:22} {row}")
    print("model alone, ms (median of 30, one thread):", model_ms)
    args.json.write_text(json.dumps({"benchmark": "quality_model_input", "dropped_resizes": dropped,
                                     "max_diff_at_256x144": same, "model_ms": model_ms, "clips": table}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
