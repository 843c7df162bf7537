"""Settings: strict validation, and no settings file, however hostile, ever stops the app or loses a byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.core import settings as settings_module
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings, SettingsStore

# Every one of these must load as defaults with a notice, keep its bytes in a backup, and not raise.
HOSTILE: dict[str, bytes] = {
    "not json": b"{ this is not json",
    "empty file": b"",
    "not utf-8": b"\xff\xfe\x00{\x80garbage",
    "a list at top level": b"[1, 2, 3]",
    "a string at top level": b'"settings"',
    "null at top level": b"null",
    "deep nesting (RecursionError)": b"[" * 100_000 + b"]" * 100_000,
    "deep nesting inside an object": b'{"effect": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
    "a string where the effect object belongs": b'{"effect": "blur"}',
    "strength 1e999 (inf)": b'{"effect": {"strength": 1e999}}',
    "threshold NaN": b'{"effect": {"threshold": NaN}}',
    "feather -Infinity": b'{"effect": {"feather": -Infinity}}',
    "threshold 1e308": b'{"effect": {"threshold": 1e308}}',
    "negative strength": b'{"effect": {"strength": -5}}',
    "huge strength": b'{"effect": {"strength": 100000000000000000000000000}}',
    "a 5000-digit number": b'{"effect": {"strength": ' + b"9" * 5000 + b"}}",
    "a bool where an int belongs": b'{"effect": {"strength": true}}',
    "smoothing as text": b'{"effect": {"smoothing": "0.5"}}',
    "unknown effect name": b'{"effect": {"effect": "sparkle"}}',
    "effect name as a list": b'{"effect": {"effect": ["blur"]}}',
    "background not a string": b'{"effect": {"effect": "replace", "background": 42}}',
    "background as an object": b'{"effect": {"background": {"path": "x.jpg"}}}',
    "unknown quality": b'{"effect": {"quality": "ultra"}}',
    "quality as a number": b'{"effect": {"quality": 1}}',
    "quality as a list": b'{"effect": {"quality": ["best"]}}',
    "quality null": b'{"effect": {"quality": null}}',
    "unknown live quality": b'{"effect": {"live_quality": "ultra"}}',
    "live quality as a number": b'{"effect": {"live_quality": 2}}',
    "colour out of range": b'{"effect": {"color": [300, 0, 0]}}',
    "colour as text": b'{"effect": {"color": "red"}}',
    "resolution with inf": b'{"resolution": [1e999, 720]}',
    "resolution as text": b'{"resolution": "1280x720"}',
    "resolution with bools": b'{"resolution": [true, 720]}',
    "resolution with a fraction": b'{"resolution": [1280.5, 720]}',
    "resolution negative": b'{"resolution": [-1280, 720]}',
    "resolution huge": b'{"resolution": [1000000, 720]}',
    "mirror as a number": b'{"mirror": 1}',
    "camera name as a number": b'{"camera_name": 5}',
    "unknown device": b'{"device": "quantum"}',
    "unknown output format": b'{"output_format": "tiff"}',
    "model id with a path": b'{"model_id": "../../etc/passwd"}',
    "a NUL in a folder": b'{"last_open_dir": "/home/a\\u0000b"}',
    "a huge geometry string": b'{"window_geometry": "' + b"A" * 10_000 + b'"}',
    "schema_version as text": b'{"schema_version": "1"}',
    "schema_version true": b'{"schema_version": true}',
    "schema_version 0": b'{"schema_version": 0}',
    "schema_version as a float": b'{"schema_version": 1.0}',
    "schema_version from the future": b'{"schema_version": 99}',
    "a file over 1 MB": b'{"camera_name": "' + b"x" * 1_100_000 + b'"}',
}


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    folder = tmp_path / "config"
    folder.mkdir()
    return SettingsStore(folder)


def _changed() -> Settings:
    """A Settings value with every field away from its default."""
    return Settings(effect=EffectParams(effect="remove", strength=80, color=(0, 177, 64), threshold=0.7,
                                        feather=0.1, smoothing=0.9, quality="fast"),
                    camera_name="USB Cam", resolution=(640, 480), mirror=False, device="cpu",
                    model_id="selfie-general", output_format="webp", last_open_dir="/tmp/in",
                    last_export_dir="/tmp/out", window_geometry="AdnQywADAAA=")


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_gives_defaults_a_notice_and_keeps_its_bytes(store: SettingsStore, raw: bytes) -> None:
    store.path.write_bytes(raw)
    outcome = store.load()
    assert outcome.settings == Settings()
    assert outcome.problem is not None and outcome.problem.startswith("Your settings could not be read (")
    assert "\n" not in outcome.problem and len(outcome.problem) < 300  # one readable line, not the file's text
    assert outcome.backup == store.folder / "settings.json.bad"
    assert outcome.problem.endswith("The unreadable file was kept as settings.json.bad.")
    assert outcome.backup.read_bytes() == raw
    assert not store.path.exists()
    store.save(_changed())  # and the app goes on: the next save and load work
    again = store.load()
    assert again.problem is None and again.settings == _changed()
    assert outcome.backup.read_bytes() == raw


def test_every_field_round_trips(store: SettingsStore) -> None:
    store.save(_changed())
    outcome = store.load()
    assert outcome.problem is None and outcome.backup is None
    assert outcome.settings == _changed()
    assert [p.name for p in store.folder.iterdir()] == ["settings.json"]  # no temp file left


def test_valid_but_unusual_files_still_load(store: SettingsStore) -> None:
    cases = {
        b"{}": Settings(),
        b'{"schema_version": 1, "future_key": {"x": [1, 2]}}': Settings(),  # unknown keys are ignored
        b'{"effect": {"threshold": 1, "feather": 0}}': Settings(effect=EffectParams(threshold=1.0, feather=0.0)),
        b'{"effect": {"effect": "replace", "background": null}}': Settings(effect=EffectParams(effect="replace")),
        b'{"effect": {"effect": "remove", "color": null}}': Settings(effect=EffectParams(effect="remove")),
        b'{"resolution": [1920, 1080]}': Settings(resolution=(1920, 1080)),
        b'{"effect": {"quality": "fast"}}': Settings(effect=EffectParams(quality="fast")),
        b'{"effect": {"effect": "mask"}}': Settings(effect=EffectParams(effect="mask", quality="best")),  # no key
    }
    for raw, expected in cases.items():
        store.path.write_bytes(raw)
        outcome = store.load()
        assert outcome.problem is None, (raw, outcome.problem)
        assert outcome.settings == expected
        assert store.path.read_bytes() == raw  # a usable file is never moved


def test_a_second_bad_file_never_replaces_the_first_backup(store: SettingsStore) -> None:
    contents = [b"{ first", b"[2]", b'{"effect": "third"}', b"\xff fourth"]
    for raw in contents:
        store.path.write_bytes(raw)
        assert store.load().problem is not None
    names = ["settings.json.bad", "settings.json.bad-1", "settings.json.bad-2", "settings.json.bad-3"]
    assert [p.name for p in store.backup_names()] == names
    assert [(store.folder / n).read_bytes() for n in names] == contents
    assert store.load().problem is None  # settings.json was moved: defaults, nothing to report


def test_a_backup_the_user_already_has_is_kept(store: SettingsStore) -> None:
    (store.folder / "settings.json.bad").write_bytes(b"mine")
    (store.folder / "settings.json.bad-1").write_bytes(b"also mine")
    store.path.write_bytes(b"{ broken")
    outcome = store.load()
    assert outcome.backup == store.folder / "settings.json.bad-2"
    assert "kept as settings.json.bad-2." in (outcome.problem or "")
    assert (store.folder / "settings.json.bad").read_bytes() == b"mine"
    assert (store.folder / "settings.json.bad-1").read_bytes() == b"also mine"
    assert outcome.backup.read_bytes() == b"{ broken"


def test_from_json_rejects_what_is_not_an_object() -> None:
    for value in ([], "x", None, 3):
        with pytest.raises(ValueError, match="not a JSON object"):
            Settings.from_json(value)


def test_the_saved_file_is_plain_json_with_the_schema_version(store: SettingsStore) -> None:
    store.save(Settings())
    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert data["schema_version"] == settings_module.SCHEMA_VERSION
    assert data["effect"]["background"] is None


def test_output_formats_match_the_image_writer() -> None:
    from desktop_app.core.imageio import OUTPUT_FORMATS

    assert settings_module.OUTPUT_FORMATS == OUTPUT_FORMATS


def test_every_field_has_a_check() -> None:
    """A new Settings field of a type without a check would reset everyone's settings: name it here."""
    from dataclasses import fields

    defaults = Settings()
    for f in fields(Settings):
        if f.name in ("schema_version", "effect"):
            continue
        check = settings_module._FIELD_CHECKS.get(f.name) or settings_module._check_by_default(
            getattr(defaults, f.name))
        stored = defaults.to_json()[f.name]
        assert check(f.name, stored) == getattr(defaults, f.name), f"add a check for {f.name} to _FIELD_CHECKS"


def test_live_quality_defaults_to_auto_and_is_validated() -> None:
    assert EffectParams().live_quality == "auto"
    EffectParams(live_quality="best").validate()
    EffectParams(live_quality="fast").validate()
    with pytest.raises(ValueError, match="unknown live quality 'ultra'; choose one of auto, fast, best"):
        EffectParams(live_quality="ultra").validate()  # type: ignore[arg-type]


def test_quality_defaults_to_best_and_is_validated() -> None:
    assert EffectParams().quality == "best"
    EffectParams(quality="fast").validate()
    with pytest.raises(ValueError, match="unknown quality 'ultra'; choose one of fast, best"):
        EffectParams(quality="ultra").validate()  # type: ignore[arg-type]
