"""Typed user settings with a schema version, stored as JSON in the user's config folder.

A missing file gives defaults; a corrupt or unreadable one gives defaults plus a notice saying so (the
bad file is kept aside as `settings.json.bad` so nothing the user had is silently destroyed).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir

from desktop_app import APP_NAME
from desktop_app.core.params import EffectParams

SCHEMA_VERSION = 1


def config_dir() -> Path:
    """`LOCALLENS_CONFIG_DIR` (tests, portable installs) or the platform's user config folder."""
    return Path(os.environ.get("LOCALLENS_CONFIG_DIR") or user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Logs live here: `LOCALLENS_DATA_DIR` or the platform's user data folder."""
    return Path(os.environ.get("LOCALLENS_DATA_DIR") or user_data_dir(APP_NAME, appauthor=False))


@dataclass(slots=True)
class Settings:
    schema_version: int = SCHEMA_VERSION
    effect: EffectParams = field(default_factory=EffectParams)
    camera_name: str = ""  # cameras are remembered by name: indices change when devices are plugged in
    resolution: tuple[int, int] = (1280, 720)
    mirror: bool = True
    device: str = "auto"  # auto | cpu | gpu
    model_id: str = "auto"  # the landscape model for wide frames, the general one for the rest
    output_format: str = "png"
    last_open_dir: str = ""
    last_export_dir: str = ""
    window_geometry: str = ""  # opaque, base64 from the UI
    last_save_dir: str = ""  # where Save's dialog starts: the folder last saved to
    snapshot_dir: str = ""  # where Live snapshots go; "" = <Pictures>/LocalLens

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        effect = data["effect"]
        effect["background"] = str(self.effect.background) if self.effect.background else None
        effect["color"] = list(self.effect.color) if self.effect.color else None
        data["resolution"] = list(self.resolution)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """Build from stored JSON; unknown keys are ignored, wrong types raise ValueError."""
        data = migrate(dict(data))
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or f.name == "effect":
                continue
            value, default = data[f.name], getattr(defaults, f.name)
            if isinstance(default, tuple):
                value = tuple(int(v) for v in value)
                if len(value) != 2 or min(value) <= 0:
                    raise ValueError(f"bad {f.name}: {data[f.name]!r}")
            elif not isinstance(value, type(default)):
                raise ValueError(f"bad {f.name}: {value!r}")
            kwargs[f.name] = value
        kwargs["effect"] = _effect_from_json(data.get("effect") or {})
        kwargs["schema_version"] = SCHEMA_VERSION
        return cls(**kwargs)


def _effect_from_json(data: dict[str, Any]) -> EffectParams:
    known = {f.name for f in fields(EffectParams)}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("background"):
        values["background"] = Path(values["background"])
    if values.get("color") is not None:
        values["color"] = tuple(int(c) for c in values["color"])
    params = EffectParams(**values)
    if params.effect != "replace" or params.background is not None:
        params.validate()  # a saved "replace" may lack its image until the user picks one
    return params


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring older schema versions up to SCHEMA_VERSION (there is only version 1 so far)."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"settings were written by a newer LocalLens (schema {version})")
    return data


@dataclass(slots=True)
class LoadOutcome:
    settings: Settings
    problem: str | None = None  # set when the file existed but could not be used


class SettingsStore:
    """Loads and saves `settings.json` in `folder` atomically."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_dir()
        self.path = self.folder / "settings.json"

    def load(self) -> LoadOutcome:
        if not self.path.exists():
            return LoadOutcome(Settings())
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return LoadOutcome(Settings.from_json(data))
        except (OSError, ValueError, TypeError) as exc:
            backup = self.path.with_name("settings.json.bad")
            try:
                os.replace(self.path, backup)
                kept = f" The unreadable file was kept as {backup.name}."
            except OSError:
                kept = ""
            return LoadOutcome(Settings(), f"Your settings could not be read ({exc}); using defaults.{kept}")

    def save(self, settings: Settings) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(settings.to_json(), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
