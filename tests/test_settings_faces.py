"""Settings: the faces fields persist, an older file without them loads with faces off, a bad value falls back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.core.params import EffectParams
from desktop_app.core.settings import SCHEMA_VERSION, Settings, SettingsStore

BAD_FACES: dict[str, bytes] = {
    "unknown face style": b'{"effect": {"faces": "swirl"}}',
    "face style as a list": b'{"effect": {"faces": ["blur"]}}',
    "face style as a bool": b'{"effect": {"faces": true}}',
    "unknown face shape": b'{"effect": {"face_shape": "star"}}',
    "face shape null": b'{"effect": {"face_shape": null}}',
    "face threshold as text": b'{"effect": {"face_threshold": "0.5"}}',
    "face threshold NaN": b'{"effect": {"face_threshold": NaN}}',
    "face threshold above 1": b'{"effect": {"face_threshold": 1.5}}',
    "face padding negative": b'{"effect": {"face_padding": -0.1}}',
    "face padding inf": b'{"effect": {"face_padding": 1e999}}',
    "face padding as a bool": b'{"effect": {"face_padding": false}}',
}


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    folder = tmp_path / "config"
    folder.mkdir()
    return SettingsStore(folder)


def test_the_faces_fields_round_trip(store: SettingsStore) -> None:
    chosen = Settings(effect=EffectParams(effect="replace", background=Path("/tmp/b.jpg"), faces="pixelate",
                                          face_shape="rect", face_threshold=0.35, face_padding=0.6))
    store.save(chosen)
    stored = json.loads(store.path.read_text("utf-8"))["effect"]
    assert (stored["faces"], stored["face_shape"], stored["face_threshold"], stored["face_padding"]) == (
        "pixelate", "rect", 0.35, 0.6)
    outcome = store.load()
    assert outcome.problem is None and outcome.settings == chosen


def test_faces_off_is_stored_as_null_and_loads_as_off(store: SettingsStore) -> None:
    store.save(Settings(effect=EffectParams(faces=None, face_padding=0.4)))
    assert json.loads(store.path.read_text("utf-8"))["effect"]["faces"] is None
    loaded = store.load().settings.effect
    assert loaded.faces is None and loaded.face_padding == 0.4


def test_an_older_file_without_the_faces_fields_loads_with_faces_off(store: SettingsStore) -> None:
    older = {"schema_version": 1, "effect": {"effect": "blur", "strength": 70, "threshold": 0.6, "feather": 0.2,
                                             "smoothing": 0.5, "quality": "fast", "background": None,
                                             "color": None},
             "camera_name": "Cam", "mirror": False}
    store.path.write_text(json.dumps(older), "utf-8")
    outcome = store.load()
    assert outcome.problem is None and SCHEMA_VERSION == 1
    effect = outcome.settings.effect
    assert effect.faces is None
    assert (effect.face_shape, effect.face_threshold, effect.face_padding) == ("ellipse", 0.5, 0.2)
    assert (effect.strength, outcome.settings.camera_name) == (70, "Cam")  # the rest is kept


@pytest.mark.parametrize("raw", BAD_FACES.values(), ids=BAD_FACES.keys())
def test_a_bad_faces_value_falls_back_with_a_notice_and_keeps_the_file(store: SettingsStore, raw: bytes) -> None:
    store.path.write_bytes(raw)
    outcome = store.load()
    assert outcome.settings == Settings() and outcome.settings.effect.faces is None
    assert outcome.problem is not None and outcome.problem.startswith("Your settings could not be read (")
    assert "face" in outcome.problem and "\n" not in outcome.problem
    assert outcome.backup is not None and outcome.backup.read_bytes() == raw
