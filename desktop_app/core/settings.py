"""Typed user settings with a schema version, stored as JSON in the user's config folder.

A missing file gives defaults. A file that cannot be used, for any reason (bad bytes, bad JSON, a value of the
wrong type or out of range), gives defaults plus a notice saying so; the file is moved aside as
`settings.json.bad` (then `settings.json.bad-1`, `-2`, ...): an earlier backup is never replaced.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir

from desktop_app import APP_NAME
from desktop_app.core.params import EFFECTS, FACE_SHAPES, FACE_STYLES, LIVE_QUALITIES, QUALITIES, EffectParams

SCHEMA_VERSION = 1
MAX_FILE_BYTES = 1_000_000  # a settings file is a few hundred bytes; anything this big is not ours
MAX_TEXT = 4096  # longest string value accepted (paths, names, the window geometry)
MAX_SIDE = 16384  # largest camera resolution side accepted
DEVICES = ("auto", "cpu", "gpu")
OUTPUT_FORMATS = ("png", "jpg", "webp")  # desktop_app.core.imageio.OUTPUT_FORMATS (not imported: it pulls numpy)
_MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


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
    recording_dir: str = ""  # where Live recordings go; "" = <Videos>/LocalLens (a new key: older files lack it)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        effect = data["effect"]
        effect["background"] = str(self.effect.background) if self.effect.background else None
        effect["color"] = list(self.effect.color) if self.effect.color else None
        data["resolution"] = list(self.resolution)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Settings:
        """Build from stored JSON, strictly: unknown keys are ignored; a wrong type or range raises ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"not a JSON object but {_kind(data)}")
        data = migrate(dict(data))
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("schema_version", "effect") or f.name not in data:
                continue
            check = _FIELD_CHECKS.get(f.name) or _check_by_default(getattr(defaults, f.name))
            kwargs[f.name] = check(f.name, data[f.name])
        kwargs["effect"] = _effect_from_json(data.get("effect", {}))
        kwargs["schema_version"] = SCHEMA_VERSION
        return cls(**kwargs)


