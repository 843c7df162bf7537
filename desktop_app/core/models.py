"""The bundled models: `models/manifest.json` as typed values, sha256 integrity checks, variant choice."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app import paths
from desktop_app.core import manifest_schema as schema
from desktop_app.core.manifest_schema import (  # re-exported: callers import them from here
    DETECTION_OUTPUTS,
    LAYOUTS,
    DecoderSpec,
    ManifestError,
    OutputSpec,
)

__all__ = ["DETECTION_OUTPUTS", "LAYOUTS", "DecoderSpec", "ManifestError", "OutputSpec"]  # and the names below

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
OUTPUT_KINDS = ("probability", "logits")
DEVICES = ("cpu", "gpu")
SEGMENTATION, DETECTION, FACE_DETECTION = "person-segmentation", "person-detection", "face-detection"
BODY_SEGMENTATION = "body-segmentation"  # a whole person's mask in their body square (the stills path's bodies)
KINDS = (SEGMENTATION, DETECTION, FACE_DETECTION, BODY_SEGMENTATION)


class UnknownModelError(LookupError):
    """A model id that the manifest does not list; the message lists the known ids."""


class ModelIntegrityError(RuntimeError):
    """A model file whose sha256 does not match the manifest, or that is missing."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]
    layout: str  # "NHWC" | "NCHW"
    dtype: str
    range: tuple[float, float]
    color: str
    resize: str
    size_multiple: int = 0  # > 0: the model takes any size that is a multiple of it (shape is the default)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the image the model takes."""
        return _image_size(self.shape, self.layout)


@dataclass(frozen=True, slots=True)
class Variant:
    """One file of a model (a precision); `path` is absolute."""

    precision: str
    file: str
    path: Path
    sha256: str
    bytes: int
    devices: tuple[str, ...]
    cpu_ms: float | None = None
    iou_mean: float | None = None
    iou_worst: float | None = None
    f1: float | None = None  # a quantized face detector's detection F1 vs its FP32 model (the gate)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    kind: str
    title: str
    input: InputSpec
    output: OutputSpec  # segmentation: the mask; detection: the scores (see `outputs`)
    variants: tuple[Variant, ...]
    license: str = ""
    license_file: str = ""
    source: tuple[tuple[str, str], ...] = ()  # (key, value) pairs, e.g. ("package", "mediapipe")
    outputs: tuple[OutputSpec, ...] = ()  # detection: (boxes, scores); face detection: what `decoder` reads
    decoder: DecoderSpec | None = None  # face detection only


@dataclass(frozen=True, slots=True)
class Manifest:
    schema_version: int
    directory: Path
    models: tuple[ModelSpec, ...]

    @property
    def ids(self) -> list[str]:
        return [model.id for model in self.models]

    def of_kind(self, kind: str) -> tuple[ModelSpec, ...]:
        return tuple(model for model in self.models if model.kind == kind)

    def get(self, model_id: str) -> ModelSpec:
        for model in self.models:
            if model.id == model_id:
                return model
        raise UnknownModelError(f"unknown model {model_id!r}; known models: {', '.join(self.ids) or 'none'}")


# ---------------------------------------------------------------------------------------------- loading


def load_manifest(models_dir: Path | str | None = None) -> Manifest:
    """Read and validate `<models_dir>/manifest.json` (default: the bundled `models/`)."""
    directory = Path(models_dir) if models_dir is not None else paths.models_dir()
    path = directory / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read the model manifest {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"the model manifest {path} is not valid JSON: {exc}") from exc
    return parse_manifest(data, directory)


def parse_manifest(data: Any, directory: Path) -> Manifest:
    """Validate a decoded manifest; raise ManifestError naming the first problem found."""
    root = _require_dict(data, "manifest")
    version = root.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ManifestError(f"manifest schema_version must be {SCHEMA_VERSION}, not {version!r}")
    raw_models = root.get("models")
    if not isinstance(raw_models, list) or not raw_models:
        raise ManifestError("manifest 'models' must be a non-empty list")
    models = tuple(_parse_model(raw, i, directory) for i, raw in enumerate(raw_models))
    seen: set[str] = set()
    for model in models:
        if model.id in seen:
            raise ManifestError(f"model id {model.id!r} is listed twice")
        seen.add(model.id)
    return Manifest(schema_version=version, directory=directory, models=models)


