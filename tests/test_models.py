"""models.py: manifest schema, integrity (sha256) checks, variant choice, the `models` listing."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
from synthetic_model import model_entry, write_manifest, write_models_dir

from desktop_app.core import models
from desktop_app.core.models import ManifestError, ModelIntegrityError, UnknownModelError


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return write_models_dir(tmp_path / "models")


def _manifest_json(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def _flip_byte(path: Path, offset: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_load_manifest_gives_typed_specs(models_dir: Path) -> None:
    manifest = models.load_manifest(models_dir)
    assert manifest.ids == ["selfie-general", "selfie-landscape"]
    spec = manifest.get("selfie-landscape")
    assert spec.kind == "person-segmentation"
    assert spec.input.name == "input_1"
    assert spec.input.shape == (1, 144, 256, 3)
    assert spec.input.size == (256, 144)
    assert spec.input.range == (0.0, 1.0)
    assert spec.output.kind == "probability"
    assert [v.precision for v in spec.variants] == ["fp32", "fp16"]
    assert spec.variants[0].path == models_dir / "selfie_landscape_fp32.onnx"
    assert spec.variants[1].devices == ("gpu",)
    assert dict(spec.source)["package"] == "tests"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.id = "other"  # type: ignore[misc]


def test_default_directory_comes_from_paths(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALLENS_ROOT", str(models_dir.parent))
    assert models.load_manifest().directory == models_dir


def test_unknown_model_lists_known_ids(models_dir: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"'nope'.*selfie-general, selfie-landscape"):
        models.load_manifest(models_dir).get("nope")


def test_missing_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the model manifest"):
        models.load_manifest(tmp_path)


def test_invalid_json_is_a_manifest_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        models.load_manifest(tmp_path)


def _break(entry: dict, path: str, value: object) -> dict:
    """Set entry[a][b]... = value (or delete the key when value is ...)."""
    *parents, last = path.split(".")
    target = entry
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is ...:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return entry


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("id", ..., "'id' must be a non-empty string"),
        ("kind", 3, "'kind' must be a non-empty string"),
        ("input.layout", "HWC", "'layout' must be one of NHWC, NCHW"),
        ("input.shape", [1, 256, 256], "'shape' must be four positive integers"),
        ("input.shape", [1, 256, 256, 4], "needs 3 channels"),
        ("input.range", [0, "1"], "'range' must be two numbers"),
        ("output.kind", "heatmap", "'kind' must be one of probability, logits"),
        ("variants", [], "'variants' must be a non-empty list"),
        ("variants.0.sha256", "abc", "'sha256' must be 64 hex digits"),
        ("variants.0.file", "../evil.onnx", "must be a plain file name"),
        ("variants.0.bytes", -1, "'bytes' must be a non-negative integer"),
        ("variants.0.devices", ["npu"], "'devices' must be a non-empty list of cpu, gpu"),
        ("variants.0.devices", ["gpu"], "no variant lists 'cpu'"),
        ("variants.0.cpu_ms", "fast", "'cpu_ms' must be a number"),
    ],
)
def test_schema_problems_are_named(tmp_path: Path, path: str, value: object, message: str) -> None:
    entry = _break(model_entry(tmp_path), path, value)
    write_manifest(tmp_path, [entry])
    with pytest.raises(ManifestError) as info:
        models.load_manifest(tmp_path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "manifest must be a JSON object"),
        ({"schema_version": 2, "models": []}, "schema_version must be 1, not 2"),
        ({"schema_version": 1, "models": []}, "'models' must be a non-empty list"),
    ],
)
def test_top_level_problems_are_named(tmp_path: Path, document: object, message: str) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(ManifestError) as info:
        models.load_manifest(tmp_path)
    assert message in str(info.value)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    entry = model_entry(tmp_path)
    write_manifest(tmp_path, [entry, entry])
    with pytest.raises(ManifestError, match="'selfie-general' is listed twice"):
        models.load_manifest(tmp_path)


def test_verify_accepts_intact_files(models_dir: Path) -> None:
    for spec in models.load_manifest(models_dir).models:
        for variant in spec.variants:
            assert models.verify(variant) is None
            assert models.file_status(variant) == "ok"


def test_tampered_file_raises_naming_the_file(models_dir: Path, tmp_path: Path) -> None:
    copy_dir = tmp_path / "copy"
    shutil.copytree(models_dir, copy_dir)
    variant = models.load_manifest(copy_dir).get("selfie-general").variants[0]
    _flip_byte(variant.path)
    assert variant.path.stat().st_size == variant.bytes  # same size: only the hash can tell
    with pytest.raises(ModelIntegrityError) as info:
        models.verify(variant)
    assert str(variant.path) in str(info.value)
    assert "corrupt or has been tampered with" in str(info.value)
    assert models.file_status(variant) == "mismatch"
    # The other model is unaffected.
    models.verify(models.load_manifest(copy_dir).get("selfie-landscape").variants[0])


def test_missing_file_raises_naming_the_file(models_dir: Path) -> None:
    variant = models.load_manifest(models_dir).get("selfie-general").variants[1]
    variant.path.unlink()
    with pytest.raises(ModelIntegrityError, match=r"selfie_general_fp16\.onnx is missing"):
        models.verify(variant)
    assert models.file_status(variant) == "missing"


def test_size_mismatch_is_reported_without_hashing(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    variant = models.load_manifest(models_dir).get("selfie-general").variants[0]
    with variant.path.open("ab") as handle:
        handle.write(b"x")
    monkeypatch.setattr(models, "file_sha256", lambda path: pytest.fail("hashed"))
    assert models.file_status(variant) == "mismatch"


def test_hash_is_cached_per_path_mtime_and_size(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    variant = models.load_manifest(models_dir).get("selfie-general").variants[0]
    calls = []
    real = models.hashlib.sha256

    def counting_sha256():  # type: ignore[no-untyped-def]
        calls.append(1)
        return real()

    monkeypatch.setattr(models.hashlib, "sha256", counting_sha256)
    models.verify(variant)
    models.verify(variant)
    assert len(calls) == 1
    stat = variant.path.stat()
    os.utime(variant.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    models.verify(variant)
    assert len(calls) == 2


def _variant(precision: str, devices: tuple[str, ...], cpu_ms: float | None) -> models.Variant:
    return models.Variant(precision, f"{precision}.onnx", Path(f"{precision}.onnx"), "0" * 64, 1, devices, cpu_ms)


def _spec_with(variants: list[models.Variant], models_dir: Path) -> models.ModelSpec:
    spec = models.load_manifest(models_dir).get("selfie-general")
    return dataclasses.replace(spec, variants=tuple(variants))


def test_choose_variant_gpu_takes_first_gpu_variant_cpu_the_fastest(models_dir: Path) -> None:
    spec = _spec_with(
        [
            _variant("int8", ("cpu",), 3.2),
            _variant("fp16", ("gpu",), 2.6),
            _variant("fp32", ("gpu", "cpu"), 2.5),
        ],
        models_dir,
    )
    assert models.choose_variant(spec, gpu=True).precision == "fp16"
    assert models.choose_variant(spec, gpu=False).precision == "fp32"


def test_choose_variant_gpu_without_gpu_variant_uses_cpu_choice(models_dir: Path) -> None:
    spec = _spec_with([_variant("a", ("cpu",), None), _variant("b", ("cpu",), 1.0)], models_dir)
    assert models.choose_variant(spec, gpu=True).precision == "b"
    unmeasured = _spec_with([_variant("a", ("cpu",), None), _variant("b", ("cpu",), None)], models_dir)
    assert models.choose_variant(unmeasured, gpu=False).precision == "a"


def test_describe_rows_report_status_and_picks(models_dir: Path) -> None:
    _flip_byte(models_dir / "selfie_landscape_fp32.onnx")
    (models_dir / "selfie_landscape_fp16.onnx").unlink()
    rows = models.describe(models_dir)
    table = [(r["id"], r["precision"], r["sha256"], r["cpu"], r["gpu"]) for r in rows]
    assert table == [
        ("selfie-general", "fp32", "ok", "*", "*"),
        ("selfie-general", "fp16", "ok", "", ""),
        ("selfie-landscape", "fp32", "mismatch", "*", "*"),
        ("selfie-landscape", "fp16", "missing", "", ""),
    ]
    assert rows[0]["file"] == "selfie_general_fp32.onnx"
    assert rows[0]["bytes"] == (models_dir / "selfie_general_fp32.onnx").stat().st_size
    assert rows[3]["bytes"] == 0


def test_describe_raises_for_a_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the model manifest"):
        models.describe(tmp_path)