def _kind(value: Any) -> str:
    """A short description of a JSON value for a message (never its whole text)."""
    if isinstance(value, (bool, int, float)) or value is None:
        text = repr(value)
        return text if len(text) <= 24 else f"a {len(text)}-digit number"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a {len(value)}-character string"
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else type(value).__name__


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} should be text, not {_kind(value)}")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise ValueError(f"{name} is not a usable text ({_kind(value)})")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} should be true or false, not {_kind(value)}")
    return value


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} should be a whole number, not {_kind(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {_kind(value)}")
    return value


def _number(name: str, value: Any) -> float:
    """A finite int or float (not a bool); EffectParams.validate checks the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} should be a finite number, not {_kind(value)}")
    return float(value)


def _choice(options: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"{name} must be one of {', '.join(options)}, not {_kind(value)}")
        return value

    return check


def _resolution(name: str, value: Any) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{name} should be [width, height], not {_kind(value)}")
    width, height = (_integer(name, v, 1, MAX_SIDE) for v in value)
    return width, height


def _model_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _MODEL_ID.fullmatch(value):
        raise ValueError(f"{name} is not a model id: {_kind(value)}")
    return value


_FIELD_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "resolution": _resolution,
    "device": _choice(DEVICES),
    "model_id": _model_id,
    "output_format": _choice(OUTPUT_FORMATS),
}


def _check_by_default(default: Any) -> Callable[[str, Any], Any]:
    """Fields without their own check (new ones too) are validated by the type of their default."""
    if isinstance(default, bool):
        return _flag
    if isinstance(default, str):
        return _text
    raise TypeError(f"no settings check for a {type(default).__name__} field")  # a programming error


def _effect_from_json(data: Any) -> EffectParams:
    if not isinstance(data, dict):
        raise ValueError(f"effect should be an object, not {_kind(data)}")
    values: dict[str, Any] = {}
    if "effect" in data:
        values["effect"] = _choice(EFFECTS)("effect", data["effect"])
    if "strength" in data:
        values["strength"] = _integer("strength", data["strength"], 1, 100)
    for name, choices in (("quality", QUALITIES), ("live_quality", LIVE_QUALITIES)):
        if name in data:
            values[name] = _choice(choices)(name, data[name])
    for name in ("threshold", "feather", "smoothing"):
        if name in data:
            values[name] = _number(name, data[name])
    values.update(_faces_from_json(data))
    background = data.get("background")
    if background is not None and background != "":
        values["background"] = Path(_text("background", background))
    color = data.get("color")
    if color is not None:
        if not isinstance(color, list) or len(color) != 3:
            raise ValueError(f"color should be [red, green, blue], not {_kind(color)}")
        values["color"] = tuple(_integer("color", c, 0, 255) for c in color)
    params = EffectParams(**values)
    if params.effect == "replace" and params.background is None:
        params.with_(background=Path("x")).validate()  # a saved "replace" may lack its image until one is picked
    else:
        params.validate()
    return params


def _faces_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """The faces stage's fields (new in schema 1: a file without them has faces off); null `faces` is off."""
    values: dict[str, Any] = {}
    if data.get("faces") is not None:
        values["faces"] = _choice(FACE_STYLES)("faces", data["faces"])
    if "face_shape" in data:
        values["face_shape"] = _choice(FACE_SHAPES)("face_shape", data["face_shape"])
    for name in ("face_threshold", "face_padding"):
        if name in data:
            value = values[name] = _number(name, data[name])
            if not 0.0 <= value <= 1.0:  # checked here too: the effect's own check may not cover it
                raise ValueError(f"{name} must be between 0 and 1, not {_kind(data[name])}")
    return values


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring older schema versions up to SCHEMA_VERSION (there is only version 1 so far).

    New keys that have a safe default are added without a new version (an older file lacks them and gets the
    default: `recording_dir`, the faces fields with faces off), so an older LocalLens still reads a newer file;
    a new version is for a change an older reader would misread."""
    version = data.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"schema_version should be a positive whole number, not {_kind(version)}")
    if version > SCHEMA_VERSION:
        raise ValueError(f"settings were written by a newer LocalLens (schema {_kind(version)})")
    return data


@dataclass(slots=True)
class LoadOutcome:
    settings: Settings
    problem: str | None = None  # set when the file existed but could not be used
    backup: Path | None = None  # where the unusable file was moved (None: nothing moved)


class SettingsStore:
    """Loads and saves `settings.json` in `folder` atomically."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_dir()
        self.path = self.folder / "settings.json"

    def load(self) -> LoadOutcome:
        """The stored settings, or defaults; never raises (a settings file must never stop the app)."""
        try:
            if not self.path.exists():
                return LoadOutcome(Settings())
            return LoadOutcome(Settings.from_json(self._read()))
        except Exception as exc:  # anything: OSError, bad UTF-8/JSON, RecursionError, a bad value
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, RecursionError):
                reason = "too deeply nested"
            backup = self._move_aside()
            kept = f" The unreadable file was kept as {backup.name}." if backup else ""
            return LoadOutcome(Settings(), f"Your settings could not be read ({reason}); using defaults.{kept}",
                               backup)

    def _read(self) -> Any:
        with open(self.path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ValueError(f"the file is larger than {MAX_FILE_BYTES // 1000} kB")
        return json.loads(raw.decode("utf-8"))

    def backup_names(self) -> list[Path]:
        """Backups of unusable files, oldest first."""
        found = [p for p in self.folder.glob("settings.json.bad*") if re.fullmatch(r"settings\.json\.bad(-\d+)?",
                                                                                     p.name)]
        return sorted(found, key=lambda p: int(p.name.rpartition("-")[2]) if "-" in p.name else 0)

    def _move_aside(self) -> Path | None:
        """Move settings.json to the first free `settings.json.bad[-N]`; never replaces a file. None if it failed."""
        for n in range(10_000):
            backup = self.path.with_name("settings.json.bad" + (f"-{n}" if n else ""))
            if backup.exists() or backup.is_symlink():
                continue
            try:
                _rename_no_replace(self.path, backup)
                return backup
            except FileExistsError:
                continue  # another process took the name in between
            except OSError:
                return None
        return None

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


def _rename_no_replace(src: Path, dst: Path) -> None:
    """Rename that raises FileExistsError instead of replacing `dst` (a hard link where the filesystem has them)."""
    if os.name == "nt":
        os.rename(src, dst)  # Windows never replaces in os.rename
        return
    try:
        os.link(src, dst)  # fails with FileExistsError if dst exists: atomic "no replace"
    except FileExistsError:
        raise
    except OSError:  # no hard links here (FAT, some network shares): check, then rename
        if dst.exists():
            raise FileExistsError(dst) from None
        os.rename(src, dst)
        return
    src.unlink()