def pick_spec(kind: str, what: str, model_id: str | None = None, models_dir: Path | str | None = None,
              missing: type[LookupError] = LookupError) -> ModelSpec:
    """The first model of `kind` in the manifest (`missing` raised when there is none), or `model_id`, which must
    be of that kind (ValueError naming `what` it is not)."""
    manifest = load_manifest(models_dir)
    if model_id is None:
        found = manifest.of_kind(kind)
        if not found:
            raise missing(f"the model manifest lists no {kind} model")
        return found[0]
    spec = manifest.get(model_id)
    if spec.kind != kind:
        raise ValueError(f"model {model_id!r} is a {spec.kind} model, not {what}")
    return spec


def _parse_model(raw: Any, index: int, directory: Path) -> ModelSpec:
    where = f"models[{index}]"
    obj = _require_dict(raw, where)
    model_id = _str(obj, "id", where)
    where = f"model {model_id!r}"
    raw_variants = obj.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise ManifestError(f"{where}: 'variants' must be a non-empty list")
    variants = tuple(_parse_variant(v, f"{where} variants[{i}]", directory) for i, v in enumerate(raw_variants))
    if not any("cpu" in v.devices for v in variants):
        raise ManifestError(f"{where}: no variant lists 'cpu' in its devices, so the CPU cannot run it")
    source = obj.get("source", {})
    if not isinstance(source, dict):
        raise ManifestError(f"{where}: 'source' must be an object")
    kind = _str(obj, "kind", where)
    if kind not in KINDS:
        raise ManifestError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    model_input = _parse_input(obj.get("input"), f"{where} input")
    outputs: tuple[OutputSpec, ...] = ()
    decoder: DecoderSpec | None = None
    if kind == SEGMENTATION:
        if "outputs" in obj:
            raise ManifestError(f"{where}: a {kind} model has one 'output' (its mask), not 'outputs'")
        output = _parse_output(obj.get("output"), f"{where} output")
    else:
        if "output" in obj:
            raise ManifestError(f"{where}: a {kind} model has 'outputs' (boxes and scores), not one 'output'")
        if kind == DETECTION:
            outputs = schema.detection_outputs(obj.get("outputs"), f"{where} outputs")
            output = outputs[1]
        elif kind == BODY_SEGMENTATION:
            outputs = schema.body_outputs(obj.get("outputs"), f"{where} outputs", model_input.size)
            output = outputs[2]
        else:
            outputs, decoder = schema.face_detection(obj, model_input.size, model_input.layout,
                                                     model_input.size_multiple, where)
            output = outputs[1] if decoder.type == "ssd" else outputs[0]
    return ModelSpec(
        id=model_id,
        kind=kind,
        title=_str(obj, "title", where),
        input=model_input,
        output=output,
        outputs=outputs,
        decoder=decoder,
        variants=variants,
        license=str(obj.get("license", "")),
        license_file=str(obj.get("license_file", "")),
        source=tuple((str(k), str(v)) for k, v in source.items()),
    )


def _parse_input(raw: Any, where: str) -> InputSpec:
    obj = _require_dict(raw, where)
    layout = _choice(obj, "layout", LAYOUTS, where)
    shape = _shape(obj, where)
    _image_size(shape, layout, where)
    value_range = obj.get("range", [0.0, 1.0])
    if (
        not isinstance(value_range, list)
        or len(value_range) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_range)
    ):
        raise ManifestError(f"{where}: 'range' must be two numbers")
    multiple = obj.get("size_multiple", 0)
    if multiple != 0:
        multiple = schema.positive_int(obj, "size_multiple", where)
    return InputSpec(
        name=_str(obj, "name", where),
        shape=shape,
        layout=layout,
        dtype=str(obj.get("dtype", "float32")),
        range=(float(value_range[0]), float(value_range[1])),
        color=str(obj.get("color", "RGB")),
        resize=str(obj.get("resize", "corner-aligned-bilinear")),
        size_multiple=multiple,
    )


def _parse_output(raw: Any, where: str) -> OutputSpec:
    obj = _require_dict(raw, where)
    return OutputSpec(
        name=_str(obj, "name", where),
        shape=_shape(obj, where),
        layout=_choice(obj, "layout", LAYOUTS, where),
        kind=_choice(obj, "kind", OUTPUT_KINDS, where),
    )


