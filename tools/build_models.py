"""Reproduce models/*_fp32.onnx, models/LICENSES/ and a first models/manifest.json from the mediapipe wheel.

One command, from the repo root, with any Python 3.11:

    python3.11 tools/build_models.py

It creates the tools venv `.venvs/tools` from tools/requirements-tools.txt if needed and re-runs itself
there, then:
1. `pip download --no-deps mediapipe==0.10.14` (the cp311 wheel, into .cache/build; never a model hub) and
   extracts selfie_segmentation.tflite (256x256), selfie_segmentation_landscape.tflite (256 wide x 144
   high) and the Apache-2.0 LICENSE from its dist-info.
2. Converts each with tf2onnx 1.17 (`--tflite --opset 17`). tf2onnx leaves MediaPipe's custom op
   `Convolution2DTransposeBias` as an unrunnable `TFL_Convolution2DTransposeBias` node and drops its options;
   we read the 12-byte custom options (int32 padding, stride_w, stride_h) with the `tflite` package and
   replace the node with a standard ONNX `ConvTranspose` (kernel O,H,W,I -> I,O,H,W; bias as third input)
   between NHWC<->NCHW transposes. Fails if any `TFL_*` node remains; runs onnx.checker (full_check).
3. Rewrites the graph for onnxruntime without changing what it computes (tools/graph_passes.py):
   onnxruntime's portable basic optimizations, the decoder's 1x1 convolutions moved before its upsamples,
   no-op vector reshapes bypassed, squeeze-and-excite scales expanded so the CPU's NCHWc layout holds
   throughout. Fails if the rewritten graph's output differs from the converted one by more than 1e-5.
   Renames tensors canonically (tf2onnx's generated names vary from run to run), names the output `mask`,
   so re-running gives byte-identical files: the script is idempotent.
4. Verifies the ONNX output against MediaPipe's own TFLite runtime (which has the custom op; the stock TFLite
   interpreter cannot run it) at model size on a few images, in `.venvs/mediapipe`
   (tools/make_mediapipe_venv.sh creates it): prints the max and mean abs diff and fails above 5e-4.
5. Writes models/manifest.json with the FP32 variants when it is missing or an FP32 file changed
   (tools/quantize.py then adds the variants that pass its accuracy gate and re-measures all side by side).

Options: --skip-verify (no MediaPipe venv), --no-manifest (leave models/manifest.json alone).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
MEDIAPIPE_PY = ROOT / ".venvs" / "mediapipe" / "bin" / "python"
MAX_ABS_DIFF = 5e-4  # MediaPipe runs XNNPACK kernels; measured 8e-5 / 9.6e-5


from toolsvenv import ensure_tools_venv  # noqa: E402

ensure_tools_venv(__file__)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

sys.path.insert(0, str(TOOLS))
import graph_passes  # noqa: E402
from modelspec import (  # noqa: E402
    CACHE,
    MANIFEST,
    MEDIAPIPE_VERSION,
    MODELS,
    MODELS_DIR,
    OUTPUT_NAME,
    ModelDef,
    VariantResult,
    cpu_session,
    interleaved_latency_ms,
    manifest_entry,
    run_mask,
    sha256,
    write_manifest,
)

LICENSE_OUT = MODELS_DIR / "LICENSES" / "mediapipe-Apache-2.0.txt"


def fetch_wheel() -> Path:
    """The mediapipe cp311 wheel in the cache, downloaded with pip (no dependencies) if missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    pattern = f"mediapipe-{MEDIAPIPE_VERSION}-cp311-*.whl"
    found = sorted(CACHE.glob(pattern))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                f"mediapipe=={MEDIAPIPE_VERSION}",
                "-d",
                str(CACHE),
            ],
            check=True,
        )
        found = sorted(CACHE.glob(pattern))
    if not found:
        raise SystemExit(f"no {pattern} after pip download")
    return found[0]


def extract(wheel: Path) -> dict[str, Path]:
    """Extract the two .tflite files and the LICENSE; return {tflite path in wheel: local path}."""
    out: dict[str, Path] = {}
    with zipfile.ZipFile(wheel) as z:
        for model in MODELS:
            local = CACHE / Path(model.tflite).name
            local.write_bytes(z.read(model.tflite))
            if sha256(local) != model.tflite_sha256:
                raise SystemExit(f"{model.tflite} in {wheel.name} is not the file this script was written for")
            out[model.tflite] = local
        LICENSE_OUT.parent.mkdir(parents=True, exist_ok=True)
        LICENSE_OUT.write_bytes(z.read(f"mediapipe-{MEDIAPIPE_VERSION}.dist-info/LICENSE"))
    return out


def custom_ops(tflite_path: Path) -> dict[str, tuple[str, bytes, tuple[int, ...]]]:
    """{output tensor name: (custom op name, custom options bytes, input tensor shapes...)} of a .tflite."""
    import tflite

    buf = tflite_path.read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    ops: dict[str, tuple[str, bytes, tuple[int, ...]]] = {}
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex()).CustomCode()
        if code:
            name = graph.Tensors(op.Outputs(0)).Name().decode()
            ops[name] = (code.decode(), op.CustomOptionsAsNumpy().tobytes(), ())
    return ops