def _parse_variant(raw: Any, where: str, directory: Path) -> Variant:
    obj = _require_dict(raw, where)
    file = _str(obj, "file", where)
    if Path(file).name != file or file in (".", ".."):
        raise ManifestError(f"{where}: 'file' must be a plain file name inside models/, not {file!r}")
    sha = _str(obj, "sha256", where).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ManifestError(f"{where}: 'sha256' must be 64 hex digits")
    size = obj.get("bytes", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where}: 'bytes' must be a non-negative integer")
    devices = obj.get("devices")
    if not isinstance(devices, list) or not devices or any(d not in DEVICES for d in devices):
        raise ManifestError(f"{where}: 'devices' must be a non-empty list of {', '.join(DEVICES)}")
    return Variant(
        precision=_str(obj, "precision", where),
        file=file,
        path=directory / file,
        sha256=sha,
        bytes=size,
        devices=tuple(devices),
        cpu_ms=_optional_number(obj, "cpu_ms", where),
        iou_mean=_optional_number(obj, "iou_mean", where),
        iou_worst=_optional_number(obj, "iou_worst", where),
        f1=_optional_number(obj, "f1", where),
    )


_require_dict, _str, _choice = schema.require_dict, schema.string, schema.choice
_shape, _optional_number = schema.shape_of, schema.optional_number


def _image_size(shape: tuple[int, ...], layout: str, where: str = "input") -> tuple[int, int]:
    channels, height, width = (shape[3], shape[1], shape[2]) if layout == "NHWC" else shape[1:4]
    if channels != 3:
        raise ManifestError(f"{where}: a {layout} image input needs 3 channels, shape is {list(shape)}")
    return width, height


# -------------------------------------------------------------------------------------------- integrity

_HASH_CACHE: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Streamed sha256 of `path`, cached per (path, mtime, size) so a session rebuild does not re-hash."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _HASH_LOCK:
        cached = _HASH_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASH_CACHE[key] = value
    return value


def file_status(variant: Variant) -> str:
    """'ok', 'mismatch' (corrupt or tampered) or 'missing'."""
    try:
        if variant.bytes and variant.path.stat().st_size != variant.bytes:
            return "mismatch"
        return "ok" if file_sha256(variant.path) == variant.sha256 else "mismatch"
    except FileNotFoundError:
        return "missing"


def verify(variant: Variant) -> None:
    """Raise ModelIntegrityError unless the file exists and its sha256 matches the manifest."""
    status = file_status(variant)
    if status == "missing":
        raise ModelIntegrityError(f"model file {variant.path} is missing; reinstall LocalLens to restore it")
    if status != "ok":
        raise ModelIntegrityError(
            f"model file {variant.path} is corrupt or has been tampered with (its sha256 does not match "
            "the manifest); it will not be loaded. Reinstall LocalLens to restore it"
        )


# ---------------------------------------------------------------------------------------------- choice


def choose_variant(spec: ModelSpec, gpu: bool) -> Variant:
    """GPU: the first listed variant for 'gpu' (else the CPU choice); CPU: the fastest 'cpu' variant."""
    if gpu:
        for variant in spec.variants:
            if "gpu" in variant.devices:
                return variant
    cpu_variants = [v for v in spec.variants if "cpu" in v.devices]
    if not cpu_variants:  # parse_manifest rejects this; guards hand-built specs
        raise ManifestError(f"model {spec.id!r} has no variant for the CPU")
    # min() keeps the first of equal values, so unmeasured variants keep manifest order.
    return min(cpu_variants, key=lambda v: float("inf") if v.cpu_ms is None else v.cpu_ms)


# --------------------------------------------------------------------------------------------- describe


def describe(models_dir: Path | str | None = None) -> list[dict[str, object]]:
    """Rows for `python main.py models`, one per variant: id, precision, file, bytes, sha256 (ok | mismatch
    | missing), cpu / gpu ("*" on the variant each would pick). Providers: `engine.available_providers()`.

    Raises ManifestError when the manifest itself cannot be read.
    """
    manifest = load_manifest(models_dir)
    rows: list[dict[str, object]] = []
    for spec in manifest.models:
        cpu, gpu = choose_variant(spec, gpu=False), choose_variant(spec, gpu=True)
        for variant in spec.variants:
            try:
                size = variant.path.stat().st_size
            except FileNotFoundError:
                size = 0
            rows.append(
                {
                    "id": spec.id,
                    "precision": variant.precision,
                    "file": variant.file,
                    "bytes": size,
                    "sha256": file_status(variant),
                    "cpu": "*" if variant is cpu else "",
                    "gpu": "*" if variant is gpu else "",
                }
            )
    return rows