def replace_transpose_conv_bias(model: onnx.ModelProto, ops: dict) -> int:
    """Replace every TFL_Convolution2DTransposeBias (NHWC) with Transpose -> ConvTranspose -> Transpose."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    replaced = 0
    new_nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type != "TFL_Convolution2DTransposeBias":
            new_nodes.append(node)
            continue
        out = node.output[0]
        op_name, options, _ = ops[out.split(":")[0]]
        if op_name != "Convolution2DTransposeBias" or len(options) != 12:
            raise SystemExit(f"unexpected custom op {op_name} with {len(options)} option bytes at {out}")
        padding, stride_w, stride_h = np.frombuffer(options, dtype="<i4").tolist()
        x, w_name, b_name = node.input
        kernel = numpy_helper.to_array(inits[w_name])  # TFLite: O, H, W, I
        bias = numpy_helper.to_array(inits[b_name]).reshape(-1)
        out_ch, kh, kw, _in_ch = kernel.shape
        if padding != 1:  # TfLitePadding: 1 = SAME, 2 = VALID
            raise SystemExit(f"{out}: only SAME padding is handled, got {padding}")
        if (kh, kw) != (stride_h, stride_w):
            raise SystemExit(f"{out}: SAME handled only for kernel == stride: {kh}x{kw} vs {stride_h}x{stride_w}")
        inits[w_name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(kernel.transpose(3, 0, 1, 2)), w_name))
        inits[b_name].CopyFrom(numpy_helper.from_array(bias.astype(np.float32), b_name))
        assert bias.shape == (out_ch,)
        nchw_in, nchw_out = f"{out}__nchw_in", f"{out}__nchw_out"
        new_nodes += [
            helper.make_node("Transpose", [x], [nchw_in], name=f"{out}__to_nchw", perm=[0, 3, 1, 2]),
            helper.make_node(
                "ConvTranspose",
                [nchw_in, w_name, b_name],
                [nchw_out],
                name=f"{out}__convtranspose",
                kernel_shape=[kh, kw],
                strides=[stride_h, stride_w],
                pads=[0, 0, 0, 0],
            ),
            helper.make_node("Transpose", [nchw_out], [out], name=f"{out}__to_nhwc", perm=[0, 2, 3, 1]),
        ]
        replaced += 1
    del graph.node[:]
    graph.node.extend(new_nodes)
    return replaced


def canonicalize(model: onnx.ModelProto) -> None:
    """Rename every tensor and node by order of appearance so equal graphs serialize to equal bytes."""
    graph = model.graph
    graph_in = {i.name for i in graph.input}
    rename: dict[str, str] = {}
    init_names = {i.name for i in graph.initializer}
    counter = {"t": 0, "w": 0}

    def canon(name: str) -> str:
        if not name or name in graph_in:
            return name
        if name not in rename:
            kind = "w" if name in init_names else "t"
            rename[name] = f"{kind}{counter[kind]}"
            counter[kind] += 1
        return rename[name]

    for k, node in enumerate(graph.node):
        ins = [canon(n) for n in node.input]
        outs = [canon(n) for n in node.output]
        del node.input[:], node.output[:]
        node.input.extend(ins)
        node.output.extend(outs)
        node.name = f"{node.op_type}_{k}"
    (out,) = graph.output
    final = rename.get(out.name, out.name)
    for node in graph.node:
        for i, n in enumerate(node.output):
            if n == final:
                node.output[i] = OUTPUT_NAME
        for i, n in enumerate(node.input):
            if n == final:
                node.input[i] = OUTPUT_NAME
    out.name = OUTPUT_NAME
    inits = sorted(graph.initializer, key=lambda t: int(rename[t.name][1:]))
    for t in inits:
        t.name = rename[t.name]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    vis = [v for v in graph.value_info if v.name in rename]
    for v in vis:
        v.name = rename[v.name]
    del graph.value_info[:]
    graph.value_info.extend(sorted(vis, key=lambda v: (v.name[0], int(v.name[1:]))))
    graph.name = "selfie_segmentation"
    model.doc_string = ""


def convert(model: ModelDef, tflite_path: Path) -> onnx.ModelProto:
    raw = CACHE / f"{model.stem}_tf2onnx.onnx"
    subprocess.run(
        [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite_path), "--opset", "17", "--output", str(raw)],
        check=True,
        capture_output=True,
    )
    onnx_model = onnx.load(str(raw))
    n = replace_transpose_conv_bias(onnx_model, custom_ops(tflite_path))
    leftover = sorted({node.op_type for node in onnx_model.graph.node if node.op_type.startswith("TFL_")})
    if leftover:
        raise SystemExit(f"{model.id}: unconverted TFLite ops remain: {leftover}")
    canonicalize(onnx_model)
    onnx.checker.check_model(onnx_model, full_check=True)
    print(f"{model.id}: replaced {n} Convolution2DTransposeBias node(s); {len(onnx_model.graph.node)} nodes")
    rewritten = rewrite(model, onnx_model)
    canonicalize(rewritten)
    onnx.checker.check_model(rewritten, full_check=True)
    return rewritten


REWRITE_MAX_DIFF = 1e-5  # the rewrites are exact up to float rounding (measured ~1e-7)


def rewrite(model: ModelDef, converted: onnx.ModelProto) -> onnx.ModelProto:
    """tools/graph_passes.py on a copy of `converted`; fails if the output moves by more than REWRITE_MAX_DIFF."""
    out = graph_passes.onnxruntime_basic(converted)
    moved = graph_passes.commute_resize_conv(out)
    bypassed = graph_passes.bypass_vector_reshapes(out)
    expanded = graph_passes.expand_channel_scales(out)
    before, after = CACHE / f"{model.stem}_converted.onnx", CACHE / f"{model.stem}_rewritten.onnx"
    onnx.save(converted, str(before))
    onnx.save(out, str(after))
    old, new = cpu_session(before), cpu_session(after)
    diff = max(float(np.abs(run_mask(old, img) - run_mask(new, img)).max()) for img in verify_images(model))
    print(f"{model.id}: rewritten ({moved} 1x1 convs before their resize, {bypassed} vector reshapes bypassed, "
          f"{expanded} channel scales expanded); max abs diff vs the converted graph {diff:.2g}")
    if diff > REWRITE_MAX_DIFF:
        raise SystemExit(f"{model.id}: the graph rewrite changed the output by {diff} > {REWRITE_MAX_DIFF}")
    return out


def verify_images(model: ModelDef) -> list[np.ndarray]:
    """A few RGB images at model size: scikit-image photos (corner-aligned resize) and seeded noise."""
    import cv2
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.rocket(), np.dstack([data.camera()] * 3)]
    out = []
    for p in photos:
        m = np.array([[model.width / p.shape[1], 0, 0], [0, model.height / p.shape[0], 0]], dtype=np.float32)
        out.append(
            cv2.warpAffine(p, m, (model.width, model.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        )
    rng = np.random.default_rng(7)
    out.append(rng.integers(0, 256, (model.height, model.width, 3), dtype=np.uint8))
    return out


def verify_against_mediapipe(model: ModelDef, path: Path) -> tuple[float, float]:
    """(max, mean) abs diff between our ONNX output and MediaPipe's runtime at model size."""
    import cv2

    folder = CACHE / f"verify_{model.stem}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    images = verify_images(model)
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    result = folder / "mediapipe.npz"
    subprocess.run(
        [
            str(MEDIAPIPE_PY),
            str(TOOLS / "reference_masks.py"),
            "--raw",
            str(folder),
            "--model-selection",
            str(model.model_selection),
            "--out",
            str(result),
        ],
        check=True,
    )
    theirs = np.load(result)
    session = cpu_session(path)
    diffs = [np.abs(run_mask(session, img) - theirs[f"{i}"]) for i, img in enumerate(images)]
    return max(float(d.max()) for d in diffs), float(np.mean([d.mean() for d in diffs]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--no-manifest", action="store_true")
    args = parser.parse_args()

    tflites = extract(fetch_wheel())
    MODELS_DIR.mkdir(exist_ok=True)
    entries = []
    changed = False
    for model in MODELS:
        onnx_model = convert(model, tflites[model.tflite])
        path = MODELS_DIR / model.file("fp32")
        data = onnx_model.SerializeToString()
        if path.exists() and path.read_bytes() == data:
            print(f"{path.name}: unchanged")
        else:
            path.write_bytes(data)
            changed = True
            print(f"{path.name}: written ({len(data)} bytes)")
        if not args.skip_verify:
            if not MEDIAPIPE_PY.exists():
                subprocess.run(["bash", str(TOOLS / "make_mediapipe_venv.sh")], check=True)
            diff, mean = verify_against_mediapipe(model, path)
            size = f"{model.width}x{model.height}"
            print(f"{model.id}: abs diff vs MediaPipe runtime at {size}: max {diff:.3g}, mean {mean:.3g}")
            if diff > MAX_ABS_DIFF:
                raise SystemExit(f"{model.id}: conversion differs from MediaPipe by {diff} > {MAX_ABS_DIFF}")
        ms = interleaved_latency_ms({"fp32": path}, (model.height, model.width), runs=200)["fp32"]
        entries.append(manifest_entry(model, [VariantResult("fp32", path.name, ["gpu", "cpu"], ms, 1.0, 1.0)]))
    if args.no_manifest:
        return
    if changed or not MANIFEST.exists():
        write_manifest(entries)
        print("models/manifest.json written (FP32 only; run tools/quantize.py for the gated variants)")
    else:
        print("models/manifest.json kept: the FP32 models did not change (tools/quantize.py owns the rest)")


if __name__ == "__main__":
    main()
